"""The helpers the tests share: configuring and running the ETL's real
binaries, waiting on them, and reading and writing the catalogue and the
index.  One home for them, so no test file writes its own again.

make_config() writes an etl.ini derived from the shipped etc/etl.ini (so the
file users run is the file tested) with the test's services, directories and
overrides; EtlProcess runs a binary with its stderr captured to a file and
parses its logfmt lines; wait_caught_up() and wait_synced() wait on its log.
sql(), transaction() and run_in_transaction() talk to PostgreSQL;
all_documents(), document_versions() and document() read the index.
stop_process_group() stops a helper server; TcpProxy is the base of the
tests' TCP proxies.  integration_harness() lends this folder's fixtures to
the suites outside it.
"""
import contextlib
import importlib.util
import os
import pathlib
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ETC = REPO_ROOT / "etc"
# The search runner serves only 9200..9299; 9200 is the demo's.
ES_PORTS = range(9201, 9300)

# Keys whose relative paths must be made absolute when the config moves.
PATH_KEYS = {"mapping", "documents", "changes"}
# Grows a catalogue (run as postgres, % {"films": N}) to N film works by
# copying the sample's films with new ids, keeping their genre and person
# links (make bench, and verify's timing).
GROW_SQL = """
-- Copies every sample film (and its links) until there are %(films)s films:
-- one map of (sample film, copy number, new id) for all the copies, then
-- one INSERT per table, so the time grows with the catalogue, not with its
-- square (a loop over the copies scanned the growing tables once a copy).
SET session_replication_role = replica;  -- keep the copies' stamps simple
DO $$
DECLARE
    copies int := ceil((%(films)s - 999) / 999.0);
BEGIN
    IF copies < 1 THEN
        RETURN;
    END IF;
    CREATE TEMP TABLE map ON COMMIT DROP AS
        SELECT f.id AS old_id, c.copy, gen_random_uuid() AS new_id
          FROM content.film_work f CROSS JOIN generate_series(1, copies) AS c(copy)
         WHERE f.title NOT LIKE '%% #%%';
    INSERT INTO content.film_work (id, title, description, creation_date, rating, type, created, modified)
        SELECT m.new_id, f.title || ' #' || m.copy, f.description, f.creation_date, f.rating, f.type,
               f.created, f.modified
          FROM content.film_work f JOIN map m ON m.old_id = f.id;
    INSERT INTO content.genre_film_work (id, genre_id, film_work_id, created)
        SELECT gen_random_uuid(), g.genre_id, m.new_id, g.created
          FROM content.genre_film_work g JOIN map m ON m.old_id = g.film_work_id;
    INSERT INTO content.person_film_work (id, person_id, film_work_id, role, created)
        SELECT gen_random_uuid(), p.person_id, m.new_id, p.role, p.created
          FROM content.person_film_work p JOIN map m ON m.old_id = p.film_work_id;
    DROP TABLE map;
END $$;
ANALYZE;
"""

def integration_harness():
    """tests/integration/conftest.py as the module integration_harness
    (loaded once): the suites in other folders (tests/valgrind,
    tests/package), whose own conftest.py is "conftest", take its fixtures
    (pg, es, catalog, bin_dir) from it."""
    if "integration_harness" in sys.modules:
        return sys.modules["integration_harness"]
    spec = importlib.util.spec_from_file_location("integration_harness",
                                                  pathlib.Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]\s*$")
KEY_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def port_free(port):
    """True when nothing listens on 127.0.0.1:port and we could bind it."""
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A TCP port on 127.0.0.1 that is free now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_logfmt(line):
    """Parses one logfmt line into a dict (values unquoted)."""
    fields = {}
    for match in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        key, value = match.group(1), match.group(2)
        if value.startswith('"'):
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
        fields[key] = value
    return fields


def render_config(overrides=None, extra_sections="", source=None):
    """etc/etl.ini (or the file source: an installed one) with overrides
    {(section, key): value} applied (None removes the key; keys absent from
    the file are appended to their section) and paths made absolute, plus
    extra_sections appended."""
    overrides = dict(overrides or {})
    out, section, seen = [], None, set()

    def flush(sec):
        for (s, k), v in list(overrides.items()):
            if s == sec and (s, k) not in seen and v is not None:
                out.append(f"{k} = {v}")
                seen.add((s, k))

    for raw in pathlib.Path(source or ETC / "etl.ini").read_text().splitlines():
        m = SECTION_RE.match(raw)
        if m:
            flush(section)
            section = m.group(1)
            out.append(raw)
            continue
        m = KEY_RE.match(raw)
        if m and not raw.lstrip().startswith((";", "#")):
            key, value = m.group(1), m.group(2)
            if (section, key) in overrides:
                seen.add((section, key))
                value = overrides[(section, key)]
                if value is None:
                    continue
            if key in PATH_KEYS:
                value = " ".join(str(ETC / p) if not p.startswith("/") else p for p in value.split())
            out.append(f"{key} = {value}")
            continue
        out.append(raw)
    flush(section)
    return "\n".join(out) + "\n" + extra_sections


def make_config(tmp_path, pg, es, dbname, overrides=None, extra_sections="", indices=None,
                source=None):
    """Writes tmp_path/etl.ini for the test services, from source
    (render_config).  Index names get a
    unique suffix so tests never share an index; the mapping is returned as
    {section name: es index name}.  State, logs and the socket live in
    tmp_path."""
    suffix = secrets.token_hex(4)
    names = indices or ["movies"]
    index_names = {name: f"{name}_{suffix}" for name in names}
    base = {
        ("etl", "state_dir"): str(tmp_path / "state"),
        ("etl", "poll_interval_ms"): "200",
        ("etl", "backoff_initial_ms"): "100",
        ("etl", "backoff_max_ms"): "1000",
        ("etl", "log_level"): "info",
        ("postgres", "host"): pg.host,
        ("postgres", "port"): str(pg.port),
        ("postgres", "dbname"): dbname,
        ("postgres", "user"): "etl",
        ("postgres", "password_file"): str(_password_file(tmp_path, pg.passwords["etl"])),
        ("elasticsearch", "url"): es.url,
        ("supervisor", "control_socket"): str(tmp_path / "control.sock"),
    }
    for name, index in index_names.items():
        base[(f"index.{name}", "index")] = index
    base.update(overrides or {})
    text = render_config(base, extra_sections, source)
    # Sections of indices not asked for are dropped.
    text = _drop_index_sections(text, keep=set(names))
    path = tmp_path / "etl.ini"
    path.write_text(text)
    return path, index_names


def _drop_index_sections(text, keep):
    out, skipping = [], False
    for line in text.splitlines():
        m = SECTION_RE.match(line)
        if m:
            sec = m.group(1)
            skipping = sec.startswith("index.") and sec[len("index."):] not in keep
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def _password_file(tmp_path, password):
    path = tmp_path / "etl.password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def clean_env():
    """The environment without the ETL_* and PG* variables a developer may
    have set, so only the test's config speaks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "PG"))}
    return env


class EtlProcess:
    """A running etl-worker / etl-supervisor with captured output."""

    def __init__(self, argv, log_path, env=None, stdout_path=None):
        self.argv = [str(a) for a in argv]
        self.log_path = pathlib.Path(log_path)
        self.stdout_path = pathlib.Path(stdout_path) if stdout_path else None
        self._log = open(self.log_path, "ab")
        self._out = open(self.stdout_path, "ab") if self.stdout_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.argv, stdout=self._out, stderr=self._log, stdin=subprocess.DEVNULL,
            env=env if env is not None else clean_env(),
        )

    @property
    def pid(self):
        return self.proc.pid

    def text(self):
        return self.log_path.read_text(errors="replace")

    def events(self, msg=None):
        """The parsed log lines (optionally only those with msg)."""
        out = []
        for line in self.text().splitlines():
            if "msg=" not in line:
                continue
            fields = parse_logfmt(line)
            if msg is None or fields.get("msg") == msg:
                out.append(fields)
        return out

    def wait_for(self, predicate, timeout=30, what="condition", poll=0.1):
        """Waits until predicate(events) is true; fails on timeout or exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate(self.events())
            if result:
                return result
            if self.proc.poll() is not None:
                result = predicate(self.events())
                if result:
                    return result
                raise AssertionError(f"process exited ({self.proc.returncode}) before {what}:\n{self.text()[-4000:]}")
            time.sleep(poll)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n{self.text()[-4000:]}")

    def signal(self, signo):
        self.proc.send_signal(signo)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=30):
        """SIGTERM and wait, then close(); returns the exit status.  A
        process that has already exited is only closed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self):
        """Kills the process if it still runs and checks its output for
        sanitizer reports (the suite also runs against ASan/UBSan builds)."""
        self.kill()
        if not self._log.closed:
            self._log.close()
            if self._out is not subprocess.DEVNULL:
                self._out.close()
            assert_no_sanitizer_report(self.text(), " ".join(self.argv))


def run_worker(bin_dir, config, index="movies", log_path=None, env=None):
    """Starts etl-worker for index; the caller stops it."""
    log_path = log_path or pathlib.Path(config).parent / f"worker-{index}-{secrets.token_hex(3)}.log"
    return EtlProcess([pathlib.Path(bin_dir) / "etl-worker", "--index", index, "-c", config], log_path, env=env)


def start_worker(workers, bin_dir, config, index="movies"):
    """Starts etl-worker for index and adds it to workers (the fixture's
    list, whose teardown stops it); returns it."""
    w = run_worker(bin_dir, config, index)
    workers.append(w)
    return w


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(text, what):
    """Fails when an ASan/UBSan build of the binaries reported anything."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            at = text.index(mark)
            raise AssertionError(f"sanitizer report from {what}:\n{text[max(0, at - 200):at + 3000]}")


def wait_until(predicate, timeout=30, interval=0.2, what="condition"):
    """Polls predicate until it returns something true."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def all_documents(es, index):
    """Every document of index as {id: _source} (after a refresh)."""
    es.post(f"/{index}/_refresh")
    resp = es.post(f"/{index}/_search", json={"size": 10000, "query": {"match_all": {}}})
    resp.raise_for_status()
    return {hit["_id"]: hit["_source"] for hit in resp.json()["hits"]["hits"]}


def document_versions(es, index):
    """{id: _seq_no} of every document of index: the shard's sequence
    number of the last write of each, which moves with every write (the
    _version is the external version of the snapshot the worker read it
    in, which two writes of the same state share)."""
    es.post(f"/{index}/_refresh")
    resp = es.post(f"/{index}/_search", json={"size": 10000, "seq_no_primary_term": True,
                                                "_source": False, "query": {"match_all": {}}})
    resp.raise_for_status()
    return {hit["_id"]: hit["_seq_no"] for hit in resp.json()["hits"]["hits"]}


def resent(before, after):
    """The ids whose documents were re-sent between two document_versions()
    readings: version changed, created or deleted."""
    return {i for i in set(before) | set(after) if before.get(i) != after.get(i)}


def document(es, index, doc_id):
    """The _source of one document of index, or None when it is absent."""
    resp = es.get(f"/{index}/_doc/{doc_id}")
    return resp.json().get("_source") if resp.status_code == 200 else None


def caught_up_since(n=0):
    """A wait_for predicate: true once a "caught up" line follows the
    worker's event number n."""
    return lambda ev: any(e.get("msg") == "caught up" for e in ev[n:])


def wait_caught_up(worker, timeout=120, what="caught up", after=0):
    """Waits until worker (an EtlProcess) has logged more than after
    "caught up" lines: with after=0, its first load is done."""
    worker.wait_for(lambda ev: sum(e.get("msg") == "caught up" for e in ev) > after,
                    timeout=timeout, what=what)


def wait_synced(worker, batches_before, timeout=30):
    """Waits until worker has logged more batch lines than batches_before
    and then caught up: a change made after it had logged batches_before
    is in the index."""
    def settled(ev):
        batch_at = [i for i, e in enumerate(ev) if e.get("msg") == "batch"]
        caught = [i for i, e in enumerate(ev) if e.get("msg") == "caught up"]
        return len(batch_at) > batches_before and caught and caught[-1] > batch_at[-1]
    worker.wait_for(settled, timeout=timeout, what="the change to be synced")


def retries(worker, what):
    """The worker's retry lines for what ("postgres", "elasticsearch")."""
    return [e for e in worker.events("retry") if e.get("what") == what]


def sql(conn, statement, params=None):
    """Runs one statement on conn; returns its rows, or its row count when
    it returns none."""
    with conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else cur.rowcount


@contextlib.contextmanager
def transaction(pg, role, dbname, commit=True):
    """A cursor of a new connection as role to dbname, in one transaction:
    committed when the block ends normally (with commit=False, rolled back
    however it ends: a test that must leave nothing behind), rolled back
    when it raises; the connection is closed either way."""
    conn = pg.connect(role, dbname, autocommit=False)
    try:
        with conn.cursor() as cur:
            yield cur
        if commit:
            conn.commit()
    finally:
        if not commit:
            conn.rollback()
        conn.close()


def run_in_transaction(pg, dbname, statements, role="app"):
    """Runs statements, (statement, params) pairs, in one transaction as
    role, committed; returns the last one's rows (None when it returns
    none)."""
    rows = None
    with transaction(pg, role, dbname) as cur:
        for statement, params in statements:
            cur.execute(statement, params)
            rows = cur.fetchall() if cur.description else None
    return rows


def stop_process_group(proc, signo=signal.SIGTERM, timeout=30):
    """Stops a server started with start_new_session=True: signo to its
    process group, then SIGKILL if it has not exited within timeout."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signo)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


class TcpProxy:
    """A TCP proxy to (host, port) listening on 127.0.0.1:self.port.  Each
    connection accepted (numbered from 0 in self.accepted's order) is
    paired with a new connection to the target and handed to
    self.pair(number, client, server), which a subclass writes to pump
    them its way; a client whose target connection fails is closed.  A
    subclass sets up its own fields, then calls start().  Closing
    self.listener ends the accepting thread."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.accepted = 0

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            while True:
                client = self.listener.accept()[0]
                with self.lock:
                    number = self.accepted
                    self.accepted += 1
                try:
                    server = socket.create_connection(self.target, timeout=5)
                    server.settimeout(None)
                except OSError:
                    client.close()
                    continue
                self.pair(number, client, server)
        except OSError:
            return  # the listener was closed

    def pair(self, number, client, server):
        raise NotImplementedError


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(directory, name):
    """A self-signed test CA made with openssl: directory/name.key and directory/name.crt."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN=etl test {name}", "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def make_cert(directory, name, ca, extensions):
    """directory/name.key and name.crt, signed by ca (made by make_ca in
    directory), with extensions (an openssl extension file's lines)."""
    (directory / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
             "-out", f"{name}.crt", cwd=directory)
