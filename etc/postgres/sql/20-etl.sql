-- What the ETL needs from the schema.  Run as catalog_owner after 10-schema.sql.
--
-- The ETL polls every table by (modified, id).  Two things make that exact:
--
-- 1. PostgreSQL sets `modified` itself, to now() -- the start time of the
--    writing transaction -- so every timestamp comes from one clock and a row
--    can never carry a time that is later than its transaction's start.
-- 2. A row that is deleted, and a link row that is added or removed, leaves no
--    row to poll.  Triggers write such events to content.change_log, which the
--    ETL polls like any other table.
--
-- content.etl_horizon() tells the ETL how far it may advance: rows stamped
-- before it are all committed or never will be.
\set ON_ERROR_STOP on

-- Stamps `modified` on every insert and update.
CREATE OR REPLACE FUNCTION content.set_modified() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.modified := now();
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER film_work_set_modified BEFORE INSERT OR UPDATE ON content.film_work
    FOR EACH ROW EXECUTE FUNCTION content.set_modified();
CREATE OR REPLACE TRIGGER genre_set_modified BEFORE INSERT OR UPDATE ON content.genre
    FOR EACH ROW EXECUTE FUNCTION content.set_modified();
CREATE OR REPLACE TRIGGER person_set_modified BEFORE INSERT OR UPDATE ON content.person
    FOR EACH ROW EXECUTE FUNCTION content.set_modified();

-- Events that leave no row behind: deletions of film works, genres and
-- persons, and every insert, update or delete of a link row.  Each names the
-- film work, genre and person it touches, so each index can pick the events
-- that affect its documents.
CREATE TABLE IF NOT EXISTS content.change_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    modified     timestamptz NOT NULL DEFAULT now(),
    table_name   text NOT NULL,
    operation    text NOT NULL,
    film_work_id uuid,
    genre_id     uuid,
    person_id    uuid
);
CREATE INDEX IF NOT EXISTS change_log_modified_id_idx ON content.change_log (modified, id);

-- Records a deleted film work, genre or person.
CREATE OR REPLACE FUNCTION content.log_entity_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO content.change_log (table_name, operation, film_work_id, genre_id, person_id)
    VALUES (TG_TABLE_NAME, TG_OP,
            CASE WHEN TG_TABLE_NAME = 'film_work' THEN OLD.id END,
            CASE WHEN TG_TABLE_NAME = 'genre' THEN OLD.id END,
            CASE WHEN TG_TABLE_NAME = 'person' THEN OLD.id END);
    RETURN OLD;
END $$;

CREATE OR REPLACE TRIGGER film_work_log_delete AFTER DELETE ON content.film_work
    FOR EACH ROW EXECUTE FUNCTION content.log_entity_delete();
CREATE OR REPLACE TRIGGER genre_log_delete AFTER DELETE ON content.genre
    FOR EACH ROW EXECUTE FUNCTION content.log_entity_delete();
CREATE OR REPLACE TRIGGER person_log_delete AFTER DELETE ON content.person
    FOR EACH ROW EXECUTE FUNCTION content.log_entity_delete();

-- Records a link row's old and new ends (an update that moves a link touches
-- both the film it leaves and the film it joins).
CREATE OR REPLACE FUNCTION content.log_genre_link() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO content.change_log (table_name, operation, film_work_id, genre_id)
        VALUES (TG_TABLE_NAME, TG_OP, OLD.film_work_id, OLD.genre_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO content.change_log (table_name, operation, film_work_id, genre_id)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.film_work_id, NEW.genre_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION content.log_person_link() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO content.change_log (table_name, operation, film_work_id, person_id)
        VALUES (TG_TABLE_NAME, TG_OP, OLD.film_work_id, OLD.person_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO content.change_log (table_name, operation, film_work_id, person_id)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.film_work_id, NEW.person_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER genre_film_work_log AFTER INSERT OR UPDATE OR DELETE ON content.genre_film_work
    FOR EACH ROW EXECUTE FUNCTION content.log_genre_link();
CREATE OR REPLACE TRIGGER person_film_work_log AFTER INSERT OR UPDATE OR DELETE ON content.person_film_work
    FOR EACH ROW EXECUTE FUNCTION content.log_person_link();

-- The ETL's safe horizon: the earliest of the current time and the start of
-- every other client transaction still open.  A transaction stamps its rows
-- with its own start time, so any row stamped before the horizon is either
-- committed (and visible to a snapshot taken after this call) or will never
-- exist.  The ETL reads only rows stamped strictly before it.
--
-- SECURITY DEFINER because pg_stat_activity shows other roles' xact_start only
-- to members of pg_read_all_stats (the owner is one; etl is not).
CREATE OR REPLACE FUNCTION content.etl_horizon() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT least(clock_timestamp(), min(xact_start))
      FROM pg_stat_activity
     WHERE backend_type = 'client backend'
       AND pid <> pg_backend_pid()
       AND xact_start IS NOT NULL
$$;
REVOKE ALL ON FUNCTION content.etl_horizon() FROM PUBLIC;
