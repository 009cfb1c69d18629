#!/bin/sh
# Installs what `make test-compose` needs on Debian 12 when it is missing:
# podman with runc (crun fails here: "cgroups in hybrid mode not supported"),
# netavark and aardvark-dns (the stack's networks, service names in DNS),
# debootstrap (the Debian 12 base image), and Debian's docker-compose 1.29.
# Idempotent: when everything is there it only checks.  Edits nothing under
# /etc: podman reads compose/test/containers.conf through CONTAINERS_CONF.
set -eu
pkgs="podman runc conmon netavark aardvark-dns iptables catatonit debootstrap docker-compose python3-pytest python3-requests python3-yaml"
missing=""
for pkg in $pkgs; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-podman.sh: missing Debian packages:$missing (run as root to install)" >&2
    exit 1
fi
echo "install-podman.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
