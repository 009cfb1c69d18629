#!/bin/sh
# Renders nginx.conf.template (beside this script) into OUTPUT, then, when more
# arguments follow, runs them (exec), e.g. nginx itself:
#
#   render.sh OUTPUT [COMMAND ARGS...]
#
# Only these variables are substituted (defaults suit the Docker image):
#   NGINX_LISTEN [80]                  listen address/port, e.g. 127.0.0.1:8080
#   ADMIN_UPSTREAM [admin:8000]        gunicorn's host:port
#   STATIC_ROOT [/srv/static]          the collected static files
#   NGINX_USER [nginx]                 worker user (root in the native run as root)
#   NGINX_WORKER_PROCESSES [auto]
#   NGINX_PID_FILE [/tmp/nginx.pid]
#   NGINX_ERROR_LOG [/dev/stderr], NGINX_ACCESS_LOG [/dev/stdout]
#   NGINX_TEMP_DIR [/tmp/nginx]        made if missing
#   NGINX_MIME_TYPES [/etc/nginx/mime.types]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: render.sh OUTPUT [COMMAND ARGS...]}
shift

export NGINX_LISTEN="${NGINX_LISTEN:-80}"
export ADMIN_UPSTREAM="${ADMIN_UPSTREAM:-admin:8000}"
export STATIC_ROOT="${STATIC_ROOT:-/srv/static}"
export NGINX_USER="${NGINX_USER:-nginx}"
export NGINX_WORKER_PROCESSES="${NGINX_WORKER_PROCESSES:-auto}"
export NGINX_PID_FILE="${NGINX_PID_FILE:-/tmp/nginx.pid}"
export NGINX_ERROR_LOG="${NGINX_ERROR_LOG:-/dev/stderr}"
export NGINX_ACCESS_LOG="${NGINX_ACCESS_LOG:-/dev/stdout}"
export NGINX_TEMP_DIR="${NGINX_TEMP_DIR:-/tmp/nginx}"
export NGINX_MIME_TYPES="${NGINX_MIME_TYPES:-/etc/nginx/mime.types}"

mkdir -p "$NGINX_TEMP_DIR" "$(dirname "$out")"
# shellcheck disable=SC2016
envsubst '${NGINX_LISTEN} ${ADMIN_UPSTREAM} ${STATIC_ROOT} ${NGINX_USER}
${NGINX_WORKER_PROCESSES} ${NGINX_PID_FILE} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG}
${NGINX_TEMP_DIR} ${NGINX_MIME_TYPES}' <"$here/nginx.conf.template" >"$out.tmp"
mv "$out.tmp" "$out"
[ "$#" -eq 0 ] || exec "$@"
