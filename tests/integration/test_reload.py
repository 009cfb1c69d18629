"""etlctl reload and etlctl log-level: the supervisor reads its file again
on request and says what changed (or why it refused the file), and a
log_level change reaches the running workers without restarting them.

The reload semantics (which worker restarts, which is added or removed)
are the supervisor's own, so those tests run fake workers (test_supervisor's
`fake` fixture); the log level tests need the real worker, which is the one
that takes the level live."""
import json
import os
import signal
import time

from etlproc import parse_logfmt, wait_until
from test_supervisor import (EXIT_CONFIG, EXIT_UNKNOWN_WORKER, EXIT_USAGE, Stack, fake,  # noqa: F401
                             persons_for_extra, pid_alive)

# What the reply's data lines start with (supervisor/reload.h).
REPORT_WORDS = ("restarted", "changed", "added", "removed", "live", "next-start", "error")


def report(stdout):
    """{word: [texts]} of etlctl reload's output lines (the final
    "config reloaded" line left out)."""
    out = {}
    for line in stdout.splitlines():
        word, _, text = line.partition(" ")
        if word in REPORT_WORDS:
            out.setdefault(word, []).append(text)
    return out


def edit(config, old, new):
    """Replaces the one line old of the config file with new."""
    text = config.read_text()
    assert text.count(old + "\n") == 1, old
    config.write_text(text.replace(old + "\n", new + "\n"))


def index_line(config, name):
    """The `index = ...` line of [index.NAME]."""
    text = config.read_text()
    section = text.split(f"[index.{name}]\n", 1)[1]
    return next(line for line in section.splitlines() if line.startswith("index = "))


# --- what a reload changed (fake workers) -----------------------------------------------

def test_etlctl_reload_prints_the_restarted_worker_and_only_it_restarts(fake):
    before = fake.pids()
    old = index_line(fake.config, "genres")
    edit(fake.config, old, old + "_v2")
    result = fake.ctl("reload")
    assert result.returncode == 0, result.stderr
    assert report(result.stdout) == {"restarted": ["genres"]}, result.stdout
    assert result.stdout.splitlines()[-1] == "config reloaded"
    wait_until(lambda: fake.pids()["genres"] not in (0, before["genres"]), timeout=15,
               what="genres restarted")
    after = fake.pids()
    assert after["movies"] == before["movies"] and after["persons"] == before["persons"]
    assert not pid_alive(before["genres"])
    assert fake.status()["genres"]["index"].endswith("_v2")
    # The same file again: nothing to do, nothing restarts.
    result = fake.ctl("reload")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config reloaded: nothing changed\n"
    assert fake.pids() == after


def test_etlctl_reload_prints_added_and_removed_workers(fake):
    before = fake.pids()
    persons_for_extra(fake.config)
    result = fake.ctl("reload")
    assert result.returncode == 0, result.stderr
    assert report(result.stdout) == {"added": ["extra"], "removed": ["persons"]}, result.stdout
    wait_until(lambda: set(fake.status()) == {"movies", "genres", "extra"}, timeout=15,
               what="persons removed, extra added")
    assert not pid_alive(before["persons"])
    after = fake.pids()
    assert after["movies"] == before["movies"] and after["genres"] == before["genres"]
    assert after["extra"] > 0


def test_etlctl_reload_prints_live_supervisor_settings(fake):
    before = fake.pids()
    edit(fake.config, "stop_timeout_s = 5", "stop_timeout_s = 7")
    result = fake.ctl("--json", "reload")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == {"applied": True, "restarted": [], "changed": [], "added": [], "removed": [],
                   "live": {"supervisor.stop_timeout_s": "7"}, "next_start": {}, "errors": []}
    assert fake.pids() == before


def test_etlctl_reload_refuses_a_broken_file_and_keeps_the_workers(fake):
    before = fake.pids()
    good = fake.config.read_text()
    edit(fake.config, "log_level = info", "log_level = loud")
    lines = fake.config.read_text().splitlines()
    number = lines.index("log_level = loud") + 1
    want = f'{fake.config}:{number}: log_level: "loud" is not one of debug, info, warn, error'
    result = fake.ctl("reload")
    assert result.returncode == EXIT_CONFIG, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert f"error {want}\n" in result.stderr
    assert "the new configuration was refused; the old one stays" in result.stderr
    # The same as JSON, on stdout for scripts.
    result = fake.ctl("--json", "reload")
    assert result.returncode == EXIT_CONFIG
    doc = json.loads(result.stdout)
    assert doc["applied"] is False and doc["errors"] == [want]
    # Nothing was touched, and the supervisor still answers.
    time.sleep(0.5)
    assert fake.pids() == before
    assert not fake.events("worker exited")
    fake.check_alive()
    fake.config.write_text(good)
    result = fake.ctl("reload")
    assert result.returncode == 0 and result.stdout == "config reloaded: nothing changed\n"
    assert fake.pids() == before


# --- log levels (real workers) -----------------------------------------------------------

def debug_lines(stack, name, pid):
    """The debug lines in log_dir/NAME.log of the worker process pid."""
    path = stack.tmp_path / "logs" / f"{name}.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        ev = parse_logfmt(line)
        if ev.get("level") == "debug" and ev.get("pid") == str(pid):
            out.append(ev)
    return out


def test_log_level_change_by_sighup_keeps_the_workers_running(tmp_path, pg, es, catalog, bin_dir):
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres"])
    try:
        sup = stack.sup
        sup.wait_caught_up(["genres"])
        pid = sup.pids()["genres"]
        assert not debug_lines(stack, "genres", pid)
        edit(stack.config, "log_level = info", "log_level = debug")
        sup.signal(signal.SIGHUP)
        reloaded = sup.wait_event("config reloaded")[0]
        assert reloaded["changed"] == "0", reloaded
        # The same process now logs its rounds (debug) to its log file.
        wait_until(lambda: debug_lines(stack, "genres", pid), timeout=15,
                   what="debug lines of the running worker")
        assert sup.pids()["genres"] == pid
        assert not sup.events("worker exited", child="genres")
        assert sup.events("worker log level set", child="genres", level="debug")
    finally:
        stack.close()


def test_etlctl_reload_of_log_level_is_live_not_a_restart(tmp_path, pg, es, catalog, bin_dir):
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres"])
    try:
        sup = stack.sup
        sup.wait_caught_up(["genres"])
        pid = sup.pids()["genres"]
        edit(stack.config, "log_level = info", "log_level = debug")
        result = sup.ctl("reload")
        assert result.returncode == 0, result.stderr
        assert report(result.stdout) == {"live": ["etl.log_level=debug"]}, result.stdout
        wait_until(lambda: debug_lines(stack, "genres", pid), timeout=15,
                   what="debug lines of the running worker")
        assert sup.pids()["genres"] == pid
    finally:
        stack.close()


def test_etlctl_log_level_sets_only_that_worker_until_the_next_reload(
        tmp_path, pg, es, catalog, bin_dir):
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres", "movies"])
    try:
        sup = stack.sup
        sup.wait_caught_up(["genres", "movies"])
        before = sup.pids()
        result = sup.ctl("log-level", "movies", "debug")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "movies debug\n"
        wait_until(lambda: len(debug_lines(stack, "movies", before["movies"])) >= 3, timeout=15,
                   what="debug lines of movies")
        assert not debug_lines(stack, "genres", before["genres"])
        assert sup.pids() == before
        assert stack.config.read_text().count("log_level = info\n") == 1  # the file is untouched
        # A new process of that worker starts at the level set.
        assert sup.ctl("restart", "movies").returncode == 0
        new_pid = sup.pids()["movies"]
        assert new_pid != before["movies"]
        wait_until(lambda: debug_lines(stack, "movies", new_pid), timeout=30,
                   what="debug lines of the restarted movies worker")
        # A reload sets the file's level again, without a restart.
        result = sup.ctl("reload")
        assert result.returncode == 0, result.stderr
        sup.wait_event("worker log level set", child="movies", level="info")
        time.sleep(1)  # lines already in the pipe arrive
        count = len(debug_lines(stack, "movies", new_pid))
        time.sleep(2)  # ten poll intervals: ten rounds
        assert len(debug_lines(stack, "movies", new_pid)) == count
        assert sup.pids()["movies"] == new_pid
        # The supervisor's own level, and the errors.
        result = sup.ctl("log-level", "supervisor", "debug")
        assert result.returncode == 0 and result.stdout == "supervisor debug\n"
        sup.status()  # a status request is logged at debug
        wait_until(lambda: sup.events("control command", command="status", level="debug"),
                   timeout=10, what="the supervisor's debug line")
        assert sup.ctl("log-level", "nosuch", "debug").returncode == EXIT_UNKNOWN_WORKER
        bad = sup.ctl("log-level", "movies", "loud")
        assert bad.returncode == EXIT_USAGE and "not one of" in bad.stderr
        assert sup.ctl("log-level", "movies").returncode == EXIT_USAGE
        result = sup.ctl("log-level", "all", "warn")
        assert result.returncode == 0
        assert sorted(result.stdout.splitlines()) == ["genres warn", "movies warn", "supervisor warn"]
        assert sup.pids() == {"genres": before["genres"], "movies": new_pid}
    finally:
        stack.close()


def test_a_plain_signal_without_a_level_changes_nothing(tmp_path, pg, es, catalog, bin_dir):
    """kill -USR2 by hand (no sigqueue value) neither kills the worker nor
    changes its level."""
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres"])
    try:
        sup = stack.sup
        sup.wait_caught_up(["genres"])
        pid = sup.pids()["genres"]
        os.kill(pid, signal.SIGUSR2)
        time.sleep(1)
        assert pid_alive(pid) and sup.pids()["genres"] == pid
        assert not debug_lines(stack, "genres", pid)
    finally:
        stack.close()

