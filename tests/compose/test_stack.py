"""The Compose stack booted for real: every check goes through what
a user of compose/docker-compose.yml has, the published nginx port, and
`docker-compose exec` / `ps` / `restart` / `stop` for what is inside.

The tests run in file order on one stack: the last one stops it.
"""

import base64
import html.parser
import re
import time
import uuid

import requests

from conftest import SERVICES, inspect, parse_time, podman

ETL_INI = "/opt/etl/etc/etl/etl.ini"
INDICES = ("movies", "genres", "persons")
SAMPLE_FILMS = 999


class FormParser(html.parser.HTMLParser):
    """The fields of the form with id `form_id`, as a browser would send them:
    inputs (checked boxes only), selected options, textareas."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.fields = []  # (name, value) in page order
        self.select = None  # (name, [selected values], first value)
        self.textarea = None  # (name, [text])

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.in_form = a.get("id") == self.form_id
            return
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self.select = (name, [], "multiple" in a)
        elif tag == "option" and self.select is not None and "selected" in a:
            self.select[1].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = (name, [])

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select is not None:
            name, chosen, _multiple = self.select
            for value in chosen:
                self.fields.append((name, value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, parts = self.textarea
            # the browser drops the newline that follows <textarea>
            self.fields.append((name, "".join(parts).removeprefix("\n")))
            self.textarea = None


def login(stack):
    """Logs in through nginx as the superuser the admin container made."""
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    page = session.get(f"{stack.url}/admin/login/", timeout=30)
    page.raise_for_status()
    resp = session.post(
        f"{stack.url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"], "username": stack.username,
              "password": stack.password, "next": "/admin/"},
        headers={"Referer": f"{stack.url}/admin/login/", "Origin": stack.url},
        timeout=30,
    )
    resp.raise_for_status()
    assert "sessionid" in session.cookies, "login failed:\n" + resp.text[:2000]
    return session


def count(stack, index):
    return stack.search(f"/{index}/_count")["count"]


def wait_for(what, predicate, timeout, step=0.5):
    """Polls predicate() until true; returns the seconds it took."""
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, f"{what}: not within {timeout} s"
        time.sleep(step)
    return time.monotonic() - t0


def etl_status(stack):
    """`etlctl status` in the etl container: {worker name: {key: value}}."""
    out = stack.exec("etl", "etlctl", "-c", ETL_INI, "status").stdout
    workers = {}
    for line in out.splitlines():
        fields = dict(re.findall(r'(\w+)=("[^"]*"|\S*)', line))
        workers[fields["name"]] = fields
    return workers


def test_every_service_is_up_and_healthy(stack):
    for service in SERVICES:
        assert stack.health_status(service) == "healthy", service
    # the healthchecks ran through the runner, not by themselves
    assert stack.health.runs >= len(SERVICES)
    ps = stack.compose("ps").stdout
    assert ps.count("(healthy)") == len(SERVICES), ps


def test_start_order_waited_for_health(stack):
    """depends_on: condition: service_healthy, as written: each container
    started only after what it depends on had passed a healthcheck."""
    first_healthy = {s: stack.health.first_healthy[stack.container(s)] for s in SERVICES}
    started = {s: parse_time(inspect(stack.container(s))["State"]["StartedAt"]) for s in SERVICES}
    for service, deps in {"etl": ("postgres", "elasticsearch"), "admin": ("postgres",),
                          "nginx": ("admin",)}.items():
        for dep in deps:
            assert started[service] > first_healthy[dep], (service, dep, started, first_healthy)


def test_schema_upgrade_ran_before_etl_and_admin(stack):
    """The one-shot schema service ran etlctl schema upgrade (a new volume:
    init.sh made version 3, so nothing to apply), exited 0, and etl and
    admin started only after it had (service_completed_successfully)."""
    cid = stack.container("schema")
    state = inspect(cid)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0, state
    assert "version 3, current" in stack.logs("schema")
    finished = parse_time(state["FinishedAt"])
    for service in ("etl", "admin"):
        started = parse_time(inspect(stack.container(service))["State"]["StartedAt"])
        assert started > finished, (service, started, finished)


def test_only_nginx_publishes_a_port(stack):
    published = {}
    for service in SERVICES:
        bindings = inspect(stack.container(service))["HostConfig"].get("PortBindings") or {}
        published[service] = {
            (b.get("HostIp"), b.get("HostPort"), port)
            for port, items in bindings.items() for b in (items or [])
        }
    assert published == {
        "postgres": set(), "elasticsearch": set(), "etl": set(), "admin": set(),
        "nginx": {("127.0.0.1", str(stack.port), "80/tcp")},
    }


def test_containers_run_as_their_users(stack):
    # etl and admin: the USER of their Dockerfiles, for every process.
    # The stand-ins: as their official images do (PostgreSQL and the search
    # node as their own users; nginx's master as root, its workers as nginx).
    expected = {
        "etl": {"etl"}, "admin": {"admin"}, "postgres": {"postgres"},
        "elasticsearch": {"elasticsearch"}, "nginx": {"root", "nginx"},
    }
    for service, users in expected.items():
        cid = stack.container(service)
        rows = stack_top(cid)
        assert rows, service
        assert {user for user, _ in rows} == users, (service, rows)
    assert inspect(stack.container("etl"))["Config"]["User"] == "etl"
    assert inspect(stack.container("admin"))["Config"]["User"] == "admin"
    nginx_workers = [user for user, args in stack_top(stack.container("nginx")) if "worker" in args]
    assert nginx_workers and set(nginx_workers) == {"nginx"}


def stack_top(cid):
    """(user, command line) of every process of a container, users by name in it."""
    out = podman("top", cid, "user", "args").stdout.splitlines()[1:]
    return [(line.split(None, 1)[0], line.split(None, 1)[1] if " " in line else "") for line in out]


def test_login_page_through_nginx(stack):
    resp = requests.get(f"{stack.url}/admin/login/", headers={"Accept-Language": "en"}, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Server"].startswith("nginx")
    assert 'name="csrfmiddlewaretoken"' in resp.text
    assert "csrftoken" in resp.cookies
    assert resp.headers.get("X-Frame-Options") == "DENY"


def test_static_file_is_served_by_nginx(stack):
    resp = requests.get(f"{stack.url}/static/admin/css/base.css", timeout=30)
    assert resp.status_code == 200
    assert resp.headers.get("X-Static-Server") == "nginx"
    assert "max-age=604800" in resp.headers.get("Cache-Control", "")
    assert "body" in resp.text
    # not gunicorn: its access log never saw the request
    assert "/static/admin/css/base.css" not in stack.logs("admin")


def test_etl_has_three_running_workers_and_full_indices(stack):
    workers = etl_status(stack)
    assert set(workers) == set(INDICES)
    assert {w["state"] for w in workers.values()} == {"running"}
    wait_for("the first full load", lambda: count(stack, "movies") == SAMPLE_FILMS, 120)
    assert count(stack, "genres") == 26
    assert count(stack, "persons") == 4166


def test_film_edited_in_the_panel_reaches_the_index(stack):
    session = login(stack)
    films = session.get(f"{stack.url}/admin/movies/filmwork/", params={"q": "X-Wing"}, timeout=30)
    assert films.status_code == 200
    (film_id,) = set(re.findall(
        r'href="/admin/movies/filmwork/([0-9a-f-]{36})/change/[^"]*">Star Wars: X-Wing</a>', films.text
    ))
    url = f"{stack.url}/admin/movies/filmwork/{film_id}/change/"
    page = session.get(url, timeout=30)
    assert page.status_code == 200
    form = FormParser("filmwork_form")
    form.feed(page.text)
    fields = dict(form.fields)
    assert fields["title"] == "Star Wars: X-Wing"
    assert "genrefilmwork_set-TOTAL_FORMS" in fields and "personfilmwork_set-TOTAL_FORMS" in fields
    word = "composecheck" + uuid.uuid4().hex[:8]
    data = [(k, v) for k, v in form.fields if k != "title"]
    data += [("title", f"Star Wars: X-Wing {word}"), ("_save", "Save")]
    t0 = time.monotonic()
    resp = session.post(url, data=data, headers={"Referer": url, "Origin": stack.url},
                        timeout=30, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:3000]
    assert resp.headers["Location"].endswith("/admin/movies/filmwork/")

    def found():
        hits = stack.search(f"/movies/_search?q=title:{word}")["hits"]["hits"]
        return [h["_id"] for h in hits] == [film_id]

    wait_for("the edited title in the movies index", found, 15)
    print(f"\nadmin edit searchable after {time.monotonic() - t0:.1f} s")
    doc = stack.search(f"/movies/_doc/{film_id}")["_source"]
    assert doc["title"] == f"Star Wars: X-Wing {word}"
    assert count(stack, "movies") == SAMPLE_FILMS


def project_containers(stack):
    """The ids of every container of the stack's project, running or not."""
    return podman("ps", "-a", "-q", "--no-trunc", "--filter",
                  f"label=com.docker.compose.project={stack.project}").stdout.split()


def test_no_secret_in_any_containers_inspect(stack):
    """Passwords and keys are file secrets: no container's inspect output
    (its environment, command, labels, mounts) holds one, while the services
    that need them read them from /run/secrets."""
    ids = project_containers(stack)
    assert len(ids) >= len(SERVICES) + 1, ids  # and es-tls
    for cid in ids:
        text = podman("inspect", cid).stdout
        for name, value in stack.secrets.items():
            assert value not in text, f"{name} in the inspect output of {cid}"
    for service, name in (("etl", "etl_db_password"), ("etl", "etl_es_api_key"),
                          ("admin", "django_secret_key"), ("postgres", "app_db_password")):
        read = stack.exec(service, "cat", f"/run/secrets/{name}").stdout.strip()
        assert read == stack.secrets[name], (service, name)
    env = inspect(stack.container("etl"))["Config"]["Env"]
    assert "ETL_PG_PASSWORD_FILE=/run/secrets/etl_db_password" in env
    assert not [e for e in env if e.startswith(("ETL_PG_PASSWORD=", "ETL_ES_PASSWORD="))]


def test_etl_loads_through_https_with_its_api_key(stack):
    """The secured search path: the ETL talks https to es-tls, which checks
    its certificate against the CA file and lets only its API key through
    (compose/test/docker-compose.secured.yml); the full load went that way."""
    env = dict(e.split("=", 1) for e in inspect(stack.container("etl"))["Config"]["Env"])
    assert env["ETL_ES_URL"] == "https://es-tls:9243"
    assert env["ETL_ES_API_KEY_FILE"] == "/run/secrets/etl_es_api_key"
    assert env["ETL_ES_CA_FILE"] == "/run/secrets/es_ca"
    proxied = stack.logs("es-tls")
    assert re.search(r'"POST /_bulk[^"]*" 200 ', proxied), proxied[-3000:]
    assert not re.search(r'" 401 ', proxied), "the ETL's own key was refused"
    assert count(stack, "movies") == SAMPLE_FILMS


def run_etl_once(stack, env, mounts, command=()):
    """A one-off container of the etl service's image, on its network, with
    its environment (which holds no secret: see above) changed by env and
    its secret files plus mounts ({host file: path}), its own state
    directory and socket; returns the CompletedProcess.  (`docker-compose
    run` cannot: podman refuses the links it asks for.)"""
    info = inspect(stack.container("etl"))
    merged = dict(e.split("=", 1) for e in info["Config"]["Env"])
    merged.update({"ETL_STATE_DIR": "/tmp/etl-state", "ETL_CONTROL_SOCKET": "/tmp/etl.sock"}, **env)
    options = ["--network", next(iter(info["NetworkSettings"]["Networks"]))]
    for name, value in merged.items():
        options += ["-e", f"{name}={value}"]
    files = {stack.secrets_dir / name: f"/run/secrets/{name}"
             for name in ("etl_db_password", "es_ca", "etl_es_api_key")}
    for host, path in {**files, **mounts}.items():
        options += ["-v", f"{host}:{path}:ro"]
    return podman("run", "--rm", *options, info["Config"]["Image"], *command,
                  timeout=180, check=False)


def test_wrong_api_key_is_refused_and_nothing_loaded(stack):
    """A one-off ETL with another key (and its own index names) through
    es-tls: every request refused with 401, retried with the reason named,
    no index made."""
    wrong = stack.workdir / "wrong_api_key"
    wrong.write_text(base64.b64encode(b"someone:else").decode() + "\n")
    wrong.chmod(0o644)
    proc = run_etl_once(
        stack, {"ETL_ES_API_KEY_FILE": "/run/wrong_api_key", "ETL_INDEX_MOVIES": "wrongkey_movies",
                "ETL_INDEX_GENRES": "wrongkey_genres", "ETL_INDEX_PERSONS": "wrongkey_persons"},
        {wrong: "/run/wrong_api_key"},
        command=("timeout", "-s", "TERM", "25", "etl-supervisor", "-c", ETL_INI))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 124, out[-3000:]  # stopped by timeout, still retrying
    assert re.search(r"msg=retry .*HTTP 401", out), out[-3000:]
    assert "credentials were refused" in out
    assert "full load started" not in out
    missing = stack.exec("elasticsearch", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         "http://127.0.0.1:9200/wrongkey_movies").stdout
    assert missing == "404"
    assert base64.b64encode(b"someone:else").decode() not in out


def test_placeholder_password_refused_at_start(stack):
    """A secret file still holding a "change-me" placeholder stops the ETL at
    start: exit 78, the key, its line and the file named, not the value."""
    placeholder = stack.workdir / "placeholder_password"
    placeholder.write_text("change-me-etl\n")
    placeholder.chmod(0o644)
    proc = run_etl_once(stack, {"ETL_PG_PASSWORD_FILE": "/run/placeholder"},
                        {placeholder: "/run/placeholder"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 78, out[-3000:]
    assert re.search(rf"{re.escape(ETL_INI)}:\d+: password_file: placeholder secret, set a real one "
                     r"\(in /run/placeholder\)", out), out[-3000:]


def test_restart_of_etl_resumes_from_the_state_volume(stack):
    before = stack.logs("etl")
    assert len(re.findall(r"msg=\"full load started\"", before)) == len(INDICES)
    states = stack.exec("etl", "sh", "-c", "ls /var/lib/etl").stdout.split()
    assert {f"{i}.state" for i in INDICES} <= set(states), states

    stack.compose("restart", "etl", timeout=120)
    stack.wait_healthy(["etl"], timeout=120)
    wait_for("three running workers",
             lambda: {w["state"] for w in etl_status(stack).values()} == {"running"}, 60)
    after = stack.logs("etl")
    new = after[len(before):] if after.startswith(before) else after
    # the stop was clean, then each worker started from its state file
    assert re.search(r"msg=stopping signal=SIGTERM", after), after[-3000:]
    for index in INDICES:
        assert re.search(rf"worker={index} .*msg=stopped", after), index
        resumed = re.findall(rf"worker={index} .*msg=started .*state=resumed", after)
        assert len(resumed) == 1, (index, new[-3000:])
    # no second full load: the indices were not loaded again
    assert len(re.findall(r"msg=\"full load started\"", after)) == len(INDICES)
    assert count(stack, "movies") == SAMPLE_FILMS


def test_stop_ends_every_container_within_its_grace_period(stack):
    ids = {service: stack.container(service) for service in SERVICES}
    t0 = time.monotonic()
    stack.compose("stop", timeout=300)
    took = time.monotonic() - t0
    for service, cid in ids.items():
        state = inspect(cid)["State"]
        assert state["Status"] == "exited", (service, state)
        # 137: SIGKILL after the grace period
        assert state["ExitCode"] != 137, (service, state)
    assert inspect(ids["etl"])["State"]["ExitCode"] == 0
    logs = stack.logs("etl")
    assert logs.count("msg=stopping signal=SIGTERM") == 2
    for index in INDICES:
        assert len(re.findall(rf"worker={index} .*msg=stopped", logs)) == 2, index
    # grace periods: etl 30 s, the others Compose's default of 10 s
    assert took < 30 + 10 * 4
    print(f"\ndocker-compose stop: {took:.1f} s")
