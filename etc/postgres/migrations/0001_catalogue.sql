-- Migration 0001: the catalogue as release 0.1.0 made it (commit 2d58a62:
-- etc/postgres/sql/00-roles.sql without the passwords, 10-schema.sql,
-- 20-etl.sql, 30-grants.sql), so that a database of that release and a new
-- one go through the same migrations after it.  Run only on a database
-- without schema content, by a superuser (it creates roles and sets the
-- database's rights); a 0.1.0 database, which has no version table, is taken
-- to be at this version without running it (docs/operations.md, "Schema
-- upgrades").  One transaction; the roles get no password here (init.sh or
-- the operator sets them).

-- Roles (00-roles.sql): created when missing, without a password.
--   catalog_owner  owns schema content and the admin panel's schema; runs all
--                  DDL and Django's migrations.
--   app            the admin panel: reads and writes rows, creates nothing.
--   etl            the ETL: reads content, nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'catalog_owner') THEN
        CREATE ROLE catalog_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN
        CREATE ROLE app LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'etl') THEN
        CREATE ROLE etl LOGIN;
    END IF;
END $$;

-- The ETL must know the start time of the oldest transaction still running
-- (see content.etl_horizon() below).  pg_stat_activity hides other roles'
-- xact_start unless one has pg_read_all_stats; the owner gets it so that its
-- SECURITY DEFINER function can answer that one question, and etl itself
-- never sees other sessions' queries.
GRANT pg_read_all_stats TO catalog_owner;

-- Nobody but the owner may create objects in the database or in public.
DO $$
BEGIN
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO catalog_owner', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO app, etl', current_database());
    EXECUTE format('GRANT CREATE ON DATABASE %I TO catalog_owner', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Everything else is created by the owner, so the owner owns it.
SET LOCAL ROLE catalog_owner;

-- The catalogue: schema content.  Run as catalog_owner (init.sh does SET ROLE).
-- Safe to run again (IF NOT EXISTS everywhere).

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

-- The logging triggers below run as their owner (SECURITY DEFINER): app, the
-- web-facing role, may not write change_log itself (30-grants.sql), so a
-- writer can neither forge nor erase events; its changes to the catalogue
-- still log theirs.  EXECUTE is revoked from PUBLIC: firing a trigger needs
-- no such right, attaching the function to another table does.

-- Records a deleted film work, genre or person.
CREATE OR REPLACE FUNCTION content.log_entity_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

REVOKE ALL ON FUNCTION content.log_entity_delete(), content.log_genre_link(),
    content.log_person_link() FROM PUBLIC;

CREATE OR REPLACE TRIGGER genre_film_work_log AFTER INSERT OR UPDATE OR DELETE ON content.genre_film_work
    FOR EACH ROW EXECUTE FUNCTION content.log_genre_link();
CREATE OR REPLACE TRIGGER person_film_work_log AFTER INSERT OR UPDATE OR DELETE ON content.person_film_work
    FOR EACH ROW EXECUTE FUNCTION content.log_person_link();

-- Wake-up signal.  After every statement that inserts, updates or deletes
-- rows of a table the indices read, a statement-level trigger moves the
-- sequence content.etl_change_signal (nextval); an idle worker reads its
-- last_value every wake_check_ms (etc/etl.ini) and starts a round at once
-- when it moved, instead of sleeping out its poll interval.  One nextval
-- per statement, not per row: an UPDATE of 500 rows moves it once.
--
-- A sequence, not NOTIFY: PostgreSQL refuses to PREPARE TRANSACTION a
-- transaction that sent a NOTIFY (a deferred trigger does not help), so
-- NOTIFY would break every writer using two-phase commit.  nextval is
-- allowed there, and it is not transactional: the value moves at once,
-- before the commit, and stays moved when the transaction rolls back or is
-- prepared.  So the signal is only a hint to look now: a round it starts
-- may find the change not yet visible (content.etl_horizon held by that
-- very transaction), and the worker looks again every wake_check_ms for up
-- to poll_interval_ms after the signal (docs/architecture.md, "Waking on
-- change"); what a round reads is decided by the cursors and the horizon
-- exactly as without it, and the poll goes on, so a signal missed delays a
-- change by at most one poll interval and loses nothing.  The trigger
-- function runs as the owner (SECURITY DEFINER): writers need no privilege
-- on the sequence; etl may only read it (30-grants.sql).
CREATE SEQUENCE IF NOT EXISTS content.etl_change_signal CYCLE;

CREATE OR REPLACE FUNCTION content.etl_signal_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM nextval('content.etl_change_signal');
    RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION content.etl_signal_change() FROM PUBLIC;

CREATE OR REPLACE TRIGGER film_work_signal AFTER INSERT OR UPDATE OR DELETE ON content.film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.etl_signal_change();
CREATE OR REPLACE TRIGGER genre_signal AFTER INSERT OR UPDATE OR DELETE ON content.genre
    FOR EACH STATEMENT EXECUTE FUNCTION content.etl_signal_change();
CREATE OR REPLACE TRIGGER person_signal AFTER INSERT OR UPDATE OR DELETE ON content.person
    FOR EACH STATEMENT EXECUTE FUNCTION content.etl_signal_change();
CREATE OR REPLACE TRIGGER genre_film_work_signal AFTER INSERT OR UPDATE OR DELETE ON content.genre_film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.etl_signal_change();
CREATE OR REPLACE TRIGGER person_film_work_signal AFTER INSERT OR UPDATE OR DELETE ON content.person_film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.etl_signal_change();

-- change_log retention that cannot lose an event.
--
-- Each worker reports how far it has read each change source
-- (content.etl_report_position, after its state file holding that position is
-- durable); content.etl_prune_change_log deletes only change_log rows that
-- every index it is given has read.  Any deletion, by that function or by
-- hand (DELETE, TRUNCATE), raises a watermark, content.change_log_pruned: the
-- greatest (modified, id) ever removed.  A worker whose change_log cursor is
-- below it may have missed events (re-index it).  The prune function removes
-- only rows every named index has read, so by itself it never puts a named
-- index below the watermark; an index left out of `indices` is not protected,
-- and sees so through the watermark.

-- Last position each index reported for each of its change sources.  Written
-- only through content.etl_report_position (etl may read it).
CREATE TABLE IF NOT EXISTS content.etl_position (
    index_name text NOT NULL,
    source     text NOT NULL,
    modified   timestamptz NOT NULL,
    id         uuid NOT NULL,
    reported   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (index_name, source)
);

-- The greatest change_log key (modified, id) ever deleted; one row, NULLs
-- while nothing was.
CREATE TABLE IF NOT EXISTS content.change_log_pruned (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    modified timestamptz,
    id       uuid
);
INSERT INTO content.change_log_pruned (one) VALUES (true) ON CONFLICT DO NOTHING;

-- Records the position an index has read a change source up to (the last
-- (modified, id) done).  The last report wins, lower or not: an index
-- rebuilt from scratch starts its change sources at the horizon of its fresh
-- load and needs nothing older.
CREATE OR REPLACE FUNCTION content.etl_report_position(
    index_name text, source text, modified timestamptz, id uuid) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO content.etl_position AS p (index_name, source, modified, id, reported)
    VALUES (etl_report_position.index_name, etl_report_position.source,
            etl_report_position.modified, etl_report_position.id, now())
    ON CONFLICT ON CONSTRAINT etl_position_pkey DO UPDATE
       SET modified = excluded.modified, id = excluded.id, reported = excluded.reported
$$;
REVOKE ALL ON FUNCTION content.etl_report_position(text, text, timestamptz, uuid) FROM PUBLIC;

-- Deletes the change_log rows that every index in `indices` has read (their
-- (modified, id) at or below that index's reported position for source
-- 'change_log') and that are older than now() - retention; returns how many.
-- An index that never reported protects everything: nothing is deleted.
-- List every index that reads change_log.  NULL or empty indices, NULL or
-- negative retention: an error.  For cron, as etl or catalog_owner:
--   psql -c "SELECT content.etl_prune_change_log('{movies,genres,persons}', '7 days')"
CREATE OR REPLACE FUNCTION content.etl_prune_change_log(indices text[], retention interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bound_modified timestamptz;
    bound_id uuid;
    deleted bigint;
BEGIN
    IF indices IS NULL OR cardinality(indices) = 0 OR array_position(indices, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'etl_prune_change_log: name every index that reads change_log';
    END IF;
    IF retention IS NULL OR retention < interval '0' THEN
        RAISE EXCEPTION 'etl_prune_change_log: retention must be an interval >= 0';
    END IF;
    -- Reports wait for this transaction: the bound stays what was read.
    PERFORM FROM content.etl_position p
      WHERE p.source = 'change_log' AND p.index_name = ANY (indices)
        FOR SHARE;
    IF EXISTS (SELECT FROM unnest(indices) AS i(name)
                WHERE NOT EXISTS (SELECT FROM content.etl_position p
                                   WHERE p.source = 'change_log' AND p.index_name = i.name)) THEN
        RETURN 0;
    END IF;
    SELECT p.modified, p.id INTO bound_modified, bound_id
      FROM content.etl_position p
     WHERE p.source = 'change_log' AND p.index_name = ANY (indices)
     ORDER BY p.modified, p.id
     LIMIT 1;
    DELETE FROM content.change_log c
     WHERE (c.modified, c.id) <= (bound_modified, bound_id)
       AND c.modified < now() - retention;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END $$;
REVOKE ALL ON FUNCTION content.etl_prune_change_log(text[], interval) FROM PUBLIC;

-- Raises the watermark to (p_modified, p_id) unless it is there already: the
-- one place both triggers below change it.
CREATE OR REPLACE FUNCTION content.change_log_raise_watermark(p_modified timestamptz, p_id uuid)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE content.change_log_pruned w
       SET modified = p_modified, id = p_id
     WHERE p_modified IS NOT NULL
       AND (w.modified IS NULL OR (w.modified, w.id) < (p_modified, p_id));
$$;

-- Raises the watermark to the greatest key of the rows a DELETE removed.
CREATE OR REPLACE FUNCTION content.change_log_note_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM content.change_log_raise_watermark(r.modified, r.id)
       FROM (SELECT modified, id FROM removed ORDER BY modified DESC, id DESC LIMIT 1) r;
    RETURN NULL;
END $$;

-- The same before a TRUNCATE, from the rows about to go.
CREATE OR REPLACE FUNCTION content.change_log_note_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM content.change_log_raise_watermark(c.modified, c.id)
       FROM (SELECT modified, id FROM content.change_log
              ORDER BY modified DESC, id DESC LIMIT 1) c;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION content.change_log_note_delete(), content.change_log_note_truncate(),
    content.change_log_raise_watermark(timestamptz, uuid) FROM PUBLIC;

CREATE OR REPLACE TRIGGER change_log_pruned_delete AFTER DELETE ON content.change_log
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION content.change_log_note_delete();
CREATE OR REPLACE TRIGGER change_log_pruned_truncate BEFORE TRUNCATE ON content.change_log
    FOR EACH STATEMENT EXECUTE FUNCTION content.change_log_note_truncate();

-- The watermark: one row, (NULL, NULL) while nothing was ever deleted.
CREATE OR REPLACE FUNCTION content.etl_change_log_pruned()
RETURNS TABLE (modified timestamptz, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT w.modified, w.id
      FROM (VALUES (true)) AS v(one)
      LEFT JOIN content.change_log_pruned w ON w.one = v.one
$$;
REVOKE ALL ON FUNCTION content.etl_change_log_pruned() FROM PUBLIC;

-- The ETL's safe horizon: rows stamped before it are all committed (and
-- visible to a snapshot taken after this call) or will never exist.  The ETL
-- reads only rows stamped strictly before it.  It is the earliest of:
--
--   - the current time;
--   - the start of every other transaction still open in THIS database (a
--     transaction stamps its rows with its own start time).  Other databases
--     are ignored: their transactions cannot write our rows.  Every backend
--     type counts (client backends, background workers such as pg_cron's or a
--     logical replication apply worker, walsenders running SQL, parallel
--     workers -- whose xact_start is their leader's), except autovacuum
--     workers: they never write user rows, and a long VACUUM would hold the
--     horizon back for nothing.  Server processes with no database
--     (checkpointer, walwriter, ...) drop out by the datname test;
--   - while any prepared transaction (PREPARE TRANSACTION, two-phase commit)
--     of this database exists: the caller's cursor `since` (the `modified` of
--     the last row of the source it has done), or '-infinity' when it gives
--     none.  A prepared transaction has left pg_stat_activity and its start
--     time is known nowhere, yet its rows, stamped with that start, appear at
--     COMMIT PREPARED; it was an open transaction before it was prepared, so
--     it held the horizon, and no cursor can be past its start.  Nothing newer
--     than the cursor is read until it is committed or rolled back.
--
-- Blind spots (content.etl_preflight() refuses them): on a standby
-- pg_stat_activity shows none of the primary's transactions, and a session
-- with track_activities off shows no xact_start.
--
-- SECURITY DEFINER because pg_stat_activity shows other roles' xact_start only
-- to members of pg_read_all_stats (the owner is one; etl is not).  Not STABLE:
-- it reads the clock.
DROP FUNCTION IF EXISTS content.etl_horizon();
CREATE OR REPLACE FUNCTION content.etl_horizon(since timestamptz DEFAULT NULL)
RETURNS timestamptz
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
             WHEN EXISTS (SELECT FROM pg_prepared_xacts
                           WHERE database = current_database())
             THEN least(open.horizon, coalesce(since, '-infinity'))
             ELSE open.horizon
           END
      FROM (SELECT least(clock_timestamp(), min(xact_start)) AS horizon
              FROM pg_stat_activity
             WHERE datname = current_database()
               AND backend_type <> 'autovacuum worker'
               AND pid <> pg_backend_pid()
               AND xact_start IS NOT NULL) AS open
$$;
REVOKE ALL ON FUNCTION content.etl_horizon(timestamptz) FROM PUBLIC;

-- What holds content.etl_horizon(since) back, for the worker's warning: at
-- most one row, the one that sets the horizon.  kind 'transaction', detail
-- 'pid=N', held_since its start; or kind 'prepared', detail 'gid=NAME',
-- held_since when it was prepared (the oldest one).  A prepared transaction is
-- named when it holds the horizon at least as far back as the oldest open
-- transaction does.  No query text, no user data.  No row: nothing holds it.
CREATE OR REPLACE FUNCTION content.etl_horizon_holder(since timestamptz DEFAULT NULL)
RETURNS TABLE (kind text, detail text, held_since timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH open AS (
        SELECT 'transaction'::text AS kind, 'pid=' || pid AS detail,
               xact_start AS held_since, xact_start AS holds_at
          FROM pg_stat_activity
         WHERE datname = current_database()
           AND backend_type <> 'autovacuum worker'
           AND pid <> pg_backend_pid()
           AND xact_start IS NOT NULL
         ORDER BY xact_start, pid
         LIMIT 1
    ), prepared AS (
        SELECT 'prepared'::text AS kind, 'gid=' || gid AS detail,
               prepared AS held_since, coalesce(since, '-infinity') AS holds_at
          FROM pg_prepared_xacts
         WHERE database = current_database()
         ORDER BY prepared, gid
         LIMIT 1
    )
    SELECT h.kind, h.detail, h.held_since
      FROM (SELECT *, 0 AS rank FROM prepared
            UNION ALL
            SELECT *, 1 FROM open) AS h
     ORDER BY h.holds_at, h.rank
     LIMIT 1
$$;
REVOKE ALL ON FUNCTION content.etl_horizon_holder(timestamptz) FROM PUBLIC;

-- Whether content.etl_horizon() can be trusted here: NULL when it can,
-- otherwise why not.  The worker refuses to start on a non-NULL answer.
--   - a standby (pg_is_in_recovery()): the primary's open transactions are
--     invisible there, so the horizon would run past them;
--   - track_activities off, for the server or this database (as this session
--     sees it), or for any role in this database (ALTER ROLE ... SET): such
--     sessions show no xact_start.  A superuser's own SET track_activities =
--     off in a session cannot be seen from here.
CREATE OR REPLACE FUNCTION content.etl_preflight() RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN pg_is_in_recovery() THEN
            'connected to a standby (pg_is_in_recovery()): its pg_stat_activity does not show '
            'the primary''s open transactions, so the horizon cannot be computed; '
            'connect the ETL to the primary'
        WHEN NOT current_setting('track_activities')::boolean THEN
            'track_activities is off: open transactions do not show in pg_stat_activity, '
            'so the horizon cannot be computed; turn it on'
        WHEN EXISTS (
            SELECT FROM pg_db_role_setting s, unnest(s.setconfig) AS c(setting)
             WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database
                                          WHERE datname = current_database()))
               AND lower(split_part(c.setting, '=', 1)) = 'track_activities'
               AND NOT substr(c.setting, strpos(c.setting, '=') + 1)::boolean) THEN
            'track_activities is off for some roles (ALTER ROLE ... SET track_activities): '
            'their open transactions do not show in pg_stat_activity, so the horizon '
            'cannot be computed; reset it'
    END
$$;
REVOKE ALL ON FUNCTION content.etl_preflight() FROM PUBLIC;

-- Privileges of app and etl.  Run as catalog_owner after the schema.
--   app: reads and writes the rows of content (change_log: reads only; its
--        rows come from the triggers) and of the admin panel's own schema,
--        created by Django's migrations run as catalog_owner; creates,
--        alters and drops nothing.
--   etl: reads content (and the sequence content.etl_change_signal) and
--        calls the etl_* functions of 20-etl.sql; writes no table itself.

GRANT USAGE ON SCHEMA content TO app, etl;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA content TO app;
-- ... except the ETL's own bookkeeping: change_log is written by the triggers
-- only (they run as the owner), etl_position and change_log_pruned by their
-- functions only, so app reads them and nothing more.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON content.change_log FROM app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON content.etl_position, content.change_log_pruned FROM app;
GRANT SELECT ON ALL TABLES IN SCHEMA content TO etl;
GRANT EXECUTE ON FUNCTION content.etl_horizon(timestamptz), content.etl_horizon_holder(timestamptz),
    content.etl_preflight() TO etl;
-- The wake-up signal (20-etl.sql): etl reads its last_value, nothing more.
GRANT SELECT ON SEQUENCE content.etl_change_signal TO etl;
-- change_log retention (20-etl.sql): etl reports its positions, prunes what
-- every index has read, reads the prune watermark; all through functions.
GRANT EXECUTE ON FUNCTION content.etl_report_position(text, text, timestamptz, uuid),
    content.etl_prune_change_log(text[], interval), content.etl_change_log_pruned() TO etl;

-- The admin panel's own tables (auth, sessions, admin log) live apart.
CREATE SCHEMA IF NOT EXISTS admin AUTHORIZATION catalog_owner;
GRANT USAGE ON SCHEMA admin TO app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA admin TO app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA admin TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE catalog_owner IN SCHEMA admin
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE catalog_owner IN SCHEMA admin
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE catalog_owner IN SCHEMA content
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app;
ALTER DEFAULT PRIVILEGES FOR ROLE catalog_owner IN SCHEMA content
    GRANT SELECT ON TABLES TO etl;
