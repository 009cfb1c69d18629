#!/bin/sh
# Installs what `make test-compose` needs on Debian 12 when it is missing:
# podman with runc (crun fails here: "cgroups in hybrid mode not supported"),
# netavark and aardvark-dns (the stack's networks, service names in DNS),
# debootstrap (the Debian 12 base image), and Debian's docker-compose 1.29.
# Idempotent: when everything is there it only checks.  Edits nothing under
# /etc: podman reads compose/test/containers.conf through CONTAINERS_CONF.
set -eu
pkgs="podman runc conmon netavark aardvark-dns iptables catatonit debootstrap docker-compose python3-pytest python3-requests python3-yaml"
. "$(dirname "$0")/../native/lib.sh"
missing=$(missing_packages $pkgs)
[ -n "$missing" ] || exit 0
# shellcheck disable=SC2086
apt_install install-podman.sh $missing
