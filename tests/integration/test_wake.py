"""Wake on change: the catalogue's statement-level triggers NOTIFY
content_change, the worker LISTENs and starts a round at once instead of
sleeping out its poll interval; the poll stays as the fallback.

The worker here polls every POLL_SLOW_MS (a minute): a change searchable
well within WAKE_TIMEOUT_S came by notification.  Where notifications are
off or lost, the poll interval is short and the change must still come.
Rounds are counted from the worker's debug line msg=round (woke=notify,
poll, more, retry, start, signal, "connection lost")."""
import psycopg2.errors
import pytest

from etlproc import make_config, run_worker, wait_until

POLL_SLOW_MS = 60000
POLL_FAST_MS = 300
# Longest a notified change may take to be searchable here: a round, a
# bulk request and the index's 1 s refresh, with room for a slow machine;
# far below POLL_SLOW_MS, which a missed wake-up would cost.
WAKE_TIMEOUT_S = 15
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
        self.proc.wait_for(lambda ev: any(e.get("msg") == "caught up" for e in ev),
                           timeout=120, what="the first load")

    def sql(self, conn, statement, params=None):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def films(self, count, offset=0):
        return [r[0] for r in self.sql(self.app, "SELECT id::text FROM content.film_work ORDER BY id"
                                       " OFFSET %s LIMIT %s", (offset, count))]

    def title_searchable(self, fid, title, timeout):
        def found():
            resp = self.es.get(f"/{self.index}/_doc/{fid}")
            if resp.status_code != 200 or resp.json()["_source"]["title"] != title:
                return False
            hits = self.es.post(f"/{self.index}/_search",
                                json={"query": {"match": {"title": title}}}).json()
            return hits["hits"]["total"]["value"] >= 1
        wait_until(found, timeout=timeout, interval=0.1, what=f"title {title!r} searchable")

    def rounds(self):
        return self.proc.events("round")

    def close(self):
        self.app.close()
        self.admin.close()
        if self.proc.proc.poll() is None:
            self.proc.stop()
        self.proc.close()


@pytest.fixture
def worker_with(tmp_path, pg, es, catalog, bin_dir):
    started = []

    def start(**overrides):
        w = Worker(tmp_path, pg, es, catalog, bin_dir,
                   {("etl", "poll_interval_ms"): str(overrides.pop("poll_ms", POLL_SLOW_MS)),
                    **{("postgres", k): v for k, v in overrides.items()}})
        started.append(w)
        return w
    yield start
    for w in started:
        w.close()


def test_a_committed_change_wakes_the_worker_before_its_poll(worker_with):
    w = worker_with()
    fid = w.films(1)[0]
    w.sql(w.app, "UPDATE content.film_work SET title = 'wakeupcall' WHERE id = %s", (fid,))
    w.title_searchable(fid, "wakeupcall", WAKE_TIMEOUT_S)
    assert any(r["woke"] == "notify" for r in w.rounds())


def test_a_rolled_back_change_wakes_nobody(worker_with):
    w = worker_with()
    fid = w.films(1)[0]
    before = len(w.rounds())
    with w.pg.connect("app", w.catalog, autocommit=False) as conn:
        w.sql(conn, "UPDATE content.film_work SET title = 'never' WHERE id = %s", (fid,))
        conn.rollback()
    conn.close()
    # A committed change after it is the marker: its wake-up is the first.
    w.sql(w.app, "UPDATE content.film_work SET title = 'afterrollback' WHERE id = %s", (fid,))
    w.title_searchable(fid, "afterrollback", WAKE_TIMEOUT_S)
    notified = [r for r in w.rounds()[before:] if r["woke"] == "notify"]
    assert len(notified) == 1, notified


def test_without_notify_channel_changes_arrive_by_polling(worker_with):
    w = worker_with(poll_ms=POLL_FAST_MS, notify_channel="")
    fid = w.films(1)[0]
    w.sql(w.app, "UPDATE content.film_work SET title = 'polledin' WHERE id = %s", (fid,))
    w.title_searchable(fid, "polledin", WAKE_TIMEOUT_S)
    assert not any(r["woke"] == "notify" for r in w.rounds())


def test_a_lost_notification_costs_one_poll_not_the_change(worker_with):
    """The trigger off: nothing is announced, the poll finds the change."""
    w = worker_with(poll_ms=POLL_FAST_MS)
    w.sql(w.admin, "ALTER TABLE content.film_work DISABLE TRIGGER film_work_notify")
    fid = w.films(1)[0]
    before = len(w.rounds())
    w.sql(w.app, "UPDATE content.film_work SET title = 'unannounced' WHERE id = %s", (fid,))
    w.title_searchable(fid, "unannounced", WAKE_TIMEOUT_S)
    assert not any(r["woke"] == "notify" for r in w.rounds()[before:])


def test_a_killed_listen_connection_is_listened_on_again(worker_with):
    """pg_terminate_backend on the worker's connection: it wakes, reconnects
    and LISTENs again, so the change made meanwhile and the next one both
    arrive well before the minute-long poll."""
    w = worker_with()
    first, second = w.films(2)
    killed = w.sql(w.admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND application_name = 'etl-worker-movies'")
    assert killed and all(r[0] for r in killed), killed
    w.sql(w.app, "UPDATE content.film_work SET title = 'duringdrop' WHERE id = %s", (first,))
    w.title_searchable(first, "duringdrop", WAKE_TIMEOUT_S)
    wait_until(lambda: w.sql(w.admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND application_name = 'etl-worker-movies'")[0][0] == 1,
               timeout=WAKE_TIMEOUT_S, what="the worker connected again")
    w.sql(w.app, "UPDATE content.film_work SET title = 'afterdrop' WHERE id = %s", (second,))
    w.title_searchable(second, "afterdrop", WAKE_TIMEOUT_S)
    assert any(r["woke"] == "connection lost" for r in w.rounds())


def test_500_rows_in_one_statement_are_one_wake_up_and_full_batches(worker_with):
    w = worker_with()
    fids = w.films(BURST)
    before_rounds, before_batches = len(w.rounds()), len(w.proc.events("batch"))
    w.sql(w.app, "UPDATE content.film_work SET title = title || ' (burst)' WHERE id = ANY(%s::uuid[])", (fids,))
    wait_until(lambda: sum(int(b["rows"]) for b in w.proc.events("batch")[before_batches:]
                           if b["source"] == "film_work") >= BURST,
               timeout=WAKE_TIMEOUT_S, what="the 500 films re-sent")
    def caught_up_after_batches():
        ev = w.proc.events()
        batch_at = [i for i, e in enumerate(ev) if e.get("msg") == "batch"]
        return any(e.get("msg") == "caught up" for e in ev[batch_at[-1]:])
    wait_until(caught_up_after_batches, timeout=WAKE_TIMEOUT_S, what="caught up again")
    rounds = w.rounds()[before_rounds:]
    notified = [r for r in rounds if r["woke"] == "notify"]
    # One statement, one notification: one round woken by it (a second at
    # most, when it came while a round was under way), then full batches.
    assert 1 <= len(notified) <= 2, rounds
    batches = [b for b in w.proc.events("batch")[before_batches:] if b["source"] == "film_work"]
    assert len(batches) == BURST // BATCH_SIZE, batches
    assert len(rounds) <= BURST // BATCH_SIZE + 3, rounds


def test_a_burst_of_500_commits_makes_rounds_not_one_per_row(worker_with):
    """500 single-row transactions as fast as one client commits them: each
    round takes every notification pending, so rounds stay far fewer than
    the commits (one round per row would be 500)."""
    w = worker_with()
    fids = w.films(BURST)
    before_rounds, before_batches = len(w.rounds()), len(w.proc.events("batch"))
    for n, fid in enumerate(fids):
        w.sql(w.app, "UPDATE content.film_work SET title = %s WHERE id = %s", (f"burst {n}", fid))
    w.title_searchable(fids[-1], f"burst {BURST - 1}", WAKE_TIMEOUT_S)
    wait_until(lambda: sum(int(b["rows"]) for b in w.proc.events("batch")[before_batches:]
                           if b["source"] == "film_work") >= BURST,
               timeout=WAKE_TIMEOUT_S, what="the 500 films re-sent")
    rounds = w.rounds()[before_rounds:]
    pending = sum(int(r["notifications"]) for r in rounds)
    print(f"{len(rounds)} rounds, {pending} notifications taken at round starts")
    assert len(rounds) <= BURST // 4, f"{len(rounds)} rounds for {BURST} commits"


def test_a_two_phase_writer_turns_notify_off_and_is_polled(worker_with):
    """PostgreSQL refuses to prepare a transaction that sent a NOTIFY; with
    SET etl.notify = off the writer prepares, and its change, committed
    later, arrives by the poll."""
    w = worker_with(poll_ms=POLL_FAST_MS)
    fid = w.films(1)[0]
    writer = w.pg.connect("app", w.catalog)
    try:
        w.sql(writer, "BEGIN")
        w.sql(writer, "UPDATE content.film_work SET title = 'twophase' WHERE id = %s", (fid,))
        with pytest.raises(psycopg2.errors.FeatureNotSupported):
            w.sql(writer, "PREPARE TRANSACTION 'etl-notify-refused'")
        w.sql(writer, "ROLLBACK")
        w.sql(writer, "SET etl.notify = off")
        w.sql(writer, "BEGIN")
        w.sql(writer, "UPDATE content.film_work SET title = 'twophase' WHERE id = %s", (fid,))
        w.sql(writer, "PREPARE TRANSACTION 'etl-notify-off'")
        w.sql(w.admin, "COMMIT PREPARED 'etl-notify-off'")
    finally:
        writer.close()
    w.title_searchable(fid, "twophase", WAKE_TIMEOUT_S)
