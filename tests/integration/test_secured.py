"""A secured search cluster: HTTPS with a private CA, a client certificate,
and an API key or a user and password; and the engine check at start.

The search node of the suite speaks plain HTTP, so a TLS proxy stands in
front of it: Debian's nginx, on a free port, with a configuration this
module writes.  It presents a server certificate for 127.0.0.1 and localhost
signed by a CA the module generates with openssl, asks for a client
certificate signed by that CA, and forwards a request only when its
Authorization header is the test's API key or its user and password (else
401).  What is checked:

- right CA, client certificate and API key (or user and password): the
  worker logs the engine it found and the documents arrive; no secret in
  its log;
- a CA that did not sign the server's certificate: retried with backoff,
  the reason naming the certificate problem; the worker keeps running;
- a wrong API key: retried with backoff, the reason saying HTTP 401;
- a server that says it is an engine the worker does not support: exit 69
  with the reason logged;
- PostgreSQL with sslmode=verify-full and [postgres] sslrootcert: the
  session's cluster gets ssl=on with a certificate for 127.0.0.1 from the
  same CA for one test (reset afterwards); the right CA syncs over TLS, a
  wrong one is retried naming the verification failure.
"""

import base64
import contextlib
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading

import pytest

from etlproc import (free_port, make_ca, make_cert, make_config, run_worker, stop_process_group,
                     wait_caught_up, wait_until)

FILMS = 999  # film_work rows of the sample data: the movies index's documents


class TlsProxy:
    """nginx in front of the search node; see the module's docstring.

    Attributes: url ('https://127.0.0.1:PORT'), dir (its files: ca.crt,
    other-ca.crt, client.crt, client.key, api.key, es.password, nginx's
    error.log), api_key, user, password.
    """

    def __init__(self, base, upstream):
        self.dir = base
        self.api_key = base64.b64encode(secrets.token_bytes(24)).decode()
        self.user = "etl_writer"
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.upstream = upstream
        self.proc = None

    def start(self):
        d = self.dir
        make_ca(d, "ca")
        make_ca(d, "other-ca")
        make_cert(d, "server", "ca", ["basicConstraints=CA:FALSE",
                                       "extendedKeyUsage=serverAuth",
                                       "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        make_cert(d, "client", "ca", ["basicConstraints=CA:FALSE",
                                       "extendedKeyUsage=clientAuth"])
        (d / "api.key").write_text(self.api_key + "\n")
        (d / "es.password").write_text(self.password + "\n")
        for name in ("api.key", "es.password", "client.key"):
            (d / name).chmod(0o600)
        basic = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (d / sub).mkdir()
        # As root nginx's workers would run as nobody: keep them root so they
        # can use the temp dirs.
        user = "user root;" if os.geteuid() == 0 else ""
        (d / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 100m;
    # The keys are long (the API key, the Basic value).
    map_hash_bucket_size 256;
    map $http_authorization $etl_authorized {{
        default 0;
        "ApiKey {self.api_key}" 1;
        "Basic {basic}" 1;
    }}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {d}/server.crt;
        ssl_certificate_key {d}/server.key;
        ssl_client_certificate {d}/ca.crt;
        ssl_verify_client on;
        location / {{
            if ($etl_authorized = 0) {{ return 401; }}
            proxy_set_header Authorization "";
            proxy_http_version 1.1;
            proxy_pass {self.upstream};
        }}
    }}
}}
""")
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(d), "-c", str(d / "nginx.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(d / "nginx.stderr", "wb"), start_new_session=True)
        wait_until(self._listening, timeout=15, what="nginx listening")

    def _listening(self):
        if self.proc.poll() is not None:
            logs = [self.dir / name for name in ("nginx.stderr", "error.log")]
            raise AssertionError("nginx exited: " + "".join(
                p.read_text() for p in logs if p.exists()))
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self):
        stop_process_group(self.proc, signal.SIGQUIT, timeout=10)

    def config(self, ca="ca.crt", api_key="api.key", basic=False):
        """[elasticsearch] overrides for make_config: through the proxy,
        trusting ca, with the client certificate, logging in with the API
        key file api_key (or the user and password when basic)."""
        d = self.dir
        keys = {"url": self.url, "ca_file": d / ca, "client_cert_file": d / "client.crt",
                "client_key_file": d / "client.key"}
        if basic:
            keys.update(user=self.user, password_file=d / "es.password")
        else:
            keys["api_key_file"] = d / api_key
        return {("elasticsearch", k): str(v) for k, v in keys.items()}


@pytest.fixture(scope="module")
def proxy(es, tmp_path_factory):
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        pytest.fail("nginx and openssl are needed (compose/native/install-deps.sh installs them)")
    tls = TlsProxy(tmp_path_factory.mktemp("tls-proxy"), es.url)
    try:
        tls.start()
        yield tls
    finally:
        tls.stop()


def _synced_without_retries(worker, es, index):
    """Waits for the worker to catch up, checks every film arrived without a
    retry, and stops it."""
    wait_caught_up(worker, timeout=120, what="caught up")
    assert es.count(index) == FILMS
    assert not worker.events("retry")
    assert worker.stop() == 0


def _secrets_absent(text, tls):
    for secret in (tls.api_key, tls.password):
        assert secret not in text, "a secret was logged"


@pytest.mark.parametrize("basic", [False, True], ids=["api_key", "basic_auth"])
def test_secured_cluster_right_ca_and_credentials(tmp_path, pg, es, catalog, bin_dir, proxy,
                                                  basic):
    config, names = make_config(tmp_path, pg, es, catalog, overrides=proxy.config(basic=basic))
    worker = run_worker(bin_dir, config)
    try:
        engine = worker.wait_for(lambda ev: [e for e in ev if e.get("msg") == "search engine"],
                                 timeout=60, what="search engine identified")[0]
        assert (engine["distribution"], engine["version"]) == (
            es.expected["distribution"], es.expected["version"])
        _synced_without_retries(worker, es, names["movies"])
        _secrets_absent(worker.text(), proxy)
    finally:
        worker.close()
        es.delete_indices(names["movies"])


def _retried(worker, needle, times=3):
    """Waits for times retry lines whose reason has needle, with growing
    attempts, and checks the worker still runs."""
    retries = worker.wait_for(
        lambda ev: (r := [e for e in ev if e.get("msg") == "retry" and needle in e.get("reason", "")])
        and len(r) >= times and r, timeout=60, what=f"{times} retries naming {needle!r}")
    assert [int(r["attempt"]) for r in retries[:times]] == list(range(1, times + 1))
    assert all(r["what"] == "elasticsearch" and int(r["delay_ms"]) > 0 for r in retries)
    assert worker.proc.poll() is None, "the worker exited"
    return retries


def test_wrong_ca_is_retried_naming_the_certificate_problem(tmp_path, pg, es, catalog, bin_dir,
                                                            proxy):
    config, _ = make_config(tmp_path, pg, es, catalog,
                            overrides=proxy.config(ca="other-ca.crt"))
    worker = run_worker(bin_dir, config)
    try:
        retries = _retried(worker, "SSL certificate problem")
        assert retries[0]["reason"].startswith("GET /: ")
        assert worker.stop() == 0
        _secrets_absent(worker.text(), proxy)
    finally:
        worker.close()


def test_wrong_api_key_is_retried_as_401(tmp_path, pg, es, catalog, bin_dir, proxy):
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(b"someone:else").decode() + "\n")
    config, _ = make_config(tmp_path, pg, es, catalog, overrides=proxy.config(api_key=wrong))
    worker = run_worker(bin_dir, config)
    try:
        retries = _retried(worker, "HTTP 401")
        assert "credentials were refused" in retries[0]["reason"]
        assert worker.stop() == 0
        _secrets_absent(worker.text(), proxy)
    finally:
        worker.close()


class _FakeEngine(http.server.BaseHTTPRequestHandler):
    """Answers GET / as an engine the worker does not support."""

    answer = json.dumps({"version": {"number": "6.8.23"}, "tagline": "You Know, for Search"})

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        body = self.answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_unsupported_engine_is_refused_at_start(tmp_path, pg, es, catalog, bin_dir):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config, _ = make_config(tmp_path, pg, es, catalog, overrides={("elasticsearch", "url"): url})
    worker = run_worker(bin_dir, config)
    try:
        assert worker.wait(timeout=30) == 69
        refused = worker.events("search engine not supported; not starting")
        assert len(refused) == 1
        assert refused[0]["distribution"] == "elasticsearch"
        assert refused[0]["version"] == "6.8.23"
        assert "supported: Elasticsearch 7.10+ and 8.x, OpenSearch 2.x" in refused[0]["reason"]
    finally:
        worker.close()
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _postgres_ssl(pg, tls):
    """ssl=on for the session's cluster, with tls's server certificate (for
    127.0.0.1), until the block ends; then as before."""
    data = pg.dir / "data"
    for name in ("server.crt", "server.key"):
        target = data / f"etl-test-{name}"
        shutil.copyfile(tls.dir / name, target)
        target.chmod(0o600)
        owner = data.stat()
        os.chown(target, owner.st_uid, owner.st_gid)
    settings = {"ssl_cert_file": data / "etl-test-server.crt",
                "ssl_key_file": data / "etl-test-server.key", "ssl": "on"}
    for key, value in settings.items():
        pg._admin(f"ALTER SYSTEM SET {key} = '{value}'")
    pg._admin("SELECT pg_reload_conf()")
    wait_until(lambda: pg._admin("SHOW ssl")[0][0] == "on", timeout=10, what="ssl on")
    try:
        yield
    finally:
        for key in settings:
            pg._admin(f"ALTER SYSTEM RESET {key}")
        pg._admin("SELECT pg_reload_conf()")
        wait_until(lambda: pg._admin("SHOW ssl")[0][0] == "off", timeout=10, what="ssl off")


def _etl_ssl_connections(pg, dbname):
    """How many of role etl's connections to dbname use TLS."""
    rows = pg._admin("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
                     " WHERE usename = 'etl' AND datname = %s AND ssl", (dbname,))
    return rows[0][0]


def test_postgres_verify_full(tmp_path, pg, es, catalog, bin_dir, proxy):
    with _postgres_ssl(pg, proxy):
        overrides = {("postgres", "sslmode"): "verify-full",
                     ("postgres", "sslrootcert"): str(proxy.dir / "ca.crt")}
        config, names = make_config(tmp_path, pg, es, catalog, overrides=overrides)
        worker = run_worker(bin_dir, config)
        try:
            wait_caught_up(worker, timeout=120, what="caught up")
            assert _etl_ssl_connections(pg, catalog) >= 1
            _synced_without_retries(worker, es, names["movies"])
        finally:
            worker.close()
            es.delete_indices(names["movies"])

        overrides[("postgres", "sslrootcert")] = str(proxy.dir / "other-ca.crt")
        wrong_dir = tmp_path / "wrong-ca"
        wrong_dir.mkdir()
        config, _ = make_config(wrong_dir, pg, es, catalog, overrides=overrides)
        worker = run_worker(bin_dir, config)
        try:
            retries = worker.wait_for(
                lambda ev: [e for e in ev if e.get("msg") == "retry"
                            and e.get("what") == "postgres"
                            and "certificate verify failed" in e.get("reason", "")],
                timeout=60, what="a postgres retry naming the certificate")
            assert int(retries[0]["delay_ms"]) > 0
            assert worker.proc.poll() is None
            assert worker.stop() == 0
        finally:
            worker.close()
