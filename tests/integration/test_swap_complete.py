"""A rebuild moves the alias only once the new index has everything the
live one has, up to a snapshot at least as new; a client searching the
alias all along never misses a document.  Real worker, PostgreSQL and
search node.

- a rebuild while a reader sits idle in its transaction, 20 films changed
  and committed after it began, and a writer holds changes to 20 other
  films uncommitted: every search counts every film, the 20 committed
  changes stay found, the alias moves to an index that has them, and the
  writer's 20 are found within seconds of its commit;
- a rebuild while commits keep coming (every few milliseconds): the alias
  moves while they go on (a build need not wait for a round that reads
  nothing), and no search misses a film;
- a build that cannot catch up within build_max_catch_up_s (a fan-out of
  999 documents read ten at a time): it says why, goes on, and moves the
  alias only once it has them all (no search ever finds fewer)."""
import signal
import threading
import time

from etlproc import make_config, sql, start_worker, wait_caught_up, wait_until
from expected_docs import assert_index_matches

FILMS = 999
CHANGED = 20
# Words no sample title holds, one per kind of change.
COMMITTED_WORD = "zqcommitted"
HELD_WORD = "zqheld"
STREAM_WORD = "zqstream"
FANOUT_WORD = "zqfanout"
CHURN_WORD = "zqchurn"
# How soon a committed change must be searchable: a round, a refresh, and
# slack for a loaded machine.
SEARCHABLE_S = 10


class InThread:
    """A loop (_run, until stopping is set) in a thread of its own while
    in a with block."""

    def __init__(self):
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        return False


class AliasWatcher(InThread):
    """Counts the alias's documents, and those whose title (or field)
    holds each of words, every few milliseconds in a thread, until
    stopped; keeps every answer (time, count, {word: hits}) and every
    failed request."""

    def __init__(self, es, alias, words, field="title"):
        self.es, self.alias, self.words, self.field = es, alias, words, field
        self.polls, self.failures = [], []
        super().__init__()

    def _count(self, query):
        resp = self.es.post(f"/{self.alias}/_count", json={"query": query})
        if resp.status_code != 200:
            self.failures.append(f"{resp.status_code} {resp.text[:300]}")
            return None
        return resp.json()["count"]

    def _run(self):
        while not self.stopping.is_set():
            total = self._count({"match_all": {}})
            hits = {w: self._count({"match": {self.field: w}}) for w in self.words}
            if total is not None and None not in hits.values():
                self.polls.append((time.monotonic(), total, hits))
            time.sleep(0.02)

    def misses(self, expected):
        """The polls that counted other than expected documents."""
        return [(t, n) for t, n, _ in self.polls if n != expected]

    def hits(self, word, since=0.0):
        return [h[word] for t, _, h in self.polls if t >= since]


class CommitStream(InThread):
    """Commits statement(n) (its SQL and parameters) again and again, n =
    0, 1, ..., in a thread of its own on its own connection, pausing
    pause seconds between commits, until stopped; keeps each commit's
    time."""

    def __init__(self, pg, catalog, statement, pause):
        self.pg, self.catalog, self.statement, self.pause = pg, catalog, statement, pause
        self.commits = []
        super().__init__()

    def _run(self):
        conn = self.pg.connect("app", self.catalog)
        try:
            n = 0
            while not self.stopping.is_set():
                sql(conn, *self.statement(n))
                self.commits.append(time.monotonic())
                n += 1
                time.sleep(self.pause)
        finally:
            conn.close()


def loaded(tmp_path, pg, es, catalog, bin_dir, workers):
    """A movies worker whose first load is done and searchable (the index
    refreshes every second; nothing forces it here): (worker, alias)."""
    config, names = make_config(tmp_path, pg, es, catalog)
    alias = names["movies"]
    w = start_worker(workers, bin_dir, config)
    wait_caught_up(w, timeout=120, what="the first load")
    wait_until(lambda: es.post(f"/{alias}/_count").json().get("count") == FILMS, timeout=30,
               what="the first load searchable")
    return w, alias


def films(app, count, offset):
    """count film ids, in a fixed order, from offset on."""
    return [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id"
                                   " LIMIT %s OFFSET %s", (count, offset))]


def retitle(cur, ids, word):
    for n, fid in enumerate(ids):
        cur.execute("UPDATE content.film_work SET title = %s WHERE id = %s",
                    (f"Film {word} {n}", fid))


def equal_to_postgres(app, es, alias):
    """True once the movies index behind alias equals PostgreSQL."""
    try:
        assert_index_matches(app, "movies", es, alias)
    except AssertionError:
        return False
    return True


def events_since(w, n, msg):
    return [e for e in w.events()[n:] if e.get("msg") == msg]


def test_rebuild_beside_an_idle_reader_and_a_held_writer_misses_nothing(
        tmp_path, pg, es, catalog, bin_dir, app, workers):
    w, alias = loaded(tmp_path, pg, es, catalog, bin_dir, workers)
    committed, held = films(app, CHANGED, 0), films(app, CHANGED, 100)

    reader = pg.connect("app", catalog, autocommit=False)
    writer = pg.connect("app", catalog, autocommit=False)
    try:
        # A reader idle in its transaction, begun before everything below.
        sql(reader, "SELECT count(*) FROM content.film_work")
        # 20 films changed after it began, committed.
        with app.cursor() as cur:
            retitle(cur, committed, COMMITTED_WORD)
        # 20 others changed and held uncommitted.
        with writer.cursor() as cur:
            retitle(cur, held, HELD_WORD)

        with AliasWatcher(es, alias, [COMMITTED_WORD, HELD_WORD]) as watch:
            n = len(w.events())
            w.signal(signal.SIGUSR1)
            moved = w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"],
                               timeout=120, what="the alias to move")[0]
            moved_at = time.monotonic()
            # A second of searches on the new index.
            time.sleep(1)
            assert not watch.misses(FILMS), f"searches missed films: {watch.misses(FILMS)[:5]}"
            # The new index has the committed changes (its documents and
            # the changes read since its horizon), the alias on it.
            wait_until(lambda: watch.hits(COMMITTED_WORD, moved_at)[-1:] == [CHANGED],
                       timeout=SEARCHABLE_S, what="the committed changes in the new index")
            assert es.count(moved["concrete"]) == FILMS
            # Nothing of the writer yet; then its commit, found in seconds.
            assert max(watch.hits(HELD_WORD)) == 0
            writer.commit()
            committed_at = time.monotonic()
            wait_until(lambda: watch.hits(HELD_WORD, committed_at)[-1:] == [CHANGED],
                       timeout=SEARCHABLE_S, what="the writer's changes after its commit")
            reader.rollback()
        assert not watch.failures, watch.failures[:3]
        assert not watch.misses(FILMS), f"searches missed films: {watch.misses(FILMS)[:5]}"
        # Once found, the committed changes stayed found: no index without
        # them ever served.
        seen = watch.hits(COMMITTED_WORD)
        first = seen.index(CHANGED)
        assert all(h == CHANGED for h in seen[first:]), seen[first:]
        assert [e["reason"] for e in w.events("rebuild started")] == ["requested"]
        assert_index_matches(app, "movies", es, alias)
    finally:
        reader.close()
        writer.close()


def test_rebuild_swaps_while_commits_keep_coming(tmp_path, pg, es, catalog, bin_dir, app,
                                                  workers):
    w, alias = loaded(tmp_path, pg, es, catalog, bin_dir, workers)
    ids = films(app, 50, 200)

    def retitle_one(n):
        return ("UPDATE content.film_work SET title = %s WHERE id = %s",
                (f"Film {STREAM_WORD} {n}", ids[n % len(ids)]))

    with AliasWatcher(es, alias, [STREAM_WORD]) as watch:
        with CommitStream(pg, catalog, retitle_one, 0.005) as stream:
            wait_until(lambda: len(stream.commits) > 50, timeout=30,
                       what="the stream of commits")
            n = len(w.events())
            w.signal(signal.SIGUSR1)
            started = time.monotonic()
            # The build reads something every round; it still swaps.
            w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"],
                       timeout=90, what="the alias to move while commits go on")
            moved_at = time.monotonic()
            assert len([t for t in stream.commits if started <= t <= moved_at]) > 50
        wait_until(lambda: equal_to_postgres(app, es, alias), timeout=60,
                   what="the last commits in the index")
    assert not watch.failures, watch.failures[:3]
    assert not watch.misses(FILMS), f"searches missed films: {watch.misses(FILMS)[:5]}"
    assert not events_since(w, n, "build not caught up")


def test_a_film_changed_again_before_every_read_is_in_the_build_at_the_swap(
        tmp_path, pg, es, catalog, bin_dir, app, workers):
    # Ten documents a batch, and 50 films changed together, one transaction
    # after the other, with no pause: a window's later batches are read
    # after the films have changed again, so no window of the build reads
    # them (their txid is always newer than its end).  The live index has
    # an older version of each; the swap must not leave the build without.
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "batch_size"): "10"})
    alias = names["movies"]
    w = start_worker(workers, bin_dir, config)
    wait_caught_up(w, timeout=180, what="the first load")
    wait_until(lambda: es.post(f"/{alias}/_count").json().get("count") == FILMS, timeout=30,
               what="the first load searchable")
    ids = films(app, 50, 400)

    def retitle_all(n):
        return ("UPDATE content.film_work SET title = %s || ' ' || id WHERE id = ANY(%s::uuid[])",
                (f"Film {CHURN_WORD} {n}", ids))

    with AliasWatcher(es, alias, [CHURN_WORD]) as watch:
        with CommitStream(pg, catalog, retitle_all, 0) as churn:
            wait_until(lambda: len(churn.commits) > 20, timeout=30, what="the churn")
            n = len(w.events())
            w.signal(signal.SIGUSR1)
            w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"],
                       timeout=180, what="the alias to move while the films churn")
            # Searched for a while after the swap, the churn going on.
            moved_at = time.monotonic()
            wait_until(lambda: watch.polls and watch.polls[-1][0] > moved_at + 3, timeout=30,
                       what="searches after the swap")
        wait_until(lambda: equal_to_postgres(app, es, alias), timeout=60,
                   what="the last commits in the index")
    assert not watch.failures, watch.failures[:3]
    assert not watch.misses(FILMS), f"searches missed films: {watch.misses(FILMS)[:5]}"


def test_a_build_that_cannot_catch_up_says_why_and_waits(tmp_path, pg, es, catalog, bin_dir,
                                                          app, workers):
    # Ten documents a batch: a person added to every film after the
    # build's horizon is a fan-out of 999 documents (in two sources: the
    # person, and each link) that the build reads for many rounds, with
    # its window open all along.
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "batch_size"): "10",
                                           ("etl", "build_max_catch_up_s"): "1"})
    alias = names["movies"]
    w = start_worker(workers, bin_dir, config)
    wait_caught_up(w, timeout=180, what="the first load")
    wait_until(lambda: es.post(f"/{alias}/_count").json().get("count") == FILMS, timeout=30,
               what="the first load searchable")
    with AliasWatcher(es, alias, [FANOUT_WORD], field="actors_names") as watch:
        n = len(w.events())
        w.signal(signal.SIGUSR1)
        w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "full load started"],
                   timeout=60, what="the build's horizon")
        person = sql(app, "INSERT INTO content.person (id, full_name)"
                          " VALUES (gen_random_uuid(), %s) RETURNING id::text",
                     (f"Actor {FANOUT_WORD}",))[0][0]
        sql(app, "INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
                 " SELECT gen_random_uuid(), %s, f.id, 'actor' FROM content.film_work f",
            (person,))
        late = w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "build not caught up"],
                          timeout=120, what="the build to say why it waits")[0]
        assert late["reason"] == "a change source has more to read in the build's window", late
        assert late["source"] in ("person", "change_log"), late
        assert float(late["catching_up_s"]) >= 1
        # It keeps catching up; the alias moves only once it has it all.
        w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"],
                   timeout=300, what="the alias to move")
        events = w.events()[n:]
        said = next(i for i, e in enumerate(events) if e.get("msg") == "build not caught up")
        moved = next(i for i, e in enumerate(events) if e.get("msg") == "alias moved")
        assert said < moved
        wait_until(lambda: watch.hits(FANOUT_WORD)[-1:] == [FILMS], timeout=SEARCHABLE_S,
                   what="the person in every film")
    assert not watch.failures, watch.failures[:3]
    assert not watch.misses(FILMS), f"searches missed films: {watch.misses(FILMS)[:5]}"
    # Films with the new actor only ever grew: no index with fewer of them
    # than the live one served.
    seen = watch.hits(FANOUT_WORD)
    assert all(a <= b for a, b in zip(seen, seen[1:])), seen
    assert_index_matches(app, "movies", es, alias)
