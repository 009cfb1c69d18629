"""etl-supervisor and etlctl with real processes, a real PostgreSQL and a
real search node: one worker per index, restarts with backoff, signals,
the control socket, tagged logs and log files, SIGHUP reloads.

Some tests run a fake worker (a shell script named by worker_path) whose
output and lifetime the test controls: the supervisor's own behaviour
(line handling, pids, stop/start) is then tested without waiting for
loads."""
import json
import os
import pathlib
import signal
import socket
import stat
import subprocess
import time

import pytest

from etlproc import (EtlProcess, all_documents, clean_env, document, free_port, make_config,
                     parse_logfmt, sql, wait_until)
from expected_docs import assert_index_matches

INDICES = ["movies", "genres", "persons"]
COUNTS = {"movies": 999, "genres": 26, "persons": 4166}
# The first change source of each index: its own rows (state file key).
OWN_SOURCE = {"movies": "film_work", "genres": "genre", "persons": "person"}
OWN_TABLE = {"movies": "film_work", "genres": "genre", "persons": "person"}
STATUS_KEYS = ["name", "index", "pid", "state", "uptime_s", "restarts", "last_exit",
               "next_start_ms", "last_batch", "batches", "docs_sent", "cursor_modified", "cursor_id",
               "lag_s", "held_s", "held_by", "concrete", "build", "build_docs", "engine", "engine_version",
               "reason", "node"]

# etlctl's exit statuses (etlctl --help, docs/operations.md).
EXIT_USAGE, EXIT_UNKNOWN_WORKER, EXIT_NOT_RUNNING, EXIT_CONFIG = 64, 67, 69, 78
# etl-supervisor's.
EXIT_ALREADY_RUNNING = 75

# Fast restarts for tests; stop_timeout small so SIGKILL paths are quick.
SUPERVISOR_SETTINGS = {
    ("supervisor", "restart_initial_ms"): "300",
    ("supervisor", "restart_max_ms"): "2000",
    ("supervisor", "restart_reset_after_s"): "60",
    ("supervisor", "stop_timeout_s"): "5",
}


class Supervisor:
    """A running etl-supervisor: its stdout (where every line goes) parsed,
    etlctl at hand."""

    def __init__(self, bin_dir, config, tmp_path, env=None, control_socket=None, launcher=()):
        """launcher: argv put before the supervisor's own, a program that
        ends by exec'ing it (so pid is the supervisor's)."""
        self.bin_dir = pathlib.Path(bin_dir)
        self.config = config
        # etlctl is pointed at the socket itself, so it works while the
        # config file is being broken on purpose.
        self.socket = control_socket or tmp_path / "control.sock"
        self.stdout_path = tmp_path / f"supervisor-{time.monotonic_ns()}.out"
        self.proc = EtlProcess([*launcher, self.bin_dir / "etl-supervisor", "-c", config],
                               tmp_path / "supervisor.err", env=env,
                               stdout_path=self.stdout_path)

    @property
    def pid(self):
        return self.proc.pid

    def lines(self):
        return self.stdout_path.read_text(errors="replace").splitlines()

    def events(self, msg=None, **fields):
        """Parsed stdout lines, optionally only those with msg and fields."""
        out = []
        for line in self.lines():
            ev = parse_logfmt(line)
            if msg is not None and ev.get("msg") != msg:
                continue
            if all(ev.get(k) == v for k, v in fields.items()):
                out.append(ev)
        return out

    def wait_event(self, msg, count=1, timeout=60, **fields):
        def found():
            self.check_alive()
            ev = self.events(msg, **fields)
            return ev if len(ev) >= count else None
        return wait_until(found, timeout=timeout, what=f"{count} x msg={msg} {fields}")

    def check_alive(self):
        if self.proc.proc.poll() is not None:
            raise AssertionError(f"supervisor exited {self.proc.proc.returncode}:\n"
                                 + "\n".join(self.lines()[-40:])
                                 + (self.proc.log_path.read_text() if self.proc.log_path.exists() else ""))

    def ctl(self, *args, timeout=60):
        return subprocess.run([str(self.bin_dir / "etlctl"), "-s", str(self.socket), *args],
                              capture_output=True, text=True, timeout=timeout, env=clean_env())

    def status(self):
        """{name: status fields} from etlctl status."""
        result = self.ctl("status")
        assert result.returncode == 0, result.stderr
        out = {}
        for line in result.stdout.splitlines():
            fields = parse_logfmt(line)
            assert list(fields) == STATUS_KEYS, line
            out[fields["name"]] = fields
        return out

    def pids(self):
        return {name: int(s["pid"]) for name, s in self.status().items()}

    def wait_caught_up(self, names, timeout=180):
        """Waits until every worker in names logged 'caught up' (through
        the supervisor)."""
        def done():
            self.check_alive()
            ev = self.events("caught up")
            return all(any(e.get("worker") == n for e in ev) for n in names)
        wait_until(done, timeout=timeout, what=f"{names} caught up")

    def signal(self, signo):
        self.proc.signal(signo)

    def assert_no_sanitizer_report(self):
        """A sanitizer build reports on stderr: the supervisor's own, or a
        worker's, which arrives wrapped in msg=output lines."""
        err = self.proc.log_path.read_text(errors="replace") if self.proc.log_path.exists() else ""
        out = self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""
        for marker in ("Sanitizer", "runtime error:"):
            assert marker not in err and marker not in out, (err + out)[-4000:]

    def stop(self, timeout=30):
        return self.proc.stop(timeout=timeout)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# --- fixtures -----------------------------------------------------------------------


class Stack:
    """A supervisor over its own catalogue copy and its own indices."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides=None, extra_sections="",
                 indices=INDICES, env=None, launcher=()):
        self.tmp_path, self.pg, self.es, self.catalog, self.bin_dir = tmp_path, pg, es, catalog, bin_dir
        settings = dict(SUPERVISOR_SETTINGS)
        settings[("supervisor", "log_dir")] = str(tmp_path / "logs")
        settings.update(overrides or {})
        self.config, self.names = make_config(tmp_path, pg, es, catalog, overrides=settings,
                                              extra_sections=extra_sections, indices=indices)
        self.sup = Supervisor(bin_dir, self.config, tmp_path, env=env, launcher=launcher)
        self.app = pg.connect("app", catalog)

    def sql(self, statement, params=None):
        return sql(self.app, statement, params)

    def doc(self, name, doc_id):
        return document(self.es, self.names[name], doc_id)

    def close(self):
        self.app.close()
        self.sup.stop()
        self.sup.assert_no_sanitizer_report()
        for index in self.names.values():
            self.es.delete_indices(index)


@pytest.fixture
def stack(tmp_path, pg, es, catalog, bin_dir):
    s = Stack(tmp_path, pg, es, catalog, bin_dir)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def loaded(stack):
    """The stack once all three indices are built."""
    stack.sup.wait_caught_up(INDICES)
    return stack


FAKE_WORKER = r"""#!/bin/sh
# A stand-in for etl-worker: --index NAME -c FILE.  Writes the kinds of
# lines the supervisor must handle, and events on its status channel,
# then ticks until SIGTERM.
name=$2
ts() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }
event() { printf '%s\n' "$1" >&"$ETL_STATUS_FD"; }
trap 'printf "ts=%s level=info worker=%s pid=%s msg=stopped\n" "$(ts)" "$name" $$; exit 0' TERM
printf 'ts=%s level=info worker=%s pid=%s msg=started index=fake\n' "$(ts)" "$name" $$
event '{"event":"started"}'
printf 'plain words from %s, "quoted" and \\ backslash\n' "$name"
printf 'half of '; sleep 0.3; printf 'a line\n'
head -c 10000 /dev/zero | tr '\0' x; printf '\n'
printf 'ts=%s level=info worker=%s pid=%s msg=batch index=fake source=s rows=2 docs=2 indexed=2 deleted=0 rejected=0 cursor_modified="2021-06-16 20:14:09.247396+00" cursor_id=abc lag_s=3.500 took_ms=1\n' "$(ts)" "$name" $$
printf 'ts=%s level=info worker=%s pid=%s msg=batch index=fake source=s rows=3 docs=3 indexed=3 deleted=0 rejected=0 cursor_modified="2021-06-16 20:15:00.000000+00" cursor_id=def lag_s=2.000 took_ms=1\n' "$(ts)" "$name" $$
event '{"event":"batch","source":"s","rows":2,"docs":2,"indexed":2,"deleted":0,"rejected":0,"bytes":10,"query_ms":1,"bulk_ms":1,"took_ms":1,"cursor_modified":"2021-06-16 20:14:09.247396+00","cursor_id":"abc","lag_s":3.5,"held_s":0}'
event '{"event":"batch","source":"s","rows":3,"docs":3,"indexed":3,"deleted":0,"rejected":0,"bytes":10,"query_ms":1,"bulk_ms":1,"took_ms":1,"cursor_modified":"2021-06-16 20:15:00.000000+00","cursor_id":"def","lag_s":2.0,"held_s":0}'
printf 'no newline at the end'
printf '\n'
while :; do
    printf 'ts=%s level=info worker=%s pid=%s msg=tick\n' "$(ts)" "$name" $$
    sleep 0.2
done
"""


@pytest.fixture
def fake(tmp_path, pg, es, bin_dir):
    """A supervisor running fake workers for movies, genres and persons
    (no database or index is touched)."""
    script = tmp_path / "fake-worker.sh"
    script.write_text(FAKE_WORKER)
    script.chmod(0o755)
    overrides = dict(SUPERVISOR_SETTINGS)
    overrides[("supervisor", "worker_path")] = str(script)
    overrides[("supervisor", "log_dir")] = str(tmp_path / "logs")
    config, _ = make_config(tmp_path, pg, es, "unused", overrides=overrides, indices=INDICES)
    sup = Supervisor(bin_dir, config, tmp_path)
    try:
        sup.wait_event("tick", count=3)
        yield sup
    finally:
        sup.stop()
        sup.assert_no_sanitizer_report()


# --- building the indices -------------------------------------------------------------

def test_builds_all_three_indices_from_the_sample_data(loaded, es):
    for name, count in COUNTS.items():
        assert es.count(loaded.names[name]) == count, name
    for name in INDICES:
        assert_index_matches(loaded.app, name, es, loaded.names[name])
    status = loaded.sup.status()
    assert set(status) == set(INDICES)
    for name, s in status.items():
        assert s["state"] == "running"
        assert int(s["pid"]) > 0 and pid_alive(int(s["pid"]))
        assert s["index"] == loaded.names[name]
        assert int(s["docs_sent"]) >= COUNTS[name]
        assert s["last_batch"].endswith("Z")
        assert s["cursor_modified"] and s["cursor_id"]
        assert s["lag_s"] == "0"  # caught up after its last batch
        assert s["restarts"] == "0" and s["last_exit"] == ""
    # One status line per name too.
    one = loaded.sup.ctl("status", "genres")
    assert one.returncode == 0
    assert [parse_logfmt(line)["name"] for line in one.stdout.splitlines()] == ["genres"]


# --- restarts ------------------------------------------------------------------------

def test_kill_9_restarts_only_that_worker_after_its_backoff(loaded, es):
    sup = loaded.sup
    before = sup.pids()
    os.kill(before["movies"], signal.SIGKILL)
    started = sup.wait_event("worker started", count=2, child="movies")[-1]
    exited = sup.events("worker exited", child="movies")[-1]
    scheduled = sup.events("restart scheduled", child="movies")[-1]
    assert exited["signal"] == "9" and exited["expected"] == "false"
    delay = int(scheduled["delay_ms"])
    assert 150 <= delay <= 300  # restart_initial_ms 300, jitter in its upper half
    gap_ms = (parse_ts(started["ts"]) - parse_ts(exited["ts"])) * 1000
    assert gap_ms >= delay - 5
    after = sup.pids()
    assert after["movies"] != before["movies"] and after["movies"] == int(started["child_pid"])
    assert {n: p for n, p in after.items() if n != "movies"} == \
        {n: p for n, p in before.items() if n != "movies"}
    status = sup.status()["movies"]
    assert status["restarts"] == "1" and status["last_exit"] == "signal:9"
    # The restarted worker resumes; a change made now reaches every index.
    film = loaded.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    loaded.sql("UPDATE content.film_work SET title = 'Restarted Worker Title' WHERE id = %s", (film,))
    wait_until(lambda: (loaded.doc("movies", film) or {}).get("title") == "Restarted Worker Title",
               timeout=60, what="the change after the restart")
    wait_until(lambda: sup.status()["movies"]["lag_s"] == "0", timeout=30, what="caught up")
    for name in INDICES:
        assert_index_matches(loaded.app, name, es, loaded.names[name])


def parse_ts(text):
    """Seconds since the epoch of a ts= value."""
    import datetime
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_worker_failing_forever_backs_off_to_the_cap_while_others_sync(
        tmp_path, pg, es, catalog, bin_dir):
    etc = pathlib.Path(__file__).resolve().parents[2] / "etc"
    broken = ("\n[index.broken]\n"
              f"index = broken_{os.getpid()}\n"
              "mapping = /nonexistent/broken.json\n"
              f"documents = {etc}/sql/genres/documents.sql\n"
              f"changes = {etc}/sql/genres/genre.sql\n")
    s = Stack(tmp_path, pg, es, catalog, bin_dir, extra_sections=broken,
              indices=INDICES + ["broken"],
              overrides={("supervisor", "restart_initial_ms"): "100",
                         ("supervisor", "restart_max_ms"): "800"})
    try:
        s.sup.wait_caught_up(INDICES)
        scheduled = s.sup.wait_event("restart scheduled", count=8, child="broken", timeout=60)
        delays = [int(e["delay_ms"]) for e in scheduled]
        assert all(d <= 800 for d in delays), delays
        assert delays[0] <= 100
        # Doubling with jitter in the upper half: by the 5th it is at the
        # cap, each in [400, 800].
        assert all(400 <= d <= 800 for d in delays[4:]), delays
        exits = s.sup.events("worker exited", child="broken")
        assert all(e.get("status") == "78" for e in exits)
        # The worker's reason reaches the log, tagged with its name.
        assert s.sup.events("bad mapping file", worker="broken")
        s.sup.check_alive()
        status = s.sup.status()
        assert status["broken"]["state"] in ("backoff", "starting")
        assert status["broken"]["last_exit"] == "78"
        assert int(status["broken"]["restarts"]) >= 7
        # The others keep syncing.
        genre = s.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")[0][0]
        s.sql("UPDATE content.genre SET name = 'Backoff Proof' WHERE id = %s", (genre,))
        wait_until(lambda: (s.doc("genres", genre) or {}).get("name") == "Backoff Proof",
                   timeout=30, what="the genre change while a worker fails")
        assert all(status[n]["restarts"] == "0" for n in INDICES)
    finally:
        s.close()


# --- stopping --------------------------------------------------------------------------

def test_sigterm_stops_everything_within_stop_timeout_with_state_saved(
        tmp_path, pg, es, catalog, bin_dir):
    s = Stack(tmp_path, pg, es, catalog, bin_dir, overrides={("etl", "batch_size"): "50"})
    try:
        # Every worker past its first batch (each state file then names
        # some rows; on a busy machine one may start slower than persons).
        for name in ("movies", "genres"):
            s.sup.wait_event("batch", worker=name, timeout=120)
        s.sup.wait_event("batch", count=6, worker="persons", timeout=120)
        pids = s.sup.pids()
        assert all(pids.values())
        s.sup.signal(signal.SIGTERM)
        t0 = time.monotonic()
        assert s.sup.proc.wait(timeout=30) == 0
        assert time.monotonic() - t0 < 5 + 2  # stop_timeout_s 5
        for name, pid in pids.items():
            assert not pid_alive(pid), name
            assert s.sup.events("stopped", worker=name), name
            exited = s.sup.events("worker exited", child=name)[-1]
            assert exited["status"] == "0" and exited["expected"] == "true"
        assert s.sup.events("stopped", worker="supervisor")
        assert not (tmp_path / "control.sock").exists()
        # Each state file names exactly what the index holds.
        for name in INDICES:
            path = tmp_path / "state" / f"{name}.state"
            cursor = json.loads(path.read_text())["sources"][OWN_SOURCE[name]]
            rows = s.sql(f"SELECT id::text FROM content.{OWN_TABLE[name]}"
                         " WHERE (txid, id) <= (%s::xid8, %s::uuid)",
                         (cursor["txid"], cursor["id"]))
            done = {r[0] for r in rows}
            assert done and set(all_documents(es, s.names[name])) == done, name
        assert len(done) < COUNTS["persons"]  # it was stopped mid-load
    finally:
        s.close()


def test_workers_die_with_the_supervisor(loaded):
    pids = loaded.sup.pids()
    os.kill(loaded.sup.pid, signal.SIGKILL)
    loaded.sup.proc.wait(timeout=10)
    wait_until(lambda: not any(pid_alive(p) for p in pids.values()), timeout=15,
               what="the workers to exit after the supervisor died")


# --- etlctl ------------------------------------------------------------------------------

def test_etlctl_restart_changes_only_that_pid(loaded, es):
    before = loaded.sup.pids()
    result = loaded.sup.ctl("restart", "movies")
    assert result.returncode == 0, result.stderr
    line = parse_logfmt(result.stdout.strip())
    assert line["name"] == "movies" and line["state"] in ("starting", "running")
    after = loaded.sup.pids()
    assert int(line["pid"]) == after["movies"] != before["movies"]
    assert {n: after[n] for n in ("genres", "persons")} == {n: before[n] for n in ("genres", "persons")}
    assert not pid_alive(before["movies"])
    # Asked for: no backoff, and the exit is not counted as a failure.
    exited = loaded.sup.events("worker exited", child="movies")[-1]
    assert exited["expected"] == "true"
    assert not loaded.sup.events("restart scheduled", child="movies")
    # It resumed from its state: nothing to send again.
    loaded.sup.wait_event("started", count=2, worker="movies")
    assert loaded.sup.events("started", worker="movies")[-1]["state"] == "resumed"
    assert es.count(loaded.names["movies"]) == 999


def test_etlctl_stop_keeps_it_stopped_until_start(loaded):
    genre = loaded.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")[0][0]
    before = loaded.sup.pids()
    result = loaded.sup.ctl("stop", "genres")
    assert result.returncode == 0, result.stderr
    assert parse_logfmt(result.stdout)["state"] == "stopped"
    assert not pid_alive(before["genres"])
    loaded.sql("UPDATE content.genre SET name = 'While Stopped' WHERE id = %s", (genre,))
    time.sleep(2)  # more than the restart delay and a few poll intervals
    status = loaded.sup.status()
    assert status["genres"]["state"] == "stopped" and status["genres"]["pid"] == "0"
    assert loaded.doc("genres", genre)["name"] != "While Stopped"
    # The movies worker (another index) is untouched and syncs the rename.
    assert status["movies"]["pid"] == str(before["movies"])
    result = loaded.sup.ctl("start", "genres")
    assert result.returncode == 0, result.stderr
    assert int(parse_logfmt(result.stdout)["pid"]) > 0
    wait_until(lambda: loaded.doc("genres", genre)["name"] == "While Stopped", timeout=30,
               what="the change once started again")
    # start on a running worker changes nothing.
    pid = loaded.sup.pids()["genres"]
    assert loaded.sup.ctl("start", "genres").returncode == 0
    assert loaded.sup.pids()["genres"] == pid


def test_etlctl_errors_and_exit_codes(fake, tmp_path, bin_dir):
    etlctl = str(bin_dir / "etlctl")
    unknown = fake.ctl("restart", "nosuch")
    assert unknown.returncode == EXIT_UNKNOWN_WORKER
    assert 'no worker named "nosuch"' in unknown.stderr
    assert fake.ctl("status", "nosuch").returncode == EXIT_UNKNOWN_WORKER
    for args in ([], ["restart"], ["frobnicate"], ["reopen-logs", "movies"], ["stop", "a", "b"]):
        result = fake.ctl(*args)
        assert result.returncode == EXIT_USAGE, (args, result.stderr)
        assert "usage:" in result.stderr
    gone = subprocess.run([etlctl, "-s", str(tmp_path / "no.sock"), "status"],
                          capture_output=True, text=True, env=clean_env())
    assert gone.returncode == EXIT_NOT_RUNNING
    assert "supervisor is not running" in gone.stderr
    # A socket file nobody listens on (a supervisor that was SIGKILLed).
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))
    refused = subprocess.run([etlctl, "-s", str(stale), "status"], capture_output=True,
                             text=True, env=clean_env())
    assert refused.returncode == EXIT_NOT_RUNNING
    bad_config = tmp_path / "bad.ini"
    bad_config.write_text("[nonsense]\n")
    result = subprocess.run([etlctl, "-c", str(bad_config), "status"], capture_output=True,
                            text=True, env=clean_env())
    assert result.returncode == EXIT_CONFIG
    assert f"{bad_config}:1: nonsense: unknown section" in result.stderr
    # -s and the environment variable name the socket without a config.
    env = clean_env()
    env["ETL_CONTROL_SOCKET"] = str(tmp_path / "control.sock")
    assert subprocess.run([etlctl, "status"], env=env, capture_output=True).returncode == 0
    assert subprocess.run([etlctl, "-s", str(tmp_path / "control.sock"), "status"],
                          env=clean_env(), capture_output=True).returncode == 0


def test_help_and_version(bin_dir):
    for program in ("etl-supervisor", "etlctl"):
        helped = subprocess.run([str(bin_dir / program), "--help"], capture_output=True, text=True)
        assert helped.returncode == 0
        assert "usage:" in helped.stdout and "Exit status" in helped.stdout
        version = subprocess.run([str(bin_dir / program), "--version"], capture_output=True,
                                 text=True)
        assert version.returncode == 0 and version.stdout.startswith(program + " ")
    bad = subprocess.run([str(bin_dir / "etl-supervisor"), "--bogus"], capture_output=True)
    assert bad.returncode == EXIT_USAGE


def test_supervisor_refuses_bad_config_and_a_second_instance(fake, tmp_path, bin_dir):
    bad = tmp_path / "bad.ini"
    bad.write_text("[etl]\nbatch_size = lots\n")
    result = subprocess.run([str(bin_dir / "etl-supervisor"), "-c", str(bad)],
                            capture_output=True, text=True, timeout=10, env=clean_env())
    assert result.returncode == EXIT_CONFIG
    assert f"{bad}:2: batch_size:" in result.stderr
    second = subprocess.run([str(bin_dir / "etl-supervisor"), "-c", str(fake.config)],
                            capture_output=True, text=True, timeout=10, env=clean_env())
    assert second.returncode == EXIT_ALREADY_RUNNING
    assert "another supervisor" in second.stderr
    # The first one is unharmed, socket included.
    assert fake.ctl("status").returncode == 0


def test_stale_socket_is_replaced_and_mode_applied(tmp_path, pg, es, bin_dir):
    script = tmp_path / "fake-worker.sh"
    script.write_text(FAKE_WORKER)
    script.chmod(0o755)
    sock_path = tmp_path / "run" / "ctl.sock"
    sock_path.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))  # left behind, as by a SIGKILLed supervisor
    config, _ = make_config(tmp_path, pg, es, "unused", indices=["genres"], overrides={
        ("supervisor", "worker_path"): str(script),
        ("supervisor", "control_socket"): str(sock_path),
        ("supervisor", "control_socket_mode"): "0660"})
    sup = Supervisor(bin_dir, config, tmp_path, control_socket=sock_path)
    try:
        sup.wait_event("tick")
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o660
        assert sup.events("removed a stale control socket")
        assert sup.ctl("status").returncode == 0
    finally:
        sup.stop()
        sup.proc.close()
        sup.assert_no_sanitizer_report()
    assert not sock_path.exists()


# --- logs --------------------------------------------------------------------------------

def test_log_lines_are_whole_and_tagged(fake, tmp_path):
    fake.wait_event("output", count=3 * 4)
    lines = fake.lines()
    for line in lines:
        ev = parse_logfmt(line)
        assert line.startswith("ts=") and ev["worker"] in INDICES + ["supervisor"], line
        assert int(ev["pid"]) > 0 and ev["msg"], line
        assert len(line) + 1 <= 4096
    for name in INDICES:
        wrapped = [e for e in fake.events("output", worker=name)]
        texts = [e["line"] for e in wrapped]
        assert f'plain words from {name}, "quoted" and \\ backslash' in texts
        assert "half of a line" in texts  # written in two pieces, logged as one
        assert "no newline at the end" in texts
        long = [e for e in wrapped if e["line"].startswith("xxx")]
        assert len(long) == 1 and long[0]["truncated"] == "true"
        assert set(long[0]["line"]) == {"x"} and 3500 < len(long[0]["line"]) < 4096
        assert all(e["level"] == "error" for e in wrapped)
        # The worker's own logfmt lines pass unchanged (its pid, its fields).
        started = fake.events("started", worker=name)
        assert started and started[0]["index"] == "fake"
        assert all(e["pid"] == started[0]["pid"] for e in fake.events(worker=name))
    # Status follows the batch lines: docs summed, cursor and lag of the last.
    status = fake.status()["persons"]
    assert status["docs_sent"] == "5"
    assert status["cursor_modified"] == "2021-06-16 20:15:00.000000+00"
    assert status["cursor_id"] == "def" and status["lag_s"] == "2"
    assert status["state"] == "running"


def test_log_files_written_and_reopened(fake, tmp_path):
    logs = tmp_path / "logs"
    wait_until(lambda: (logs / "genres.log").exists() and "msg=tick" in (logs / "genres.log").read_text(),
               what="genres.log")
    for name in INDICES:
        content = (logs / f"{name}.log").read_text().splitlines()
        assert content and all(parse_logfmt(l)["worker"] == name for l in content), name
        assert f"plain words from {name}" in "\n".join(content)
    # logrotate: move the file away, reopen-logs, a new file fills.
    (logs / "genres.log").rename(logs / "genres.log.1")
    result = fake.ctl("reopen-logs")
    assert result.returncode == 0 and "reopened" in result.stdout
    wait_until(lambda: (logs / "genres.log").exists() and "msg=tick" in (logs / "genres.log").read_text(),
               what="a new genres.log")
    size = (logs / "genres.log.1").stat().st_size
    time.sleep(0.5)
    assert (logs / "genres.log.1").stat().st_size == size  # no longer written
    # SIGHUP reopens too.
    (logs / "movies.log").rename(logs / "movies.log.1")
    fake.signal(signal.SIGHUP)
    wait_until(lambda: (logs / "movies.log").exists() and "msg=tick" in (logs / "movies.log").read_text(),
               what="a new movies.log after SIGHUP")


# --- SIGHUP --------------------------------------------------------------------------------

def test_sighup_with_a_broken_config_keeps_the_old_one(fake):
    before = fake.pids()
    good = fake.config.read_text()
    fake.config.write_text(good + "\n[supervisor]\nno_such_key = 1\n")
    fake.signal(signal.SIGHUP)
    refused = fake.wait_event("config reload refused; the old configuration stays")[0]
    assert "unknown section" in refused["error"] or "appears twice" in refused["error"]
    time.sleep(0.5)
    assert fake.pids() == before
    fake.check_alive()
    # A valid file again: nothing changed for the workers, nothing restarts.
    fake.config.write_text(good)
    fake.signal(signal.SIGHUP)
    reloaded = fake.wait_event("config reloaded")[0]
    assert reloaded["changed"] == "0" and reloaded["added"] == "0" and reloaded["removed"] == "0"
    assert fake.pids() == before


def test_sighup_restarts_only_the_changed_worker(loaded, es):
    sup = loaded.sup
    before = sup.pids()
    # A changed [index.genres]: a new index name (a re-index into a new
    # index); the worker's state file is for the old one, so it builds the
    # new index whole.
    old_index = loaded.names["genres"]
    new_index = old_index + "_v2"
    text = loaded.config.read_text()
    assert f"index = {old_index}\n" in text
    loaded.config.write_text(text.replace(f"index = {old_index}\n", f"index = {new_index}\n"))
    loaded.names["genres_v2"] = new_index  # deleted at teardown
    sup.signal(signal.SIGHUP)
    reloaded = sup.wait_event("config reloaded")[0]
    assert reloaded["changed"] == "1" and reloaded["added"] == "0" and reloaded["removed"] == "0"
    assert sup.events("worker settings changed", child="genres")
    wait_until(lambda: sup.pids()["genres"] not in (0, before["genres"]), timeout=30,
               what="genres restarted")
    after = sup.pids()
    assert after["movies"] == before["movies"] and after["persons"] == before["persons"]
    assert sup.status()["genres"]["index"] == new_index
    wait_until(lambda: es.head(f"/{new_index}").status_code == 200 and es.count(new_index) == 26,
               timeout=60, what="the new genres index built")
    assert_index_matches(loaded.app, "genres", es, new_index)
    # Only that worker restarted: the others' exits are none.
    assert not sup.events("worker exited", child="movies")
    assert not sup.events("worker exited", child="persons")


def persons_for_extra(config):
    """Rewrites the config file at config: [index.persons] dropped (to the
    end of its section), an [index.extra] added."""
    text = config.read_text()
    head, _, tail = text.partition("[index.persons]")
    rest = tail.split("\n[", 1)
    text = head + ("[" + rest[1] if len(rest) > 1 else "")
    text += "\n[index.extra]\nmapping = /x.json\ndocuments = /x.sql\nchanges = /x.sql\n"
    config.write_text(text)


def test_sighup_adds_and_removes_sections(fake):
    before = fake.pids()
    persons_for_extra(fake.config)
    fake.signal(signal.SIGHUP)
    reloaded = fake.wait_event("config reloaded")[0]
    assert reloaded["added"] == "1" and reloaded["removed"] == "1"
    wait_until(lambda: set(fake.status()) == {"movies", "genres", "extra"}, timeout=15,
               what="persons removed, extra added")
    assert not pid_alive(before["persons"])
    after = fake.pids()
    assert after["movies"] == before["movies"] and after["genres"] == before["genres"]
    assert fake.ctl("status", "persons").returncode == EXIT_UNKNOWN_WORKER


# --- stubborn and short-lived workers ------------------------------------------------------

def fake_supervisor(tmp_path, pg, es, bin_dir, script_text, overrides=None, indices=("genres",)):
    """A supervisor whose workers are script_text (a shell script)."""
    script = tmp_path / "worker.sh"
    script.write_text(script_text)
    script.chmod(0o755)
    settings = dict(SUPERVISOR_SETTINGS)
    settings[("supervisor", "worker_path")] = str(script)
    settings.update(overrides or {})
    config, _ = make_config(tmp_path, pg, es, "unused", overrides=settings, indices=list(indices))
    return Supervisor(bin_dir, config, tmp_path)


STUBBORN_WORKER = r"""#!/bin/sh
# Ignores SIGTERM: only SIGKILL ends it.
trap '' TERM
printf 'ts=2026-01-01T00:00:00.000Z level=info worker=%s pid=%s msg=started\n' "$2" $$
while :; do sleep 0.1; done
"""


def test_worker_ignoring_sigterm_is_killed_after_stop_timeout(tmp_path, pg, es, bin_dir):
    sup = fake_supervisor(tmp_path, pg, es, bin_dir, STUBBORN_WORKER,
                          overrides={("supervisor", "stop_timeout_s"): "1"},
                          indices=("genres", "movies"))
    try:
        sup.wait_event("started", count=2)
        pid = sup.pids()["genres"]
        t0 = time.monotonic()
        result = sup.ctl("stop", "genres")  # answers once the worker is gone
        took = time.monotonic() - t0
        assert result.returncode == 0, result.stderr
        assert 0.9 <= took < 3, took
        assert parse_logfmt(result.stdout)["state"] == "stopped"
        assert sup.events("worker killed", child="genres")
        assert sup.events("worker exited", child="genres")[-1]["signal"] == "9"
        assert not pid_alive(pid)
        # Shutting down: the same for every worker, then exit 0.
        movies = sup.pids()["movies"]
        sup.signal(signal.SIGTERM)
        t0 = time.monotonic()
        assert sup.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 1 + 2
        assert not pid_alive(movies)
    finally:
        sup.proc.close()
        sup.assert_no_sanitizer_report()


SHORT_LIVED_WORKER = r"""#!/bin/sh
# Runs a while, then fails.
printf 'ts=2026-01-01T00:00:00.000Z level=info worker=%s pid=%s msg=started\n' "$2" $$
sleep 1.3
exit 3
"""


def test_backoff_resets_after_a_worker_stayed_up(tmp_path, pg, es, bin_dir):
    """Up longer than restart_reset_after_s before each failure: every
    delay starts from restart_initial_ms again (a worker failing at once
    backs off further and further: see the test above)."""
    sup = fake_supervisor(tmp_path, pg, es, bin_dir, SHORT_LIVED_WORKER, overrides={
        ("supervisor", "restart_initial_ms"): "100",
        ("supervisor", "restart_max_ms"): "800",
        ("supervisor", "restart_reset_after_s"): "1"})
    try:
        scheduled = sup.wait_event("restart scheduled", count=4, timeout=30)
        assert all(int(e["delay_ms"]) <= 100 and e["attempt"] == "1" for e in scheduled)
        assert all(e["status"] == "3" for e in sup.events("worker exited"))
        assert sup.status()["genres"]["last_exit"] == "3"
    finally:
        sup.stop()
        sup.proc.close()
        sup.assert_no_sanitizer_report()


# --- nothing hangs ---------------------------------------------------------------------

class StalledReader:
    """The read end of a small pipe that holds the supervisor's stdout and
    stderr, read by a thread only while reading is set: a log consumer
    that stops reading (a stuck `docker logs`, a full pipe)."""

    PIPE_SIZE = 4096  # the kernel's smallest, so a few lines fill it

    def __init__(self):
        import fcntl
        import threading
        self.read_fd, self.write_fd = os.pipe()
        fcntl.fcntl(self.write_fd, fcntl.F_SETPIPE_SZ, self.PIPE_SIZE)
        self.data = bytearray()
        self.reading = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            self.reading.wait()
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return
            self.data.extend(chunk)

    def lines(self):
        return bytes(self.data).decode(errors="replace").splitlines()

    def close(self):
        self.reading.set()
        self.thread.join(timeout=10)
        os.close(self.read_fd)


def test_stalled_log_reader_blocks_nothing(tmp_path, pg, es, catalog, bin_dir):
    """`etl-supervisor | sleep 30`: while nobody reads its output, status
    answers, changes reach the index and SIGTERM stops everything; whole
    lines are dropped and counted, said once the reader is back and
    exposed as etl_log_lines_dropped_total."""
    from test_observability import scrape, value  # imports this module: not at the top

    metrics_port = free_port()
    settings = dict(SUPERVISOR_SETTINGS)
    settings.update({("etl", "batch_size"): "50", ("etl", "log_level"): "debug",
                     ("supervisor", "log_dir"): str(tmp_path / "logs"),
                     ("supervisor", "output_buffer_bytes"): "8192",
                     ("supervisor", "metrics_listen"): f"127.0.0.1:{metrics_port}"})
    config, names = make_config(tmp_path, pg, es, catalog, overrides=settings, indices=INDICES)
    reader = StalledReader()
    proc = subprocess.Popen([str(bin_dir / "etl-supervisor"), "-c", str(config)],
                            stdin=subprocess.DEVNULL, stdout=reader.write_fd,
                            stderr=reader.write_fd, env=clean_env())
    os.close(reader.write_fd)
    app = pg.connect("app", catalog)
    ctl = [str(bin_dir / "etlctl"), "-s", str(tmp_path / "control.sock")]

    def status_within_a_second():
        t0 = time.monotonic()
        result = subprocess.run(ctl + ["status"], capture_output=True, text=True, timeout=5,
                                env=clean_env())
        took = time.monotonic() - t0
        assert result.returncode == 0 and took < 1, (result, took)
        return {parse_logfmt(line)["name"]: parse_logfmt(line) for line in result.stdout.splitlines()}

    try:
        time.sleep(2)  # the full load fills the pipe and the buffer
        assert proc.poll() is None
        genre = None
        t_end = time.monotonic() + 30
        renamed = 0
        while time.monotonic() < t_end:
            status_within_a_second()
            with app.cursor() as cur:
                cur.execute("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")
                genre = cur.fetchone()[0]
                cur.execute("UPDATE content.genre SET name = %s WHERE id = %s",
                            (f"Stalled {renamed}", genre))
            wanted = f"Stalled {renamed}"
            wait_until(lambda: es.get(f"/{names['genres']}/_doc/{genre}").json()
                       .get("_source", {}).get("name") == wanted,
                       timeout=15, what="a change while nobody reads the log")
            renamed += 1
            time.sleep(1)
        assert renamed >= 5
        wait_until(lambda: es.count(names["persons"]) == COUNTS["persons"], timeout=120,
                   what="the persons index built while nobody reads the log")
        # Per-worker log files are written in full.
        persons_log = (tmp_path / "logs" / "persons.log").read_text()
        assert persons_log.count("msg=batch") >= COUNTS["persons"] // 50
        # The reader is back: one line counts what was dropped.
        reader.reading.set()
        wait_until(lambda: any("log lines dropped" in line for line in reader.lines()),
                   timeout=10, what="the dropped lines counted")
        dropped = [parse_logfmt(line) for line in reader.lines() if "log lines dropped" in line]
        assert len(dropped) == 1 and int(dropped[0]["count"]) > 0, dropped
        assert dropped[0]["worker"] == "supervisor"
        assert value(scrape(metrics_port), "etl_log_lines_dropped_total") == int(dropped[0]["count"])
        for line in reader.lines():
            assert line.startswith("ts=") and parse_logfmt(line).get("msg"), line
        # Stalled again; each status is logged (debug), so the pipe and the
        # buffer fill up once more; then SIGTERM still stops everything.
        reader.reading.clear()
        time.sleep(0.5)
        for _ in range(150):
            status_within_a_second()
        pids = [int(s["pid"]) for s in status_within_a_second().values()]
        assert all(pids)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - t0 < 5  # stop_timeout_s
        assert not any(pid_alive(p) for p in pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.close()
        app.close()
        for index in names.values():
            es.delete_indices(index)
    text = "\n".join(reader.lines())
    for marker in ("Sanitizer", "runtime error:"):
        assert marker not in text, text[-4000:]


def connect_control(path, timeout=5):
    """A connection to the control socket; a full backlog (the supervisor
    has not accepted yet) is waited for, up to timeout."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_idle_control_connections_do_not_lock_etlctl_out(fake):
    """64 connections that send nothing, one that sends garbage without a
    newline and one that never reads: etlctl status still answers, and the
    idle ones are closed after control_idle_timeout_ms (default 3000)."""
    idle = []
    try:
        for _ in range(64):
            idle.append(connect_control(fake.socket))
        garbage = connect_control(fake.socket)
        garbage.sendall(b"x" * 100)
        idle.append(garbage)
        deaf = connect_control(fake.socket)
        deaf.sendall(b"status\n")
        idle.append(deaf)
        t0 = time.monotonic()
        result = fake.ctl("status", timeout=10)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - t0 < 1
        assert len(result.stdout.splitlines()) == len(INDICES)
        # Every idle connection is closed by the supervisor.
        for sock in idle:
            sock.settimeout(5)
            while True:
                try:
                    if not sock.recv(65536):
                        break
                except ConnectionResetError:
                    break
    finally:
        for sock in idle:
            sock.close()
    fake.check_alive()
    assert fake.ctl("status").returncode == 0


class MuteServer:
    """A unix socket that accepts connections and never answers: a
    supervisor that is frozen (a fault a real one cannot make on
    purpose).  With accept=False it does not even accept, and its backlog
    is full."""

    def __init__(self, path, accept=True):
        import threading
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(0)
        self.held = []
        self.closed = False
        if accept:
            self.thread = threading.Thread(target=self._accept, daemon=True)
            self.thread.start()
        else:
            for _ in range(4):  # fill the backlog
                filler = socket.socket(socket.AF_UNIX)
                filler.setblocking(False)
                try:
                    filler.connect(self.path)
                except (BlockingIOError, OSError):
                    pass
                self.held.append(filler)

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.closed = True
        self.sock.close()
        for sock in self.held:
            sock.close()


EXIT_TRY_LATER = 75
ETLCTL_DEFAULT_TIMEOUT_S = 5


def test_etlctl_gives_up_on_a_supervisor_that_does_not_answer(tmp_path, bin_dir):
    etlctl = str(bin_dir / "etlctl")
    mute = MuteServer(tmp_path / "mute.sock")
    try:
        t0 = time.monotonic()
        result = subprocess.run([etlctl, "-s", str(mute.path), "status"], capture_output=True,
                                text=True, timeout=30, env=clean_env())
        took = time.monotonic() - t0
        assert result.returncode == EXIT_TRY_LATER, result
        assert "did not answer" in result.stderr
        assert ETLCTL_DEFAULT_TIMEOUT_S - 0.5 < took < ETLCTL_DEFAULT_TIMEOUT_S + 2, took
        t0 = time.monotonic()
        result = subprocess.run([etlctl, "-t", "1", "-s", str(mute.path), "status", "--json"],
                                capture_output=True, text=True, timeout=30, env=clean_env())
        assert result.returncode == EXIT_TRY_LATER, result
        assert 0.5 < time.monotonic() - t0 < 3
    finally:
        mute.close()
    full = MuteServer(tmp_path / "full.sock", accept=False)
    try:
        t0 = time.monotonic()
        result = subprocess.run([etlctl, "-t", "1", "-s", str(full.path), "status"],
                                capture_output=True, text=True, timeout=30, env=clean_env())
        assert result.returncode == EXIT_TRY_LATER, result
        assert "did not answer" in result.stderr
        assert time.monotonic() - t0 < 3
    finally:
        full.close()


def test_etlctl_status_json(fake):
    result = fake.ctl("status", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    workers = {w["name"]: w for w in doc["workers"]}
    assert set(workers) == set(INDICES)
    table = fake.status()
    for name, w in workers.items():
        assert list(w) == STATUS_KEYS
        assert isinstance(w["pid"], int) and w["pid"] == int(table[name]["pid"]) > 0
        assert w["state"] == "running" and w["index"] == table[name]["index"]
        for key in ("uptime_s", "restarts", "next_start_ms", "batches", "docs_sent"):
            assert isinstance(w[key], int), (key, w)
        assert w["last_exit"] is None
    persons = workers["persons"]
    assert persons["docs_sent"] == 5 and persons["batches"] == 2 and persons["lag_s"] == 2.0
    assert persons["cursor_id"] == "def"
    assert persons["cursor_modified"] == "2021-06-16 20:15:00.000000+00"
    one = json.loads(fake.ctl("status", "genres", "--json").stdout)
    assert [w["name"] for w in one["workers"]] == ["genres"]
    assert fake.ctl("restart", "genres", "--json").returncode == EXIT_USAGE
