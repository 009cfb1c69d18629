"""Wake on change: the catalogue's statement-level triggers move the
sequence content.etl_change_signal; an idle worker reads it every
wake_check_ms and starts a round at once when it moved, instead of sleeping
out its poll interval; the poll stays as the fallback.  A sequence, not
NOTIFY: PostgreSQL refuses to PREPARE a transaction that sent a NOTIFY.

The worker here polls every POLL_SLOW_MS (30 s): a change searchable well
within WAKE_TIMEOUT_S came by the signal.  Where the signal is off or
missed, the poll interval is short and the change must still come.
Rounds are counted from the worker's debug line msg=round (woke=change,
recheck, poll, more, retry, start, signal, "connection lost")."""
import time

import pytest

from etlproc import make_config, run_worker, sql, wait_caught_up, wait_until

POLL_SLOW_MS = 30000
POLL_FAST_MS = 300
# Longest a signalled change may take to be searchable here: a round, a
# bulk request and the index's 1 s refresh, with room for a slow machine;
# far below POLL_SLOW_MS, which a missed wake-up would cost.
WAKE_TIMEOUT_S = 8
BURST = 500
BATCH_SIZE = 100


class Worker:
    """A movies worker on its own catalogue, loaded, logging its rounds."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides):
        self.pg, self.es, self.catalog = pg, es, catalog
        base = {("etl", "log_level"): "debug", ("etl", "batch_size"): str(BATCH_SIZE)}
        base.update(overrides)
        self.config, names = make_config(tmp_path, pg, es, catalog, overrides=base)
        self.index = names["movies"]
        self.proc = run_worker(bin_dir, self.config)
        self.app = pg.connect("app", catalog)
        self.admin = pg.connect("postgres", catalog)
        wait_caught_up(self.proc, timeout=120, what="the first load")

    def films(self, count, offset=0):
        return [r[0] for r in sql(self.app, "SELECT id::text FROM content.film_work ORDER BY id"
                                       " OFFSET %s LIMIT %s", (offset, count))]

    def title_searchable(self, fid, title, timeout):
        def found():
            resp = self.es.get(f"/{self.index}/_doc/{fid}")
            if resp.status_code != 200 or resp.json()["_source"]["title"] != title:
                return False
            hits = self.es.post(f"/{self.index}/_search",
                                json={"query": {"match": {"title": title}}}).json()
            return hits["hits"]["total"]["value"] >= 1
        try:
            wait_until(found, timeout=timeout, interval=0.1, what=f"title {title!r} searchable")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker log:\n{self.proc.text()[-3000:]}") from None

    def rounds(self):
        return self.proc.events("round")

    def close(self):
        self.app.close()
        self.admin.close()
        self.proc.stop()


@pytest.fixture
def worker_with(tmp_path, pg, es, catalog, bin_dir):
    started = []

    def start(**overrides):
        w = Worker(tmp_path, pg, es, catalog, bin_dir,
                   {("etl", "poll_interval_ms"): str(overrides.pop("poll_ms", POLL_SLOW_MS)),
                    **{("etl", k): v for k, v in overrides.items()}})
        started.append(w)
        return w
    yield start
    for w in started:
        w.close()


def signal(w):
    """The signal as the worker reads it (a new sequence's first nextval
    returns last_value itself)."""
    return sql(w.admin, "SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END"
                          " FROM content.etl_change_signal")[0][0]


def test_a_committed_change_wakes_the_worker_before_its_poll(worker_with):
    w = worker_with()
    fid = w.films(1)[0]
    sql(w.app, "UPDATE content.film_work SET title = 'wakeupcall' WHERE id = %s", (fid,))
    w.title_searchable(fid, "wakeupcall", WAKE_TIMEOUT_S)
    assert any(r["woke"] == "change" for r in w.rounds())


def test_a_prepared_transaction_is_allowed_and_its_change_arrives(worker_with):
    """BEGIN; UPDATE; PREPARE TRANSACTION; COMMIT PREPARED, as any
    two-phase writer does: no error (NOTIFY would make PREPARE fail), and
    the change arrives well before the poll though COMMIT PREPARED moves
    no signal: the rounds after the signal look again until it is
    committed."""
    w = worker_with()
    fid = w.films(1)[0]
    writer = w.pg.connect("app", w.catalog)
    try:
        sql(writer, "BEGIN")
        sql(writer, "UPDATE content.film_work SET title = 'twophase' WHERE id = %s", (fid,))
        sql(writer, "PREPARE TRANSACTION 'etl-wake-prepared'")
        # The worker wakes, finds the change not committed yet, looks again.
        w.proc.wait_for(lambda ev: any(e.get("woke") == "recheck" for e in ev),
                        timeout=WAKE_TIMEOUT_S, what="a recheck round")
        sql(writer, "COMMIT PREPARED 'etl-wake-prepared'")
    finally:
        writer.close()
    w.title_searchable(fid, "twophase", WAKE_TIMEOUT_S)


def test_a_rolled_back_change_moves_the_signal_and_changes_no_document(worker_with):
    w = worker_with()
    fid = w.films(1)[0]
    before_signal = signal(w)
    version = w.es.get(f"/{w.index}/_doc/{fid}").json()["_version"]
    before_rounds, before_batches = len(w.rounds()), len(w.proc.events("batch"))
    with w.pg.connect("app", w.catalog, autocommit=False) as conn:
        sql(conn, "UPDATE content.film_work SET title = 'never' WHERE id = %s", (fid,))
        conn.rollback()
    conn.close()
    assert signal(w) > before_signal
    # The worker saw it move and looked (then again, finding nothing).
    wait_until(lambda: sum(r["woke"] in ("change", "recheck") for r in w.rounds()[before_rounds:]) >= 3,
               timeout=WAKE_TIMEOUT_S, what="rounds after the signal")
    assert not [b for b in w.proc.events("batch")[before_batches:] if int(b["rows"]) > 0]
    doc = w.es.get(f"/{w.index}/_doc/{fid}").json()
    assert doc["_version"] == version and doc["_source"]["title"] != "never", doc


def test_a_long_transaction_makes_at_most_a_poll_interval_of_rechecks(worker_with):
    """A transaction open for several poll intervals after its signal: the
    rounds looking again for it stop a poll interval after the signal (each
    at least wake_check_ms apart), then the worker only polls; its change
    still arrives after the commit."""
    poll_ms, check_ms = 1000, 100
    w = worker_with(poll_ms=poll_ms, wake_check_ms=str(check_ms))
    fid = w.films(1)[0]
    before = len(w.rounds())
    conn = w.pg.connect("app", w.catalog, autocommit=False)
    try:
        sql(conn, "UPDATE content.film_work SET title = 'longtx' WHERE id = %s", (fid,))
        time.sleep(4 * poll_ms / 1000)
        rounds = w.rounds()[before:]
        rechecks = [r for r in rounds if r["woke"] == "recheck"]
        assert 1 <= len(rechecks) <= poll_ms // check_ms, rounds
        conn.commit()
    finally:
        conn.close()
    w.title_searchable(fid, "longtx", WAKE_TIMEOUT_S)


def test_without_wake_checks_changes_arrive_by_polling(worker_with):
    w = worker_with(poll_ms=POLL_FAST_MS, wake_check_ms="0")
    fid = w.films(1)[0]
    sql(w.app, "UPDATE content.film_work SET title = 'polledin' WHERE id = %s", (fid,))
    w.title_searchable(fid, "polledin", WAKE_TIMEOUT_S)
    assert not any(r["woke"] in ("change", "recheck") for r in w.rounds())
    assert w.rounds() and not any("change_signal" in r for r in w.rounds())


def test_a_missed_signal_costs_one_poll_not_the_change(worker_with):
    """The trigger off: nothing moves the signal, the poll finds the change."""
    w = worker_with(poll_ms=POLL_FAST_MS)
    sql(w.admin, "ALTER TABLE content.film_work DISABLE TRIGGER film_work_signal")
    fid = w.films(1)[0]
    before_signal = signal(w)
    before = len(w.rounds())
    sql(w.app, "UPDATE content.film_work SET title = 'unannounced' WHERE id = %s", (fid,))
    assert signal(w) == before_signal
    w.title_searchable(fid, "unannounced", WAKE_TIMEOUT_S)
    assert not any(r["woke"] in ("change", "recheck") for r in w.rounds()[before:])


def test_a_killed_connection_is_noticed_while_idle(worker_with):
    """pg_terminate_backend on the worker's connection: the next read of
    the signal fails, a round reconnects, so the change made meanwhile and
    the next one both arrive well before the poll."""
    w = worker_with()
    first, second = w.films(2)
    killed = sql(w.admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND application_name = 'etl-worker-movies'")
    assert killed and all(r[0] for r in killed), killed
    sql(w.app, "UPDATE content.film_work SET title = 'duringdrop' WHERE id = %s", (first,))
    w.title_searchable(first, "duringdrop", WAKE_TIMEOUT_S)
    wait_until(lambda: sql(w.admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND application_name = 'etl-worker-movies'")[0][0] == 1,
               timeout=WAKE_TIMEOUT_S, what="the worker connected again")
    sql(w.app, "UPDATE content.film_work SET title = 'afterdrop' WHERE id = %s", (second,))
    w.title_searchable(second, "afterdrop", WAKE_TIMEOUT_S)
    assert any(r["woke"] == "connection lost" for r in w.rounds())


def test_500_rows_in_one_statement_are_one_wake_up_and_full_batches(worker_with):
    w = worker_with()
    fids = w.films(BURST)
    before_rounds, before_batches = len(w.rounds()), len(w.proc.events("batch"))
    sql(w.app, "UPDATE content.film_work SET title = title || ' (burst)' WHERE id = ANY(%s::uuid[])", (fids,))
    wait_until(lambda: sum(int(b["rows"]) for b in w.proc.events("batch")[before_batches:]
                           if b["source"] == "film_work") >= BURST,
               timeout=WAKE_TIMEOUT_S, what="the 500 films re-sent")
    def caught_up_after_batches():
        ev = w.proc.events()
        batch_at = [i for i, e in enumerate(ev) if e.get("msg") == "batch"]
        return any(e.get("msg") == "caught up" for e in ev[batch_at[-1]:])
    wait_until(caught_up_after_batches, timeout=WAKE_TIMEOUT_S, what="caught up again")
    rounds = w.rounds()[before_rounds:]
    # One statement, one move of the signal: one round woken by it, then
    # full batches (and rechecks only while a round found nothing).
    assert len([r for r in rounds if r["woke"] == "change"]) == 1, rounds
    batches = [b for b in w.proc.events("batch")[before_batches:] if b["source"] == "film_work"]
    assert len(batches) == BURST // BATCH_SIZE, batches


def test_a_burst_of_500_commits_makes_rounds_not_one_per_row(worker_with):
    """500 single-row transactions as fast as one client commits them: a
    round reads every change committed before it, and the signal is read
    at most every wake_check_ms, so rounds stay far fewer than the commits
    (one round per row would be 500)."""
    w = worker_with()
    fids = w.films(BURST)
    before_rounds, before_batches = len(w.rounds()), len(w.proc.events("batch"))
    for n, fid in enumerate(fids):
        sql(w.app, "UPDATE content.film_work SET title = %s WHERE id = %s", (f"burst {n}", fid))
    w.title_searchable(fids[-1], f"burst {BURST - 1}", WAKE_TIMEOUT_S)
    wait_until(lambda: sum(int(b["rows"]) for b in w.proc.events("batch")[before_batches:]
                           if b["source"] == "film_work") >= BURST,
               timeout=WAKE_TIMEOUT_S, what="the 500 films re-sent")
    rounds = w.rounds()[before_rounds:]
    print(f"{len(rounds)} rounds for {BURST} commits")
    assert len(rounds) <= BURST // 4, f"{len(rounds)} rounds for {BURST} commits"


def test_without_select_on_the_signal_the_worker_warns_once_and_polls(worker_with):
    """The ETL role lost its SELECT on the sequence: the worker says so
    once, not at every check, and finds changes by the poll."""
    w = worker_with(poll_ms=POLL_FAST_MS)
    sql(w.admin, "REVOKE SELECT ON SEQUENCE content.etl_change_signal FROM etl")
    fid = w.films(1)[0]
    w.proc.wait_for(lambda ev: any(e.get("msg") == "cannot read the change signal, polling" for e in ev),
                    timeout=WAKE_TIMEOUT_S, what="the warning")
    before = len(w.rounds())
    sql(w.app, "UPDATE content.film_work SET title = 'noprivilege' WHERE id = %s", (fid,))
    w.title_searchable(fid, "noprivilege", WAKE_TIMEOUT_S)
    wait_until(lambda: len(w.rounds()) >= before + 5, timeout=WAKE_TIMEOUT_S, what="more polls")
    assert not any(r["woke"] in ("change", "recheck") for r in w.rounds()[before:])
    warnings = w.proc.events("cannot read the change signal, polling")
    assert len(warnings) == 1 and "permission denied" in warnings[0]["error"], warnings
