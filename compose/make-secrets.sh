#!/bin/sh
# Makes the secret files compose/docker-compose.yml mounts (its secrets:),
# one random value each, in DIR (default: compose/secrets beside this
# script; SECRETS_DIR in compose/.env when you choose another).  A file that
# exists is left as it is, so running it again changes nothing.
# elastic_password is read only by compose/docker-compose.es8-secure.yml.
#
#   compose/make-secrets.sh [DIR]
#
# The directory is 0700 (only you on this host); the files are 0644 because
# each container reads them as its own user (postgres, etl, admin) through a
# read-only bind mount, where the host's owner means nothing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/secrets}
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
for name in postgres_password catalog_owner_password app_db_password etl_db_password \
    django_secret_key elastic_password; do
    file=$dir/$name
    if [ -e "$file" ]; then
        echo "make-secrets.sh: $file exists; left as it is"
        continue
    fi
    # 32 random bytes, URL-safe base64 (no quoting trouble anywhere).
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$file.tmp"
    echo >>"$file.tmp"
    chmod 0644 "$file.tmp"
    mv "$file.tmp" "$file"
    echo "make-secrets.sh: $file made"
done
