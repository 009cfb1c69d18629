"""A real cluster of three search nodes (conftest.py, SearchCluster: one
JVM each), its indices with 3 shards and 1 replica, and [elasticsearch] url
listing the three nodes.  Nodes die under the worker: it must go on through
the others, wait while the cluster cannot write, and never lose or reject a
change.  The index is compared with PostgreSQL by expected_docs.py.

The waits are bounded and generous (three JVMs on two loaded cores); no
assertion is about time."""
import json
import signal
import threading

import pytest

from etlproc import (ETC, all_documents, make_config, retries, run_worker, sql, wait_caught_up,
                     wait_synced, wait_until)
from expected_docs import assert_index_matches, new_id

# The failover line of worker/es_client.c.
FAILOVER = "search node failed; the next one takes over"


@pytest.fixture
def cluster(search_cluster):
    """The module's cluster with every node up when the test starts (nodes
    a test leaves down are started by the next one, or go with the module)."""
    search_cluster.ensure_running()
    return search_cluster


def sharded_mapping(tmp_path):
    """The shipped movies mapping with 3 shards and 1 replica (the shipped
    files keep one shard: docs/operations.md says how to size them)."""
    mapping = json.loads((ETC / "elasticsearch" / "movies.json").read_text())
    mapping["settings"]["number_of_shards"] = 3
    mapping["settings"]["number_of_replicas"] = 1
    path = tmp_path / "movies-3x1.json"
    path.write_text(json.dumps(mapping))
    return path


def cluster_config(tmp_path, pg, cluster, catalog, overrides=None):
    """etl.ini for the cluster: every node in url, short HTTP timeouts (a node
    that stopped answering is left quickly), small batches (a load lasts
    long enough to lose a node in the middle)."""
    base = {
        ("index.movies", "mapping"): str(sharded_mapping(tmp_path)),
        ("etl", "batch_size"): "10",
        ("elasticsearch", "connect_timeout_ms"): "1000",
        ("elasticsearch", "request_timeout_ms"): "10000",
    }
    base.update(overrides or {})
    config, names = make_config(tmp_path, pg, cluster, catalog, base)
    return config, names["movies"]


def rejects(tmp_path):
    """What the worker wrote to its rejects file ("" when none)."""
    path = tmp_path / "state" / "movies.rejects"
    return path.read_text() if path.exists() else ""


def batches(events):
    return [e for e in events if e.get("msg") in ("batch", "build batch")]


def change_stream(app, count, stop):
    """count changes of several kinds, one per transaction: new films with a
    genre, title and rating edits, deleted films, renamed genres and
    persons (which change the films that name them)."""
    films = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id")]
    genres = [r[0] for r in sql(app, "SELECT id::text FROM content.genre ORDER BY id")]
    persons = [r[0] for r in sql(app, "SELECT id::text FROM content.person ORDER BY id LIMIT 50")]
    for i in range(count):
        if stop.is_set():
            return
        kind = i % 5
        if kind == 0:
            fid = new_id()
            sql(app, "INSERT INTO content.film_work (id, title, type, rating) "
                     "VALUES (%s, %s, 'movie', 5.0)", (fid, f"Cluster film {i}"))
            sql(app, "INSERT INTO content.genre_film_work (id, genre_id, film_work_id) "
                     "VALUES (%s, %s, %s)", (new_id(), genres[i % len(genres)], fid))
        elif kind == 1:
            sql(app, "UPDATE content.film_work SET title = %s WHERE id = %s",
                (f"Retitled {i}", films[i]))
        elif kind == 2:
            fid = films[-1 - i]
            sql(app, "DELETE FROM content.genre_film_work WHERE film_work_id = %s", (fid,))
            sql(app, "DELETE FROM content.person_film_work WHERE film_work_id = %s", (fid,))
            sql(app, "DELETE FROM content.film_work WHERE id = %s", (fid,))
        elif kind == 3:
            sql(app, "UPDATE content.genre SET name = %s WHERE id = %s",
                (f"Genre {i}", genres[i % len(genres)]))
        else:
            sql(app, "UPDATE content.person SET full_name = %s WHERE id = %s",
                (f"Person {i}", persons[i % len(persons)]))


def test_node_killed_during_a_full_load(tmp_path, pg, cluster, catalog, app, bin_dir, workers):
    """The node the worker talks to (the first of url) is SIGKILLed while
    the first load runs: the load finishes through the others and the index
    equals PostgreSQL."""
    config, alias = cluster_config(tmp_path, pg, cluster, catalog)
    w = run_worker(bin_dir, config)
    workers.append(w)
    w.wait_for(lambda ev: len(batches(ev)) >= 2, timeout=300, what="the load to start")
    # Every shard with an in-sync replica first: a copy still recovering
    # when its primary's node dies leaves the shard red until it returns,
    # whatever the client does.
    cluster.wait_green(alias)
    assert not w.events("caught up"), "the load ended before the node was killed"
    cluster.nodes[0].kill()
    wait_caught_up(w, timeout=300)
    failover = w.events(FAILOVER)
    assert failover and failover[0]["node"] == cluster.nodes[0].url, w.text()[-3000:]
    assert failover[0]["next"] in (n.url for n in cluster.nodes[1:])
    assert_index_matches(app, "movies", cluster.any_node(), alias)
    assert rejects(tmp_path) == ""


def test_node_killed_and_restarted_during_changes(tmp_path, pg, cluster, catalog, app, bin_dir,
                                                  workers):
    """A few hundred changes of five kinds stream in while the node in use
    is killed and started again: every change is searchable, nothing is
    rejected."""
    config, alias = cluster_config(tmp_path, pg, cluster, catalog)
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=300)
    stop = threading.Event()
    failures = []

    def stream():
        try:
            change_stream(app, 300, stop)
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=stream)
    thread.start()
    try:
        n = len(batches(w.events()))
        w.wait_for(lambda ev: len(batches(ev)) > n, timeout=120, what="changes to flow")
        cluster.nodes[0].kill()
        w.wait_for(lambda ev: [e for e in ev if e.get("msg") == FAILOVER], timeout=300,
                   what="the failover")
        cluster.ensure_running()  # the killed node back, same data
    except BaseException:
        stop.set()
        raise
    finally:
        thread.join()
    assert not failures, failures[:3]
    done = len(batches(w.events()))
    # A last change after the stream: once it is synced, so is everything before.
    sql(app, "UPDATE content.film_work SET title = 'Last of the stream' "
             "WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)")
    wait_synced(w, done, timeout=300)
    assert_index_matches(app, "movies", cluster.any_node(), alias)
    assert rejects(tmp_path) == ""


def test_two_of_three_nodes_stopped(tmp_path, pg, cluster, catalog, app, bin_dir, workers):
    """With two of three nodes stopped the cluster has no cluster manager and
    refuses writes: the worker retries and says why, keeps its cursor, and
    once the nodes return it catches up exactly."""
    config, alias = cluster_config(tmp_path, pg, cluster, catalog)
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=300)
    stopping = [threading.Thread(target=n.stop) for n in cluster.nodes[1:]]
    for t in stopping:
        t.start()
    for t in stopping:
        t.join()
    retried = len(retries(w, "elasticsearch"))
    done = len(batches(w.events()))
    fid = new_id()
    sql(app, "INSERT INTO content.film_work (id, title, type, rating) "
             "VALUES (%s, 'Written without a quorum', 'movie', 7.0)", (fid,))
    sql(app, "UPDATE content.film_work SET title = 'Edited without a quorum' "
             "WHERE id = (SELECT id FROM content.film_work WHERE id <> %s ORDER BY id LIMIT 1)",
        (fid,))
    wait_until(lambda: len(retries(w, "elasticsearch")) > retried, timeout=300,
               what="the worker to retry")
    why = retries(w, "elasticsearch")[-1]
    assert why.get("reason"), why  # it says why it waits
    assert len(batches(w.events())) == done  # nothing confirmed while the cluster refuses
    cluster.ensure_running()
    wait_synced(w, done, timeout=300)
    assert_index_matches(app, "movies", cluster.any_node(), alias)
    assert rejects(tmp_path) == ""


def test_rebuild_while_a_node_is_down(tmp_path, pg, cluster, catalog, app, bin_dir, workers):
    """A rebuild (SIGUSR1: a new index, then the alias moved) with the node
    in use dead: the new index is built through the others, the alias moves,
    and it equals PostgreSQL."""
    config, alias = cluster_config(tmp_path, pg, cluster, catalog,
                                   {("etl", "batch_size"): "100"})
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=300)
    node = cluster.any_node()
    before = set(node.json("GET", f"/_alias/{alias}"))
    cluster.nodes[0].kill()
    n = len(w.events())
    w.signal(signal.SIGUSR1)
    w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"], timeout=300,
               what="the rebuild's alias swap")
    node = cluster.any_node()
    after = set(node.json("GET", f"/_alias/{alias}"))
    assert after and after != before
    assert w.events(FAILOVER)
    assert_index_matches(app, "movies", node, alias)
    assert len(all_documents(node, alias)) > 0
    assert rejects(tmp_path) == ""
