"""The movies documents as the issue defines them, computed in Python from
the raw tables -- independently of etc/sql/movies/documents.sql -- so the
tests compare the worker's output with a second implementation."""
import uuid

ROLES = {"director": "directors", "actor": "actors", "writer": "writers"}


def expected_movies(conn, ids=None):
    """{film id: document} for every film work (or only ids)."""
    with conn.cursor() as cur:
        cur.execute("SELECT id::text, title, description, rating FROM content.film_work")
        films = {row[0]: row for row in cur.fetchall()}
        cur.execute("SELECT gfw.film_work_id::text, g.name FROM content.genre_film_work gfw"
                    " JOIN content.genre g ON g.id = gfw.genre_id")
        genres = {}
        for film, name in cur.fetchall():
            genres.setdefault(film, set()).add(name)
        cur.execute("SELECT pfw.film_work_id::text, pfw.role, p.id::text, p.full_name"
                    " FROM content.person_film_work pfw JOIN content.person p ON p.id = pfw.person_id")
        people = {}
        for film, role, pid, name in cur.fetchall():
            people.setdefault(film, {}).setdefault(role, []).append({"id": pid, "name": name})
    docs = {}
    for fid, (_, title, description, rating) in films.items():
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
        docs[fid] = normalize(doc)
    return docs


def normalize(doc):
    """Sorts the lists whose order the issue leaves open."""
    doc = dict(doc)
    if doc.get("genres") is not None:
        doc["genres"] = sorted(doc["genres"])
    for field in ROLES.values():
        if isinstance(doc.get(field), list):
            doc[field] = sorted(doc[field], key=lambda p: (p["name"], p["id"]))
        if isinstance(doc.get(f"{field}_names"), list):
            doc[f"{field}_names"] = sorted(doc[f"{field}_names"])
    return doc


def new_id():
    return str(uuid.uuid4())
