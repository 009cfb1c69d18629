-- Roles of the movie catalogue.  Run by a superuser, with psql variables
-- owner_password, app_password and etl_password (never committed: init.sh
-- reads them from the environment).  Safe to run again: it only creates what
-- is missing and resets the passwords.
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

ALTER ROLE catalog_owner PASSWORD :'owner_password';
ALTER ROLE app PASSWORD :'app_password';
ALTER ROLE etl PASSWORD :'etl_password';

-- The ETL must know the start time of the oldest transaction still running
-- (see content.etl_horizon() in 20-etl.sql).  pg_stat_activity hides other
-- roles' xact_start unless one has pg_read_all_stats; the owner gets it so
-- that its SECURITY DEFINER function can answer that one question, and etl
-- itself never sees other sessions' queries.
GRANT pg_read_all_stats TO catalog_owner;

-- Nobody but the owner may create objects in the database or in public.
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO catalog_owner', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO app, etl', current_database()) \gexec
SELECT format('GRANT CREATE ON DATABASE %I TO catalog_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
