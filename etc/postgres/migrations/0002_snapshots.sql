-- Migration 0002: change capture by transaction snapshots (release 0.2.0),
-- from the catalogue of 0.1.0 (migration 0001).  One transaction, run as
-- catalog_owner.  It rewrites film_work, genre, person and change_log once
-- (a new column): pick a quiet moment on a large catalogue.  Idempotent
-- (IF NOT EXISTS, CREATE OR REPLACE): a database already brought part of
-- the way by hand (the 0.2.0 development files run again) is upgraded too.
--
-- Change capture by transaction snapshots (docs/architecture.md):
--
-- 1. Every row the ETL reads carries `txid`, the id of the transaction that
--    last wrote it (pg_current_xact_id(), xid8), set by the triggers below,
--    and `modified`, its time, for people to read (nothing is decided by it).
-- 2. A row that is deleted, and a link row that is added or removed, leaves no
--    row to read.  Triggers write such events to content.change_log, stamped
--    the same way.
-- 3. The worker reads, round after round, the rows whose txid is visible in
--    the round's pg_current_snapshot() and not in the previous round's.  No
--    clock and no other session's state decides what is read.
--
-- The triggers are ENABLE ALWAYS: they fire in logical replication apply
-- workers and under session_replication_role = replica too.

SET LOCAL ROLE catalog_owner;
-- What it finds already there (IF NOT EXISTS) is no news.
SET LOCAL client_min_messages = warning;

-- The transaction stamp of every row the ETL reads (its index: migration
-- 0003).  Adding the column gives every existing row the id of the
-- transaction that adds it: the first round after the upgrade reads them all
-- again (harmless: documents are rebuilt from current state).
ALTER TABLE content.film_work ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE content.genre ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE content.person ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- Stamps `txid` and `modified` on every insert and update.  An update that
-- writes nothing but `txid` is a restamp (content.etl_restamp() below): the
-- row's `modified` stays, since its data did not change.
CREATE OR REPLACE FUNCTION content.set_modified() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.txid IS DISTINCT FROM OLD.txid
       AND to_jsonb(NEW) - 'txid' = to_jsonb(OLD) - 'txid' THEN
        NEW.txid := pg_current_xact_id();
        RETURN NEW;
    END IF;
    NEW.txid := pg_current_xact_id();
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
ALTER TABLE content.change_log ADD COLUMN IF NOT EXISTS txid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- The logging triggers below run as their owner (SECURITY DEFINER): app, the
-- web-facing role, may not write change_log itself (below), so a
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

-- Records a TRUNCATE of a catalogue table, for which no row trigger fires:
-- one event naming the table, operation 'TRUNCATE', no ids.  The change
-- sources of the indices that read the table return it as a change to every
-- document, and the worker rebuilds those indices behind their alias.  A
-- TRUNCATE ... CASCADE fires it for every table it empties.
CREATE OR REPLACE FUNCTION content.log_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO content.change_log (table_name, operation) VALUES (TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION content.log_truncate() FROM PUBLIC;

CREATE OR REPLACE TRIGGER film_work_log_truncate AFTER TRUNCATE ON content.film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.log_truncate();
CREATE OR REPLACE TRIGGER genre_log_truncate AFTER TRUNCATE ON content.genre
    FOR EACH STATEMENT EXECUTE FUNCTION content.log_truncate();
CREATE OR REPLACE TRIGGER person_log_truncate AFTER TRUNCATE ON content.person
    FOR EACH STATEMENT EXECUTE FUNCTION content.log_truncate();
CREATE OR REPLACE TRIGGER genre_film_work_log_truncate AFTER TRUNCATE ON content.genre_film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.log_truncate();
CREATE OR REPLACE TRIGGER person_film_work_log_truncate AFTER TRUNCATE ON content.person_film_work
    FOR EACH STATEMENT EXECUTE FUNCTION content.log_truncate();

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
-- may find the change not yet visible (its transaction not yet committed
-- at the round's snapshot), and the worker looks again every wake_check_ms
-- for up to poll_interval_ms after the signal (docs/architecture.md, "Waking
-- on change"); what a round reads is decided by the cursors and snapshots
-- exactly as without it, and the poll goes on, so a signal missed delays a
-- change by at most one poll interval and loses nothing.  The trigger
-- function runs as the owner (SECURITY DEFINER): writers need no privilege
-- on the sequence; etl may only read it (below).
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

-- change_log retention that cannot lose an event, by transaction id.
--
-- Each worker reports how far it has read each change source: a transaction
-- id below which it has read every event (content.etl_report_position, after
-- its state file holding that position is durable: the xmin of the last
-- snapshot it has read up to).  content.etl_prune_change_log deletes only
-- change_log rows below every named index's reported id.  Any deletion, by
-- that function or by hand (DELETE, TRUNCATE), raises a watermark,
-- content.change_log_pruned: the greatest txid ever removed.  A worker whose
-- position is at or below it may have missed events (re-index it).  An
-- index left out of `indices` is not protected, and sees so through the
-- watermark.

-- Last position each index reported for each of its change sources.  Written
-- only through content.etl_report_position (etl may read it).  modified and
-- id are what the clock release reported; txid NULL is such a report, which
-- protects everything until the index reports again.
CREATE TABLE IF NOT EXISTS content.etl_position (
    index_name text NOT NULL,
    source     text NOT NULL,
    modified   timestamptz,
    id         uuid,
    reported   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (index_name, source)
);
ALTER TABLE content.etl_position ADD COLUMN IF NOT EXISTS txid xid8;
ALTER TABLE content.etl_position ALTER COLUMN modified DROP NOT NULL;
ALTER TABLE content.etl_position ALTER COLUMN id DROP NOT NULL;

-- The greatest change_log txid ever deleted; one row, NULL while nothing was.
CREATE TABLE IF NOT EXISTS content.change_log_pruned (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    modified timestamptz,
    id       uuid
);
ALTER TABLE content.change_log_pruned ADD COLUMN IF NOT EXISTS txid xid8;
INSERT INTO content.change_log_pruned (one) VALUES (true) ON CONFLICT DO NOTHING;

-- Records the position an index has read a change source up to: every event
-- of a transaction below txid is read.  The last report wins, lower or not:
-- an index rebuilt from scratch starts its change sources at the snapshot of
-- its fresh load and needs nothing older.
DROP FUNCTION IF EXISTS content.etl_report_position(text, text, timestamptz, uuid);
CREATE OR REPLACE FUNCTION content.etl_report_position(
    index_name text, source text, txid xid8) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO content.etl_position AS p (index_name, source, txid, modified, id, reported)
    VALUES (etl_report_position.index_name, etl_report_position.source,
            etl_report_position.txid, NULL, NULL, now())
    ON CONFLICT ON CONSTRAINT etl_position_pkey DO UPDATE
       SET txid = excluded.txid, modified = NULL, id = NULL, reported = excluded.reported
$$;
REVOKE ALL ON FUNCTION content.etl_report_position(text, text, xid8) FROM PUBLIC;

-- Deletes the change_log rows that every index in `indices` has read (txid
-- below that index's reported position for source 'change_log') and that
-- are older than now() - retention (by `modified`: retention is for people,
-- safety is by txid); returns how many.  An index that never reported, or
-- reported no txid, protects everything: nothing is deleted.  List every
-- index that reads change_log.  NULL or empty indices, NULL or negative
-- retention: an error.  For cron, as etl or catalog_owner:
--   psql -c "SELECT content.etl_prune_change_log('{movies,genres,persons}', '7 days')"
CREATE OR REPLACE FUNCTION content.etl_prune_change_log(indices text[], retention interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bound xid8;
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
                                   WHERE p.source = 'change_log' AND p.index_name = i.name
                                     AND p.txid IS NOT NULL)) THEN
        RETURN 0;
    END IF;
    SELECT min(p.txid) INTO bound
      FROM content.etl_position p
     WHERE p.source = 'change_log' AND p.index_name = ANY (indices);
    DELETE FROM content.change_log c
     WHERE c.txid < bound
       AND c.modified < now() - retention;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END $$;
REVOKE ALL ON FUNCTION content.etl_prune_change_log(text[], interval) FROM PUBLIC;

-- Raises the watermark to p_txid unless it is there already: the one place
-- both triggers below change it.
DROP FUNCTION IF EXISTS content.change_log_raise_watermark(timestamptz, uuid);
CREATE OR REPLACE FUNCTION content.change_log_raise_watermark(p_txid xid8)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    UPDATE content.change_log_pruned w
       SET txid = p_txid
     WHERE p_txid IS NOT NULL
       AND (w.txid IS NULL OR w.txid < p_txid);
$$;

-- Raises the watermark to the greatest txid of the rows a DELETE removed.
CREATE OR REPLACE FUNCTION content.change_log_note_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM content.change_log_raise_watermark(max(r.txid)) FROM removed r;
    RETURN NULL;
END $$;

-- The same before a TRUNCATE, from the rows about to go.
CREATE OR REPLACE FUNCTION content.change_log_note_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM content.change_log_raise_watermark(max(c.txid)) FROM content.change_log c;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION content.change_log_note_delete(), content.change_log_note_truncate(),
    content.change_log_raise_watermark(xid8) FROM PUBLIC;

CREATE OR REPLACE TRIGGER change_log_pruned_delete AFTER DELETE ON content.change_log
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION content.change_log_note_delete();
CREATE OR REPLACE TRIGGER change_log_pruned_truncate BEFORE TRUNCATE ON content.change_log
    FOR EACH STATEMENT EXECUTE FUNCTION content.change_log_note_truncate();

-- The watermark: one row, NULL while nothing was ever deleted.
DROP FUNCTION IF EXISTS content.etl_change_log_pruned();
CREATE OR REPLACE FUNCTION content.etl_change_log_pruned()
RETURNS TABLE (txid xid8)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT w.txid
      FROM (VALUES (true)) AS v(one)
      LEFT JOIN content.change_log_pruned w ON w.one = v.one
$$;
REVOKE ALL ON FUNCTION content.etl_change_log_pruned() FROM PUBLIC;

-- The ETL's triggers: every trigger on a table of content that runs a
-- function of content, with pg_trigger.tgenabled ('A' always, 'O' origin and
-- local only, 'R' replica only, 'D' disabled).  etl_preflight() and etlctl
-- verify name those not enabled always.
CREATE OR REPLACE FUNCTION content.etl_triggers()
RETURNS TABLE (tgname name, table_name name, enabled "char")
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.tgname, c.relname, t.tgenabled
      FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_proc p ON p.oid = t.tgfoid
     WHERE c.relnamespace = 'content'::regnamespace
       AND p.pronamespace = 'content'::regnamespace
       AND NOT t.tgisinternal
$$;

-- Every such trigger fires always: in replication apply workers and under
-- session_replication_role = replica as well (CREATE OR REPLACE TRIGGER
-- above leaves a trigger enabled for origin sessions only).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM content.etl_triggers() WHERE enabled <> 'A' LOOP
        EXECUTE format('ALTER TABLE content.%I ENABLE ALWAYS TRIGGER %I', t.table_name, t.tgname);
    END LOOP;
END $$;

-- The external version of the documents read in the calling transaction's
-- snapshot (REPEATABLE READ: the one its first statement took): every
-- index and delete action carries it (version_type external_gte), so that
-- a document read from an older state can never replace one read from a
-- newer state.  It grows with the snapshot: a later snapshot has an xmax at
-- least as high, and with the same xmax no more transactions in progress
-- (ids are not given out in between, some may have committed); so
-- xmax * 2^20 + (2^20 - 1 - in progress) is equal only for snapshots that
-- see the same rows.  Fits a search engine's version (a signed 64-bit
-- integer) while xmax is below 2^43, some 8.8 trillion transactions.
CREATE OR REPLACE FUNCTION content.etl_snapshot_version() RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (pg_snapshot_xmax(s)::text::numeric * 1048576 + 1048575
            - least((SELECT count(*) FROM pg_snapshot_xip(s)), 1048575))::bigint
      FROM pg_current_snapshot() AS s
$$;
REVOKE ALL ON FUNCTION content.etl_snapshot_version() FROM PUBLIC;

-- What holds a round back: the oldest writing transaction in progress (one
-- with a transaction id: its changes are read only once it commits; readers
-- have none and hold nothing), as at most one row: kind 'transaction',
-- detail 'pid=N', held_since its start; or kind 'prepared', detail
-- 'gid=NAME', held_since when it was prepared.  No query text, no user
-- data.  No row: no writer in progress.  snap is the round's snapshot (kept
-- for the call's shape; the answer is as of the call).  pg_stat_activity and pg_prepared_xacts show 32-bit ids, ordered here by
-- age().  SECURITY DEFINER: etl may not see other roles' xact_start.
CREATE OR REPLACE FUNCTION content.etl_snapshot_holder(snap pg_snapshot)
RETURNS TABLE (kind text, detail text, held_since timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT h.kind, h.detail, h.held_since
      FROM (SELECT 'transaction'::text AS kind, 'pid=' || a.pid AS detail,
                   a.xact_start AS held_since, age(a.backend_xid) AS age
              FROM pg_stat_activity a
             WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
            UNION ALL
            SELECT 'prepared', 'gid=' || p.gid, p.prepared, age(p.transaction)
              FROM pg_prepared_xacts p) AS h
     WHERE snap IS NOT NULL
     ORDER BY h.age DESC
     LIMIT 1
$$;
REVOKE ALL ON FUNCTION content.etl_snapshot_holder(pg_snapshot) FROM PUBLIC;

-- The clock horizon this file used to define is gone.
DROP FUNCTION IF EXISTS content.etl_horizon(timestamptz);
DROP FUNCTION IF EXISTS content.etl_horizon_holder(timestamptz);

-- Whether the worker can read here: NULL when it can, otherwise why not.  The
-- worker refuses to start on a non-NULL answer.
--   - a standby (pg_is_in_recovery()): on a hot standby pg_current_snapshot()
--     lists no transaction in progress (the standby keeps them where that
--     function does not look), so a window would pass a transaction before
--     its commit and never read it (docs/architecture.md, "Standbys");
--   - a trigger the ETL relies on that is disabled (ALTER TABLE ... DISABLE
--     TRIGGER, or enabled only for origin sessions): changes would be missed.
CREATE OR REPLACE FUNCTION content.etl_preflight() RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN pg_is_in_recovery() THEN
            'connected to a standby (pg_is_in_recovery()): on a standby pg_current_snapshot() '
            'lists no transaction in progress, so changes would be lost; connect the ETL to '
            'the primary'
        ELSE (SELECT 'trigger ' || string_agg(t.tgname, ', ' ORDER BY t.tgname)
                     || ' is not enabled always (ALTER TABLE ... ENABLE ALWAYS TRIGGER ...): '
                     'changes would be missed; enable it again'
                FROM content.etl_triggers() t
               WHERE t.enabled <> 'A')
    END
$$;
REVOKE ALL ON FUNCTION content.etl_preflight() FROM PUBLIC;

-- Which history the database is in: the cluster's system identifier (new
-- with every initdb: a dump restored elsewhere is in another cluster) and
-- its timeline (new with every point-in-time recovery and every promotion
-- of a standby: commits of the old timeline after the switch are not here).
-- The worker records both in its state file beside the snapshots it read,
-- and rebuilds behind the alias when they differ (docs/architecture.md,
-- "Restores and failovers").  On a primary the timeline is the one WAL is
-- written on now (pg_control_checkpoint() shows it only after the first
-- checkpoint on it, minutes after a promotion); on a standby, the last
-- restartpoint's.  Both functions it calls are PUBLIC by default.
CREATE OR REPLACE FUNCTION content.etl_cluster()
RETURNS TABLE (system_identifier text, timeline bigint)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.system_identifier::text,
           CASE WHEN pg_is_in_recovery() THEN (pg_control_checkpoint()).timeline_id::bigint
                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint
           END
      FROM pg_control_system() AS s
$$;

-- Rows stamped by another cluster's transactions.  pg_dump writes each row's
-- txid as data, so a catalogue restored into another cluster keeps the old
-- cluster's ids, mostly ahead of the new cluster's counter: until the counter
-- passes them no snapshot shows them committed, and a full load would miss
-- those rows.  No row written here can be so: a row a statement sees was
-- committed before its snapshot, so its txid is below the snapshot's xmax.
-- content.etl_restamp() gives such rows the id of its own transaction (their
-- `modified` kept: set_modified() above), and forgets what else holds ids of
-- the old counter: positions reported there (NULL protects everything until
-- the index reports again) and the prune watermark (every index read from
-- the old cluster is rebuilt: its state file names that cluster).  Returns
-- how many rows it restamped; 0, writing nothing, when there are none.  The
-- worker calls it on every new connection (a few index probes).  Each
-- statement compares with its own snapshot, so a concurrent writer's rows are
-- never taken for foreign ones.
CREATE OR REPLACE FUNCTION content.etl_restamp() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    restamped bigint := 0;
    n bigint;
BEGIN
    IF NOT (SELECT EXISTS (SELECT FROM content.film_work WHERE txid >= x.next)
                OR EXISTS (SELECT FROM content.genre WHERE txid >= x.next)
                OR EXISTS (SELECT FROM content.person WHERE txid >= x.next)
                OR EXISTS (SELECT FROM content.change_log WHERE txid >= x.next)
                OR EXISTS (SELECT FROM content.etl_position WHERE txid >= x.next)
                OR EXISTS (SELECT FROM content.change_log_pruned WHERE txid >= x.next)
              FROM (SELECT pg_snapshot_xmax(pg_current_snapshot()) AS next) AS x) THEN
        RETURN 0;
    END IF;
    UPDATE content.film_work SET txid = pg_current_xact_id()
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    GET DIAGNOSTICS n = ROW_COUNT;
    restamped := restamped + n;
    UPDATE content.genre SET txid = pg_current_xact_id()
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    GET DIAGNOSTICS n = ROW_COUNT;
    restamped := restamped + n;
    UPDATE content.person SET txid = pg_current_xact_id()
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    GET DIAGNOSTICS n = ROW_COUNT;
    restamped := restamped + n;
    UPDATE content.change_log SET txid = pg_current_xact_id()
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    GET DIAGNOSTICS n = ROW_COUNT;
    restamped := restamped + n;
    UPDATE content.etl_position SET txid = NULL
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    UPDATE content.change_log_pruned SET txid = NULL
     WHERE txid >= pg_snapshot_xmax(pg_current_snapshot());
    RETURN restamped;
END $$;
REVOKE ALL ON FUNCTION content.etl_restamp() FROM PUBLIC;

-- One writer per index.  A worker holds a session advisory lock for its
-- index (the alias clients query) for as long as it runs, taken on every
-- new connection before it writes anything to the search engine: it dies
-- with the connection.  A second worker for the same index (another
-- supervisor, a run by hand) finds it held and waits (docs/architecture.md,
-- "One writer per index").  The key is two int4: the hash of a fixed class
-- name and the hash of the index name (two index names with the same hash
-- would share one lock: their workers would take turns, never write
-- together).  Advisory locks need no privilege, and pg_locks is readable by
-- every role.  Locks are per database: workers reading two databases into
-- one search cluster are not kept apart.
--
-- etl_lock_index: takes the lock, once per connection.  locked: taken;
-- holder: otherwise the pid of the session holding it (NULL when it was
-- released meanwhile).
CREATE OR REPLACE FUNCTION content.etl_lock_index(index_name text)
RETURNS TABLE (locked boolean, holder integer)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    locked := pg_try_advisory_lock(hashtext('etl index writer'), hashtext(index_name));
    holder := NULL;
    IF NOT locked THEN
        SELECT l.pid INTO holder
          FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
           AND l.classid = hashtext('etl index writer')::oid
           AND l.objid = hashtext(etl_lock_index.index_name)::oid
           AND l.objsubid = 2
         LIMIT 1;
    END IF;
    RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION content.etl_lock_index(text) FROM PUBLIC;

-- etl_index_locked: whether this session holds the lock (asked before a
-- swap or a deletion: a connection lost since, and the lock with it, says
-- no, or fails).
CREATE OR REPLACE FUNCTION content.etl_index_locked(index_name text)
RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_backend_pid()
           AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
           AND l.classid = hashtext('etl index writer')::oid
           AND l.objid = hashtext(etl_index_locked.index_name)::oid
           AND l.objsubid = 2)
$$;
REVOKE ALL ON FUNCTION content.etl_index_locked(text) FROM PUBLIC;

-- Privileges of app and etl (30-grants.sql of 0.1.0 again, with the new
-- functions).
--   app: reads and writes the rows of content (change_log: reads only; its
--        rows come from the triggers) and of the admin panel's own schema,
--        created by Django's migrations run as catalog_owner; creates,
--        alters and drops nothing.
--   etl: reads content (and the sequence content.etl_change_signal) and
--        calls the etl_* functions above; writes no table itself.

GRANT USAGE ON SCHEMA content TO app, etl;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA content TO app;
-- ... except the ETL's own bookkeeping: change_log is written by the triggers
-- only (they run as the owner), etl_position and change_log_pruned by their
-- functions only, so app reads them and nothing more.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON content.change_log FROM app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON content.etl_position, content.change_log_pruned FROM app;
GRANT SELECT ON ALL TABLES IN SCHEMA content TO etl;
GRANT EXECUTE ON FUNCTION content.etl_snapshot_holder(pg_snapshot), content.etl_triggers(),
    content.etl_preflight() TO etl;
-- Restores and failovers (above): etl reads which cluster and timeline
-- it is on, and restamps rows a dump brought from another cluster.
GRANT EXECUTE ON FUNCTION content.etl_cluster(), content.etl_restamp() TO etl;
-- The version every index and delete action carries (above).
GRANT EXECUTE ON FUNCTION content.etl_snapshot_version() TO etl;
-- The wake-up signal (above): etl reads its last_value, nothing more.
GRANT SELECT ON SEQUENCE content.etl_change_signal TO etl;
-- change_log retention (above): etl reports its positions, prunes what
-- every index has read, reads the prune watermark; all through functions.
GRANT EXECUTE ON FUNCTION content.etl_report_position(text, text, xid8),
    content.etl_prune_change_log(text[], interval), content.etl_change_log_pruned() TO etl;
-- One writer per index (above): etl takes and checks its index's
-- advisory lock (no privilege needed for the lock itself).
GRANT EXECUTE ON FUNCTION content.etl_lock_index(text), content.etl_index_locked(text) TO etl;

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
