"""make install and make uninstall, as a Debian package build runs them:
PREFIX=/usr SYSCONFDIR=/etc into a DESTDIR, with a build of their own (the
compiled-in default config path follows SYSCONFDIR, so the repository's
bin/ is not the one installed).  The installed programs then run from
there, with the installed etl.ini pointed at the test's services, and sync
the catalogue from the installed SQL and mappings."""
import os
import pathlib
import subprocess

import pytest

from etlproc import REPO_ROOT, clean_env, make_config
from expected_docs import assert_index_matches
from test_supervisor import Supervisor

PREFIX, SYSCONFDIR = "/usr", "/etc"
PROGRAMS = ("etl-supervisor", "etl-worker", "etlctl")


def make(build, destdir, *targets):
    """Runs make TARGETS for the Debian layout, building into build."""
    result = subprocess.run(["make", "-C", str(REPO_ROOT), "-j2", f"PREFIX={PREFIX}",
                             f"SYSCONFDIR={SYSCONFDIR}", f"DESTDIR={destdir}",
                             f"BUILD={build}", f"BIN={build}/bin", *targets],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def tree(root):
    """Every file under root, as paths relative to it."""
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*") if not p.is_dir())


def shipped(pattern):
    return sorted(str(p.relative_to(REPO_ROOT / "etc")) for p in (REPO_ROOT / "etc").glob(pattern))


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The objects and programs of the Debian layout, built once."""
    return tmp_path_factory.mktemp("build")


@pytest.fixture
def installed(build, tmp_path):
    """A fresh make install into tmp_path/root."""
    root = tmp_path / "root"
    make(build, root, "install")
    return root


def test_layout(installed):
    share = ["usr/share/etl/" + f for f in
             shipped("sql/README.md") + shipped("sql/*/*.sql") + shipped("elasticsearch/*.json")
             + shipped("postgres/sql/*.sql")]
    man = [f"usr/share/man/man8/{p}.8" for p in PROGRAMS] + ["usr/share/man/man5/etl.ini.5"]
    expected = sorted(["etc/etl/etl.ini"] + [f"usr/bin/{p}" for p in PROGRAMS] + share + man)
    # Neither the sample data nor init.sh (they load sample rows and set
    # passwords); nothing but these.
    assert tree(installed) == expected
    for p in PROGRAMS:
        assert os.access(installed / "usr/bin" / p, os.X_OK)
    ini = (installed / "etc/etl/etl.ini").read_text()
    assert "mapping = /usr/share/etl/elasticsearch/movies.json" in ini
    assert ("changes = /usr/share/etl/sql/genres/genre.sql /usr/share/etl/sql/genres/change_log.sql"
            in ini)
    # Every file the installed etl.ini names is installed.
    for line in ini.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("mapping", "documents", "changes"):
            for path in value.split():
                assert (installed / path.lstrip("/")).is_file(), path


def test_default_config_path_follows_sysconfdir(installed):
    for p in PROGRAMS:
        helped = subprocess.run([str(installed / "usr/bin" / p), "--help"], capture_output=True,
                                text=True, env=clean_env())
        assert helped.returncode == 0
        assert "/etc/etl/etl.ini" in helped.stdout, p
        assert "/usr/local/etc" not in helped.stdout, p
        # The man page says the same (FILES).
        page = (installed / f"usr/share/man/man8/{p}.8").read_text()
        assert "/etc/etl/etl.ini" in page and "/usr/local" not in page, p
    # etl.ini(5) is made from the etl.ini installed: its paths under share/.
    assert "/usr/share/etl/sql/movies/documents.sql" in (
        installed / "usr/share/man/man5/etl.ini.5").read_text()
    # Without -c the programs read the installed path.
    run = subprocess.run([str(installed / "usr/bin/etl-supervisor"), "--check"],
                         capture_output=True, text=True, env=clean_env())
    assert (run.stdout + run.stderr).startswith("/etc/etl/etl.ini:"), run.stderr


def test_reinstall_keeps_an_edited_ini(build, installed):
    ini = installed / "etc/etl/etl.ini"
    fresh = ini.read_text()
    # Unchanged: a reinstall leaves it as it is, and no .dist.
    make(build, installed, "install")
    assert ini.read_text() == fresh and not (installed / "etc/etl/etl.ini.dist").exists()
    edited = fresh.replace("batch_size = 500", "batch_size = 250")
    ini.write_text(edited)
    out = make(build, installed, "install").stdout
    assert ini.read_text() == edited
    assert (installed / "etc/etl/etl.ini.dist").read_text() == fresh
    assert "etl.ini.dist" in out


def test_uninstall_leaves_only_an_edited_ini(build, installed, tmp_path):
    make(build, installed, "uninstall")
    assert tree(installed) == []
    assert not (installed / "usr/share/etl").exists() and not (installed / "etc/etl").exists()
    again = tmp_path / "again"
    make(build, again, "install")
    ini = again / "etc/etl/etl.ini"
    ini.write_text(ini.read_text() + "; edited\n")
    make(build, again, "install")
    make(build, again, "uninstall")
    assert tree(again) == ["etc/etl/etl.ini"]


def test_installed_supervisor_syncs_the_catalogue(installed, tmp_path, pg, es, catalog):
    ini = installed / "etc/etl/etl.ini"
    # The installed file, pointed at the test's services (its SQL and
    # mapping paths, under /usr/share/etl, moved into the DESTDIR).
    text = ini.read_text().replace("/usr/share/etl/", f"{installed}/usr/share/etl/")
    ini.write_text(text)
    config, names = make_config(tmp_path, pg, es, catalog, indices=["movies", "genres", "persons"],
                                source=ini)
    ini.write_text(config.read_text())
    sup = Supervisor(installed / "usr/bin", ini, tmp_path)
    conn = pg.connect("postgres", catalog)
    try:
        sup.wait_caught_up(["movies", "genres", "persons"])
        # Its workers are the installed etl-worker (beside etl-supervisor).
        for pid in sup.pids().values():
            assert os.readlink(f"/proc/{pid}/exe") == str(installed / "usr/bin/etl-worker")
        for name, index in names.items():
            es.refresh(index)
            assert_index_matches(conn, name, es, index)
    finally:
        conn.close()
        sup.stop()
        sup.assert_no_sanitizer_report()
        for index in names.values():
            es.delete_indices(index)
