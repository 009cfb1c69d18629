#!/bin/sh
# Builds the images the compose test needs besides the project's own (which
# docker-compose builds from compose/etl/Dockerfile and compose/admin/Dockerfile):
#   debian:12, debian:12-slim          base-image.sh (debootstrap, cached)
#   etl-test/python-debian:3.11        the admin image's base in the test
#   etl-test/postgres-debian:15        stands in for postgres:15
#   etl-test/opensearch-debian:2.19.1  stands in for Elasticsearch 8.14.1
#   etl-test/nginx-debian:1.22         stands in for nginx:1.27-alpine
# from compose/test/images/.  podman's layer cache makes a build whose
# Dockerfile and files did not change take seconds; make clean-compose
# removes the images.
#
#   build-images.sh      cache: $ETL_COMPOSE_CACHE or /var/cache/etl-compose-test
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${ETL_COMPOSE_CACHE:-/var/cache/etl-compose-test}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
export CONTAINERS_REGISTRIES_CONF="${CONTAINERS_REGISTRIES_CONF:-$here/registries.conf}"
mkdir -p "$cache"

"$here/base-image.sh"

build() {  # build IMAGE CONTEXT
    log="$cache/build-$(echo "$1" | tr '/:' '__').log"
    start=$(date +%s)
    if ! podman build --layers -t "$1" "$2" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "build-images.sh: building $1 failed (log: $log)" >&2
        exit 1
    fi
    echo "build-images.sh: $1 ($(($(date +%s) - start)) s)"
}

# A build context outside the repository: the image's files, plus what
# comes from this machine.
context() {  # context NAME -> prints a fresh directory with images/NAME/*
    ctx="$cache/context-$1"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -p "$here/images/$1"/* "$ctx/"
    echo "$ctx"
}

# The machine's own certificate authorities (often none), for pip over a
# proxy that re-signs HTTPS.
ctx=$(context python)
mkdir -p "$ctx/local-ca"
for crt in /usr/local/share/ca-certificates/*.crt; do
    if [ -f "$crt" ]; then cp "$crt" "$ctx/local-ca/"; fi
done
build etl-test/python-debian:3.11 "$ctx"

build etl-test/postgres-debian:15 "$(context postgres)"
build etl-test/nginx-debian:1.22 "$(context nginx)"

# The search node's jars: the runner's classpath in the local Maven
# repository (compose/native/install-deps.sh fills it), copied in.
ctx=$(context search)
mkdir -p "$ctx/lib"
mvn -o -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$ctx/classpath.txt" >/dev/null 2>&1 ||
    mvn -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" dependency:build-classpath \
        -Dmdep.outputFile="$ctx/classpath.txt" >/dev/null
tr ':' '\n' <"$ctx/classpath.txt" | while IFS= read -r jar; do
    if [ -n "$jar" ]; then cp -p "$jar" "$ctx/lib/"; fi
done
rm -f "$ctx/classpath.txt"
build etl-test/opensearch-debian:2.19.1 "$ctx"
