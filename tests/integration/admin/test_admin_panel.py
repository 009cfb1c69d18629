"""The admin panel through nginx, with real processes: gunicorn
answers the pages, nginx serves the static files itself, Russian by default,
the catalogue's admin pages, and the settings' safe defaults.
"""

import os
import pathlib
import re
import secrets
import subprocess
import time
import uuid

import requests

from admin_helpers import csrf_token
from etlproc import free_port

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def eventually(check, timeout=5.0):
    """Polls check() until it is true (servers write access logs just after
    answering); returns its last value."""
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def probe():
    """A unique query string, to find one request in the access logs."""
    return "probe=" + uuid.uuid4().hex


def test_login_page_through_nginx_is_served_by_gunicorn(admin_stack):
    marker = probe()
    resp = requests.get(f"{admin_stack.url}/admin/login/?{marker}", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Server"] == "nginx"
    assert 'id="login-form"' in resp.text
    # The request went through nginx to gunicorn.
    assert eventually(lambda: marker in admin_stack.nginx_log())
    assert eventually(lambda: re.search(
        rf'"GET /admin/login/\?{marker} HTTP/1\.[01]" 200 ', admin_stack.gunicorn_log()))
    # nginx's static-only header is not on proxied answers.
    assert "X-Static-Server" not in resp.headers


def test_static_files_are_served_by_nginx_itself(admin_stack):
    marker = probe()
    resp = requests.get(f"{admin_stack.url}/static/admin/css/base.css?{marker}", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/css")
    assert resp.headers["X-Static-Server"] == "nginx"
    assert resp.headers["Cache-Control"] == "public, max-age=604800"
    assert "ETag" in resp.headers and "Last-Modified" in resp.headers
    assert len(resp.content) > 1000
    # The same bytes as the collected file ...
    assert resp.content == (admin_stack.rundir / "static/admin/css/base.css").read_bytes()
    # ... served without gunicorn: nginx logged it, gunicorn never saw it.
    assert eventually(lambda: marker in admin_stack.nginx_log())
    time.sleep(0.5)  # a request gunicorn did get would be in its log by now
    assert marker not in admin_stack.gunicorn_log()
    assert "/static/" not in admin_stack.gunicorn_log()
    # And gunicorn would not serve it anyway (DEBUG is off).
    direct = requests.get(f"{admin_stack.gunicorn_url}/static/admin/css/base.css", timeout=30)
    assert direct.status_code == 404
    # A file that is not there is nginx's 404, not Django's.
    missing = requests.get(f"{admin_stack.url}/static/admin/nope.css", timeout=30)
    assert missing.status_code == 404
    assert "/static/admin/nope.css" not in admin_stack.gunicorn_log()


def test_security_headers_once_each(admin_stack):
    for path in ("/admin/login/", "/static/admin/css/base.css"):
        resp = requests.get(admin_stack.url + path, timeout=30)
        for name, value in SECURITY_HEADERS.items():
            # requests joins repeated headers with ", ": one copy only.
            assert resp.headers.get(name) == value, (path, name, resp.headers.get(name))
    resp = requests.get(admin_stack.url + "/admin/login/", timeout=30)
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert re.fullmatch(r"nginx", resp.headers["Server"])  # no version (server_tokens off)


def test_request_body_limit(admin_stack):
    resp = requests.post(
        f"{admin_stack.url}/admin/login/", data=b"x" * (11 * 1024 * 1024), timeout=60
    )
    assert resp.status_code == 413


def test_russian_by_default_english_on_request(admin_stack):
    ru = requests.get(f"{admin_stack.url}/admin/login/", timeout=30)
    assert ru.headers["Content-Language"] == "ru"
    assert '<html lang="ru"' in ru.text
    assert "Войти" in ru.text
    assert "Каталог фильмов" in ru.text
    en = requests.get(
        f"{admin_stack.url}/admin/login/", headers={"Accept-Language": "en"}, timeout=30
    )
    assert en.headers["Content-Language"] == "en"
    assert "Log in" in en.text
    assert "Movie catalogue" in en.text


def test_container_healthcheck_script(admin_stack, admin_venv):
    """compose/admin/healthcheck.py (the admin container's healthcheck) against
    the running gunicorn."""
    script = pathlib.Path(__file__).resolve().parents[3] / "compose" / "admin" / "healthcheck.py"

    def check(port, hosts):
        """Runs the script; returns its exit status."""
        env = dict(os.environ, HEALTHCHECK_PORT=str(port), DJANGO_ALLOWED_HOSTS=hosts)
        return subprocess.run([str(admin_venv / "bin" / "python"), str(script)], env=env,
                              capture_output=True, timeout=30).returncode

    assert check(admin_stack.gunicorn_port, "127.0.0.1,localhost") == 0
    assert check(admin_stack.gunicorn_port, ".localhost") == 0  # ".x" allows x itself
    assert check(admin_stack.gunicorn_port, "other.example") == 1  # 400: the panel refuses it
    assert check(free_port(), "localhost") == 1  # nothing listens


def test_debug_is_off(admin_stack):
    resp = requests.get(f"{admin_stack.url}/no-such-page/", timeout=30)
    assert resp.status_code == 404
    assert "URLconf" not in resp.text and "Traceback" not in resp.text


def test_unknown_host_is_refused(admin_stack):
    resp = requests.get(
        f"{admin_stack.url}/admin/login/", headers={"Host": "evil.example"}, timeout=30
    )
    assert resp.status_code == 400


def test_catalogue_pages(admin_stack, admin_session):
    base = f"{admin_stack.url}/admin/movies"
    index = admin_session.get(f"{admin_stack.url}/admin/", timeout=30)
    assert index.status_code == 200
    for text in ("Кинопроизведения", "Жанры", "Персоны"):
        assert text in index.text

    films = admin_session.get(f"{base}/filmwork/", timeout=30)
    assert films.status_code == 200
    # list columns: title, type, creation date, rating
    for column in ("column-title", "column-type", "column-creation_date", "column-rating"):
        assert column in films.text
    # filters: type and genre
    assert "?type__exact=movie" in films.text
    assert "genres__id__exact=" in films.text

    found = admin_session.get(f"{base}/filmwork/", params={"q": "X-Wing"}, timeout=30)
    assert found.status_code == 200
    assert "Star Wars: X-Wing" in found.text
    # search also covers the description
    by_description = admin_session.get(
        f"{base}/filmwork/", params={"q": "Imperial pilots"}, timeout=30
    )
    assert "Star Wars: X-Wing" in by_description.text

    people = admin_session.get(f"{base}/person/", params={"q": "Mark Hamill"}, timeout=30)
    assert people.status_code == 200 and "Mark Hamill" in people.text
    genres = admin_session.get(f"{base}/genre/", timeout=30)
    assert genres.status_code == 200 and "Sci-Fi" in genres.text


def test_film_page_has_genre_and_person_inlines(admin_stack, admin_session, pg):
    with pg.connect("app", admin_stack.dbname) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT fw.id FROM content.film_work fw"
            " WHERE EXISTS (SELECT FROM content.genre_film_work g WHERE g.film_work_id = fw.id)"
            "   AND EXISTS (SELECT FROM content.person_film_work p WHERE p.film_work_id = fw.id)"
            " ORDER BY fw.title LIMIT 1"
        )
        (film_id,) = cur.fetchone()
        cur.execute(
            "SELECT p.full_name, pfw.role FROM content.person_film_work pfw"
            " JOIN content.person p ON p.id = pfw.person_id WHERE pfw.film_work_id = %s",
            (film_id,),
        )
        persons = cur.fetchall()
    conn.close()
    page = admin_session.get(
        f"{admin_stack.url}/admin/movies/filmwork/{film_id}/change/", timeout=30
    )
    assert page.status_code == 200
    assert 'id="genrefilmwork_set-group"' in page.text
    assert 'id="personfilmwork_set-group"' in page.text
    assert "Жанры кинопроизведения" in page.text
    assert "Участники кинопроизведения" in page.text
    # each person's role is a select with the person's role chosen
    roles = re.findall(r'<option value="(actor|director|writer)" selected>', page.text)
    assert sorted(roles) == sorted(role for _, role in persons)


def test_add_and_delete_a_genre_through_the_panel(admin_stack, admin_session, pg):
    """A create and a delete through the admin forms, as the app role."""
    url = f"{admin_stack.url}/admin/movies/genre/add/"
    form = admin_session.get(url, timeout=30)
    name = "Genre " + uuid.uuid4().hex[:8]
    resp = admin_session.post(
        url,
        data={"csrfmiddlewaretoken": csrf_token(form.text), "name": name,
              "description": "made by a test", "_save": "1"},
        headers={"Referer": url},
        timeout=30,
    )
    assert resp.status_code == 200 and resp.url.endswith("/admin/movies/genre/")
    conn = pg.connect("etl", admin_stack.dbname)
    with conn.cursor() as cur:
        cur.execute("SELECT id, created, modified FROM content.genre WHERE name = %s", (name,))
        genre_id, created, modified = cur.fetchone()
    assert created is not None and modified is not None

    url = f"{admin_stack.url}/admin/movies/genre/{genre_id}/delete/"
    form = admin_session.get(url, timeout=30)
    resp = admin_session.post(
        url, data={"csrfmiddlewaretoken": csrf_token(form.text), "post": "yes"},
        headers={"Referer": url}, timeout=30,
    )
    assert resp.status_code == 200
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM content.genre WHERE id = %s", (genre_id,))
        assert cur.fetchone() == (0,)
        # the deletion is seen by the ETL through change_log
        cur.execute(
            "SELECT operation FROM content.change_log WHERE genre_id = %s AND table_name = 'genre'",
            (genre_id,),
        )
        assert cur.fetchall() == [("DELETE",)]
    conn.close()


def test_gunicorn_never_has_the_owner_password(admin_stack, pg):
    environ = open(f"/proc/{admin_stack.gunicorn_pid()}/environ", "rb").read().split(b"\0")
    names = {item.split(b"=", 1)[0] for item in environ}
    assert b"APP_DB_PASSWORD" in names
    assert b"CATALOG_OWNER_PASSWORD" not in names
    assert pg.passwords["catalog_owner"].encode() not in b"\0".join(environ)


def test_django_tables_belong_to_the_owner_in_schema_admin(admin_stack, pg):
    conn = pg.connect("postgres", admin_stack.dbname)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT schemaname, tablename, tableowner FROM pg_tables"
            " WHERE tablename LIKE 'auth\\_%' OR tablename LIKE 'django\\_%'"
        )
        rows = cur.fetchall()
        cur.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname IN ('app', 'etl')"
        )
        (owned_by_app_or_etl,) = cur.fetchone()
    conn.close()
    names = {name for _, name, _ in rows}
    assert {"auth_user", "django_session", "django_migrations", "django_admin_log"} <= names
    assert {(schema, owner) for schema, _, owner in rows} == {("admin", "catalog_owner")}
    assert owned_by_app_or_etl == 0


def test_migrations_are_complete_and_app_cannot_run_them(admin_stack, catalog):
    # Every model change has its migration (unmanaged models included).
    made = admin_stack.manage("makemigrations", "--check", "--dry-run", check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    # All applied ...
    applied = admin_stack.manage("migrate", "--check", check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # ... and the app role could not have applied them itself: on a fresh copy
    # of the catalogue (empty schema admin) it may not create Django's tables.
    owner_only = admin_stack.manage("migrate", "--noinput", env={"DB_NAME": catalog}, check=False)
    assert owner_only.returncode != 0
    assert "permission denied for schema admin" in owner_only.stderr


def test_superuser_from_environment_is_made_once(admin_stack):
    assert f"superuser '{admin_stack.username}' created" in admin_stack.start_output
    again = admin_stack.manage("ensure_superuser")
    assert "already exists" in again.stdout
    missing = admin_stack.manage(
        "ensure_superuser", env={"DJANGO_SUPERUSER_PASSWORD": "", "DJANGO_SUPERUSER_USERNAME": "other"},
        check=False,
    )
    assert missing.returncode != 0 and "DJANGO_SUPERUSER_PASSWORD" in missing.stderr
    generated = admin_stack.manage(
        "ensure_superuser", "--generate",
        env={"DJANGO_SUPERUSER_PASSWORD": "", "DJANGO_SUPERUSER_USERNAME": "gen-" + uuid.uuid4().hex[:6]},
    )
    assert re.search(r"superuser created: username=gen-\w+ password=\S{16,}", generated.stdout)


def test_secret_key_is_required(admin_stack):
    resp = admin_stack.manage("check", env={"DJANGO_SECRET_KEY": ""}, check=False)
    assert resp.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in resp.stderr


def test_secrets_from_files_and_placeholders_refused(admin_stack, tmp_path):
    """Each secret may be the first line of the file NAME_FILE names (as
    compose mounts them); a "change-me" placeholder, in a file or the
    environment, stops the panel naming where it is, never its value."""
    key = tmp_path / "django_secret_key"
    key.write_text(secrets.token_urlsafe(50) + "\nignored second line\n")
    ok = admin_stack.manage("check", env={"DJANGO_SECRET_KEY": "", "DJANGO_SECRET_KEY_FILE": str(key)},
                            check=False)
    assert ok.returncode == 0, ok.stderr
    placeholder = tmp_path / "placeholder"
    placeholder.write_text("change-me-to-a-long-random-string\n")
    refused = admin_stack.manage("check", env={"DJANGO_SECRET_KEY_FILE": str(placeholder)}, check=False)
    assert refused.returncode != 0
    assert (f"DJANGO_SECRET_KEY_FILE ({placeholder}): placeholder secret, set a real one"
            in refused.stderr), refused.stderr[-2000:]
    refused = admin_stack.manage("check", env={"APP_DB_PASSWORD": "change-me-app"}, check=False)
    assert refused.returncode != 0
    assert "APP_DB_PASSWORD: placeholder secret, set a real one" in refused.stderr
    assert "change-me-app" not in refused.stderr.replace("APP_DB_PASSWORD", "")


def test_stop_and_start_again(admin_stack):
    """admin.sh stop ends both servers; start brings the same panel back."""
    nginx_pid = int(admin_stack.read("nginx/nginx.pid"))
    gunicorn_pid = admin_stack.gunicorn_pid()
    admin_stack.stop()
    for pid in (nginx_pid, gunicorn_pid):
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid)
    try:
        requests.get(f"{admin_stack.url}/admin/login/", timeout=5)
        raise AssertionError("nginx still answers after stop")
    except requests.ConnectionError:
        pass
    admin_stack.start()
    assert "already exists" in admin_stack.start_output
    assert requests.get(f"{admin_stack.url}/admin/login/", timeout=30).status_code == 200


def _zombie(pid):
    """True when the process is a zombie (exited, not yet reaped)."""
    try:
        return open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_admin_sh_refuses_a_second_start(admin_stack):
    try:
        admin_stack._run("start")
    except RuntimeError as exc:
        assert "already running" in str(exc)
    else:
        raise AssertionError("a second start succeeded")
    assert requests.get(f"{admin_stack.url}/admin/login/", timeout=30).status_code == 200


def test_compiled_russian_catalogue_matches_its_source():
    """locale/ru's django.mo (what Django reads) says what django.po says."""
    import gettext

    locale = pathlib.Path(__file__).resolve().parents[3] / "compose/admin/locale/ru/LC_MESSAGES"
    source = dict(re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', (locale / "django.po").read_text(), re.M))
    assert len(source) >= 25
    with open(locale / "django.mo", "rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    assert {msgid: catalogue.gettext(msgid) for msgid in source} == source
    assert catalogue.gettext("film works") == "кинопроизведения"
