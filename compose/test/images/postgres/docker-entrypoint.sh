#!/bin/sh
# Entry point of etl-test/postgres-debian:15: what the official postgres
# image's entry point does, for what the stack uses.  As root it fixes the
# data directory's owner and starts itself again as postgres; on an empty
# data directory it runs initdb (superuser POSTGRES_USER with
# POSTGRES_PASSWORD, or the first line of the file POSTGRES_PASSWORD_FILE
# names), creates POSTGRES_DB, runs /docker-entrypoint-initdb.d's
# top-level files against a server on the socket only, then runs the command.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        IFS= read -r POSTGRES_PASSWORD <"$POSTGRES_PASSWORD_FILE" || [ -n "${POSTGRES_PASSWORD:-}" ]
    fi
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set for a new database}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
    if [ "$POSTGRES_DB" != postgres ]; then
        echo 'CREATE DATABASE :"db";' |
            psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -v db="$POSTGRES_DB"
    fi
    export PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB" PGPASSWORD="$POSTGRES_PASSWORD"
    for f in /docker-entrypoint-initdb.d/*; do
        [ -f "$f" ] || continue
        case "$f" in
            *.sh)
                echo "docker-entrypoint.sh: running $f"
                if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "docker-entrypoint.sh: running $f"; psql -X -q -v ON_ERROR_STOP=1 -f "$f" ;;
            *.sql.gz) echo "docker-entrypoint.sh: running $f"; gzip -dc "$f" | psql -X -q -v ON_ERROR_STOP=1 ;;
            *) echo "docker-entrypoint.sh: ignoring $f" ;;
        esac
    done
    unset PGUSER PGDATABASE PGPASSWORD
    pg_ctl -D "$PGDATA" -w -m fast stop
    echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up."
fi

if [ "${1:-}" = postgres ]; then
    shift
    exec postgres -D "$PGDATA" "$@"
fi
exec "$@"
