"""Batches that are big in bytes or in fan-out, against a real
PostgreSQL and a real search node:

- long texts: 520 films with ~210 KB descriptions make one batch of 500
  documents a body over the node's http.max_content_length (100mb by
  default); the batch is split into requests of at most bulk_max_bytes;
- one 20 MB document is rejected into the rejects file, its batch goes on;
- a node whose http.max_content_length is lowered answers 413: the worker
  halves the request until it fits, and a lone document still too large is
  rejected with status 413;
- documents.sql returning pretty-printed JSON still makes valid NDJSON;
  invalid JSON is a configuration error (exit 78), nothing sent;
- a person in 20 000 films renamed: sent in batches of batch_size, with the
  worker's peak RSS bounded, and a kill -9 in the middle resumes inside the
  fan-out.
"""
import json
import re
import signal

import pytest

from etlproc import ETC, make_config, run_in_transaction, run_worker, transaction, wait_caught_up, wait_synced, wait_until
from expected_docs import new_id

DEFAULT_BULK_MAX_BYTES = 10 * 1024 * 1024
LONG_TEXT_WORDS = 215_000 // 12  # 'lorem ipsum ' is 12 bytes: ~210 KB a film
RSS_LIMIT_KB = 32 * 1024


def rejects(tmp_path):
    path = tmp_path / "state" / "movies.rejects"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def descriptions(es, index, ids):
    resp = es.post(f"/{index}/_mget", json={"ids": list(ids)}, timeout=120)
    resp.raise_for_status()
    return {d["_id"]: (d.get("_source") or {}).get("description") for d in resp.json()["docs"]}


# --- Bulk requests bounded by bytes ---------------------------------------------

def test_long_texts_are_split_under_the_limit_and_a_huge_document_is_rejected(
        tmp_path, pg, es, catalog, bin_dir):
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    w = run_worker(bin_dir, config)
    try:
        wait_caught_up(w, timeout=180, what="the first load")
        n_batches = len(w.events("batch"))
        # The scenario this test is for: an editor pastes long descriptions into 520
        # films, one of them a 20 MB text, in one transaction (one window: their
        # batches are the ones waited for).
        with transaction(pg, "app", catalog) as cur:
            cur.execute("UPDATE content.film_work SET description = repeat('lorem ipsum ', %s) || id::text"
                        " WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 520)"
                        " RETURNING id::text", (LONG_TEXT_WORDS,))
            films = sorted(r[0] for r in cur.fetchall())
            huge = films[7]
            cur.execute("UPDATE content.film_work SET description = repeat('word ', 4000000)"
                        " WHERE id = %s", (huge,))
        wait_synced(w, n_batches, timeout=300)
        batches = w.events("batch")[n_batches:]
        assert batches, "no batch after the change"
        for b in batches:
            assert int(b["bulk_max_request_bytes"]) <= DEFAULT_BULK_MAX_BYTES, b
        # More requests than batches: the 500-document batch was split.
        assert sum(int(b["bulk_requests"]) for b in batches) > len(batches)
        assert not [e for e in w.events("retry") if "413" in e.get("reason", "")]
        got = descriptions(es, index, films)
        for fid in films:
            if fid != huge:
                assert got[fid] is not None and got[fid].endswith(fid), fid
                assert len(got[fid]) > 200_000, fid
        # The 20 MB document: rejected with a clear reason, not sent.
        assert got[huge] is None or len(got[huge]) < 1_000_000
        records = [r for r in rejects(tmp_path) if r["id"] == huge]
        assert len(records) == 1
        assert records[0]["status"] == 413
        reason = json.dumps(records[0]["error"])
        assert str(DEFAULT_BULK_MAX_BYTES) in reason and "bulk_max_bytes" in reason
        assert sum(int(b["rejected"]) for b in batches) == 1
        assert any(e.get("id") == huge and e.get("status") == "413"
                   for e in w.events("document rejected"))
        # The cursor went past it: a later change is synced.
        later = films[8]
        run_in_transaction(pg, catalog, [("UPDATE content.film_work SET title = 'After the big one' WHERE id = %s",
                               (later,))])
        wait_until(lambda: (es.get(f"/{index}/_doc/{later}").json().get("_source") or {}).get("title")
                   == "After the big one", timeout=60, what="a later change")
    finally:
        assert w.stop() == 0


def write_documents_sql(tmp_path, wrap):
    """A movies documents.sql that wraps the shipped one: wrap(inner) -> sql."""
    inner = "\n".join(line for line in (ETC / "sql" / "movies" / "documents.sql").read_text().splitlines()
                      if not line.lstrip().startswith("--"))
    path = tmp_path / "documents.sql"
    path.write_text(wrap(inner))
    return path


def test_pretty_printed_documents_make_valid_ndjson(tmp_path, pg, es, catalog, bin_dir):
    documents = write_documents_sql(
        tmp_path, lambda inner: f"SELECT id, jsonb_pretty(document::jsonb) AS document FROM ({inner}) d")
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("index.movies", "documents"): str(documents)})
    w = run_worker(bin_dir, config)
    try:
        wait_caught_up(w, timeout=180, what="the first load")
        assert es.count(names["movies"]) == 999
        assert not rejects(tmp_path)
    finally:
        assert w.stop() == 0


FIRST_FILM = "SELECT id::text FROM content.film_work ORDER BY modified, id LIMIT 1"


def test_invalid_json_from_sql_exits_78_and_sends_nothing(tmp_path, pg, es, catalog, bin_dir):
    documents = write_documents_sql(
        tmp_path, lambda inner: f"SELECT id, CASE WHEN id = ({FIRST_FILM}) THEN left(document, 20)"
                                f" ELSE document END AS document FROM ({inner}) d")
    # The first film of the full load: its batch is the first one.
    bad = run_in_transaction(pg, catalog, [(FIRST_FILM, None)])[0][0]
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("index.movies", "documents"): str(documents)})
    w = run_worker(bin_dir, config)
    try:
        assert w.wait(timeout=120) == 78
    finally:
        w.close()
    errors = [e for e in w.events() if e.get("level") == "error"]
    assert any(e.get("id") == bad and "JSON" in e.get("msg", "") for e in errors), w.text()[-2000:]
    assert not w.events("batch")
    assert es.count(names["movies"]) == 0


def small_body_node_class(search_node):
    """A SearchNode subclass whose http.max_content_length is lowered: the
    runner copies its default opensearch.yml (elasticsearch.yml) only when
    the node has none, so one written beforehand is used."""

    class SmallBodyNode(search_node):
        MAX_CONTENT = "1mb"

        def create(self, attempts=5):
            for attempt in range(attempts):
                conf = self.base / f"es{attempt}" / "node" / "node_1" / "config"
                conf.mkdir(parents=True, exist_ok=True)
                (conf / self.expected["config_file"]).write_text(f"http.max_content_length: {self.MAX_CONTENT}\n")
            super().create(attempts)

    return SmallBodyNode


@pytest.fixture(scope="module")
def small_body_es(es):
    # The harness of tests/integration/conftest.py, found through the session
    # node's class (tests/integration/admin has a conftest module of its own,
    # so "import conftest" may give that one).
    harness = type(es).create.__globals__
    node = harness["_service"](small_body_node_class(type(es))(harness["_tempdir"]("etl-it-es-small-")))
    try:
        yield node
    finally:
        harness["_teardown"](node)


def test_413_halves_the_request_until_it_fits(tmp_path, pg, small_body_es, catalog, bin_dir):
    es = small_body_es
    # Bulk bodies up to 4 MiB for the worker, 1 MB for the node.
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "bulk_max_bytes"): str(4 * 1024 * 1024)})
    index = names["movies"]
    rows = run_in_transaction(pg, catalog, [
        ("UPDATE content.film_work SET description = repeat('lorem ipsum ', %s) || id::text"
         " WHERE id IN (SELECT id FROM content.film_work ORDER BY id LIMIT 40)"
         " RETURNING id::text", (LONG_TEXT_WORDS,))])
    films = sorted(r[0] for r in rows)
    too_big = films[3]  # 1.5 MB: within bulk_max_bytes, above the node's limit
    run_in_transaction(pg, catalog, [("UPDATE content.film_work SET description = repeat('word ', 300000)"
                           " WHERE id = %s", (too_big,))])
    w = run_worker(bin_dir, config)
    try:
        wait_caught_up(w, timeout=300, what="the first load")
        halved = w.events("bulk request too large; halving")
        assert halved and all(e.get("status") == "413" for e in halved)
        assert es.count(index) == 998
        got = descriptions(es, index, films)
        assert all(got[f] and got[f].endswith(f) for f in films if f != too_big)
        records = [r for r in rejects(tmp_path) if r["id"] == too_big]
        assert len(records) == 1 and records[0]["status"] == 413
        assert not [e for e in w.events("retry") if "413" in e.get("reason", "")]
    finally:
        assert w.stop() == 0


# --- Fan-out bounded in memory ----------------------------------------------------

FANOUT = 20_000


def peak_rss_kb(pid):
    text = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1))


def sanitized(bin_dir):
    """True for an ASan build, whose shadow memory makes RSS meaningless."""
    return b"__asan_init" in (bin_dir / "etl-worker").read_bytes()


def test_person_in_20000_films_is_sent_in_bounded_batches_and_resumes_inside(
        tmp_path, pg, es, catalog, bin_dir):
    pid = new_id()
    # 20 000 films of ~2 KB each, all linked to one person.
    run_in_transaction(pg, catalog, [
        ("INSERT INTO content.person (id, full_name) VALUES (%s, 'Prolific Person')", (pid,)),
        ("INSERT INTO content.film_work (id, title, description, type)"
         " SELECT gen_random_uuid(), 'Fan-out film ' || g, repeat('plot ', 400), 'movie'"
         "   FROM generate_series(1, %s) g", (FANOUT,)),
        ("INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
         " SELECT gen_random_uuid(), %s, id, 'actor' FROM content.film_work"
         "  WHERE title LIKE 'Fan-out film %%'", (pid,)),
    ])
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    batch_size = 500
    state_path = tmp_path / "state" / "movies.state"
    first = run_worker(bin_dir, config)
    try:
        wait_caught_up(first, timeout=300, what="the first load")
        n_batches = len(first.events("batch"))
        run_in_transaction(pg, catalog, [("UPDATE content.person SET full_name = 'Renamed Prolific' WHERE id = %s",
                               (pid,))])
        first.wait_for(lambda ev: [e for e in ev[n_batches:] if e.get("msg") == "batch"
                                   and e.get("source") == "person"],
                       timeout=120, what="the first batch of the fan-out")
        first_rss = peak_rss_kb(first.pid)
        first.proc.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        first.close()
    person_batches = [e for e in first.events("batch") if e.get("source") == "person"]
    assert all(int(b["docs"]) <= batch_size for b in first.events("batch"))
    assert person_batches[0]["cursor_id"] == pid
    # The position inside the fan-out was saved: at the last batch logged,
    # or one batch past it (the state file is saved before the batch's log
    # line is written, and the kill may fall between the two).
    saved = json.loads(state_path.read_text())["sources"]["person"]
    assert saved["id"] == pid
    assert saved["doc_id"] != "ffffffff-ffff-ffff-ffff-ffffffffffff"
    assert saved["doc_id"] >= person_batches[-1]["cursor_doc_id"]
    done_logged = sum(int(b["rows"]) for b in person_batches)
    # The films done are those up to the saved doc_id (uuids order as their text).
    done_before = run_in_transaction(pg, catalog, [
        ("SELECT count(DISTINCT film_work_id) FROM content.person_film_work"
         " WHERE person_id = %s AND film_work_id <= %s::uuid", (pid, saved["doc_id"]))])[0][0]
    assert done_logged <= done_before <= done_logged + batch_size
    assert batch_size <= done_before < FANOUT

    second = run_worker(bin_dir, config)
    try:
        wait_caught_up(second, timeout=300, what="the first load")
        second_rss = peak_rss_kb(second.pid)
        after = [e for e in second.events("batch") if e.get("source") == "person"]
        # Resumed inside the group: it neither starts it over nor skips it.
        assert after[0]["cursor_id"] == pid
        assert after[0]["cursor_doc_id"] > saved["doc_id"]
        assert sum(int(b["rows"]) for b in after) == FANOUT - done_before
        assert all(int(b["docs"]) <= batch_size for b in second.events("batch"))
    finally:
        assert second.stop() == 0
    docs = all_documents_named(es, index, "Fan-out film")
    assert len(docs) == FANOUT
    assert all(d["actors_names"] == ["Renamed Prolific"] for d in docs.values())
    if not sanitized(bin_dir):
        assert first_rss < RSS_LIMIT_KB, first_rss
        assert second_rss < RSS_LIMIT_KB, second_rss


def all_documents_named(es, index, prefix):
    """{id: _source} of the documents whose title starts with prefix (scrolls)."""
    es.post(f"/{index}/_refresh")
    out = {}
    resp = es.post(f"/{index}/_search?scroll=1m", json={
        "size": 5000, "_source": ["title", "actors_names"],
        "query": {"match_phrase_prefix": {"title": prefix}}}, timeout=120).json()
    while resp["hits"]["hits"]:
        for hit in resp["hits"]["hits"]:
            if hit["_source"]["title"].startswith(prefix):
                out[hit["_id"]] = hit["_source"]
        resp = es.post("/_search/scroll", json={"scroll": "1m", "scroll_id": resp["_scroll_id"]},
                       timeout=120).json()
    return out
