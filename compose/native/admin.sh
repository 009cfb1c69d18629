#!/bin/sh
# Runs the admin panel natively: Django under gunicorn behind Debian's nginx,
# with the same nginx template as the Docker stack.
#
#   admin.sh start RUNDIR   migrate (as catalog_owner), collect static files,
#                           make the superuser, start gunicorn and nginx in the
#                           background (pid files, logs and config in RUNDIR);
#                           returns once nginx answers
#   admin.sh stop RUNDIR    stop both (SIGTERM, then SIGKILL after 15 s,
#                           ADMIN_STOP_TIMEOUT_S)
#
# Environment (defaults in brackets):
#   DB_HOST [127.0.0.1]  DB_PORT [5432]  DB_NAME [movies]
#   APP_DB_PASSWORD          required: the panel runs as role app
#   CATALOG_OWNER_PASSWORD   required by start: migrations run as catalog_owner
#                            (the running panel never gets this password)
#   ADMIN_PORT [8000]        gunicorn, on 127.0.0.1
#   NGINX_HOST [127.0.0.1]  NGINX_PORT [8080]   the public address
#   DJANGO_SECRET_KEY        [generated once, kept in RUNDIR/secret_key]
#   DJANGO_SUPERUSER_USERNAME / _PASSWORD / _EMAIL
#                            the superuser; when the password is missing one is
#                            generated and printed once (also kept, mode 0600,
#                            in RUNDIR/superuser.txt)
#   DJANGO_ALLOWED_HOSTS, DJANGO_CSRF_TRUSTED_ORIGINS, DJANGO_DEBUG, GUNICORN_WORKERS
#   ADMIN_VENV               the virtualenv (see admin-venv.sh)
#
# Files in RUNDIR: static/, gunicorn.pid, gunicorn-access.log, gunicorn.log,
# nginx/{nginx.conf,nginx.pid,access.log,error.log,tmp/}.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
app="$top/compose/admin"
cmd=${1:-}
run=${2:-}
[ -n "$run" ] || { echo "usage: admin.sh start|stop RUNDIR" >&2; exit 64; }
. "$top/compose/native/lib.sh"

# Seconds gunicorn and nginx get to stop on SIGTERM before SIGKILL.
ADMIN_STOP_TIMEOUT_S=15

# Stops the process whose pid is in file $1: SIGTERM, then SIGKILL after
# ADMIN_STOP_TIMEOUT_S.
stop_pidfile() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1" 2>/dev/null || true)
    [ -z "$pid" ] || stop_pid "$pid" "$ADMIN_STOP_TIMEOUT_S"
    rm -f "$1"
}

# True when the pid in file $1 is a live process.
alive() {
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# True when $1, a pid or a pid file, names a live process.
server_alive() {
    case "$1" in
    *[!0-9]*) alive "$1" ;;
    *) kill -0 "$1" 2>/dev/null ;;
    esac
}

# wait_http polls every tenth of a second: for at most HTTP_WAIT_TENTHS, and
# a server found gone is reported only after SERVER_GRACE_TENTHS (nginx
# writes its pid file only once daemonized).
HTTP_WAIT_TENTHS=300
SERVER_GRACE_TENTHS=20

# Waits until URL $1 answers with any HTTP status; $2 = the server's pid, or
# its pid file when only the server writes it (nginx, once daemonized).
wait_http() {
    waited=0
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" != 000 ]; do
        if [ -n "${2:-}" ] && ! server_alive "$2" && [ "$waited" -gt "$SERVER_GRACE_TENTHS" ]; then
            echo "admin.sh: the server behind $1 is not running" >&2; return 1
        fi
        if [ "$waited" -ge "$HTTP_WAIT_TENTHS" ]; then
            echo "admin.sh: no answer from $1 after $((HTTP_WAIT_TENTHS / 10)) s" >&2; return 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
}

# Stops what this start started when it fails after gunicorn: gunicorn by
# the pid it launched ($gunicorn_pid; its pid file is removed only while it
# holds that pid), nginx by its pid file, which only nginx writes (start
# refuses to run while it names a live process).
stop_started() {
    stop_pidfile "$run/nginx/nginx.pid"
    stop_pid "$gunicorn_pid" "$ADMIN_STOP_TIMEOUT_S"
    rm_own_pidfile "$run/gunicorn.pid" "$gunicorn_pid"
}

case "$cmd" in
start)
    : "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set}"
    : "${CATALOG_OWNER_PASSWORD:?CATALOG_OWNER_PASSWORD must be set}"
    mkdir -p "$run"
    run=$(cd "$run" && pwd)
    if alive "$run/gunicorn.pid" || alive "$run/nginx/nginx.pid"; then
        echo "admin.sh: already running in $run (admin.sh stop $run first)" >&2; exit 69
    fi
    venv=$("$top/compose/native/admin-venv.sh")
    py="$venv/bin/python"

    export DB_HOST="${DB_HOST:-127.0.0.1}" DB_PORT="${DB_PORT:-5432}" DB_NAME="${DB_NAME:-movies}"
    nginx_host=${NGINX_HOST:-127.0.0.1}
    nginx_port=${NGINX_PORT:-8080}
    admin_port=${ADMIN_PORT:-8000}
    if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
        if [ ! -s "$run/secret_key" ]; then
            (umask 077; "$py" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$run/secret_key")
        fi
        DJANGO_SECRET_KEY=$(cat "$run/secret_key")
    fi
    export DJANGO_SECRET_KEY
    export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost,$nginx_host}"
    export DJANGO_STATIC_ROOT="$run/static"
    export PYTHONDONTWRITEBYTECODE=1

    cd "$app"
    # Django's tables, made by the schema owner; app never needs CREATE.
    "$py" manage.py migrate --database owner --noinput >"$run/migrate.log" 2>&1 ||
        { cat "$run/migrate.log" >&2; exit 1; }
    "$py" manage.py collectstatic --noinput --clear >"$run/collectstatic.log" 2>&1 ||
        { cat "$run/collectstatic.log" >&2; exit 1; }
    # From here on the owner's password is gone from the environment.
    unset CATALOG_OWNER_PASSWORD
    out=$("$py" manage.py ensure_superuser --generate)
    case "$out" in
    *password=*)
        (umask 077; echo "$out" >"$run/superuser.txt")
        echo "admin.sh: $out (kept in $run/superuser.txt)";;
    *) echo "admin.sh: $out";;
    esac

    GUNICORN_BIND="127.0.0.1:$admin_port" GUNICORN_PIDFILE="$run/gunicorn.pid" \
    GUNICORN_ACCESS_LOG="$run/gunicorn-access.log" GUNICORN_ERROR_LOG="$run/gunicorn.log" \
        setsid "$venv/bin/gunicorn" -c "$app/gunicorn.conf.py" --chdir "$app" \
        </dev/null >>"$run/gunicorn.log" 2>&1 &
    gunicorn_pid=$!
    echo "$gunicorn_pid" >"$run/gunicorn.pid"
    wait_http "http://127.0.0.1:$admin_port/" "$gunicorn_pid" ||
        { tail -n 30 "$run/gunicorn.log" >&2; exit 1; }

    mkdir -p "$run/nginx"
    if [ "$(id -u)" = 0 ]; then nginx_user=root; else nginx_user=$(id -un); fi
    NGINX_LISTEN="$nginx_host:$nginx_port" ADMIN_UPSTREAM="127.0.0.1:$admin_port" \
    STATIC_ROOT="$run/static" NGINX_USER="$nginx_user" NGINX_WORKER_PROCESSES=2 \
    NGINX_PID_FILE="$run/nginx/nginx.pid" NGINX_ERROR_LOG="$run/nginx/error.log" \
    NGINX_ACCESS_LOG="$run/nginx/access.log" NGINX_TEMP_DIR="$run/nginx/tmp" \
        "$top/compose/nginx/render.sh" "$run/nginx/nginx.conf"
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    if ! "$nginx" -p "$run/nginx" -e "$run/nginx/error.log" -c "$run/nginx/nginx.conf" \
            </dev/null >>"$run/nginx/error.log" 2>&1; then
        tail -n 20 "$run/nginx/error.log" >&2; stop_started; exit 1
    fi
    wait_http "http://$nginx_host:$nginx_port/nginx-health" "$run/nginx/nginx.pid" ||
        { tail -n 20 "$run/nginx/error.log" >&2; stop_started; exit 1; }
    echo "admin.sh: admin panel at http://$nginx_host:$nginx_port/admin/"
    ;;
stop)
    [ -d "$run" ] || exit 0
    stop_pidfile "$run/nginx/nginx.pid"
    stop_pidfile "$run/gunicorn.pid"
    ;;
*)
    echo "usage: admin.sh start|stop RUNDIR" >&2; exit 64
    ;;
esac
