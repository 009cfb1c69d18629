"""Several bulk requests in flight (bulk_concurrency), against a real
PostgreSQL and a real search node, with a TCP proxy in front of the node
that never forwards the requests of every other connection: a real node
answers out of order only under load, the proxy makes it happen at will.  A
later batch is then acknowledged while an earlier one has not reached the
node at all.

- kill -9 with several requests in flight, later ones answered while an
  earlier one is stuck: the state file's cursor covers only documents the
  index holds (it moved over the contiguous prefix of acknowledged batches,
  never past the stuck one), and the worker resumes with nothing lost;
- the same load with one request in flight and with four ends with the same
  documents.
"""
import json
import threading
import time

import pytest

from etlproc import TcpProxy, all_documents, make_config, run_worker, wait_caught_up, wait_until
from expected_docs import assert_index_matches

SETTLE_S = 0.3  # time for the worker to read the answers that came
CHUNK = 65536


class HoldingProxy(TcpProxy):
    """A TCP proxy to (host, port) on 127.0.0.1:self.port.  Every other
    connection is stuck: what the client sends on it never reaches the node
    (a request held for ever, as by a node that stalls on one request).  It
    tracks the requests outstanding (a connection whose client sent after
    the node last answered) and the answers to requests sent after a stuck
    one.  freeze() forwards nothing more, either way."""

    def __init__(self, host, port):
        super().__init__(host, port)
        self.frozen = threading.Event()
        self.outstanding = {}  # connection number -> seq of its request in flight
        self.next_seq = 0
        self.answered = []  # seqs in the order their answers came
        self.max_outstanding = 0
        self.sockets = []
        self.start()

    def pair(self, number, client, server):
        self.sockets += [client, server]
        slow = number % 2 == 1
        threading.Thread(target=self._up, args=(number, client, server, slow),
                         daemon=True).start()
        threading.Thread(target=self._down, args=(number, server, client),
                         daemon=True).start()

    def _up(self, number, src, dst, slow):
        """Client to node: a new request is counted, then held if slow."""
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                with self.lock:
                    if number not in self.outstanding:
                        self.outstanding[number] = self.next_seq
                        self.next_seq += 1
                        self.max_outstanding = max(self.max_outstanding, len(self.outstanding))
                if slow:
                    continue
                if self.frozen.is_set():
                    break
                dst.sendall(data)
        except OSError:
            pass

    def _down(self, number, src, dst):
        """Node to client: the connection's request is answered."""
        try:
            while True:
                data = src.recv(CHUNK)
                if not data or self.frozen.is_set():
                    break
                with self.lock:
                    seq = self.outstanding.pop(number, None)
                    if seq is not None:
                        self.answered.append(seq)
                dst.sendall(data)
        except OSError:
            pass

    def in_flight(self):
        with self.lock:
            return len(self.outstanding)

    def overtaken(self):
        """How many requests were answered that were sent after the oldest
        request still outstanding."""
        with self.lock:
            if not self.outstanding:
                return 0
            oldest = min(self.outstanding.values())
            return sum(1 for seq in self.answered if seq > oldest)

    def freeze(self):
        self.frozen.set()

    def close(self):
        self.frozen.set()
        self.listener.close()
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def proxy(es):
    p = HoldingProxy("127.0.0.1", es.port)
    try:
        yield p
    finally:
        p.close()


def films_up_to(pg, catalog, cursor):
    """Ids of the films at or before a film_work cursor (txid, id)."""
    conn = pg.connect("app", catalog)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id::text FROM content.film_work"
                        " WHERE (txid, id) <= (%s::xid8, %s::uuid)",
                        (cursor["txid"], cursor["id"]))
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def test_kill_9_with_requests_answered_out_of_order_resumes_with_nothing_lost(
        tmp_path, pg, es, catalog, bin_dir, proxy, workers):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={
        ("etl", "batch_size"): "10",
        ("etl", "bulk_concurrency"): "4",
        ("elasticsearch", "url"): f"http://127.0.0.1:{proxy.port}",
    })
    alias = names["movies"]
    w = run_worker(bin_dir, config)
    workers.append(w)
    # A request stuck, and later ones answered: batches acknowledged out of
    # order, the earlier one never in the index.
    wait_until(lambda: proxy.overtaken() >= 2, timeout=120, interval=0.01,
               what="requests answered past a stuck one")
    time.sleep(SETTLE_S)
    assert proxy.overtaken() >= 2
    proxy.freeze()
    w.proc.kill()
    w.wait()
    assert proxy.max_outstanding >= 2, "several requests were in flight"
    state = json.loads((tmp_path / "state" / "movies.state").read_text())
    cursor = state["sources"]["film_work"]
    es.post(f"/{alias}/_refresh")
    held = set(all_documents(es, alias))
    saved = films_up_to(pg, catalog, cursor)
    missing = saved - held
    assert not missing, f"the cursor moved past {len(missing)} films the index never got"
    assert len(held) < 999, "the kill came during the load"

    # Resumed straight to the node: everything, and the same documents.
    config2, _ = make_config(tmp_path, pg, es, catalog, overrides={
        ("etl", "batch_size"): "10",
        ("etl", "bulk_concurrency"): "4",
        ("index.movies", "index"): alias,
    })
    w2 = run_worker(bin_dir, config2)
    workers.append(w2)
    wait_caught_up(w2, timeout=120, what="the resumed load")
    conn = pg.connect("app", catalog)
    try:
        assert_index_matches(conn, "movies", es, alias)
    finally:
        conn.close()


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_full_load_is_the_same_whatever_the_requests_in_flight(tmp_path, pg, es, catalog, bin_dir,
                                                               workers, concurrency):
    config, names = make_config(tmp_path, pg, es, catalog, overrides={
        ("etl", "batch_size"): "7",
        ("etl", "bulk_concurrency"): concurrency,
    })
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=120, what="the full load")
    batches = w.events("batch")
    # Logged (and saved) in the order read: the cursor never goes back.
    cursors = [(int(b["cursor_txid"]), b["cursor_id"])
               for b in batches if b["source"] == "film_work"]
    assert len(cursors) >= 999 // 7
    assert cursors == sorted(cursors)
    conn = pg.connect("app", catalog)
    try:
        assert_index_matches(conn, "movies", es, names["movies"])
    finally:
        conn.close()
