#!/bin/sh
# Creates or updates the admin panel's virtualenv with the pinned packages of
# compose/admin/requirements.txt.  Idempotent and fast: when the venv was made
# from the same requirements file (a stamp holds its checksum) it does nothing.
#
# Environment: ADMIN_VENV  where the venv lives (default compose/admin/.venv)
#              PYTHON      the interpreter that makes it (default /usr/bin/python3:
#                          Debian's, never the pyenv one on PATH)
# Prints the venv's path on stdout.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
req="$top/compose/admin/requirements.txt"
venv=${ADMIN_VENV:-$top/compose/admin/.venv}
python=${PYTHON:-/usr/bin/python3}
stamp="$venv/.requirements.sha256"

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   "$venv/bin/python" -c 'import django, gunicorn, psycopg' 2>/dev/null; then
    echo "$venv"
    exit 0
fi

echo "admin-venv.sh: installing the admin panel's packages into $venv" >&2
# A venv from another interpreter (or a broken one) is made anew.
if [ -e "$venv" ] && ! "$venv/bin/python" -c '' 2>/dev/null; then rm -rf "$venv"; fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req" >&2
# Packages no longer pinned are removed, so the venv matches the file exactly.
"$venv/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable |
    "$venv/bin/python" -c '
import re, sys
wanted = {re.split(r"[=<>\[ ]", l.strip(), 1)[0].lower().replace("_", "-")
          for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")}
for line in sys.stdin:
    name = line.split("==")[0].strip().lower().replace("_", "-")
    if name and name not in wanted:
        print(name)' "$req" |
    xargs -r "$venv/bin/python" -m pip uninstall -q -y >&2
echo "$want" >"$stamp"
echo "$venv"
