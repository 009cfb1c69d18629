"""The Docker stack without a Docker engine: Debian's docker-compose
validates compose/docker-compose.yml with compose/.env.example, and every
path, script, build context and variable the file names is really there and
agrees with the rest of the repository.  tests/compose/ (make test-compose)
boots the stack for real; here, that its test override swaps only the
registry images.
"""

import copy
import os
import pathlib
import re
import shlex
import stat
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
COMPOSE_DIR = REPO / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
SERVICES = {"nginx", "admin", "postgres", "elasticsearch", "schema", "etl"}
# The service that runs once per up and exits (the schema upgrade).
ONE_SHOT = "schema"


def env_example():
    """The variables of compose/.env.example, as a dict."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def compose_config(env_file):
    """Runs `docker-compose config` with env_file; returns the CompletedProcess.

    The variables of .env.example are removed from the environment, so only
    the file speaks."""
    env = {k: v for k, v in os.environ.items() if k not in env_example()}
    env.pop("COMPOSE_FILE", None)
    env.pop("COMPOSE_PROJECT_NAME", None)
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def config():
    """The stack as docker-compose resolves it (variables substituted, paths absolute)."""
    proc = compose_config(ENV_EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def volumes_of(service):
    """A service's volumes as (source, target, mode) triples."""
    out = []
    for item in service.get("volumes", []):
        if isinstance(item, dict):
            out.append((item.get("source"), item["target"], "ro" if item.get("read_only") else "rw"))
        else:
            parts = item.split(":")
            out.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return out


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) pairs of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_compose_file_validates(config):
    assert set(config["services"]) == SERVICES


def test_secrets_are_files_never_environment(config):
    """Every password and key is a file secret under SECRETS_DIR, mounted at
    /run/secrets/NAME and named to its reader by a *_FILE variable; no
    service has a secret's value in its environment."""
    secret_dir = COMPOSE_DIR / "secrets"
    assert {name: pathlib.Path(s["file"]) for name, s in config["secrets"].items()} == {
        name: secret_dir / name
        for name in ("postgres_password", "catalog_owner_password", "app_db_password",
                     "etl_db_password", "django_secret_key")
    }
    expected = {
        "postgres": {"POSTGRES_PASSWORD_FILE": "postgres_password",
                     "CATALOG_OWNER_PASSWORD_FILE": "catalog_owner_password",
                     "APP_DB_PASSWORD_FILE": "app_db_password",
                     "ETL_DB_PASSWORD_FILE": "etl_db_password"},
        "etl": {"ETL_PG_PASSWORD_FILE": "etl_db_password"},
        "schema": {"CATALOG_OWNER_PASSWORD_FILE": "catalog_owner_password"},
        "admin": {"DJANGO_SECRET_KEY_FILE": "django_secret_key",
                  "APP_DB_PASSWORD_FILE": "app_db_password",
                  "CATALOG_OWNER_PASSWORD_FILE": "catalog_owner_password"},
    }
    for name, svc in config["services"].items():
        env = svc.get("environment", {})
        files = {k: v for k, v in env.items() if k.endswith("_FILE")}
        assert files == {k: f"/run/secrets/{v}" for k, v in expected.get(name, {}).items()}, name
        mounted = {s["source"] for s in svc.get("secrets", [])}
        assert mounted == set(expected.get(name, {}).values()), name
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|API_KEY", key) and not key.endswith("_FILE"):
                # the superuser's first password only: empty means generated
                assert (name, key, value) == ("admin", "DJANGO_SUPERUSER_PASSWORD", ""), key
    assert "compose/secrets/" in (REPO / ".gitignore").read_text().split()


def test_make_secrets_makes_every_secret_once(config, tmp_path):
    target = tmp_path / "secrets"
    subprocess.run([str(COMPOSE_DIR / "make-secrets.sh"), str(target)], check=True,
                   capture_output=True, timeout=60)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    made = {p.name: p.read_text() for p in target.iterdir()}
    assert set(made) == set(config["secrets"]) | {"elastic_password"}  # es8-secure's
    for name, text in made.items():
        assert re.fullmatch(r"[A-Za-z0-9_-]{40,}\n", text), name
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o644
    assert len(set(made.values())) == len(made)
    # run again: nothing changes
    subprocess.run([str(COMPOSE_DIR / "make-secrets.sh"), str(target)], check=True,
                   capture_output=True, timeout=60)
    assert {p.name: p.read_text() for p in target.iterdir()} == made


def test_every_variable_is_in_env_example():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    listed = set(env_example())
    assert used - listed == set(), "used in docker-compose.yml but not in .env.example"
    assert listed - used == set(), "in .env.example but not used by docker-compose.yml"


def test_real_env_is_not_committed():
    tracked = subprocess.run(
        ["git", "ls-files", "compose/.env", ".env"], cwd=REPO, capture_output=True, text=True
    ).stdout
    assert tracked == ""
    assert ".env" in (COMPOSE_DIR / ".gitignore").read_text().split()


def test_only_nginx_publishes_a_port(config):
    published = {name for name, svc in config["services"].items() if svc.get("ports")}
    assert published == {"nginx"}
    assert config["services"]["nginx"]["ports"] == ["127.0.0.1:8080:80/tcp"]


def test_internal_services_are_on_the_internal_network_only(config):
    assert config["networks"]["backend"]["internal"] is True
    for name in ("postgres", "elasticsearch", "schema", "etl"):
        assert set(config["services"][name]["networks"]) == {"backend"}
    assert set(config["services"]["nginx"]["networks"]) == {"frontend"}
    assert set(config["services"]["admin"]["networks"]) == {"backend", "frontend"}


def test_healthchecks_and_start_order(config):
    services = config["services"]
    for name, svc in services.items():
        if name == ONE_SHOT:
            assert svc.get("restart") == "no" and "healthcheck" not in svc
            continue
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert svc.get("restart") == "unless-stopped"
    depends = {
        name: {dep: cond["condition"] for dep, cond in svc.get("depends_on", {}).items()}
        for name, svc in services.items()
    }
    assert depends == {
        "postgres": {},
        "elasticsearch": {},
        "schema": {"postgres": "service_healthy"},
        "etl": {"postgres": "service_healthy", "schema": "service_completed_successfully",
                "elasticsearch": "service_healthy"},
        "admin": {"postgres": "service_healthy", "schema": "service_completed_successfully"},
        "nginx": {"admin": "service_healthy"},
    }


def test_named_volumes(config):
    assert set(config["volumes"]) == {"pg_data", "es_data", "etl_state", "static"}
    services = config["services"]
    named = {
        name: {(src, dst, mode) for src, dst, mode in volumes_of(svc) if "/" not in src}
        for name, svc in services.items()
    }
    assert named["postgres"] == {("pg_data", "/var/lib/postgresql/data", "rw")}
    assert named["elasticsearch"] == {("es_data", "/usr/share/elasticsearch/data", "rw")}
    assert named["etl"] == {("etl_state", services["etl"]["environment"]["ETL_STATE_DIR"], "rw")}
    # static: written by the admin's collectstatic, read by nginx
    assert named["admin"] == {("static", services["admin"]["environment"]["DJANGO_STATIC_ROOT"], "rw")}
    assert named["nginx"] == {("static", services["nginx"]["environment"]["STATIC_ROOT"], "ro")}


def test_bind_mounts_exist(config):
    for name, svc in config["services"].items():
        for src, dst, _ in volumes_of(svc):
            if "/" in src:
                assert pathlib.Path(src).exists(), f"{name}: {src} does not exist"
                assert pathlib.Path(src).resolve().is_relative_to(REPO)


def test_postgres_init_scripts(config):
    svc = config["services"]["postgres"]
    assert svc["image"] == "postgres:15"
    (src,) = [s for s, d, _ in volumes_of(svc) if d == "/docker-entrypoint-initdb.d"]
    initdb = pathlib.Path(src)
    assert initdb == REPO / "etc" / "postgres"
    # The image runs top-level *.sh / *.sql files only: init.sh, which reads
    # sql/ and data/ beside it.
    top_level = sorted(p.name for p in initdb.iterdir() if p.is_file())
    assert top_level == ["init.sh"]
    assert os.access(initdb / "init.sh", os.X_OK)
    init = (initdb / "init.sh").read_text()
    for ref in re.findall(r'\$here/((?:sql|data)/[\w.-]+)', init):
        assert (initdb / ref).exists(), ref
    assert (initdb / "data" / "load.sh").exists()
    # The passwords init.sh reads are all given, as files.
    needed = re.findall(r'^read_secret ([A-Z_]+)$', init, re.M)
    assert needed == ["CATALOG_OWNER_PASSWORD", "APP_DB_PASSWORD", "ETL_DB_PASSWORD"]
    for var in needed:
        assert svc["environment"][f"{var}_FILE"].startswith("/run/secrets/"), var
    assert svc["environment"]["POSTGRES_DB"] == "movies"


def test_elasticsearch_single_node_internal(config):
    svc = config["services"]["elasticsearch"]
    assert svc["image"] == "docker.elastic.co/elasticsearch/elasticsearch:8.14.1"
    env = svc["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert "ports" not in svc
    assert config["services"]["etl"]["environment"]["ETL_ES_URL"] == "http://elasticsearch:9200"


def test_build_contexts_and_dockerfiles(config):
    for name in ("admin", "etl"):
        build = config["services"][name]["build"]
        context = pathlib.Path(build["context"])
        assert context.is_dir(), f"{name}: build context {context}"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile}"
        for instr, args in dockerfile_instructions(dockerfile):
            if instr in ("COPY", "ADD") and "--from=" not in args:
                *sources, _dest = [a for a in shlex.split(args) if not a.startswith("--")]
                for source in sources:
                    found = [context] if source in (".", "./") else list(context.glob(source))
                    assert found, f"{name}: COPY {source} not in {context}"


def test_admin_image(config):
    context = pathlib.Path(config["services"]["admin"]["build"]["context"])
    assert context == COMPOSE_DIR / "admin"
    instructions = dockerfile_instructions(context / "Dockerfile")
    user = [args for instr, args in instructions if instr == "USER"]
    assert user and user[-1] not in ("root", "0")
    (entrypoint,) = [args for instr, args in instructions if instr == "ENTRYPOINT"]
    script = context / pathlib.Path(yaml.safe_load(entrypoint)[0]).relative_to("/opt/admin")
    assert script.is_file() and script.stat().st_mode & stat.S_IXUSR
    text = script.read_text()
    # migrations as the owner, static files into the volume, then the command
    # without the owner's password
    assert "migrate --database owner" in text and "collectstatic" in text
    assert text.index("unset CATALOG_OWNER_PASSWORD") < text.index('exec "$@"')
    healthcheck = config["services"]["admin"]["healthcheck"]["test"]
    assert (context / pathlib.Path(healthcheck[-1]).relative_to("/opt/admin")).is_file()
    # gunicorn listens where nginx sends the requests
    upstream = config["services"]["nginx"]["environment"]["ADMIN_UPSTREAM"]
    assert upstream == "admin:8000"
    assert '"GUNICORN_BIND", "0.0.0.0:8000"' in (context / "gunicorn.conf.py").read_text()
    requirements = (context / "requirements.txt").read_text()
    pins = [l for l in requirements.splitlines() if l and not l.startswith("#")]
    assert pins and all(re.fullmatch(r"[\w.\[\]-]+==[\w.]+", p) for p in pins), pins
    assert re.search(r"^Django==5\.2\.\d+$", requirements, re.M)


def test_etl_image(config, tmp_path):
    build = config["services"]["etl"]["build"]
    assert pathlib.Path(build["context"]) == REPO
    dockerfile = REPO / build["dockerfile"]
    instructions = dockerfile_instructions(dockerfile)
    stages = [args for instr, args in instructions if instr == "FROM"]
    assert stages == ["debian:12 AS build", "debian:12-slim"]
    runs = " ".join(args for instr, args in instructions if instr == "RUN")
    for pkg in ("build-essential", "pkg-config", "libpq-dev", "libcurl4-openssl-dev",
                "libjansson-dev", "libinih-dev", "libpq5", "libcurl4", "libjansson4", "libinih1"):
        assert re.search(rf"\b{re.escape(pkg)}\b", runs), pkg
    assert "make install PREFIX=/opt/etl" in runs
    user = [args for instr, args in instructions if instr == "USER"]
    assert user and user[-1] not in ("root", "0")
    (cmd,) = [yaml.safe_load(args) for instr, args in instructions if instr == "CMD"]
    assert cmd == ["etl-supervisor", "-c", "/opt/etl/etc/etl/etl.ini"]

    # `make install PREFIX=/opt/etl` puts there what the image's CMD and the
    # compose healthcheck run (installed into a scratch DESTDIR here).
    # A build directory of its own: the binaries under test stay as built.
    build = tmp_path / "build"
    proc = subprocess.run(
        ["make", "-s", "-j2", "install", "PREFIX=/opt/etl", f"DESTDIR={tmp_path}",
         f"BUILD={build}", f"BIN={build}/bin"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = tmp_path / "opt" / "etl"
    for program in ("etl-supervisor", "etl-worker", "etlctl"):
        assert os.access(root / "bin" / program, os.X_OK), program
    ini = root / "etc" / "etl" / "etl.ini"
    assert ini.is_file()
    health = config["services"]["etl"]["healthcheck"]["test"]
    assert health[1] == "etlctl" and "/opt/etl/etc/etl/etl.ini" in health
    # Files the config names (under DATADIR, /opt/etl/share/etl) are
    # installed too.
    for key, value in re.findall(r"^(mapping|documents|changes)\s*=\s*(.+)$", ini.read_text(), re.M):
        for path in value.split():
            assert path.startswith("/opt/etl/share/etl/"), f"{key}: {path}"
            assert (tmp_path / path.lstrip("/")).is_file(), f"{key}: {path}"


def test_etl_environment_matches_etl_ini(config):
    ini = (REPO / "etc" / "etl.ini").read_text()
    read_by_ini = set(re.findall(r"\$\{([A-Z0-9_]+)", ini))
    env = config["services"]["etl"]["environment"]
    for name in env:
        assert name in read_by_ini or name in ini, f"{name} is not read by etc/etl.ini"
    for required in ("ETL_PG_HOST", "ETL_PG_PORT", "ETL_PG_DBNAME", "ETL_PG_USER",
                     "ETL_PG_PASSWORD_FILE", "ETL_ES_URL", "ETL_STATE_DIR"):
        assert required in env
    assert env["ETL_PG_USER"] == "etl"
    assert env["ETL_PG_HOST"] == "postgres"


def test_nginx_uses_the_shared_template(config, tmp_path):
    svc = config["services"]["nginx"]
    mounts = {dst: src for src, dst, _ in volumes_of(svc)}
    script = svc["entrypoint"][1]
    mount_dir = next(dst for dst in mounts if script.startswith(dst + "/"))
    host_script = pathlib.Path(mounts[mount_dir]) / pathlib.Path(script).relative_to(mount_dir)
    assert host_script == COMPOSE_DIR / "nginx" / "render.sh"
    assert (host_script.parent / "nginx.conf.template").is_file()
    rendered = svc["entrypoint"][2]
    assert svc["command"][:3] == ["nginx", "-c", rendered]

    # Render it as the container would, then let Debian's nginx check it
    # (with a local user and upstream: the container's do not exist here).
    env = dict(os.environ, **svc["environment"], NGINX_TEMP_DIR=str(tmp_path / "tmp"))
    out = tmp_path / "nginx.conf"
    subprocess.run([str(host_script), str(out)], env=env, check=True, timeout=30)
    text = out.read_text()
    assert "${" not in text
    assert f"alias {svc['environment']['STATIC_ROOT']}/;" in text
    assert "server admin:8000;" in text and "listen 80;" in text
    assert "$proxy_add_x_forwarded_for" in text  # nginx's own variables are kept
    local = text.replace("user nginx;", "user root;").replace("server admin:8000;", "server 127.0.0.1:9;")
    local = local.replace("listen 80;", "listen 127.0.0.1:9;")
    out.write_text(local)
    check = subprocess.run(
        ["nginx", "-t", "-q", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(out)],
        capture_output=True, text=True, timeout=30,
    )
    assert check.returncode == 0, check.stderr


def test_admin_base_image_is_a_build_argument_defaulting_to_the_official_one(config):
    instructions = dockerfile_instructions(COMPOSE_DIR / "admin" / "Dockerfile")
    assert instructions[0] == ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm")
    assert instructions[1] == ("FROM", "${PYTHON_IMAGE}")
    # the production stack passes no build argument: the official image
    assert "args" not in config["services"]["admin"]["build"]


def test_test_override_only_swaps_registry_images(config):
    """compose/docker-compose.test.yml (make test-compose) replaces the
    registry images with locally built, honestly named ones, the admin
    image's base, and the search node's ulimits; nothing else."""
    override = yaml.safe_load((COMPOSE_DIR / "docker-compose.test.yml").read_text())
    assert set(override) == {"services"}
    services = override["services"]
    assert services == {
        "postgres": {"image": "etl-test/postgres-debian:15"},
        "elasticsearch": {"image": "etl-test/opensearch-debian:2.19.1",
                          "ulimits": {"nofile": {"soft": 20000, "hard": 20000},
                                      "nproc": {"soft": 32768, "hard": 32768}}},
        "admin": {"build": {"args": {"PYTHON_IMAGE": "etl-test/python-debian:3.11"}}},
        "nginx": {"image": "etl-test/nginx-debian:1.22"},
    }
    env = {k: v for k, v in os.environ.items() if k not in env_example()}
    proc = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE),
         "-f", str(COMPOSE_DIR / "docker-compose.test.yml"), "config"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout)
    # Put the production values back: the rest must be the production stack
    # (up to what merging writes differently: a network's None as {}, the
    # order of volumes and secrets).
    for name, svc in services.items():
        for key in svc:
            if key == "build":
                del merged["services"][name]["build"]["args"]
            else:
                merged["services"][name][key] = config["services"][name][key]

    def normal(stack):
        for svc in stack["services"].values():
            svc["networks"] = {k: v or {} for k, v in svc.get("networks", {}).items()}
            svc["volumes"] = sorted(map(str, svc.get("volumes", [])))
            svc["secrets"] = sorted(map(str, svc.get("secrets", [])))
        return stack

    assert normal(merged) == normal(copy.deepcopy(config))


def test_es8_secure_override(tmp_path):
    """compose/docker-compose.es8-secure.yml merges with the stack: security
    on over https with the certificates es-setup makes, the elastic password
    from a secret, and the ETL on https with the CA and the API key es-setup
    writes, the key's privileges as docs/docker.md lists them."""
    env = {k: v for k, v in os.environ.items() if k not in env_example()}
    proc = subprocess.run(
        ["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE),
         "-f", str(COMPOSE_DIR / "docker-compose.es8-secure.yml"), "config"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout)
    services = merged["services"]
    assert set(services) == SERVICES | {"es-setup"}
    es = services["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert es["xpack.security.http.ssl.enabled"] == "true"
    assert es["ELASTIC_PASSWORD_FILE"] == "/run/secrets/elastic_password"
    assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in es)
    assert merged["secrets"]["elastic_password"]["file"] == str(COMPOSE_DIR / "secrets" / "elastic_password")
    assert services["elasticsearch"]["depends_on"] == {"es-setup": {"condition": "service_healthy"}}
    etl = services["etl"]
    assert etl["environment"]["ETL_ES_URL"] == "https://elasticsearch:9200"
    assert etl["environment"]["ETL_ES_CA_FILE"] == "/etc/etl-es/ca.crt"
    assert etl["environment"]["ETL_ES_API_KEY_FILE"] == "/etc/etl-es/api_key"
    assert "etl_es_key:/etc/etl-es:ro" in etl["volumes"]
    assert etl["depends_on"]["es-setup"] == {"condition": "service_completed_successfully"}
    # the API key's privileges: in the setup script, and the same in the docs
    script = services["es-setup"]["command"][0]
    role = re.search(r'"cluster": \[([^\]]*)\].*"names": \[([^\]]*)\].*"privileges": \[([^\]]*)\]',
                     script, re.S)
    assert role, script
    cluster, names, privileges = (re.findall(r'"([^"]+)"', g) for g in role.groups())
    assert cluster == ["monitor"]
    assert names == ["movies*", "genres*", "persons*"]
    assert privileges == ["create_index", "delete_index", "manage", "read", "write",
                          "view_index_metadata"]
    docs = (REPO / "docs" / "docker.md").read_text()
    for privilege in cluster + names + privileges:
        assert f"`{privilege}`" in docs, privilege


def test_init_sh_reads_password_files_and_refuses_placeholders(tmp_path):
    """etc/postgres/init.sh takes each role's password from NAME_FILE (the
    compose secrets) and stops on a "change-me" placeholder before it
    connects anywhere."""
    files = {}
    for name in ("CATALOG_OWNER_PASSWORD", "APP_DB_PASSWORD", "ETL_DB_PASSWORD"):
        files[name] = tmp_path / name.lower()
        files[name].write_text("Xq7real" + name.lower() + "\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    base.update({f"{k}_FILE": str(v) for k, v in files.items()})
    # No server there: with real passwords it gets as far as psql.
    base.update(PGHOST=str(tmp_path / "no-server"), PGCONNECT_TIMEOUT="2")
    init = REPO / "etc" / "postgres" / "init.sh"
    real = subprocess.run([str(init)], env=base, capture_output=True, text=True, timeout=60)
    assert real.returncode != 0 and "psql" in real.stderr, real.stderr
    assert "placeholder" not in real.stderr
    files["APP_DB_PASSWORD"].write_text("change-me-app\n")
    refused = subprocess.run([str(init)], env=base, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr == (f"init.sh: APP_DB_PASSWORD_FILE ({files['APP_DB_PASSWORD']}): "
                              "placeholder secret, set a real one\n")
    env = dict(base, ETL_DB_PASSWORD="change-me-etl")
    del env["ETL_DB_PASSWORD_FILE"]
    files["APP_DB_PASSWORD"].write_text("Xq7real\n")
    refused = subprocess.run([str(init)], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr == "init.sh: ETL_DB_PASSWORD: placeholder secret, set a real one\n"
