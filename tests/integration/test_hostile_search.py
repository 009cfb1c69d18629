"""A search server that answers badly: garbage, a truncated body, a 200 with
"errors": true and fewer items than actions sent, items out of order, a body
of 1 GiB, one byte a second.  The fault-injecting proxy (faultproxy.py)
stands between the worker and the real node, which still does the work;
only its answers are spoiled.

For each fault the worker must stay up and retry with backoff, never move
its cursor (state file) past an action the real node's answer did not
confirm, never wait beyond request_timeout_ms, and, once the answers are
good again, hold exactly what PostgreSQL holds."""
import json
import re

import pytest

from etlproc import all_documents, make_config, retries, run_worker, sql, wait_caught_up, wait_until
from expected_docs import assert_index_matches, new_id
from faultproxy import GIB, FaultProxy

REQUEST_TIMEOUT_MS = 3000
# What the proxy may add to the worker's own timeout: its one-byte interval
# and a loaded machine.
TIMEOUT_SLACK_S = 3
# response_max_bytes of the 1 GiB test, and how far the worker's peak RSS
# may rise while it refuses such bodies.
RESPONSE_MAX_BYTES = 1 << 20
RSS_GROWTH_MAX = 64 << 20


class Hostile:
    """A worker of index `name` that reaches the search node through a
    FaultProxy, after its first load."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, name, overrides=None, arm=None):
        self.es, self.name = es, name
        self.state_path = tmp_path / "state" / f"{name}.state"
        self.rejects_path = tmp_path / "state" / f"{name}.rejects"
        self.proxy = FaultProxy(es.url, snapshot=self.state)
        settings = {("elasticsearch", "url"): self.proxy.url,
                    ("elasticsearch", "request_timeout_ms"): str(REQUEST_TIMEOUT_MS)}
        settings.update(overrides or {})
        config, names = make_config(tmp_path, pg, es, catalog, indices=[name], overrides=settings)
        self.index = names[name]
        if arm is not None:
            arm(self.proxy)
        self.worker = run_worker(bin_dir, config, index=name)
        self.app = pg.connect("app", catalog)

    def state(self):
        try:
            return self.state_path.read_text()
        except FileNotFoundError:
            return None

    def sql(self, statement, params=None):
        return sql(self.app, statement, params)

    def caught_up_count(self):
        return len(self.worker.events("caught up"))

    def wait_caught_up(self, after=0, timeout=120):
        wait_caught_up(self.worker, timeout=timeout, after=after)

    def retries(self):
        return retries(self.worker, "elasticsearch")

    def vm_hwm(self):
        """The worker's peak resident set, in bytes."""
        status = open(f"/proc/{self.worker.pid}/status").read()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) * 1024

    def assert_matches_catalogue(self):
        assert_index_matches(self.app, self.name, self.es, self.index)

    def close(self):
        self.app.close()
        try:
            self.worker.stop()
        finally:
            self.proxy.close()


@pytest.fixture
def hostile(tmp_path, pg, es, catalog, bin_dir):
    """Builds a Hostile worker (genres unless told), closed at the end."""
    made = []

    def make(name="genres", overrides=None):
        h = Hostile(tmp_path, pg, es, catalog, bin_dir, name, overrides)
        made.append(h)
        h.wait_caught_up()
        return h

    yield make
    for h in made:
        h.close()


def change_genres(h):
    """One transaction: a rename, an insert and a delete (an index action of
    each kind, in two change sources); returns the three ids."""
    renamed, deleted = [r[0] for r in h.sql(
        "SELECT id::text FROM content.genre WHERE name <> 'Hostile' ORDER BY id LIMIT 2")]
    added = new_id()
    conn = h.app
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE content.genre SET name = 'Renamed under fire' WHERE id = %s", (renamed,))
        cur.execute("INSERT INTO content.genre (id, name, description) VALUES (%s, 'Hostile', 'x')",
                    (added,))
        cur.execute("DELETE FROM content.genre WHERE id = %s", (deleted,))
        cur.execute("COMMIT")
    return renamed, added, deleted


def run_fault(h, kind, times, **options):
    """Arms kind for the next `times` bulk requests, changes the catalogue,
    and waits until the worker caught up after the faults.  Asserts what
    every fault shares: the worker stayed up and retried; the state file did
    not move from the moment the first spoiled answer was sent until a good
    answer came for the same batch; no request outlived request_timeout_ms;
    the index equals PostgreSQL.  Returns (state before, bulk records)."""
    before = h.state()
    caught = h.caught_up_count()
    retries = len(h.retries())
    h.proxy.arm(kind, times=times, **options)
    change_genres(h)
    wait_until(lambda: len(h.proxy.faulted(kind)) >= times, timeout=120,
               what=f"{times} {kind} answers")
    h.wait_caught_up(after=caught)
    assert h.worker.proc.poll() is None, "the worker exited"
    assert len(h.retries()) - retries >= times, h.retries()[retries:]

    bulks = h.proxy.records()
    faulted = [i for i, r in enumerate(bulks) if r.fault]
    assert len(faulted) == times, bulks
    # Every request from the first spoiled answer on, up to the good answer
    # after the last one, found the state as it was before the change.
    first_good = next((i for i in range(faulted[-1] + 1, len(bulks)) if not bulks[i].fault), None)
    assert first_good is not None, ("no good answer after the faults", bulks)
    for r in bulks[faulted[0]:first_good + 1]:
        assert r.state_before == before, (r, "the cursor moved on a spoiled answer")
    for r in bulks:
        assert r.seconds < REQUEST_TIMEOUT_MS / 1000 + TIMEOUT_SLACK_S, r
    assert h.state() != before, "the cursor never moved once the answers were good"
    h.assert_matches_catalogue()
    return before, bulks


def resent_after(bulks, at):
    """The (action, id) pairs sent again by good requests after bulks[at]."""
    return {a for r in bulks[at + 1:] if not r.fault and r.status == 200 for a in r.actions}


def assert_all_resent(bulks):
    """Every action of a spoiled request is sent again and answered well."""
    for i, r in enumerate(bulks):
        if r.fault:
            assert r.actions and set(r.actions) <= resent_after(bulks, i), (r, bulks[i:])


def test_garbage_answers_are_retried(hostile):
    h = hostile()
    _, bulks = run_fault(h, "garbage", times=3)
    assert_all_resent(bulks)
    assert any("unreadable bulk response" in e["reason"] for e in h.retries())


def test_truncated_answers_are_retried(hostile):
    h = hostile()
    _, bulks = run_fault(h, "truncate", times=3)
    assert_all_resent(bulks)


def test_fewer_items_than_sent_leaves_the_missing_ones_unconfirmed(hostile):
    h = hostile()
    _, bulks = run_fault(h, "drop_items", times=2)
    for i, r in enumerate(bulks):
        if r.fault:
            assert r.unanswered, r
            # The next request sends the actions left without an item, and
            # only those: the items that came were confirmed.
            missing = {a for a in r.actions if a[1] in r.unanswered}
            assert set(bulks[i + 1].actions) == missing, (r, bulks[i + 1])
    assert any("no item" in e["reason"] for e in h.retries())


def test_slow_answer_is_abandoned_at_the_request_timeout(hostile):
    h = hostile()
    _, bulks = run_fault(h, "slow", times=2, interval=1.0)
    assert_all_resent(bulks)
    for r in bulks:
        if r.fault:
            # Abandoned by the worker after a few bytes, not read to the end.
            assert r.hung_up and r.sent_bytes < 100, r
    timed_out = [e for e in h.retries() if "timed out" in e["reason"]]
    print(f"\nslow answers: {[r for r in bulks if r.fault]}; {[e['reason'] for e in timed_out]}")
    assert len(timed_out) >= 2, h.retries()
    # curl's own words: the worker's request_timeout_ms fired, not a later one.
    waited = [int(re.search(r"after (\d+) milliseconds", e["reason"]).group(1)) for e in timed_out]
    assert all(REQUEST_TIMEOUT_MS <= ms < REQUEST_TIMEOUT_MS + 1000 for ms in waited), timed_out


def test_a_1_gib_answer_is_refused_past_response_max_bytes(hostile):
    h = hostile(overrides={("elasticsearch", "response_max_bytes"): str(RESPONSE_MAX_BYTES)})
    peak = h.vm_hwm()
    _, bulks = run_fault(h, "huge", times=2, size=GIB)
    assert_all_resent(bulks)
    for r in bulks:
        if r.fault:
            assert r.hung_up and r.sent_bytes < GIB // 16, r
    print(f"\n1 GiB answers: {[r for r in bulks if r.fault]}; peak RSS {peak >> 20} MiB before,"
          f" {h.vm_hwm() >> 20} MiB after")
    assert h.vm_hwm() - peak < RSS_GROWTH_MAX, (peak, h.vm_hwm())
    assert any("response_max_bytes" in e["reason"] for e in h.retries()), h.retries()


def test_items_out_of_order_are_matched_by_id(hostile):
    """Reversed items on every bulk answer, for good: a worker matching items
    by position would blame the wrong document for the one the node
    rejects; one refusing such answers would never move on."""
    h = hostile("movies")
    bad, good = [r[0] for r in h.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    caught = h.caught_up_count()
    h.proxy.arm("permute", times=None)
    with h.app.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE content.film_work SET rating = 'Infinity' WHERE id = %s", (bad,))
        cur.execute("UPDATE content.film_work SET title = 'Reversed' WHERE id = %s", (good,))
        cur.execute("COMMIT")
    h.wait_caught_up(after=caught, timeout=60)
    assert h.worker.proc.poll() is None
    permuted = h.proxy.faulted("permute")
    assert permuted and all(len(r.actions) == 2 for r in permuted), permuted
    records = [json.loads(line) for line in h.rejects_path.read_text().splitlines()]
    assert [(r["id"], r["status"]) for r in records] == [(bad, 400)]
    docs = all_documents(h.es, h.index)
    assert docs[good]["title"] == "Reversed"
    # Everything but the rejected document equals PostgreSQL.
    h.sql("UPDATE content.film_work SET rating = 5 WHERE id = %s", (bad,))
    h.proxy.disarm()
    wait_until(lambda: all_documents(h.es, h.index)[bad]["imdb_rating"] == 5, timeout=30,
               what="the rejected film fixed")
    h.assert_matches_catalogue()


def test_garbage_on_every_request_at_start(tmp_path, pg, es, catalog, bin_dir):
    """Spoiled answers to GET /, the mapping, the aliases and the first
    bulk: retried, never taken for an unsupported engine or a bad mapping."""
    h = Hostile(tmp_path, pg, es, catalog, bin_dir, "genres",
                arm=lambda proxy: proxy.arm("garbage", pattern="", times=8))
    try:
        h.wait_caught_up(timeout=120)
        assert h.worker.proc.poll() is None
        assert len(h.proxy.faulted("garbage")) == 8
        h.assert_matches_catalogue()
    finally:
        h.close()
