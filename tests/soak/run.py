"""make soak: the whole ETL under random writes and random faults, then an
exact comparison of every index with PostgreSQL.

Starts a throwaway PostgreSQL and search node (the test harness's own
classes, tests/integration/conftest.py) and the real etl-supervisor with its
three workers (movies, genres, persons) and its state directory, then for
SOAK_MINUTES:

  writers   SOAK_WRITERS threads, each its own connection as role app,
            making random catalogue changes: film insert / update / delete,
            genre and person links added, removed and moved, persons and
            genres renamed, inserted and deleted.  Most transactions are
            short; some are long (open for seconds between their changes),
            some are rolled back, and some are two-phase (PREPARE
            TRANSACTION, then COMMIT PREPARED, or now and then ROLLBACK
            PREPARED, from another connection) when the cluster allows it
            (max_prepared_transactions > 0; the harness sets 10).
  faults    at random moments (a gap of FAULT_GAP_S between two), of the
            kinds that apply one of those injected least so far: kill -9
            of a worker (its pid from etlctl status), PostgreSQL restarted
            with pg_ctl restart -m immediate (PgCluster.restart_immediate;
            the workers and the writers reconnect and carry
            on; a transaction cut by it did not happen and is not counted),
            and the search node frozen (SIGSTOP of its process group, the
            JVM with it) for FREEZE_S, then SIGCONT.  Faults may overlap: a
            kill or a restart can land while the node is frozen.
  memory    VmRSS of the supervisor and of every worker process, sampled
            every RSS_EVERY_S.

Then the writers stop (open transactions finish, prepared ones are
resolved) and the checks run:

  1. within SOAK_CONVERGE_S every index holds exactly the documents
     PostgreSQL says it must (tests/integration/expected_docs.py, a second
     implementation of the documents in Python: every id, every field);
  2. every worker is running (etlctl status), each slot restarted exactly as
     many times as it was killed, and the supervisor logged no other exit,
     no hung worker, no sanitizer report, and no error line but the exits
     of the killed workers (a worker's raw, non-logfmt output, msg=output,
     is one);
  3. memory is flat: a process's VmRSS at its last sample is within 10 % of
     its baseline, or within 1 MiB of it (a floor for small processes whose
     10 % is a few pages).  The baseline is its first sample taken once the
     soak has run a minute and the process has been up RSS_SETTLE_S.  A
     worker killed by the soak is replaced by a new process, so memory is
     judged per process: a process is judged when RSS_WINDOW_S or more lie
     between its baseline and its last sample; shorter lives are listed as
     too short.  So that every slot gets judged, a worker is killed only
     when its slot already has a process judged, or early enough that the
     process replacing it will be (RSS_SETTLE_S + RSS_WINDOW_S + a margin
     before the soak ends); otherwise the kill picks another slot, or the
     fault is another kind.  Under ASan (ETL_BIN_DIR of a make SANITIZE=1
     build) memory is not judged: ASan's quarantine keeps freed memory, so
     RSS grows by design; LeakSanitizer checks every process at its exit
     instead, and its reports fail the run like any sanitizer report.

The report prints the seed, the faults injected by kind, the changes
committed by kind, the transactions rolled back or cut, the convergence
time and the memory table; the exit status is 1 when any check failed.

Environment: SOAK_MINUTES (default 10, at least 2), SOAK_SEED (default
random; printed, and fixes each thread's choices: kinds, rows, timings; the
threads' interleaving is the machine's), SOAK_WRITERS (default 4),
SOAK_CONVERGE_S (default 300), ETL_BIN_DIR (default bin/), SOAK_KEEP=1 keeps
the working directory (config, state, logs), which a failed run always
keeps.
"""
import collections
import datetime
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402

import conftest  # noqa: E402  the harness: PgCluster, SearchNode
from etlproc import (EtlProcess, all_documents, assert_no_sanitizer_report, clean_env,  # noqa: E402
                     make_config, parse_logfmt)
from expected_docs import expected_documents, normalized  # noqa: E402

INDICES = ("movies", "genres", "persons")

MINUTES = float(os.environ.get("SOAK_MINUTES") or "10")
SEED = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1, 2**31))
WRITERS = int(os.environ.get("SOAK_WRITERS") or "4")
CONVERGE_S = float(os.environ.get("SOAK_CONVERGE_S") or "300")
KEEP = os.environ.get("SOAK_KEEP") == "1"

FIRST_FAULT_S = 15          # the first fault, after the initial load
FAULT_GAP_S = (8, 30)       # seconds between two faults, uniform
FREEZE_S = (5, 20)          # how long the search node stays stopped
RSS_EVERY_S = 5             # memory sampling period
RSS_BASELINE_AT_S = 60      # "after the first minute" of the soak
RSS_SETTLE_S = 30           # a new worker's age before its baseline
RSS_WINDOW_S = 60           # baseline to last sample, for a verdict
RSS_GROWTH = 0.10           # allowed growth ...
RSS_FLOOR_KIB = 1024        # ... or this much, whichever is larger
KILL_MARGIN_S = 15          # restart delay and sampling slack of a kill
PAUSE_S = (0.05, 0.5)       # between a writer's transactions
LONG_TX_PAUSE_S = (1.0, 4.0)  # between the changes of a long transaction
PREPARED_WAIT_S = (0.5, 3.0)  # between PREPARE TRANSACTION and its end
WRITERS_STOP_S = 60         # longest wait for the writers to finish

# The supervisor with the test suite's quick restarts (test_supervisor.py).
SETTINGS = {
    ("supervisor", "restart_initial_ms"): "300",
    ("supervisor", "restart_max_ms"): "2000",
    ("supervisor", "restart_reset_after_s"): "60",
    ("supervisor", "stop_timeout_s"): "10",
}

# Relative weights of the changes a transaction is made of.
OPS = {
    "film_update": 15, "film_insert": 8, "film_delete": 6,
    "genre_link_add": 8, "genre_link_remove": 7,
    "person_link_add": 10, "person_link_remove": 8, "person_link_move": 4,
    "person_rename": 8, "person_insert": 3, "person_delete": 2,
    "genre_rename": 2, "genre_insert": 1, "genre_delete": 0.5,
}
# Words of the generated names and titles: Cyrillic with ё, quotes,
# backslashes, a tab, accents and an emoji, so JSON escaping is exercised.
WORDS = ["Звёздные", "войны", "ёжик", "O'Brien", 'the "quoted"', "back\\slash", "tab\there",
         "naïve", "Straße", "🎬", "night", "star", "love", "war", "x", "Ω", "день"]
ROLES = ("actor", "director", "writer")
GID_PREFIX = "soak-"


def log(*args):
    """One progress line on stdout: seconds into the soak (the clock of the
    memory table), or into the setup before it started."""
    if T_SOAK is None:
        stamp = f"setup {time.monotonic() - T0:5.1f}s"
    else:
        stamp = f"{time.monotonic() - T_SOAK:9.1f}s"
    print(f"[{stamp}]", *args, flush=True)


T0 = time.monotonic()


class Counts:
    """Thread-safe counters by name."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c = collections.Counter()

    def add(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def merge(self, counter):
        with self.lock:
            self.c.update(counter)

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.c)


# ---------------------------------------------------------------------------
# The writers.


class Cut(Exception):
    """The connection was lost (PostgreSQL restarted): the transaction did
    not happen."""


def lost(conn):
    return conn is None or conn.closed != 0


class Writer(threading.Thread):
    """One client session making random catalogue changes as role app."""

    def __init__(self, n, pg, stop, changes, txs, two_phase):
        super().__init__(name=f"writer-{n}", daemon=True)
        self.n, self.pg, self.stop, self.changes, self.txs = n, pg, stop, changes, txs
        self.two_phase = two_phase
        self.rng = random.Random(SEED * 1000 + n)
        self.conn = None
        self.error = None

    # connections --------------------------------------------------------

    def connect(self):
        """Connects (again), waiting out a restarting server; None once
        told to stop."""
        while not self.stop.is_set():
            try:
                conn = self.pg.connect("app")
                with conn.cursor() as cur:
                    cur.execute("SET lock_timeout = '15s'; SET statement_timeout = '60s'")
                return conn
            except psycopg2.OperationalError:
                self.txs.add("reconnect attempts failed")
                time.sleep(0.5)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def sql(self, statement, params=None):
        """Runs a statement; a lost connection raises Cut."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else cur.rowcount
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            if lost(self.conn):
                raise Cut(str(exc)) from exc
            raise

    # random rows --------------------------------------------------------

    def pick(self, table):
        """The id of a random row of content.<table> (None when empty)."""
        rows = self.sql(f"SELECT id::text FROM content.{table} ORDER BY id LIMIT 1"
                        f" OFFSET floor(%s * (SELECT count(*) FROM content.{table}))::int",
                        (self.rng.random(),))
        return rows[0][0] if rows else None

    def text(self, words=(1, 4)):
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(*words))) \
            + f" {self.rng.randrange(10**6)}"

    def new_id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # the changes ----------------------------------------------------------

    def op(self, kind):
        """Makes one change of the given kind; returns a Counter of the
        changes made (empty when it found nothing to change)."""
        made = collections.Counter()
        r = self.rng
        if kind == "film_insert":
            fid = self.new_id()
            self.sql("INSERT INTO content.film_work (id, title, description, creation_date, rating, type)"
                     " VALUES (%s, %s, %s, %s, %s, %s)",
                     (fid, self.text(), self.text((0, 12)) if r.random() < 0.8 else None,
                      datetime.date(1950, 1, 1) + datetime.timedelta(days=r.randrange(27000))
                      if r.random() < 0.7 else None,
                      round(r.uniform(0, 10), 1) if r.random() < 0.9 else None,
                      r.choice(("movie", "tv_show"))))
            made[kind] += 1
            for _ in range(r.randint(0, 2)):
                gid = self.pick("genre")
                made["genre_link_add"] += self.sql(
                    "INSERT INTO content.genre_film_work (id, genre_id, film_work_id) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING", (self.new_id(), gid, fid))
            for _ in range(r.randint(0, 3)):
                pid = self.pick("person")
                made["person_link_add"] += self.sql(
                    "INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (self.new_id(), pid, fid, r.choice(ROLES)))
        elif kind == "film_update":
            column, value = r.choice([("title", self.text()), ("description", self.text((0, 12))),
                                      ("description", None), ("rating", round(r.uniform(0, 10), 1)),
                                      ("rating", None)])
            made[kind] += self.sql(f"UPDATE content.film_work SET {column} = %s WHERE id = %s",
                                   (value, self.pick("film_work")))
        elif kind in ("film_delete", "person_delete", "genre_delete"):
            table = {"film_delete": "film_work", "person_delete": "person", "genre_delete": "genre"}[kind]
            made[kind] += self.sql(f"DELETE FROM content.{table} WHERE id = %s", (self.pick(table),))
        elif kind == "genre_link_add":
            made[kind] += self.sql(
                "INSERT INTO content.genre_film_work (id, genre_id, film_work_id) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING", (self.new_id(), self.pick("genre"), self.pick("film_work")))
        elif kind == "person_link_add":
            made[kind] += self.sql(
                "INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (self.new_id(), self.pick("person"), self.pick("film_work"), r.choice(ROLES)))
        elif kind in ("genre_link_remove", "person_link_remove"):
            table = kind.replace("_link_remove", "_film_work")
            made[kind] += self.sql(f"DELETE FROM content.{table} WHERE id = %s", (self.pick(table),))
        elif kind == "person_link_move":
            # To another film, or another person: both ends are logged.
            column, table = r.choice([("film_work_id", "film_work"), ("person_id", "person")])
            made[kind] += self.sql(f"UPDATE content.person_film_work SET {column} = %s WHERE id = %s",
                                   (self.pick(table), self.pick("person_film_work")))
        elif kind == "person_rename":
            made[kind] += self.sql("UPDATE content.person SET full_name = %s WHERE id = %s",
                                   (self.text((2, 3)), self.pick("person")))
        elif kind == "genre_rename":
            made[kind] += self.sql("UPDATE content.genre SET name = %s WHERE id = %s",
                                   (self.text((1, 2)), self.pick("genre")))
        elif kind == "person_insert":
            pid = self.new_id()
            self.sql("INSERT INTO content.person (id, full_name) VALUES (%s, %s)", (pid, self.text((2, 3))))
            made[kind] += 1
            for _ in range(r.randint(0, 2)):
                made["person_link_add"] += self.sql(
                    "INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (self.new_id(), pid, self.pick("film_work"), r.choice(ROLES)))
        elif kind == "genre_insert":
            self.sql("INSERT INTO content.genre (id, name, description) VALUES (%s, %s, %s)",
                     (self.new_id(), self.text((1, 2)), self.text((0, 8)) if r.random() < 0.7 else None))
            made[kind] += 1
        else:
            raise ValueError(kind)
        return +made  # drops zero counts

    def op_in_savepoint(self, kind, made):
        """One change inside a savepoint: a conflict with another session
        (a unique key, a row deleted meanwhile, a deadlock, a lock timeout)
        undoes only this change."""
        self.sql("SAVEPOINT op")
        try:
            made.update(self.op(kind))
            self.sql("RELEASE SAVEPOINT op")
        except Cut:
            raise
        except psycopg2.Error as exc:
            self.sql("ROLLBACK TO SAVEPOINT op")
            self.txs.add(f"changes undone by a conflict ({type(exc).__name__})")

    # transactions ---------------------------------------------------------

    def transaction(self):
        """One random transaction, its outcome counted."""
        r = self.rng
        shape = r.choices(["short", "long", "rollback", "two-phase"],
                          weights=[70, 10, 12, 8 if self.two_phase else 0])[0]
        kinds = r.choices(list(OPS), weights=list(OPS.values()), k=r.randint(1, 5 if shape == "long" else 3))
        made = collections.Counter()
        self.sql("BEGIN")
        for i, kind in enumerate(kinds):
            self.op_in_savepoint(kind, made)
            if shape == "long":  # open for seconds, the last pause before COMMIT
                time.sleep(r.uniform(*LONG_TX_PAUSE_S))
        if shape == "rollback":
            self.sql("ROLLBACK")
            self.txs.add("rolled back")
            self.txs.add("changes rolled back", sum(made.values()))
            return
        if shape == "two-phase":
            self.prepared(made)
            return
        try:
            self.sql("COMMIT")
        except Cut:
            # Did the COMMIT reach the server before it died?  Nobody can
            # say; the final comparison reads PostgreSQL as it is.
            self.txs.add("commit outcome unknown (cut)")
            raise
        self.txs.add(f"committed ({shape})")
        self.changes.merge(made)

    def prepared(self, made):
        """PREPARE TRANSACTION, a pause, then COMMIT PREPARED (one in eight:
        ROLLBACK PREPARED) from a new connection, retried through a restart:
        a prepared transaction survives one."""
        gid = f"{GID_PREFIX}{self.n}-{self.rng.getrandbits(48):012x}"
        try:
            self.sql("PREPARE TRANSACTION %s", (gid,))
        except Cut:
            # Prepared before the connection went?  Then it is committed
            # now; the lost session is replaced by the next round.
            if not self.resolve(gid, commit=True, made=made):
                raise
            return
        time.sleep(self.rng.uniform(*PREPARED_WAIT_S))
        commit = self.rng.random() >= 1 / 8
        self.resolve(gid, commit, made)

    def resolve(self, gid, commit, made):
        """Commits or rolls back the prepared transaction gid if it exists,
        retrying until the server answers; True when it existed."""
        while True:
            try:
                conn = self.pg.connect("app")
            except psycopg2.OperationalError:
                time.sleep(0.5)
                continue
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1 FROM pg_prepared_xacts WHERE gid = %s", (gid,))
                    if not cur.fetchone():
                        return False
                    cur.execute(("COMMIT" if commit else "ROLLBACK") + " PREPARED %s", (gid,))
                if commit:
                    self.txs.add("committed (two-phase)")
                    self.changes.merge(made)
                else:
                    self.txs.add("rolled back (two-phase)")
                    self.txs.add("changes rolled back", sum(made.values()))
                return True
            except psycopg2.OperationalError:
                time.sleep(0.5)  # restarted meanwhile: look again
            finally:
                conn.close()

    def run(self):
        try:
            while not self.stop.is_set():
                if lost(self.conn):
                    self.close()
                    self.conn = self.connect()
                    if self.conn is None:
                        break
                try:
                    self.transaction()
                except Cut:
                    self.txs.add("cut by a fault")
                    self.close()
                except psycopg2.Error as exc:
                    # Outside any savepoint (BEGIN, COMMIT): a serialization
                    # or deadlock failure at commit; the transaction did not
                    # happen.
                    self.txs.add(f"aborted ({type(exc).__name__})")
                    try:
                        self.sql("ROLLBACK")
                    except Exception:
                        self.close()
                time.sleep(self.rng.uniform(*PAUSE_S))
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            self.close()


# ---------------------------------------------------------------------------
# The supervisor and memory.


class Supervisor:
    """The real etl-supervisor over the three indices, stdout parsed."""

    def __init__(self, bin_dir, config, work):
        self.bin_dir = bin_dir
        self.config = config
        self.socket = work / "control.sock"
        self.stdout_path = work / "supervisor.out"
        self.proc = EtlProcess([bin_dir / "etl-supervisor", "-c", config], work / "supervisor.err",
                               stdout_path=self.stdout_path)

    @property
    def pid(self):
        return self.proc.pid

    def events(self, msg=None):
        out = []
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            ev = parse_logfmt(line)
            if msg is None or ev.get("msg") == msg:
                out.append(ev)
        return out

    def alive(self):
        return self.proc.proc.poll() is None

    def status(self):
        """{name: status} from etlctl status --json; {} when it did not answer."""
        try:
            r = subprocess.run([str(self.bin_dir / "etlctl"), "-s", str(self.socket), "--json", "status"],
                               capture_output=True, text=True, timeout=30, env=clean_env())
        except subprocess.TimeoutExpired:
            return {}
        if r.returncode != 0:
            return {}
        return {w["name"]: w for w in json.loads(r.stdout)["workers"]}


def vm_rss_kib(pid):
    """VmRSS of a live process in KiB (None when it is gone)."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


class Memory:
    """RSS samples per process: {pid: {"slot", "seen", "samples": [(t, kib)]}}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.procs = {}

    def sample(self, sup):
        now = time.monotonic()
        targets = [("supervisor", sup.pid)]
        targets += [(name, int(w["pid"])) for name, w in sorted(sup.status().items()) if int(w["pid"] or 0) > 0]
        for slot, pid in targets:
            kib = vm_rss_kib(pid)
            if kib is None:
                continue
            with self.lock:
                p = self.procs.setdefault(pid, {"slot": slot, "seen": now, "samples": []})
                p["samples"].append((now, kib))

    def baseline(self, p):
        """The first sample after the soak's first minute and the process's
        settling time, or None."""
        for t, kib in p["samples"]:
            if t - T_SOAK >= RSS_BASELINE_AT_S and (p["slot"] == "supervisor" or t - p["seen"] >= RSS_SETTLE_S):
                return t, kib
        return None

    def window(self, p):
        """Seconds from the baseline to the last sample (0 without one)."""
        base = self.baseline(p)
        return p["samples"][-1][0] - base[0] if base else 0

    def slot_judged(self, slot):
        """True when a process of slot has RSS_WINDOW_S between its baseline
        and its last sample."""
        with self.lock:
            return any(p["slot"] == slot and self.window(p) >= RSS_WINDOW_S
                       for p in self.procs.values())

    def verdicts(self):
        """Rows (slot, pid, base t, base KiB, last t, last KiB, max KiB, verdict)."""
        rows = []
        with self.lock:
            for pid, p in sorted(self.procs.items(), key=lambda kv: (kv[1]["slot"], kv[1]["seen"])):
                base = self.baseline(p)
                last = p["samples"][-1]
                peak = max(k for _, k in p["samples"])
                if base is None or last[0] - base[0] < RSS_WINDOW_S:
                    verdict = "too short"
                elif last[1] <= max(base[1] * (1 + RSS_GROWTH), base[1] + RSS_FLOOR_KIB):
                    verdict = "flat"
                else:
                    verdict = "GREW"
                rows.append((p["slot"], pid, base, last, peak, verdict))
        return rows


T_SOAK = None  # monotonic time the soak (writers and faults) started


class Sampler(threading.Thread):
    def __init__(self, memory, sup, stop):
        super().__init__(name="rss", daemon=True)
        self.memory, self.sup, self.stop = memory, sup, stop

    def run(self):
        while not self.stop.wait(RSS_EVERY_S):
            try:
                self.memory.sample(self.sup)
            except Exception as exc:  # keep sampling; a transient status failure
                log("rss sample failed:", exc)


# ---------------------------------------------------------------------------
# The faults.


class Faults(threading.Thread):
    """Injects a random fault every FAULT_GAP_S until stop."""

    def __init__(self, pg, es, sup, memory, stop, end):
        super().__init__(name="faults", daemon=True)
        self.end = end  # monotonic time the soak ends
        self.pg, self.es, self.sup, self.memory, self.stop = pg, es, sup, memory, stop
        self.rng = random.Random(SEED * 1000 + 999)
        self.counts = Counts()
        self.killed = []          # (slot, pid)
        self.frozen_until = None  # monotonic time of the SIGCONT due
        self.frozen_s = 0.0
        self.error = None

    def es_group(self):
        return int((self.es.dir / "pid").read_text())

    def thaw(self):
        """SIGCONT to the search node if it is stopped (always safe)."""
        if self.frozen_until is not None:
            os.killpg(self.es_group(), signal.SIGCONT)
            self.frozen_s += time.monotonic() - self.frozen_started
            self.frozen_until = None
            log("fault: search node continued (SIGCONT)")

    def freeze(self):
        seconds = self.rng.uniform(*FREEZE_S)
        os.killpg(self.es_group(), signal.SIGSTOP)
        self.frozen_started = time.monotonic()
        self.frozen_until = self.frozen_started + seconds
        self.counts.add("search node SIGSTOP")
        log(f"fault: search node stopped (SIGSTOP) for {seconds:.1f} s")

    def kill_worker(self):
        """kill -9 of a running worker whose slot has a process judged for
        memory already, or whose replacement will live long enough to be
        (see the module's comment); False when there is none."""
        status = self.sup.status()
        early = time.monotonic() <= self.end - (RSS_SETTLE_S + RSS_WINDOW_S + KILL_MARGIN_S)
        slots = [n for n, w in sorted(status.items())
                 if w["state"] == "running" and int(w["pid"] or 0) > 0
                 and (early or self.memory.slot_judged(n))]
        if not slots:
            return False
        slot = self.rng.choice(slots)
        pid = int(status[slot]["pid"])
        os.kill(pid, signal.SIGKILL)
        self.killed.append((slot, pid))
        self.counts.add("kill -9 worker")
        self.counts.add(f"kill -9 worker {slot}")
        log(f"fault: kill -9 {slot} worker pid {pid}")
        return True

    def restart_pg(self):
        started = time.monotonic()
        self.pg.restart_immediate()
        self.counts.add("postgres restart -m immediate")
        log(f"fault: PostgreSQL restarted -m immediate ({time.monotonic() - started:.1f} s)")

    def inject(self):
        """One fault: of the kinds that apply now (no second freeze; a kill
        only as kill_worker allows), one injected least so far, so that a
        short soak sees every kind."""
        counts = self.counts.snapshot()
        done = {"kill": counts["kill -9 worker"], "pg": counts["postgres restart -m immediate"],
                "freeze": counts["search node SIGSTOP"]}
        kinds = [k for k in done if not (k == "freeze" and self.frozen_until is not None)]
        self.rng.shuffle(kinds)
        for kind in sorted(kinds, key=done.get):  # stable: ties stay shuffled
            if kind == "kill" and self.kill_worker():
                return
            if kind == "pg":
                self.restart_pg()
                return
            if kind == "freeze":
                self.freeze()
                return

    def run(self):
        try:
            next_at = time.monotonic() + FIRST_FAULT_S
            while not self.stop.is_set():
                now = time.monotonic()
                if self.frozen_until is not None and now >= self.frozen_until:
                    self.thaw()
                if now >= next_at:
                    self.inject()
                    next_at = time.monotonic() + self.rng.uniform(*FAULT_GAP_S)
                self.stop.wait(0.2)
        except BaseException as exc:
            self.error = exc
        finally:
            try:
                self.thaw()
            except Exception as exc:
                log("SIGCONT failed:", exc)


# ---------------------------------------------------------------------------
# The checks.


def index_diff(pg, es, names):
    """{name: (missing, extra, differing ids)} of the indices that differ
    from PostgreSQL (empty when all three are equal), and the counts."""
    conn = pg.connect("postgres")
    try:
        diffs, counts = {}, {}
        for name in INDICES:
            expected = expected_documents(conn, name)
            got = normalized(name, all_documents(es, names[name]))
            counts[name] = len(expected)
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            differing = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
            if missing or extra or differing:
                diffs[name] = (missing, extra, differing)
        return diffs, counts
    finally:
        conn.close()


def resolve_leftover_prepared(pg, txs):
    """Commits a prepared transaction of the soak still open (a writer cut
    between its PREPARE and its resolution); counts it."""
    conn = pg.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s", (GID_PREFIX + "%",))
            for (gid,) in cur.fetchall():
                cur.execute("COMMIT PREPARED %s", (gid,))
                txs.add("committed (two-phase, left over, changes not counted)")
    finally:
        conn.close()


def mib(kib):
    return f"{kib / 1024:.1f}"


def sanitized(bin_dir):
    """True for binaries built with ASan (make SANITIZE=1)."""
    r = subprocess.run(["ldd", str(bin_dir / "etl-worker")], capture_output=True, text=True)
    return "libasan" in r.stdout


SANITIZED = False


def main():
    global T_SOAK, SANITIZED
    if MINUTES < 2:
        print(f"soak: SOAK_MINUTES={MINUTES}: at least 2 (memory is judged from the first minute on)")
        return 64
    bin_dir = pathlib.Path(os.environ.get("ETL_BIN_DIR") or HERE.parents[1] / "bin").resolve()
    SANITIZED = sanitized(bin_dir)
    print(f"soak: seed={SEED} minutes={MINUTES:g} writers={WRITERS} engine={conftest.TEST_ENGINE}"
          f" bin={bin_dir} (replay: SOAK_SEED={SEED} SOAK_MINUTES={MINUTES:g} make soak)", flush=True)
    pg = conftest.PgCluster(conftest._tempdir("etl-soak-pg-"))
    es = conftest.SearchNode(conftest._tempdir("etl-soak-es-"))
    work = conftest._tempdir("etl-soak-")
    failures = []
    report = {}
    stop_writers, stop_faults, stop_sampler = threading.Event(), threading.Event(), threading.Event()
    sup = faults = None
    writers = []
    try:
        conftest._cleanups.append(pg.destroy)
        conftest._cleanups.append(es.destroy)
        pg.create()
        es.create()
        log(f"PostgreSQL on {pg.port}, search node on {es.port}")
        settings = dict(SETTINGS)
        settings[("supervisor", "log_dir")] = str(work / "logs")
        config, names = make_config(work, pg, es, pg.dbname, overrides=settings, indices=list(INDICES))
        sup = Supervisor(bin_dir, config, work)
        deadline = time.monotonic() + 300
        while not all(any(e.get("worker") == n for e in sup.events("caught up")) for n in INDICES):
            if not sup.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the initial load did not finish (see {work})")
            time.sleep(0.5)
        log("initial load done: the three indices caught up")

        with pg.connect("postgres") as conn, conn.cursor() as cur:
            cur.execute("SHOW max_prepared_transactions")
            two_phase = int(cur.fetchone()[0]) > 0
        conn.close()
        changes, txs, memory = Counts(), Counts(), Memory()
        T_SOAK = time.monotonic()
        sampler = Sampler(memory, sup, stop_sampler)
        sampler.start()
        writers = [Writer(n, pg, stop_writers, changes, txs, two_phase) for n in range(WRITERS)]
        for w in writers:
            w.start()
        end = T_SOAK + MINUTES * 60
        faults = Faults(pg, es, sup, memory, stop_faults, end)
        faults.start()

        while time.monotonic() < end:
            time.sleep(min(30, max(0, end - time.monotonic())))
            c, t = changes.snapshot(), txs.snapshot()
            log(f"progress: {sum(c.values())} changes committed, faults {dict(faults.counts.snapshot())},"
                f" rolled back {t['rolled back']}, cut {t['cut by a fault']}")
            if not sup.alive():
                raise RuntimeError("the supervisor exited")
            if faults.error:
                raise faults.error

        stop_faults.set()
        faults.join(timeout=200)
        stop_writers.set()
        for w in writers:
            w.join(timeout=WRITERS_STOP_S)
            if w.is_alive():
                failures.append(f"{w.name} did not stop within {WRITERS_STOP_S} s")
            if w.error:
                failures.append(f"{w.name} failed: {w.error!r}")
        if faults.error:
            failures.append(f"fault injection failed: {faults.error!r}")
        resolve_leftover_prepared(pg, txs)
        writers_stopped = time.monotonic()
        log("writers stopped; waiting for the indices to equal PostgreSQL")

        # 1. Convergence.
        converge_s, diffs = None, {}
        while True:
            try:
                diffs, counts = index_diff(pg, es, names)
            except Exception as exc:  # the node still recovering: try again
                diffs, counts = {"error": str(exc)}, {}
            if not diffs:
                converge_s = time.monotonic() - writers_stopped
                break
            if time.monotonic() - writers_stopped > CONVERGE_S:
                break
            time.sleep(2)
        if converge_s is None:
            for name, d in diffs.items():
                if name == "error":
                    failures.append(f"indices not readable: {d}")
                    continue
                missing, extra, differing = d
                failures.append(f"{name}: differs from PostgreSQL after {CONVERGE_S:g} s: {len(missing)} missing"
                                f" {missing[:3]}, {len(extra)} extra {extra[:3]},"
                                f" {len(differing)} differing {differing[:3]}")

        # 2. Workers: running, restarted exactly as often as killed.
        status = sup.status()
        killed = collections.Counter(slot for slot, _ in faults.killed)
        killed_pids = {pid for _, pid in faults.killed}
        if set(status) != set(INDICES):
            failures.append(f"etlctl status lists {sorted(status)}")
        for name, w in sorted(status.items()):
            if w["state"] != "running":
                failures.append(f"worker {name} is {w['state']} (last_exit {w['last_exit']})")
            if int(w["restarts"]) != killed[name]:
                failures.append(f"worker {name} restarted {w['restarts']} times, killed {killed[name]} times")
        for ev in sup.events("worker exited"):
            if ev.get("expected") == "false" and not (ev.get("signal") == "9"
                                                      and int(ev.get("child_pid", 0)) in killed_pids):
                failures.append(f"unexpected worker exit: {ev}")
        for ev in sup.events("worker hung"):
            failures.append(f"worker hung: {ev}")
        out = sup.stdout_path.read_text(errors="replace") + sup.proc.text()
        try:
            assert_no_sanitizer_report(out, "etl-supervisor or a worker")
        except AssertionError as exc:
            failures.append(str(exc)[:3000])
        errors = collections.Counter(ev.get("msg") for ev in sup.events() if ev.get("level") == "error")
        error_samples = {}
        for ev in sup.events():
            if ev.get("level") == "error" and ev.get("msg") != "worker exited":
                error_samples.setdefault(ev.get("msg"), ev)
        for msg, ev in error_samples.items():
            failures.append(f"{errors[msg]} error line(s) msg={msg}, the first:"
                            f" {json.dumps(ev, ensure_ascii=False)[:500]}")
        warnings_ = collections.Counter(ev.get("msg") for ev in sup.events() if ev.get("level") == "warn")
        rejects = sum(len(f.read_text().splitlines()) for f in (work / "state").glob("*.rejects"))
        if rejects:
            failures.append(f"{rejects} documents rejected (state/*.rejects)")

        # 3. Memory: one last sample of every process, then the verdicts.
        stop_sampler.set()
        sampler.join(timeout=60)
        memory.sample(sup)
        rows = memory.verdicts()
        for slot in ("supervisor",) + INDICES:
            if not any(r[0] == slot and r[5] != "too short" for r in rows):
                failures.append(f"memory of {slot}: no process lived {RSS_WINDOW_S} s past its baseline")
        if SANITIZED:
            rows = [r[:5] + ("not judged (ASan)" if r[5] != "too short" else r[5],) for r in rows]
        for slot, pid, base, last, peak, verdict in rows:
            if verdict == "GREW":
                failures.append(f"memory of {slot} pid {pid}: VmRSS {mib(base[1])} -> {mib(last[1])} MiB")

        report = {
            "changes": changes.snapshot(), "txs": txs.snapshot(), "faults": faults.counts.snapshot(),
            "frozen_s": faults.frozen_s, "converge_s": converge_s, "counts": counts, "status": status,
            "rows": rows, "errors": errors, "error_samples": error_samples, "warnings": warnings_, "rejects": rejects,
        }
    except BaseException as exc:
        failures.append(f"soak aborted: {exc!r}")
        if not isinstance(exc, Exception):
            raise
    finally:
        stop_faults.set()
        stop_writers.set()
        stop_sampler.set()
        if faults is not None:
            faults.join(timeout=200)
            try:
                faults.thaw()
            except Exception:
                pass
        for w in writers:
            w.join(timeout=WRITERS_STOP_S)
        if sup is not None:
            try:
                rc = sup.proc.stop(timeout=60)
                if rc != 0:
                    failures.append(f"etl-supervisor exited {rc} on SIGTERM")
                # The workers' exits (LeakSanitizer runs there) are on its stdout.
                assert_no_sanitizer_report(sup.stdout_path.read_text(errors="replace"), "a worker at its exit")
            except Exception as exc:  # a sanitizer report, or no exit
                failures.append(f"stopping etl-supervisor: {str(exc)[:3000]}")
        es.destroy()
        pg.destroy()
        print_report(report, failures, work)
        if failures or KEEP:
            print(f"soak: working directory kept: {work} (config, state, logs/, supervisor.out)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def print_report(r, failures, work):
    """The closing report on stdout."""
    print()
    print(f"==== soak report (seed {SEED}, {MINUTES:g} minutes, {WRITERS} writers, {conftest.TEST_ENGINE}) ====")
    if r:
        f = r["faults"]
        print("faults injected:")
        print(f"  kill -9 worker                {f['kill -9 worker']:5d}  "
              + ", ".join(f"{n} {f[f'kill -9 worker {n}']}" for n in INDICES))
        print(f"  postgres restart -m immediate {f['postgres restart -m immediate']:5d}")
        print(f"  search node SIGSTOP           {f['search node SIGSTOP']:5d}  ({r['frozen_s']:.0f} s frozen in all)")
        c = r["changes"]
        print(f"changes committed: {sum(c.values())}")
        for kind in OPS:
            print(f"  {kind:26s} {c[kind]:6d}")
        print("transactions:")
        for key, n in sorted(r["txs"].items()):
            print(f"  {key:60s} {n:6d}")
        if r["converge_s"] is not None:
            print(f"convergence: every index equals PostgreSQL {r['converge_s']:.1f} s after the writers stopped"
                  f" ({', '.join(f'{n} {k} docs' for n, k in r['counts'].items())})")
        else:
            print("convergence: NOT reached")
        print("workers (etlctl status at the end):")
        for name, w in sorted(r["status"].items()):
            print(f"  {name:8s} state={w['state']} pid={w['pid']} restarts={w['restarts']}"
                  f" last_exit={w['last_exit'] or '-'} docs_sent={w['docs_sent']}")
        print(f"supervisor log: error lines {dict(r['errors'])}; warn lines {dict(r['warnings'])};"
              f" documents rejected {r['rejects']}")
        for msg, ev in r["error_samples"].items():
            print(f"  first error line of msg={msg}: {json.dumps(ev, ensure_ascii=False)[:300]}")
        if SANITIZED:
            print("memory: not judged, an ASan build (its quarantine keeps freed memory: RSS grows by design);"
                  " LeakSanitizer checked every process at its exit")
        print(f"memory (VmRSS MiB, at: seconds into the soak; baseline: first sample after minute 1 and {RSS_SETTLE_S} s of the process's"
              f" life; judged over >= {RSS_WINDOW_S} s; limit +{RSS_GROWTH:.0%} or +{RSS_FLOOR_KIB // 1024} MiB):")
        print(f"  {'slot':10s} {'pid':>8s} {'baseline':>9s} {'at':>7s} {'end':>7s} {'at':>7s} {'peak':>7s}  verdict")
        for slot, pid, base, last, peak, verdict in r["rows"]:
            b = (mib(base[1]), f"{base[0] - T_SOAK:.0f}s") if base else ("-", "-")
            print(f"  {slot:10s} {pid:8d} {b[0]:>9s} {b[1]:>7s} {mib(last[1]):>7s} {last[0] - T_SOAK:6.0f}s"
                  f" {mib(peak):>7s}  {verdict}")
    for failure in failures:
        print("FAILED:", failure)
    print("soak: PASS" if not failures else "soak: FAIL")


if __name__ == "__main__":
    sys.exit(main())
