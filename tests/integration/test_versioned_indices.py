"""Versioned indices behind aliases, against a real PostgreSQL and a real
search node: the name clients query is an alias of a concrete index
NAME_<UTC yyyymmddhhmmssSSS>; every full build fills a new one while the
alias serves the old, and one _aliases request moves the alias.

- a film deleted while the worker was stopped and its state file removed:
  gone after the rebuild, counts equal;
- a client searching the alias every 50 ms during the rebuild of a grown
  catalogue: no error, no empty answer, a title changed mid-rebuild found
  within seconds, the new index equal to PostgreSQL after the swap;
- the mapping file changed under a running worker: rebuilt, no exit;
- the alias deleted under a running worker: rebuilt with the file's mapping;
- kill -9 at random points of a rebuild: resumed, the alias always on a
  complete index, no stray concrete index at the end;
- a concrete index of the layout before aliases adopted."""
import json
import random
import re
import signal
import threading
import time

import pytest

from etlproc import ETC, all_documents, make_config, sql, start_worker, wait_caught_up, wait_until
from expected_docs import assert_documents_match, assert_index_matches, expected_movies, normalize_movie

VERSION_RE = r"_\d{17}$"
GROWN = 20000
MAPPING = ETC / "elasticsearch" / "movies.json"


def versions(es, alias):
    """The concrete indices of alias."""
    return [i for i in es.indices(alias + "_") if re.fullmatch(re.escape(alias) + VERSION_RE, i)]


def behind(es, alias):
    """The concrete index the alias points at (None without the alias)."""
    resp = es.get(f"/_alias/{alias}")
    return next(iter(resp.json())) if resp.status_code == 200 else None


def only_live_left(es, alias):
    """Waits until the live index is the alias's only concrete index (the
    old ones are deleted just after "alias moved")."""
    return wait_until(lambda: versions(es, alias) == [behind(es, alias)], timeout=30,
                      what="the old indices to be deleted")


def film_count(conn):
    return sql(conn, "SELECT count(*) FROM content.film_work")[0][0]


def loaded(tmp_path, pg, es, catalog, bin_dir, workers, overrides=None):
    config, names = make_config(tmp_path, pg, es, catalog, overrides=overrides)
    w = start_worker(workers, bin_dir, config)
    wait_caught_up(w, timeout=120, what="the first load")
    return config, names["movies"], w


def test_state_file_removed_rebuilds_without_the_deleted_film(tmp_path, pg, es, catalog, bin_dir,
                                                              app, workers):
    config, alias, w = loaded(tmp_path, pg, es, catalog, bin_dir, workers)
    first = behind(es, alias)
    assert re.fullmatch(re.escape(alias) + VERSION_RE, first)
    assert w.stop() == 0
    fid = sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    sql(app, "DELETE FROM content.film_work WHERE id = %s", (fid,))
    (tmp_path / "state" / "movies.state").unlink()
    w = start_worker(workers, bin_dir, config)
    wait_caught_up(w, timeout=120, what="the rebuild")
    assert [e["reason"] for e in w.events("rebuild started")] == ["no_state"]
    docs = all_documents(es, alias)
    assert fid not in docs
    assert es.count(alias) == film_count(app) == 998
    assert_documents_match(app, "movies", docs)
    assert behind(es, alias) != first
    only_live_left(es, alias)


def test_searches_never_fail_during_a_rebuild(tmp_path, pg, es, catalog, bin_dir, app, workers):
    config, alias, w = loaded(tmp_path, pg, es, catalog, bin_dir, workers,
                              overrides={("etl", "batch_size"): "100"})
    sql(app, "INSERT INTO content.film_work (id, title, description, rating, type)"
             " SELECT gen_random_uuid(), 'Grown film ' || g, 'grown', 5.0, 'movie'"
             " FROM generate_series(1, %s) g", (GROWN,))
    total = film_count(app)
    wait_until(lambda: es.count(alias) == total, timeout=180, what="the grown catalogue")
    (title, _), (_, fid) = sql(app, "SELECT title, id::text FROM content.film_work"
                                    " WHERE title NOT LIKE 'Grown%%' ORDER BY id LIMIT 2")
    failures, empty, seen = [], [], {}
    stop = threading.Event()
    changed_title = "Renamed during the rebuild"

    def client():
        while not stop.is_set():
            for query, key in ((title, "old"), (changed_title, "new")):
                resp = es.post(f"/{alias}/_search", json={"query": {"match_phrase": {"title": query}}})
                if resp.status_code != 200:
                    failures.append(resp.text[:300])
                    continue
                hits = resp.json()["hits"]["total"]["value"]
                if key == "old" and hits == 0 and "new" not in seen:
                    empty.append(time.monotonic())
                if key == "new" and hits > 0:
                    seen.setdefault("new", time.monotonic())
            time.sleep(0.05)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        n = len(w.events())
        w.signal(signal.SIGUSR1)
        w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "build batch"], timeout=60,
                   what="the rebuild to run")
        sql(app, "UPDATE content.film_work SET title = %s WHERE id = %s", (changed_title, fid))
        changed_at = time.monotonic()
        wait_until(lambda: "new" in seen, timeout=10, interval=0.05, what="the change mid-rebuild")
        assert seen["new"] - changed_at < 5
        assert not [e for e in w.events()[n:] if e.get("msg") == "alias moved"], "rebuild too short"
        w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"], timeout=300,
                   what="the swap")
        time.sleep(1)
    finally:
        stop.set()
        thread.join()
    assert not failures, failures[:3]
    assert not empty
    assert [e["reason"] for e in w.events("rebuild started")] == ["requested"]
    assert es.count(alias) == film_count(app)
    sample = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY md5(id::text) LIMIT 200")]
    want = expected_movies(app, set(sample) | {fid})
    for i in want:
        got = es.get(f"/{alias}/_doc/{i}").json()["_source"]
        assert normalize_movie(got) == want[i], i
    only_live_left(es, alias)


def test_mapping_file_change_rebuilds_without_exiting(tmp_path, pg, es, catalog, bin_dir, workers):
    mapping = tmp_path / "movies.json"
    definition = json.loads(MAPPING.read_text())
    mapping.write_text(json.dumps(definition))
    config, alias, w = loaded(tmp_path, pg, es, catalog, bin_dir, workers,
                              overrides={("index.movies", "mapping"): str(mapping)})
    old = behind(es, alias)
    definition["mappings"]["properties"]["title"]["fields"]["exact"] = {"type": "keyword"}
    mapping.write_text(json.dumps(definition))
    n = len(w.events())
    w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"], timeout=180,
               what="the rebuild")
    assert [e["reason"] for e in w.events("rebuild started")] == ["mapping_changed"]
    assert w.proc.poll() is None
    new = behind(es, alias)
    assert new != old
    only_live_left(es, alias)
    live = es.get(f"/{alias}/_mapping").json()[new]["mappings"]
    assert live == definition["mappings"]
    assert es.count(alias) == 999


def test_alias_deleted_under_a_running_worker_is_rebuilt(tmp_path, pg, es, catalog, bin_dir, app,
                                                          workers):
    config, alias, w = loaded(tmp_path, pg, es, catalog, bin_dir, workers)
    old = behind(es, alias)
    assert es.post("/_aliases", json={"actions": [{"remove": {"index": old, "alias": alias}}]}).status_code == 200
    fid = sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    sql(app, "UPDATE content.film_work SET title = 'While the alias was gone' WHERE id = %s", (fid,))
    n = len(w.events())
    w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"], timeout=180,
               what="the rebuild")
    assert [e["reason"] for e in w.events("rebuild started")] == ["alias_missing"]
    assert not (tmp_path / "state" / "movies.rejects").exists()
    new = behind(es, alias)
    assert new != old
    only_live_left(es, alias)
    assert es.get(f"/{alias}/_mapping").json()[new]["mappings"] == json.loads(MAPPING.read_text())["mappings"]
    wait_until(lambda: es.get(f"/{alias}/_doc/{fid}").json()["_source"]["title"] == "While the alias was gone",
               timeout=30, what="the change")
    assert es.count(alias) == 999
    # Nothing was ever created under the alias's name by a write.
    assert alias not in es.indices(alias)


def test_kill_9_during_a_rebuild_resumes_it(tmp_path, pg, es, catalog, bin_dir, app, workers):
    config, alias, w = loaded(tmp_path, pg, es, catalog, bin_dir, workers,
                              overrides={("etl", "batch_size"): "10"})
    rng = random.Random(9)
    w.signal(signal.SIGUSR1)
    kills = 0
    for round_no in range(6):
        builds = len([e for e in w.events() if e.get("msg") == "build batch"])
        target = builds + rng.randint(0, 6)
        w.wait_for(lambda ev: len([e for e in ev if e.get("msg") in ("build batch", "alias moved")]) > target
                   or [e for e in ev if e.get("msg") == "alias moved"],
                   timeout=120, what="a point of the rebuild", poll=0.01)
        if w.events("alias moved"):
            break
        # A kill between two batches or inside one; short, so that the
        # hundred batches of the build outlast the six kills on a fast machine.
        time.sleep(rng.random() * 0.02)
        w.proc.kill()
        w.wait()
        kills += 1
        assert es.count(alias) == 999, "the alias must stay on a complete index"
        state = json.loads((tmp_path / "state" / "movies.state").read_text())
        if round_no % 2 == 1 and "build" in state and state["build"].get("horizon"):
            # Its index gone as well: the build starts over.
            es.delete(f"/{state['build']['concrete']}")
        w = start_worker(workers, bin_dir, config)
    assert kills >= 5
    w.wait_for(lambda ev: [e for e in ev if e.get("msg") == "alias moved"], timeout=180, what="the swap")
    w.wait_for(lambda ev: [e for e in ev if e.get("msg") == "caught up"], timeout=60, what="caught up")
    assert es.count(alias) == 999
    only_live_left(es, alias)
    assert_index_matches(app, "movies", es, alias)


def test_concrete_index_of_the_old_layout_is_adopted(tmp_path, pg, es, catalog, bin_dir, app,
                                                      workers):
    config, names = make_config(tmp_path, pg, es, catalog)
    alias = names["movies"]
    assert es.put(f"/{alias}", json=json.loads(MAPPING.read_text())).status_code == 200
    fid = sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    doc = expected_movies(app, {fid})[fid]
    es.put(f"/{alias}/_doc/{fid}?refresh=true", json={"id": fid, "title": "old layout"})
    stamp = sql(app, "SELECT max(modified)::text FROM content.film_work")[0][0]
    (tmp_path / "state").mkdir()
    sources = {s: {"modified": stamp, "id": "ffffffff-ffff-ffff-ffff-ffffffffffff",
                   "doc_id": "ffffffff-ffff-ffff-ffff-ffffffffffff"}
               for s in ("film_work", "person", "genre", "change_log")}
    (tmp_path / "state" / "movies.state").write_text(
        json.dumps({"version": 2, "index": alias, "sources": sources}))
    w = start_worker(workers, bin_dir, config)
    w.wait_for(lambda ev: [e for e in ev if e.get("msg") == "alias moved"], timeout=180, what="the adoption")
    assert [e["reason"] for e in w.events("rebuild started")] == ["adopt"]
    new = behind(es, alias)
    assert re.fullmatch(re.escape(alias) + VERSION_RE, new)
    assert alias not in es.indices(alias)
    assert es.count(alias) == 999
    assert normalize_movie(es.get(f"/{alias}/_doc/{fid}").json()["_source"]) == doc
    assert json.loads((tmp_path / "state" / "movies.state").read_text())["concrete"] == new
