"""The database side of "no change is ever lost" (etc/postgres/sql/20-etl.sql):

- content.etl_horizon(since) waits for every transaction that can still
  commit rows of this database: open ones of any backend, and prepared ones
  (two-phase commit), whose start time is unknowable; it ignores other
  databases.  content.etl_horizon_holder(since) says what holds it back, and
  content.etl_preflight() why it cannot be computed at all.
- app adds to content.change_log only through the triggers.
- change_log retention: content.etl_prune_change_log() deletes only what every
  named index has read (content.etl_report_position()), and any other deletion
  raises a watermark (content.etl_change_log_pruned()) that a worker can check.
- etc/postgres/init.sh never puts a password on a command line.

What cannot be tested here: a standby (etl_preflight() refuses one through
pg_is_in_recovery(); the throwaway cluster has no replica).
"""

import datetime
import os
import shutil
import subprocess
import time
import uuid

import psycopg2
import psycopg2.errors
import pytest

from etlproc import sql

SECOND = datetime.timedelta(seconds=1)


def one(conn, statement, params=None):
    rows = sql(conn, statement, params)
    assert len(rows) == 1, rows
    return rows[0]


def refused(conn, statement, params=None):
    """Asserts that PostgreSQL answers 42501 (insufficient privilege)."""
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        sql(conn, statement, params)


@pytest.fixture
def conns(pg, catalog):
    """Opens connections as roles to the catalogue; closes them all after."""
    opened = []

    def connect(role, dbname=None, autocommit=True):
        conn = pg.connect(role, dbname or catalog, autocommit=autocommit)
        opened.append(conn)
        return conn

    try:
        yield connect
    finally:
        for conn in opened:
            conn.close()


@pytest.fixture
def prepared(pg):
    """Prepares transactions; whatever is still prepared at the end is rolled
    back (a prepared transaction outlives its session and would keep its
    database from being dropped)."""
    made = []  # (dbname, gid)

    def prepare(conn, dbname, statements=()):
        gid = "etl-test-" + uuid.uuid4().hex[:12]
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT now(), txid_current()")
            started = cur.fetchone()[0]
            for statement, params in statements:
                cur.execute(statement, params)
            cur.execute("PREPARE TRANSACTION %s", (gid,))
        made.append((dbname, gid))
        return gid, started

    try:
        yield prepare
    finally:
        for dbname, gid in made:
            conn = pg.connect("postgres", dbname)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1 FROM pg_prepared_xacts WHERE gid = %s", (gid,))
                    if cur.fetchone():
                        cur.execute("ROLLBACK PREPARED %s", (gid,))
            finally:
                conn.close()


def horizon(etl, since=None):
    """content.etl_horizon(since) as text ('-infinity' stays readable)."""
    if since is None:
        return one(etl, "SELECT content.etl_horizon()::text")[0]
    return one(etl, "SELECT content.etl_horizon(%s)::text", (since,))[0]


def horizon_ts(etl, since=None):
    if since is None:
        return one(etl, "SELECT content.etl_horizon()")[0]
    return one(etl, "SELECT content.etl_horizon(%s)", (since,))[0]


# ---------------------------------------------------------------------------
# The horizon.


def test_prepared_transaction_holds_the_horizon(pg, catalog, conns, prepared):
    """After PREPARE TRANSACTION the writer leaves pg_stat_activity, but its
    rows (stamped with its start) appear only at COMMIT PREPARED: until then
    the horizon must not pass the caller's cursor."""
    writer = conns("app")
    etl = conns("etl")
    film = str(uuid.uuid4())
    gid, started = prepared(writer, catalog, [
        ("INSERT INTO content.film_work (id, title, type) VALUES (%s, 'Prepared', 'movie')",
         (film,)),
    ])
    time.sleep(0.1)
    # The worker's cursor: it cannot have passed the writer's start (the
    # writer held the horizon while it was open).
    since = started - SECOND
    held = horizon_ts(etl, since)
    assert held <= since
    # No cursor given: nothing at all may be read.
    assert horizon(etl) == "-infinity"
    committer = conns("postgres")
    sql(committer, "COMMIT PREPARED %s", (gid,))
    after = horizon_ts(etl, since)
    (modified,) = one(etl, "SELECT modified FROM content.film_work WHERE id = %s", (film,))
    assert modified == started
    # The row is now committed and inside the window the worker reads next.
    assert since < modified < after


def test_prepared_transaction_of_another_database_does_not_hold(pg, catalog, conns, prepared):
    other = conns("postgres", "postgres")
    prepared(other, "postgres")
    etl = conns("etl")
    since = one(etl, "SELECT now() - interval '1 hour'")[0]
    before = one(etl, "SELECT clock_timestamp()")[0]
    assert horizon_ts(etl, since) >= before
    assert horizon_ts(etl) >= before


def test_open_transaction_of_another_database_does_not_hold(pg, catalog, conns):
    other = conns("postgres", "postgres", autocommit=False)
    (started,) = one(other, "SELECT now()")  # opens a transaction there
    time.sleep(0.1)
    etl = conns("etl")
    assert horizon_ts(etl) > started
    other.rollback()


def test_open_transaction_of_this_database_holds(pg, catalog, conns):
    writer = conns("app", autocommit=False)
    (started,) = one(writer, "SELECT now()")
    time.sleep(0.1)
    etl = conns("etl")
    since = started - SECOND
    assert horizon_ts(etl) <= started
    assert horizon_ts(etl, since) <= started
    writer.rollback()
    assert horizon_ts(etl) > started


def test_horizon_holder(pg, catalog, conns, prepared):
    etl = conns("etl")
    assert sql(etl, "SELECT * FROM content.etl_horizon_holder()") == []

    # An open transaction: its pid and start, nothing of what it runs.
    writer = conns("app", autocommit=False)
    (started, pid) = one(writer, "SELECT now(), pg_backend_pid()")
    sql(writer, "SELECT 'secret text' FROM content.genre LIMIT 1")
    rows = sql(etl, "SELECT kind, detail, held_since FROM content.etl_horizon_holder()")
    assert rows == [("transaction", f"pid={pid}", started)]
    rows = sql(etl, "SELECT * FROM content.etl_horizon_holder(%s)", (started - SECOND,))
    assert rows == [("transaction", f"pid={pid}", started)]
    writer.rollback()
    assert sql(etl, "SELECT * FROM content.etl_horizon_holder()") == []

    # A prepared transaction: its gid and when it was prepared.
    gid, _ = prepared(conns("app"), catalog)
    ((kind, detail, held_since),) = sql(etl, "SELECT * FROM content.etl_horizon_holder()")
    assert (kind, detail) == ("prepared", f"gid={gid}")
    (prepared_at,) = one(conns("postgres"),
                         "SELECT prepared FROM pg_prepared_xacts WHERE gid = %s", (gid,))
    assert held_since == prepared_at
    # With a cursor too (the horizon stops at the cursor because of it).
    since = one(etl, "SELECT now() - interval '1 hour'")[0]
    assert sql(etl, "SELECT kind, detail FROM content.etl_horizon_holder(%s)", (since,)) == [
        ("prepared", f"gid={gid}")]


def test_preflight_passes_on_a_primary(pg, catalog, conns):
    etl = conns("etl")
    assert one(etl, "SELECT content.etl_preflight()") == (None,)


def test_preflight_refuses_track_activities_off(pg, catalog, conns):
    # The failure: with track_activities off a session's transaction is
    # invisible in pg_stat_activity, and the horizon runs past it.
    admin = conns("postgres")
    sql(admin, f'ALTER DATABASE "{catalog}" SET track_activities = off')
    writer = conns("app", autocommit=False)
    (started,) = one(writer, "SELECT now()")
    time.sleep(0.1)
    etl = conns("etl")
    assert horizon_ts(etl) > started  # unsafe: hence the preflight
    (reason,) = one(etl, "SELECT content.etl_preflight()")
    assert reason is not None and "track_activities" in reason
    writer.rollback()

    # Off for one role only (the etl session itself sees it on).
    sql(admin, f'ALTER DATABASE "{catalog}" RESET track_activities')
    sql(admin, f'ALTER ROLE app IN DATABASE "{catalog}" SET track_activities = off')
    try:
        etl2 = conns("etl")
        assert one(etl2, "SHOW track_activities") == ("on",)
        (reason,) = one(etl2, "SELECT content.etl_preflight()")
        assert reason is not None and "track_activities" in reason
    finally:
        sql(admin, f'ALTER ROLE app IN DATABASE "{catalog}" RESET track_activities')


def test_security_definer_functions_are_pinned(pg, catalog, conns):
    """Every SECURITY DEFINER function of content: owned by catalog_owner,
    search_path pinned, not executable by PUBLIC."""
    admin = conns("postgres")
    rows = sql(admin, """
        SELECT p.proname, pg_get_userbyid(p.proowner), p.proconfig,
               has_function_privilege('public', p.oid, 'EXECUTE') AND p.prorettype <> 'trigger'::regtype
          FROM pg_proc p
         WHERE p.pronamespace = 'content'::regnamespace AND p.prosecdef""")
    names = {r[0] for r in rows}
    assert {"etl_horizon", "etl_horizon_holder", "etl_preflight", "etl_report_position",
            "etl_prune_change_log", "etl_change_log_pruned", "log_entity_delete",
            "log_genre_link", "log_person_link"} <= names
    for name, owner, config, public in rows:
        assert owner == "catalog_owner", name
        assert config == ["search_path=pg_catalog, pg_temp"], name
        assert not public, name
    etl = conns("etl")
    for statement in ("SELECT content.etl_horizon()", "SELECT content.etl_horizon(now())",
                      "SELECT * FROM content.etl_horizon_holder()", "SELECT content.etl_preflight()",
                      "SELECT * FROM content.etl_change_log_pruned()"):
        sql(etl, statement)
    # Only one etl_horizon: the zero-argument one is gone.
    assert one(admin, "SELECT count(*) FROM pg_proc WHERE proname = 'etl_horizon'"
                      " AND pronamespace = 'content'::regnamespace") == (1,)


# ---------------------------------------------------------------------------
# change_log: written by the triggers only.


def test_app_cannot_write_change_log(pg, catalog, conns):
    app = conns("app")
    refused(app, "INSERT INTO content.change_log (table_name, operation) VALUES ('film_work', 'DELETE')")
    refused(app, "UPDATE content.change_log SET operation = 'x'")
    refused(app, "DELETE FROM content.change_log")
    refused(app, "TRUNCATE content.change_log")
    assert one(app, "SELECT count(*) FROM content.change_log") == (0,)  # it still reads


def test_app_writes_still_log_events(pg, catalog, conns):
    app = conns("app")
    (film,) = one(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
    sql(app, "DELETE FROM content.film_work WHERE id = %s", (film,))
    assert ("film_work", "DELETE") in sql(app,
        "SELECT table_name, operation FROM content.change_log WHERE film_work_id = %s", (film,))
    (genre,) = one(app, "SELECT id::text FROM content.genre ORDER BY id LIMIT 1")
    (other,) = one(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")
    sql(app, "INSERT INTO content.genre_film_work (id, genre_id, film_work_id)"
               " VALUES (gen_random_uuid(), %s, %s) ON CONFLICT DO NOTHING", (genre, other))
    (person,) = one(app, "SELECT id::text FROM content.person ORDER BY id LIMIT 1")
    sql(app, "DELETE FROM content.person WHERE id = %s", (person,))
    logged = {r[0] for r in sql(app, "SELECT table_name FROM content.change_log")}
    assert {"film_work", "genre_film_work", "person"} <= logged


# ---------------------------------------------------------------------------
# change_log retention.


def make_events(app, count):
    """Deletes `count` film works, one transaction each; returns each
    transaction's greatest change_log key (modified, id), oldest first."""
    films = [r[0] for r in sql(app,
        "SELECT id::text FROM content.film_work ORDER BY id LIMIT %s", (count,))]
    keys = []
    for film in films:
        sql(app, "DELETE FROM content.film_work WHERE id = %s", (film,))
        keys.append(one(app,
            "SELECT modified, id::text FROM content.change_log"
            " WHERE modified = (SELECT max(modified) FROM content.change_log)"
            " ORDER BY id DESC LIMIT 1"))
        time.sleep(0.01)
    assert keys == sorted(keys)
    return keys


def log_keys(conn):
    return sql(conn, "SELECT modified, id::text FROM content.change_log ORDER BY modified, id")


def pruned(conn):
    return one(conn, "SELECT modified, id::text FROM content.etl_change_log_pruned()")


def test_report_position(pg, catalog, conns):
    etl = conns("etl")
    when = datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)
    ident = str(uuid.uuid4())
    sql(etl, "SELECT content.etl_report_position(%s, %s, %s, %s)",
          ("movies", "change_log", when, ident))
    sql(etl, "SELECT content.etl_report_position(%s, %s, %s, %s)",
          ("movies", "change_log", when + SECOND, ident))
    rows = sql(etl, "SELECT index_name, source, modified, id::text, reported IS NOT NULL"
                      " FROM content.etl_position")
    assert rows == [("movies", "change_log", when + SECOND, ident, True)]
    # Only through the function, and only etl may call it.
    refused(etl, "INSERT INTO content.etl_position VALUES ('x', 'y', now(), gen_random_uuid(), now())")
    refused(etl, "UPDATE content.etl_position SET modified = now()")
    refused(etl, "DELETE FROM content.etl_position")
    refused(etl, "DELETE FROM content.change_log_pruned")
    app = conns("app")
    refused(app, "SELECT content.etl_report_position('x', 'change_log', now(), gen_random_uuid())")
    refused(app, "SELECT content.etl_prune_change_log(ARRAY['movies'], interval '0')")
    refused(app, "INSERT INTO content.etl_position VALUES ('x', 'y', now(), gen_random_uuid(), now())")
    refused(app, "DELETE FROM content.etl_position")
    refused(app, "UPDATE content.change_log_pruned SET modified = now()")


def test_prune_keeps_what_an_index_has_not_read(pg, catalog, conns):
    app = conns("app")
    etl = conns("etl")
    k1, k2, k3 = make_events(app, 3)
    everything = log_keys(etl)

    def report(index, key):
        sql(etl, "SELECT content.etl_report_position(%s, 'change_log', %s, %s)",
              (index, key[0], key[1]))

    def prune(indices, retention="0"):
        return one(etl, "SELECT content.etl_prune_change_log(%s, %s::interval)",
                   (indices, retention))[0]

    report("movies", k3)
    report("persons", k1)
    # An index that never reported protects everything.
    assert prune(["movies", "genres"]) == 0
    assert log_keys(etl) == everything
    # Younger than the retention: kept.
    assert prune(["movies", "persons"], "1 hour") == 0
    assert log_keys(etl) == everything
    # persons has read up to k1 only: only that much goes.
    deleted = prune(["movies", "persons"])
    assert deleted == sum(1 for k in everything if k <= k1) > 0
    assert log_keys(etl) == [k for k in everything if k > k1]
    assert pruned(etl) == k1  # its own deletions raise the watermark only that far
    # persons moves on to k2 (inside a transaction's run of equal stamps
    # included: the key is (modified, id)).
    report("persons", k2)
    assert prune(["movies", "persons"]) == sum(1 for k in everything if k1 < k <= k2)
    assert log_keys(etl) == [k for k in everything if k > k2]
    assert pruned(etl) == k2
    # Bad arguments are refused rather than read as "no index: delete all".
    for args in ((None, "0"), ([], "0"), (["movies"], None), (["movies"], "-1 day")):
        with pytest.raises(psycopg2.Error):
            sql(etl, "SELECT content.etl_prune_change_log(%s::text[], %s::interval)", args)


def test_hand_delete_raises_the_watermark(pg, catalog, conns):
    app = conns("app")
    owner = conns("catalog_owner")
    k1, k2, k3 = make_events(app, 3)
    etl = conns("etl")
    assert pruned(etl) == (None, None)
    everything = log_keys(owner)
    # The runbook's old hand pruning, and a worker that had read only k1.
    n = sql(owner, "DELETE FROM content.change_log WHERE modified <= %s", (k2[0],))
    assert n == sum(1 for k in everything if k <= k2)
    assert pruned(etl) == k2
    assert pruned(etl) > k1  # a worker at k1 sees it may have missed events
    # Deleting older rows (none left) or nothing never lowers it.
    sql(owner, "DELETE FROM content.change_log WHERE false")
    assert pruned(etl) == k2
    # A deletion that rolls back leaves it as it was.
    owner.autocommit = False
    sql(owner, "DELETE FROM content.change_log")
    owner.rollback()
    owner.autocommit = True
    assert pruned(etl) == k2
    # TRUNCATE: everything there was.
    sql(owner, "TRUNCATE content.change_log")
    assert pruned(etl) == k3
    assert log_keys(owner) == []


def test_superuser_delete_raises_the_watermark(pg, catalog, conns):
    app = conns("app")
    (k1,) = make_events(app, 1)
    admin = conns("postgres")
    sql(admin, "DELETE FROM content.change_log")
    assert pruned(conns("etl")) == k1


# ---------------------------------------------------------------------------
# init.sh: passwords never on a command line.


def test_init_keeps_passwords_off_the_command_line(pg, tmp_path, repo_root):
    real = shutil.which("psql")
    assert real, "psql not on PATH"
    wrapped = tmp_path / "bin"
    wrapped.mkdir()
    argv_log = tmp_path / "argv.log"
    (wrapped / "psql").write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$*\" >> '{argv_log}'\n"
        f"exec '{real}' \"$@\"\n")
    (wrapped / "psql").chmod(0o755)

    dbname = "init_" + uuid.uuid4().hex[:8]
    pg._admin(f'CREATE DATABASE "{dbname}"')
    try:
        env = dict(os.environ)
        for var in ("PGPASSWORD", "PGSERVICE"):
            env.pop(var, None)
        env.update(
            PATH=f"{wrapped}:{env.get('PATH', '/usr/bin:/bin')}",
            PGHOST=str(pg.dir), PGPORT=str(pg.port), PGUSER="postgres", PGDATABASE=dbname,
            CATALOG_OWNER_PASSWORD=pg.passwords["catalog_owner"],
            APP_DB_PASSWORD=pg.passwords["app"],
            ETL_DB_PASSWORD=pg.passwords["etl"],
            LOAD_SAMPLE_DATA="0",
        )
        for _ in range(2):  # the second run: safe to run again
            proc = subprocess.run([str(repo_root / "etc" / "postgres" / "init.sh")], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        recorded = argv_log.read_text()
        assert "00-roles.sql" in recorded  # the wrapper did see the calls
        for role, password in pg.passwords.items():
            assert password not in recorded, role
        for role in pg.ROLES:
            conn = pg.connect(role, dbname)
            try:
                assert one(conn, "SELECT current_user") == (role,)
            finally:
                conn.close()
        # A password missing from the environment stops 00-roles.sql.
        del env["ETL_DB_PASSWORD"]
        proc = subprocess.run(
            [real, "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-f", str(repo_root / "etc" / "postgres" / "sql" / "00-roles.sql")],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "ETL_DB_PASSWORD is not set" in proc.stderr
    finally:
        pg.drop_catalog(dbname)
