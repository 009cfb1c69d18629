#!/bin/sh
# Runs a throwaway PostgreSQL cluster without Docker, for the tests and the
# native demo.
#
#   pg-cluster.sh start DIR PORT   initdb in DIR if it is new, start the
#                                  server on 127.0.0.1:PORT with its socket in
#                                  DIR, and on a new cluster create the
#                                  database and run etc/postgres/init.sh
#   pg-cluster.sh stop DIR         stop it (fast shutdown)
#
# Environment: PGDATABASE (default movies) and the passwords init.sh needs
# (CATALOG_OWNER_PASSWORD, APP_DB_PASSWORD, ETL_DB_PASSWORD); LOAD_SAMPLE_DATA
# as for init.sh.  The superuser is "postgres", reachable only through the
# socket in DIR; roles log in over TCP with their passwords.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/initdb" ] || bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: pg-cluster.sh start DIR PORT | stop DIR" >&2; exit 64; }

# Runs a command as the cluster's owner: PostgreSQL refuses to run as root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    port=${3:?usage: pg-cluster.sh start DIR PORT}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir" && chmod 700 "$dir"
    fresh=0
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        fresh=1
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 \
            --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log"
    fi
    # max_prepared_transactions > 0: the tests prepare transactions (two-phase
    # commit) to check that their changes arrive after COMMIT PREPARED.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_prepared_transactions=10 -c wal_level=logical" start >/dev/null
    export PGHOST="$dir" PGPORT="$port" PGUSER=postgres
    db=${PGDATABASE:-movies}
    if [ "$fresh" = 1 ]; then
        PGDATABASE=postgres psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\""
        PGDATABASE="$db" "$top/etc/postgres/init.sh"
    fi
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    ;;
*)
    echo "usage: pg-cluster.sh start DIR PORT | stop DIR" >&2; exit 64
    ;;
esac
