#!/bin/sh
# Removes what `make test-compose` keeps between runs: the images it built
# (the project's movies-etl:local and movies-admin:local, the etl-test/*
# stand-ins, debian:12 and debian:12-slim, their build layers) and the cache
# directory with the debootstrap tarball.  Containers of other projects and
# other images are left alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${ETL_COMPOSE_CACHE:-/var/cache/etl-compose-test}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
export CONTAINERS_REGISTRIES_CONF="${CONTAINERS_REGISTRIES_CONF:-$here/registries.conf}"
if command -v podman >/dev/null 2>&1; then
    for image in movies-etl:local movies-admin:local etl-test/python-debian:3.11 \
        etl-test/postgres-debian:15 etl-test/nginx-debian:1.22 \
        etl-test/opensearch-debian:2.19.1 debian:12-slim debian:12; do
        if podman image exists "$image"; then podman rmi "$image" >/dev/null; fi
    done
    # the untagged layers those builds left (the build stages' cache)
    podman image prune -f >/dev/null
fi
rm -rf "$cache"
echo "clean-images.sh: compose test images and $cache removed"
