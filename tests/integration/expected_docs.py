"""The documents every index should hold, computed in
Python from the raw tables -- independently of etc/sql/*/documents.sql -- so
the tests compare the workers' output with a second implementation.

expected_documents(conn, name) gives {id: document} for the index ``name``
(movies, genres, persons); normalized(name, docs) puts indexed documents in
the same form (the lists whose order carries no meaning, sorted), and
assert_documents_match(conn, name, docs) compares the two."""
import uuid

from etlproc import all_documents, sql

ROLES = {"director": "directors", "actor": "actors", "writer": "writers"}


def expected_movies(conn, ids=None):
    """{film id: document} for every film work (or only ids)."""
    films = sql(conn, "SELECT id::text, title, description, rating FROM content.film_work")
    genres = {}
    for film, name in sql(conn, "SELECT gfw.film_work_id::text, g.name FROM content.genre_film_work gfw"
                                  " JOIN content.genre g ON g.id = gfw.genre_id"):
        genres.setdefault(film, set()).add(name)
    people = {}
    for film, role, pid, name in sql(conn, "SELECT pfw.film_work_id::text, pfw.role, p.id::text, p.full_name"
                                             " FROM content.person_film_work pfw"
                                             " JOIN content.person p ON p.id = pfw.person_id"):
        people.setdefault(film, {}).setdefault(role, []).append({"id": pid, "name": name})
    docs = {}
    for fid, title, description, rating in films:
        if ids is not None and fid not in ids:
            continue
        doc = {
            "id": fid,
            "imdb_rating": rating,
            "genres": sorted(genres.get(fid, ())),
            "title": title,
            "description": description,
        }
        for role, field in ROLES.items():
            persons = people.get(fid, {}).get(role, [])
            doc[field] = persons
            doc[f"{field}_names"] = [p["name"] for p in persons]
        docs[fid] = normalize_movie(doc)
    return docs


def expected_genres(conn):
    """{genre id: document} for every genre."""
    return {i: {"id": i, "name": n, "description": d}
            for i, n, d in sql(conn, "SELECT id::text, name, description FROM content.genre")}


def expected_persons(conn):
    """{person id: document} for every person: each film once, with all the
    person's roles in it."""
    people = {i: {"id": i, "full_name": n, "films": {}}
              for i, n in sql(conn, "SELECT id::text, full_name FROM content.person")}
    for pid, fid, role in sql(conn, "SELECT person_id::text, film_work_id::text, role"
                                      " FROM content.person_film_work"):
        people[pid]["films"].setdefault(fid, []).append(role)
    return {pid: normalize_person({**p, "films": [{"id": f, "roles": r} for f, r in p["films"].items()]})
            for pid, p in people.items()}


def normalize_movie(doc):
    """Sorts the lists whose order carries no meaning."""
    doc = dict(doc)
    if doc.get("genres") is not None:
        doc["genres"] = sorted(doc["genres"])
    for field in ROLES.values():
        if isinstance(doc.get(field), list):
            doc[field] = sorted(doc[field], key=lambda p: (p["name"], p["id"]))
        if isinstance(doc.get(f"{field}_names"), list):
            doc[f"{field}_names"] = sorted(doc[f"{field}_names"])
    return doc


def normalize_person(doc):
    """Films by id, each one's roles sorted."""
    films = sorted(({"id": f["id"], "roles": sorted(f["roles"])} for f in doc["films"]),
                   key=lambda f: f["id"])
    return {**doc, "films": films}


_EXPECTED = {"movies": expected_movies, "genres": expected_genres, "persons": expected_persons}
_NORMALIZE = {"movies": normalize_movie, "genres": dict, "persons": normalize_person}


def expected_documents(conn, name):
    """{id: document} that the index ``name`` must hold."""
    return _EXPECTED[name](conn)


def normalized(name, docs):
    """Indexed documents ({id: _source}) of the index ``name`` in the form
    expected_documents gives."""
    return {k: _NORMALIZE[name](v) for k, v in docs.items()}


def assert_documents_match(conn, name, docs):
    """The indexed documents ({id: _source}) are exactly what the catalogue
    says the index ``name`` holds."""
    expected = expected_documents(conn, name)
    got = normalized(name, docs)
    missing, extra = set(expected) - set(got), set(got) - set(expected)
    assert not missing and not extra, f"{name}: ids differ: missing {sorted(missing)}, extra {sorted(extra)}"
    for key, doc in expected.items():
        assert got[key] == doc, f"{name} {key}"


def assert_index_matches(conn, name, es, index):
    """The search index ``index`` holds exactly the documents the catalogue
    says the index ``name`` holds."""
    assert_documents_match(conn, name, all_documents(es, index))


def new_id():
    return str(uuid.uuid4())
