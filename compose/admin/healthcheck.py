"""Healthcheck of the admin container: gunicorn answers the login page.

Exit status 0 when http://127.0.0.1:PORT/admin/login/ answers 200, 1 otherwise
(PORT: HEALTHCHECK_PORT, default 8000, gunicorn's port in the image).
The request names the first of DJANGO_ALLOWED_HOSTS as its Host, so Django
does not refuse it whatever the hosts are.
"""

import os
import sys
import urllib.request


def allowed_host():
    """A Host header that DJANGO_ALLOWED_HOSTS accepts (localhost by default)."""
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        return "localhost"
    return host.lstrip(".")  # ".example.org" allows example.org itself


def main():
    """Requests the login page and checks the status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('HEALTHCHECK_PORT', '8000')}/admin/login/",
        headers={"Host": allowed_host()},
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"admin healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
