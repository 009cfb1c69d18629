-- Privileges of app and etl.  Run as catalog_owner after the schema.
--   app: reads and writes the rows of content (change_log: reads only; its
--        rows come from the triggers) and of the admin panel's own schema,
--        created by Django's migrations run as catalog_owner; creates,
--        alters and drops nothing.
--   etl: reads content (and the sequence content.etl_change_signal) and
--        calls the etl_* functions of 20-etl.sql; writes no table itself.
\set ON_ERROR_STOP on

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
-- Restores and failovers (20-etl.sql): etl reads which cluster and timeline
-- it is on, and restamps rows a dump brought from another cluster.
GRANT EXECUTE ON FUNCTION content.etl_cluster(), content.etl_restamp() TO etl;
-- The version every index and delete action carries (20-etl.sql).
GRANT EXECUTE ON FUNCTION content.etl_snapshot_version() TO etl;
-- The wake-up signal (20-etl.sql): etl reads its last_value, nothing more.
GRANT SELECT ON SEQUENCE content.etl_change_signal TO etl;
-- change_log retention (20-etl.sql): etl reports its positions, prunes what
-- every index has read, reads the prune watermark; all through functions.
GRANT EXECUTE ON FUNCTION content.etl_report_position(text, text, xid8),
    content.etl_prune_change_log(text[], interval), content.etl_change_log_pruned() TO etl;
-- One writer per index (20-etl.sql): etl takes and checks its index's
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
