"""The whole Compose stack, booted for real, as a user starts it: podman's Docker-compatible
service, Debian's docker-compose 1.29, compose/docker-compose.yml plus the
test override compose/docker-compose.test.yml, and a healthcheck runner.

Run by `make test-compose`, which first installs podman (compose/test/
install-podman.sh) and builds the base and stand-in images (compose/test/
build-images.sh).  The stack's own images (etl, admin) are built here by
`docker-compose build` from their real Dockerfiles.  `down -v` always runs at
the end, pass or fail; the stack's logs are kept in tests/artifacts/compose/.
"""

import base64
import datetime
import hashlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "tests" / "integration"))  # etlproc: the tests' shared helpers
from etlproc import free_port, make_ca, make_cert, stop_process_group  # noqa: E402
COMPOSE_DIR = REPO / "compose"
TEST_DIR = COMPOSE_DIR / "test"
ARTIFACTS = REPO / "tests" / "artifacts" / "compose"
# One project per checkout: two clones on one machine do not meet, and a run
# of the same checkout finds what a killed run left.
PROJECT = os.environ.get(
    "COMPOSE_TEST_PROJECT", "etlcompose" + hashlib.sha1(str(REPO).encode()).hexdigest()[:8]
)
SERVICES = ("postgres", "elasticsearch", "etl", "admin", "nginx")
# Seconds for the stack to build and become healthy, cold.
UP_TIMEOUT = int(os.environ.get("COMPOSE_TEST_UP_TIMEOUT", "900"))


def podman_env():
    """The environment for podman: the repository's configuration, nothing under /etc."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(TEST_DIR / "containers.conf")
    env["CONTAINERS_REGISTRIES_CONF"] = str(TEST_DIR / "registries.conf")
    return env


def podman(*args, timeout=120, check=True):
    """Runs podman; returns the CompletedProcess (text)."""
    proc = subprocess.run(
        ["podman", *args], env=podman_env(), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def inspect(container):
    """podman inspect of one container, as a dict."""
    return json.loads(podman("inspect", container).stdout)[0]


def parse_time(text):
    """A podman timestamp (RFC 3339, nanoseconds) as an aware datetime."""
    head, _, frac = text.rstrip("Z").partition(".")
    frac = (frac.split("+")[0].split("-")[0] + "000000")[:6]
    return datetime.datetime.fromisoformat(f"{head}.{frac}+00:00")


def _nanoseconds(value, default):
    """A healthcheck duration from inspect (ns as int, or a Go duration string) in seconds."""
    if isinstance(value, (int, float)) and value > 0:
        return value / 1e9
    return default


class HealthRunner(threading.Thread):
    """Plays Docker's healthcheck runner, which podman lacks without systemd:
    runs `podman healthcheck run` for every container of the project with a
    healthcheck, first `interval` after it started, then every `interval`, as
    Docker does; podman keeps the status (start period, retries) itself."""

    def __init__(self, project):
        super().__init__(daemon=True)
        self.project = project
        self.stopping = threading.Event()
        self.due = {}  # container id -> (StartedAt, monotonic time of the next run)
        self.running = {}  # container id -> Popen of its `podman healthcheck run`
        self.runs = 0
        # container id -> UTC time when its first passing check began (the
        # status turned healthy after that, during the check)
        self.first_healthy = {}
        self.began = {}  # container id -> UTC time when its running check began

    def run(self):
        while not self.stopping.is_set():
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - a container gone mid-tick; try again
                pass
            self.stopping.wait(1)
        for proc in self.running.values():
            proc.wait(timeout=60)

    def _tick(self):
        for cid, proc in list(self.running.items()):
            if proc.poll() is not None:
                del self.running[cid]
                if proc.returncode == 0:
                    self.first_healthy.setdefault(cid, self.began[cid])
        ids = podman(
            "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={self.project}",
            check=False,
        ).stdout.split()
        if not ids:
            return
        now = time.monotonic()
        for info in json.loads(podman("inspect", *ids, check=False).stdout or "[]"):
            cid = info["Id"]
            check = info["Config"].get("Healthcheck") or {}
            if not check.get("Test") or not info["State"].get("Running") or cid in self.running:
                continue
            started = info["State"]["StartedAt"]
            interval = _nanoseconds(check.get("Interval"), 30.0)
            known = self.due.get(cid)
            if known is None or known[0] != started:  # new, or restarted
                self.due[cid] = (started, now + interval)
            elif now >= known[1]:
                self.began[cid] = datetime.datetime.now(datetime.timezone.utc)
                self.running[cid] = subprocess.Popen(
                    ["podman", "healthcheck", "run", cid], env=podman_env(),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                self.runs += 1
                self.due[cid] = (started, now + interval)

    def stop(self):
        self.stopping.set()
        self.join(timeout=90)


class ComposeStack:
    """The stack: docker-compose against podman's socket, with a fresh env file.

    Attributes: url (nginx, 'http://127.0.0.1:PORT'), username/password (the
    superuser the admin container creates), env_file, project."""

    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.project = PROJECT
        self.socket = self.workdir / "podman.sock"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.username = "admin"
        self.password = None  # generated by the admin container, read from its log
        self.env_file = self.workdir / "compose.env"
        # The secret files, as a user makes them (compose/make-secrets.sh),
        # in the work directory; then the CA and the API key of the secured
        # search path (compose/test/docker-compose.secured.yml).
        self.secrets_dir = self.workdir / "secrets"
        subprocess.run([str(COMPOSE_DIR / "make-secrets.sh"), str(self.secrets_dir)], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        self.make_es_tls()
        self.secrets = {p.name: p.read_text().strip() for p in self.secrets_dir.iterdir()
                        if p.name != "es_ca"}
        self.values = {
            "SECRETS_DIR": str(self.secrets_dir),
            "ES_TLS_DIR": str(self.es_tls_dir),
            "LOAD_SAMPLE_DATA": "1",
            "ES_JAVA_OPTS": "-Xms512m -Xmx512m",
            "ETL_LOG_LEVEL": "info",
            "ETL_POLL_INTERVAL_MS": "500",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DJANGO_CSRF_TRUSTED_ORIGINS": self.url,
            "DJANGO_SUPERUSER_USERNAME": self.username,
            # Empty: the container generates one and prints it once.
            "DJANGO_SUPERUSER_PASSWORD": "",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
            "GUNICORN_WORKERS": "2",
            "NGINX_BIND": "127.0.0.1",
            "NGINX_PORT": str(self.port),
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.values.items()))
        self.service = None
        self.health = None

    def make_es_tls(self):
        """The files of es-tls, the secured search path's stand-in: a test CA
        (its certificate also the secret es_ca), the server's certificate
        for the name es-tls, nginx.conf accepting only the API key that is
        the secret etl_es_api_key."""
        d = self.es_tls_dir = self.workdir / "es-tls"
        d.mkdir()
        make_ca(d, "ca")
        make_cert(d, "server", "ca", ["basicConstraints=CA:FALSE", "extendedKeyUsage=serverAuth",
                                      "subjectAltName=DNS:es-tls"])
        (d / "server.key").chmod(0o600)
        # Elasticsearch's "encoded" API key: base64 of id:api_key.
        self.api_key = base64.b64encode(
            f"{secrets.token_hex(10)}:{secrets.token_urlsafe(22)}".encode()).decode()
        conf = (TEST_DIR / "es-tls" / "nginx.conf.in").read_text()
        (d / "nginx.conf").write_text(conf.replace("@API_KEY@", self.api_key))
        shutil.copy(d / "ca.crt", self.secrets_dir / "es_ca")
        (self.secrets_dir / "etl_es_api_key").write_text(self.api_key + "\n")
        for name in ("es_ca", "etl_es_api_key"):
            (self.secrets_dir / name).chmod(0o644)

    # podman and docker-compose ----------------------------------------------

    def start_service(self):
        """podman system service on a socket in the work directory."""
        log = open(self.workdir / "podman-service.log", "w")
        self.service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
            env=podman_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("podman system service did not start:\n"
                                   + (self.workdir / "podman-service.log").read_text())
            time.sleep(0.2)

    def stop_service(self):
        stop_process_group(self.service, signal.SIGTERM, timeout=30)

    def compose_env(self):
        env = podman_env()
        for name in list(env):
            if name in self.values or name.startswith("COMPOSE_"):
                del env[name]
        env["DOCKER_HOST"] = f"unix://{self.socket}"
        return env

    def compose(self, *args, timeout=300, check=True):
        """Runs docker-compose on the stack; returns the CompletedProcess (text)."""
        proc = subprocess.run(
            ["docker-compose", "--ansi", "never", "-p", self.project, "--env-file", str(self.env_file),
             "-f", str(COMPOSE_DIR / "docker-compose.yml"),
             "-f", str(COMPOSE_DIR / "docker-compose.test.yml"),
             "-f", str(TEST_DIR / "docker-compose.secured.yml"), *args],
            cwd=REPO, env=self.compose_env(), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"docker-compose {' '.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        return proc

    def exec(self, service, *command, timeout=60, check=True):
        """`docker-compose exec -T SERVICE COMMAND...`; returns the CompletedProcess."""
        return self.compose("exec", "-T", service, *command, timeout=timeout, check=check)

    def search(self, path):
        """GET on the search node, from inside its container (it publishes no port)."""
        proc = self.exec("elasticsearch", "curl", "-fsS", f"http://127.0.0.1:9200{path}")
        return json.loads(proc.stdout)

    def container(self, service):
        """The container id of a service."""
        cid = self.compose("ps", "-q", service).stdout.strip()
        assert cid, f"no container for {service}"
        return cid

    def logs(self, service):
        return self.compose("logs", "--no-color", service, timeout=120).stdout

    def health_status(self, service):
        return (inspect(self.container(service))["State"].get("Health") or {}).get("Status")

    def wait_healthy(self, services=SERVICES, timeout=300):
        """Waits until every named service's container is healthy."""
        deadline = time.monotonic() + timeout
        while True:
            status = {s: self.health_status(s) for s in services}
            if all(v == "healthy" for v in status.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout} s: {status}")
            time.sleep(1)

    # Lifecycle -------------------------------------------------------------------

    def up(self):
        self.start_service()
        # A run killed before its `down` leaves the project behind.
        self.compose("down", "-v", "--remove-orphans", timeout=300, check=False)
        self.health = HealthRunner(self.project)
        self.health.start()
        t0 = time.monotonic()
        self.compose("build", timeout=UP_TIMEOUT)
        self.build_s = time.monotonic() - t0
        t0 = time.monotonic()
        self.compose("up", "-d", timeout=UP_TIMEOUT)
        self.wait_healthy()
        self.up_s = time.monotonic() - t0
        print(f"\ncompose stack: build {self.build_s:.0f} s, up and healthy {self.up_s:.0f} s")
        for line in self.logs("admin").splitlines():
            if "superuser created: username=" in line:
                self.password = line.split("password=", 1)[1].strip()
        assert self.password, "the admin container printed no generated superuser password"

    def down(self):
        try:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            if self.service and self.service.poll() is None:
                logs = self.compose("logs", "--no-color", "--timestamps", timeout=120, check=False)
                (ARTIFACTS / "stack.log").write_text(logs.stdout + logs.stderr)
        finally:
            if self.health:
                self.health.stop()
            try:
                if self.service and self.service.poll() is None:
                    proc = self.compose("down", "-v", "--remove-orphans", timeout=300, check=False)
                    (ARTIFACTS / "down.log").write_text(proc.stdout + proc.stderr)
            finally:
                self.stop_service()


@pytest.fixture(scope="session")
def stack():
    if shutil.which("podman") is None or shutil.which("docker-compose") is None:
        pytest.fail("podman and docker-compose are needed: run `make test-compose`")
    workdir = tempfile.mkdtemp(prefix="etl-compose-")
    s = ComposeStack(workdir)
    try:
        s.up()
        yield s
    finally:
        s.down()
        shutil.rmtree(workdir, ignore_errors=True)
