"""etl-supervisor --check [--connect]: the configuration checked without
starting anything, every problem reported at once as FILE:LINE: KEY: REASON
(one a line), exit 0 / 78 (configuration) / 69 (a server unreachable), with
the real PostgreSQL and search node of the tests."""
import re
import subprocess

from etlproc import ETC, clean_env, free_port, make_config

EXIT_CONFIG, EXIT_UNAVAILABLE = 78, 69
INDICES = ["movies", "genres", "persons"]


def check(bin_dir, config, *args):
    return subprocess.run([str(bin_dir / "etl-supervisor"), "--check", *args, "-c", str(config)],
                          capture_output=True, text=True, timeout=120, env=clean_env())


def line_of(config, text):
    """The line number of the first line of config that starts with text."""
    for number, line in enumerate(config.read_text().splitlines(), 1):
        if line.startswith(text):
            return number
    raise AssertionError(f"{text!r} not in {config}")


def error_lines(result, config):
    lines = result.stderr.splitlines()
    for line in lines:
        assert re.match(rf"^{re.escape(str(config))}:\d+: [^:]+: .+", line), line
    return lines


def test_check_passes_a_good_file(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=INDICES)
    result = check(bin_dir, config)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == f"{config}: ok (3 indices)\n"


def test_check_reports_every_error_at_once(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=INDICES, overrides={
        ("etl", "batch_size"): "0",
        ("etl", "bogus_key"): "1",
        ("postgres", "port"): "99999",
        ("supervisor", "restart_initial_ms"): "5000",
        ("supervisor", "restart_max_ms"): "1000",
    })
    result = check(bin_dir, config)
    assert result.returncode == EXIT_CONFIG
    lines = error_lines(result, config)
    expected = [
        f"{config}:{line_of(config, 'batch_size =')}: batch_size: \"0\" is not a whole number",
        f"{config}:{line_of(config, 'bogus_key =')}: bogus_key: unknown key in section [etl]",
        f"{config}:{line_of(config, 'port =')}: port: \"99999\" is not a port",
        f"{config}:{line_of(config, 'restart_max_ms =')}: restart_max_ms: must not be below",
    ]
    assert len(lines) == len(expected), result.stderr
    for line, start in zip(lines, expected):
        assert line.startswith(start), (line, start)
    assert result.stdout == ""


def test_check_parses_the_mapping_files(tmp_path, pg, es, catalog, bin_dir):
    broken = tmp_path / "genres.json"
    broken.write_text((ETC / "elasticsearch/genres.json").read_text()[:-20])
    no_mappings = tmp_path / "persons.json"
    no_mappings.write_text('{"settings": {}}\n')
    config, _ = make_config(tmp_path, pg, es, catalog, indices=INDICES, overrides={
        ("index.genres", "mapping"): str(broken),
        ("index.persons", "mapping"): str(no_mappings),
        ("index.movies", "documents"): str(tmp_path / "missing.sql"),
    })
    result = check(bin_dir, config)
    assert result.returncode == EXIT_CONFIG
    lines = error_lines(result, config)
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith(f"{config}:{line_of(config, 'documents = ' + str(tmp_path))}: "
                               f"documents: {tmp_path}/missing.sql: cannot read")
    assert lines[1].startswith(f"{config}:{line_of(config, 'mapping = ' + str(broken))}: "
                               f"mapping: {broken}:")
    assert lines[2] == (f"{config}:{line_of(config, 'mapping = ' + str(no_mappings))}: "
                        f"mapping: {no_mappings}: no \"mappings\" object")


def test_check_reads_the_secret_files(tmp_path, pg, es, catalog, bin_dir):
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    config, _ = make_config(tmp_path, pg, es, catalog, indices=INDICES, overrides={
        # A directory cannot be read as a file (the tests run as root, who
        # reads a file of mode 000).
        ("postgres", "password_file"): str(tmp_path),
        ("elasticsearch", "api_key_file"): str(empty),
        ("elasticsearch", "ca_file"): str(tmp_path / "missing-ca.pem"),
    })
    result = check(bin_dir, config)
    assert result.returncode == EXIT_CONFIG
    lines = error_lines(result, config)
    assert len(lines) == 3, result.stderr
    assert f": password_file: {tmp_path}: cannot read password file" in lines[0]
    assert lines[1].endswith(f": api_key_file: {empty}: the first line is empty")
    assert f": ca_file: {tmp_path}/missing-ca.pem: cannot read" in lines[2]


def test_connect_reaches_postgres_and_the_search_node(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=INDICES)
    result = check(bin_dir, config, "--connect")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{config}: ok (3 indices; PostgreSQL and the search node"
                             " reached)\n")


def test_connect_with_postgres_down_exits_69(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=["movies"], overrides={
        ("postgres", "port"): str(free_port()),
    })
    # Without --connect the file is right.
    assert check(bin_dir, config).returncode == 0
    result = check(bin_dir, config, "--connect")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert re.search(rf"^{re.escape(str(config))}:0: postgres: connect: .*refused", result.stderr,
                     re.M), result.stderr


def test_connect_with_the_search_node_down_exits_69(tmp_path, pg, es, catalog, bin_dir):
    config, _ = make_config(tmp_path, pg, es, catalog, indices=["movies"], overrides={
        ("elasticsearch", "url"): f"http://127.0.0.1:{free_port()}",
        ("elasticsearch", "connect_timeout_ms"): "500",
    })
    result = check(bin_dir, config, "--connect")
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert re.search(rf"^{re.escape(str(config))}:0: elasticsearch: GET /: ", result.stderr,
                     re.M), result.stderr


def test_connect_prepares_the_sql(tmp_path, pg, es, catalog, bin_dir):
    bad = tmp_path / "genre.sql"
    bad.write_text((ETC / "sql/genres/genre.sql").read_text().replace("FROM", "FORM", 1))
    config, _ = make_config(tmp_path, pg, es, catalog, indices=["genres"], overrides={
        ("index.genres", "changes"): f"{bad} {ETC}/sql/genres/change_log.sql",
    })
    assert check(bin_dir, config).returncode == 0
    result = check(bin_dir, config, "--connect")
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "syntax error" in result.stderr
