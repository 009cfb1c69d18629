"""Database roles, by running the statements and asserting the errors:
the admin panel's role `app` reads and writes rows but creates, alters and
drops nothing and stays out of schemas it has no business in; the ETL's role
`etl` writes nothing at all.

Runs against the panel's database (admin_db: the catalogue plus Django's
tables, migrated by catalog_owner).  Every statement runs in a transaction
that is rolled back.
"""

import uuid

import psycopg2
import psycopg2.errors
import pytest

from etlproc import transaction

CONTENT_TABLES = ["film_work", "genre", "person", "genre_film_work", "person_film_work", "change_log"]


def run(pg, role, dbname, statement, params=None):
    """Runs one statement as role in a transaction that is rolled back; returns rows."""
    with transaction(pg, role, dbname, commit=False) as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else cur.rowcount


def refused(pg, role, dbname, statement):
    """Asserts that role may not run statement: PostgreSQL answers 42501 (insufficient privilege)."""
    with pytest.raises(psycopg2.errors.InsufficientPrivilege) as info:
        run(pg, role, dbname, statement)
    return str(info.value)


@pytest.fixture(scope="module")
def private_schema(pg, admin_db):
    """A schema the panel has no business in (made by the superuser, as another
    application's would be)."""
    conn = pg.connect("postgres", admin_db)
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA billing AUTHORIZATION catalog_owner")
        cur.execute("CREATE TABLE billing.invoice (id int PRIMARY KEY, amount numeric)")
        cur.execute("ALTER TABLE billing.invoice OWNER TO catalog_owner")
    try:
        yield "billing"
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP SCHEMA billing CASCADE")
        conn.close()


# --- app --------------------------------------------------------------------


def test_app_reads_and_writes_content_rows(pg, admin_db, admin_stack):
    with transaction(pg, "app", admin_db, commit=False) as cur:
        for table in CONTENT_TABLES[:5]:
            cur.execute(f"SELECT count(*) FROM content.{table}")
            assert cur.fetchone()[0] > 0
        film, genre, person = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        cur.execute(
            "INSERT INTO content.film_work (id, title, type) VALUES (%s, 'Role test', 'movie')",
            (str(film),),
        )
        cur.execute("INSERT INTO content.genre (id, name) VALUES (%s, 'Role genre')", (str(genre),))
        cur.execute("INSERT INTO content.person (id, full_name) VALUES (%s, 'Role P.')", (str(person),))
        cur.execute(
            "INSERT INTO content.genre_film_work (id, genre_id, film_work_id) VALUES (%s, %s, %s)",
            (str(uuid.uuid4()), str(genre), str(film)),
        )
        cur.execute(
            "INSERT INTO content.person_film_work (id, person_id, film_work_id, role)"
            " VALUES (%s, %s, %s, 'actor')",
            (str(uuid.uuid4()), str(person), str(film)),
        )
        cur.execute("UPDATE content.film_work SET title = 'Role test 2' WHERE id = %s", (str(film),))
        assert cur.rowcount == 1
        cur.execute("UPDATE content.person SET full_name = 'Role Q.' WHERE id = %s", (str(person),))
        cur.execute("DELETE FROM content.genre_film_work WHERE film_work_id = %s", (str(film),))
        cur.execute("DELETE FROM content.film_work WHERE id = %s", (str(film),))
        assert cur.rowcount == 1
        cur.execute("DELETE FROM content.genre WHERE id = %s", (str(genre),))
        cur.execute("DELETE FROM content.person WHERE id = %s", (str(person),))
        # the triggers (run with the writer's rights) logged what the ETL needs
        cur.execute("SELECT count(*) FROM content.change_log WHERE film_work_id = %s", (str(film),))
        assert cur.fetchone()[0] >= 3


def test_app_reads_and_writes_its_own_tables(pg, admin_db, admin_stack):
    with transaction(pg, "app", admin_db, commit=False) as cur:
        cur.execute(
            "INSERT INTO admin.django_session (session_key, session_data, expire_date)"
            " VALUES ('roletest', 'x', now() + interval '1 day')"
        )
        cur.execute("UPDATE admin.django_session SET session_data = 'y' WHERE session_key = 'roletest'")
        cur.execute("SELECT session_data FROM admin.django_session WHERE session_key = 'roletest'")
        assert cur.fetchone() == ("y",)
        cur.execute("DELETE FROM admin.django_session WHERE session_key = 'roletest'")
        assert cur.rowcount == 1
        # identity columns: app inserts rows with generated ids
        cur.execute(
            "INSERT INTO admin.auth_group (name) VALUES ('role test') RETURNING id"
        )
        assert cur.fetchone()[0] > 0


APP_REFUSED = [
    "CREATE TABLE content.x (id int)",
    "CREATE TABLE admin.x (id int)",
    "CREATE TABLE public.x (id int)",
    "CREATE TABLE x (id int)",
    "CREATE TEMP TABLE x (id int)",
    "CREATE SCHEMA x",
    "CREATE VIEW content.v AS SELECT 1",
    "CREATE INDEX ON content.film_work (title)",
    "CREATE SEQUENCE admin.s",
    "CREATE FUNCTION content.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "ALTER TABLE content.film_work ADD COLUMN x int",
    "ALTER TABLE content.film_work DISABLE TRIGGER film_work_set_modified",
    "ALTER TABLE content.person RENAME TO people",
    "ALTER TABLE admin.auth_user ADD COLUMN x int",
    "ALTER SCHEMA content RENAME TO x",
    "DROP TABLE content.genre",
    "DROP TABLE admin.django_session",
    "DROP SCHEMA content CASCADE",
    "DROP SCHEMA admin CASCADE",
    "DROP FUNCTION content.set_modified() CASCADE",
    "TRUNCATE content.film_work CASCADE",
    "TRUNCATE admin.django_session",
    "COMMENT ON TABLE content.film_work IS 'x'",
    "CREATE TRIGGER t BEFORE UPDATE ON content.film_work"
    " FOR EACH ROW EXECUTE FUNCTION content.set_modified()",
    "ALTER ROLE etl PASSWORD 'x'",
    "CREATE ROLE intruder",
    "SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())",
    "SELECT * FROM pg_authid",
]


@pytest.mark.parametrize("sql", APP_REFUSED)
def test_app_creates_alters_and_drops_nothing(pg, admin_db, admin_stack, sql):
    refused(pg, "app", admin_db, sql)


def test_app_stays_out_of_other_schemas(pg, admin_db, private_schema):
    message = refused(pg, "app", admin_db, f"SELECT * FROM {private_schema}.invoice")
    assert f"permission denied for schema {private_schema}" in message
    refused(pg, "app", admin_db, f"INSERT INTO {private_schema}.invoice VALUES (1, 1)")
    refused(pg, "app", admin_db, f"CREATE TABLE {private_schema}.x (id int)")
    refused(pg, "etl", admin_db, f"SELECT * FROM {private_schema}.invoice")


def test_app_cannot_connect_to_other_databases(pg, admin_stack):
    conn = pg.connect("postgres", "postgres")
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE role_test_other")
        cur.execute("REVOKE CONNECT ON DATABASE role_test_other FROM PUBLIC")
    try:
        for role in ("app", "etl"):
            with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
                pg.connect(role, "role_test_other").close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE role_test_other")
        conn.close()


# --- etl --------------------------------------------------------------------


def test_etl_reads_content_and_its_functions(pg, admin_db):
    for table in CONTENT_TABLES:
        run(pg, "etl", admin_db, f"SELECT count(*) FROM content.{table}")
    ((reason,),) = run(pg, "etl", admin_db, "SELECT content.etl_preflight()")
    assert reason is None
    run(pg, "etl", admin_db, "SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())")


ETL_WRITES = (
    [f"INSERT INTO content.{t} DEFAULT VALUES" for t in CONTENT_TABLES]
    + [f"UPDATE content.{t} SET id = id" for t in CONTENT_TABLES]
    + [f"DELETE FROM content.{t}" for t in CONTENT_TABLES]
    + [f"TRUNCATE content.{t} CASCADE" for t in CONTENT_TABLES]
    + [
        "INSERT INTO content.film_work (id, title, type) VALUES (gen_random_uuid(), 'x', 'movie')",
        "UPDATE content.film_work SET title = title || '!' WHERE true",
        "SELECT * FROM content.film_work FOR UPDATE",
        "COPY content.genre (id, name) FROM PROGRAM 'true'",
        "CREATE TABLE content.x (id int)",
        "CREATE TEMP TABLE x (id int)",
        "ALTER TABLE content.film_work ADD COLUMN x int",
        "DROP TABLE content.change_log",
        "DELETE FROM content.change_log WHERE true",
        "SELECT count(*) FROM admin.auth_user",
        "INSERT INTO admin.django_session VALUES ('x', 'x', now())",
    ]
)


@pytest.mark.parametrize("sql", ETL_WRITES)
def test_etl_is_refused_any_write(pg, admin_db, admin_stack, sql):
    refused(pg, "etl", admin_db, sql)
