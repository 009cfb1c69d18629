"""etl-supervisor under a unit of Type=notify, without systemd: the test
is systemd's end of sd_notify(3), a unix datagram socket named by
NOTIFY_SOCKET, with WATCHDOG_USEC and WATCHDOG_PID set as systemd sets them
for WatchdogSec=.

READY=1 must come once every worker is up and not before, STATUS= must say
what each worker does, WATCHDOG=1 must keep coming from the supervisor's
loop, and stop when that loop stops (a supervisor stopped with SIGSTOP is
the hung one systemd must restart)."""
import signal
import socket
import threading
import time

import pytest

from etlproc import clean_env, make_config, wait_until
from test_supervisor import COUNTS, INDICES, SUPERVISOR_SETTINGS, Stack, Supervisor

# systemd's WatchdogSec= for these tests: the supervisor pings at half of it.
WATCHDOG_USEC = 400_000
PING_INTERVAL_S = WATCHDOG_USEC / 1e6 / 2
# A quiet spell this long without a ping means the pings stopped.
SILENCE_S = 10 * PING_INTERVAL_S

# Sets WATCHDOG_PID to the pid the supervisor will have, as systemd does.
WITH_WATCHDOG_PID = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"]


class NotifySocket:
    """systemd's end: the datagrams the supervisor sends, each parsed into
    its NAME=VALUE lines.  A thread reads them as they come, as systemd
    does: sd_notify blocks once the socket's queue is full."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time received, {NAME: VALUE}), appended by the thread
        self.lock = threading.Lock()
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.closing:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def since(self, start):
        """The messages received from monotonic time start on."""
        with self.lock:
            return [(t, m) for t, m in self.messages if t >= start]

    def receive(self, seconds):
        """What arrives in the next seconds."""
        start = time.monotonic()
        time.sleep(seconds)
        return self.since(start)

    def wait_for(self, predicate, timeout=60, what="message"):
        """Waits until a message received so far satisfies predicate;
        returns the first that does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, fields in self.since(0):
                if predicate(fields):
                    return fields
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout}s; got {[m for _, m in self.since(0)][-20:]}")

    def statuses(self):
        return [m["STATUS"] for _, m in self.since(0) if "STATUS" in m]

    def close(self):
        self.closing = True
        self.thread.join()
        self.sock.close()


def notify_env(sock_path):
    env = clean_env()
    env.update(NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC=str(WATCHDOG_USEC))
    return env


def pings(messages):
    return [t for t, m in messages if m.get("WATCHDOG") == "1"]


def readies(messages):
    return [m for _, m in messages if m.get("READY") == "1"]


# A worker that waits for its gate file before it reports started; then it
# says, by its name, what the status channel lets it say: movies nothing
# more (syncing: up, not caught up yet), genres caught up (ready), persons
# refused writes (refused).
GATED_WORKER = r"""#!/bin/sh
name=$2
trap 'exit 0' TERM
while [ ! -e "GATES/$name" ]; do sleep 0.05; done
event() { printf '%s\n' "$1" >&"$ETL_STATUS_FD"; }
event '{"event":"started"}'
case $name in
genres) event '{"event":"idle","sleep_ms":1000,"held_s":0}' ;;
persons) event '{"event":"refused","class":"index_refusing","cause":"cluster_block_exception"}' ;;
esac
while :; do sleep 0.1; done
"""


@pytest.fixture
def notify(tmp_path):
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


@pytest.fixture
def gated(tmp_path, pg, es, bin_dir, notify):
    """A supervisor of three gated workers under a watchdog; yields it and
    the gates' folder."""
    gates = tmp_path / "gates"
    gates.mkdir()
    script = tmp_path / "gated-worker.sh"
    script.write_text(GATED_WORKER.replace("GATES", str(gates)))
    script.chmod(0o755)
    overrides = dict(SUPERVISOR_SETTINGS)
    overrides[("supervisor", "worker_path")] = str(script)
    config, _ = make_config(tmp_path, pg, es, "unused", overrides=overrides, indices=INDICES)
    sup = Supervisor(bin_dir, config, tmp_path, env=notify_env(notify.path),
                     launcher=WITH_WATCHDOG_PID)
    try:
        yield sup, gates
    finally:
        sup.stop()
        sup.assert_no_sanitizer_report()


def test_ready_only_once_every_worker_is_up_and_the_watchdog_tied_to_the_loop(gated, notify):
    sup, gates = gated
    # Nobody up yet: the loop runs (pings), systemd is not told ready.
    early = notify.receive(3 * PING_INTERVAL_S + 1)
    sup.check_alive()
    assert len(pings(early)) >= 3, early
    assert readies(early) == []
    assert notify.statuses()[-1] == "movies=starting genres=starting persons=starting"

    # Two of three up: still not ready.
    (gates / "movies").touch()
    (gates / "genres").touch()
    notify.wait_for(lambda m: m.get("STATUS") == "movies=syncing genres=ready persons=starting",
                    what="two workers up")
    assert readies(notify.receive(1)) == []

    # The last one up: READY=1, with what each does.
    (gates / "persons").touch()
    ready = notify.wait_for(lambda m: m.get("READY") == "1", what="READY=1")
    assert ready["STATUS"] == "movies=syncing genres=ready persons=refused"
    assert sup.events("told systemd ready")
    # The pings go on after it, at about the interval, and READY is not sent again.
    after = notify.receive(6 * PING_INTERVAL_S)
    assert len(pings(after)) >= 4, after
    assert readies(after) == []

    # A hung supervisor (its loop stopped): no more pings.
    sup.signal(signal.SIGSTOP)
    try:
        notify.receive(2 * PING_INTERVAL_S)  # what was sent before the stop
        assert pings(notify.receive(SILENCE_S)) == []
    finally:
        sup.signal(signal.SIGCONT)
    assert len(pings(notify.receive(4 * PING_INTERVAL_S))) >= 2

    # SIGTERM: STOPPING=1.
    sup.signal(signal.SIGTERM)
    notify.wait_for(lambda m: m.get("STOPPING") == "1", what="STOPPING=1")
    assert sup.proc.wait(timeout=30) == 0


def test_no_watchdog_pings_for_another_pid(tmp_path, pg, es, bin_dir, notify):
    """WATCHDOG_PID names the process systemd watches: another one's
    watchdog is not ours to feed; READY and STATUS still go out."""
    script = tmp_path / "gated-worker.sh"
    gates = tmp_path / "gates"
    gates.mkdir()
    for name in INDICES:
        (gates / name).touch()
    script.write_text(GATED_WORKER.replace("GATES", str(gates)))
    script.chmod(0o755)
    overrides = dict(SUPERVISOR_SETTINGS)
    overrides[("supervisor", "worker_path")] = str(script)
    config, _ = make_config(tmp_path, pg, es, "unused", overrides=overrides, indices=INDICES)
    env = notify_env(notify.path)
    env["WATCHDOG_PID"] = "1"
    sup = Supervisor(bin_dir, config, tmp_path, env=env)
    try:
        notify.wait_for(lambda m: m.get("READY") == "1", what="READY=1")
        notify.receive(5 * PING_INTERVAL_S)
        sup.check_alive()
        assert pings(notify.since(0)) == []
    finally:
        sup.stop()
        sup.assert_no_sanitizer_report()


def test_real_workers_ready_then_status_says_synced(tmp_path, pg, es, catalog, bin_dir, notify):
    """The real workers against PostgreSQL and the search node: READY=1 once
    all three started, and the STATUS line ends up saying every index is
    caught up, with the whole catalogue in the indices."""
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, env=notify_env(notify.path),
                  launcher=WITH_WATCHDOG_PID)
    try:
        ready = notify.wait_for(lambda m: m.get("READY") == "1", what="READY=1")
        # Every worker had reported started: none is still "starting".
        assert "starting" not in ready["STATUS"], ready
        assert sorted(w.split("=")[0] for w in ready["STATUS"].split()) == sorted(INDICES)
        notify.wait_for(lambda m: m.get("STATUS") == "movies=ready genres=ready persons=ready",
                        timeout=180, what="every worker ready")
        stack.sup.wait_caught_up(INDICES)
        for name, count in COUNTS.items():
            wait_until(lambda n=name, c=count: es.count(stack.names[n]) == c,
                       what=f"{name} has {count} documents")
        assert len(pings(notify.since(0))) >= 2
    finally:
        stack.close()
