"""make bench: speed and memory of the movies worker on real services.

Starts a throwaway PostgreSQL and search node (the test harness's own
classes), grows the catalogue to BENCH_FILMS film works by copying the
sample's films with new ids (keeping their genre and person links), then
measures, each in a function of its own that appends rows to one table:

  full load      documents per second of a full load into an empty index
  ingest ceiling the best rate at which pre-built bulk bodies of the same
                 documents (batch_size a body, read from the index the
                 worker filled) go into a fresh index with the same settings,
                 over 1, 2 and 4 concurrent requests; the full load's share
                 of it
  peak memory    the worker's peak resident set (VmHWM), and its growth from
                 a tenth of the load to the end (flat: it must not grow)
  worker CPU     user + system CPU of the worker per 1 000 documents
  change latency seconds from a committed change to it being searchable,
                 p50 and p99 of BENCH_CHANGES changes of four kinds in
                 turn (a title, a person renamed, a link added, a film
                 deleted), each made at a random point of the poll and
                 refresh cycles
  person rename  seconds until all films of the busiest person are re-sent
  busy catalogue BENCH_BUSY_WRITERS writers committing about
                 BENCH_BUSY_RATE title changes a second in all for
                 BENCH_BUSY_S seconds, while pg_dump dumps the database
                 over and over and one more writer holds its change open
                 for BENCH_BUSY_HOLD_S: every change searchable at the end
                 (compared with PostgreSQL), the latency p50/p99 of a
                 sample of the others' changes, the held change arriving
                 after its commit, and the bytes the change records take
                 per 1 000 changes

Every figure is a row (name, value, target, ok) printed in one table at the
end; the exit status is 1 when a target is missed.  The shipped poll
interval (1 s) and refresh interval (1 s, etc/elasticsearch/movies.json) are
the ones measured.  Environment: BENCH_FILMS (default 100000),
BENCH_CHANGES (default 60, at least 50 for the latency targets), BENCH_SEED
(default 14), BENCH_WORKER_CONFIG (extra etl.ini keys,
"section.key=value,...", e.g. etl.bulk_concurrency=1).
"""
import http.client
import json
import math
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "integration"))

import conftest  # noqa: E402  the harness: PgCluster, SearchNode
from etlproc import GROW_SQL, make_config, parse_logfmt, run_worker, wait_until  # noqa: E402

FILMS = int(os.environ.get("BENCH_FILMS", "100000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "60"))
SEED = int(os.environ.get("BENCH_SEED", "14"))
POLL_MS = 1000  # the shipped default
REFRESH_S = 1.0  # the shipped refresh_interval of the movies index
BATCH_SIZE = 500  # the shipped default: documents a bulk body
CONCURRENCIES = (1, 2, 4)  # bulk requests in flight for the ceiling

# Targets (docs/performance.md says where each comes from).
TARGET_CEILING_SHARE = 0.9  # full load >= this x the ingest ceiling
TARGET_PEAK_RSS_MIB = 32
TARGET_RSS_GROWTH_MIB = 2  # from a tenth of the load to the end: flat
TARGET_LATENCY_P50_S = 0.7
TARGET_LATENCY_P99_S = 1.3
TARGET_FANOUT_S = 1.5
TARGET_FANOUT_FILMS = 100000  # the catalogue the fan-out target is set for
# How often a waiting bench asks the search node (s): the resolution of
# the latencies measured.
PROBE_INTERVAL_S = 0.02
KINDS = ("title", "rename", "link", "delete")
# The busy-catalogue scenario (issue of the transaction snapshots: readers
# and a long writer must hold nobody else back).
BUSY_WRITERS = int(os.environ.get("BENCH_BUSY_WRITERS", "8"))
BUSY_RATE = int(os.environ.get("BENCH_BUSY_RATE", "500"))  # changes a second, all writers
BUSY_S = int(os.environ.get("BENCH_BUSY_S", "60"))
BUSY_HOLD_S = int(os.environ.get("BENCH_BUSY_HOLD_S", "20"))
BUSY_SAMPLE_EVERY = 25  # one change in this many has its latency measured

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Table:
    """The bench's one table: rows of (name, value, target, ok)."""

    def __init__(self):
        self.rows = []

    def add(self, name, value, target="", ok=True):
        self.rows.append((name, value, target, ok))

    def print(self):
        width = max(len(r[0]) for r in self.rows)
        print(f"{'figure':<{width}}  {'value':>12}  {'target':<14}  ok")
        for name, value, target, ok in self.rows:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"{name:<{width}}  {shown:>12}  {target!s:<14}  {'yes' if ok else 'NO'}")

    def missed(self):
        return [r for r in self.rows if not r[3]]


def proc_status_kib(pid, key):
    """A field of /proc/PID/status in KiB (VmHWM, VmRSS)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime + stime of a live process (/proc/PID/stat), in seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_overrides():
    """BENCH_WORKER_CONFIG as make_config overrides."""
    out = {("etl", "poll_interval_ms"): str(POLL_MS)}
    for item in filter(None, os.environ.get("BENCH_WORKER_CONFIG", "").split(",")):
        key, value = item.split("=", 1)
        section, name = key.rsplit(".", 1)
        out[(section, name)] = value
    return out


class LogTail:
    """Reads a worker's log as it grows, counting batch documents."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.docs = 0
        self.caught_up = False

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if "msg=" not in line:
                continue
            fields = parse_logfmt(line)
            if fields.get("msg") in ("batch", "build batch"):
                self.docs += int(fields.get("docs", 0))
            elif fields.get("msg") == "caught up":
                self.caught_up = True


def measure_full_load(table, ctx):
    """Full load of an empty cluster: rate, peak RSS and its growth, CPU.
    Leaves the worker running in ctx for the latency measures."""
    films = ctx["films"]
    started = time.monotonic()
    worker = run_worker(ctx["bin_dir"], ctx["config"])
    ctx["worker"] = worker
    tail = LogTail(worker.log_path)
    early_kib = None

    def loaded():
        nonlocal early_kib
        tail.poll()
        if early_kib is None and tail.docs >= films // 10:
            early_kib = proc_status_kib(worker.pid, "VmHWM")
        return tail.caught_up
    wait_until(loaded, timeout=7200, interval=0.1, what="the full load")
    load_s = time.monotonic() - started
    peak_kib = proc_status_kib(worker.pid, "VmHWM")
    cpu = cpu_seconds(worker.pid)
    rate = films / load_s
    ctx["load_rate"] = rate
    table.add("films", films)
    table.add("full load (s)", round(load_s, 1))
    table.add("full load (docs/s)", round(rate))
    table.add("peak RSS (MiB)", round(peak_kib / 1024, 1), f"<= {TARGET_PEAK_RSS_MIB}",
              peak_kib / 1024 <= TARGET_PEAK_RSS_MIB)
    growth = (peak_kib - (early_kib or peak_kib)) / 1024
    table.add("RSS growth 10%->100% (MiB)", round(growth, 1), f"<= {TARGET_RSS_GROWTH_MIB}",
              growth <= TARGET_RSS_GROWTH_MIB)
    table.add("worker CPU per 1000 docs (ms)", round(cpu / films * 1e6, 1))


def dump_bodies(es, index, path, per_body):
    """Writes the documents of index as bulk bodies of per_body documents,
    one body per line of path (JSON-encoded string), scrolling the index."""
    bodies = 0
    page = es.post(f"/{index}/_search?scroll=2m",
                   json={"size": per_body, "sort": ["_doc"]}).json()
    with open(path, "w") as out:
        while page["hits"]["hits"]:
            lines = []
            for hit in page["hits"]["hits"]:
                lines.append(json.dumps({"index": {"_id": hit["_id"]}}))
                lines.append(json.dumps(hit["_source"], ensure_ascii=False, separators=(",", ":")))
            out.write(json.dumps("\n".join(lines) + "\n") + "\n")
            bodies += 1
            page = es.post("/_search/scroll", json={"scroll": "2m",
                                                    "scroll_id": page["_scroll_id"]}).json()
    es.http.delete(f"{es.url}/_search/scroll", json={"scroll_id": page["_scroll_id"]})
    return bodies


def post_bodies(url, index, path, threads):
    """Posts every body of path into index over `threads` keep-alive
    connections at once; returns the seconds it took."""
    parsed = urllib.parse.urlparse(url)
    source = open(path)
    lock = threading.Lock()
    errors = []

    def run():
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        while True:
            with lock:
                line = source.readline()
            if not line:
                break
            body = json.loads(line).encode()
            conn.request("POST", f"/{index}/_bulk", body, {"Content-Type": "application/x-ndjson"})
            answer = conn.getresponse()
            data = answer.read()
            if answer.status != 200 or b'"errors":true' in data[:200]:
                errors.append(answer.status)
        conn.close()
    started = time.monotonic()
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    took = time.monotonic() - started
    source.close()
    if errors:
        raise RuntimeError(f"ingest ceiling: {len(errors)} bulk bodies failed: {errors[:5]}")
    return took


def measure_ingest_ceiling(table, ctx):
    """The best rate at which pre-built bodies of the worker's documents go
    into a fresh index created from the same mapping file, over 1, 2 and 4
    concurrent requests; the full load's share of it."""
    es = ctx["es"]
    path = ctx["work"] / "bodies.ndjson"
    # "caught up" means every bulk was acknowledged; the last second of them
    # becomes searchable at the index's next refresh.
    es.refresh(ctx["index"])
    dump_bodies(es, ctx["index"], path, BATCH_SIZE)
    definition = json.loads((REPO / "etc/elasticsearch/movies.json").read_text())
    best = 0.0
    for threads in CONCURRENCIES:
        target = f"{ctx['index']}_ceiling{threads}"
        es.http.put(f"{es.url}/{target}", json=definition).raise_for_status()
        took = post_bodies(es.url, target, path, threads)
        if es.count(target) != ctx["films"]:
            raise RuntimeError(f"ingest ceiling: {target} holds {es.count(target)} documents,"
                               f" not {ctx['films']}")
        rate = ctx["films"] / took
        best = max(best, rate)
        table.add(f"ingest ceiling, {threads} in flight (docs/s)", round(rate))
        es.http.delete(f"{es.url}/{target}")
    path.unlink()
    share = ctx["load_rate"] / best
    table.add("ingest ceiling (docs/s)", round(best))
    table.add("full load / ceiling", round(share, 2), f">= {TARGET_CEILING_SHARE}",
              share >= TARGET_CEILING_SHARE)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def hits(es, index, query):
    """How many documents of index match query now (what a client sees)."""
    body = es.post(f"/{index}/_search", json={"query": query, "size": 0}).json()
    return body["hits"]["total"]["value"]


def names_query(word):
    """Films naming a person word as director, actor or writer."""
    return {"multi_match": {"query": word, "fields": ["directors_names", "actors_names", "writers_names"]}}


def prepare_changes(cur, count, tag):
    """Picks the rows the changes touch, distinct for each change: films to
    retitle and to delete, persons of one film to rename, and new persons
    (inserted now) to link, each kind its own films.  Returns a list of (kind, args)."""
    per_kind = math.ceil(count / len(KINDS))
    cur.execute("SELECT id::text FROM content.film_work ORDER BY md5(id::text) LIMIT %s", (3 * per_kind,))
    films = [r[0] for r in cur.fetchall()]
    cur.execute("SELECT person_id::text FROM content.person_film_work"
                " GROUP BY person_id ORDER BY count(*), md5(person_id::text) LIMIT %s", (per_kind,))
    renamed = [r[0] for r in cur.fetchall()]
    linked = []
    for n in range(per_kind):
        name = f"benchlink{n}x{tag}"
        cur.execute("INSERT INTO content.person (id, full_name, created, modified)"
                    " VALUES (gen_random_uuid(), %s, now(), now()) RETURNING id::text", (name,))
        linked.append((cur.fetchone()[0], name))
    plan = []
    for n in range(count):
        kind, k = KINDS[n % len(KINDS)], n // len(KINDS)
        if kind == "title":
            plan.append((kind, (films[k], f"benchtitle{n}x{tag}")))
        elif kind == "delete":
            plan.append((kind, (films[per_kind + k],)))
        elif kind == "rename":
            plan.append((kind, (renamed[k], f"benchname{n}x{tag}")))
        else:
            plan.append((kind, (linked[k][0], linked[k][1], films[2 * per_kind + k])))
    return plan


def apply_change(cur, kind, args):
    """Commits one change; returns the search that is true once it is
    searchable, as (query, hits wanted)."""
    if kind == "title":
        fid, word = args
        cur.execute("UPDATE content.film_work SET title = %s WHERE id = %s", (word, fid))
        return {"match": {"title": word}}, 1
    if kind == "delete":
        (fid,) = args
        cur.execute("DELETE FROM content.film_work WHERE id = %s", (fid,))
        return {"ids": {"values": [fid]}}, 0
    if kind == "rename":
        pid, word = args
        cur.execute("SELECT count(DISTINCT film_work_id) FROM content.person_film_work WHERE person_id = %s", (pid,))
        films = cur.fetchone()[0]
        cur.execute("UPDATE content.person SET full_name = %s WHERE id = %s", (word, pid))
        return names_query(word), films
    pid, name, fid = args
    cur.execute("INSERT INTO content.person_film_work (id, person_id, film_work_id, role, created)"
                " VALUES (gen_random_uuid(), %s, %s, 'actor', now())", (pid, fid))
    return names_query(name), 1


def measure_change_latency(table, ctx):
    """Change -> searchable, over CHANGES changes of every kind in turn.
    Each change is made at a random point (uniform over one poll interval
    plus one refresh interval after the last one was seen), so the figures
    are those of changes arriving at random, not in step with the refresh
    the bench has just observed."""
    pg, es, index = ctx["pg"], ctx["es"], ctx["index"]
    rng = random.Random(SEED)
    app = pg.connect("app")
    latencies = {kind: [] for kind in KINDS}
    try:
        with app.cursor() as cur:
            plan = prepare_changes(cur, CHANGES, os.getpid())
            time.sleep(POLL_MS / 1000 + 2 * REFRESH_S)  # the new persons are read
            for kind, args in plan:
                time.sleep(rng.uniform(0, POLL_MS / 1000 + REFRESH_S))
                query, wanted = apply_change(cur, kind, args)
                t0 = time.monotonic()
                wait_until(lambda: hits(es, index, query) == wanted, timeout=60,
                           interval=PROBE_INTERVAL_S, what=f"a change ({kind})")
                latencies[kind].append(time.monotonic() - t0)
    finally:
        app.close()
    every = [s for kind in KINDS for s in latencies[kind]]
    table.add("changes measured", len(every), ">= 50", len(every) >= 50)
    p50, p99 = statistics.median(every), percentile(every, 99)
    table.add("change latency p50 (s)", p50, f"<= {TARGET_LATENCY_P50_S}", p50 <= TARGET_LATENCY_P50_S)
    table.add("change latency p99 (s)", p99, f"<= {TARGET_LATENCY_P99_S}", p99 <= TARGET_LATENCY_P99_S)
    for kind in KINDS:
        if latencies[kind]:
            table.add(f"  {kind}: p50 (s)", statistics.median(latencies[kind]))
            table.add(f"  {kind}: max (s)", max(latencies[kind]))


def measure_person_rename(table, ctx):
    """The busiest person renamed: seconds until the worker has re-sent
    every one of their films (its batch lines' docs add up to them)."""
    pg, worker = ctx["pg"], ctx["worker"]
    app = pg.connect("app")
    try:
        with app.cursor() as cur:
            cur.execute("SELECT person_id::text, count(DISTINCT film_work_id) FROM content.person_film_work"
                        " GROUP BY person_id ORDER BY 2 DESC LIMIT 1")
            pid, person_films = cur.fetchone()
            time.sleep(POLL_MS / 1000 + REFRESH_S)  # the latency bench's last change is done
            before = len(worker.events("batch"))
            cur.execute("UPDATE content.person SET full_name = full_name || ' (bench)' WHERE id = %s", (pid,))
            t0 = time.monotonic()
            wait_until(lambda: sum(int(b["docs"]) for b in worker.events("batch")[before:]) >= person_films,
                       timeout=120, interval=PROBE_INTERVAL_S, what="the person's films")
            took = time.monotonic() - t0
    finally:
        app.close()
    table.add("busiest person: films", person_films)
    if FILMS <= TARGET_FANOUT_FILMS:
        table.add("busiest person: re-sent (s)", took, f"<= {TARGET_FANOUT_S}",
                  took <= TARGET_FANOUT_S)
    else:
        # Ten times the catalogue, ten times the busiest person's films: the
        # target says nothing of it; the figure is printed, not judged.
        table.add("busiest person: re-sent (s)", took, f"(at {TARGET_FANOUT_FILMS} films)")


def relation_bytes(cur, names):
    """pg_total_relation_size summed over names (tables with their indexes)."""
    cur.execute("SELECT sum(pg_total_relation_size(n::regclass))::bigint FROM unnest(%s::text[]) n",
                (names,))
    return cur.fetchone()[0]


def busy_writer(pg, films, tag, rate, until, samples, lock, errors):
    """Retitles films in turn, one commit each, at rate a second until the
    monotonic time until; every BUSY_SAMPLE_EVERY-th change goes into
    samples as (title, commit time)."""
    conn = pg.connect("app")
    try:
        with conn.cursor() as cur:
            n = 0
            next_at = time.monotonic()
            while time.monotonic() < until:
                fid = films[n % len(films)]
                title = f"busy{tag}x{n}"
                cur.execute("UPDATE content.film_work SET title = %s WHERE id = %s", (title, fid))
                if n % BUSY_SAMPLE_EVERY == 0:
                    with lock:
                        samples.append((title, time.monotonic()))
                n += 1
                next_at += 1.0 / rate
                time.sleep(max(0.0, next_at - time.monotonic()))
    except Exception as exc:  # reported by the bench, not lost in a thread
        errors.append(exc)
    finally:
        conn.close()


def dump_until(pg, until, counts):
    """Runs a real pg_dump of the database to /dev/null, again and again,
    until the monotonic time until (a reader holding one snapshot each)."""
    env = dict(os.environ, PGHOST=str(pg.dir), PGPORT=str(pg.port), PGUSER="postgres")
    while time.monotonic() < until:
        subprocess.run(["pg_dump", "-d", pg.dbname, "-f", "/dev/null"], env=env, check=True)
        counts.append(1)


def measure_busy_catalogue(table, ctx):
    """Writers, a pg_dump and one long writer at once: what readers and a
    long writer cost everybody else's changes."""
    pg, es, index = ctx["pg"], ctx["es"], ctx["index"]
    admin = pg.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("SELECT id::text FROM content.film_work ORDER BY md5(id::text) LIMIT %s",
                    (BUSY_WRITERS * 200 + 1,))
        films = [r[0] for r in cur.fetchall()]
        before = relation_bytes(cur, ["content.change_log"])
    held_film, films = films[0], films[1:]
    per_writer = [films[i::BUSY_WRITERS] for i in range(BUSY_WRITERS)]
    samples, lock, errors, dumps = [], threading.Lock(), [], []
    until = time.monotonic() + BUSY_S
    holder = pg.connect("app", autocommit=False)
    threads = [threading.Thread(target=busy_writer, args=(pg, per_writer[i], i, BUSY_RATE / BUSY_WRITERS,
                                                          until, samples, lock, errors))
               for i in range(BUSY_WRITERS)]
    threads.append(threading.Thread(target=dump_until, args=(pg, until, dumps)))
    for t in threads:
        t.start()
    with holder.cursor() as cur:
        cur.execute("UPDATE content.film_work SET title = 'busyheld' WHERE id = %s", (held_film,))
    hold_until = time.monotonic() + BUSY_HOLD_S
    latencies, seen, held_committed, held_latency = [], set(), None, None
    while any(t.is_alive() for t in threads) or len(seen) < len(samples) or held_latency is None:
        now = time.monotonic()
        if held_committed is None and now >= hold_until:
            holder.commit()
            held_committed = time.monotonic()
        with lock:
            pending = [(title, at) for title, at in samples if title not in seen]
        for title, at in pending[:200]:
            if hits(es, index, {"match": {"title": title}}) > 0:
                seen.add(title)
                latencies.append(time.monotonic() - at)
        if held_committed is not None and held_latency is None and \
                hits(es, index, {"match": {"title": "busyheld"}}) > 0:
            held_latency = time.monotonic() - held_committed
        if now > until + 120:
            raise AssertionError("busy catalogue: changes still not searchable 120 s after the end")
        time.sleep(PROBE_INTERVAL_S)
    holder.close()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    # Every film touched holds in the index the title PostgreSQL has.
    with admin.cursor() as cur:
        cur.execute("SELECT id::text, title FROM content.film_work WHERE id = ANY(%s::uuid[])",
                    ([held_film] + films,))
        want = dict(cur.fetchall())
        after = relation_bytes(cur, ["content.change_log"])
        cur.execute("SELECT count(*) FROM content.film_work")
        rows = cur.fetchone()[0]
        cur.execute("SELECT pg_relation_size('content.film_work_txid_id_idx')")
        txid_index = cur.fetchone()[0]
    admin.close()
    es.refresh(index)
    docs = es.post(f"/{index}/_mget", json={"ids": list(want)}).json()["docs"]
    got = {d["_id"]: d["_source"]["title"] for d in docs if d.get("found")}
    wrong = [fid for fid, title in want.items() if got.get(fid) != title]
    changes = len(samples) * BUSY_SAMPLE_EVERY
    table.add("busy: changes committed (about)", changes)
    table.add("busy: pg_dump runs during them", len(dumps))
    table.add("busy: films whose title differs from PostgreSQL", len(wrong), "0", not wrong)
    table.add("busy: latency p50 (s)", round(statistics.median(latencies), 3))
    table.add("busy: latency p99 (s)", round(percentile(latencies, 99), 3))
    table.add(f"busy: held change after its commit (s, held {BUSY_HOLD_S} s)", round(held_latency, 3))
    table.add("busy: change_log bytes per 1000 changes", round((after - before) / changes * 1000))
    table.add("busy: (txid, id) index bytes per film row", round(txid_index / rows, 1))


def grow(pg, films):
    """Grows the catalogue to films film works; returns how many there are."""
    conn = pg.connect("postgres")
    with conn.cursor() as cur:
        cur.execute(GROW_SQL % {"films": films})
        cur.execute("SELECT count(*) FROM content.film_work")
        count = cur.fetchone()[0]
    conn.close()
    return count


def main():
    bin_dir = pathlib.Path(os.environ.get("ETL_BIN_DIR") or REPO / "bin")
    pg = conftest.PgCluster(pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-pg-")))
    es = conftest.SearchNode(pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-es-")))
    os.chmod(pg.base, 0o755)
    table = Table()
    ctx = {"bin_dir": bin_dir, "pg": pg, "es": es}
    try:
        pg.create()
        es.create()
        t0 = time.monotonic()
        ctx["films"] = grow(pg, FILMS)
        table.add("catalogue growth (s)", round(time.monotonic() - t0, 1))
        ctx["work"] = pathlib.Path(tempfile.mkdtemp(prefix="etl-bench-"))
        ctx["config"], names = make_config(ctx["work"], pg, es, pg.dbname, overrides=worker_overrides())
        ctx["index"] = names["movies"]
        try:
            measure_full_load(table, ctx)
            measure_ingest_ceiling(table, ctx)
            measure_change_latency(table, ctx)
            measure_person_rename(table, ctx)
            measure_busy_catalogue(table, ctx)
        finally:
            if "worker" in ctx:
                ctx["worker"].stop()
    finally:
        es.destroy()
        pg.destroy()

    table.print()
    missed = table.missed()
    for name, value, target, _ in missed:
        print(f"bench: target missed: {name} = {value}, target {target}")
    print("bench: all targets met" if not missed else "bench: FAILED")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
