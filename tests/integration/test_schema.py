"""Schema versions: the catalogue's numbered migrations
(etc/postgres/migrations), recorded in content.schema_migrations, applied
by etlctl schema upgrade (docs/operations.md, "Schema upgrades").

- a catalogue made by the previous release (0.1.0: the SQL and sample data
  of commit PREVIOUS_RELEASE, taken from git) is upgraded in place as
  catalog_owner, keeps its data, ends with exactly the schema of a new
  database, and the ETL then loads it and follows its changes;
- migration 0001 is exactly that release's schema, and a new database made
  by the upgrade is the one init.sh makes;
- an upgrade of a current database does nothing;
- a database newer than the migrations is refused (exit 78), by the upgrade
  and by the worker;
- the worker refuses an old schema (exit 78) and names the command to run;
- two upgrades at once both succeed, each migration applied once.
"""
import hashlib
import secrets
import subprocess

import pytest

from etlproc import (clean_env, document, make_config, parse_logfmt, run_worker, sql,
                     start_worker, wait_caught_up, wait_until)
from expected_docs import assert_index_matches

# The last commit of release 0.1.0's schema: main just before the change
# capture by transaction snapshots was merged.
PREVIOUS_RELEASE = "2d58a62"
# Its files that made a catalogue (init.sh ran the SQL in this order).
PREVIOUS_SQL = ("10-schema.sql", "20-etl.sql", "30-grants.sql")
# The version the migrations bring a database to.
CURRENT = 3
EXIT_BEHIND = 1
EXIT_CONFIG = 78
REFUSED_MSG = "schema version not this build's; not starting"


@pytest.fixture(scope="module")
def previous_release(repo_root, tmp_path_factory):
    """The 0.1.0 files (roles, schema, ETL SQL, grants, sample data and its
    loader) as that commit has them, in a directory laid out like
    etc/postgres."""
    out = tmp_path_factory.mktemp("v010")
    for rel in [f"sql/{f}" for f in ("00-roles.sql",) + PREVIOUS_SQL] + [
            "data/load.sh", "data/sample.sql.gz"]:
        data = subprocess.run(["git", "-C", str(repo_root), "show",
                               f"{PREVIOUS_RELEASE}:etc/postgres/{rel}"],
                              capture_output=True, check=True).stdout
        path = out / rel
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    (out / "data" / "load.sh").chmod(0o755)
    return out


def _superuser_env(pg, dbname):
    env = pg._env()
    env.update(PGHOST=str(pg.dir), PGPORT=str(pg.port), PGUSER="postgres", PGDATABASE=dbname)
    return env


def _psql(pg, dbname, args, stdin=None):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + [str(a) for a in args],
                   env=_superuser_env(pg, dbname), input=stdin, check=True,
                   capture_output=True, timeout=300)


@pytest.fixture
def databases(pg):
    """Makes empty databases of the test's own: databases() -> name; all
    dropped after the test."""
    made = []

    def make():
        name = "schema_" + secrets.token_hex(6)
        pg._admin(f'CREATE DATABASE "{name}"')
        pg.catalogs.add(name)
        made.append(name)
        return name

    yield make
    for name in made:
        pg.drop_catalog(name)


def make_previous_release(pg, databases, files, sample=True):
    """A catalogue as 0.1.0's init.sh made it: its roles and rights, its
    schema created as catalog_owner, its sample data (unless not sample)."""
    name = databases()
    _psql(pg, name, ["-f", files / "sql" / "00-roles.sql"])
    script = b"SET ROLE catalog_owner;\n" + b"".join(
        (files / "sql" / f).read_bytes() for f in PREVIOUS_SQL)
    _psql(pg, name, [], stdin=script)
    if sample:
        subprocess.run([str(files / "data" / "load.sh")], env=_superuser_env(pg, name),
                       check=True, capture_output=True, timeout=300)
    return name


def schema(bin_dir, repo_root, action, dsn, **popen):
    """etlctl schema ACTION against dsn, with the repository's migrations."""
    argv = [str(bin_dir / "etlctl"), "schema", action, "--dsn", dsn,
            "--migrations", str(repo_root / "etc" / "postgres" / "migrations")]
    if popen:
        return subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL, **popen)
    return subprocess.run(argv, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)


def versions(pg, dbname):
    """The rows of content.schema_migrations: (version, name, checksum,
    baseline, applied_at)."""
    conn = pg.connect("postgres", dbname)
    try:
        return sql(conn, "SELECT version, name, checksum, baseline, applied_at"
                         "  FROM content.schema_migrations ORDER BY version")
    finally:
        conn.close()


def schema_dump(pg, dbname):
    """pg_dump --schema-only of dbname, without its comments and the
    random \\restrict keys."""
    out = subprocess.run(["pg_dump", "--schema-only", "-d", pg.dsn("postgres", dbname)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return "\n".join(line for line in out.splitlines()
                     if not line.startswith(("--", "\\restrict", "\\unrestrict")))


def file_checksum(repo_root, name):
    return hashlib.sha256(
        (repo_root / "etc" / "postgres" / "migrations" / f"{name}.sql").read_bytes()).hexdigest()


def refused_by_worker(bin_dir, tmp_path, pg, es, dbname):
    """Runs the movies worker on dbname; asserts it exits 78 at once with
    the refusal, and returns that log line."""
    tmp_path.mkdir(exist_ok=True)
    config, _ = make_config(tmp_path, pg, es, dbname)
    worker = run_worker(bin_dir, config)
    try:
        assert worker.wait(timeout=60) == EXIT_CONFIG, worker.text()[-3000:]
    finally:
        worker.close()
    lines = [parse_logfmt(line) for line in worker.text().splitlines() if REFUSED_MSG in line]
    assert lines, worker.text()[-3000:]
    assert "etlctl schema upgrade" in lines[0]["hint"]
    return lines[0]


def test_previous_release_upgraded_in_place(pg, es, bin_dir, repo_root, tmp_path, workers,
                                            previous_release, databases):
    db = make_previous_release(pg, databases, previous_release)
    owner = pg.dsn("catalog_owner", db)
    app = pg.connect("app", db)
    counts = {t: sql(app, f"SELECT count(*) FROM content.{t}")[0][0]
              for t in ("film_work", "genre", "person", "genre_film_work", "person_film_work")}
    assert counts["film_work"] > 0

    status = schema(bin_dir, repo_root, "status", owner)
    assert status.returncode == EXIT_BEHIND, status.stdout + status.stderr
    assert f"version=1 expected={CURRENT}" in status.stdout

    up = schema(bin_dir, repo_root, "upgrade", owner)
    assert up.returncode == 0, up.stdout + up.stderr
    for name in ("0002_snapshots", "0003_txid_indexes"):
        assert f"applying {name}" in up.stdout
    assert "applying 0001" not in up.stdout
    rows = versions(pg, db)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (1, "0001_catalogue", True), (2, "0002_snapshots", False),
        (3, "0003_txid_indexes", False)]
    for version, name, checksum, _, _ in rows:
        assert checksum == file_checksum(repo_root, name), name
    assert {t: sql(app, f"SELECT count(*) FROM content.{t}")[0][0] for t in counts} == counts

    # Exactly the schema a new database gets (init.sh, through the same
    # migrations).
    fresh = pg.new_catalog()
    try:
        assert schema_dump(pg, db) == schema_dump(pg, fresh)
    finally:
        pg.drop_catalog(fresh)

    # Run again: nothing to do.
    again = schema(bin_dir, repo_root, "upgrade", owner)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "applying" not in again.stdout
    assert versions(pg, db) == rows

    # The ETL loads the upgraded catalogue and follows its changes.
    config, names = make_config(tmp_path, pg, es, db, indices=["movies", "genres", "persons"])
    started = [start_worker(workers, bin_dir, config, name) for name in names]
    for worker in started:
        wait_caught_up(worker, timeout=180, what="the first load")
    for name, index in names.items():
        assert_index_matches(app, name, es, index)
    fid = sql(app, "SELECT id FROM content.film_work ORDER BY id LIMIT 1")[0][0]
    sql(app, "UPDATE content.film_work SET title = 'after the upgrade' WHERE id = %s", (fid,))
    wait_until(lambda: (document(es, names["movies"], fid) or {}).get("title")
               == "after the upgrade", timeout=60, what="the change after the upgrade")
    app.close()


def test_migration_0001_is_the_previous_release(pg, repo_root, previous_release, databases):
    """0001 alone makes what 0.1.0's files made."""
    old = make_previous_release(pg, databases, previous_release, sample=False)
    new = databases()
    _psql(pg, new, ["-1", "-f", repo_root / "etc" / "postgres" / "migrations" / "0001_catalogue.sql"])
    assert schema_dump(pg, new) == schema_dump(pg, old)


def test_a_new_database_by_the_upgrade_is_the_one_init_makes(pg, bin_dir, repo_root, catalog,
                                                              databases):
    """The upgrade on an empty database (as a superuser: roles and rights)
    and init.sh's run of the same files give the same schema and rows."""
    empty = databases()
    up = schema(bin_dir, repo_root, "upgrade", pg.dsn("postgres", empty))
    assert up.returncode == 0, up.stdout + up.stderr
    assert "applying 0001_catalogue" in up.stdout
    assert schema_dump(pg, empty) == schema_dump(pg, catalog)
    assert [r[:4] for r in versions(pg, empty)] == [r[:4] for r in versions(pg, catalog)]


def test_upgrade_of_a_current_database_does_nothing(pg, bin_dir, repo_root, catalog):
    before_rows, before_schema = versions(pg, catalog), schema_dump(pg, catalog)
    assert [r[0] for r in before_rows] == list(range(1, CURRENT + 1))
    for _ in range(2):
        up = schema(bin_dir, repo_root, "upgrade", pg.dsn("catalog_owner", catalog))
        assert up.returncode == 0, up.stdout + up.stderr
        assert "applying" not in up.stdout
        assert f"version {CURRENT}, current" in up.stdout
    assert versions(pg, catalog) == before_rows
    assert schema_dump(pg, catalog) == before_schema
    status = schema(bin_dir, repo_root, "status", pg.dsn("etl", catalog))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "warning" not in status.stdout  # every file as it was applied


def test_a_newer_database_is_refused(pg, es, bin_dir, repo_root, tmp_path, catalog):
    admin = pg.connect("postgres", catalog)
    sql(admin, "INSERT INTO content.schema_migrations (version, name, checksum)"
               " VALUES (%s, '0004_from_the_future', 'x')", (CURRENT + 1,))
    admin.close()
    before = versions(pg, catalog)
    for action in ("upgrade", "status"):
        run = schema(bin_dir, repo_root, action, pg.dsn("catalog_owner", catalog))
        assert run.returncode == EXIT_CONFIG, run.stdout + run.stderr
        assert f"version {CURRENT + 1}, newer than this build's {CURRENT}" in (
            run.stdout + run.stderr)
    assert versions(pg, catalog) == before
    line = refused_by_worker(bin_dir, tmp_path, pg, es, catalog)
    assert "newer" in line["reason"]


def test_the_worker_refuses_an_old_schema(pg, es, bin_dir, tmp_path, previous_release, databases,
                                          catalog):
    """0.1.0's catalogue (no version table), and a versioned one a
    migration behind: exit 78, the line naming the command to run."""
    old = make_previous_release(pg, databases, previous_release, sample=False)
    line = refused_by_worker(bin_dir, tmp_path / "v010", pg, es, old)
    assert "version 1 (0.1.0, no version table)" in line["reason"]
    admin = pg.connect("postgres", catalog)
    sql(admin, "DELETE FROM content.schema_migrations WHERE version = %s", (CURRENT,))
    admin.close()
    line = refused_by_worker(bin_dir, tmp_path / "behind", pg, es, catalog)
    assert f"version {CURRENT - 1}, this build needs {CURRENT}" in line["reason"]


def test_two_upgrades_at_once(pg, bin_dir, repo_root, tmp_path, previous_release, databases):
    """Both wait while the lock is held (here by the test), then one applies
    everything and the other finds nothing to do; both succeed."""
    db = make_previous_release(pg, databases, previous_release)
    holder = pg.connect("postgres", db)
    sql(holder, "SELECT pg_advisory_lock(hashtext('etl schema upgrade'), 0)")
    outs = [tmp_path / f"upgrade{i}.out" for i in range(2)]
    procs = []
    try:
        for out in outs:
            with open(out, "w") as f:
                procs.append(schema(bin_dir, repo_root, "upgrade", pg.dsn("catalog_owner", db),
                                    stdout=f, stderr=subprocess.STDOUT))
        for out in outs:
            wait_until(lambda out=out: "another upgrade is running" in out.read_text(),
                       timeout=30, what="both upgrades waiting")
        assert all(p.poll() is None for p in procs)
    finally:
        holder.close()  # the lock goes with the session
    codes = [p.wait(timeout=300) for p in procs]
    texts = [out.read_text() for out in outs]
    assert codes == [0, 0], texts
    assert sum("applying 0002_snapshots" in t for t in texts) == 1, texts
    assert all(f"version {CURRENT}, current" in t for t in texts), texts
    assert [r[0] for r in versions(pg, db)] == list(range(1, CURRENT + 1))
