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
