#!/bin/sh
# Builds the images the compose test needs besides the project's own (which
# docker-compose builds from compose/etl/Dockerfile and compose/admin/Dockerfile):
#   debian:12, debian:12-slim          base-image.sh (debootstrap)
#   etl-test/python-debian:3.11        the admin image's base in the test
#   etl-test/postgres-debian:15        stands in for postgres:15
#   etl-test/opensearch-debian:2.19.1  stands in for Elasticsearch 8.14.1
#   etl-test/nginx-debian:1.22         stands in for nginx:1.27-alpine
# An image already there is kept (make clean-compose removes them).
#
#   build-images.sh      CACHE_DIR: $ETL_COMPOSE_CACHE or /var/cache/etl-compose-test
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${ETL_COMPOSE_CACHE:-/var/cache/etl-compose-test}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
export CONTAINERS_REGISTRIES_CONF="${CONTAINERS_REGISTRIES_CONF:-$here/registries.conf}"

"$here/base-image.sh"

build() {  # build IMAGE CONTEXT
    if podman image exists "$1"; then return 0; fi
    echo "build-images.sh: building $1"
    start=$(date +%s)
    if ! podman build -q -t "$1" "$2" >"$cache/build-$(echo "$1" | tr '/:' '__').log" 2>&1; then
        tail -n 30 "$cache/build-$(echo "$1" | tr '/:' '__').log" >&2
        echo "build-images.sh: building $1 failed" >&2
        exit 1
    fi
    echo "build-images.sh: $1 built in $(($(date +%s) - start)) s"
}

mkdir -p "$cache"
build etl-test/python-debian:3.11 "$here/images/python"
build etl-test/postgres-debian:15 "$here/images/postgres"
build etl-test/nginx-debian:1.22 "$here/images/nginx"

# The search node's jars: the runner's classpath from the local Maven
# repository (compose/native/install-deps.sh fills it), copied into the
# build context.
if ! podman image exists etl-test/opensearch-debian:2.19.1; then
    ctx="$cache/search-context"
    rm -rf "$ctx"
    mkdir -p "$ctx/lib"
    cp "$here/images/search/Dockerfile" "$here/images/search/docker-entrypoint.sh" "$ctx/"
    mvn -o -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" dependency:build-classpath \
        -Dmdep.outputFile="$ctx/classpath.txt" >/dev/null 2>&1 ||
        mvn -q -B -Dstyle.color=never -f "$top/tests/elasticsearch/pom.xml" dependency:build-classpath \
            -Dmdep.outputFile="$ctx/classpath.txt" >/dev/null
    tr ':' '\n' <"$ctx/classpath.txt" | while IFS= read -r jar; do
        [ -n "$jar" ] && cp "$jar" "$ctx/lib/"
    done
    build etl-test/opensearch-debian:2.19.1 "$ctx"
    rm -rf "$ctx"
fi
