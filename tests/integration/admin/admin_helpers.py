"""Helpers of the admin-panel tests: the panel run by compose/native/admin.sh
(AdminStack), logging in with requests, reading Django forms."""

import os
import pathlib
import re
import secrets
import subprocess

import requests

from etlproc import free_port

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
NATIVE = REPO_ROOT / "compose" / "native"
ADMIN_DIR = REPO_ROOT / "compose" / "admin"
ADMIN_VENV_DEFAULT = pathlib.Path(os.environ.get("ADMIN_VENV") or ADMIN_DIR / ".venv")


class AdminStack:
    """The panel run by compose/native/admin.sh in ``rundir``.

    Attributes: url (nginx, 'http://127.0.0.1:PORT'), gunicorn_url, rundir,
    username/password (the superuser), dbname, env (what admin.sh was given).
    """

    def __init__(self, pg, dbname, rundir):
        self.pg = pg
        self.dbname = dbname
        self.rundir = pathlib.Path(rundir)
        self.nginx_port = free_port()
        self.gunicorn_port = free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.gunicorn_url = f"http://127.0.0.1:{self.gunicorn_port}"
        self.username = "tester"
        self.password = secrets.token_urlsafe(16)
        self.env = {
            "DB_HOST": pg.host,
            "DB_PORT": str(pg.port),
            "DB_NAME": dbname,
            "APP_DB_PASSWORD": pg.passwords["app"],
            "CATALOG_OWNER_PASSWORD": pg.passwords["catalog_owner"],
            "ADMIN_PORT": str(self.gunicorn_port),
            "NGINX_HOST": "127.0.0.1",
            "NGINX_PORT": str(self.nginx_port),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SUPERUSER_USERNAME": self.username,
            "DJANGO_SUPERUSER_PASSWORD": self.password,
            "DJANGO_SUPERUSER_EMAIL": "tester@example.org",
            "GUNICORN_WORKERS": "2",
        }
        self.started = False

    def _run(self, *args, timeout=300):
        """Runs admin.sh with the stack's environment; returns its output."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_", "GUNICORN_"))}
        env.update(self.env)
        proc = subprocess.run(
            [str(NATIVE / "admin.sh"), *args, str(self.rundir)],
            env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=timeout, start_new_session=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"admin.sh {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}")
        return proc.stdout

    def start(self):
        """Starts gunicorn and nginx (migrations, static files, superuser first)."""
        self.started = True
        self.start_output = self._run("start")

    def stop(self):
        """Stops nginx and gunicorn (no-op when already stopped)."""
        if self.started:
            self.started = False
            self._run("stop", timeout=60)

    # Logs and pids -----------------------------------------------------------

    def read(self, name):
        """Text of a file in the run directory ('' when missing)."""
        path = self.rundir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def gunicorn_log(self):
        """gunicorn's access log."""
        return self.read("gunicorn-access.log")

    def nginx_log(self):
        """nginx's access log."""
        return self.read("nginx/access.log")

    def gunicorn_pid(self):
        """Pid of the gunicorn master."""
        return int(self.read("gunicorn.pid").strip())

    def manage(self, *args, env=None, check=True):
        """Runs manage.py in the panel's venv with the stack's settings (as app)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_"))}
        full_env.update(self.env)
        full_env.pop("CATALOG_OWNER_PASSWORD")
        full_env["DJANGO_STATIC_ROOT"] = str(self.rundir / "static")
        full_env.update(env or {})
        return subprocess.run(
            [str(ADMIN_VENV_DEFAULT / "bin" / "python"), "manage.py", *args],
            env=full_env, cwd=ADMIN_DIR, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=120, check=check,
        )


def login(stack, session=None, language="ru"):
    """Logs in to the panel through nginx; returns the requests.Session."""
    session = session or requests.Session()
    session.headers["Accept-Language"] = language
    resp = session.get(f"{stack.url}/admin/login/", timeout=30)
    resp.raise_for_status()
    token = session.cookies["csrftoken"]
    resp = session.post(
        f"{stack.url}/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": token,
            "username": stack.username,
            "password": stack.password,
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.url}/admin/login/"},
        timeout=30,
    )
    resp.raise_for_status()
    assert "sessionid" in session.cookies, "login failed:\n" + resp.text[:2000]
    return session


def csrf_token(html):
    """The csrfmiddlewaretoken of a Django form page."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
