"""etlctl verify and etlctl reindex against a real PostgreSQL and a real
search node, with the movies worker running all along: equal after a load;
documents edited, deleted and added behind the ETL's back reported by id
and repaired; no false report while changes stream in; a repair above
verify_rebuild_threshold asks the supervisor for a rebuild; reindex reaches
a running worker without killing it.  ETL_VERIFY_FILMS=N (e.g. 20000) also
times verify on a catalogue grown to N films."""
import os
import random
import subprocess
import threading
import time

import pytest

from etlproc import (GROW_SQL, EtlProcess, clean_env, make_config, parse_logfmt, run_worker,
                     wait_caught_up, wait_until)

# etlctl's exit statuses (docs/operations.md).
EXIT_DIFFERS, EXIT_UNKNOWN_WORKER, EXIT_WORKER_STOPPED = 65, 67, 68
EXIT_CONFIG = 78
GROWN_FILMS = int(os.environ.get("ETL_VERIFY_FILMS", "0"))


def etlctl(bin_dir, config, *args, timeout=300):
    """Runs etlctl -c config args; (exit status, report lines parsed, stderr)."""
    done = subprocess.run([str(bin_dir / "etlctl"), "-c", str(config), *args], env=clean_env(),
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, [parse_logfmt(line) for line in done.stdout.splitlines()], done.stderr


def summary(lines):
    """The report's first line (index=... result=...)."""
    return next(line for line in lines if "result" in line)


def kinds(lines):
    """{kind: [ids shown]} from the report's kind= lines."""
    return {line["kind"]: line["ids"].split(",") for line in lines if "kind" in line}


class Running:
    """A movies worker that has loaded its index, on its own catalogue."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, overrides=None):
        self.es, self.bin_dir = es, bin_dir
        self.config, names = make_config(tmp_path, pg, es, catalog, overrides=overrides)
        self.index = names["movies"]
        self.worker = run_worker(bin_dir, self.config)
        self.app = pg.connect("app", catalog)
        try:
            wait_caught_up(self.worker, timeout=300, what="the first load")
        except BaseException:
            self.__exit__()
            raise

    def verify(self, *args):
        return etlctl(self.bin_dir, self.config, "verify", "movies", *args)

    def film_ids(self, n):
        with self.app.cursor() as cur:
            cur.execute("SELECT id::text FROM content.film_work ORDER BY id LIMIT %s", (n,))
            return [row[0] for row in cur.fetchall()]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.app.close()
        self.worker.stop()


@pytest.fixture
def running(tmp_path, pg, es, catalog, bin_dir):
    with Running(tmp_path, pg, es, catalog, bin_dir) as r:
        yield r


def test_equal_after_load(running):
    status, lines, err = running.verify()
    assert status == 0, err
    head = summary(lines)
    assert head["result"] == "equal"
    assert head["in_index"] == head["in_postgres"] == "999"
    assert head["missing"] == head["extra"] == head["different"] == "0"


def test_drift_reported_by_id_and_repaired(running):
    es, index = running.es, running.index
    edited, deleted = running.film_ids(2)
    doc = es.get(f"/{index}/_doc/{edited}").json()["_source"]
    doc["title"] = "Edited behind the ETL's back"
    es.put(f"/{index}/_doc/{edited}", json=doc).raise_for_status()
    es.delete(f"/{index}/_doc/{deleted}").raise_for_status()
    extra = "00000000-0000-4000-8000-00000000e0e0"
    es.put(f"/{index}/_doc/{extra}", json={"id": extra, "title": "Not in PostgreSQL"}).raise_for_status()

    status, lines, err = running.verify()
    assert status == EXIT_DIFFERS, err
    head = summary(lines)
    assert head["result"] == "differs"
    assert (head["missing"], head["extra"], head["different"]) == ("1", "1", "1")
    assert kinds(lines) == {"missing": [deleted], "extra": [extra], "different": [edited]}

    status, lines, err = running.verify("--repair")
    assert status == 0, err
    repaired = next(line for line in lines if "repair" in line)
    assert (repaired["repair"], repaired["indexed"], repaired["deleted"]) == ("done", "2", "1")

    status, lines, err = running.verify()
    assert status == 0, err
    assert summary(lines)["result"] == "equal"
    assert es.get(f"/{index}/_doc/{edited}").json()["_source"]["title"] != doc["title"]


def test_no_false_report_while_changes_stream(running):
    ids = running.film_ids(999)
    stop = threading.Event()
    changed = []

    def stream():
        rng = random.Random(7)
        with running.app.cursor() as cur:
            while not stop.is_set():
                fid = rng.choice(ids)
                cur.execute("UPDATE content.film_work SET title = title || '+', modified = now()"
                            " WHERE id = %s", (fid,))
                changed.append(fid)
                time.sleep(0.1)

    thread = threading.Thread(target=stream)
    thread.start()
    try:
        time.sleep(0.5)
        status, lines, err = running.verify()
    finally:
        stop.set()
        thread.join()
    assert len(changed) >= 5
    assert status == 0, f"{lines}\n{err}"
    assert summary(lines)["result"] == "equal"


def supervisor(tmp_path, pg, es, catalog, bin_dir, overrides=None):
    """An etl-supervisor running the movies worker, and its config."""
    config, _ = make_config(tmp_path, pg, es, catalog, overrides=overrides)
    sup = EtlProcess([bin_dir / "etl-supervisor", "-c", config], tmp_path / "supervisor.err",
                     stdout_path=tmp_path / "supervisor.out")
    return sup, config


def supervisor_events(tmp_path, msg):
    lines = (tmp_path / "supervisor.out").read_text(errors="replace").splitlines()
    return [ev for ev in map(parse_logfmt, lines) if ev.get("msg") == msg]


def worker_pid(bin_dir, config):
    status, lines, _ = etlctl(bin_dir, config, "status", "movies")
    return lines[0].get("pid") if status == 0 and lines else None


def test_reindex_reaches_a_running_worker(tmp_path, pg, es, catalog, bin_dir):
    sup, config = supervisor(tmp_path, pg, es, catalog, bin_dir)
    try:
        wait_until(lambda: supervisor_events(tmp_path, "caught up"), timeout=120,
                   what="the first load")
        pid = worker_pid(bin_dir, config)
        status, _, err = etlctl(bin_dir, config, "reindex", "movies")
        assert status == 0, err
        wait_until(lambda: supervisor_events(tmp_path, "rebuild requested"), what="the log line")
        time.sleep(1)
        assert worker_pid(bin_dir, config) == pid, "SIGUSR1 killed the worker"
        assert not supervisor_events(tmp_path, "worker exited")

        status, _, err = etlctl(bin_dir, config, "reindex", "nosuch")
        assert status == EXIT_UNKNOWN_WORKER, err
        assert etlctl(bin_dir, config, "stop", "movies")[0] == 0
        status, _, err = etlctl(bin_dir, config, "reindex", "movies")
        assert status == EXIT_WORKER_STOPPED, err
        assert "not running" in err
    finally:
        sup.stop()


def test_repair_above_threshold_asks_for_a_rebuild(tmp_path, pg, es, catalog, bin_dir):
    sup, config = supervisor(tmp_path, pg, es, catalog, bin_dir,
                             overrides={("etl", "verify_rebuild_threshold"): "1"})
    try:
        wait_until(lambda: supervisor_events(tmp_path, "caught up"), timeout=120,
                   what="the first load")
        index = next(line.split("=", 1)[1].strip() for line in config.read_text().splitlines()
                     if line.startswith("index ="))
        es.refresh(index)
        hits = es.post(f"/{index}/_search", json={"size": 2, "_source": False}).json()["hits"]["hits"]
        assert len(hits) == 2
        for hit in hits:
            es.delete(f"/{index}/_doc/{hit['_id']}").raise_for_status()
        status, lines, err = etlctl(bin_dir, config, "verify", "movies", "--repair")
        assert status == EXIT_DIFFERS, err
        assert summary(lines)["missing"] == "2"
        asked = next(line for line in lines if "repair" in line)
        assert (asked["repair"], asked["differing"], asked["threshold"]) == ("rebuild", "2", "1")
        wait_until(lambda: supervisor_events(tmp_path, "rebuild requested"), what="the request")
    finally:
        sup.stop()


@pytest.mark.skipif(GROWN_FILMS == 0, reason="set ETL_VERIFY_FILMS=20000 to time verify")
def test_verify_duration_on_a_grown_catalogue(tmp_path, pg, es, catalog, bin_dir):
    conn = pg.connect("postgres", catalog)
    with conn.cursor() as cur:
        cur.execute(GROW_SQL % {"films": GROWN_FILMS})
    conn.close()
    with Running(tmp_path, pg, es, catalog, bin_dir) as r:
        started = time.monotonic()
        status, lines, err = r.verify()
        took = time.monotonic() - started
        assert status == 0, err
        head = summary(lines)
        print(f"\nverify of {head['in_index']} films: {took:.1f} s ({head['elapsed_ms']} ms inside)")
        assert int(head["in_index"]) >= GROWN_FILMS


def test_verify_names_a_trigger_that_does_not_fire_always(running, pg, catalog):
    """A catalogue trigger disabled (or enabled for origin sessions only)
    would lose changes: verify refuses to vouch for the index and names it."""
    admin = pg.connect("postgres", catalog)
    try:
        with admin.cursor() as cur:
            cur.execute("ALTER TABLE content.genre_film_work DISABLE TRIGGER genre_film_work_log")
        status, lines, err = running.verify()
    finally:
        with admin.cursor() as cur:
            cur.execute("ALTER TABLE content.genre_film_work ENABLE ALWAYS TRIGGER genre_film_work_log")
        admin.close()
    assert status == EXIT_CONFIG, (status, lines, err)
    assert "genre_film_work_log" in err + "".join(str(line) for line in lines)
