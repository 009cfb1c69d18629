#!/bin/sh
# Entry point of the admin image: prepares, then runs the command (gunicorn).
#   1. Django's migrations, as catalog_owner (schema admin belongs to it);
#   2. collectstatic into the static volume that nginx serves;
#   3. the superuser from DJANGO_SUPERUSER_* (a generated password is printed
#      once, in this container's log);
#   4. the command, without the owner's password (or the name of its file,
#      CATALOG_OWNER_PASSWORD_FILE) in its environment.
set -eu
cd /opt/admin
python manage.py migrate --database owner --noinput
python manage.py collectstatic --noinput --clear -v 0
unset CATALOG_OWNER_PASSWORD CATALOG_OWNER_PASSWORD_FILE
python manage.py ensure_superuser --generate
exec "$@"
