"""Bad input, clear errors, nothing lost: the real etl-worker and
etl-supervisor on broken files.

- configuration: each broken file makes both programs exit 78 (EX_CONFIG)
  with exactly "PROGRAM: FILE:LINE: KEY: REASON" on stderr; none is taken
  with another meaning.  No service is needed: the file is refused first.
- SQL from etc/sql (copies changed one way each): documents.sql returning a
  NULL id, an id twice, an id it was not asked for (not a uuid, or a uuid
  in capitals), a NULL document or a third column, a first change source
  that is not the index's own rows, a change source whose doc_id is not a
  uuid: the worker exits 78 naming the file, and sends nothing.
"""
import os
import pathlib
import subprocess

import pytest

from etlproc import (ETC, assert_no_sanitizer_report, clean_env, make_config, render_config,
                     run_worker)

EX_CONFIG = 78
MEGABYTE = 1024 * 1024

# --- Configuration -----------------------------------------------------------


def base_config(tmp_path):
    """The shipped etc/etl.ini, paths made absolute, state in tmp_path."""
    return render_config({("etl", "state_dir"): str(tmp_path / "state"),
                          ("supervisor", "control_socket"): str(tmp_path / "control.sock")})


def replace_line(text, start, new):
    """text with its first line starting with start replaced by new."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(start))
    lines[at] = new
    return "\n".join(lines) + "\n"


def insert_after(text, header, new):
    """text with new inserted right after the line header."""
    lines = text.splitlines()
    at = lines.index(header)
    lines.insert(at + 1, new)
    return "\n".join(lines) + "\n"


def without_index_sections(text):
    """text up to its first [index.NAME] section (and its comments)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("[index."))
    return "\n".join(lines[:at]) + "\n"


def line_of(data, marker):
    """The number of the first line of data (bytes) starting with marker."""
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.startswith(marker):
            return number
    raise AssertionError(f"{marker!r} not in the file")


def last_line(data):
    return data.count(b"\n")


# One broken file: how to make it from the shipped file, the line the
# message must name (a marker found on it, or a function of the bytes), and
# "KEY: REASON".  FILE is the path the programs were given.
CASES = [
    ("unknown key", lambda t: insert_after(t, "[etl]", "batch_sise = 5"),
     b"batch_sise", "batch_sise: unknown key in section [etl]"),
    ("key of another section", lambda t: insert_after(t, "[postgres]", "url = http://x"),
     b"url = http://x", "url: unknown key in section [postgres]"),
    ("unknown section", lambda t: t + "[elastic]\nurl = http://x\n",
     b"[elastic]", "elastic: unknown section"),
    ("key twice", lambda t: insert_after(t, "[etl]", "batch_size = 7"),
     b"batch_size = 500", "batch_size: set twice"),
    ("key outside a section", lambda t: "batch_size = 5\n" + t,
     b"batch_size = 5", "batch_size: key outside any section"),
    ("no index section", without_index_sections,
     last_line, "[index.NAME]: at least one index section is required"),
    ("required key missing", lambda t: replace_line(t, "mapping = ", "; no mapping"),
     b"[index.movies]", "mapping: required in section [index.movies]"),
    ("number out of range", lambda t: replace_line(t, "batch_size = ", "batch_size = 0"),
     b"batch_size = 0", "batch_size: \"0\" is not a whole number from 1 to 10000"),
    ("number with a unit", lambda t: replace_line(t, "poll_interval_ms = ", "poll_interval_ms = 1s"),
     b"poll_interval_ms = 1s", "poll_interval_ms: \"1s\" is not a whole number from 100 to 3600000"),
    ("port out of range", lambda t: replace_line(t, "port = ", "port = 70000"),
     b"port = 70000", "port: \"70000\" is not a port from 1 to 65535"),
    ("log level", lambda t: replace_line(t, "log_level = ", "log_level = verbose"),
     b"log_level = verbose", "log_level: \"verbose\" is not one of debug, info, warn, error"),
    ("url scheme", lambda t: replace_line(t, "url = ", "url = ftp://es:9200"),
     b"url = ftp://es:9200", "url: \"ftp://es:9200\" is not an http:// or https:// URL"),
    ("socket mode", lambda t: replace_line(t, "control_socket_mode = ", "control_socket_mode = 0644"),
     b"control_socket_mode = 0644", "control_socket_mode: \"0644\" is not 0600 or 0660"),
    ("max below initial", lambda t: replace_line(t, "backoff_max_ms = ", "backoff_max_ms = 100"),
     b"backoff_max_ms = 100", "backoff_max_ms: must not be below backoff_initial_ms"),
    ("prune interval", lambda t: replace_line(t, "change_log_prune_interval_s = ",
                                              "change_log_prune_interval_s = 59"),
     b"change_log_prune_interval_s = 59",
     "change_log_prune_interval_s: \"59\" is not 0 (off) or a whole number from 60 to 86400"),
    ("not key = value", lambda t: insert_after(t, "[etl]", "batch_size 500"),
     b"batch_size 500", "syntax: not a section header, key = value, comment or blank line"),
    ("unclosed header", lambda t: t.replace("[postgres]", "[postgres"),
     b"[postgres", "syntax: not a section header, key = value, comment or blank line"),
    ("index section name", lambda t: t.replace("[index.genres]", "[index.Genres]"),
     b"[index.Genres]", "index.Genres: index name must be 1-40 characters of a-z, 0-9, _ and -"),
    ("search index name", lambda t: replace_line(t, "index = ${ETL_INDEX_MOVIES", "index = Movies"),
     b"index = Movies", "index: \"Movies\" is not a valid Elasticsearch index name (lowercase; "
                        "none of \\/*?\"<>|,#: or spaces; not starting with -, _ or +)"),
    ("changes empty", lambda t: replace_line(t, "changes = ", "changes ="),
     b"changes =", "changes: needs at least one SQL file"),
    ("changes sharing a base name", lambda t: replace_line(t, "changes = ", "changes = /a/x.sql /b/x.sql"),
     b"changes = /a/x.sql", "changes: two files with one base name (each names a cursor in the "
                            "state file)"),
    ("unset variable", lambda t: replace_line(t, "user = ${ETL_PG_USER", "user = ${ETL_TEST_UNSET}"),
     b"user = ${ETL_TEST_UNSET}", "user: environment variable ETL_TEST_UNSET is not set and has no default"),
    ("partial expansion", lambda t: replace_line(t, "state_dir = ", "state_dir = ${HOME}/state"),
     b"state_dir = ${HOME}", "state_dir: \"${HOME}/state\": ${NAME} is expanded only as the whole value, "
                       "never inside one"),
    ("nested default", lambda t: replace_line(t, "host = ", "host = ${ETL_TEST_A:-${ETL_TEST_B}}"),
     b"host = ${ETL_TEST_A", "host: \"${ETL_TEST_A:-${ETL_TEST_B}}\": a default may not hold ${ or } "
                    "(no nesting)"),
    ("shell form that is not ours", lambda t: replace_line(t, "host = ", "host = ${ETL_TEST_A-db}"),
     b"host = ${ETL_TEST_A", "host: \"${ETL_TEST_A-db}\": \"ETL_TEST_A-db\" is not a variable name "
                    "(letters, digits and _, at most 127)"),
    ("inline comment", lambda t: replace_line(t, "batch_size = ", "batch_size = 500 ; rows"),
     b"batch_size = 500 ; rows", "batch_size: \" ;\" in a value: a comment or part of it? (put comments on lines "
                "of their own)"),
    ("semicolon in a list", lambda t: t.replace("genre.sql /", "genre.sql ;/", 1),
     b"changes = ", "changes: \" ;\" in a value: a comment or part of it? (put comments on lines "
                     "of their own)"),
    ("latin-1 comment", lambda t: insert_after(t, "[etl]", "; caf\udce9"),
     b"; caf", "encoding: not UTF-8 at column 6 (byte 0xE9)"),
    ("latin-1 value", lambda t: replace_line(t, "dbname = ", "dbname = fran\udce7ais"),
     b"dbname = fran", "encoding: not UTF-8 at column 14 (byte 0xE7)"),
    ("NUL byte", lambda t: replace_line(t, "batch_size = ", "batch_size = 5\x00junk"),
     b"batch_size = 5", "encoding: a NUL byte at column 15"),
    ("1 MB line", lambda t: insert_after(t, "[etl]", ";" + "x" * MEGABYTE),
     b";xxxx", "line: longer than 4094 bytes"),
]


def write_case(tmp_path, make):
    """Writes the broken file; returns its path and bytes (surrogate escapes
    stand for raw bytes that are not UTF-8)."""
    data = make(base_config(tmp_path)).encode("utf-8", "surrogateescape")
    path = tmp_path / "etl.ini"
    path.write_bytes(data)
    return path, data


def expect_refused(bin_dir, path, message):
    """Both programs exit 78 with exactly message (after "PROGRAM: ")."""
    for program, args in (("etl-worker", ["--index", "movies", "-c", path]),
                          ("etl-supervisor", ["-c", path])):
        r = subprocess.run([pathlib.Path(bin_dir) / program, *map(str, args)], capture_output=True,
                           text=True, errors="replace", env=clean_env(), timeout=30,
                           stdin=subprocess.DEVNULL)
        assert_no_sanitizer_report(r.stderr, program)
        assert r.returncode == EX_CONFIG, (program, r.returncode, r.stderr)
        assert r.stderr == f"{program}: {message}\n", (program, r.stderr)


@pytest.mark.parametrize("name,make,where,error", CASES, ids=[c[0] for c in CASES])
def test_broken_config_exits_78_with_file_line_key(tmp_path, bin_dir, name, make, where, error):
    path, data = write_case(tmp_path, make)
    line = where(data) if callable(where) else line_of(data, where)
    expect_refused(bin_dir, path, f"{path}:{line}: {error}")


def test_section_twice_names_both_lines(tmp_path, bin_dir):
    path, data = write_case(tmp_path, lambda t: t + "[etl]\n")
    first = line_of(data, b"[etl]")
    expect_refused(bin_dir, path, f"{path}:{last_line(data)}: etl: section appears twice "
                                  f"(first at line {first})")


def test_directory_instead_of_file(tmp_path, bin_dir):
    expect_refused(bin_dir, tmp_path, f"{tmp_path}:0: file: cannot open: a directory, not a file")


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path, bin_dir):
    fifo = tmp_path / "etl.ini"
    os.mkfifo(fifo)
    expect_refused(bin_dir, fifo, f"{fifo}:0: file: cannot open: not a regular file "
                                  "(a FIFO, socket or device)")


def test_missing_file(tmp_path, bin_dir):
    path = tmp_path / "nope.ini"
    expect_refused(bin_dir, path, f"{path}:0: file: cannot open: No such file or directory")


def test_unreadable_file(tmp_path, bin_dir):
    if os.geteuid() == 0:
        pytest.skip("root reads a mode 000 file (CAP_DAC_OVERRIDE); the directory and FIFO "
                    "tests stand in for a file that cannot be read")
    path, _ = write_case(tmp_path, lambda t: t)
    path.chmod(0)
    expect_refused(bin_dir, path, f"{path}:0: file: cannot open: Permission denied")


# --- SQL from etc/sql ----------------------------------------------------------

FIRST_FILM = "(SELECT id::text FROM content.film_work ORDER BY modified, id LIMIT 1)"


def shipped_sql(name):
    """The text of etc/sql/movies/NAME without its comment lines."""
    return "\n".join(line for line in (ETC / "sql" / "movies" / name).read_text().splitlines()
                     if not line.lstrip().startswith("--"))


def run_until_exit(tmp_path, pg, es, catalog, bin_dir, overrides):
    """Runs the movies worker on a config with overrides; returns it after
    it exited 78, and the index's name.  Nothing was sent."""
    config, names = make_config(tmp_path, pg, es, catalog, overrides=overrides)
    w = run_worker(bin_dir, config)
    try:
        assert w.wait(timeout=120) == EX_CONFIG, w.text()[-3000:]
    finally:
        w.close()
    assert not w.events("batch"), w.text()[-3000:]
    assert es.count(names["movies"]) == 0
    return w, config


def bad_sql_error(w):
    errors = w.events("bad SQL for this index")
    assert len(errors) == 1, w.text()[-3000:]
    return errors[0]["error"]


DOCUMENTS_CASES = [
    ("NULL id", f"SELECT CASE WHEN id = {FIRST_FILM} THEN NULL ELSE id END AS id, document FROM ({{}}) d",
     "documents.sql returned a NULL id"),
    ("id twice", f"SELECT id, document FROM ({{0}}) d UNION ALL SELECT id, document FROM ({{0}}) e "
                 f"WHERE id = {FIRST_FILM}",
     "documents.sql returned an id twice"),
    ("not a uuid", f"SELECT CASE WHEN id = {FIRST_FILM} THEN 'film-1' ELSE id END AS id, document "
                   "FROM ({}) d",
     "documents.sql returned an id it was not asked for"),
    ("uuid in capitals", "SELECT upper(id) AS id, document FROM ({}) d",
     "documents.sql returned an id it was not asked for"),
    ("NULL document", f"SELECT id, CASE WHEN id = {FIRST_FILM} THEN NULL ELSE document END AS document "
                      "FROM ({}) d",
     "documents.sql returned a NULL document"),
]


@pytest.mark.parametrize("name,wrap,reason", DOCUMENTS_CASES, ids=[c[0] for c in DOCUMENTS_CASES])
def test_documents_sql_contract_broken_exits_78_and_sends_nothing(tmp_path, pg, es, catalog, bin_dir,
                                                                  name, wrap, reason):
    documents = tmp_path / "documents.sql"
    inner = shipped_sql("documents.sql")
    documents.write_text(wrap.format(inner) if "{0}" in wrap else wrap.replace("{}", inner))
    w, _ = run_until_exit(tmp_path, pg, es, catalog, bin_dir,
                          {("index.movies", "documents"): str(documents)})
    assert bad_sql_error(w) == f"{documents}: {reason}"
    assert w.events(reason), w.text()[-3000:]


def test_documents_sql_with_a_third_column_exits_78(tmp_path, pg, es, catalog, bin_dir):
    documents = tmp_path / "documents.sql"
    documents.write_text(f"SELECT id, document, 1 AS extra FROM ({shipped_sql('documents.sql')}) d")
    w, _ = run_until_exit(tmp_path, pg, es, catalog, bin_dir,
                          {("index.movies", "documents"): str(documents)})
    assert bad_sql_error(w) == "documents: the document query must return (id, document)"


def test_first_change_source_must_be_the_index_rows(tmp_path, pg, es, catalog, bin_dir):
    """person.sql first: its doc_ids are films, its ids persons.  The SQL
    text cannot say which file lists the index's own rows; the rows can."""
    changes = " ".join(str(ETC / "sql" / "movies" / f) for f in
                       ("person.sql", "film_work.sql", "genre.sql", "change_log.sql"))
    w, config = run_until_exit(tmp_path, pg, es, catalog, bin_dir,
                               {("index.movies", "changes"): changes})
    line = next(i for i, l in enumerate(config.read_text().splitlines(), 1) if l.startswith("changes ="))
    error = bad_sql_error(w)
    prefix = (f"{config}:{line}: changes: the first file must list the index's own rows "
              f"(doc_id = id), and {ETC / 'sql' / 'movies' / 'person.sql'} returned id ")
    assert error.startswith(prefix), error


def test_change_source_doc_id_not_a_uuid_exits_78(tmp_path, pg, es, catalog, bin_dir):
    source = tmp_path / "film_work.sql"
    source.write_text(f"SELECT txid, id, 'film:' || doc_id AS doc_id, modified FROM ({shipped_sql('film_work.sql')}) c")
    changes = " ".join([str(source)] + [str(ETC / "sql" / "movies" / f) for f in
                                        ("person.sql", "genre.sql", "change_log.sql")])
    w, _ = run_until_exit(tmp_path, pg, es, catalog, bin_dir, {("index.movies", "changes"): changes})
    error = bad_sql_error(w)
    assert error.startswith(f"{source}: row 1: doc_id \"film:"), error
    assert error.endswith("\" is not a uuid"), error
