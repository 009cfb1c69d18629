"""The movies worker against a real PostgreSQL and a real search node:
full load, incremental changes (only what changed, everything that
changed), concurrency, resumability, backoff, rejects, config, stopping."""
import json
import math
import os
import signal
import subprocess
import time

import pytest

from etlproc import (all_documents, assert_no_sanitizer_report, clean_env, document, document_versions,
                     make_config, resent, retries, run_in_transaction, run_worker, sql, wait_caught_up,
                     wait_synced, wait_until)
from expected_docs import assert_index_matches, expected_movies, new_id, normalize_movie

POLL_MS = 200


class Synced:
    """A movies worker that has finished its first load, on its own catalogue
    copy and its own index."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides=None):
        self.pg, self.es, self.catalog, self.tmp_path = pg, es, catalog, tmp_path
        self.config, names = make_config(tmp_path, pg, es, catalog, overrides=overrides)
        self.index = names["movies"]
        self.bin_dir = bin_dir
        self.worker = run_worker(bin_dir, self.config)
        self.app = pg.connect("app", catalog)

    def wait_loaded(self, timeout=120):
        wait_caught_up(self.worker, timeout=timeout, what="the first load")

    def batches(self):
        return self.worker.events("batch")

    def sql(self, statement, params=None):
        return sql(self.app, statement, params)

    def doc(self, fid):
        return document(self.es, self.index, fid)

    def wait_doc(self, fid, predicate, timeout=30, what="document"):
        return wait_until(lambda: predicate(self.doc(fid)), timeout=timeout, what=what)

    def close(self):
        self.app.close()
        self.worker.stop()


@pytest.fixture
def synced(tmp_path, pg, es, catalog, bin_dir):
    s = Synced(tmp_path, pg, es, catalog, bin_dir)
    try:
        s.wait_loaded()
        yield s
    finally:
        s.close()


def change_and_versions(s, statements):
    """Runs statements in one transaction and returns ({id: version} before,
    after the worker synced, batch lines logged for the change)."""
    before = document_versions(s.es, s.index)
    n_batches = len(s.batches())
    run_in_transaction(s.pg, s.catalog, statements)
    wait_synced(s.worker, n_batches)
    after = document_versions(s.es, s.index)
    return before, after, s.batches()[n_batches:]


def films_of(s, column, value):
    table = "person_film_work" if column == "person_id" else "genre_film_work"
    rows = s.sql(f"SELECT DISTINCT film_work_id::text FROM content.{table} WHERE {column} = %s", (value,))
    return {r[0] for r in rows}


def assert_index_equals_db(s):
    assert_index_matches(s.app, "movies", s.es, s.index)


# --- 1. Full load ------------------------------------------------------------

def test_full_load_builds_every_document_exactly(synced, es):
    docs = all_documents(es, synced.index)
    assert len(docs) == 999
    expected = expected_movies(synced.app)
    assert set(docs) == set(expected)
    for fid, want in expected.items():
        got = normalize_movie(docs[fid])
        assert set(got) == set(want), fid
        for field in want:
            if field == "imdb_rating" and want[field] is not None:
                assert math.isclose(got[field], want[field]), fid
            else:
                assert got[field] == want[field], (fid, field)
    # The sample's quirks: 18 films with nobody, roles always [] not null.
    empty = [d for d in docs.values() if not d["actors"] and not d["directors"] and not d["writers"]]
    assert len(empty) == 18
    for d in empty:
        assert d["actors_names"] == [] and d["directors"] == [] and d["writers_names"] == []
    assert sum(1 for d in docs.values() if d["imdb_rating"] is None) == 1
    # The mapping in ES is the file's.
    mapping = es.get(f"/{synced.index}/_mapping").json()
    live = next(iter(mapping.values()))["mappings"]
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "etc", "elasticsearch", "movies.json")) as f:
        assert live == json.load(f)["mappings"]
    # Search works with the ru_en analyzer: a stemmed title word.
    hits = es.post(f"/{synced.index}/_search", json={"query": {"match": {"title": "wars"}}}).json()
    assert hits["hits"]["total"]["value"] > 0
    batch = synced.batches()
    assert sum(int(b["docs"]) for b in batch) == 999
    assert all(b["source"] == "film_work" for b in batch)


# --- 2. Only what changed, everything that changed ----------------------------

def test_change_is_searchable_within_poll_interval_plus_two_seconds(synced, es):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    word = "Zyxwvutsr" + new_id()[:6]
    synced.sql("UPDATE content.film_work SET title = %s WHERE id = %s", (word, fid))
    start = time.monotonic()

    def found():
        # No refresh here: the index's own refresh_interval must do.
        r = es.post(f"/{synced.index}/_search", json={"query": {"match": {"title": word}}}).json()
        return r["hits"]["total"]["value"] == 1
    wait_until(found, timeout=POLL_MS / 1000 + 2, interval=0.05, what="the new title to be searchable")
    assert time.monotonic() - start <= POLL_MS / 1000 + 2


def test_film_insert(synced):
    fid, gid, pid = new_id(), new_id(), new_id()
    before, after, batches = change_and_versions(synced, [
        ("INSERT INTO content.film_work (id, title, description, rating, type) VALUES (%s, 'New Film', 'd', 7.5, 'movie')", (fid,)),
        ("INSERT INTO content.genre (id, name) VALUES (%s, 'Docu')", (gid,)),
        ("INSERT INTO content.person (id, full_name) VALUES (%s, 'Ann Example')", (pid,)),
        ("INSERT INTO content.genre_film_work (id, genre_id, film_work_id) VALUES (%s, %s, %s)", (new_id(), gid, fid)),
        ("INSERT INTO content.person_film_work (id, person_id, film_work_id, role) VALUES (%s, %s, %s, 'director')", (new_id(), pid, fid)),
    ])
    assert resent(before, after) == {fid}
    assert normalize_movie(synced.doc(fid)) == expected_movies(synced.app, {fid})[fid]
    assert synced.doc(fid)["directors"] == [{"id": pid, "name": "Ann Example"}]
    assert synced.doc(fid)["actors"] == [] and synced.doc(fid)["writers_names"] == []


def test_film_update_resends_only_that_film(synced):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id OFFSET 5 LIMIT 1")[0][0]
    before, after, batches = change_and_versions(synced, [
        ("UPDATE content.film_work SET title = 'Renamed', rating = 1.5 WHERE id = %s", (fid,))])
    assert resent(before, after) == {fid}
    assert synced.doc(fid)["title"] == "Renamed" and synced.doc(fid)["imdb_rating"] == 1.5
    assert sum(int(b["docs"]) for b in batches) == 1


def test_film_delete(synced):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id OFFSET 7 LIMIT 1")[0][0]
    before, after, batches = change_and_versions(synced, [
        ("DELETE FROM content.film_work WHERE id = %s", (fid,))])
    assert fid in before and fid not in after
    assert resent(before, after) == {fid}
    assert sum(int(b["deleted"]) for b in batches) == 1


def busiest_person(s):
    return s.sql("SELECT person_id::text FROM content.person_film_work GROUP BY person_id"
                 " HAVING count(DISTINCT film_work_id) >= 3 ORDER BY count(*) DESC, person_id LIMIT 1")[0][0]


def test_person_rename_resends_exactly_their_films(synced):
    pid = busiest_person(synced)
    films = films_of(synced, "person_id", pid)
    before, after, batches = change_and_versions(synced, [
        ("UPDATE content.person SET full_name = 'Renamed Person' WHERE id = %s", (pid,))])
    assert resent(before, after) == films
    assert sum(int(b["docs"]) for b in batches) == len(films)
    for fid in films:
        doc = synced.doc(fid)
        assert "Renamed Person" in doc["actors_names"] + doc["directors_names"] + doc["writers_names"]
    assert_index_equals_db(synced)


def test_person_delete_resends_exactly_their_films(synced):
    pid = busiest_person(synced)
    films = films_of(synced, "person_id", pid)
    before, after, _ = change_and_versions(synced, [("DELETE FROM content.person WHERE id = %s", (pid,))])
    assert resent(before, after) == films
    for fid in films:
        doc = synced.doc(fid)
        assert all(p["id"] != pid for p in doc["actors"] + doc["directors"] + doc["writers"])
    assert_index_equals_db(synced)


def test_genre_rename_and_delete_resend_exactly_its_films(synced):
    gid = synced.sql("SELECT genre_id::text FROM content.genre_film_work GROUP BY genre_id"
                     " ORDER BY count(*) ASC, genre_id LIMIT 1")[0][0]
    films = films_of(synced, "genre_id", gid)
    before, after, _ = change_and_versions(synced, [("UPDATE content.genre SET name = 'Renamed Genre' WHERE id = %s", (gid,))])
    assert resent(before, after) == films
    assert all("Renamed Genre" in synced.doc(f)["genres"] for f in films)
    before, after, _ = change_and_versions(synced, [("DELETE FROM content.genre WHERE id = %s", (gid,))])
    assert resent(before, after) == films
    assert all("Renamed Genre" not in synced.doc(f)["genres"] for f in films)
    assert_index_equals_db(synced)


def test_link_changes_resend_only_that_film(synced):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id OFFSET 11 LIMIT 1")[0][0]
    pid = synced.sql("SELECT id::text FROM content.person WHERE id NOT IN"
                     " (SELECT person_id FROM content.person_film_work WHERE film_work_id = %s)"
                     " ORDER BY id LIMIT 1", (fid,))[0][0]
    gid = synced.sql("SELECT id::text FROM content.genre WHERE id NOT IN"
                     " (SELECT genre_id FROM content.genre_film_work WHERE film_work_id = %s)"
                     " ORDER BY id LIMIT 1", (fid,))[0][0]
    link_p, link_g = new_id(), new_id()
    # The person and genre rows themselves are not touched: only link rows.
    before, after, _ = change_and_versions(synced, [
        ("INSERT INTO content.person_film_work (id, person_id, film_work_id, role) VALUES (%s, %s, %s, 'writer')", (link_p, pid, fid)),
        ("INSERT INTO content.genre_film_work (id, genre_id, film_work_id) VALUES (%s, %s, %s)", (link_g, gid, fid))])
    assert resent(before, after) == {fid}
    assert pid in [p["id"] for p in synced.doc(fid)["writers"]]
    before, after, _ = change_and_versions(synced, [
        ("DELETE FROM content.person_film_work WHERE id = %s", (link_p,)),
        ("DELETE FROM content.genre_film_work WHERE id = %s", (link_g,))])
    assert resent(before, after) == {fid}
    assert pid not in [p["id"] for p in synced.doc(fid)["writers"]]
    assert_index_equals_db(synced)


# --- 3. Nothing lost under concurrency --------------------------------------

def test_equal_modified_split_across_batches(tmp_path, pg, es, catalog, bin_dir):
    s = Synced(tmp_path, pg, es, catalog, bin_dir, overrides={("etl", "batch_size"): "10"})
    try:
        s.wait_loaded()
        ids = [r[0] for r in s.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 25")]
        # One statement, one transaction: 25 rows with one equal `modified`.
        before, after, batches = change_and_versions(s, [
            ("UPDATE content.film_work SET description = 'same instant' WHERE id = ANY(%s::uuid[])", (ids,))])
        stamps = s.sql("SELECT count(DISTINCT modified) FROM content.film_work WHERE id = ANY(%s::uuid[])", (ids,))
        assert stamps[0][0] == 1
        assert resent(before, after) == set(ids)
        assert [int(b["rows"]) for b in batches if b["source"] == "film_work"] == [10, 10, 5]
        assert all(s.doc(i)["description"] == "same instant" for i in ids)
    finally:
        s.close()


def test_long_transaction_committing_late_is_not_lost(synced):
    old_film, new_film = [r[0] for r in synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    long_tx = synced.pg.connect("app", synced.catalog, autocommit=False)
    try:
        with long_tx.cursor() as cur:   # stamped with this transaction's start time
            cur.execute("UPDATE content.film_work SET title = 'From the long transaction' WHERE id = %s", (old_film,))
        time.sleep(0.05)
        # A later, short transaction commits first, with a later stamp.
        synced.sql("UPDATE content.film_work SET title = 'Committed first' WHERE id = %s", (new_film,))
        # Let the worker poll several times while the long one is open.
        time.sleep(10 * POLL_MS / 1000)
        long_tx.commit()
    finally:
        long_tx.close()
    synced.wait_doc(old_film, lambda d: d and d["title"] == "From the long transaction",
                    what="the long transaction's row")
    synced.wait_doc(new_film, lambda d: d and d["title"] == "Committed first", what="the short one's row")


def test_open_writer_whose_changes_wait_is_warned_about(tmp_path, pg, es, catalog, bin_dir):
    s = Synced(tmp_path, pg, es, catalog, bin_dir, overrides={("etl", "held_warn_s"): "1"})
    try:
        s.wait_loaded()
        held = pg.connect("app", catalog, autocommit=False)
        try:
            with held.cursor() as cur:
                # A writer from here: its changes wait for its commit.
                cur.execute("UPDATE content.genre SET name = name"
                            " WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
            warned = s.worker.wait_for(
                lambda ev: [e for e in ev
                            if e.get("msg") == "changes of an open transaction wait for its commit"],
                timeout=20, what="the warning")
            assert float(warned[0]["held_s"]) >= 1
            assert warned[0]["level"] == "warn"
            assert warned[0]["detail"] == f"pid={pid}"
        finally:
            held.rollback()
            held.close()
        # At most one warning per held_warn_s.
        stamps = [e["ts"] for e in s.worker.events("changes of an open transaction wait for its commit")]
        assert len(stamps) == len(set(s[:19] for s in stamps))
    finally:
        s.close()


# --- 4. Resumable -------------------------------------------------------------

def test_kill_9_mid_load_resumes_from_state(tmp_path, pg, es, catalog, bin_dir):
    batch = 50
    # A kill -9 sends again at most the batches in flight (their requests
    # may have been indexed, their cursor not saved): bulk_concurrency.
    in_flight = 2
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "batch_size"): str(batch),
                                           ("etl", "bulk_concurrency"): str(in_flight)})
    index = names["movies"]
    first = run_worker(bin_dir, config)
    try:
        first.wait_for(lambda ev: len([e for e in ev if e.get("msg") == "batch"]) >= 3, timeout=120,
                       what="three batches")
        first.proc.kill()
        first.wait()
    finally:
        first.close()
    state = json.loads((tmp_path / "state" / "movies.state").read_text())
    assert state["sources"]["film_work"]["txid"] != "0"
    second = run_worker(bin_dir, config)
    try:
        wait_caught_up(second, timeout=120, what="the load")
        assert any(e.get("state") == "resumed" for e in second.events("started"))
        sent_after_restart = sum(int(b["docs"]) for b in second.events("batch"))
        versions = document_versions(es, index)
        assert len(versions) == 999
        # One shard: every write took the next sequence number, so the
        # writes beyond one a document are the ones sent twice.
        twice = max(versions.values()) + 1 - len(versions)
        assert twice <= in_flight * batch
        assert sent_after_restart <= 999 - 3 * batch + in_flight * batch
    finally:
        second.stop()
    conn = pg.connect("etl", catalog)
    try:
        assert_index_matches(conn, "movies", es, index)
    finally:
        conn.close()


def test_unreadable_state_file_is_set_aside(tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "movies.state").write_text("{ this is not json")
    w = run_worker(bin_dir, config)
    try:
        wait_caught_up(w, timeout=120, what="the load")
        errors = [e for e in w.events() if e.get("level") == "error"]
        assert any("state file set aside" in e["msg"] for e in errors)
        aside = list((tmp_path / "state").glob("movies.state.bad-*"))
        assert len(aside) == 1 and aside[0].read_text() == "{ this is not json"
        assert es.count(names["movies"]) == 999
        assert json.loads((tmp_path / "state" / "movies.state").read_text())["version"] == 3
    finally:
        assert w.stop() == 0


# --- 5. Backoff, retries, rejects ---------------------------------------------

def test_postgres_outage_is_retried_with_growing_delays(synced, pg):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    synced.app.close()
    pg.stop()
    try:
        wait_until(lambda: len(retries(synced.worker, "postgres")) >= 5, timeout=60, what="5 retries")
        delays = [int(e["delay_ms"]) for e in retries(synced.worker, "postgres")]
        attempts = [int(e["attempt"]) for e in retries(synced.worker, "postgres")]
        assert attempts[:5] == [1, 2, 3, 4, 5]
        assert max(delays) <= 1000                      # backoff_max_ms of the test config
        assert delays[4] >= 500                         # 100 * 2^4 capped at 1000, upper half
        assert all(e.get("reason") for e in retries(synced.worker, "postgres"))
        assert synced.worker.proc.poll() is None
    finally:
        pg.start()
    synced.app = pg.connect("app", synced.catalog)
    synced.sql("UPDATE content.film_work SET title = 'After the outage' WHERE id = %s", (fid,))
    synced.wait_doc(fid, lambda d: d and d["title"] == "After the outage", what="the change after the outage")
    assert synced.worker.proc.poll() is None


def test_postgres_crash_restart_leaves_only_logfmt_lines(synced, pg):
    """An immediate shutdown (a crash) sends every backend's client a
    WARNING notice.  libpq prints notices to stderr as they come unless
    told otherwise; the worker logs them as events instead: one logfmt
    line, with the server's severity, SQLSTATE and message."""
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    synced.app.close()
    pg.restart_immediate()
    synced.app = pg.connect("app", synced.catalog)
    synced.sql("UPDATE content.film_work SET title = 'After the crash' WHERE id = %s", (fid,))
    synced.wait_doc(fid, lambda d: d and d["title"] == "After the crash", timeout=60,
                    what="the change after the crash")
    # The notice came on the old connection, read before the worker
    # reconnected, so it is in the log by now.
    lines = synced.worker.text().splitlines()
    assert lines and all(line.startswith("ts=") and " level=" in line and " msg=" in line for line in lines), \
        [line for line in lines if not line.startswith("ts=")]
    assert synced.worker.events("postgres notice")
    notice = synced.worker.events("postgres notice")[0]
    assert notice["level"] == "warn"
    assert notice["severity"] == "WARNING" and notice["sqlstate"] == "57P01"
    assert notice["text"] == "terminating connection due to immediate shutdown command"
    assert synced.worker.proc.poll() is None


def test_search_outage_is_retried(synced, es):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    es.stop()
    try:
        synced.sql("UPDATE content.film_work SET title = 'During the outage' WHERE id = %s", (fid,))
        wait_until(lambda: len(retries(synced.worker, "elasticsearch")) >= 3, timeout=60, what="3 retries")
        assert synced.worker.proc.poll() is None
    finally:
        es.start()
    synced.wait_doc(fid, lambda d: d and d["title"] == "During the outage", timeout=60,
                    what="the change after the outage")


def test_429_items_are_retried_until_accepted(synced, es):
    fid = synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    block = {"index.blocks.read_only_allow_delete": True}
    assert es.put(f"/{synced.index}/_settings", json=block).status_code == 200
    try:
        synced.sql("UPDATE content.film_work SET title = 'Blocked for a while' WHERE id = %s", (fid,))
        wait_until(lambda: any(e.get("status") == "429" for e in synced.worker.events(
            "index refusing writes; retrying")), timeout=30, what="a 429 refusal")
    finally:
        es.put(f"/{synced.index}/_settings", json={"index.blocks.read_only_allow_delete": None})
    synced.wait_doc(fid, lambda d: d and d["title"] == "Blocked for a while", what="the retried document")
    assert not (synced.tmp_path / "state" / "movies.rejects").exists()


def test_rejected_document_is_kept_aside_and_the_rest_goes_on(synced):
    bad, good = [r[0] for r in synced.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    before, after, batches = change_and_versions(synced, [
        ("UPDATE content.film_work SET rating = 'Infinity' WHERE id = %s", (bad,)),
        ("UPDATE content.film_work SET title = 'Still synced' WHERE id = %s", (good,))])
    assert synced.doc(good)["title"] == "Still synced"
    assert sum(int(b["rejected"]) for b in batches) == 1
    lines = (synced.tmp_path / "state" / "movies.rejects").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["id"] == bad and record["status"] == 400
    assert record["document"]["id"] == bad
    assert any(e.get("id") == bad for e in synced.worker.events("document rejected"))
    # The cursor went past it: a later change is synced too.
    synced.sql("UPDATE content.film_work SET title = 'Later' WHERE id = %s", (good,))
    synced.wait_doc(good, lambda d: d and d["title"] == "Later")


# --- 6. Configuration and secrets ----------------------------------------------

def test_bad_config_exits_78_with_file_line_key(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, overrides={("etl", "batch_size"): "0"})
    line = next(i for i, l in enumerate(config.read_text().splitlines(), 1) if l.startswith("batch_size"))
    r = subprocess.run([bin_dir / "etl-worker", "--index", "movies", "-c", config],
                       capture_output=True, text=True, env=clean_env(), timeout=30)
    assert_no_sanitizer_report(r.stderr, "etl-worker")
    assert r.returncode == 78
    assert f"{config}:{line}: batch_size: " in r.stderr


def test_password_from_env_and_never_logged(tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={("postgres", "password_file"): ""})
    env = clean_env()
    env["ETL_PG_PASSWORD"] = pg.passwords["etl"]
    w = run_worker(bin_dir, config, env=env)
    try:
        wait_caught_up(w, timeout=120, what="the load")
    finally:
        w.stop()
    assert pg.passwords["etl"] not in w.text()
    # A wrong password: retried and logged without the password itself.
    env["ETL_PG_PASSWORD"] = "wrong-" + pg.passwords["etl"]
    w = run_worker(bin_dir, config, env=env)
    try:
        w.wait_for(lambda ev: len([e for e in ev if e.get("msg") == "retry"]) >= 2, timeout=30, what="retries")
    finally:
        assert w.stop() == 0
    assert "password authentication failed" in w.text()
    assert env["ETL_PG_PASSWORD"] not in w.text()


def test_libpq_environment_variables_still_work(tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={
        ("postgres", "host"): "", ("postgres", "port"): "", ("postgres", "password_file"): ""})
    env = clean_env()
    env.update(PGHOST=pg.host, PGPORT=str(pg.port), PGPASSWORD=pg.passwords["etl"])
    w = run_worker(bin_dir, config, env=env)
    try:
        wait_caught_up(w, timeout=120, what="the load")
        assert es.count(names["movies"]) == 999
    finally:
        w.stop()


# --- 9. Stopping, mapping -------------------------------------------------------

def test_sigterm_mid_load_stops_at_a_safe_point(tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={("etl", "batch_size"): "20"})
    w = run_worker(bin_dir, config)
    try:
        w.wait_for(lambda ev: len([e for e in ev if e.get("msg") == "batch"]) >= 2, timeout=120, what="two batches")
        w.signal(signal.SIGTERM)
        started = time.monotonic()
        assert w.wait(timeout=15) == 0
        assert time.monotonic() - started < 15
    finally:
        w.close()
    assert w.events("stopped")
    state = json.loads((tmp_path / "state" / "movies.state").read_text())["sources"]["film_work"]
    conn = pg.connect("etl", catalog)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id::text FROM content.film_work WHERE (txid, id) <= (%s::xid8, %s::uuid)",
                        (state["txid"], state["id"]))
            done = {r[0] for r in cur.fetchall()}
    finally:
        conn.close()
    assert 0 < len(done) < 999
    assert set(all_documents(es, names["movies"])) == done


def test_mapping_differing_from_file_is_refused(tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "on_mapping_change"): "refuse"})
    es.put(f"/{names['movies']}", json={"mappings": {"properties": {"id": {"type": "keyword"}}}})
    r = subprocess.run([bin_dir / "etl-worker", "--index", "movies", "-c", config],
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    assert_no_sanitizer_report(r.stderr, "etl-worker")
    assert r.returncode == 65
    assert "mapping differs" in r.stderr
