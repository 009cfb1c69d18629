-- Roles of the movie catalogue.  Run by a superuser, with the passwords in
-- the environment (CATALOG_OWNER_PASSWORD, APP_DB_PASSWORD, ETL_DB_PASSWORD;
-- never committed), read here with \getenv so that they never appear on a
-- command line (ps).  Safe to run again: it only creates what is missing and
-- resets the passwords.
--
--   catalog_owner  owns schema content and the admin panel's schema; runs all
--                  DDL and Django's migrations.
--   app            the admin panel: reads and writes rows, creates nothing.
--   etl            the ETL: reads content, nothing else.
\set ON_ERROR_STOP on

SELECT 'CREATE ROLE catalog_owner LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'catalog_owner') \gexec
SELECT 'CREATE ROLE app LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') \gexec
SELECT 'CREATE ROLE etl LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'etl') \gexec

\getenv owner_password CATALOG_OWNER_PASSWORD
\getenv app_password APP_DB_PASSWORD
\getenv etl_password ETL_DB_PASSWORD
\if :{?owner_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CATALOG_OWNER_PASSWORD is not set'; END $$;
\endif
\if :{?app_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'APP_DB_PASSWORD is not set'; END $$;
\endif
\if :{?etl_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'ETL_DB_PASSWORD is not set'; END $$;
\endif
-- Nor in the server's log, whatever log_statement says.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
ALTER ROLE catalog_owner PASSWORD :'owner_password';
ALTER ROLE app PASSWORD :'app_password';
ALTER ROLE etl PASSWORD :'etl_password';
RESET log_statement;
RESET log_min_duration_statement;

-- The ETL names what holds a round back: the oldest transaction in progress
-- (content.etl_snapshot_holder(), migrations/0002_snapshots.sql), by pid and start time.
-- pg_stat_activity hides other roles' xact_start unless one has
-- pg_read_all_stats; the owner gets it so that its SECURITY DEFINER function
-- can answer that one question, and etl itself never sees other sessions'
-- queries.
GRANT pg_read_all_stats TO catalog_owner;

-- Nobody but the owner may create objects in the database or in public.
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO catalog_owner', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO app, etl', current_database()) \gexec
SELECT format('GRANT CREATE ON DATABASE %I TO catalog_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
