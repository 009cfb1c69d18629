"""The index refusing writes for now is not a rejected document: a real
supervisor and movies worker, a real PostgreSQL and a real search node
(OpenSearch 2.19.1, or Elasticsearch 7.10.2 with
ETL_TEST_ENGINE=elasticsearch7).

Each refusal is produced on the node itself, on the concrete index behind
the alias (or the cluster): a write block, a read-only block, the
read-only-allow-delete block (what the flood-stage watermark sets), a
closed index, an alias given a second index and so no write index, and the
cluster's read-only block (which refuses the whole request, not its
items).  A film's title changes in PostgreSQL during the refusal; while it
lasts, the change is neither in the index nor in the rejects file, the
worker says so once (one warning, however many retries), `etlctl status`
says state=refused with the error's type as reason, and the metrics say
etl_index_refusing 1.  Once the refusal ends the change is searchable
within a bounded wait, the rejects file is still empty, and one info line
says the spell ended.

A 403 security_exception cannot be produced here: the test nodes run
without security (no x-pack security in the Elasticsearch 7.10.2 runner,
no security plugin in OpenSearch's).  Its class is tested on the bodies
such nodes answer, in tests/unit/test_error_classes.c.

A real mapping error still goes to the rejects file:
test_movies_worker.py's test_rejected_document_is_kept_aside_and_the_rest_goes_on
and test_hostile_search.py's test_items_out_of_order_are_matched_by_id.
"""
import json
import os
import signal
import time
import uuid

import pytest
import requests

from etlproc import document, free_port, wait_until
from test_observability import scrape, status_json, value
from test_supervisor import Stack

# How long a refusal or its end may take to show (a bounded wait, not a
# measure of speed): a round, a few backoffs of at most backoff_max_ms.
SHOW_S = 60
# Retries seen before the spell is judged: enough to prove one warning a
# spell, not one a retry.
ATTEMPTS = 3

REFUSAL_STARTED = "index refusing writes; retrying"
REFUSAL_ENDED = "index accepting writes again"


def concrete_of(es, alias):
    """The one index the alias points to."""
    names = list(es.json("GET", f"/_alias/{alias}"))
    assert len(names) == 1, names
    return names[0]


def set_index(es, index, settings):
    es.json("PUT", f"/{index}/_settings", settings)


def set_cluster(es, settings):
    es.json("PUT", "/_cluster/settings", {"transient": settings})


class Refusal:
    """How to start and end one refusal on the node, and what the worker
    must name it: the error's type."""

    def __init__(self, name, cause, start, end, readable=True):
        self.name, self.cause, self.start, self.end = name, cause, start, end
        self.readable = readable  # documents can be read during it

    def __repr__(self):
        return self.name


def _close(es, alias, concrete):
    es.json("POST", f"/{concrete}/_close")


def _open(es, alias, concrete):
    es.json("POST", f"/{concrete}/_open")
    es.health("yellow")


def _add_second_index(es, alias, concrete):
    """A second index on the alias, neither marked the write index: the
    alias has no write index.  Not named as a version of the alias, so the
    worker never takes it for one of its own."""
    other = f"{alias}-other"
    es.json("PUT", f"/{other}")
    es.json("POST", "/_aliases", {"actions": [{"add": {"index": other, "alias": alias}}]})


def _remove_second_index(es, alias, concrete):
    other = f"{alias}-other"
    es.json("POST", "/_aliases", {"actions": [{"remove": {"index": other, "alias": alias}}]})
    es.json("DELETE", f"/{other}")


REFUSALS = [
    Refusal("write_block", "cluster_block_exception",
            lambda es, a, c: set_index(es, c, {"index.blocks.write": True}),
            lambda es, a, c: set_index(es, c, {"index.blocks.write": None})),
    Refusal("read_only_block", "cluster_block_exception",
            lambda es, a, c: set_index(es, c, {"index.blocks.read_only": True}),
            lambda es, a, c: set_index(es, c, {"index.blocks.read_only": None})),
    Refusal("read_only_allow_delete_block", "cluster_block_exception",
            lambda es, a, c: set_index(es, c, {"index.blocks.read_only_allow_delete": True}),
            lambda es, a, c: set_index(es, c, {"index.blocks.read_only_allow_delete": None})),
    Refusal("closed_index", "index_closed_exception", _close, _open, readable=False),
    Refusal("alias_without_write_index", "illegal_argument_exception",
            _add_second_index, _remove_second_index),
    Refusal("cluster_read_only", "cluster_block_exception",
            lambda es, a, c: set_cluster(es, {"cluster.blocks.read_only": True}),
            lambda es, a, c: set_cluster(es, {"cluster.blocks.read_only": None})),
]


class Synced:
    """A supervisor running the movies worker (metrics on a free port), its
    first load done."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides=None):
        self.port = free_port()
        settings = {("supervisor", "metrics_listen"): f"127.0.0.1:{self.port}", **(overrides or {})}
        self.stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["movies"],
                           overrides=settings)
        self.sup = self.stack.sup
        self.es = es
        self.alias = self.stack.names["movies"]
        self.rejects = tmp_path / "state" / "movies.rejects"
        self.state_path = tmp_path / "state" / "movies.state"
        self.sup.wait_caught_up(["movies"])
        self.concrete = concrete_of(es, self.alias)

    def status(self):
        return status_json(self.sup, "movies")

    def metric(self, name):
        return value(scrape(self.port), name, index=self.alias)

    def rejected(self):
        """The records of the rejects file (none when it does not exist)."""
        if not self.rejects.exists():
            return []
        return [json.loads(line) for line in self.rejects.read_text().splitlines()]

    def worker_events(self, msg):
        return self.sup.events(msg, worker="movies")

    def cursor(self):
        """The film_work source's position in the state file."""
        return json.loads(self.state_path.read_text())["sources"]["film_work"]

    def close(self):
        self.stack.close()


@pytest.fixture
def synced(tmp_path, pg, es, catalog, bin_dir):
    holder = []

    def make(overrides=None):
        holder.append(Synced(tmp_path, pg, es, catalog, bin_dir, overrides))
        return holder[-1]
    try:
        yield make
    finally:
        for s in holder:
            s.close()


def wait_refused_or_rejected(s, attempts=ATTEMPTS):
    """Waits until the worker has answered the change: refused it at least
    attempts times (the metric), or, as the code before refusal spells
    did, filed it in the rejects file or logged that many warnings that it
    retries (so the checks that follow say what went wrong there)."""
    def bulk_retries():
        return [e for e in s.worker_events("retry")
                if e.get("reason", "").startswith(("item ", "bulk request"))]
    retried_before = len(bulk_retries())

    def answered():
        s.sup.check_alive()
        samples = scrape(s.port)
        refused = samples.get(("etl_index_refused_attempts_total", (("index", s.alias),)), 0)
        retried = len(bulk_retries()) - retried_before
        return s.rejected() or refused >= attempts or retried >= attempts
    wait_until(answered, timeout=SHOW_S, what="the change refused (or rejected)")


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.name for r in REFUSALS])
def test_a_change_during_a_refusal_arrives_after_it(synced, es, refusal):
    s = synced()
    fid, old_title = s.stack.sql(
        "SELECT id::text, title FROM content.film_work ORDER BY id LIMIT 1")[0]
    title = f"Refused {refusal.name} {uuid.uuid4().hex[:8]}"
    refusal.start(es, s.alias, s.concrete)
    try:
        s.stack.sql("UPDATE content.film_work SET title = %s WHERE id = %s", (title, fid))
        wait_refused_or_rejected(s)
        assert s.rejected() == [], "the change went to the rejects file"
        status = s.status()
        assert (status["state"], status.get("reason")) == ("refused", refusal.cause), status
        assert s.metric("etl_index_refusing") == 1
        # Not ready: etlctl check and GET /readyz say why.
        check = s.sup.ctl("check")
        assert check.returncode == 4 and "condition=refusing" in check.stdout, check
        readyz = requests.get(f"http://127.0.0.1:{s.port}/readyz", timeout=5)
        assert readyz.status_code == 503 and "condition=refusing" in readyz.text, readyz.text
        if refusal.readable:
            assert document(es, s.concrete, fid)["title"] == old_title
        started = s.worker_events(REFUSAL_STARTED)
        assert len(started) == 1, started  # one line a spell, however many retries
        assert started[0]["level"] == "warn"
        assert (started[0]["index"], started[0]["error_type"]) == (s.alias, refusal.cause)
        assert started[0]["reason"]
        assert not s.worker_events(REFUSAL_ENDED)
    finally:
        refusal.end(es, s.alias, s.concrete)
    wait_until(lambda: (document(es, s.alias, fid) or {}).get("title") == title, timeout=SHOW_S,
               what="the change searchable after the refusal")
    assert s.rejected() == []
    ended = wait_until(lambda: s.worker_events(REFUSAL_ENDED), timeout=SHOW_S,
                       what="the end of the spell logged")
    assert len(ended) == 1 and ended[0]["error_type"] == refusal.cause, ended
    assert int(ended[0]["attempts"]) >= ATTEMPTS
    assert len(s.worker_events(REFUSAL_STARTED)) == 1
    wait_until(lambda: s.status()["state"] == "running", timeout=SHOW_S, what="state running")
    assert s.status()["reason"] is None
    assert s.metric("etl_index_refusing") == 0
    assert s.metric("etl_index_refused_attempts_total") >= ATTEMPTS
    assert s.sup.ctl("check").returncode == 0
    # The retry lines of the spell are debug: not one warning a retry.
    assert not [e for e in s.worker_events("retry") if refusal.cause in e.get("reason", "")]


def test_batches_in_flight_keep_the_cursor_and_survive_a_kill(synced, es):
    """Small batches, two in flight: a write block refuses every one of
    them.  The cursor does not move past any while it lasts (the state
    file's film_work position stays where it was), a kill -9 during the
    spell loses nothing, and once the block is lifted every change is
    searchable and nothing is in the rejects file."""
    s = synced({("etl", "batch_size"): "5", ("etl", "bulk_concurrency"): "2"})
    films = [r[0] for r in s.stack.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 40")]
    before = s.cursor()
    set_index(es, s.concrete, {"index.blocks.write": True})
    try:
        s.stack.sql("UPDATE content.film_work SET title = 'In flight ' || id::text WHERE id = ANY(%s::uuid[])",
                    (films,))
        wait_refused_or_rejected(s)
        assert s.rejected() == [], "the changes went to the rejects file"
        time.sleep(1)  # more retries: the cursor must stay put through them
        assert s.cursor() == before
        pid = s.status()["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: s.status()["pid"] not in (None, 0, pid) and s.status()["state"] in
                   ("running", "refused"), timeout=SHOW_S, what="the worker restarted")
        wait_until(lambda: s.status()["state"] == "refused", timeout=SHOW_S,
                   what="the restarted worker refused too")
        assert s.cursor() == before
    finally:
        set_index(es, s.concrete, {"index.blocks.write": None})

    def all_arrived():
        es.post(f"/{s.alias}/_refresh")
        return all((document(es, s.alias, f) or {}).get("title") == f"In flight {f}" for f in films)
    wait_until(all_arrived, timeout=SHOW_S, what="every change after the block")
    assert s.rejected() == []
    cursors = [(int(b["cursor_txid"]), b["cursor_id"], b["cursor_doc_id"])
               for b in s.worker_events("batch") if b["source"] == "film_work"]
    assert cursors == sorted(cursors)  # saved in the order read, never past one unsent
