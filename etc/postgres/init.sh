#!/bin/sh
# Creates the catalogue in a PostgreSQL database: roles, schema content, the
# ETL's triggers and horizon function, privileges, and (unless
# LOAD_SAMPLE_DATA=0) the sample data.  Safe to run again.
#
# Used as is by both runs of the stack:
#   - docker: the postgres image runs it from /docker-entrypoint-initdb.d on a
#     new data volume (only top-level files there are run; the SQL it applies
#     sits in sql/ and data/ beside it);
#   - native: compose/native/pg-cluster.sh runs it after initdb.
#
# Connects as a superuser with libpq's usual variables (PGHOST, PGPORT, ...);
# POSTGRES_USER/POSTGRES_DB, set by the postgres image, are used when PGUSER/
# PGDATABASE are not.  Passwords come only from the environment:
#   CATALOG_OWNER_PASSWORD  catalog_owner (DDL, Django migrations)
#   APP_DB_PASSWORD         app (the admin panel)
#   ETL_DB_PASSWORD         etl (the ETL)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CATALOG_OWNER_PASSWORD:?CATALOG_OWNER_PASSWORD must be set}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set}"
: "${ETL_DB_PASSWORD:?ETL_DB_PASSWORD must be set}"
export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
export PGDATABASE="${PGDATABASE:-${POSTGRES_DB:-$PGUSER}}"

run_psql() {
    psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# The passwords reach psql through its environment only (00-roles.sql reads
# them with \getenv): never on a command line, where ps would show them.
export CATALOG_OWNER_PASSWORD APP_DB_PASSWORD ETL_DB_PASSWORD
run_psql -f "$here/sql/00-roles.sql"
# Everything else is created by the owner, so the owner owns it.
{
    echo 'SET ROLE catalog_owner;'
    cat "$here/sql/10-schema.sql" "$here/sql/20-etl.sql" "$here/sql/30-grants.sql"
} | run_psql
if [ "${LOAD_SAMPLE_DATA:-1}" != 0 ]; then
    "$here/data/load.sh"
fi
