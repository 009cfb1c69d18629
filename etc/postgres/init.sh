#!/bin/sh
# Creates the catalogue in a PostgreSQL database: roles and their passwords
# (sql/00-roles.sql), then, on a database without the catalogue, the schema
# by its migrations (migrations/NNNN_*.sql, each recorded in
# content.schema_migrations), and (unless LOAD_SAMPLE_DATA=0) the sample
# data.  Safe to run again: on a database that has the catalogue it leaves
# the schema alone (upgrades are `etlctl schema upgrade`'s, docs/operations.md
# "Schema upgrades"), resets the passwords and loads only missing rows.
#
# Used as is by both runs of the stack:
#   - docker: the postgres image runs it from /docker-entrypoint-initdb.d on a
#     new data volume (only top-level files there are run; the SQL it applies
#     sits in sql/, migrations/ and data/ beside it);
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

# A new database: every migration in order, as etlctl schema upgrade would
# apply them (the same files): a transactional one in one transaction with
# its version row (the first one also creates the version table); one whose
# first line says no-transaction statement by statement, then its row.  The
# files set the role that owns what they create.
migrations="$here/migrations"
fresh=$(run_psql -At -c "SELECT to_regclass('content.film_work') IS NULL")
if [ "$fresh" = t ]; then
    first=1
    for file in "$migrations"/[0-9][0-9][0-9][0-9]_*.sql; do
        name=$(basename "$file" .sql)
        version=$(expr "$name" : '0*\([0-9][0-9]*\)_')
        checksum=$(sha256sum "$file" | cut -c1-64)
        record="INSERT INTO content.schema_migrations (version, name, checksum)
                VALUES ($version, '$name', '$checksum');"
        if [ "$(head -n 1 "$file")" = "-- etl-migration: no-transaction" ]; then
            run_psql -f "$file"
            echo "$record" | run_psql
        else
            {
                cat "$file"
                [ "$first" = 1 ] && cat "$migrations/schema_migrations.sql"
                echo "$record"
            } | run_psql -1 -f -
        fi
        first=0
    done
fi
if [ "${LOAD_SAMPLE_DATA:-1}" != 0 ]; then
    "$here/data/load.sh"
fi
