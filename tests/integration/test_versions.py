"""Versions order every write: each index and delete action carries the
version of the snapshot its document was read in (content.
etl_snapshot_version(), version_type external_gte), so a write that
reaches the node late can never put an older document over a newer one.
The races are forced with the fault proxy's hold fault (faultproxy.py): a
bulk request kept in the proxy, and sent to the real node only after a
newer write of the same film went through.

Each test fails without versions: the late write wins."""
import pathlib
import threading

import pytest

from etlproc import (EtlProcess, document, make_config, run_worker, sql, wait_caught_up,
                     wait_until)
from faultproxy import FaultProxy

# How long a change may take to reach the index.
ARRIVES_S = 60


class Proxied:
    """A movies worker reaching the node through a FaultProxy, synced."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides=None):
        self.es = es
        self.proxy = FaultProxy(es.url)
        settings = {("elasticsearch", "url"): self.proxy.url}
        settings.update(overrides or {})
        self.config, names = make_config(tmp_path, pg, es, catalog, indices=["movies"],
                                         overrides=settings)
        self.index = names["movies"]
        self.bin_dir = bin_dir
        self.app = pg.connect("app", catalog)
        self.workers = []
        self.start()
        wait_caught_up(self.workers[-1], timeout=120, what="the first load")
        (self.fid,) = sql(self.app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0]

    def start(self):
        self.workers.append(run_worker(self.bin_dir, self.config))
        return self.workers[-1]

    def retitle(self, title):
        sql(self.app, "UPDATE content.film_work SET title = %s WHERE id = %s", (title, self.fid))

    def title(self):
        self.es.refresh(self.index)
        return (document(self.es, self.index, self.fid) or {}).get("title")

    def hold_next_bulk(self):
        """Keeps the next bulk request in the proxy; returns its release."""
        release = threading.Event()
        self.proxy.arm("hold", times=1, release=release)
        return release

    def held(self):
        """The record of the held request once the proxy has it."""
        return wait_until(lambda: self.proxy.faulted("hold"), timeout=ARRIVES_S,
                          what="a bulk request held in the proxy")[0]

    def arrives(self, title, what):
        wait_until(lambda: self.title() == title, timeout=ARRIVES_S, what=what)

    def close(self):
        self.app.close()
        for w in self.workers:
            w.stop()
        self.proxy.close()


@pytest.fixture
def proxied(tmp_path, pg, es, catalog, bin_dir):
    made = []

    def make(overrides=None):
        made.append(Proxied(tmp_path, pg, es, catalog, bin_dir, overrides))
        return made[-1]

    yield make
    for p in made:
        p.close()


def release_and_wait(p, release, record):
    """Lets the held request reach the node; waits for the node's answer."""
    release.set()
    wait_until(lambda: record.status is not None, timeout=ARRIVES_S,
               what="the held request answered by the node")


def test_a_bulk_held_while_the_worker_is_killed_cannot_revert_a_newer_change(proxied):
    """A request still on its way when the worker is killed (the watchdog,
    docker stop), a newer change sent by the next worker, then the old
    request arriving: the newer title stays."""
    p = proxied()
    release = p.hold_next_bulk()
    p.retitle("Old title, held")
    record = p.held()
    p.workers[-1].proc.kill()
    p.workers[-1].wait()
    p.retitle("New title")
    p.start()
    p.arrives("New title", "the newer change, sent by the next worker")
    release_and_wait(p, release, record)
    assert record.status == 200, record
    assert p.title() == "New title"


def test_a_request_released_after_the_client_timed_out_cannot_revert(proxied):
    """A request the worker gave up on (request_timeout_ms) and sent again,
    the film changed again, then the first request reaching the node late:
    the newer title stays."""
    p = proxied({("elasticsearch", "request_timeout_ms"): "1500"})
    release = p.hold_next_bulk()
    p.retitle("Old title, timed out")
    record = p.held()
    p.arrives("Old title, timed out", "the same batch sent again after the timeout")
    p.retitle("New title")
    p.arrives("New title", "the newer change")
    release_and_wait(p, release, record)
    assert p.title() == "New title"


def test_a_repair_racing_a_change_cannot_revert_it(proxied, tmp_path):
    """etlctl verify --repair re-sends a film the index lost; its request
    reaches the node only after the live worker has sent a newer change of
    that film: the newer title stays."""
    p = proxied()
    p.es.delete(f"/{p.index}/_doc/{p.fid}", params={"refresh": "true"})
    repair_proxy = FaultProxy(p.es.url)
    try:
        release = threading.Event()
        repair_proxy.arm("hold", times=1, release=release)
        config = pathlib.Path(p.config).read_text().replace(p.proxy.url, repair_proxy.url)
        repair_config = tmp_path / "repair.ini"
        repair_config.write_text(config)
        repair = EtlProcess([pathlib.Path(p.bin_dir) / "etl-worker", "--index", "movies", "-c",
                             str(repair_config), "--verify", "--repair"], tmp_path / "repair.log")
        try:
            record = wait_until(lambda: repair_proxy.faulted("hold"), timeout=ARRIVES_S,
                                what="the repair's bulk request held")[0]
            assert ("index", p.fid) in record.actions
            p.retitle("Changed during the repair")
            p.arrives("Changed during the repair", "the live worker's newer change")
            release.set()
            assert repair.wait(timeout=120) == 0, repair.text()[-3000:]
        finally:
            repair.stop()
        assert record.status == 200, record
        assert p.title() == "Changed during the repair"
    finally:
        repair_proxy.close()
