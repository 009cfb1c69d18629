-- The catalogue: schema content.  Run as catalog_owner (init.sh does SET ROLE).
-- Safe to run again (IF NOT EXISTS everywhere).
\set ON_ERROR_STOP on

CREATE SCHEMA IF NOT EXISTS content AUTHORIZATION catalog_owner;

CREATE TABLE IF NOT EXISTS content.film_work (
    id            uuid PRIMARY KEY,
    title         text NOT NULL,
    description   text,
    creation_date date,
    rating        double precision,
    type          text NOT NULL,
    created       timestamptz NOT NULL DEFAULT now(),
    modified      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content.genre (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text,
    created     timestamptz NOT NULL DEFAULT now(),
    modified    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content.person (
    id        uuid PRIMARY KEY,
    full_name text NOT NULL,
    created   timestamptz NOT NULL DEFAULT now(),
    modified  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content.genre_film_work (
    id           uuid PRIMARY KEY,
    genre_id     uuid NOT NULL REFERENCES content.genre (id) ON DELETE CASCADE,
    film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
    created      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT genre_film_work_film_genre_key UNIQUE (film_work_id, genre_id)
);

CREATE TABLE IF NOT EXISTS content.person_film_work (
    id           uuid PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES content.person (id) ON DELETE CASCADE,
    film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
    role         text NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT person_film_work_film_person_role_key UNIQUE (film_work_id, person_id, role)
);

-- Lookups the ETL makes: keyset scans on (modified, id) of each table, and
-- the link tables by each foreign key (the unique constraints above already
-- index film_work_id first); a genre's or a person's films in film order,
-- which is how a fan-out is read a batch at a time (etc/sql/movies).
CREATE INDEX IF NOT EXISTS film_work_modified_id_idx ON content.film_work (modified, id);
CREATE INDEX IF NOT EXISTS genre_modified_id_idx ON content.genre (modified, id);
CREATE INDEX IF NOT EXISTS person_modified_id_idx ON content.person (modified, id);
CREATE INDEX IF NOT EXISTS genre_film_work_genre_film_idx
    ON content.genre_film_work (genre_id, film_work_id);
CREATE INDEX IF NOT EXISTS person_film_work_person_film_idx
    ON content.person_film_work (person_id, film_work_id);
-- Replaced by the two above (the same lookups, and in film order).
DROP INDEX IF EXISTS content.genre_film_work_genre_id_idx;
DROP INDEX IF EXISTS content.person_film_work_person_id_idx;
