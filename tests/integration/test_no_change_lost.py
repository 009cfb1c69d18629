"""The worker side of "no change is ever lost or stuck", against a
real PostgreSQL (max_prepared_transactions > 0) and a real search node:

- a prepared transaction committed late: both titles reach the index, and
  the worker names the prepared transaction while it holds the horizon;
- track_activities off: the worker refuses to start (exit 78);
- change_log pruning by the worker deletes nothing a stopped index has not
  read;
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
    config, names = make_config(tmp_path, pg, es, catalog, overrides={("etl", "horizon_warn_s"): "1"})
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
        warned = worker.wait_for(
            lambda ev: [e for e in ev if e.get("msg") == "horizon held back by a prepared transaction"],
            timeout=30, what="the prepared-transaction warning")[0]
        assert warned["holder"] == "prepared" and warned["detail"] == f"gid={gid}"
        # Nothing newer than the cursor is read while it is prepared.
        assert doc_title(es, index, second) != "Meanwhile title"
    finally:
        sql(admin, "COMMIT PREPARED %s", (gid,))
    wait_until(lambda: doc_title(es, index, first) == "Prepared title", timeout=30, what="first title")
    wait_until(lambda: doc_title(es, index, second) == "Meanwhile title", timeout=30, what="second title")
    assert not [e for e in worker.events("retry") if "infinite" in e.get("reason", "")]


def test_track_activities_off_refuses_to_start(tmp_path, pg, es, catalog, bin_dir, admin, workers):
    sql(admin, f'ALTER DATABASE "{catalog}" SET track_activities = off')
    config, _ = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    assert worker.wait(timeout=60) == EXIT_CONFIG
    refused = worker.events("the horizon cannot be computed on this server; not starting")
    assert refused and "track_activities" in refused[0]["reason"]


def test_prune_deletes_nothing_a_stopped_index_has_not_read(tmp_path, pg, es, catalog, bin_dir,
                                                            admin, workers):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=["movies", "persons"], overrides={
        ("etl", "change_log_retention_s"): "3600",
        ("etl", "change_log_prune_interval_s"): "60",
    })
    # persons stopped three hours ago: that is the last position it reported.
    sql(admin, "INSERT INTO content.etl_position (index_name, source, modified, id)"
               " VALUES ('persons', 'change_log', now() - interval '3 hours', %s)", (str(uuid.UUID(int=0)),))
    read_by_all, unread_by_persons = str(uuid.uuid4()), str(uuid.uuid4())
    for row_id, age in ((read_by_all, "5 hours"), (unread_by_persons, "2 hours")):
        sql(admin, "INSERT INTO content.change_log (id, modified, table_name, operation, person_id)"
                   f" VALUES (%s, now() - interval '{age}', 'person', 'DELETE', %s)", (row_id, str(uuid.uuid4())))
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
    assert len(gap) == 1 and gap[0]["pruned_up_to"]
    started = worker.events("rebuild started")
    assert [e["reason"] for e in started] == ["change_log_pruned"]
    docs = all_documents(es, index)
    assert fid not in docs, worker.text()[-3000:]
    assert len(docs) == sql(app, "SELECT count(*) FROM content.film_work")[0][0]
    state = json.loads((tmp_path / "state" / "movies.state").read_text())
    assert "build" not in state and state["concrete"] == started[0]["concrete"]


@pytest.mark.parametrize("modified", ["2021-13-45 99:00:00+00",   # refused when read
                                      "2021-02-30 00:00:00+00"])  # refused by PostgreSQL (22008)
def test_malformed_cursor_state_is_set_aside(tmp_path, pg, es, catalog, bin_dir, app, workers, modified):
    config, names = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    worker.stop()
    path = tmp_path / "state" / "movies.state"
    state = json.loads(path.read_text())
    state["sources"]["film_work"]["modified"] = modified
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
    (30 s here); with one horizon per round, a round reads the whole
    transaction or none of it."""
    slow = tmp_path / "slow_genre.sql"
    shipped = (GENRES_SQL / "genre.sql").read_text()
    assert "FROM content.genre g\n" in shipped
    slow.write_text(shipped.replace("FROM content.genre g\n",
                                    f"FROM content.genre g, pg_sleep({SLOW_QUERY_S}) AS pause\n"))
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
