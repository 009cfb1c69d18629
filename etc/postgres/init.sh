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
# PGDATABASE are not.  Each role's password is the first line of the file
# NAME_FILE names (compose's secrets: /run/secrets/...), else NAME from the
# environment; one starting with "change-me" (compose/.env.example's
# placeholders) is refused:
#   CATALOG_OWNER_PASSWORD  catalog_owner (DDL, Django migrations)
#   APP_DB_PASSWORD         app (the admin panel)
#   ETL_DB_PASSWORD         etl (the ETL)
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# read_secret NAME: sets NAME from the file NAME_FILE names when that is set;
# stops when NAME ends up empty or a placeholder.
read_secret() {
    eval "file=\${${1}_FILE:-}"
    if [ -n "$file" ]; then
        if ! IFS= read -r value <"$file" && [ -z "${value:-}" ]; then
            echo "init.sh: ${1}_FILE: cannot read $file" >&2
            exit 1
        fi
        eval "$1=\$value"
        where="${1}_FILE ($file)"
    else
        where=$1
    fi
    eval "value=\${$1:-}"
    case "$value" in
        '') echo "init.sh: $1 or ${1}_FILE must be set" >&2; exit 1 ;;
        change-me*) echo "init.sh: $where: placeholder secret, set a real one" >&2; exit 1 ;;
    esac
    value=
}
read_secret CATALOG_OWNER_PASSWORD
read_secret APP_DB_PASSWORD
read_secret ETL_DB_PASSWORD
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
