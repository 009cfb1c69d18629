"""What operators see, apart from the logs: the workers' status channel
(etlctl status at any log_level), the Prometheus metrics and the watchdog
that kills a worker which stopped reporting.  Real supervisor, workers,
PostgreSQL and search node."""
import contextlib
import json
import os
import pathlib
import re
import subprocess
import signal
import time
import uuid

import requests
from prometheus_client.parser import text_string_to_metric_families

from etlproc import free_port, wait_until
from faultproxy import FaultProxy
from test_supervisor import Stack


def release_version():
    """VERSION of the Makefile: what the programs were built as."""
    makefile = (pathlib.Path(__file__).resolve().parents[2] / "Makefile").read_text()
    return re.search(r"^VERSION := (\S+)$", makefile, re.M).group(1)


def built_revision(bin_dir):
    """The revision the programs were built with, checked against `git
    describe` of the checkout (the commit; "-dirty" may differ, a file
    edited since the build), and their --version saying the same; the one
    the metrics must show."""
    rev = subprocess.run(["git", "describe", "--tags", "--always"],
                         cwd=pathlib.Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, check=True).stdout.strip()
    said = {}
    for program in ("etl-supervisor", "etl-worker", "etlctl"):
        said[program] = subprocess.run([str(bin_dir / program), "--version"],
                                       capture_output=True, text=True, check=True).stdout
    built = re.fullmatch(rf"etl-supervisor {re.escape(release_version())} \((\S+)\)\n",
                         said["etl-supervisor"])
    assert built and built.group(1).removesuffix("-dirty") == rev, said
    for program, text in said.items():
        assert text == f"{program} {release_version()} ({built.group(1)})\n", text
    return built.group(1)


def status_json(sup, name):
    """The --json status object of worker name."""
    result = sup.ctl("status", "--json")
    assert result.returncode == 0, result.stderr
    return {w["name"]: w for w in json.loads(result.stdout)["workers"]}[name]


def scrape(port):
    """{(sample name, sorted labels): value} of GET /metrics, read with
    prometheus_client's parser (which fails on anything malformed)."""
    resp = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def wait_status(sup, name, what, predicate, timeout=120):
    """Waits until the --json status of worker name satisfies predicate;
    returns it (a failure shows the last one seen)."""
    seen = [None]

    def check():
        seen[0] = status_json(sup, name)
        return seen[0] if predicate(seen[0]) else None

    try:
        return wait_until(check, timeout=timeout, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen[0]}") from None


def wait_synced(sup, name, after_batches=-1):
    """Waits until worker name did more than after_batches batches and is
    caught up (idle); returns its status."""
    return wait_status(sup, name, f"{name} synced",
                       lambda s: s["batches"] > after_batches and s["lag_s"] == 0)


@contextlib.contextmanager
def synced_genres(tmp_path, pg, es, catalog, bin_dir, settings):
    """A supervisor running the genres worker with settings and metrics on
    a free port, once the index is built: yields (stack, port, ES index
    name, status of the worker)."""
    port = free_port()
    overrides = {("supervisor", "metrics_listen"): f"127.0.0.1:{port}", **settings}
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres"], overrides=overrides)
    try:
        # etlctl needs its control socket (a slow start, under ASan on a
        # busy machine, has none yet); the log may not say started (level).
        wait_until(lambda: stack.sup.check_alive() or stack.sup.socket.exists(), timeout=60,
                   what="the control socket")
        yield stack, port, stack.names["genres"], wait_synced(stack.sup, "genres")
    finally:
        stack.close()


def test_status_does_not_depend_on_the_log_level(tmp_path, pg, es, catalog, bin_dir):
    """With log_level = error the workers log no batch and no "caught up":
    status still shows batches, documents, cursor and lag, from the status
    channel."""
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, {("etl", "log_level"): "error"}) as (
            stack, _, _, w):
        sup = stack.sup
        assert w["state"] == "running"
        assert w["batches"] >= 1 and w["docs_sent"] == 26
        assert w["cursor_modified"] and w["cursor_id"]
        assert w["last_batch"].endswith("Z")
        # What answered GET /, as the node under test really is.
        assert (w["engine"], w["engine_version"]) == (es.expected["distribution"],
                                                      es.expected["version"])
        assert w["node"] == es.url  # the only node of url
        assert not sup.events("batch") and not sup.events("caught up")  # nothing logged
        # A change: one more batch, its lag reported, then caught up again.
        stack.sql("UPDATE content.genre SET description = 'seen at error level' "
                  "WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
        w = wait_synced(sup, "genres", w["batches"])
        assert w["docs_sent"] >= 27


def test_metrics_count_exactly_the_changes(tmp_path, pg, es, catalog, bin_dir):
    """Scraped with a real HTTP client and parsed with a real Prometheus
    parser, at log_level = error: 2 genres inserted and 3 updated add
    exactly 5 to etl_documents_indexed_total; deleting the 2 adds exactly 2
    to etl_documents_deleted_total."""
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, {("etl", "log_level"): "error"}) as (
            stack, port, index, w):
        sup = stack.sup
        before = scrape(port)
        assert value(before, "etl_build_info", version=release_version(),
                     revision=built_revision(bin_dir)) == 1
        assert value(before, "etl_search_engine_info", index=index,
                     distribution=es.expected["distribution"],
                     version=es.expected["version"]) == 1
        assert value(before, "etl_search_node_info", index=index, node=es.url) == 1
        assert value(before, "etl_worker_up", index=index) == 1
        assert value(before, "etl_worker_restarts_total", index=index) == 0
        assert value(before, "etl_documents_indexed_total", index=index) == 26
        assert value(before, "etl_batches_total", index=index) == w["batches"]
        assert value(before, "etl_batch_duration_seconds_count", index=index) == w["batches"]
        assert value(before, "etl_batch_duration_seconds_bucket", index=index, le="+Inf") == w["batches"]
        assert value(before, "etl_lag_seconds", index=index) == 0
        assert value(before, "etl_last_batch_age_seconds", index=index) >= 0
        assert value(before, "etl_snapshot_held_seconds", index=index) >= 0
        assert value(before, "etl_bulk_bytes_total", index=index) > 0
        for what in ("postgres", "elasticsearch", "state file"):
            assert value(before, "etl_retries_total", index=index, what=what) == 0

        added = [str(uuid.uuid4()) for _ in range(2)]
        for gid in added:
            stack.sql("INSERT INTO content.genre (id, name, description) VALUES (%s, 'metric', 'x')",
                      (gid,))
        stack.sql("UPDATE content.genre SET description = 'counted' WHERE id IN "
                  "(SELECT id FROM content.genre WHERE name <> 'metric' ORDER BY id LIMIT 3)")
        w = wait_synced(sup, "genres", w["batches"])
        after = scrape(port)
        delta = lambda name: value(after, name, index=index) - value(before, name, index=index)
        assert delta("etl_documents_indexed_total") == 5
        assert delta("etl_documents_deleted_total") == 0
        assert delta("etl_documents_rejected_total") == 0
        assert delta("etl_batches_total") >= 1
        assert delta("etl_bulk_bytes_total") > 0

        stack.sql("DELETE FROM content.genre WHERE id = ANY(%s::uuid[])", (added,))
        wait_synced(sup, "genres", w["batches"])
        last = scrape(port)
        assert value(last, "etl_documents_deleted_total", index=index) - \
            value(after, "etl_documents_deleted_total", index=index) == 2
        assert value(last, "etl_documents_indexed_total", index=index) == \
            value(after, "etl_documents_indexed_total", index=index)
        # Only /metrics is served.
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 404


def test_frozen_worker_is_killed_and_restarted_after_hang_timeout(tmp_path, pg, es, catalog, bin_dir):
    """A worker frozen with SIGSTOP sends no heartbeat: after hang_timeout_s
    (4 s here, above every step's timeout of 3 s) the supervisor kills it
    (SIGKILL), says why, counts it and starts it again; the new worker
    syncs."""
    settings = {("supervisor", "hang_timeout_s"): "4", ("postgres", "connect_timeout_s"): "3",
                ("postgres", "statement_timeout_ms"): "3000",
                ("elasticsearch", "request_timeout_ms"): "3000"}
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, w):
        sup = stack.sup
        # Idle but alive: heartbeats keep it from being taken for hung.
        time.sleep(5)
        assert not sup.events("worker hung")
        frozen = w["pid"]
        os.kill(frozen, signal.SIGSTOP)
        t0 = time.monotonic()
        hung = sup.wait_event("worker hung", timeout=30, child="genres")[0]
        took = time.monotonic() - t0
        assert 3.5 <= took < 8, took
        assert int(hung["child_pid"]) == frozen and hung["hang_timeout_s"] == "4"
        assert "hang_timeout_s" in hung["reason"] and float(hung["silent_s"]) >= 4
        exited = sup.wait_event("worker exited", child="genres")[-1]
        assert exited["signal"] == "9" and exited["expected"] == "false"
        started = sup.wait_event("worker started", count=2, child="genres")[-1]
        assert int(started["child_pid"]) != frozen
        w = wait_synced(sup, "genres", w["batches"] - 1)
        assert w["restarts"] == 1 and w["last_exit"] == "signal:9" and w["pid"] != frozen
        metrics = scrape(port)
        assert value(metrics, "etl_worker_hangs_total", index=index) == 1
        assert value(metrics, "etl_worker_restarts_total", index=index) == 1
        # The new worker syncs a change.
        stack.sql("UPDATE content.genre SET description = 'after the hang' "
                  "WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
        gid = stack.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")[0][0]
        wait_until(lambda: (stack.doc("genres", gid) or {}).get("description") == "after the hang",
                   timeout=60, what="the change after the restart")


def test_lag_grows_while_a_change_waits_and_status_names_the_writer(tmp_path, pg, es, catalog,
                                                                    bin_dir):
    """A change the worker has read but cannot make searchable (every
    _bulk answer stalls past request_timeout_ms, so the worker retries):
    etl_lag_seconds and etlctl status's lag_s are the change's age and grow
    while it waits, never 0; once the node answers again they go back to
    0.  A writer left open is named in etlctl status (held_by, held_s)."""
    proxy = FaultProxy(es.url)
    settings = {("elasticsearch", "url"): proxy.url,
                ("elasticsearch", "request_timeout_ms"): "1000",
                ("supervisor", "ready_max_lag_s"): "1",
                ("etl", "log_level"): "error"}
    try:
        with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, w):
            sup = stack.sup
            proxy.arm("slow", times=None, interval=1.0)
            stack.sql("UPDATE content.genre SET description = 'waits' "
                      "WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
            first = wait_status(sup, "genres", "lag_s growing while the change waits",
                                lambda s: s["lag_s"] is not None and s["lag_s"] >= 2, timeout=60)
            later = wait_status(sup, "genres", "lag_s still growing",
                                lambda s: s["lag_s"] >= first["lag_s"] + 2, timeout=60)
            assert later["batches"] == w["batches"]  # nothing was acknowledged meanwhile
            assert value(scrape(port), "etl_lag_seconds", index=index) >= later["lag_s"]
            # Health: lagging for a check allowing 1 s (and /readyz, with
            # ready_max_lag_s = 1), ready for one allowing an hour.
            lagging = sup.ctl("check", "--max-lag", "1")
            assert lagging.returncode == 1, lagging
            assert "name=genres condition=lagging" in lagging.stdout
            assert sup.ctl("check", "--max-lag", "3600").returncode == 0
            readyz = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            assert readyz.status_code == 503 and "condition=lagging" in readyz.text, readyz.text
            proxy.disarm()
            w = wait_synced(sup, "genres", w["batches"])
            assert value(scrape(port), "etl_lag_seconds", index=index) == 0
            assert sup.ctl("check", "--max-lag", "1").returncode == 0

            # A writer left open: its pid in status, how long in held_s.
            writer = pg.connect("app", catalog, autocommit=False)
            try:
                cur = writer.cursor()
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
                cur.execute("UPDATE content.genre SET description = 'held' "
                            "WHERE id = (SELECT id FROM content.genre ORDER BY id DESC LIMIT 1)")
                held = wait_status(sup, "genres", "status naming the open writer",
                                   lambda s: s["held_by"] == f"transaction pid={pid}" and
                                   s["held_s"] >= 1)
                assert held["lag_s"] == 0  # its change is not committed: nothing waits yet
                assert value(scrape(port), "etl_snapshot_held_seconds", index=index) >= 1
                writer.commit()
            finally:
                writer.close()
            w = wait_synced(sup, "genres", w["batches"])
            assert wait_until(lambda: status_json(sup, "genres")["held_by"] is None, timeout=30,
                              what="held_by cleared after the commit") is True
    finally:
        proxy.close()


def test_health_endpoints_and_check_follow_the_workers(tmp_path, pg, es, catalog, bin_dir):
    """GET /healthz answers while the supervisor runs; GET /readyz and
    etlctl check say ready once the worker has caught up, down (503, exit
    3) while it is stopped, and ready again after it is started."""
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, {}) as (stack, port, _, _w):
        sup = stack.sup
        base = f"http://127.0.0.1:{port}"
        healthz = requests.get(f"{base}/healthz", timeout=5)
        assert (healthz.status_code, healthz.text) == (200, "ok\n")
        readyz = requests.get(f"{base}/readyz", timeout=5)
        assert readyz.status_code == 200 and "name=genres condition=ready" in readyz.text
        ready = sup.ctl("check")
        assert ready.returncode == 0, ready
        assert ready.stdout.startswith("name=genres condition=ready lag_s=")
        assert sup.ctl("check", "genres").returncode == 64  # check takes no name
        assert sup.ctl("status", "--max-lag", "3").returncode == 64

        assert sup.ctl("stop", "genres").returncode == 0
        down = sup.ctl("check")
        assert down.returncode == 3 and "condition=down" in down.stdout, down
        readyz = requests.get(f"{base}/readyz", timeout=5)
        assert readyz.status_code == 503 and "condition=down" in readyz.text
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200

        assert sup.ctl("start", "genres").returncode == 0
        wait_until(lambda: sup.ctl("check").returncode == 0, timeout=120,
                   what="ready again after start")
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200


def test_background_verify_finds_drift_without_asking(tmp_path, pg, es, catalog, bin_dir):
    """verify_interval_s: the worker compares its index with PostgreSQL in
    the background, again and again, while it keeps syncing: equal at
    first (etl_verify_differences 0), then a document deleted from the
    index behind its back is found missing (1, the report names it), and a
    change made meanwhile is searchable all the same."""
    settings = {("etl", "verify_interval_s"): "2"}
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, _w):
        sup = stack.sup

        def verified(after, **fields):
            return wait_until(lambda: (lambda ev: ev[after:] if len(ev) > after else None)(
                sup.events("background verify done", worker="genres", **fields)),
                timeout=120, what=f"a background verify {fields}")[-1]
        first = verified(0, missing="0")
        assert (first["extra"], first["different"]) == ("0", "0")
        assert value(scrape(port), "etl_verify_differences", index=index) == 0
        gid = stack.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 1")[0][0]
        es.delete(f"/{index}/_doc/{gid}", params={"refresh": "true"})
        done = verified(len(sup.events("background verify done", worker="genres")), missing="1")
        assert done["level"] == "warn"
        report = (tmp_path / "state" / "genres.verify").read_text()
        assert "result=differs" in report and gid in report, report
        assert value(scrape(port), "etl_verify_differences", index=index) == 1
        assert value(scrape(port), "etl_verify_runs_total", index=index) >= 2
        # The sync went on meanwhile.
        other = stack.sql("SELECT id::text FROM content.genre ORDER BY id DESC LIMIT 1")[0][0]
        stack.sql("UPDATE content.genre SET description = 'synced while verified' WHERE id = %s",
                  (other,))
        wait_until(lambda: (stack.doc("genres", other) or {}).get("description") ==
                   "synced while verified", timeout=60, what="a change during verifies")


def background_verified(sup, after, **fields):
    """The first "background verify done" line of the genres worker after
    the after-th with fields, waited for."""
    return wait_until(lambda: [e for e in sup.events("background verify done", worker="genres")[after:]
                               if all(e.get(k) == v for k, v in fields.items())],
                      timeout=120, what=f"a background verify {fields}")[0]


def test_background_verify_repairs_drift_with_verify_repair_auto(tmp_path, pg, es, catalog,
                                                                 bin_dir):
    """verify_repair = auto: a document deleted from the index behind the
    worker's back and another one altered are found (missing 1, different
    1), re-sent by the verify itself (repair=done), and the next verify
    finds the index equal; no rebuild."""
    settings = {("etl", "verify_interval_s"): "2", ("etl", "verify_repair"): "auto"}
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, _w):
        sup = stack.sup
        background_verified(sup, 0, missing="0", different="0")
        gone, altered = [r[0] for r in stack.sql("SELECT id::text FROM content.genre"
                                                 " ORDER BY id LIMIT 2")]
        kept = stack.doc("genres", altered)
        es.delete(f"/{index}/_doc/{gone}", params={"refresh": "true"})
        es.post(f"/{index}/_update/{altered}", params={"refresh": "true"},
                json={"doc": {"name": "drifted"}})
        n = len(sup.events("background verify done", worker="genres"))
        done = background_verified(sup, n, missing="1", different="1")
        assert done["repair"] == "done" and done["level"] == "info", done
        wait_until(lambda: stack.doc("genres", gone) is not None, timeout=30,
                   what="the deleted document back")
        assert stack.doc("genres", altered) == kept
        background_verified(sup, n + 1, missing="0", different="0", extra="0")
        assert not sup.events("rebuild started", worker="genres")


def test_background_verify_rebuilds_above_the_threshold(tmp_path, pg, es, catalog, bin_dir):
    """verify_repair = auto with more documents differing than
    verify_rebuild_threshold: the worker rebuilds the index behind its
    alias (reason verify_differences) rather than re-send them one by one,
    and the new index has them all."""
    settings = {("etl", "verify_interval_s"): "2", ("etl", "verify_repair"): "auto",
                ("etl", "verify_rebuild_threshold"): "2"}
    with synced_genres(tmp_path, pg, es, catalog, bin_dir, settings) as (stack, port, index, _w):
        sup = stack.sup
        background_verified(sup, 0, missing="0")
        ids = [r[0] for r in stack.sql("SELECT id::text FROM content.genre ORDER BY id LIMIT 3")]
        for gid in ids:
            es.delete(f"/{index}/_doc/{gid}", params={"refresh": "true"})
        n = len(sup.events("background verify done", worker="genres"))
        done = background_verified(sup, n, missing="3")
        assert done["repair"] == "rebuild", done
        started = wait_until(lambda: sup.events("rebuild started", worker="genres"), timeout=60,
                             what="the rebuild")[0]
        assert started["reason"] == "verify_differences", started
        wait_until(lambda: sup.events("alias moved", worker="genres"), timeout=120,
                   what="the swap")
        wait_until(lambda: all(stack.doc("genres", gid) is not None for gid in ids), timeout=30,
                   what="the deleted documents in the new index")
