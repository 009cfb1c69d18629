"""One writer per index: two supervisors with the same indices, each with
its own state directory, against one PostgreSQL and one search node.  The
second one's workers find each index's writer lock (a PostgreSQL advisory
lock) held and wait: one log line each, etlctl status says so, no alias
moves, no index is created or deleted, the first one's changes keep
arriving.  Once the first supervisor and its workers are killed (SIGKILL,
as a container dies), the second takes over: the indices equal PostgreSQL
again and later changes arrive.  A worker whose connection (and so lock)
was lost while another waited takes the lock again before writing
anything, and waits in turn."""
import os
import signal
import time

from etlproc import document, make_config, sql, start_worker, wait_caught_up, wait_until
from expected_docs import assert_index_matches
from test_supervisor import Stack, pid_alive

INDICES = ["movies", "genres", "persons"]
WAITING = "another worker holds the index; waiting"
TAKEN = "index lock taken; taking over"
# The writer lock is tried every half second.
SETTINGS = {("etl", "index_lock_poll_ms"): "500"}
# The second supervisor's watchdog is short, so a waiting worker that sent
# no heartbeat would be killed as hung within the test (every blocking
# step kept below it, as the config check requires).
SHORT_WATCHDOG = {
    ("supervisor", "hang_timeout_s"): "12",
    ("postgres", "statement_timeout_ms"): "10000",
    ("elasticsearch", "request_timeout_ms"): "10000",
}
# How long the second supervisor waits beside the first: past that
# watchdog's timeout, and many rounds and alias checks of both.
WAIT_BESIDE_S = 16


def alias_targets(es, names):
    """{alias: the concrete indices it points at} for every index name."""
    out = {}
    for alias in names.values():
        resp = es.get(f"/_alias/{alias}")
        out[alias] = sorted(resp.json()) if resp.status_code == 200 else []
    return out


def concrete_indices(es, names):
    """Every concrete index of the aliases (NAME_<time>), sorted."""
    return sorted(i for alias in names.values() for i in es.indices(alias + "_"))


def rename(stack, table, column, row_id, value):
    """Changes one catalogue row as the admin panel would."""
    stack.sql(f"UPDATE content.{table} SET {column} = %s WHERE id = %s", (value, row_id))


def first_id(stack, table):
    return stack.sql(f"SELECT id::text FROM content.{table} ORDER BY id LIMIT 1")[0][0]


def change_each_index(stack, tag):
    """A title, a genre's description and a person's name changed, one per
    index; returns [(index section, document id, field, value)] to find."""
    film, genre, person = (first_id(stack, t) for t in ("film_work", "genre", "person"))
    rename(stack, "film_work", "title", film, f"Title {tag}")
    rename(stack, "genre", "description", genre, f"Genre {tag}")
    rename(stack, "person", "full_name", person, f"Person {tag}")
    return [("movies", film, "title", f"Title {tag}"),
            ("genres", genre, "description", f"Genre {tag}"),
            ("persons", person, "full_name", f"Person {tag}")]


def wait_searchable(stack, expected, timeout=60):
    """Waits until every (section, id, field, value) is in its index,
    read through the alias."""
    def found():
        return all((stack.doc(section, doc_id) or {}).get(field) == value
                   for section, doc_id, field, value in expected)
    wait_until(found, timeout=timeout, what=f"{expected} searchable")


def worker_events(sup, msg):
    """{worker: [event]} of sup's workers' lines with msg."""
    out = {}
    for ev in sup.events(msg):
        out.setdefault(ev.get("worker"), []).append(ev)
    return out


def advisory_holders(pg, catalog):
    """{pid: application_name} of the sessions holding an advisory lock in
    catalog (as the superuser)."""
    conn = pg.connect("postgres", catalog)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT l.pid, a.application_name FROM pg_locks l"
                        "  JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted"
                        "   AND l.database = (SELECT oid FROM pg_database"
                        "                      WHERE datname = current_database())")
            return dict(cur.fetchall())
    finally:
        conn.close()


def kill_like_a_container(sup):
    """SIGKILL to the supervisor and every worker, none given a chance to
    stop cleanly: the supervisor is stopped first, so it cannot start a
    worker again in between."""
    pids = [p for p in sup.pids().values() if p > 0]
    os.kill(sup.pid, signal.SIGSTOP)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    os.kill(sup.pid, signal.SIGKILL)
    sup.proc.proc.wait(timeout=10)
    wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10, what="workers gone")


def test_second_supervisor_waits_then_takes_over(tmp_path, pg, es, catalog, bin_dir):
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = Stack(tmp_path / "first", pg, es, catalog, bin_dir, overrides=SETTINGS)
    second = None
    try:
        first.sup.wait_caught_up(INDICES)
        aliases = alias_targets(es, first.names)
        concrete = concrete_indices(es, first.names)
        assert all(len(targets) == 1 for targets in aliases.values()), aliases

        same_indices = {(f"index.{n}", "index"): first.names[n] for n in INDICES}
        second = Stack(tmp_path / "second", pg, es, catalog, bin_dir,
                       overrides={**SETTINGS, **SHORT_WATCHDOG, **same_indices})
        # make_config names its own indices; the file names the first's.
        second.names = dict(first.names)
        assert all(f"index = {i}\n" in second.config.read_text() for i in first.names.values())

        # Every worker of the second waits, saying who holds its index.
        waiting = wait_until(lambda: (lambda w: w if set(w) == set(INDICES) else None)(
            worker_events(second.sup, WAITING)), timeout=60, what="every worker waiting")
        holders = advisory_holders(pg, catalog)
        for name, events in waiting.items():
            assert events[0]["index"] == first.names[name]
            holder = int(events[0]["holder_pid"])
            assert holders.get(holder) == f"etl-worker-{name}", (holder, holders)
        status = wait_until(lambda: (lambda s: s if all(
            w["state"] == "waiting" for w in s.values()) else None)(second.sup.status()),
            timeout=30, what="etlctl status: waiting")
        for name, w in status.items():
            assert w["reason"].startswith(f"another worker holds index {first.names[name]} (pid ")
            assert int(w["pid"]) > 0
        # A standby is not ready: etlctl check says so, with its own status.
        check = second.sup.ctl("check")
        assert check.returncode == 5 and "condition=waiting" in check.stdout, check

        # The first one goes on: changes made meanwhile arrive.
        wait_searchable(first, change_each_index(first, "while two run"))

        # Side by side for a while: past the watchdog's timeout, through
        # several alias checks of both.
        time.sleep(WAIT_BESIDE_S)
        second.sup.check_alive()
        assert alias_targets(es, first.names) == aliases
        assert concrete_indices(es, first.names) == concrete
        # One line per worker for the whole wait; no rebuild, no swap, no
        # deletion by either; the waiting ones were not taken for hung.
        assert {n: len(e) for n, e in worker_events(second.sup, WAITING).items()} == \
            {n: 1 for n in INDICES}
        for sup in (first.sup, second.sup):
            for msg in ("rebuild started", "alias moved", "alias moved by someone else",
                        "stray index deleted", "old index deleted", "worker hung",
                        "restart scheduled"):
                assert sup.events(msg) == [], (msg, sup.events(msg))
        assert all(w["state"] == "waiting" and w["restarts"] == "0"
                   for w in second.sup.status().values())

        # The first dies at once, workers and all: the second takes over.
        kill_like_a_container(first.sup)
        wait_until(lambda: set(worker_events(second.sup, TAKEN)) == set(INDICES),
                   timeout=60, what="every worker taking over")
        second.sup.wait_caught_up(INDICES, timeout=180)
        wait_until(lambda: all(w["state"] == "running" and w["reason"] == ""
                               for w in second.sup.status().values()),
                   timeout=30, what="etlctl status: running")
        # Later changes arrive, and every index equals PostgreSQL.
        wait_searchable(second, change_each_index(second, "after the takeover"))
        for name in INDICES:
            assert_index_matches(second.app, name, es, second.names[name])
    finally:
        if second is not None:
            second.close()
        first.close()


def lock_holder_backend(pg, catalog, application_name):
    """The pid of the backend of application_name holding an advisory lock
    (None when none does)."""
    return next((pid for pid, name in advisory_holders(pg, catalog).items()
                 if name == application_name), None)


def test_a_worker_whose_connection_was_lost_takes_the_lock_again_before_writing(
        tmp_path, pg, es, catalog, bin_dir, app, workers):
    """The first worker's session ends while it is stopped (SIGSTOP), the
    waiting second one takes the lock; the first, let go on, reconnects,
    finds the lock taken and waits: it writes nothing more, while the
    second takes over."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config_a, names = make_config(tmp_path / "a", pg, es, catalog, overrides=SETTINGS)
    same = {("index.movies", "index"): names["movies"]}
    config_b, _ = make_config(tmp_path / "b", pg, es, catalog, overrides={**SETTINGS, **same})
    first = start_worker(workers, bin_dir, config_a)
    wait_caught_up(first, timeout=120, what="the first load")
    second = start_worker(workers, bin_dir, config_b)
    second.wait_for(lambda ev: [e for e in ev if e.get("msg") == WAITING], timeout=60,
                    what="the second worker waiting")
    holder = lock_holder_backend(pg, catalog, "etl-worker-movies")
    assert holder is not None
    before = len(first.events())

    first.signal(signal.SIGSTOP)
    try:
        admin = pg.connect("postgres", catalog)
        try:
            sql(admin, "SELECT pg_terminate_backend(%s)", (holder,))
        finally:
            admin.close()
        second.wait_for(lambda ev: [e for e in ev if e.get("msg") == TAKEN], timeout=30,
                        what="the second worker taking over")
    finally:
        first.signal(signal.SIGCONT)
    # The first finds its connection gone, takes the lock again first
    # thing, finds it held, and waits, having written nothing.
    first.wait_for(lambda ev: [e for e in ev[before:] if e.get("msg") == WAITING], timeout=30,
                   what="the first worker waiting in turn")
    second.wait_for(lambda ev: [e for e in ev if e.get("msg") == "alias moved"], timeout=120,
                    what="the second's rebuild")
    wait_caught_up(second, timeout=60, what="the second caught up")
    film = sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    sql(app, "UPDATE content.film_work SET title = 'After the lost connection' WHERE id = %s",
        (film,))
    wait_until(lambda: (document(es, names["movies"], film) or {}).get("title")
               == "After the lost connection", timeout=30, what="the change via the second")
    for msg in ("batch", "build batch", "rebuild started", "alias moved", "index created",
                "old index deleted", "stray index deleted"):
        assert [e for e in first.events()[before:] if e.get("msg") == msg] == [], msg
    assert first.proc.poll() is None
    assert_index_matches(app, "movies", es, names["movies"])
