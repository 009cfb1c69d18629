"""Fixtures of the admin-panel tests: the panel itself, run natively
by compose/native/admin.sh (gunicorn behind Debian's nginx) against the
session's PostgreSQL cluster.

Fixtures
--------
admin_db     (session) a copy of the catalogue made with pg.new_catalog(), so
             the panel's connections never hold ``movies`` (other tests copy it
             as a template) and its edits stay out of other tests' data.
admin_stack  (session) the running panel: an AdminStack.
admin_venv   (session) path of the panel's virtualenv (compose/native/admin-venv.sh).
admin_session (function) a requests.Session logged in to the panel.

They rest on the parent conftest's ``pg`` fixture (attributes dir, port,
host, dbname, passwords; method connect(role, dbname)).
"""

import atexit
import pathlib
import subprocess

import pytest
import requests

from admin_helpers import NATIVE, AdminStack, login


@pytest.fixture(scope="session")
def admin_venv():
    """Makes sure the panel's virtualenv exists; returns its path."""
    out = subprocess.run(
        [str(NATIVE / "admin-venv.sh")], check=True, capture_output=True, text=True, timeout=600
    )
    return pathlib.Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def admin_db(pg):
    """A copy of the catalogue for the panel; dropped at the end of the session."""
    name = pg.new_catalog()
    try:
        yield name
    finally:
        try:
            pg.ensure_running()
            pg.drop_catalog(name)
        except Exception:  # the cluster itself goes away with the session
            pass


@pytest.fixture(scope="session")
def admin_stack(pg, admin_db, admin_venv, tmp_path_factory):
    """The panel under gunicorn behind nginx, running for the whole session."""
    stack = AdminStack(pg, admin_db, tmp_path_factory.mktemp("admin-run"))
    atexit.register(stack.stop)  # also when the session is interrupted
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def admin_session(admin_stack):
    """A requests.Session logged in as the superuser (Russian, the default)."""
    with requests.Session() as session:
        yield login(admin_stack, session)
