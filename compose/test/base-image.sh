#!/bin/sh
# Makes the local Debian 12 base image, `debian:12` (also tagged
# `debian:12-slim`), with debootstrap from the Debian mirror apt already uses,
# since no image registry is reachable.  Cached: the root file system's
# tarball is kept in CACHE_DIR and the image in podman's storage; each step is
# skipped when its result is there.
#
#   base-image.sh            CACHE_DIR: $ETL_COMPOSE_CACHE or /var/cache/etl-compose-test
set -eu
cache=${ETL_COMPOSE_CACHE:-/var/cache/etl-compose-test}
tarball="$cache/debian-12-minbase.tar"

if podman image exists debian:12 && podman image exists debian:12-slim; then
    exit 0
fi

# The mirrors of this machine's apt sources (deb822 or one-line format).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -Eo 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ')
security=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -Eo 'https?://[^ ]+/debian-security/?( |$)' | head -n 1 | tr -d ' ')
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    root="$cache/rootfs.$$"
    rm -rf "$root"
    echo "base-image.sh: debootstrap --variant=minbase bookworm from $mirror"
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
        tail -n 20 "$cache/debootstrap.log" >&2
        rm -rf "$root"
        exit 1
    fi
    cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
    # As the official images: no downloaded packages or lists kept, no
    # services started by package scripts during a build.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/log/*.log
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
fi
podman import -q --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" debian:12 >/dev/null
podman tag debian:12 debian:12-slim
echo "base-image.sh: debian:12 and debian:12-slim imported from $tarball"
