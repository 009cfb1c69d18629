#!/bin/bash
# The native demo behind `make demo`: the whole stack on this machine, without
# Docker, until Ctrl-C.
#
#   1. PostgreSQL on 127.0.0.1:$DEMO_PG_PORT (5432) with the catalogue's schema,
#      roles and sample data (compose/native/pg-cluster.sh);
#   2. the search node on 127.0.0.1:$DEMO_ES_PORT (9200), shown answering
#      (compose/native/es-node.sh);
#   3. the ETL (start_etl), the admin panel (start_admin), a few searches
#      (show_searches);
#   4. waits; Ctrl-C (or SIGTERM, or any exit) stops everything it started.
#
#   demo.sh stop (make demo-stop) stops a demo running with the same state
#   dir (SIGTERM: it stops its services) and whatever a demo that ended
#   uncleanly (SIGKILL, the OOM killer) left running there.
#
# One demo per state dir: the script holds a lock on $DEMO_STATE_DIR/lock and
# writes its pid to $DEMO_STATE_DIR/demo.pid.  The services never inherit the
# lock's descriptor (every launch closes fd 9), so a killed script leaves no
# lock behind; its services are found by their pid files (postmaster.pid,
# es/pid, etl.pid, admin/gunicorn.pid, admin/nginx/nginx.pid), reported and
# stopped before the next demo starts.
#
# State lives in $DEMO_STATE_DIR (default .demo/ in the repository) and
# persists across runs: the database, the search node's data, and the
# passwords, generated on the first run and kept mode 0600 in
# $DEMO_STATE_DIR/passwords.env.
#
# Environment: DEMO_PG_PORT (5432), DEMO_ES_PORT (9200; the runner serves
# only 9200..9299), DEMO_ADMIN_PORT (8080: nginx in front of the admin panel),
# DEMO_METRICS_PORT (9187: the ETL's Prometheus metrics), DEMO_STATE_DIR
# (.demo), ES_HEAP (512m), DJANGO_SUPERUSER_USERNAME (admin) and
# DJANGO_SUPERUSER_PASSWORD (generated once when unset).
set -euo pipefail
mode=${1:-run}
case "$mode" in run | stop) ;; *) echo "usage: demo.sh [stop]" >&2; exit 64 ;; esac

top=$(cd "$(dirname "$0")/../.." && pwd)
native="$top/compose/native"
# shellcheck source=lib.sh
. "$native/lib.sh"
pg_port=${DEMO_PG_PORT:-5432}
es_port=${DEMO_ES_PORT:-9200}
admin_port=${DEMO_ADMIN_PORT:-8080}
metrics_port=${DEMO_METRICS_PORT:-9187}
state=${DEMO_STATE_DIR:-$top/.demo}

bold=; dim=; red=; green=; reset=
if [ -t 1 ]; then
    bold=$'\e[1m'; dim=$'\e[2m'; red=$'\e[31m'; green=$'\e[32m'; reset=$'\e[0m'
fi
# step: a section's title; info, ok: a line under it (ok in green); die: the
# error, then exit 1 (the EXIT trap stops what was started).
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
info() { printf '    %s\n' "$*"; }
ok()   { printf '    %s%s%s\n' "$green" "$*" "$reset"; }
die()  { printf '%sdemo: %s%s\n' "$red" "$*" "$reset" >&2; exit 1; }

# True when something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------------------
# Stopping what we started: every start pushes its stop command here; the
# trap runs them newest first, once.

stops=()
stopping=0
sleeper=
stepper=
# The EXIT trap: ends a running step, runs the stops newest first, drops
# demo.pid when it is ours, and exits with the script's status.
cleanup() {
    local rc=$?
    [ "$stopping" = 1 ] && return
    stopping=1
    trap '' INT TERM HUP
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    # A start still waiting for its server ends before the stops run: left
    # running it would go on against the stopped server's pid file.
    if [ -n "$stepper" ]; then
        kill -TERM "$stepper" 2>/dev/null || true
        wait "$stepper" 2>/dev/null || true
    fi
    if [ "${#stops[@]}" -gt 0 ]; then
        step "Stopping everything the demo started"
        local i
        for ((i = ${#stops[@]} - 1; i >= 0; i--)); do
            info "${stops[i]%%|*}"
            eval "${stops[i]#*|}" || true
        done
        ok "stopped; data kept in $state (remove it to start afresh)"
    fi
    [ "$(cat "$state/demo.pid" 2>/dev/null)" = $$ ] && rm -f "$state/demo.pid"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# on_exit WHAT COMMAND: the stop of something just started, named WHAT.
on_exit() { stops+=("$1|$2"); }

# Runs a long step (a server's start) in the background and waits for it, so
# that a signal to the script (make demo-stop's SIGTERM) is acted on at once
# and not only when the step ends; the step never gets the lock's descriptor.
# The step dies with the script: cleanup ends it, and when the script is
# killed outright (SIGKILL, the OOM killer) the kernel sends it
# STEP_DEATH_SIGNAL (setpriv --pdeathsig), so no start outlives its demo to
# act on the pid files of the next demo's servers.  The servers it started
# are left running; the next demo finds them by their pid files.
STEP_DEATH_SIGNAL=TERM
step_run() {
    setpriv --pdeathsig "$STEP_DEATH_SIGNAL" -- "$@" 9>&- &
    stepper=$!
    local rc=0
    wait "$stepper" || rc=$?
    stepper=
    return "$rc"
}

# ---------------------------------------------------------------------------
# State and passwords.

mkdir -p "$state"
state=$(cd "$state" && pwd)
chmod 755 "$state" # the postgres user must reach $state/pg

# PostgreSQL runs as the OS user postgres when we are root: every directory
# above its data must be traversable by that user.
pg_dir="$state/pg"
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$state"; then
    pg_dir="/var/lib/etl-demo/$(printf '%s' "$state" | md5sum | cut -c1-12)/pg"
    mkdir -p "$(dirname "$pg_dir")"
    chmod 755 /var/lib/etl-demo "$(dirname "$pg_dir")"
fi

# ---------------------------------------------------------------------------
# The demo running with this state dir, and what a killed one left running.

# Seconds a demo asked to stop (SIGTERM) gets to stop its services.
DEMO_STOP_TIMEOUT_S=120
# Seconds the ETL supervisor gets to stop its workers before SIGKILL.
ETL_STOP_TIMEOUT_S=30
# Seconds the ETL gets to fill the indices with the sample data.
ETL_INDEX_TIMEOUT_S=300
# The descriptor of the lock; every service launch closes it (9>&-).
LOCK_FD=9

# Prints the pid of the demo script running with this state dir, if any:
# the pid in demo.pid when it is alive and a demo.sh (not a reused pid).
running_demo() {
    local pid
    pid=$(cat "$state/demo.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'demo\.sh' || return 1
    echo "$pid"
}

# Prints the pid in file $1 when that process is alive, and (with $2) its
# command line contains $2.
live_pid() {
    local pid
    pid=$(head -n 1 "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    if [ -n "${2:-}" ]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    fi
    echo "$pid"
}

# Stops the services of this state dir that no demo script owns any more,
# newest first, naming each; false when there was none.
stop_leftovers() {
    local found=() pid
    pid=$(live_pid "$state/etl.pid" etl-supervisor) && found+=("ETL supervisor (pid $pid)")
    pid=$(live_pid "$state/admin/gunicorn.pid") && found+=("admin panel's gunicorn (pid $pid)")
    pid=$(live_pid "$state/admin/nginx/nginx.pid") && found+=("admin panel's nginx (pid $pid)")
    if [ -f "$state/es/pid" ] && kill -0 "-$(cat "$state/es/pid")" 2>/dev/null; then
        found+=("search node (pid $(cat "$state/es/pid"))")
    fi
    pid=$(live_pid "$pg_dir/data/postmaster.pid") && found+=("PostgreSQL (pid $pid)")
    [ "${#found[@]}" -gt 0 ] || return 1
    info "found, left running by a demo that ended uncleanly:"
    local what
    for what in "${found[@]}"; do info "  $what"; done
    info "stopping them"
    if pid=$(live_pid "$state/etl.pid" etl-supervisor); then
        stop_pid "$pid" "$ETL_STOP_TIMEOUT_S"
    fi
    rm -f "$state/etl.pid"
    "$native/admin.sh" stop "$state/admin" || true
    "$native/es-node.sh" stop "$state/es" || true
    "$native/pg-cluster.sh" stop "$pg_dir" || true
    ok "stopped"
}

if [ "$mode" = stop ]; then
    if pid=$(running_demo); then
        info "stopping the demo running with $state (pid $pid)"
        kill -TERM "$pid"
        waited=0
        # running_demo, not kill -0: a zombie (not yet reaped) has ended.
        while running_demo >/dev/null && [ "$waited" -lt "$DEMO_STOP_TIMEOUT_S" ]; do
            sleep 1
            waited=$((waited + 1))
        done
        running_demo >/dev/null && die "the demo (pid $pid) is still running after $waited s"
    fi
    stop_leftovers || info "nothing to stop in $state"
    exit 0
fi

# One demo per state dir: a second one would stop the first one's servers.
# The lock is free or held by the leftovers of a killed demo (the services of
# a version that let them inherit it); a live demo has its pid in demo.pid.
exec 9>"$state/lock"
if ! flock -n "$LOCK_FD" && pid=$(running_demo); then
    die "another demo is running with $state (pid $pid; stop it with Ctrl-C there, or make demo-stop)"
fi
stop_leftovers || true
flock -n "$LOCK_FD" || die "$state/lock is still held by another process; see: fuser -v $state/lock"
echo $$ >"$state/demo.pid"

passwords="$state/passwords.env"
if [ ! -s "$passwords" ]; then
    # A random password: 24 letters and digits.
    gen() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | cut -c1-24; }
    (
        umask 077
        {
            echo "# Passwords of the demo's database roles, generated by demo.sh."
            echo "CATALOG_OWNER_PASSWORD=$(gen)"
            echo "APP_DB_PASSWORD=$(gen)"
            echo "ETL_DB_PASSWORD=$(gen)"
        } >"$passwords.tmp"
        mv "$passwords.tmp" "$passwords"
    )
fi
chmod 600 "$passwords"
set -a
# shellcheck disable=SC1090
. "$passwords"
set +a

printf '%sMovie catalogue ETL: native demo%s\n' "$bold" "$reset"
info "state:     $state"
info "passwords: $passwords (mode 0600)"

# ---------------------------------------------------------------------------
# PostgreSQL.

step "PostgreSQL on 127.0.0.1:$pg_port"
if port_busy "$pg_port"; then
    die "port $pg_port is taken (a system PostgreSQL?); stop it or run DEMO_PG_PORT=5433 make demo"
fi
if [ -f "$pg_dir/data/PG_VERSION" ]; then
    info "starting the existing cluster in $pg_dir"
else
    info "creating a cluster in $pg_dir (schema, roles, sample data)"
fi
on_exit "PostgreSQL" "'$native/pg-cluster.sh' stop '$pg_dir'"
step_run "$native/pg-cluster.sh" start "$pg_dir" "$pg_port"

# psql as the superuser, through the cluster's socket.
psql_super() { psql -X -q -h "$pg_dir" -p "$pg_port" -U postgres -d movies "$@"; }
info "loading the sample data (etc/postgres/data/load.sh; rows already there are kept)"
PGHOST="$pg_dir" PGPORT="$pg_port" PGUSER=postgres PGDATABASE=movies \
    "$top/etc/postgres/data/load.sh"
counts=$(psql_super -At -F ' ' -c "
    SELECT (SELECT count(*) FROM content.film_work), (SELECT count(*) FROM content.genre),
           (SELECT count(*) FROM content.person), (SELECT count(*) FROM content.genre_film_work),
           (SELECT count(*) FROM content.person_film_work)")
read -r n_fw n_genre n_person n_gfw n_pfw <<<"$counts"
ok "ready: $n_fw film works, $n_genre genres, $n_person persons, $n_gfw genre links, $n_pfw person links"
info "try: ${dim}(. '$passwords'; PGPASSWORD=\$APP_DB_PASSWORD psql -h 127.0.0.1 -p $pg_port -U app movies)${reset}"

# ---------------------------------------------------------------------------
# The search node.

step "Search node on 127.0.0.1:$es_port"
if port_busy "$es_port"; then
    die "port $es_port is taken; stop what uses it or run DEMO_ES_PORT=9201 make demo (9200..9299)"
fi
info "starting OpenSearch 2.19.1 (one JVM, data in $state/es; about 20 s)"
on_exit "search node" "'$native/es-node.sh' stop '$state/es'"
step_run "$native/es-node.sh" start "$state/es" "$es_port"
es_url="http://127.0.0.1:$es_port"
ok "answering at $es_url"
info "GET $es_url/"
curl -fsS "$es_url/" | sed 's/^/    /'
info "GET $es_url/_cluster/health"
curl -fsS "$es_url/_cluster/health?pretty" | sed 's/^/    /'

# ---------------------------------------------------------------------------
# The ETL, the admin panel and the searches that show them.

# The ETL: etl-supervisor with one etl-worker per index (movies, genres,
# persons) against the services above, configured by the shipped
# etc/etl.ini through its ${ETL_*} variables.  Its log lines go to
# $state/etl.log (and per worker to $state/logs/NAME.log).
etl_env() {
    export ETL_STATE_DIR="$state/etl" ETL_LOG_DIR="$state/logs" \
        ETL_CONTROL_SOCKET="$state/etl.sock" ETL_PG_HOST=127.0.0.1 ETL_PG_PORT="$pg_port" \
        ETL_PG_DBNAME=movies ETL_PG_USER=etl ETL_PG_PASSWORD="$ETL_DB_PASSWORD" \
        ETL_ES_URL="$es_url" ETL_METRICS_LISTEN="127.0.0.1:$metrics_port"
}
# Starts the supervisor, then waits until every index holds every row.
start_etl() {
    step "ETL: etl-supervisor with the movies, genres and persons workers"
    if port_busy "$metrics_port"; then
        die "port $metrics_port is taken (the ETL's metrics); run DEMO_METRICS_PORT=9188 make demo"
    fi
    etl_env
    mkdir -p "$ETL_STATE_DIR" "$ETL_LOG_DIR"
    "$top/bin/etl-supervisor" -c "$top/etc/etl.ini" >>"$state/etl.log" 2>&1 9>&- &
    local pid=$!
    echo "$pid" >"$state/etl.pid"
    on_exit "ETL supervisor" "kill -TERM $pid; wait $pid; rm_own_pidfile '$state/etl.pid' $pid"
    info "pid $pid; logs: $state/etl.log and $state/logs/NAME.log"
    local want="movies:$n_fw genres:$n_genre persons:$n_person" waited=0 all
    while :; do
        all=1
        for pair in $want; do
            local got
            # 404 until the worker has created the index: not an error here.
            got=$(curl -fsS "$es_url/${pair%%:*}/_count" 2>/dev/null |
                sed -n 's/.*"count":\([0-9]*\).*/\1/p' || true)
            [ "${got:-0}" = "${pair#*:}" ] || all=0
        done
        [ "$all" = 1 ] && break
        kill -0 "$pid" 2>/dev/null || die "etl-supervisor exited; see $state/etl.log"
        [ "$waited" -ge "$ETL_INDEX_TIMEOUT_S" ] &&
            die "the indices are not complete after $ETL_INDEX_TIMEOUT_S s; see $state/etl.log"
        sleep 1
        waited=$((waited + 1))
    done
    ok "indices built: movies $n_fw, genres $n_genre, persons $n_person documents"
    info "status: ${dim}ETL_CONTROL_SOCKET='$ETL_CONTROL_SOCKET' $top/bin/etlctl status${reset}"
    "$top/bin/etlctl" -s "$ETL_CONTROL_SOCKET" status 2>/dev/null | sed 's/^/    /' || true
    info "metrics: http://$ETL_METRICS_LISTEN/metrics"
}

# Prints the hits of a search: title and rating of each film.
print_hits() {
    /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("    %d hits" % r["hits"]["total"]["value"])
for h in r["hits"]["hits"]:
    s = h["_source"]
    print("      %-50s rating %s" % (s["title"][:50], s["imdb_rating"]))'
}

# The admin panel (compose/native/admin.sh): Django under gunicorn behind
# nginx on 127.0.0.1:$DEMO_ADMIN_PORT (8080).  The superuser comes from
# DJANGO_SUPERUSER_USERNAME/_PASSWORD when set; otherwise one is generated
# and its password printed once (kept in $state/admin/superuser.txt).
start_admin() {
    step "Admin panel on http://127.0.0.1:$admin_port/admin/"
    if port_busy "$admin_port"; then
        die "port $admin_port is taken; run DEMO_ADMIN_PORT=8081 make demo"
    fi
    on_exit "admin panel" "'$native/admin.sh' stop '$state/admin'"
    step_run env DB_HOST=127.0.0.1 DB_PORT="$pg_port" DB_NAME=movies NGINX_PORT="$admin_port" \
        DJANGO_SUPERUSER_USERNAME="${DJANGO_SUPERUSER_USERNAME:-admin}" \
        "$native/admin.sh" start "$state/admin" > >(sed 's/^/    /')
    ok "admin panel: http://127.0.0.1:$admin_port/admin/ (user ${DJANGO_SUPERUSER_USERNAME:-admin};"
    info "password: as set in DJANGO_SUPERUSER_PASSWORD, or in $state/admin/superuser.txt)"
}

# Two searches against the movies index: a word of a title, and an actor's
# name (a nested query on actors.name).
show_searches() {
    step "Searches"
    info "a title word: \"star\" (match on title, analyzer ru_en)"
    curl -fsS "$es_url/movies/_search" -H 'Content-Type: application/json' \
        -d '{"size": 5, "_source": ["title", "imdb_rating"], "query": {"match": {"title": "star"}}}' | print_hits
    info "an actor: \"Mark Hamill\" (nested query on actors.name)"
    curl -fsS "$es_url/movies/_search" -H 'Content-Type: application/json' \
        -d '{"size": 5, "_source": ["title", "imdb_rating"], "query": {"nested": {"path": "actors",
             "query": {"match": {"actors.name": {"query": "Mark Hamill", "operator": "and"}}}}}}' | print_hits
}

start_etl
start_admin
show_searches

# ---------------------------------------------------------------------------

step "Running"
info "PostgreSQL     127.0.0.1:$pg_port  (database movies; roles catalog_owner, app, etl)"
info "search node    $es_url  (indices movies, genres, persons)"
info "admin panel    http://127.0.0.1:$admin_port/admin/  (nginx -> gunicorn)"
info "ETL            bin/etlctl -s $state/etl.sock status; logs in $state/etl.log"
info "ETL metrics    http://$ETL_METRICS_LISTEN/metrics  (Prometheus)"
info "passwords      $passwords"
printf '\n%sPress Ctrl-C to stop everything.%s\n' "$bold" "$reset"
while :; do
    sleep 3600 9>&- &
    sleeper=$!
    wait "$sleeper" || true
done
