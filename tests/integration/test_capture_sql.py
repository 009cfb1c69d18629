"""The database side of exact change capture
(etc/postgres/migrations/0002_snapshots.sql, docs/architecture.md "Change
capture by transaction snapshots"):

- every row the ETL reads, and every change_log event, carries the id of
  the transaction that wrote it (txid), stamped by triggers that fire
  always: under session_replication_role = replica too;
- the rows visible in one snapshot and not in the one before are exactly
  the transactions committed between the two, whatever was open meanwhile;
- content.etl_snapshot_holder(snap) names the oldest transaction in
  progress at a snapshot, content.etl_preflight() why the worker cannot
  read here (a standby, a trigger that does not fire always);
- content.etl_cluster() names the cluster and timeline, and
  content.etl_restamp() gives rows a dump brought from another cluster
  (stamped ahead of this one's ids) this cluster's, keeping `modified`;
- app adds to content.change_log only through the triggers;
- change_log retention by transaction id: content.etl_prune_change_log()
  deletes only what every named index has read
  (content.etl_report_position()), and any other deletion raises a
  watermark (content.etl_change_log_pruned()) that a worker can check;
- etc/postgres/init.sh never puts a password on a command line.

A standby, and whole clusters restored, are test_standby.py's and
test_restore.py's.
"""

import os
import pathlib
import shutil
import subprocess
import uuid

import psycopg2
import psycopg2.errors
import pytest

from etlproc import sql


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
            for statement, params in statements:
                cur.execute(statement, params)
            cur.execute("SELECT pg_current_xact_id()::text")
            txid = cur.fetchone()[0]
            cur.execute("PREPARE TRANSACTION %s", (gid,))
        made.append((dbname, gid))
        return gid, txid

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


def snapshot(conn):
    return one(conn, "SELECT pg_current_snapshot()::text")[0]


def films_between(conn, old, new):
    """The film ids the shipped query shape reads in the window (old, new]."""
    return {r[0] for r in sql(conn,
        "SELECT id::text FROM content.film_work"
        " WHERE txid >= pg_snapshot_xmin(%s::pg_snapshot)"
        "   AND txid < pg_snapshot_xmax(%s::pg_snapshot)"
        "   AND pg_visible_in_snapshot(txid, %s::pg_snapshot)"
        "   AND NOT pg_visible_in_snapshot(txid, %s::pg_snapshot)", (old, new, new, old))}


# ---------------------------------------------------------------------------
# Stamps and windows.


def test_rows_and_events_carry_their_transaction(pg, catalog, conns):
    app = conns("app", autocommit=False)
    (film, other) = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    sql(app, "UPDATE content.film_work SET title = 'Stamped', txid = '5' WHERE id = %s", (film,))
    sql(app, "DELETE FROM content.film_work WHERE id = %s", (other,))
    (txid,) = one(app, "SELECT pg_current_xact_id()::text")
    app.commit()
    # The trigger stamps it, whatever the writer put there.
    assert one(app, "SELECT txid::text FROM content.film_work WHERE id = %s", (film,)) == (txid,)
    assert (txid,) in sql(app, "SELECT txid::text FROM content.change_log WHERE film_work_id = %s",
                          (other,))
    app.rollback()


def test_triggers_fire_always(pg, catalog, conns):
    """Every trigger of content fires always: in replication apply workers
    and under session_replication_role = replica, as the sample loader and
    pg_restore --disable-triggers-free restores run."""
    admin = conns("postgres")
    assert {r[2] for r in sql(admin, "SELECT * FROM content.etl_triggers()")} == {"A"}
    (film, other) = [r[0] for r in sql(admin, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 2")]
    replica = conns("postgres", autocommit=False)
    sql(replica, "SET session_replication_role = replica")
    sql(replica, "UPDATE content.film_work SET title = 'As a replica' WHERE id = %s", (film,))
    sql(replica, "DELETE FROM content.film_work WHERE id = %s", (other,))
    (txid,) = one(replica, "SELECT pg_current_xact_id()::text")
    replica.commit()
    assert one(admin, "SELECT txid::text FROM content.film_work WHERE id = %s", (film,)) == (txid,)
    assert one(admin, "SELECT count(*) FROM content.change_log WHERE film_work_id = %s",
               (other,))[0] > 0


def test_a_window_reads_what_committed_between_its_snapshots(pg, catalog, conns, prepared):
    """Open readers, a long writer and a prepared transaction hold nothing
    back but themselves; each transaction is read by the first window whose
    end sees it committed, and by no other."""
    etl = conns("etl")
    app = conns("app")
    a, b, c = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 3")]
    reader = conns("app", autocommit=False)
    sql(reader, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    sql(reader, "SELECT count(*) FROM content.film_work")
    s1 = snapshot(etl)
    writer = conns("app", autocommit=False)
    sql(writer, "UPDATE content.film_work SET title = 'Long' WHERE id = %s", (a,))
    gid, _ = prepared(conns("app"), catalog,
                      [("UPDATE content.film_work SET title = 'Prepared' WHERE id = %s", (c,))])
    sql(app, "UPDATE content.film_work SET title = 'Quick' WHERE id = %s", (b,))
    s2 = snapshot(etl)
    assert films_between(etl, s1, s2) == {b}
    writer.commit()
    sql(conns("postgres"), "COMMIT PREPARED %s", (gid,))
    s3 = snapshot(etl)
    assert films_between(etl, s2, s3) == {a, c}
    assert films_between(etl, s3, snapshot(etl)) == set()
    reader.rollback()


def test_snapshot_holder(pg, catalog, conns, prepared):
    etl = conns("etl")
    assert sql(etl, "SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())") == []
    # A reader has no transaction id: it holds nothing.
    reader = conns("app", autocommit=False)
    sql(reader, "SELECT count(*) FROM content.genre")
    assert sql(etl, "SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())") == []
    # A writer: its pid and start, nothing of what it runs.
    writer = conns("app", autocommit=False)
    (started, pid) = one(writer, "SELECT now(), pg_backend_pid()")
    sql(writer, "UPDATE content.genre SET name = name WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
    rows = sql(etl, "SELECT kind, detail, held_since FROM content.etl_snapshot_holder(pg_current_snapshot())")
    assert rows == [("transaction", f"pid={pid}", started)]
    writer.rollback()
    reader.rollback()
    # A prepared transaction: its gid and when it was prepared.
    gid, _ = prepared(conns("app"), catalog,
                      [("UPDATE content.genre SET name = name WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)", None)])
    ((kind, detail, held_since),) = sql(etl, "SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())")
    assert (kind, detail) == ("prepared", f"gid={gid}")
    (prepared_at,) = one(conns("postgres"),
                         "SELECT prepared FROM pg_prepared_xacts WHERE gid = %s", (gid,))
    assert held_since == prepared_at


def test_preflight_passes_on_a_primary(pg, catalog, conns):
    assert one(conns("etl"), "SELECT content.etl_preflight()") == (None,)


def test_preflight_names_a_trigger_that_does_not_fire_always(pg, catalog, conns):
    owner = conns("catalog_owner")
    etl = conns("etl")
    sql(owner, "ALTER TABLE content.person_film_work DISABLE TRIGGER person_film_work_log")
    (reason,) = one(etl, "SELECT content.etl_preflight()")
    assert "person_film_work_log" in reason
    sql(owner, "ALTER TABLE content.person_film_work ENABLE TRIGGER person_film_work_log")
    (reason,) = one(etl, "SELECT content.etl_preflight()")  # origin only: still not enough
    assert "person_film_work_log" in reason
    sql(owner, "ALTER TABLE content.person_film_work ENABLE ALWAYS TRIGGER person_film_work_log")
    assert one(etl, "SELECT content.etl_preflight()") == (None,)


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
    assert {"etl_snapshot_holder", "etl_preflight", "etl_report_position",
            "etl_prune_change_log", "etl_change_log_pruned", "etl_restamp", "log_entity_delete",
            "log_genre_link", "log_person_link"} <= names
    for name, owner, config, public in rows:
        assert owner == "catalog_owner", name
        assert config == ["search_path=pg_catalog, pg_temp"], name
        assert not public, name
    etl = conns("etl")
    for statement in ("SELECT * FROM content.etl_snapshot_holder(pg_current_snapshot())",
                      "SELECT content.etl_preflight()", "SELECT * FROM content.etl_triggers()",
                      "SELECT * FROM content.etl_change_log_pruned()"):
        sql(etl, statement)
    # The clock horizon is gone.
    assert one(admin, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'etl_horizon%%'"
                      " AND pronamespace = 'content'::regnamespace") == (0,)


def test_cluster_names_the_system_identifier_and_timeline(pg, catalog, conns):
    admin = conns("postgres")
    ((system_identifier, walfile),) = sql(admin, "SELECT system_identifier::text,"
                                                 " pg_walfile_name(pg_current_wal_lsn())"
                                                 " FROM pg_control_system()")
    assert one(conns("etl"), "SELECT * FROM content.etl_cluster()") == (
        system_identifier, int(walfile[:8], 16))


def test_restamp_gives_rows_of_another_cluster_this_ones(pg, catalog, conns):
    """Rows stamped ahead of this cluster's ids (as a dump restored from
    another cluster brings them; made here with the stamping trigger off
    for a moment) get the id of the restamping transaction, their
    `modified` kept; positions and the watermark of the other cluster are
    forgotten; the rest is untouched, and a second call does nothing."""
    admin = conns("postgres", autocommit=False)
    ahead = "SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::numeric + 1000000)::text::xid8"
    film, other = [r[0] for r in sql(admin, "SELECT id::text FROM content.film_work"
                                            " ORDER BY id LIMIT 2")]
    (genre,) = one(admin, "SELECT id::text FROM content.genre ORDER BY id LIMIT 1")
    for table in ("film_work", "genre"):
        sql(admin, f"ALTER TABLE content.{table} DISABLE TRIGGER {table}_set_modified")
    sql(admin, f"UPDATE content.film_work SET txid = ({ahead}) WHERE id = %s", (film,))
    sql(admin, f"UPDATE content.genre SET txid = ({ahead}) WHERE id = %s", (genre,))
    for table in ("film_work", "genre"):
        sql(admin, f"ALTER TABLE content.{table} ENABLE ALWAYS TRIGGER {table}_set_modified")
    sql(admin, "INSERT INTO content.change_log (table_name, operation, film_work_id, txid)"
               f" VALUES ('film_work', 'DELETE', gen_random_uuid(), ({ahead}))")
    sql(admin, f"SELECT content.etl_report_position('movies', 'change_log', ({ahead}))")
    sql(admin, f"UPDATE content.change_log_pruned SET txid = ({ahead})")
    admin.commit()
    stamps = ("SELECT (SELECT txid::text || ' ' || modified FROM content.film_work WHERE id = %s),"
              "       (SELECT modified::text FROM content.genre WHERE id = %s),"
              "       (SELECT txid::text || ' ' || modified FROM content.film_work WHERE id = %s)")
    before = one(admin, stamps, (film, genre, other))
    admin.commit()

    etl = conns("etl", autocommit=False)
    assert one(etl, "SELECT content.etl_restamp()") == (3,)
    (restamp,) = one(etl, "SELECT pg_current_xact_id_if_assigned()::text")
    etl.commit()
    assert restamp is not None
    after = one(admin, stamps, (film, genre, other))
    assert after[0] == restamp + " " + before[0].split(" ", 1)[1]  # modified kept
    assert after[1:] == before[1:]
    assert one(admin, "SELECT (SELECT count(*) FROM content.film_work WHERE txid = %s),"
                      "       (SELECT count(*) FROM content.genre WHERE txid = %s),"
                      "       (SELECT count(*) FROM content.change_log WHERE txid = %s)",
               (restamp,) * 3) == (1, 1, 1)
    assert one(admin, "SELECT txid FROM content.etl_position WHERE index_name = 'movies'") == (None,)
    assert one(admin, "SELECT txid FROM content.etl_change_log_pruned()") == (None,)
    admin.commit()
    assert one(etl, "SELECT content.etl_restamp(), pg_current_xact_id_if_assigned()") == (0, None)
    etl.commit()


# ---------------------------------------------------------------------------
# change_log: written by the triggers only.


def test_app_cannot_write_change_log(pg, catalog, conns):
    app = conns("app")
    refused(app, "INSERT INTO content.change_log (table_name, operation) VALUES ('film_work', 'DELETE')")
    refused(app, "UPDATE content.change_log SET operation = 'x'")
    refused(app, "DELETE FROM content.change_log")
    refused(app, "TRUNCATE content.change_log")
    sql(app, "SELECT count(*) FROM content.change_log")  # it still reads


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
    transaction's id (xid8, as an int), oldest first."""
    films = [r[0] for r in sql(app,
        "SELECT id::text FROM content.film_work ORDER BY id LIMIT %s", (count,))]
    txids = []
    for film in films:
        sql(app, "DELETE FROM content.film_work WHERE id = %s", (film,))
        txids.append(int(one(app, "SELECT max(txid)::text FROM content.change_log")[0]))
    assert txids == sorted(txids)
    return txids


def log_txids(conn):
    return [int(r[0]) for r in sql(conn, "SELECT txid::text FROM content.change_log ORDER BY txid, id")]


def pruned(conn):
    (txid,) = one(conn, "SELECT txid::text FROM content.etl_change_log_pruned()")
    return None if txid is None else int(txid)


def test_report_position(pg, catalog, conns):
    etl = conns("etl")
    sql(etl, "SELECT content.etl_report_position(%s, %s, %s::xid8)", ("movies", "change_log", "700"))
    sql(etl, "SELECT content.etl_report_position(%s, %s, %s::xid8)", ("movies", "change_log", "701"))
    rows = sql(etl, "SELECT index_name, source, txid::text, reported IS NOT NULL"
                      " FROM content.etl_position")
    assert rows == [("movies", "change_log", "701", True)]
    # Only through the function, and only etl may call it.
    refused(etl, "INSERT INTO content.etl_position (index_name, source, txid) VALUES ('x', 'y', '1')")
    refused(etl, "UPDATE content.etl_position SET txid = '1'")
    refused(etl, "DELETE FROM content.etl_position")
    refused(etl, "DELETE FROM content.change_log_pruned")
    app = conns("app")
    refused(app, "SELECT content.etl_report_position('x', 'change_log', '1'::xid8)")
    refused(app, "SELECT content.etl_prune_change_log(ARRAY['movies'], interval '0')")
    refused(app, "INSERT INTO content.etl_position (index_name, source, txid) VALUES ('x', 'y', '1')")
    refused(app, "DELETE FROM content.etl_position")
    refused(app, "UPDATE content.change_log_pruned SET txid = '1'")


def test_prune_keeps_what_an_index_has_not_read(pg, catalog, conns):
    app = conns("app")
    etl = conns("etl")
    t1, t2, t3 = make_events(app, 3)
    everything = log_txids(etl)

    def report(index, txid):
        sql(etl, "SELECT content.etl_report_position(%s, 'change_log', %s::xid8)", (index, str(txid)))

    def prune(indices, retention="0"):
        return one(etl, "SELECT content.etl_prune_change_log(%s, %s::interval)",
                   (indices, retention))[0]

    # Positions: every transaction below the id reported is read.
    report("movies", t3 + 1)
    report("persons", t1 + 1)
    # An index that never reported protects everything.
    assert prune(["movies", "genres"]) == 0
    assert log_txids(etl) == everything
    # Younger than the retention: kept.
    assert prune(["movies", "persons"], "1 hour") == 0
    assert log_txids(etl) == everything
    # persons has read t1 only: only that much goes.
    deleted = prune(["movies", "persons"])
    assert deleted == sum(1 for t in everything if t <= t1) > 0
    assert log_txids(etl) == [t for t in everything if t > t1]
    assert pruned(etl) == t1  # its own deletions raise the watermark only that far
    report("persons", t2 + 1)
    assert prune(["movies", "persons"]) == sum(1 for t in everything if t1 < t <= t2)
    assert log_txids(etl) == [t for t in everything if t > t2]
    assert pruned(etl) == t2
    # Bad arguments are refused rather than read as "no index: delete all".
    for args in ((None, "0"), ([], "0"), (["movies"], None), (["movies"], "-1 day")):
        with pytest.raises(psycopg2.Error):
            sql(etl, "SELECT content.etl_prune_change_log(%s::text[], %s::interval)", args)


def test_hand_delete_raises_the_watermark(pg, catalog, conns):
    app = conns("app")
    owner = conns("catalog_owner")
    t1, t2, t3 = make_events(app, 3)
    etl = conns("etl")
    assert pruned(etl) is None
    everything = log_txids(owner)
    # Hand pruning, and a worker that had read only t1.
    n = sql(owner, "DELETE FROM content.change_log WHERE txid <= %s::xid8", (str(t2),))
    assert n == sum(1 for t in everything if t <= t2)
    assert pruned(etl) == t2
    assert pruned(etl) > t1  # a worker at t1 sees it may have missed events
    # Deleting nothing never lowers it.
    sql(owner, "DELETE FROM content.change_log WHERE false")
    assert pruned(etl) == t2
    # A deletion that rolls back leaves it as it was.
    owner.autocommit = False
    sql(owner, "DELETE FROM content.change_log")
    owner.rollback()
    owner.autocommit = True
    assert pruned(etl) == t2
    # TRUNCATE: everything there was.
    sql(owner, "TRUNCATE content.change_log")
    assert pruned(etl) == t3
    assert log_txids(owner) == []


def test_superuser_delete_raises_the_watermark(pg, catalog, conns):
    app = conns("app")
    (t1,) = make_events(app, 1)
    admin = conns("postgres")
    sql(admin, "DELETE FROM content.change_log")
    assert pruned(conns("etl")) == t1


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


# ---------------------------------------------------------------------------
# The upgrade: migration 0002 (and 0003) idempotent, so that a catalogue
# brought part of the way by hand is upgraded too (docs/operations.md,
# "Schema upgrades").


def run_etl_sql(pg, dbname, bin_dir, repo_root):
    """Forgets migrations 0002 and 0003 were applied and runs the upgrade,
    as catalog_owner: both are applied again."""
    conn = pg.connect("postgres", dbname)
    try:
        sql(conn, "DELETE FROM content.schema_migrations WHERE version > 1")
    finally:
        conn.close()
    subprocess.run([str(bin_dir / "etlctl"), "schema", "upgrade",
                    "--migrations", str(repo_root / "etc" / "postgres" / "migrations"),
                    "--dsn", pg.dsn("catalog_owner", dbname)],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)


def test_the_schema_step_upgrades_and_is_idempotent(pg, catalog, conns, bin_dir, repo_root):
    """A catalogue as the clock release left it (no txid, triggers enabled
    for origin sessions only) gets everything from one run of the step; a
    second run changes nothing."""
    admin = conns("postgres")
    films = one(admin, "SELECT count(*) FROM content.film_work")[0]
    for table in ("film_work", "genre", "person", "change_log"):
        sql(admin, f"ALTER TABLE content.{table} DROP COLUMN txid")
    sql(admin, "ALTER TABLE content.film_work ENABLE TRIGGER film_work_set_modified")
    sql(admin, "DROP FUNCTION content.etl_triggers() CASCADE")
    for _ in range(2):
        run_etl_sql(pg, catalog, bin_dir, repo_root)
        for table in ("film_work", "genre", "person", "change_log"):
            assert one(admin, f"SELECT count(*) FROM content.{table} WHERE txid IS NULL") == (0,)
            assert one(admin, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'content'"
                              " AND indexname = %s", (f"{table}_txid_id_idx",)) == (1,)
        assert {r[2] for r in sql(admin, "SELECT * FROM content.etl_triggers()")} == {"A"}
        assert one(conns("etl"), "SELECT content.etl_preflight()") == (None,)
        assert one(admin, "SELECT count(*) FROM content.film_work") == (films,)
