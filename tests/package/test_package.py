"""The Debian package (make deb) as an operator gets it: lintian finds no
error in it, systemd-analyze verifies its unit, and installed with apt into
a clean Debian 12 container it pulls its libraries, creates the user etl,
and the supervisor, started as the unit starts it (its user, directories,
umask and command lines, read from the unit), syncs the catalogue of the
test PostgreSQL into the test search node (--network=host); logrotate's
file rotates the per-worker log files and the supervisor reopens them.

systemd does not run in the container: the unit's directories and user
are set up as systemd would, the rest of the unit is checked by
systemd-analyze on this machine.
"""
import os
import pathlib
import secrets
import shlex
import subprocess

import pytest
import requests

from etlproc import sql, wait_until
from test_supervisor import COUNTS, INDICES

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
UNIT = "lib/systemd/system/etl-supervisor.service"
# The local Debian 12 image that make test-compose's base-image.sh makes.
BASE_IMAGE = "debian:12"
# podman as make test-compose configures it (compose/test/containers.conf).
PODMAN_ENV = dict(os.environ,
                  CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF")
                  or str(REPO_ROOT / "compose" / "test" / "containers.conf"),
                  CONTAINERS_REGISTRIES_CONF=os.environ.get("CONTAINERS_REGISTRIES_CONF")
                  or str(REPO_ROOT / "compose" / "test" / "registries.conf"))
# Most systemd-analyze security may count against the unit (0..100; "OK" is
# up to 20 in its words).
SECURITY_THRESHOLD = 20


def unit_settings(path):
    """{key: [values]} of the unit's [Service] and [Unit] sections."""
    settings, section = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section in ("Unit", "Service"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def one(settings, key):
    values = settings.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def run(argv, **kwargs):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)


# --- the package and its unit, on this machine ---------------------------------------

def test_lintian_finds_no_error(deb):
    result = run(["lintian", "--fail-on", "error", deb], timeout=600)
    print(result.stdout)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert result.returncode == 0 and errors == [], result.stdout + result.stderr


def test_package_depends_on_the_libraries(deb):
    depends = run(["dpkg-deb", "-f", deb, "Depends"], check=True).stdout
    for library in ("libpq5", "libcurl4", "libjansson4", "libinih1", "libmicrohttpd12",
                    "libsystemd0", "adduser"):
        assert library in depends, depends


def test_systemd_analyze_verifies_the_unit(unpacked, tmp_path):
    """verify checks the unit's syntax, that its commands exist and are
    executable, and its man pages: the unit is checked with its /usr/bin
    paths pointing into the unpacked package, and man reads the package's
    pages.  Any complaint fails it."""
    unit = (unpacked / UNIT).read_text().replace("=/usr/bin/", f"={unpacked}/usr/bin/")
    copy = tmp_path / "etl-supervisor.service"
    copy.write_text(unit)
    env = dict(os.environ, MANPATH=str(unpacked / "usr" / "share" / "man"))
    result = run(["systemd-analyze", "verify", copy], env=env, timeout=120)
    assert result.returncode == 0 and result.stdout + result.stderr == "", \
        result.stdout + result.stderr
    security = run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                    f"--threshold={SECURITY_THRESHOLD}", copy], timeout=120)
    assert security.returncode == 0, security.stdout[-3000:] + security.stderr


def test_unit_runs_the_supervisor_as_the_issue_asks(unpacked):
    settings = unit_settings(unpacked / UNIT)
    assert one(settings, "Type") == "notify"
    assert one(settings, "WatchdogSec")
    assert one(settings, "User") == "etl" and one(settings, "Group") == "etl"
    assert one(settings, "StateDirectory") == "etl" and one(settings, "RuntimeDirectory") == "etl"
    assert one(settings, "ExecStartPre") == "/usr/bin/etl-supervisor --check -c /etc/etl/etl.ini"
    assert one(settings, "ExecStart") == "/usr/bin/etl-supervisor -c /etc/etl/etl.ini"
    assert one(settings, "ExecReload") == "/usr/bin/etlctl reload"
    assert one(settings, "Restart") == "on-failure"
    for hardening in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                      "CapabilityBoundingSet=", "SystemCallFilter=@system-service"):
        key, _, value = hardening.partition("=")
        assert value in settings.get(key, []), hardening
    # The installed etl.ini's defaults are the unit's directories.
    ini = (unpacked / "etc" / "etl" / "etl.ini").read_text()
    assert "state_dir = ${ETL_STATE_DIR:-/var/lib/etl}" in ini
    assert "control_socket = ${ETL_CONTROL_SOCKET:-/run/etl/control.sock}" in ini


# --- installed in a clean Debian 12 ---------------------------------------------------

class Container:
    """A throwaway Debian 12 container on the host's network, the package's
    folder mounted at /deb."""

    def __init__(self, deb):
        exists = run(["podman", "image", "exists", BASE_IMAGE], env=PODMAN_ENV)
        assert exists.returncode == 0, \
            f"no {BASE_IMAGE} image: compose/test/base-image.sh makes it (make test-package runs it)"
        self.name = f"etl-package-test-{secrets.token_hex(4)}"
        run(["podman", "run", "-d", "--rm", "--name", self.name, "--network=host",
             "-v", f"{deb.parent}:/deb:ro", BASE_IMAGE, "sleep", "infinity"],
            env=PODMAN_ENV, check=True, timeout=120)

    def sh(self, script, env=None, check=True, timeout=120, stdin=None):
        """Runs script with sh -c as root in the container."""
        argv = ["podman", "exec", "-i"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        result = subprocess.run(argv + [self.name, "sh", "-c", script], capture_output=True,
                                text=True, env=PODMAN_ENV, timeout=timeout, input=stdin)
        if check:
            assert result.returncode == 0, f"{script}\n-> {result.returncode}\n{result.stdout}{result.stderr}"
        return result

    def start(self, script, env=None):
        """Runs script in the background (podman exec -d)."""
        argv = ["podman", "exec", "-d"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        run(argv + [self.name, "sh", "-c", script], env=PODMAN_ENV, check=True, timeout=60)

    def remove(self):
        run(["podman", "rm", "-f", "-t", "0", self.name], env=PODMAN_ENV, timeout=120)


@pytest.fixture
def container(deb):
    box = Container(deb)
    try:
        yield box
    finally:
        box.remove()


def as_unit_user(settings, command):
    """command run as the unit runs it: its user and group, its umask, no
    new privileges, no capabilities."""
    user, group = one(settings, "User"), one(settings, "Group")
    umask = settings.get("UMask", ["0022"])[0]
    argv = shlex.split(command)
    assert argv[0].startswith("/"), command  # no "-", "@", "+" prefixes
    return (f"umask {umask}; exec setpriv --reuid={user} --regid={group} --init-groups "
            f"--no-new-privs --inh-caps=-all --bounding-set=-all {shlex.join(argv)}")


def test_installed_with_apt_runs_as_the_unit_says_and_syncs(deb, unpacked, container, pg, es,
                                                             catalog):
    settings = unit_settings(unpacked / UNIT)
    # apt pulls the libraries the package depends on; the postinst makes etl.
    container.sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                 f"--no-install-recommends /deb/{deb.name} logrotate cron >/tmp/apt.log 2>&1 "
                 "|| { tail -n 30 /tmp/apt.log; exit 1; }", timeout=600)
    status = container.sh("dpkg-query -W -f='${Status}' etl").stdout
    assert status == "install ok installed"
    passwd = container.sh("getent passwd etl").stdout.strip().split(":")
    assert int(passwd[2]) < 1000 and passwd[5] == "/var/lib/etl" and passwd[6] == "/usr/sbin/nologin", passwd
    conffiles = container.sh("dpkg-query -W -f='${Conffiles}' etl").stdout
    assert "/etc/etl/etl.ini " in conffiles and "/etc/logrotate.d/etl " in conffiles, conffiles
    missing = container.sh("ldd /usr/bin/etl-supervisor /usr/bin/etl-worker /usr/bin/etlctl").stdout
    assert "not found" not in missing, missing
    assert "0.2.0" in container.sh("etl-supervisor --version").stdout

    # What systemd does before ExecStart: the unit's directories, owned by
    # its user.  The password file as an operator makes it.
    user, group = one(settings, "User"), one(settings, "Group")
    for key, parent in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run"),
                        ("LogsDirectory", "/var/log")):
        mode = settings.get(key + "Mode", ["0755"])[0]
        container.sh(f"install -d -o {user} -g {group} -m {mode} {parent}/{one(settings, key)}")
    container.sh("umask 027 && cat >/etc/etl/pg.password && chgrp etl /etc/etl/pg.password",
                 stdin=pg.passwords["etl"] + "\n")
    # The settings through the environment the installed etl.ini reads (a
    # drop-in's Environment= would set them); the file itself is the package's.
    suffix = secrets.token_hex(4)
    names = {name: f"pkg_{name}_{suffix}" for name in INDICES}
    env = {"ETL_PG_HOST": pg.host, "ETL_PG_PORT": str(pg.port), "ETL_PG_DBNAME": catalog,
           "ETL_PG_PASSWORD_FILE": "/etc/etl/pg.password", "ETL_ES_URL": es.url,
           "ETL_LOG_DIR": "/var/log/etl", "ETL_VERIFY_INTERVAL_S": "0"}
    env.update({f"ETL_INDEX_{name.upper()}": index for name, index in names.items()})
    try:
        check = container.sh(as_unit_user(settings, one(settings, "ExecStartPre")), env=env,
                             check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        container.start("echo $$ >/run/etl/test-supervisor.pid; "
                        + as_unit_user(settings, one(settings, "ExecStart"))
                        + " >/var/log/etl/supervisor.out 2>&1", env=env)

        def log():
            return container.sh("cat /var/log/etl/supervisor.out", check=False).stdout

        def synced():
            assert container.sh("kill -0 $(cat /run/etl/test-supervisor.pid)", check=False).returncode == 0, \
                "the supervisor exited:\n" + log()[-4000:]
            try:
                return all(es.count(names[name]) == count for name, count in COUNTS.items())
            except requests.HTTPError:  # an index not made yet
                return False

        wait_until(synced, timeout=300, what="the catalogue in the three indices")
        status = container.sh("setpriv --reuid=etl --regid=etl --init-groups etlctl status").stdout
        assert [line.split()[0] for line in status.splitlines()] == [f"name={n}" for n in INDICES]
        assert all(" state=running " in line for line in status.splitlines()), status
        # Files as the unit's umask and directories make them.
        owners = container.sh("stat -c '%U:%G %a %n' /var/lib/etl/movies.state /run/etl/control.sock "
                              "/var/log/etl/movies.log").stdout.splitlines()
        assert [o.split()[0] for o in owners] == ["etl:etl"] * 3, owners
        assert owners[0].split()[1] in ("640", "600") and owners[2].split()[1] == "640", owners

        # logrotate's file: rotated, reopened, new lines in the new file.
        container.sh("logrotate -f /etc/logrotate.d/etl")
        container.sh("test -s /var/log/etl/movies.log.1")
        app = pg.connect("app", catalog)
        try:
            sql(app, "UPDATE content.genre SET description = 'rotated' "
                     "WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
        finally:
            app.close()
        wait_until(lambda: container.sh("grep -q 'msg=batch' /var/log/etl/genres.log",
                                        check=False).returncode == 0,
                   timeout=60, what="a batch logged in the reopened genres.log")

        # SIGTERM, as systemctl stop sends it: the workers stop, exit 0.
        container.sh("kill -TERM $(cat /run/etl/test-supervisor.pid)")
        wait_until(lambda: container.sh("kill -0 $(cat /run/etl/test-supervisor.pid)",
                                        check=False).returncode != 0,
                   timeout=60, what="the supervisor gone")
        assert "msg=stopped" in log().splitlines()[-1], log()[-2000:]
    finally:
        for index in names.values():
            es.delete_indices(index)
