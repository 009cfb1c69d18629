"""make bench: speed and memory of the movies worker on real services.

Starts a throwaway PostgreSQL and search node (the test harness's own
classes), grows the catalogue to BENCH_FILMS film works by copying the
sample's films with new ids (keeping their genre and person links), then
measures:

  full load      seconds and documents per second for an empty index
  peak memory    the worker's peak resident set (VmHWM) during the load
  change latency seconds from a committed title change to the document
                 being searchable, median and worst of BENCH_CHANGES changes
  person rename  seconds until all films of the busiest person are re-sent

and checks them against the targets below (the numbers a 2-core CI machine
meets with room to spare); exits 1 when a target is missed.
Environment: BENCH_FILMS (default 20000), BENCH_CHANGES (default 20).
"""
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import conftest  # noqa: E402  the harness: PgCluster, SearchNode
from etlproc import GROW_SQL, make_config, run_worker, wait_until  # noqa: E402

FILMS = int(os.environ.get("BENCH_FILMS", "20000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "20"))
POLL_MS = 1000  # the shipped default

# Targets: documents per second of a full load, peak worker memory, and the
# latency of one change (poll interval + 2 s, the promise).
TARGET_LOAD_DOCS_PER_S = 1000
TARGET_PEAK_RSS_MIB = 64
TARGET_CHANGE_LATENCY_S = POLL_MS / 1000 + 2


def peak_rss_mib(pid):
    """VmHWM of a live process, in MiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    bin_dir = pathlib.Path(os.environ.get("ETL_BIN_DIR") or HERE.parents[1] / "bin")
    pg = conftest.PgCluster(pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-pg-")))
    es = conftest.SearchNode(pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-es-")))
    os.chmod(pg.base, 0o755)
    results = {}
    try:
        pg.create()
        es.create()
        conn = pg.connect("postgres")
        with conn.cursor() as cur:
            cur.execute(GROW_SQL % {"films": FILMS})
            cur.execute("SELECT count(*) FROM content.film_work")
            films = cur.fetchone()[0]
        conn.close()
        work = pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-"))
        config, names = make_config(work, pg, es, pg.dbname,
                                    overrides={("etl", "poll_interval_ms"): str(POLL_MS)})
        index = names["movies"]
        started = time.monotonic()
        worker = run_worker(bin_dir, config)
        peak = 0.0
        try:
            def loaded():
                nonlocal peak
                peak = max(peak, peak_rss_mib(worker.pid))
                return any(e.get("msg") == "caught up" for e in worker.events())
            wait_until(loaded, timeout=1800, interval=0.05, what="the full load")
            load_s = time.monotonic() - started
            peak = max(peak, peak_rss_mib(worker.pid))
            results["films"] = films
            results["full_load_s"] = round(load_s, 2)
            results["full_load_docs_per_s"] = round(films / load_s)
            results["peak_rss_mib"] = round(peak, 1)

            app = pg.connect("app")
            latencies = []
            with app.cursor() as cur:
                cur.execute("SELECT id::text FROM content.film_work ORDER BY id LIMIT %s", (CHANGES,))
                ids = [r[0] for r in cur.fetchall()]
                for n, fid in enumerate(ids):
                    word = f"benchword{n}x{os.getpid()}"
                    cur.execute("UPDATE content.film_work SET title = %s WHERE id = %s", (word, fid))
                    t0 = time.monotonic()

                    def found():
                        r = es.post(f"/{index}/_search", json={"query": {"match": {"title": word}}}).json()
                        return r["hits"]["total"]["value"] == 1
                    wait_until(found, timeout=60, interval=0.02, what="a change")
                    latencies.append(time.monotonic() - t0)
                cur.execute("SELECT person_id::text, count(DISTINCT film_work_id) FROM content.person_film_work"
                            " GROUP BY person_id ORDER BY 2 DESC LIMIT 1")
                pid, person_films = cur.fetchone()
                before = len(worker.events("batch"))
                cur.execute("UPDATE content.person SET full_name = full_name || ' (bench)' WHERE id = %s", (pid,))
                t0 = time.monotonic()
                wait_until(lambda: sum(int(b["docs"]) for b in worker.events("batch")[before:]) >= person_films,
                           timeout=120, interval=0.02, what="the person's films")
                results["person_rename_films"] = person_films
                results["person_rename_s"] = round(time.monotonic() - t0, 2)
            app.close()
            results["change_latency_median_s"] = round(statistics.median(latencies), 3)
            results["change_latency_max_s"] = round(max(latencies), 3)
            results["peak_rss_mib"] = round(max(peak, peak_rss_mib(worker.pid)), 1)
        finally:
            worker.stop()
    finally:
        es.destroy()
        pg.destroy()

    print(json.dumps(results, indent=2))
    misses = []
    if results["full_load_docs_per_s"] < TARGET_LOAD_DOCS_PER_S:
        misses.append(f"full load {results['full_load_docs_per_s']} docs/s < {TARGET_LOAD_DOCS_PER_S}")
    if results["peak_rss_mib"] > TARGET_PEAK_RSS_MIB:
        misses.append(f"peak memory {results['peak_rss_mib']} MiB > {TARGET_PEAK_RSS_MIB}")
    if results["change_latency_max_s"] > TARGET_CHANGE_LATENCY_S:
        misses.append(f"change latency {results['change_latency_max_s']} s > {TARGET_CHANGE_LATENCY_S}")
    for miss in misses:
        print("bench: target missed:", miss)
    print("bench: all targets met" if not misses else "bench: FAILED")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
