"""Shared harness of the integration tests: real services, started per session.

Fixtures
--------
repo_root   pathlib.Path of the repository.
bin_dir     pathlib.Path of the binaries: $ETL_BIN_DIR, else <repo>/bin.
shared_dir  pathlib.Path of the course's shared folder (data/movies.sqlite):
            $ETL_SHARED_DIR, else <repo>/../shared.  A clone has none beside
            it, so a test that asks for it is skipped, saying which folder
            is missing, when the folder is absent.
pg          a throwaway PostgreSQL cluster (compose/native/pg-cluster.sh) in a
            temp dir on a free port, with the catalogue schema, roles and the
            sample data in database ``movies``.  See PgCluster.
catalog     (function scope) the name of a fresh database copied from
            ``movies`` (schema, roles' rights and sample data); dropped after
            the test.
new_cluster (function scope) makes clusters of the test's own, for what the
            session's cannot undergo (replaced by a restore, stopped for
            good): new_cluster(sample=True, passwords=None, standby_of=None)
            returns a created PgCluster (see PgCluster.create); each is
            destroyed after the test.
es          a real search node (compose/native/es-node.sh) on a free port in
            9201..9299, data in a temp dir.  See SearchNode.  Which server is
            $ETL_TEST_ENGINE's: opensearch (OpenSearch 2.19.1, the default)
            or elasticsearch7 (Elasticsearch 7.10.2); make test runs the
            worker and supervisor tests once more with the second.

Every service is stopped when the session ends, however it ends: failing
tests, Ctrl-C (pytest tears fixtures down on KeyboardInterrupt; SIGTERM and
SIGHUP are turned into KeyboardInterrupt), and an atexit hook for anything a
teardown missed.  Servers run in sessions of their own so a Ctrl-C at the
terminal reaches only pytest, which then stops them in order.

Nothing here knows about the ETL's binaries or configuration: helpers for
those live in etlproc.py.
"""

import atexit
import os
import pathlib
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings

import psycopg2
import psycopg2.errors
import pytest
import requests

from etlproc import ES_PORTS, free_port, port_free  # noqa: F401 (fixtures below use them)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
NATIVE = REPO_ROOT / "compose" / "native"
SHARED_DIR = pathlib.Path(os.environ.get("ETL_SHARED_DIR") or REPO_ROOT.parent / "shared")
# The search servers es-node.sh can run (its ES_ENGINE), by what GET / says.
# config_file: the node's settings file (node/node_1/config/), which the
# runner writes only when it is absent.
ENGINES = {
    "opensearch": {"distribution": "opensearch", "version": "2.19.1",
                   "config_file": "opensearch.yml"},
    "elasticsearch7": {"distribution": "elasticsearch", "version": "7.10.2",
                       "config_file": "elasticsearch.yml"},
}
TEST_ENGINE = os.environ.get("ETL_TEST_ENGINE") or "opensearch"
if TEST_ENGINE not in ENGINES:
    raise RuntimeError(f"ETL_TEST_ENGINE={TEST_ENGINE}: not one of {', '.join(ENGINES)}")

# ---------------------------------------------------------------------------
# Cleanup that survives interrupts.

_cleanups = []  # callables still to run, newest last


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as exc:  # keep going: stop everything we can
            warnings.warn(f"cleanup {fn!r} failed: {exc}")


atexit.register(_run_cleanups)


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


for _sig in (signal.SIGTERM, signal.SIGHUP):
    if signal.getsignal(_sig) == signal.SIG_DFL:
        signal.signal(_sig, _raise_interrupt)


class _NoInterrupts:
    """Holds off SIGINT/SIGTERM/SIGHUP while a service is being stopped, so a
    second Ctrl-C cannot leave a server half stopped; the signal is acted on
    afterwards."""

    SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)

    def __exit__(self, *exc):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)
        return False


def _script(args, env=None, timeout=300):
    """Runs one of compose/native's scripts; raises with its output on failure."""
    proc = subprocess.run(
        [str(a) for a in args],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        start_new_session=True,  # servers it starts stay out of the terminal's Ctrl-C
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(str(a) for a in args)} exited {proc.returncode}:\n{proc.stdout}"
        )
    return proc.stdout


def _tempdir(prefix):
    """A temp dir that the cluster's OS user (postgres, when we are root) can
    traverse."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def _owned_dir(path):
    """Creates path (mode 0700) for the cluster's OS user: PostgreSQL writes
    there (pg_basebackup's target) and refuses a data directory others can
    read."""
    path = pathlib.Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def _pg_bindir():
    """PostgreSQL's programs (pg_ctl, pg_basebackup), found as pg-cluster.sh
    finds them."""
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    if not os.access(os.path.join(bindir, "pg_ctl"), os.X_OK):
        bindir = sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name))[-1]
    return pathlib.Path(bindir)


def _as_owner(argv):
    """argv run as the cluster's OS user when we are root, like
    pg-cluster.sh (PostgreSQL refuses to run as root)."""
    argv = [str(a) for a in argv]
    return ["runuser", "-u", "postgres", "--"] + argv if os.geteuid() == 0 else argv


def _libpq_quote(value):
    value = str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------------------
# PostgreSQL.


class PgCluster:
    """A throwaway PostgreSQL cluster.

    Attributes: dir (pathlib.Path; data in dir/data, socket in dir), port,
    host ('127.0.0.1'), dbname ('movies'), passwords (dict with keys
    'catalog_owner', 'app', 'etl'), log (dir/server.log).

    The superuser ``postgres`` connects through the socket in ``dir``; the
    other roles over TCP with their passwords.
    """

    ROLES = ("catalog_owner", "app", "etl")
    TEMPLATE = "movies"

    def __init__(self, base, passwords=None):
        """passwords: another cluster's, for one that takes its place (the
        ETL's password file stays right); new ones by default."""
        self.base = base
        self.dir = None
        self.port = None
        self.host = "127.0.0.1"
        self.dbname = self.TEMPLATE
        self.passwords = dict(passwords) if passwords else {
            role: secrets.token_urlsafe(18) for role in self.ROLES}
        self.catalogs = set()  # databases made by new_catalog(), not yet dropped
        self.running = False

    @property
    def log(self):
        return self.dir / "server.log"

    def _env(self, sample=True):
        env = dict(os.environ)
        for var in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE"):
            env.pop(var, None)
        env.update(
            CATALOG_OWNER_PASSWORD=self.passwords["catalog_owner"],
            APP_DB_PASSWORD=self.passwords["app"],
            ETL_DB_PASSWORD=self.passwords["etl"],
            PGDATABASE=self.TEMPLATE,
            LOAD_SAMPLE_DATA="1" if sample else "0",
        )
        return env

    def create(self, attempts=5, sample=True, standby_of=None):
        """initdb, start and initialise a new cluster on a free port (the
        catalogue empty when sample is false); or, standby_of another
        cluster, a hot standby of it (pg_basebackup -R: it streams from
        that one; its roles, passwords and data)."""
        last = None
        for attempt in range(attempts):
            self.dir = self.base / f"pg{attempt}"
            self.port = free_port()
            try:
                if standby_of is not None:
                    standby_of.base_backup(self.dir / "data", standby=True)
                _script([NATIVE / "pg-cluster.sh", "start", self.dir, self.port],
                        env=self._env(sample))
                self.running = True
                return
            except RuntimeError as exc:  # most likely the port was taken meanwhile
                last = exc
                self._stop_quietly()
                shutil.rmtree(self.dir, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL in {attempts} attempts: {last}")

    def start(self, port=None):
        """Starts the same cluster again (same dir and data; on port, when
        given, from then on)."""
        self.port = port or self.port
        _script([NATIVE / "pg-cluster.sh", "start", self.dir, self.port], env=self._env())
        self.running = True

    def stop(self):
        """Stops the server (fast shutdown); start() brings it back."""
        with _NoInterrupts():
            _script([NATIVE / "pg-cluster.sh", "stop", self.dir], env=self._env())
            self.running = False

    def ensure_running(self):
        if not self.running:
            self.start()

    def restart_immediate(self):
        """A crash and its recovery: pg_ctl restart -m immediate (every
        backend gets SIGQUIT, no checkpoint; the server comes back on the
        same port, replaying its WAL).  Returns once it accepts connections."""
        argv = _as_owner([_pg_bindir() / "pg_ctl", "-D", self.dir / "data", "-l", self.log,
                          "-m", "immediate", "-w", "-t", "120", "restart"])
        with _NoInterrupts():
            _script(argv, timeout=180)

    def base_backup(self, dest, standby=False):
        """pg_basebackup of the running cluster into the new directory dest,
        with the WAL it needs (-X stream); with standby, -R: started, it
        streams from this cluster.  Returns dest."""
        dest = pathlib.Path(dest)
        _owned_dir(dest.parent)
        _script(_as_owner([_pg_bindir() / "pg_basebackup", "-h", self.dir, "-p", self.port,
                           "-U", "postgres", "-D", dest, "-X", "stream", "-c", "fast"]
                          + (["-R"] if standby else [])))
        return dest

    def restore_base_backup(self, backup, **settings):
        """Replaces the data by a copy of backup (base_backup()) and starts
        it in archive recovery with settings (recovery_target='immediate',
        recovery_target_action='promote': the backup's end, then a new
        timeline).  restore_command fails: the WAL is in the backup.
        Returns once it is out of recovery."""
        self.stop()
        data = self.dir / "data"
        shutil.rmtree(data)
        _script(_as_owner(["cp", "-a", backup, data]))
        (data / "recovery.signal").touch()
        with open(data / "postgresql.auto.conf", "a") as conf:
            for key, value in {"restore_command": "/bin/false", **settings}.items():
                conf.write(f"{key} = {_libpq_quote(value)}\n")
        if os.geteuid() == 0:
            shutil.chown(data / "recovery.signal", "postgres", "postgres")
        self.start()
        # pg_ctl -w returns once hot standby accepts connections; recovery
        # and the promotion go on a moment longer.
        deadline = time.monotonic() + 60
        while self._admin("SELECT pg_is_in_recovery()")[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.dir}: still in recovery after 60 s")
            time.sleep(0.1)

    def dump(self, path, dbname=None):
        """pg_dump of a database (custom format) into path."""
        subprocess.run(["pg_dump", "-Fc", "-f", str(path), "-d", self.dsn("postgres", dbname)],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True)

    def restore_dump(self, path, dbname=None):
        """The database made anew from a dump() (pg_restore), with the
        database-level rights it had."""
        name = dbname or self.dbname
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        self._database_rights(name)
        proc = subprocess.run(["pg_restore", "--exit-on-error", "-d", self.dsn("postgres", name),
                               str(path)], stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_restore into {name} exited {proc.returncode}: {proc.stderr}")

    def burn_xids(self, past, dbname=None):
        """Commits empty transactions until the next transaction id is above
        past (as a busy database would): its ids move past what a state
        file read."""
        conn = self.connect("postgres", dbname)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                count = int(past) + 1 - cur.fetchone()[0]
                if count > 0:
                    cur.execute("DO $$ BEGIN FOR i IN 1..%s LOOP PERFORM pg_current_xact_id();"
                                " COMMIT; END LOOP; END $$" % int(count))
        finally:
            conn.close()

    def _stop_quietly(self):
        if self.dir is not None and (self.dir / "data" / "postmaster.pid").exists():
            try:
                self.stop()
            except Exception as exc:
                warnings.warn(f"stopping PostgreSQL in {self.dir}: {exc}")

    def dsn(self, role="postgres", dbname=None):
        """A libpq keyword/value connection string for ``role``."""
        parts = {"dbname": dbname or self.dbname, "user": role, "port": self.port}
        if role == "postgres":
            parts["host"] = self.dir
        else:
            parts["host"] = self.host
            parts["password"] = self.passwords[role]
        return " ".join(f"{k}={_libpq_quote(v)}" for k, v in parts.items())

    def connect(self, role="postgres", dbname=None, autocommit=True):
        """A psycopg2 connection as ``role`` (the caller closes it)."""
        conn = psycopg2.connect(self.dsn(role, dbname), connect_timeout=10)
        conn.autocommit = autocommit
        return conn

    def _admin(self, sql, params=None, dbname="postgres"):
        conn = self.connect("postgres", dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def new_catalog(self):
        """Creates a fresh copy of ``movies`` (schema, data, rights) and
        returns its name; dropped by drop_catalog() or at session end."""
        name = "catalog_" + secrets.token_hex(6)
        deadline = time.monotonic() + 10
        while True:
            try:
                self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}"')
                break
            except psycopg2.errors.ObjectInUse:
                # Someone is connected to the template; it needs to be alone.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.catalogs.add(name)
        # Database-level rights are not copied with the template.
        self._database_rights(name)
        return name

    def _database_rights(self, name):
        """The database-level rights etc/postgres/sql/00-roles.sql gives
        ``movies`` (it reads the passwords from the environment, _env()),
        on database name."""
        env = self._env()
        env.update(PGHOST=str(self.dir), PGPORT=str(self.port), PGUSER="postgres", PGDATABASE=name)
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-f", str(REPO_ROOT / "etc" / "postgres" / "sql" / "00-roles.sql")],
            env=env, check=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def drop_catalog(self, name):
        """Drops a database made by new_catalog(), ending its connections."""
        self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.catalogs.discard(name)

    def destroy(self):
        """Drops leftover catalogues, stops the server, removes its files."""
        if self.running:
            for name in sorted(self.catalogs):
                try:
                    self.drop_catalog(name)
                except Exception as exc:
                    warnings.warn(f"dropping {name}: {exc}")
        self._stop_quietly()
        shutil.rmtree(self.base, ignore_errors=True)


# ---------------------------------------------------------------------------
# The search node.


class SearchNode:
    """A real search node (see tests/elasticsearch/pom.xml): OpenSearch 2.19.1
    or Elasticsearch 7.10.2, as ETL_TEST_ENGINE says.

    Attributes: engine ('opensearch' or 'elasticsearch7'), expected (what
    GET / must say: {'distribution', 'version'}, and 'config_file'), url
    ('http://127.0.0.1:PORT'), port, dir (pathlib.Path; data in dir/node, log
    in dir/node.log).  HTTP helpers take a path relative to the node
    ('/_cat/indices') and return requests.Response objects.
    """

    def __init__(self, base, engine=TEST_ENGINE):
        self.base = base
        self.engine = engine
        self.expected = ENGINES[engine]
        self.dir = None
        self.port = None
        self.url = None
        self.running = False
        self.http = requests.Session()

    @property
    def log(self):
        return self.dir / "node.log"

    def _env(self):
        return dict(os.environ, ES_ENGINE=self.engine)

    def create(self, attempts=5):
        ports = [p for p in ES_PORTS]
        random.shuffle(ports)
        last = None
        for attempt in range(attempts):
            port = next((p for p in ports if port_free(p)), None)
            if port is None:
                raise RuntimeError("no free port in 9201..9299 for the search node")
            ports.remove(port)
            self.dir = self.base / f"es{attempt}"
            self.port = port
            self.url = f"http://127.0.0.1:{port}"
            try:
                _script([NATIVE / "es-node.sh", "start", self.dir, port], env=self._env(),
                        timeout=400)
                self.running = True
                return
            except RuntimeError as exc:  # port clash, or a failed start
                last = exc
                self._stop_quietly()
        raise RuntimeError(f"could not start the search node in {attempts} attempts: {last}")

    def start(self):
        """Starts the node again on the same port with the same data."""
        _script([NATIVE / "es-node.sh", "start", self.dir, self.port], env=self._env(),
                timeout=400)
        self.running = True

    def stop(self):
        """Stops the node (SIGTERM, then SIGKILL); start() brings it back."""
        with _NoInterrupts():
            _script([NATIVE / "es-node.sh", "stop", self.dir], timeout=120)
            self.running = False

    def ensure_running(self):
        if not self.running:
            self.start()

    def _stop_quietly(self):
        if self.dir is not None and (self.dir / "pid").exists():
            try:
                self.stop()
            except Exception as exc:
                warnings.warn(f"stopping the search node in {self.dir}: {exc}")

    def destroy(self):
        self._stop_quietly()
        self.http.close()
        shutil.rmtree(self.base, ignore_errors=True)

    # HTTP helpers --------------------------------------------------------

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.url + "/" + path.lstrip("/"), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def head(self, path, **kwargs):
        return self.request("HEAD", path, **kwargs)

    def json(self, method, path, body=None, **kwargs):
        """Sends a request and returns the decoded answer; raises on HTTP errors."""
        resp = self.request(method, path, json=body, **kwargs)
        if resp.status_code >= 400:
            raise requests.HTTPError(
                f"{method} {path}: {resp.status_code} {resp.text}", response=resp
            )
        return resp.json()

    def indices(self, prefix=""):
        """Names of the (non-hidden) indices whose names start with prefix."""
        rows = self.json("GET", f"/_cat/indices/{prefix}*?format=json&h=index")
        return sorted(r["index"] for r in rows if not r["index"].startswith("."))

    def delete_indices(self, prefix):
        """Deletes every index whose name starts with prefix (not empty)."""
        if not prefix:
            raise ValueError("delete_indices needs a prefix")
        names = self.indices(prefix)
        for name in names:
            # One may go meanwhile (a worker deleting an old index).
            resp = self.request("DELETE", f"/{name}")
            if resp.status_code not in (200, 404):
                raise requests.HTTPError(f"DELETE /{name}: {resp.status_code} {resp.text}",
                                         response=resp)
        return names

    def refresh(self, index="_all"):
        return self.json("POST", f"/{index}/_refresh")

    def count(self, index):
        self.refresh(index)
        return self.json("GET", f"/{index}/_count")["count"]

    def health(self, status="yellow", timeout="30s"):
        return self.json("GET", f"/_cluster/health?wait_for_status={status}&timeout={timeout}")


class ClusterNode(SearchNode):
    """One node of a SearchCluster: a SearchNode on a port chosen by the
    cluster, whose settings file (written before its first start) names its
    transport port and its peers', so the nodes form one cluster."""

    # The transport port of a node: its HTTP port + this (9201..9299 give
    # 10201..10299, away from the 9300.. range lone nodes take).
    TRANSPORT_OFFSET = 1000

    def __init__(self, base, engine, port, cluster_name):
        super().__init__(base, engine)
        self.dir = base
        self.port = port
        self.transport_port = port + self.TRANSPORT_OFFSET
        self.url = f"http://127.0.0.1:{port}"
        self.cluster_name = cluster_name

    def _env(self):
        return dict(super()._env(), ES_CLUSTER=self.cluster_name, ES_HEAP=SearchCluster.HEAP)

    def write_settings(self, peers):
        """The node's opensearch.yml (elasticsearch.yml): loopback, its own
        transport port, every peer (itself included) as a seed and as an
        initial cluster manager, named by transport address: the runner names
        every node "Node 1", so names cannot tell them apart."""
        conf = self.dir / "node" / "node_1" / "config"
        conf.mkdir(parents=True, exist_ok=True)
        addresses = ", ".join(f'"127.0.0.1:{p.transport_port}"' for p in peers)
        managers = ("cluster.initial_master_nodes" if self.engine == "elasticsearch7"
                    else "cluster.initial_cluster_manager_nodes")
        (conf / self.expected["config_file"]).write_text(
            "network.host: 127.0.0.1\n"
            f"transport.port: {self.transport_port}\n"
            f"discovery.seed_hosts: [{addresses}]\n"
            f"{managers}: [{addresses}]\n")

    def kill(self):
        """A crash: SIGKILL to the node's process group (maven and the JVM),
        then waits until it is gone.  start() brings it back."""
        pid_file = self.dir / "pid"
        pgid = int(pid_file.read_text().split()[0])
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        pid_file.unlink(missing_ok=True)
        self.running = False


class SearchCluster:
    """Several real search nodes (ClusterNode, one JVM each, ~HEAP of heap)
    forming one cluster of TEST_ENGINE.  url lists every node, as
    [elasticsearch] url takes it; nodes[i] can be killed, stopped and
    started; any_node() is a running node for the HTTP helpers."""

    HEAP = "320m"

    def __init__(self, base, size=3, engine=TEST_ENGINE):
        self.base = base
        self.size = size
        self.engine = engine
        self.expected = ENGINES[engine]
        self.name = f"etl-cluster-{secrets.token_hex(3)}"
        self.nodes = []

    @property
    def url(self):
        return " ".join(n.url for n in self.nodes)

    def create(self):
        ports = [p for p in ES_PORTS
                 if port_free(p) and port_free(p + ClusterNode.TRANSPORT_OFFSET)]
        if len(ports) < self.size:
            raise RuntimeError(f"not {self.size} free ports in 9201..9299 for the cluster")
        chosen = random.sample(ports, self.size)
        self.nodes = [ClusterNode(self.base / f"node{i}", self.engine, port, self.name)
                      for i, port in enumerate(chosen)]
        for node in self.nodes:
            node.write_settings(self.nodes)
        # Together: a node answers only once a majority of the initial
        # cluster managers has formed the cluster.
        self.start(self.nodes)

    def start(self, nodes):
        """Starts nodes at once (threads: es-node.sh returns once its node
        answers, which needs a majority up), then waits until every node of
        the cluster has joined."""
        errors = []

        def run(node):
            try:
                node.start()
            except Exception as exc:  # reported below, after every thread ended
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.wait_nodes(self.size)

    def wait_nodes(self, count, timeout=300):
        """Waits until count nodes are in the cluster (and its health answers)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                health = self.any_node().json(
                    "GET", f"/_cluster/health?wait_for_nodes={count}&timeout=5s", timeout=30)
                if health["number_of_nodes"] == count:
                    return health
                last = health
            except (requests.RequestException, RuntimeError) as exc:
                last = exc
            time.sleep(1)
        raise RuntimeError(f"the cluster has not {count} nodes after {timeout} s: {last}")

    def wait_green(self, index, timeout=300):
        """Waits until every shard copy of index is assigned and started."""
        return self.any_node().json(
            "GET", f"/_cluster/health/{index}?wait_for_status=green&timeout={timeout}s",
            timeout=timeout + 30)

    def any_node(self):
        for node in self.nodes:
            if node.running:
                return node
        raise RuntimeError("no node of the cluster runs")

    def ensure_running(self):
        """Starts the nodes a test stopped or killed; waits for all of them."""
        stopped = [n for n in self.nodes if not n.running]
        if stopped:
            self.start(stopped)

    def destroy(self):
        threads = [threading.Thread(target=n._stop_quietly) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for node in self.nodes:
            node.http.close()
        shutil.rmtree(self.base, ignore_errors=True)


# ---------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def bin_dir():
    return pathlib.Path(os.environ.get("ETL_BIN_DIR") or REPO_ROOT / "bin").resolve()


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED_DIR.is_dir():
        pytest.skip(f"the shared folder {SHARED_DIR} is absent (it sits beside the repository"
                    " in the course's checkout, or set ETL_SHARED_DIR)")
    return SHARED_DIR


def _service(service, **create_args):
    """Creates a service, registered for cleanup before it exists."""
    _cleanups.append(service.destroy)
    try:
        service.create(**create_args)
    except BaseException:
        _teardown(service)
        raise
    return service


def _teardown(service):
    """Destroys a service; it stays registered (for atexit) until that is done,
    so an interrupt in the middle cannot leave it running."""
    if service.destroy in _cleanups:
        with _NoInterrupts():
            service.destroy()
            _cleanups.remove(service.destroy)


def _session_service(service):
    """A session fixture's body: the service created, yielded, and destroyed
    when the session ends."""
    service = _service(service)
    try:
        yield service
    finally:
        _teardown(service)


@pytest.fixture(scope="session")
def pg():
    yield from _session_service(PgCluster(_tempdir("etl-it-pg-")))


@pytest.fixture
def catalog(pg):
    pg.ensure_running()
    name = pg.new_catalog()
    try:
        yield name
    finally:
        pg.ensure_running()
        pg.drop_catalog(name)


@pytest.fixture
def new_cluster():
    """Makes clusters of the test's own: new_cluster(sample=True,
    passwords=None, standby_of=None) -> a created PgCluster (an empty
    catalogue when sample is false; passwords: another cluster's, for one
    that takes its place; standby_of: a hot standby of that cluster, with
    its passwords).  Every one is destroyed after the test."""
    made = []

    def make(sample=True, passwords=None, standby_of=None):
        if standby_of is not None:
            passwords = standby_of.passwords
        cluster = _service(PgCluster(_tempdir("etl-it-pg-"), passwords), sample=sample,
                           standby_of=standby_of)
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in reversed(made):
            _teardown(cluster)


def _connection(pg, role, catalog):
    """A connection to the test's catalogue as role, closed after the test."""
    conn = pg.connect(role, catalog)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def app(pg, catalog):
    """The admin panel's role (writes the catalogue) on the test's catalogue."""
    yield from _connection(pg, "app", catalog)


@pytest.fixture
def admin(pg, catalog):
    """The superuser on the test's catalogue (DDL, prepared transactions)."""
    yield from _connection(pg, "postgres", catalog)


@pytest.fixture(scope="session")
def es():
    yield from _session_service(SearchNode(_tempdir("etl-it-es-")))


@pytest.fixture(scope="module")
def search_cluster():
    """Three search nodes forming one cluster (test_cluster.py only: it costs
    three JVMs); torn down with the module."""
    cluster = _service(SearchCluster(_tempdir("etl-it-cluster-")))
    try:
        yield cluster
    finally:
        _teardown(cluster)


@pytest.fixture
def workers():
    """Started workers, stopped at the end whatever happens."""
    started = []
    yield started
    for w in started:
        w.stop()
