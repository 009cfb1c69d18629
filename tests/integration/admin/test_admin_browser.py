"""In a real browser, as an editor uses the panel: headless Debian Chromium, driven by
playwright-core (tests/browser/edit_film.mjs), logs in to the admin panel
behind nginx, changes a film's title and saves it.  Then PostgreSQL holds the
new title with a newer `modified`, and the movies worker, running all along,
makes the new title searchable in its index within a few seconds.  A
screenshot of the saved page (and of the search that finds the film again) is
kept in tests/artifacts/ (not committed).
"""

import json
import os
import pathlib
import secrets
import subprocess

import pytest

from admin_helpers import REPO_ROOT

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
SEARCHABLE_WITHIN = 5.0  # seconds, from the save to a hit in the index


@pytest.fixture(scope="session")
def playwright_installed():
    """Installs tests/browser's locked npm packages (npm ci) unless they are
    there already; returns the directory."""
    lock = BROWSER_DIR / "package-lock.json"
    installed = BROWSER_DIR / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BROWSER_DIR, check=True, timeout=600, stdin=subprocess.DEVNULL,
        )
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()
    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is missing (compose/native/install-deps.sh)"
    return BROWSER_DIR


def edit_in_browser(stack, film_id, new_title, screenshot):
    """Runs edit_film.mjs against the panel; returns its JSON result."""
    env = dict(
        os.environ,
        ADMIN_URL=stack.url,
        ADMIN_USERNAME=stack.username,
        ADMIN_PASSWORD=stack.password,
        FILM_ID=str(film_id),
        NEW_TITLE=new_title,
        SCREENSHOT=str(screenshot),
        CHROMIUM=CHROMIUM,
    )
    proc = subprocess.run(
        ["node", str(BROWSER_DIR / "edit_film.mjs")],
        cwd=BROWSER_DIR, env=env, capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL,
    )
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines, f"edit_film.mjs printed no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], f"{result}\n{proc.stderr}"
    return result


def start_movies_worker(tmp_path, pg, es, dbname):
    """Starts bin/etl-worker --index movies on dbname and waits for its full
    load; returns (worker, index name)."""
    from etlproc import make_config, run_worker, wait_until  # the lead's harness

    bin_dir = pathlib.Path(os.environ.get("ETL_BIN_DIR") or REPO_ROOT / "bin")
    config, names = make_config(tmp_path, pg, es, dbname)
    index = names["movies"]
    with pg.connect("etl", dbname) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM content.film_work")
        (films,) = cur.fetchone()
    conn.close()
    worker = run_worker(bin_dir, config)

    def loaded():
        """True once the index holds every film work."""
        resp = es.get(f"/{index}/_count")
        return resp.status_code == 200 and resp.json()["count"] == films

    try:
        wait_until(lambda: worker.proc.poll() is None and loaded(), timeout=120,
                   what="the movies worker's full load")
    except BaseException:
        worker.stop()
        raise
    return worker, index


def search_title(es, index, title):
    """Ids of the documents whose title is exactly title (title.raw)."""
    es.post(f"/{index}/_refresh")
    resp = es.post(f"/{index}/_search", json={"query": {"term": {"title.raw": title}}})
    resp.raise_for_status()
    return [hit["_id"] for hit in resp.json()["hits"]["hits"]]


def test_edit_film_title_in_browser_reaches_the_index(
    admin_stack, playwright_installed, pg, es, tmp_path
):
    from etlproc import wait_until

    conn = pg.connect("etl", admin_stack.dbname)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, title, modified FROM content.film_work"
            " WHERE title LIKE 'Star Trek%%' ORDER BY title, id LIMIT 1"
        )
        film_id, old_title, old_modified = cur.fetchone()

    worker, index = start_movies_worker(tmp_path, pg, es, admin_stack.dbname)
    try:
        assert search_title(es, index, old_title).count(str(film_id)) == 1
        new_title = f"Звёздный путь — правка из браузера {secrets.token_hex(4)}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / "admin-film-saved.png"
        screenshot.unlink(missing_ok=True)

        result = edit_in_browser(admin_stack, film_id, new_title, screenshot)

        # What the person saw: Russian pages, the saved title in the list.
        assert result["lang"] == "ru"
        assert result["oldTitle"] == old_title
        assert new_title in result["message"]  # "... был успешно изменён."
        assert result["listed"]
        assert result["savedUrl"].endswith("/admin/movies/filmwork/")
        assert screenshot.stat().st_size > 10_000
        assert screenshot.with_name("admin-film-saved-search.png").stat().st_size > 10_000

        # What PostgreSQL holds: the new title, stamped by the trigger.
        with conn.cursor() as cur:
            cur.execute(
                "SELECT title, modified, now() - modified FROM content.film_work WHERE id = %s",
                (film_id,),
            )
            title, modified, age = cur.fetchone()
        assert title == new_title
        assert modified > old_modified
        assert age.total_seconds() < 120

        # What the index says: the new title is found, the old one is gone.
        hits = wait_until(lambda: search_title(es, index, new_title), timeout=SEARCHABLE_WITHIN,
                          interval=0.1, what="the new title in the movies index")
        assert hits == [str(film_id)]
        assert str(film_id) not in search_title(es, index, old_title)
        resp = es.post(f"/{index}/_search", json={"query": {"match": {"title": "правка браузера"}}})
        assert str(film_id) in [h["_id"] for h in resp.json()["hits"]["hits"]]
    finally:
        worker.stop()
        conn.close()
