"""Healthcheck of the admin container: gunicorn answers the login page.

Exit status 0 when http://127.0.0.1:8000/admin/login/ answers 200, 1 otherwise.
"""

import sys
import urllib.request


def main():
    """Requests the login page (as Host localhost, an allowed host) and checks the status."""
    request = urllib.request.Request(
        "http://127.0.0.1:8000/admin/login/", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"admin healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
