"""The worker side of "no change is ever lost or stuck", against a
real PostgreSQL (max_prepared_transactions > 0) and a real search node:

- a prepared transaction committed late: the change made meanwhile
  arrives at once, the prepared one after COMMIT PREPARED, and the worker
  names the prepared transaction while its changes wait;
- change_log pruning by the worker deletes nothing a stopped index has not
  read (by transaction id);
- change_log pruned by hand past a stopped worker's position: a rebuild
  into a new index, so the documents deleted meanwhile leave the index;
- a state file whose cursor PostgreSQL would not take is set aside, once;
- one transaction that touches two change sources, committed while a round
  is between them: the round reads all of it or none of it, and "caught
  up" is never logged with part of it unread.

The clock stepping back cannot be done to a live server; its comparison is
unit-tested (tests/unit/test_pg_source.c)."""
import json
import pathlib
import uuid

import pytest

from etlproc import all_documents, caught_up_since, document, make_config, sql, start_worker, wait_caught_up, wait_until
from expected_docs import assert_index_matches, new_id

GENRES_SQL = pathlib.Path(__file__).resolve().parents[2] / "etc" / "sql" / "genres"
# How long the slowed change query of the test below sleeps: long enough
# for the test to commit while the worker waits in it.
SLOW_QUERY_S = 1.5

EXIT_CONFIG = 78


def doc_title(es, index, fid):
    doc = document(es, index, fid)
    return doc["title"] if doc is not None else None


@pytest.fixture
def conns(pg, catalog):
    """Autocommit connections to the test's catalogue as postgres and app."""
    opened = {role: pg.connect(role, catalog) for role in ("postgres", "app")}
    try:
        yield opened
    finally:
        for conn in opened.values():
            conn.close()


@pytest.fixture
def admin(conns):
    return conns["postgres"]


@pytest.fixture
def app(conns):
    return conns["app"]


def test_prepared_transaction_committed_late_is_synced(tmp_path, pg, es, catalog, bin_dir, app,
                                                       admin, workers):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={("etl", "held_warn_s"): "1"})
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    first, second = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    gid = "p-" + uuid.uuid4().hex[:8]
    writer = pg.connect("app", catalog)
    try:
        sql(writer, "BEGIN")
        sql(writer, "UPDATE content.film_work SET title = 'Prepared title' WHERE id = %s", (first,))
        sql(writer, "PREPARE TRANSACTION %s", (gid,))
    finally:
        writer.close()
    try:
        sql(app, "UPDATE content.film_work SET title = 'Meanwhile title' WHERE id = %s", (second,))
        # Another's change is not held back by the prepared transaction.
        wait_until(lambda: doc_title(es, index, second) == "Meanwhile title", timeout=30,
                   what="second title while the first is prepared")
        warned = worker.wait_for(
            lambda ev: [e for e in ev
                        if e.get("msg") == "changes of a prepared transaction wait for its commit"],
            timeout=30, what="the prepared-transaction warning")[0]
        assert warned["holder"] == "prepared" and warned["detail"] == f"gid={gid}"
        assert doc_title(es, index, first) != "Prepared title"
    finally:
        sql(admin, "COMMIT PREPARED %s", (gid,))
    wait_until(lambda: doc_title(es, index, first) == "Prepared title", timeout=30, what="first title")
    assert not worker.events("retry")


def test_disabled_trigger_refuses_to_start(tmp_path, pg, es, catalog, bin_dir, admin, workers):
    """A trigger the ETL relies on that does not fire always (disabled, or
    enabled for origin sessions only) would lose changes: the worker
    refuses to start (exit 78) and names it."""
    sql(admin, "ALTER TABLE content.genre DISABLE TRIGGER genre_set_modified")
    config, _ = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    assert worker.wait(timeout=60) == EXIT_CONFIG
    refused = worker.events("cannot read from this server; not starting")
    assert refused and "genre_set_modified" in refused[0]["reason"]


def test_prune_deletes_nothing_a_stopped_index_has_not_read(tmp_path, pg, es, catalog, bin_dir,
                                                            admin, workers):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=["movies", "persons"], overrides={
        ("etl", "change_log_retention_s"): "3600",
        ("etl", "change_log_prune_interval_s"): "60",
    })
    # Two events, each in a transaction of its own; persons stopped after
    # the first: it reported having read every transaction below the
    # second's.
    read_by_all, unread_by_persons = str(uuid.uuid4()), str(uuid.uuid4())
    txids = []
    for row_id in (read_by_all, unread_by_persons):
        txids.append(sql(admin, "INSERT INTO content.change_log (id, modified, table_name, operation, person_id)"
                                " VALUES (%s, now() - interval '5 hours', 'person', 'DELETE', %s)"
                                " RETURNING txid::text", (row_id, str(uuid.uuid4())))[0][0])
    sql(admin, "INSERT INTO content.etl_position (index_name, source, txid)"
               " VALUES ('persons', 'change_log', %s::xid8)", (txids[1],))
    worker = start_worker(workers, bin_dir, config, "movies")
    pruned = worker.wait_for(lambda ev: [e for e in ev if e.get("msg") == "change_log pruned"],
                             timeout=120, what="a prune")[0]
    assert pruned["deleted"] == "1"
    left = {r[0] for r in sql(admin, "SELECT id::text FROM content.change_log WHERE id IN (%s, %s)",
                               (read_by_all, unread_by_persons))}
    assert left == {unread_by_persons}
    assert sql(admin, "SELECT count(*) FROM content.etl_position"
                      " WHERE index_name = 'movies' AND source = 'change_log'")[0][0] == 1


def test_hand_pruned_gap_reloads_and_removes_deleted_documents(tmp_path, pg, es, catalog, bin_dir,
                                                               app, admin, workers):
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    worker.stop()
    fid = sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    sql(app, "DELETE FROM content.film_work WHERE id = %s", (fid,))
    sql(admin, "DELETE FROM content.change_log")
    worker = start_worker(workers, bin_dir, config)
    worker.wait_for(lambda ev: [e for e in ev if e.get("msg") == "alias moved"],
                    timeout=180, what="the rebuild")
    gap = worker.events("change_log pruned past this worker's position; full reload")
    assert len(gap) == 1 and gap[0]["pruned_up_to_txid"]
    started = worker.events("rebuild started")
    assert [e["reason"] for e in started] == ["change_log_pruned"]
    docs = all_documents(es, index)
    assert fid not in docs, worker.text()[-3000:]
    assert len(docs) == sql(app, "SELECT count(*) FROM content.film_work")[0][0]
    state = json.loads((tmp_path / "state" / "movies.state").read_text())
    assert "build" not in state and state["concrete"] == started[0]["concrete"]


@pytest.mark.parametrize("txid,window_to", [
    ("12a", None),                   # a cursor refused when read
    ("99999999999999999999", None),  # past 2^64 - 1: refused when read (PostgreSQL would not)
    (None, "5:3:"),                  # xmax below xmin: refused by PostgreSQL (22P02)
])
def test_malformed_cursor_state_is_set_aside(tmp_path, pg, es, catalog, bin_dir, app, workers, txid,
                                             window_to):
    config, names = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    worker.stop()
    path = tmp_path / "state" / "movies.state"
    state = json.loads(path.read_text())
    if txid is not None:
        state["sources"]["film_work"]["txid"] = txid
    # A window open: its cursors are read.
    state["window"]["to"] = window_to or state["window"]["from"]
    path.write_text(json.dumps(state))
    worker = start_worker(workers, bin_dir, config)
    worker.wait_for(lambda ev: [e for e in ev if e.get("msg") == "full load started"] and caught_up_since()(ev),
                    timeout=120, what="the full load")
    assert len(worker.events("unusable state file set aside; full load")) == 1
    assert list((tmp_path / "state").glob("movies.state.bad-*"))
    assert not worker.events("retry")
    assert len(all_documents(es, names["movies"])) == 999


def test_a_transaction_across_two_sources_is_read_whole_by_one_round(tmp_path, pg, es, catalog,
                                                                     bin_dir, admin, workers):
    """A transaction renames, adds and deletes a genre: rows of the genre
    source and an event of the change_log source.  It commits while a round
    is between the two (the genre query is slowed by pg_sleep here): the
    source read first found it open, the one read after found it committed.
    With a horizon per batch, that round read the delete alone and logged
    "caught up" with the rename and the insert unread until the next poll
    (30 s here); with one window of transactions per round, a round reads
    the whole transaction or none of it."""
    slow = tmp_path / "slow_genre.sql"
    shipped = (GENRES_SQL / "genre.sql").read_text()
    assert shipped.rstrip().endswith(" LIMIT $4::int")
    # The limit is computed once, before the first row is read, whatever
    # the plan: every run of the query sleeps.
    slow.write_text(shipped.rstrip()[:-len("$4::int")]
                    + f"(SELECT $4::int FROM pg_sleep({SLOW_QUERY_S}))\n")
    config, names = make_config(tmp_path, pg, es, catalog, indices=["genres"], overrides={
        ("index.genres", "changes"): f"{slow} {GENRES_SQL / 'change_log.sql'}",
        ("etl", "poll_interval_ms"): "30000"})
    w = start_worker(workers, bin_dir, config, "genres")
    wait_caught_up(w, timeout=60, what="the first load")
    renamed, deleted = [r[0] for r in sql(admin, "SELECT id::text FROM content.genre ORDER BY id LIMIT 2")]
    app = pg.connect("app", catalog, autocommit=False)
    try:
        sql(app, "UPDATE content.genre SET name = 'Across sources' WHERE id = %s", (renamed,))
        sql(app, "INSERT INTO content.genre (id, name) VALUES (%s, 'Added across')", (new_id(),))
        sql(app, "DELETE FROM content.genre WHERE id = %s", (deleted,))
        # The signal woke the worker: it waits in the genre query now.
        wait_until(lambda: sql(admin, "SELECT count(*) FROM pg_stat_activity"
                                      " WHERE application_name = 'etl-worker-genres'"
                                      " AND wait_event = 'PgSleep'")[0][0] == 1,
                   timeout=10, interval=0.05, what="the worker in its slowed genre query")
        before = len(w.events())
        app.commit()
    finally:
        app.close()
    w.wait_for(caught_up_since(before), timeout=20, what="caught up after the commit")
    assert_index_matches(admin, "genres", es, names["genres"])
