"""The unit tests and a full load of the sample catalogue under valgrind's
memcheck (make test-valgrind): zero errors and zero definite leaks.

Each unit test binary (build/tests/test_NAME, the normal build) runs under
memcheck; then the movies worker (bin/etl-worker, the normal build) loads
the sample catalogue into an empty index on a real PostgreSQL and search
node, syncs one change, and stops on SIGTERM.  Memcheck's verdict is read
twice: its exit code (--error-exitcode, definite leaks counted as errors)
and the ERROR SUMMARY of every process's log, which the failure shows.
"""
import os
import pathlib
import re
import subprocess

import pytest

from etlproc import REPO_ROOT, EtlProcess, all_documents, make_config, wait_caught_up, wait_until
from expected_docs import assert_index_matches

# Set apart from any exit status the programs use (78, 75, ...).
ERROR_EXIT = 99
# Memcheck runs the worker 20 to 50 times slower: bounds for the waits.
LOAD_TIMEOUT_S = 900
STOP_TIMEOUT_S = 300
UNIT_TIMEOUT_S = 900

UNIT_DIR = pathlib.Path(os.environ.get("ETL_UNIT_DIR") or REPO_ROOT / "build" / "tests")
UNIT_NAMES = sorted(p.stem for p in (REPO_ROOT / "tests" / "unit").glob("test_*.c"))
SUMMARY_RE = re.compile(r"ERROR SUMMARY: (\d+) errors")


def memcheck(log_dir, name):
    """The valgrind command line; each process logs to log_dir/name.PID.log."""
    return ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
            f"--error-exitcode={ERROR_EXIT}", "--num-callers=40",
            f"--log-file={log_dir}/{name}.%p.log"]


def assert_clean(log_dir, name, returncode):
    """Every memcheck log of name says 0 errors (leaks included), and the
    exit code is not memcheck's; else fails with the logs."""
    logs = sorted(pathlib.Path(log_dir).glob(f"{name}.*.log"))
    assert logs, f"{name}: memcheck wrote no log in {log_dir}"
    reports = []
    for log in logs:
        text = log.read_text(errors="replace")
        summary = SUMMARY_RE.findall(text)
        if not summary or int(summary[-1]) != 0:
            reports.append(f"--- {log}\n{text[-20000:]}")
    assert not reports and returncode != ERROR_EXIT, (
        f"{name}: memcheck found errors or definite leaks (exit {returncode}):\n"
        + "\n".join(reports))


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_unit_under_memcheck(name, tmp_path):
    binary = UNIT_DIR / name
    assert binary.is_file(), f"{binary} is missing: make test-valgrind builds it"
    proc = subprocess.run(memcheck(tmp_path, name) + [str(binary)], cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=UNIT_TIMEOUT_S)
    assert proc.returncode in (0, ERROR_EXIT), f"{name} failed ({proc.returncode}):\n{proc.stdout[-8000:]}"
    assert_clean(tmp_path, name, proc.returncode)


def start_under_memcheck(tmp_path, bin_dir, config, index):
    """etl-worker --index index under memcheck, its logs in tmp_path/memcheck."""
    logs = tmp_path / "memcheck"
    logs.mkdir()
    argv = memcheck(logs, "etl-worker") + [bin_dir / "etl-worker", "--index", index, "-c", config]
    return EtlProcess(argv, tmp_path / f"worker-{index}.log"), logs


def assert_worker_clean(worker, logs, returncode):
    """The worker stopped cleanly and memcheck found nothing."""
    assert returncode in (0, ERROR_EXIT), f"worker exited {returncode}:\n{worker.text()[-4000:]}"
    assert_clean(logs, "etl-worker", returncode)


def test_movies_under_memcheck(tmp_path, pg, es, catalog, bin_dir):
    """The full load of the sample into movies, then a film's title and a
    genre's name changed (the fan-out through a second source)."""
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    worker, logs = start_under_memcheck(tmp_path, bin_dir, config, "movies")
    app = pg.connect("app", catalog)
    try:
        wait_caught_up(worker, timeout=LOAD_TIMEOUT_S, what="the full load under memcheck")
        assert_index_matches(app, "movies", es, index)
        with app.cursor() as cur:
            cur.execute("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
            fid = cur.fetchone()[0]
            cur.execute("UPDATE content.film_work SET title = 'memcheck' WHERE id = %s", (fid,))
            cur.execute("SELECT g.id::text, count(DISTINCT gf.film_work_id) FROM content.genre g"
                        " JOIN content.genre_film_work gf ON gf.genre_id = g.id"
                        " GROUP BY g.id ORDER BY 2 DESC LIMIT 1")
            gid, films = cur.fetchone()
            cur.execute("UPDATE content.genre SET name = 'Memcheck' WHERE id = %s", (gid,))
        assert films > 1

        def synced():
            docs = all_documents(es, index)
            renamed = [d for d in docs.values() if "Memcheck" in (d.get("genres") or [])]
            return docs[fid]["title"] == "memcheck" and len(renamed) == films
        wait_until(synced, timeout=LOAD_TIMEOUT_S, what="the changes under memcheck")
        assert_index_matches(app, "movies", es, index)
        returncode = worker.stop(timeout=STOP_TIMEOUT_S)
    finally:
        app.close()
        worker.close()
    assert_worker_clean(worker, logs, returncode)


@pytest.mark.parametrize("name", ["genres", "persons"])
def test_full_load_under_memcheck(name, tmp_path, pg, es, catalog, bin_dir):
    """The full load of the sample into the other two indices."""
    config, names = make_config(tmp_path, pg, es, catalog, indices=[name])
    worker, logs = start_under_memcheck(tmp_path, bin_dir, config, name)
    app = pg.connect("app", catalog)
    try:
        wait_caught_up(worker, timeout=LOAD_TIMEOUT_S, what="the full load under memcheck")
        assert_index_matches(app, name, es, names[name])
        returncode = worker.stop(timeout=STOP_TIMEOUT_S)
    finally:
        app.close()
        worker.close()
    assert_worker_clean(worker, logs, returncode)
