-- The table of applied migrations: one row per version, written by the
-- upgrade (etlctl schema upgrade, or init.sh on a new database) in the same
-- transaction as the migration's DDL (after the last statement of a
-- no-transaction one).  Not a migration itself: created with the first
-- migration a database gets through the upgrade.  etl reads it (the worker
-- refuses a schema older or newer than its own); app only reads it.
--   version    the number of NNNN_name.sql
--   name       the file's name without .sql
--   checksum   SHA-256 of the file (hex), as it was applied
--   baseline   true for 0001 on a database made by 0.1.0 (not run: found)
SET LOCAL ROLE catalog_owner;
CREATE TABLE IF NOT EXISTS content.schema_migrations (
    version    integer PRIMARY KEY CHECK (version > 0),
    name       text NOT NULL,
    checksum   text NOT NULL,
    baseline   boolean NOT NULL DEFAULT false,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
);
REVOKE ALL ON content.schema_migrations FROM app, etl;
GRANT SELECT ON content.schema_migrations TO app, etl;
