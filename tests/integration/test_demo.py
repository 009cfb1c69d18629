"""`make demo` after an unclean end.

The demo script is killed with SIGKILL while its services run; the next run
must start (not "another demo is running"), saying which leftovers of its
state dir it found and stopping them, and `make demo-stop` must leave no
process behind.

A whole demo (PostgreSQL, search node, ETL, admin panel, nginx) takes minutes
on a shared machine, so the test kills the script once PostgreSQL is up and
the search node is being started: those are real services started by the
real script, and the lock and leftover logic is the same for the later ones.
"""
import os
import pathlib
import random
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

from etlproc import ES_PORTS, REPO_ROOT, port_free
from etlproc import free_port, wait_until

DEMO = REPO_ROOT / "compose" / "native" / "demo.sh"
ES_NODE = REPO_ROOT / "compose" / "native" / "es-node.sh"
STARTUP_TIMEOUT_S = 240  # PostgreSQL's initdb, schema and sample data on a busy machine
STOP_TIMEOUT_S = 120
# The whole demo up to "Press Ctrl-C": PostgreSQL, the search node, the
# indices built by the ETL, the admin panel.
FULL_STARTUP_TIMEOUT_S = 600
# The replay of a stale node start: how long the stale es-node.sh waits for
# its node before giving up (ES_START_TIMEOUT), and how long a stop waits
# before SIGKILL (ES_STOP_TIMEOUT); short, so the test takes seconds.
STALE_START_TIMEOUT_S = 5
NODE_STOP_TIMEOUT_S = 5
# How long the stale es-node.sh gets to end once it is let go again.
STALE_EXIT_TIMEOUT_S = 60
# How long a start step (es-node.sh start) may outlive its killed demo.
STARTER_EXIT_TIMEOUT_S = 10


def _es_port():
    ports = list(ES_PORTS)
    random.shuffle(ports)
    return next(p for p in ports if port_free(p))


def _processes_where(matches):
    """Pids of the processes (this one left out) for which matches(argv,
    open_files) is true; argv is the list of arguments, open_files an
    iterator over the paths of its open files, read only when asked."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            open_files = (os.readlink(fd) for fd in (proc / "fd").iterdir())
            if matches(argv, open_files):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _holders(path):
    """Pids of the processes that have path open."""
    return _processes_where(lambda argv, files: any(f == str(path) for f in files))


def _node_starts(state):
    """Pids of the `es-node.sh start` scripts running for the state dir."""
    return _processes_where(
        lambda argv, files: any(a.endswith("es-node.sh") for a in argv) and "start" in argv
        and any(a.startswith(str(state)) for a in argv))


def _users(state):
    """Pids of the processes whose command line or open files name the state dir."""
    prefix = str(state)
    return _processes_where(
        lambda argv, files: any(prefix in a for a in argv)
        or any(f.startswith(prefix) for f in files))


class Demo:
    """demo.sh run in the background with its own state dir and ports."""

    def __init__(self, state):
        self.state = state
        self.env = dict(
            os.environ,
            DEMO_STATE_DIR=str(state),
            DEMO_PG_PORT=str(free_port()),
            DEMO_ES_PORT=str(_es_port()),
            DEMO_ADMIN_PORT=str(free_port()),
            DEMO_METRICS_PORT=str(free_port()),
            ES_STOP_TIMEOUT="10",
        )
        self.runs = 0
        self.proc = None
        self.out = None

    def start(self):
        self.runs += 1
        self.out = self.state.parent / f"demo{self.runs}.out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                ["bash", str(DEMO)], env=self.env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        return self.out.read_text(errors="replace")

    def wait_for_search_node_start(self):
        """Waits until PostgreSQL is up and the search node is being started."""
        def started():
            if self.proc.poll() is not None:
                raise AssertionError(f"demo.sh exited {self.proc.returncode}:\n{self.output()}")
            return "==> Search node" in self.output() and (self.state / "es" / "pid").exists()
        wait_until(started, timeout=STARTUP_TIMEOUT_S, interval=0.5, what="the demo's search node start")

    def wait_for_running(self):
        """Waits until the whole demo runs (it says "Press Ctrl-C")."""
        def running():
            if self.proc.poll() is not None:
                raise AssertionError(f"demo.sh exited {self.proc.returncode}:\n{self.output()}")
            return "Press Ctrl-C to stop everything." in self.output()
        wait_until(running, timeout=FULL_STARTUP_TIMEOUT_S, interval=1, what="the whole demo")

    def kill(self):
        """SIGKILL to the script alone: its trap cannot run."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        """make demo-stop with the same state dir."""
        return subprocess.run(
            ["make", "-s", "-C", str(REPO_ROOT), "demo-stop"], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=STOP_TIMEOUT_S)


@pytest.fixture
def demo():
    base = pathlib.Path(tempfile.mkdtemp(prefix="etl-demo-test-"))
    base.chmod(0o755)
    state = base / "state"
    d = Demo(state)
    yield d
    # Whatever the outcome: stop the script, then anything still in the dir.
    if d.proc is not None and d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait()
    if state.exists():
        d.stop()
    for pid in _users(state):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(base, ignore_errors=True)


def test_demo_starts_again_after_sigkill_and_demo_stop_leaves_nothing(demo):
    demo.start()
    demo.wait_for_search_node_start()
    demo.kill()

    # The search node's start dies with the demo: left waiting, it would act
    # on the pid file of the next demo's node.
    wait_until(lambda: not _node_starts(demo.state), timeout=STARTER_EXIT_TIMEOUT_S,
               what="the killed demo's es-node.sh start to end")

    # Its services are left running, but none of them holds the lock.
    assert demo.state.joinpath("pg", "data", "postmaster.pid").exists()
    assert _users(demo.state), "expected the killed demo's services to be left running"
    assert _holders(demo.state / "lock") == []

    # The next run starts: it names what it found and stops it first.
    demo.start()
    demo.wait_for_search_node_start()
    out = demo.output()
    assert "another demo is running" not in out
    assert "left running by a demo that ended uncleanly" in out
    assert "PostgreSQL (pid" in out
    assert "search node (pid" in out
    demo.kill()

    # make demo-stop stops the leftovers on request and leaves no process.
    stop = demo.stop()
    assert stop.returncode == 0, stop.stdout
    assert "PostgreSQL (pid" in stop.stdout
    time.sleep(1)
    assert _users(demo.state) == []

    # With nothing left, demo-stop says so and succeeds.
    again = demo.stop()
    assert again.returncode == 0, again.stdout
    assert "nothing to stop" in again.stdout


def test_demo_refuses_a_second_demo_while_one_runs(demo):
    demo.start()
    demo.wait_for_search_node_start()
    first = demo.proc
    second = subprocess.run(
        ["bash", str(DEMO)], env=demo.env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert second.returncode != 0
    assert f"another demo is running with {demo.state} (pid {first.pid};" in second.stdout
    assert first.poll() is None, "the running demo must be left alone"
    # make demo-stop ends the live demo the clean way: its trap stops its services.
    stop = demo.stop()
    assert stop.returncode == 0, stop.stdout
    first.wait(timeout=STOP_TIMEOUT_S)
    time.sleep(1)
    assert _users(demo.state) == []


# The whole demo runs bin/ against OpenSearch whatever the pass: run it only
# in the pass that tests those (not the ASan or Elasticsearch 7 ones).
_OTHER_PASS = ((os.environ.get("ETL_TEST_ENGINE") or "opensearch") != "opensearch"
               or pathlib.Path(os.environ.get("ETL_BIN_DIR", REPO_ROOT / "bin")).resolve()
               != (REPO_ROOT / "bin").resolve())


@pytest.mark.skipif(_OTHER_PASS, reason="the demo runs bin/ against OpenSearch: tested in that pass")
def test_demo_serves_its_metrics_on_demo_metrics_port(demo):
    """The ETL's metrics answer on DEMO_METRICS_PORT (a free port here, not
    the default 9187), so two demos with their own ports do not collide."""
    port = demo.env["DEMO_METRICS_PORT"]
    demo.start()
    demo.wait_for_running()
    url = f"http://127.0.0.1:{port}/metrics"
    assert url in demo.output()
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert "etl_build_info" in answer.read().decode()
    stop = demo.stop()
    assert stop.returncode == 0, stop.stdout
    demo.proc.wait(timeout=STOP_TIMEOUT_S)
    time.sleep(1)
    assert _users(demo.state) == []


def _signal_group(pgid, signo):
    """Sends signo to the process group pgid; nothing when it is gone."""
    try:
        os.killpg(pgid, signo)
    except ProcessLookupError:
        pass


def _pid_in(path):
    """The pid in the pid file path, or None when there is none."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def test_a_stale_node_start_leaves_the_next_nodes_pid_file_alone(tmp_path):
    """A demo killed while `es-node.sh start` waits for its node leaves that
    script waiting; the next demo stops the old node and starts a new one in
    the same dir.  The stale script must then neither remove the new node's
    pid file nor stop the new node.

    Replayed with real processes in an order the test holds: the stale
    script is frozen (SIGSTOP) from its node's launch until the new node has
    written its pid file, and the new node is frozen so that it cannot answer
    before the stale script has decided what to do."""
    tmp_path.chmod(0o755)
    node_dir = tmp_path / "es"
    pid_file = node_dir / "pid"
    port = str(_es_port())
    env = dict(os.environ, ES_START_TIMEOUT=str(STALE_START_TIMEOUT_S),
               ES_STOP_TIMEOUT=str(NODE_STOP_TIMEOUT_S))
    stale = new = None
    groups = []
    try:
        with open(tmp_path / "stale.out", "wb") as out:
            stale = subprocess.Popen(
                ["sh", str(ES_NODE), "start", str(node_dir), port], env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        groups.append(stale.pid)
        old_node = wait_until(lambda: _pid_in(pid_file), timeout=60, interval=0.05,
                              what="the first node's pid file")
        groups.append(old_node)
        # The stale script, frozen in its wait (its node runs in its own group).
        _signal_group(stale.pid, signal.SIGSTOP)

        # The next demo: stops what it finds, then starts its own node.
        stop = subprocess.run(["sh", str(ES_NODE), "stop", str(node_dir)], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=STOP_TIMEOUT_S)
        assert stop.returncode == 0, stop.stdout
        assert not pid_file.exists()
        with open(tmp_path / "new.out", "wb") as out:
            new = subprocess.Popen(
                ["sh", str(ES_NODE), "start", str(node_dir), port], env=dict(os.environ),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        groups.append(new.pid)
        new_node = wait_until(lambda: _pid_in(pid_file), timeout=60, interval=0.05,
                              what="the new node's pid file")
        assert new_node != old_node
        groups.append(new_node)
        _signal_group(new_node, signal.SIGSTOP)

        # The stale script goes on: its own node is gone.
        _signal_group(stale.pid, signal.SIGCONT)
        stale.wait(timeout=STALE_EXIT_TIMEOUT_S)
        stale_out = (tmp_path / "stale.out").read_text(errors="replace")
        assert _pid_in(pid_file) == new_node, \
            f"the stale start removed the new node's pid file:\n{stale_out}"
        os.kill(new_node, 0)  # the new node is still there
    finally:
        for pgid in groups:
            _signal_group(pgid, signal.SIGCONT)
        subprocess.run(["sh", str(ES_NODE), "stop", str(node_dir)], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=STOP_TIMEOUT_S)
        for proc in (stale, new):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        for pgid in groups:
            _signal_group(pgid, signal.SIGKILL)
        for pid in _users(tmp_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
