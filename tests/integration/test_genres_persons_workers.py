"""The genres and persons workers: the same generic etl-worker as movies,
with other SQL and mappings.  Full loads compared with documents computed
here from the raw tables; every kind of change re-sends exactly the
documents it affects, and nothing else."""
import pytest

from etlproc import (all_documents, document_versions, make_config, run_in_transaction, run_worker,
                     sql, wait_caught_up, wait_until)
from expected_docs import assert_documents_match, assert_index_matches, new_id, normalize_person, normalized


class IndexWorker:
    """A worker of one index that has finished its first load."""

    def __init__(self, tmp_path, pg, es, catalog, bin_dir, name):
        self.pg, self.es, self.catalog, self.name = pg, es, catalog, name
        config, names = make_config(tmp_path, pg, es, catalog, indices=[name])
        self.index = names[name]
        self.worker = run_worker(bin_dir, config, index=name)
        self.app = pg.connect("app", catalog)
        wait_caught_up(self.worker, timeout=120, what="the first load")

    def sql(self, statement, params=None):
        return sql(self.app, statement, params)

    def run(self, statements):
        """Runs statements in one transaction."""
        run_in_transaction(self.pg, self.catalog, statements)

    def change(self, statements, sentinel=None):
        """Runs statements in one transaction; returns the ids whose documents
        were re-sent (version changed, created or deleted) once the worker
        caught up again, and the batch lines it logged.

        A change that should touch no document of this index gives nothing
        to wait for: then pass sentinel, statements of a later transaction
        that do touch one.  Every round polls every source, so once the
        sentinel is synced the first change has been seen too; the sentinel's
        documents are left out of the result."""
        before = document_versions(self.es, self.index)
        n_events = len(self.worker.events())
        self.run(statements)
        sentinel_ids = set()
        if sentinel is not None:
            known = set(before)
            self.run(sentinel)

        def settled():
            new = self.worker.events()[n_events:]
            msgs = [e.get("msg") for e in new]
            return "batch" in msgs and msgs[-1] == "caught up"
        wait_until(settled, timeout=30, what="the change to be synced")
        after = document_versions(self.es, self.index)
        if sentinel is not None:
            sentinel_ids = set(after) - known
            assert sentinel_ids, "the sentinel created no document"
        batches = [e for e in self.worker.events()[n_events:] if e.get("msg") == "batch"]
        changed = {i for i in set(before) | set(after) if before.get(i) != after.get(i)}
        return changed - sentinel_ids, batches

    def assert_full_load(self, count):
        """The first load sent count documents, exactly the catalogue's;
        returns them as indexed."""
        docs = all_documents(self.es, self.index)
        assert len(docs) == count
        assert_documents_match(self.app, self.name, docs)
        assert sum(int(b["docs"]) for b in self.worker.events("batch")) == count
        return docs

    def assert_matches_catalogue(self):
        """The index holds exactly the documents the catalogue gives."""
        assert_index_matches(self.app, self.name, self.es, self.index)

    def close(self):
        self.app.close()
        self.worker.stop()


@pytest.fixture
def genres(tmp_path, pg, es, catalog, bin_dir):
    w = IndexWorker(tmp_path, pg, es, catalog, bin_dir, "genres")
    yield w
    w.close()


@pytest.fixture
def persons(tmp_path, pg, es, catalog, bin_dir):
    w = IndexWorker(tmp_path, pg, es, catalog, bin_dir, "persons")
    yield w
    w.close()


# --- genres ------------------------------------------------------------------

def test_genres_full_load(genres):
    genres.assert_full_load(26)


def test_genre_insert_update_delete_resend_only_that_genre(genres):
    gid = new_id()
    changed, _ = genres.change([("INSERT INTO content.genre (id, name, description) VALUES (%s, 'Нуар', 'Тёмное кино')", (gid,))])
    assert changed == {gid}
    assert all_documents(genres.es, genres.index)[gid] == {"id": gid, "name": "Нуар", "description": "Тёмное кино"}
    other = genres.sql("SELECT id::text FROM content.genre WHERE id <> %s ORDER BY id LIMIT 1", (gid,))[0][0]
    changed, _ = genres.change([("UPDATE content.genre SET name = 'Renamed' WHERE id = %s", (other,))])
    assert changed == {other}
    changed, batches = genres.change([("DELETE FROM content.genre WHERE id = %s", (other,))])
    assert changed == {other}
    assert sum(int(b["deleted"]) for b in batches) == 1
    genres.assert_matches_catalogue()


def test_link_and_film_changes_do_not_touch_genres(genres):
    fid, gid = genres.sql("SELECT film_work_id::text, genre_id::text FROM content.genre_film_work LIMIT 1")[0]
    changed, _ = genres.change([
        ("DELETE FROM content.genre_film_work WHERE film_work_id = %s AND genre_id = %s", (fid, gid)),
        ("UPDATE content.film_work SET title = 'x' WHERE id = %s", (fid,)),
        ("UPDATE content.person SET full_name = 'y' WHERE id = (SELECT id FROM content.person ORDER BY id LIMIT 1)", None)],
        sentinel=[("INSERT INTO content.genre (id, name) VALUES (%s, 'Sentinel')", (new_id(),))])
    assert changed == set()
    genres.assert_matches_catalogue()


# --- persons -------------------------------------------------------------------

def test_persons_full_load(persons):
    docs = persons.assert_full_load(4166)
    # Several roles in one film are one entry with several roles.
    assert any(len(f["roles"]) > 1 for d in normalized("persons", docs).values() for f in d["films"])


def test_person_rename_and_delete_resend_only_that_person(persons):
    pid = persons.sql("SELECT person_id::text FROM content.person_film_work GROUP BY person_id"
                      " ORDER BY count(*) DESC, person_id LIMIT 1")[0][0]
    changed, batches = persons.change([("UPDATE content.person SET full_name = 'Новое Имя' WHERE id = %s", (pid,))])
    assert changed == {pid}
    assert sum(int(b["docs"]) for b in batches) == 1
    changed, batches = persons.change([("DELETE FROM content.person WHERE id = %s", (pid,))])
    # The person's document goes; its cascaded link rows name only it.
    assert changed == {pid}
    assert pid not in all_documents(persons.es, persons.index)
    persons.assert_matches_catalogue()


def test_person_insert_and_link_changes(persons):
    pid = new_id()
    fid = persons.sql("SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    changed, _ = persons.change([("INSERT INTO content.person (id, full_name) VALUES (%s, 'New Person')", (pid,))])
    assert changed == {pid}
    assert all_documents(persons.es, persons.index)[pid]["films"] == []
    link1, link2 = new_id(), new_id()
    changed, _ = persons.change([
        ("INSERT INTO content.person_film_work (id, person_id, film_work_id, role) VALUES (%s, %s, %s, 'actor')", (link1, pid, fid)),
        ("INSERT INTO content.person_film_work (id, person_id, film_work_id, role) VALUES (%s, %s, %s, 'director')", (link2, pid, fid))])
    assert changed == {pid}
    doc = normalize_person(all_documents(persons.es, persons.index)[pid])
    assert doc["films"] == [{"id": fid, "roles": ["actor", "director"]}]
    changed, _ = persons.change([("DELETE FROM content.person_film_work WHERE id = %s", (link1,))])
    assert changed == {pid}
    assert normalize_person(all_documents(persons.es, persons.index)[pid])["films"] == [{"id": fid, "roles": ["director"]}]
    persons.assert_matches_catalogue()


def test_film_delete_resends_exactly_its_persons(persons):
    fid = persons.sql("SELECT film_work_id::text FROM content.person_film_work GROUP BY film_work_id"
                      " ORDER BY count(*) DESC, film_work_id LIMIT 1")[0][0]
    people = {r[0] for r in persons.sql("SELECT DISTINCT person_id::text FROM content.person_film_work"
                                         " WHERE film_work_id = %s", (fid,))}
    changed, _ = persons.change([("DELETE FROM content.film_work WHERE id = %s", (fid,))])
    assert changed == people
    docs = all_documents(persons.es, persons.index)
    assert all(fid not in [f["id"] for f in docs[p]["films"]] for p in people)
    persons.assert_matches_catalogue()


def test_film_and_genre_updates_do_not_touch_persons(persons):
    changed, _ = persons.change([
        ("UPDATE content.film_work SET title = 'x' WHERE id = (SELECT id FROM content.film_work ORDER BY id LIMIT 1)", None),
        ("UPDATE content.genre SET name = 'y' WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)", None),
        ("INSERT INTO content.genre_film_work (id, genre_id, film_work_id) SELECT %s, g.id, f.id"
         " FROM content.genre g, content.film_work f WHERE NOT EXISTS (SELECT FROM content.genre_film_work x"
         " WHERE x.genre_id = g.id AND x.film_work_id = f.id) LIMIT 1", (new_id(),))],
        sentinel=[("INSERT INTO content.person (id, full_name) VALUES (%s, 'Sentinel')", (new_id(),))])
    assert changed == set()
