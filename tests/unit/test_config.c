/* test_config.c - config_load: the shipped etc/etl.ini, ${VAR} expansion,
 * paths, defaults, and every error it can give, as a table of rejected
 * files with their whole "FILE:LINE: KEY: REASON" messages;
 * config_read_secret. */
#include "config.h"
#include "secrets.h"
#include "url_list.h"
#include "util.h"

#include "unit_helpers.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static char tmp_dir[PATH_MAX];

/* A valid index section, 4 lines, for the tests about other sections. */
#define INDEX_SECTION                                                                              \
    "[index.movies]\n"                                                                             \
    "mapping = m.json\n"                                                                           \
    "documents = d.sql\n"                                                                          \
    "changes = a.sql b.sql\n"

static int setup(void **state)
{
    (void)state;
    ut_make_temp_dir(tmp_dir, sizeof tmp_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ut_remove_tree(tmp_dir);
    return 0;
}

/* Removes every ETL_* variable, so the shipped file's defaults apply. */
static void clear_etl_environment(void)
{
    char names[64][128];
    size_t count = 0;
    for (char **env = environ; *env != NULL && count < 64; env++) {
        size_t len = strcspn(*env, "=");
        if (strncmp(*env, "ETL_", 4) == 0 && len < sizeof names[0])
            snprintf(names[count++], sizeof names[0], "%.*s", (int)len, *env);
    }
    for (size_t i = 0; i < count; i++)
        unsetenv(names[i]);
}

/* The config and file of the current test, freed by its teardown even when
 * an assertion fails half-way (so the ASan build reports only real leaks). */
static struct etl_config loaded;
static char *loaded_path;

static void release(void)
{
    config_free(&loaded);
    free(loaded_path);
    loaded_path = NULL;
}

static int cleanup(void **state)
{
    (void)state;
    release();
    return 0;
}

/* Loads text written to a new temp INI file into loaded. */
static int load_text(const char *text, char *err, size_t err_size)
{
    release();
    loaded_path = ut_temp_file(tmp_dir, text);
    err[0] = '\0';
    return config_load(loaded_path, &loaded, err, err_size);
}

/* Loads text, which must be valid, into loaded; returns the file's path. */
static const char *load_ok(const char *text)
{
    char err[CONFIG_ERROR_MAX];
    if (load_text(text, err, sizeof err) != 0)
        fail_msg("config_load failed: %s", err);
    return loaded_path;
}

/* Loads text, which must fail with exactly "PATH:" followed by error
 * ("LINE: KEY: REASON"). */
static void expect_error(const char *text, const char *error)
{
    char err[CONFIG_ERROR_MAX];
    int rc = load_text(text, err, sizeof err);
    if (rc != -1)
        fail_msg("accepted, expected \"%s\" for:\n%s", error, text);
    char expected[PATH_MAX + CONFIG_ERROR_MAX];
    snprintf(expected, sizeof expected, "%s:%s", loaded_path, error);
    if (strcmp(err, expected) != 0)
        fail_msg("error\n  \"%s\", expected\n  \"%s\" for:\n%s", err, expected, text);
}

/* The repository's etc/etl.ini, found from this file's path as compiled
 * (the Makefile compiles tests/unit/test_config.c from the repository). */
static void shipped_ini_path(char *buf, size_t size)
{
    const char *self = __FILE__;
    const char *suffix = "tests/unit/test_config.c";
    size_t root_len = strlen(self) - strlen(suffix);
    snprintf(buf, size, "%.*setc/etl.ini", (int)root_len, self);
}

static void assert_readable(const char *path)
{
    if (access(path, R_OK) != 0)
        fail_msg("%s is not readable: %s", path, strerror(errno));
}

/* ---- the shipped file ---- */

/* Every key at the default etc/etl.ini documents; the shipped file differs
 * from the built-in defaults only in dbname and user. */
static void assert_documented_defaults(const struct etl_config *c, const char *dbname,
                                       const char *user)
{
    assert_string_equal(c->state_dir, "/var/lib/etl");
    assert_int_equal(c->log_level, LOG_INFO);
    assert_int_equal(c->batch_size, 500);
    assert_int_equal(c->poll_interval_ms, 1000);
    assert_int_equal(c->backoff_initial_ms, 500);
    assert_int_equal(c->wake_check_ms, 100);
    assert_int_equal(c->backoff_max_ms, 30000);
    assert_int_equal(c->held_warn_s, 60);
    assert_int_equal(c->ready_max_lag_s, 300);
    assert_int_equal(c->change_log_retention_s, 259200);
    assert_int_equal(c->change_log_prune_interval_s, 3600);
    assert_int_equal(c->bulk_concurrency, 2);
    assert_int_equal(c->keep_old_indices, 0);
    assert_int_equal(c->on_mapping_change, MAPPING_CHANGE_REBUILD);
    assert_int_equal(c->index_lock_poll_ms, 1000);
    assert_int_equal(c->build_max_catch_up_s, 300);
    assert_string_equal(c->pg_host, "");
    assert_string_equal(c->pg_port, "");
    assert_string_equal(c->pg_dbname, dbname);
    assert_string_equal(c->pg_user, user);
    assert_string_equal(c->pg_password_file, "");
    assert_string_equal(c->pg_sslmode, "");
    assert_string_equal(c->pg_sslrootcert, "");
    assert_int_equal(c->pg_connect_timeout_s, 5);
    assert_int_equal(c->pg_statement_timeout_ms, 30000);
    assert_string_equal(c->es_url, "http://127.0.0.1:9200");
    assert_string_equal(c->es_wait_for_active_shards, "1");
    assert_string_equal(c->es_user, "");
    assert_string_equal(c->es_password_file, "");
    assert_string_equal(c->es_api_key_file, "");
    assert_string_equal(c->es_ca_file, "");
    assert_string_equal(c->es_client_cert_file, "");
    assert_string_equal(c->es_client_key_file, "");
    assert_int_equal(c->es_connect_timeout_ms, 3000);
    assert_int_equal(c->es_request_timeout_ms, 30000);
    assert_int_equal(c->es_response_max_bytes, 104857600);
    assert_string_equal(c->control_socket, "/run/etl/control.sock");
    assert_int_equal(c->control_socket_mode, 0600);
    assert_string_equal(c->log_dir, "");
    assert_string_equal(c->worker_path, "");
    assert_int_equal(c->restart_initial_ms, 1000);
    assert_int_equal(c->restart_max_ms, 60000);
    assert_int_equal(c->restart_reset_after_s, 60);
    assert_int_equal(c->stop_timeout_s, 10);
}

static void test_shipped_ini_loads_with_documented_defaults(void **state)
{
    (void)state;
    clear_etl_environment();
    char path[PATH_MAX];
    shipped_ini_path(path, sizeof path);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX] = "";
    int rc = config_load(path, c, err, sizeof err);
    if (rc != 0)
        fail_msg("shipped %s does not load: %s", path, err);

    char etc_dir[PATH_MAX];
    snprintf(etc_dir, sizeof etc_dir, "%s", path);
    *strrchr(etc_dir, '/') = '\0';
    assert_string_equal(c->base_dir, etc_dir);

    assert_documented_defaults(c, "movies", "etl");
    assert_int_equal(c->verify_interval_s, 86400); /* shipped on; the key's default is off */

    const struct index_config *movies = config_find_index(c, "movies");
    assert_non_null(movies);
    assert_string_equal(movies->name, "movies");
    assert_string_equal(movies->index, "movies");
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s/elasticsearch/movies.json", etc_dir);
    assert_string_equal(movies->mapping, expected);
    snprintf(expected, sizeof expected, "%s/sql/movies/documents.sql", etc_dir);
    assert_string_equal(movies->documents_sql, expected);
    assert_int_equal(movies->changes_count, 4);
    snprintf(expected, sizeof expected, "%s/sql/movies/film_work.sql", etc_dir);
    assert_string_equal(movies->changes_sql[0], expected);
    snprintf(expected, sizeof expected, "%s/sql/movies/change_log.sql", etc_dir);
    assert_string_equal(movies->changes_sql[3], expected);
    assert_null(config_find_index(c, "no-such-index"));

    /* Every file an index section names exists. */
    assert_true(c->indices_count >= 1);
    for (size_t i = 0; i < c->indices_count; i++) {
        const struct index_config *idx = &c->indices[i];
        assert_string_equal(idx->index, idx->name);
        assert_readable(idx->mapping);
        assert_readable(idx->documents_sql);
        assert_true(idx->changes_count >= 1);
        for (size_t j = 0; j < idx->changes_count; j++)
            assert_readable(idx->changes_sql[j]);
    }
}

static void test_shipped_ini_takes_environment(void **state)
{
    (void)state;
    clear_etl_environment();
    setenv("ETL_PG_PORT", "5433", 1);
    setenv("ETL_PG_HOST", "db.example", 1);
    setenv("ETL_STATE_DIR", "/srv/etl-state", 1);
    setenv("ETL_LOG_LEVEL", "debug", 1);
    setenv("ETL_POLL_INTERVAL_MS", "250", 1);
    setenv("ETL_ES_URL", "https://es.example:9243", 1);
    setenv("ETL_INDEX_MOVIES", "movies_v2", 1);
    char path[PATH_MAX];
    shipped_ini_path(path, sizeof path);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX] = "";
    int rc = config_load(path, c, err, sizeof err);
    clear_etl_environment();
    if (rc != 0)
        fail_msg("shipped %s does not load: %s", path, err);
    assert_string_equal(c->pg_port, "5433");
    assert_string_equal(c->pg_host, "db.example");
    assert_string_equal(c->state_dir, "/srv/etl-state");
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_int_equal(c->poll_interval_ms, 250);
    assert_string_equal(c->es_url, "https://es.example:9243");
    const struct index_config *movies = config_find_index(c, "movies");
    assert_non_null(movies);
    assert_string_equal(movies->index, "movies_v2");
}

static void test_shipped_ini_rejects_bad_environment_value(void **state)
{
    (void)state;
    clear_etl_environment();
    setenv("ETL_PG_PORT", "70000", 1);
    char path[PATH_MAX];
    shipped_ini_path(path, sizeof path);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX] = "";
    int rc = config_load(path, c, err, sizeof err);
    clear_etl_environment();
    assert_int_equal(rc, -1);
    char prefix[PATH_MAX + 64];
    snprintf(prefix, sizeof prefix, "%s:", path);
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_non_null(strstr(err, ": port: \"70000\" is not a port from 1 to 65535"));
}

/* ---- defaults and values ---- */

static void test_defaults_when_keys_absent(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    const char *path = load_ok(INDEX_SECTION);
    assert_string_equal(c->path, path);
    assert_string_equal(c->base_dir, tmp_dir);
    assert_documented_defaults(c, "", "");
    assert_int_equal(c->verify_interval_s, 0);
    assert_int_equal(c->indices_count, 1);
    assert_string_equal(c->indices[0].name, "movies");
    assert_string_equal(c->indices[0].index, "movies"); /* index defaults to NAME */
    assert_int_equal(c->indices[0].line, 1);
}

/* A key renamed by a release is still read under its old name; both
 * names in one file are the same key set twice. */
static void test_renamed_key_read_under_its_old_name(void **state)
{
    (void)state;
    load_ok("[etl]\nhorizon_warn_s = 7\n" INDEX_SECTION);
    assert_int_equal(loaded.held_warn_s, 7);
}

/* Several nodes, split on spaces and tabs, each without its trailing '/';
 * the node named in logs loses any user:password@. */
static void test_url_lists_nodes(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok("[elasticsearch]\n"
            "url = http://a:9200/  http://b:9201\thttp://c:9202\n"
            "wait_for_active_shards = all\n" INDEX_SECTION);
    struct url_list nodes;
    char reason[CONFIG_ERROR_MAX];
    assert_int_equal(url_list_parse(c->es_url, &nodes, reason, sizeof reason), 0);
    assert_int_equal(nodes.count, 3);
    assert_string_equal(nodes.urls[0], "http://a:9200");
    assert_string_equal(nodes.urls[1], "http://b:9201");
    assert_string_equal(nodes.urls[2], "http://c:9202");
    url_list_free(&nodes);
    assert_string_equal(c->es_wait_for_active_shards, "all");
    char *shown = url_list_shown("https://u:secret@es.example:9243/prefix");
    assert_string_equal(shown, "https://es.example:9243/prefix");
    free(shown);
}

static void test_values_are_stored(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok("[etl]\n"
            "log_level = warn\n"
            "batch_size = 1\n"
            "poll_interval_ms = 3600000\n"
            "backoff_initial_ms = 10\n"
            "backoff_max_ms = 100\n"
            "[postgres]\n"
            "host = db\n"
            "port = 65535\n"
            "dbname = films\n"
            "user = reader\n"
            "sslmode = require\n"
            "connect_timeout_s = 300\n"
            "[elasticsearch]\n"
            "url = https://search:9200\n"
            "user = elastic\n"
            "[supervisor]\n"
            "control_socket_mode = 0660\n"
            "stop_timeout_s = 1\n"
            "hang_timeout_s = 301\n" INDEX_SECTION "index = films_v1\n");
    assert_int_equal(c->log_level, LOG_WARN);
    assert_int_equal(c->batch_size, 1);
    assert_int_equal(c->poll_interval_ms, 3600000);
    assert_int_equal(c->backoff_initial_ms, 10);
    assert_int_equal(c->backoff_max_ms, 100);
    assert_string_equal(c->pg_host, "db");
    assert_string_equal(c->pg_port, "65535");
    assert_string_equal(c->pg_dbname, "films");
    assert_string_equal(c->pg_user, "reader");
    assert_string_equal(c->pg_sslmode, "require");
    assert_int_equal(c->pg_connect_timeout_s, 300);
    assert_string_equal(c->es_url, "https://search:9200");
    assert_string_equal(c->es_user, "elastic");
    assert_int_equal(c->control_socket_mode, 0660);
    assert_int_equal(c->stop_timeout_s, 1);
    assert_int_equal(c->hang_timeout_s, 301);
    assert_string_equal(c->indices[0].index, "films_v1");
    assert_int_equal(c->indices[0].line, 21);
}

static void test_comments_and_inline_comments(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok("; a comment\n"
            "# another\n"
            "\n"
            "[etl] ; after a header\n"
            "batch_size = 42\n"
            "   poll_interval_ms   =   2000   \n"
            "[postgres]\n"
            "dbname = a;b\n" /* no space before it: part of the value */
            "user = x #y\n" INDEX_SECTION);
    assert_int_equal(c->batch_size, 42);
    assert_int_equal(c->poll_interval_ms, 2000);
    assert_string_equal(c->pg_dbname, "a;b");
    assert_string_equal(c->pg_user, "x #y");
}

/* UTF-8 is taken, in comments and values alike. */
static void test_utf8_text(void **state)
{
    (void)state;
    load_ok("; Фильмы, café, 映画 🎬\n"
            "[postgres]\n"
            "dbname = кино\n" INDEX_SECTION);
    assert_string_equal(loaded.pg_dbname, "кино");
}

/* "$" without braces, and "}" without "${", are plain characters. */
static void test_dollar_without_braces_is_literal(void **state)
{
    (void)state;
    load_ok("[postgres]\ndbname = $HOME}\n" INDEX_SECTION);
    assert_string_equal(loaded.pg_dbname, "$HOME}");
}

static void test_several_index_sections(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok(INDEX_SECTION "\n"
                          "[index.persons_2]\n"
                          "index = people\n"
                          "mapping = p.json\n"
                          "documents = p.sql\n"
                          "changes = p1.sql\n"
                          "[index._x]\n"
                          "index = x\n"
                          "mapping = x.json\n"
                          "documents = x.sql\n"
                          "changes = x1.sql\n");
    assert_int_equal(c->indices_count, 3);
    const struct index_config *p = config_find_index(c, "persons_2");
    assert_non_null(p);
    assert_string_equal(p->index, "people");
    assert_int_equal(p->line, 6);
    assert_int_equal(p->changes_count, 1);
    assert_ptr_equal(config_find_index(c, "movies"), &c->indices[0]);
}

/* ---- paths ---- */

static void test_relative_paths_resolved_against_config_dir(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok("[etl]\n"
            "state_dir = state\n"
            "[postgres]\n"
            "password_file = secrets/pg\n"
            "[elasticsearch]\n"
            "password_file = /abs/es-password\n"
            "[supervisor]\n"
            "control_socket = run/control.sock\n"
            "log_dir = /var/log/etl\n"
            "worker_path = ../bin/etl-worker\n"
            "[index.movies]\n"
            "mapping = es/movies.json\n"
            "documents = /opt/sql/documents.sql\n"
            "changes = sql/a.sql /opt/sql/b.sql\n");
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s/state", tmp_dir);
    assert_string_equal(c->state_dir, expected);
    snprintf(expected, sizeof expected, "%s/secrets/pg", tmp_dir);
    assert_string_equal(c->pg_password_file, expected);
    assert_string_equal(c->es_password_file, "/abs/es-password");
    snprintf(expected, sizeof expected, "%s/run/control.sock", tmp_dir);
    assert_string_equal(c->control_socket, expected);
    assert_string_equal(c->log_dir, "/var/log/etl");
    snprintf(expected, sizeof expected, "%s/../bin/etl-worker", tmp_dir);
    assert_string_equal(c->worker_path, expected);
    snprintf(expected, sizeof expected, "%s/es/movies.json", tmp_dir);
    assert_string_equal(c->indices[0].mapping, expected);
    assert_string_equal(c->indices[0].documents_sql, "/opt/sql/documents.sql");
    assert_int_equal(c->indices[0].changes_count, 2);
    snprintf(expected, sizeof expected, "%s/sql/a.sql", tmp_dir);
    assert_string_equal(c->indices[0].changes_sql[0], expected);
    assert_string_equal(c->indices[0].changes_sql[1], "/opt/sql/b.sql");
}

static void test_config_path_without_directory(void **state)
{
    (void)state;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmp_dir), 0);
    ut_write_file("plain.ini", INDEX_SECTION "[etl]\nstate_dir = st\n");
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX] = "";
    int rc = config_load("plain.ini", c, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (rc != 0)
        fail_msg("config_load: %s", err);
    assert_string_equal(c->base_dir, ".");
    assert_string_equal(c->state_dir, "./st");
    assert_string_equal(c->indices[0].mapping, "./m.json");
}

static void test_changes_split_on_spaces(void **state)
{
    (void)state;
    struct etl_config *c = &loaded;
    load_ok("[index.movies]\n"
            "mapping = m.json\n"
            "documents = d.sql\n"
            "changes = one.sql   two.sql\tthree.sql /x/four.sql\n");
    const struct index_config *idx = &c->indices[0];
    assert_int_equal(idx->changes_count, 4);
    char expected[PATH_MAX + 64];
    snprintf(expected, sizeof expected, "%s/one.sql", tmp_dir);
    assert_string_equal(idx->changes_sql[0], expected);
    snprintf(expected, sizeof expected, "%s/two.sql", tmp_dir);
    assert_string_equal(idx->changes_sql[1], expected);
    snprintf(expected, sizeof expected, "%s/three.sql", tmp_dir);
    assert_string_equal(idx->changes_sql[2], expected);
    assert_string_equal(idx->changes_sql[3], "/x/four.sql");
}

/* ---- ${VAR} expansion ---- */

static void test_env_expansion_set(void **state)
{
    (void)state;
    setenv("ETL_UNIT_BATCH", "42", 1);
    setenv("ETL_UNIT_HOST", "db.internal", 1);
    struct etl_config *c = &loaded;
    load_ok("[etl]\n"
            "batch_size = ${ETL_UNIT_BATCH}\n"
            "[postgres]\n"
            "host = ${ETL_UNIT_HOST:-ignored}\n" INDEX_SECTION);
    unsetenv("ETL_UNIT_BATCH");
    unsetenv("ETL_UNIT_HOST");
    assert_int_equal(c->batch_size, 42);
    assert_string_equal(c->pg_host, "db.internal");
}

static void test_env_expansion_defaults(void **state)
{
    (void)state;
    unsetenv("ETL_UNIT_UNSET");
    setenv("ETL_UNIT_EMPTY", "", 1);
    struct etl_config *c = &loaded;
    load_ok("[etl]\n"
            "batch_size = ${ETL_UNIT_UNSET:-77}\n"
            "log_level = ${ETL_UNIT_EMPTY:-debug}\n"
            "[postgres]\n"
            "host = ${ETL_UNIT_UNSET:-}\n"
            "port = ${ETL_UNIT_UNSET:-}\n"
            "dbname = ${ETL_UNIT_UNSET:-my db}\n" INDEX_SECTION);
    unsetenv("ETL_UNIT_EMPTY");
    assert_int_equal(c->batch_size, 77);
    assert_int_equal(c->log_level, LOG_DEBUG); /* set but empty: the default */
    assert_string_equal(c->pg_host, "");
    assert_string_equal(c->pg_port, "");
    assert_string_equal(c->pg_dbname, "my db");
}

/* ---- errors: one row a rejected file ---- */

/* The end of every message about a bad Elasticsearch index name. */
#define ES_NAME_RULES                                                                              \
    " is not a valid Elasticsearch index name (lowercase; none of \\/*?\"<>|,#: or spaces; not "   \
    "starting with -, _ or +)"

/* The ends of the messages about ${...} and " ;". */
#define WHOLE_VALUE_ONLY ": ${NAME} is expanded only as the whole value, never inside one"
#define NOT_A_NAME       " is not a variable name (letters, digits and _, at most 127)"
#define INLINE_COMMENT                                                                             \
    " \" ;\" in a value: a comment or part of it? (put comments on lines of their own)"

/* One file config_load must refuse, and the whole message it must give. */
struct error_case {
    const char *text;
    const char *error;     /* after "PATH:": "LINE: KEY: REASON" */
    const char *env_name;  /* a variable set to env_value for this row only, or NULL */
    const char *env_value; /* NULL: env_name is unset */
};

static const struct error_case error_cases[] = {
    /* change_log retention and pruning (0 turns pruning off) */
    {"[etl]\nchange_log_retention_s = 60\n" INDEX_SECTION,
     "2: change_log_retention_s: \"60\" is not a whole number from 3600 to 31536000", NULL, NULL},
    {"[etl]\nchange_log_prune_interval_s = 86401\n" INDEX_SECTION,
     "2: change_log_prune_interval_s: \"86401\" is not a whole number from 0 to 86400", NULL, NULL},
    {"[etl]\nbatch_size = 5\nchange_log_prune_interval_s = 59\n" INDEX_SECTION,
     "3: change_log_prune_interval_s: \"59\" is not 0 (off) or a whole number from 60 to 86400",
     NULL, NULL},

    /* versioned indices: how many old ones are kept, what a mapping change does */
    {"[etl]\nkeep_old_indices = 11\n" INDEX_SECTION,
     "2: keep_old_indices: \"11\" is not a whole number from 0 to 10", NULL, NULL},
    {"[etl]\non_mapping_change = exit\n" INDEX_SECTION,
     "2: on_mapping_change: \"exit\" is not rebuild or refuse", NULL, NULL},
    {"[etl]\nbuild_max_catch_up_s = 0\n" INDEX_SECTION,
     "2: build_max_catch_up_s: \"0\" is not a whole number from 1 to 86400", NULL, NULL},

    /* one writer per index: how often a waiting worker tries the lock again */
    {"[etl]\nindex_lock_poll_ms = 99\n" INDEX_SECTION,
     "2: index_lock_poll_ms: \"99\" is not a whole number from 100 to 600000", NULL, NULL},

    /* the reader: syntax, the first of two errors */
    {"[etl]\nbatch_size = 5\nthis line is not valid\npoll_interval_ms = 1000\n" INDEX_SECTION,
     "3: syntax: not a section header, key = value, comment or blank line", NULL, NULL},
    {"[etl]\n\n[postgres\nhost = x\n" INDEX_SECTION,
     "3: syntax: not a section header, key = value, comment or blank line", NULL, NULL},
    {"[etl]\noops\nagain\n" INDEX_SECTION,
     "2: syntax: not a section header, key = value, comment or blank line", NULL, NULL},

    /* the reader: ${VAR} */
    {"[etl]\nbatch_size = 5\n[postgres]\nhost = ${ETL_UNIT_MISSING}\n" INDEX_SECTION,
     "4: host: environment variable ETL_UNIT_MISSING is not set and has no default",
     "ETL_UNIT_MISSING", NULL},
    {"[etl]\nbatch_size = ${ETL_UNIT_BATCH:-5}\n" INDEX_SECTION,
     "2: batch_size: \"lots\" is not a whole number from 1 to 10000", "ETL_UNIT_BATCH", "lots"},

    /* ${...} anywhere but as the whole value, nested, or with a name that
     * is not a variable's: refused, never kept as literal text */
    {"[etl]\nstate_dir = ${HOME}/state\n" INDEX_SECTION,
     "2: state_dir: \"${HOME}/state\"" WHOLE_VALUE_ONLY, NULL, NULL},
    {"[etl]\nstate_dir = /srv/${ETL_UNIT_DIR:-etl}\n" INDEX_SECTION,
     "2: state_dir: \"/srv/${ETL_UNIT_DIR:-etl}\"" WHOLE_VALUE_ONLY, NULL, NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A}${ETL_UNIT_B}\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A}${ETL_UNIT_B}\"" WHOLE_VALUE_ONLY, NULL, NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A:-${ETL_UNIT_B}}\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A:-${ETL_UNIT_B}}\": a default may not hold ${ or } (no nesting)", NULL,
     NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A:-x}}\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A:-x}}\": a default may not hold ${ or } (no nesting)", NULL, NULL},
    {"[postgres]\nhost = ${}\n" INDEX_SECTION, "2: host: \"${}\": \"\"" NOT_A_NAME, NULL, NULL},
    {"[postgres]\nhost = ${1HOST}\n" INDEX_SECTION, "2: host: \"${1HOST}\": \"1HOST\"" NOT_A_NAME,
     NULL, NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A-x}\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A-x}\": \"ETL_UNIT_A-x\"" NOT_A_NAME, NULL, NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A:=x}\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A:=x}\": \"ETL_UNIT_A:=x\"" NOT_A_NAME, NULL, NULL},
    {"[postgres]\nhost = ${ETL_UNIT_A\n" INDEX_SECTION,
     "2: host: \"${ETL_UNIT_A\"" WHOLE_VALUE_ONLY, NULL, NULL},

    /* " ;" in a value: a comment to some readers, text to others */
    {"[etl]\nbatch_size = 42 ; inline comment\n" INDEX_SECTION, "2: batch_size:" INLINE_COMMENT,
     NULL, NULL},
    {"[index.movies]\nmapping = m.json\ndocuments = d.sql\nchanges = a.sql\t;b.sql\n",
     "4: changes:" INLINE_COMMENT, NULL, NULL},
    {"[postgres]\ndbname = ${ETL_UNIT_DB:-movies} ;x\n" INDEX_SECTION, "2: dbname:" INLINE_COMMENT,
     NULL, NULL},

    /* bytes that are not UTF-8 text, on the line they are on */
    {"[etl]\n; caf\xe9\n" INDEX_SECTION, "2: encoding: not UTF-8 at column 6 (byte 0xE9)", NULL,
     NULL},
    {"[postgres]\ndbname = \xff\xfe\n" INDEX_SECTION,
     "2: encoding: not UTF-8 at column 10 (byte 0xFF)", NULL, NULL},
    {"[postgres]\ndbname = \xc0\xaf\n" INDEX_SECTION, /* an overlong "/" */
     "2: encoding: not UTF-8 at column 10 (byte 0xC0)", NULL, NULL},
    {"[postgres]\ndbname = \xed\xa0\x80\n" INDEX_SECTION, /* a UTF-16 surrogate */
     "2: encoding: not UTF-8 at column 10 (byte 0xED)", NULL, NULL},
    {INDEX_SECTION "; \xd0",
     "5: encoding: not UTF-8 at column 3 (byte 0xD0): the file ends inside a character", NULL,
     NULL},

    /* sections */
    {"[etl]\nbatch_size = 5\n[bogus]\nx = 1\n" INDEX_SECTION, "3: bogus: unknown section", NULL,
     NULL},
    /* an empty one too: it has no key for inih to report */
    {INDEX_SECTION "\n[postgresql]\n", "6: postgresql: unknown section", NULL, NULL},
    {"[etl]\nbatch_size = 5\n[postgres]\n[etl]\npoll_interval_ms = 1000\n" INDEX_SECTION,
     "4: etl: section appears twice (first at line 1)", NULL, NULL},
    {INDEX_SECTION "[index.movies]\n", "5: index.movies: section appears twice (first at line 1)",
     NULL, NULL},
    {"batch_size = 5\n[etl]\n" INDEX_SECTION, "1: batch_size: key outside any section", NULL, NULL},
    {"; comment\n\nbatch_size = 5\n" INDEX_SECTION, "3: batch_size: key outside any section", NULL,
     NULL},

    /* keys of the fixed sections */
    {"[etl]\nbatch_size = 5\n\nbatch_sise = 5\n" INDEX_SECTION,
     "4: batch_sise: unknown key in section [etl]", NULL, NULL},
    /* a key of another section */
    {"[postgres]\nurl = http://x\n" INDEX_SECTION, "2: url: unknown key in section [postgres]",
     NULL, NULL},
    {"[etl]\nbatch_size = 5\npoll_interval_ms = 1000\nbatch_size = 6\n" INDEX_SECTION,
     "4: batch_size: set twice", NULL, NULL},
    {"[etl]\nheld_warn_s = 5\nhorizon_warn_s = 6\n" INDEX_SECTION, "3: horizon_warn_s: set twice",
     NULL, NULL},

    /* whole numbers */
    {"[etl]\nbatch_size = abc\n" INDEX_SECTION,
     "2: batch_size: \"abc\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\nbatch_size = 12x\n" INDEX_SECTION,
     "2: batch_size: \"12x\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\nbatch_size = 1.5\n" INDEX_SECTION,
     "2: batch_size: \"1.5\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\nbatch_size =\n" INDEX_SECTION,
     "2: batch_size: \"\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[postgres]\n\nstatement_timeout_ms = 99999999999999999999\n" INDEX_SECTION,
     "3: statement_timeout_ms: \"99999999999999999999\" is not a whole number from 100 to "
     "3600000",
     NULL, NULL},
    {"[etl]\nbatch_size = 0\n" INDEX_SECTION,
     "2: batch_size: \"0\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\nbatch_size = 10001\n" INDEX_SECTION,
     "2: batch_size: \"10001\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\nbatch_size = -5\n" INDEX_SECTION,
     "2: batch_size: \"-5\" is not a whole number from 1 to 10000", NULL, NULL},
    {"[etl]\npoll_interval_ms = 99\n" INDEX_SECTION,
     "2: poll_interval_ms: \"99\" is not a whole number from 100 to 3600000", NULL, NULL},
    {"[etl]\npoll_interval_ms = 3600001\n" INDEX_SECTION,
     "2: poll_interval_ms: \"3600001\" is not a whole number from 100 to 3600000", NULL, NULL},
    {"[etl]\nbulk_concurrency = 0\n" INDEX_SECTION,
     "2: bulk_concurrency: \"0\" is not a whole number from 1 to 16", NULL, NULL},
    {"[etl]\nbulk_concurrency = 17\n" INDEX_SECTION,
     "2: bulk_concurrency: \"17\" is not a whole number from 1 to 16", NULL, NULL},
    {"[supervisor]\nstop_timeout_s = 3601\n" INDEX_SECTION,
     "2: stop_timeout_s: \"3601\" is not a whole number from 1 to 3600", NULL, NULL},
    {"[elasticsearch]\nrequest_timeout_ms = 999\n" INDEX_SECTION,
     "2: request_timeout_ms: \"999\" is not a whole number from 1000 to 600000", NULL, NULL},
    {"[elasticsearch]\nresponse_max_bytes = 65535\n" INDEX_SECTION,
     "2: response_max_bytes: \"65535\" is not a whole number from 65536 to 1073741824", NULL, NULL},
    {"[elasticsearch]\nresponse_max_bytes = 1073741825\n" INDEX_SECTION,
     "2: response_max_bytes: \"1073741825\" is not a whole number from 65536 to 1073741824", NULL,
     NULL},

    /* the other kinds of value */
    {"[etl]\nlog_level = verbose\n" INDEX_SECTION,
     "2: log_level: \"verbose\" is not one of debug, info, warn, error", NULL, NULL},
    {"[etl]\nlog_level =\n" INDEX_SECTION,
     "2: log_level: \"\" is not one of debug, info, warn, error", NULL, NULL},
    {"[postgres]\nport = 0\n" INDEX_SECTION, "2: port: \"0\" is not a port from 1 to 65535", NULL,
     NULL},
    {"[postgres]\nport = 65536\n" INDEX_SECTION, "2: port: \"65536\" is not a port from 1 to 65535",
     NULL, NULL},
    {"[postgres]\nport = pg\n" INDEX_SECTION, "2: port: \"pg\" is not a port from 1 to 65535", NULL,
     NULL},
    {"[elasticsearch]\nurl = ftp://es:9200\n" INDEX_SECTION,
     "2: url: \"ftp://es:9200\" is not an http:// or https:// URL", NULL, NULL},
    {"[elasticsearch]\nurl = 127.0.0.1:9200\n" INDEX_SECTION,
     "2: url: \"127.0.0.1:9200\" is not an http:// or https:// URL", NULL, NULL},
    {"[elasticsearch]\nurl =\n" INDEX_SECTION,
     "2: url: names no node (one or more http:// or https:// URLs)", NULL, NULL},
    {"[elasticsearch]\nurl = http://a:9200 http://b:9200 http://A:9200/\n" INDEX_SECTION,
     "2: url: \"http://A:9200\" is listed twice", NULL, NULL},
    {"[elasticsearch]\nurl = https://a:9200 http://b:9200\n" INDEX_SECTION,
     "2: url: \"http://b:9200\" mixes http:// and https:// with the first node (the TLS "
     "settings apply to every node)",
     NULL, NULL},
    {"[elasticsearch]\nurl = http://a:9200 b:9200\n" INDEX_SECTION,
     "2: url: \"b:9200\" is not an http:// or https:// URL", NULL, NULL},
    {"[elasticsearch]\nurl = http:// http://b:9200\n" INDEX_SECTION,
     "2: url: \"http://\" names no host", NULL, NULL},
    {"[elasticsearch]\nwait_for_active_shards = 0\n" INDEX_SECTION,
     "2: wait_for_active_shards: \"0\" is not all or a whole number from 1 to 100", NULL, NULL},
    {"[elasticsearch]\nwait_for_active_shards = most\n" INDEX_SECTION,
     "2: wait_for_active_shards: \"most\" is not all or a whole number from 1 to 100", NULL, NULL},
    {"[supervisor]\ncontrol_socket_mode = 0644\n" INDEX_SECTION,
     "2: control_socket_mode: \"0644\" is not 0600 or 0660", NULL, NULL},
    {"[supervisor]\ncontrol_socket_mode = 600\n" INDEX_SECTION,
     "2: control_socket_mode: \"600\" is not 0600 or 0660", NULL, NULL},

    /* keys that go together; a *_max_ms left at its default is blamed on
     * the *_initial_ms line that went above it (defaults 30000 and 60000) */
    /* wake_check_ms: 0, or 10 up to poll_interval_ms */
    {"[etl]\nwake_check_ms = 5\n" INDEX_SECTION,
     "2: wake_check_ms: \"5\" is not 0 (off) or a whole number from 10 to poll_interval_ms (1000)",
     NULL, NULL},
    {"[etl]\npoll_interval_ms = 200\nwake_check_ms = 201\n" INDEX_SECTION,
     "3: wake_check_ms: \"201\" is not 0 (off) or a whole number from 10 to poll_interval_ms (200)",
     NULL, NULL},
    {"[etl]\nwake_check_ms = -1\n" INDEX_SECTION,
     "2: wake_check_ms: \"-1\" is not a whole number from 0 to 3600000", NULL, NULL},
    {"[etl]\nbackoff_max_ms = 1000\nbackoff_initial_ms = 2000\n" INDEX_SECTION,
     "2: backoff_max_ms: must not be below backoff_initial_ms", NULL, NULL},
    {"[supervisor]\nrestart_initial_ms = 5000\nrestart_max_ms = 4000\n" INDEX_SECTION,
     "3: restart_max_ms: must not be below restart_initial_ms", NULL, NULL},
    {"[etl]\nbatch_size = 5\nbackoff_initial_ms = 60000\n" INDEX_SECTION,
     "3: backoff_initial_ms: must not be above backoff_max_ms", NULL, NULL},
    {"[supervisor]\nrestart_initial_ms = 600000\n" INDEX_SECTION,
     "2: restart_initial_ms: must not be above restart_max_ms", NULL, NULL},
    /* hang_timeout_s above the longest single blocking step (defaults:
     * connect 5 s, statement and request 30000 ms, hang 120 s); blamed on
     * hang_timeout_s where it is set, else on the step that went above it */
    {"[supervisor]\nhang_timeout_s = 30\n" INDEX_SECTION,
     "2: hang_timeout_s: must be above the longest single blocking step, statement_timeout_ms "
     "= 30000 ms",
     NULL, NULL},
    {"[postgres]\nstatement_timeout_ms = 1000\n[elasticsearch]\nrequest_timeout_ms = 1000\n"
     "[supervisor]\nhang_timeout_s = 5\n" INDEX_SECTION,
     "6: hang_timeout_s: must be above the longest single blocking step, connect_timeout_s = 5 s",
     NULL, NULL},
    {"[postgres]\nstatement_timeout_ms = 1000\n[supervisor]\nhang_timeout_s = 10\n"
     "[elasticsearch]\nrequest_timeout_ms = 10001\n" INDEX_SECTION,
     "4: hang_timeout_s: must be above the longest single blocking step, request_timeout_ms "
     "= 10001 ms",
     NULL, NULL},
    {"[elasticsearch]\nrequest_timeout_ms = 120000\n" INDEX_SECTION,
     "2: request_timeout_ms: must be below hang_timeout_s = 120 s", NULL, NULL},
    {"[postgres]\nstatement_timeout_ms = 600000\n" INDEX_SECTION,
     "2: statement_timeout_ms: must be below hang_timeout_s = 120 s", NULL, NULL},
    {"[etl]\nbatch_size = 5\n[postgres]\n",
     "3: [index.NAME]: at least one index section is required", NULL, NULL},
    {"", "0: [index.NAME]: at least one index section is required", NULL, NULL},

    /* [index.NAME]: the name (40 characters are fine, 41 are not) */
    {"[etl]\n[index.Movies]\nmapping = m.json\ndocuments = d.sql\nchanges = a.sql\n",
     "2: index.Movies: index name must be 1-40 characters of a-z, 0-9, _ and -", NULL, NULL},
    {"[index.]\nmapping = m.json\ndocuments = d.sql\nchanges = a.sql\n",
     "1: index.: index name must be 1-40 characters of a-z, 0-9, _ and -", NULL, NULL},
    {"[index.a/b]\nmapping = m.json\ndocuments = d.sql\nchanges = a.sql\n",
     "1: index.a/b: index name must be 1-40 characters of a-z, 0-9, _ and -", NULL, NULL},
    {"[index.a b]\nmapping = m.json\ndocuments = d.sql\nchanges = a.sql\n",
     "1: index.a b: index name must be 1-40 characters of a-z, 0-9, _ and -", NULL, NULL},
    {"[index.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab]\nmapping = m\ndocuments = d\nchanges = c\n",
     "1: index.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab: index name must be 1-40 characters of "
     "a-z, 0-9, _ and -",
     NULL, NULL},
    /* a plain NAME the search engine refuses as the default index name */
    {"[index._x]\nmapping = m\ndocuments = d\nchanges = c\n",
     "1: index: defaults to the section's NAME, and \"_x\" is not a valid Elasticsearch index "
     "name (set index)",
     NULL, NULL},

    /* [index.NAME]: its keys */
    {"[etl]\n" INDEX_SECTION "colour = red\n", "6: colour: unknown key in section [index.movies]",
     NULL, NULL},
    {INDEX_SECTION "mapping = other.json\n", "5: mapping: set twice", NULL, NULL},
    {INDEX_SECTION "documents = other.sql\n", "5: documents: set twice", NULL, NULL},
    {INDEX_SECTION "changes = c.sql\n", "5: changes: set twice", NULL, NULL},
    {INDEX_SECTION "index = a\nindex = b\n", "6: index: set twice", NULL, NULL},
    {"[etl]\nbatch_size = 5\n[index.movies]\ndocuments = d.sql\nchanges = a.sql\n",
     "3: mapping: required in section [index.movies]", NULL, NULL},
    {"[etl]\n[index.movies]\nmapping = m.json\nchanges = a.sql\n",
     "2: documents: required in section [index.movies]", NULL, NULL},
    {"[index.movies]\nmapping = m.json\ndocuments = d.sql\n",
     "1: changes: required in section [index.movies]", NULL, NULL},
    /* the second section's line, not the first's */
    {INDEX_SECTION "[index.genres]\nmapping = g.json\ndocuments = g.sql\n",
     "5: changes: required in section [index.genres]", NULL, NULL},
    {"[index.movies]\nmapping =\ndocuments = d.sql\nchanges = a.sql\n",
     "2: mapping: must not be empty", NULL, NULL},
    {"[index.movies]\nmapping = m.json\ndocuments =\nchanges = a.sql\n",
     "3: documents: must not be empty", NULL, NULL},
    {INDEX_SECTION "index =\n", "5: index: must not be empty", NULL, NULL},
    {"[index.movies]\nmapping = m.json\ndocuments = d.sql\nchanges =\n",
     "4: changes: needs at least one SQL file", NULL, NULL},
    {"[index.movies]\nmapping = m.json\ndocuments = d.sql\nchanges = a/x.sql b/x.sql\n",
     "4: changes: two files with one base name (each names a cursor in the state file)", NULL,
     NULL},
    /* the Elasticsearch index name ends up in URL paths (/INDEX/_mapping,
     * _bulk actions): one Elasticsearch refuses, or one that changes the
     * path, is a bad value found at start (exit 78), not a retry loop */
    {INDEX_SECTION "index = Movies\n", "5: index: \"Movies\"" ES_NAME_RULES, NULL, NULL},
    {INDEX_SECTION "index = my movies\n", "5: index: \"my movies\"" ES_NAME_RULES, NULL, NULL},
    {INDEX_SECTION "index = movies/_doc\n", "5: index: \"movies/_doc\"" ES_NAME_RULES, NULL, NULL},
    {INDEX_SECTION "index = movies?pretty\n", "5: index: \"movies?pretty\"" ES_NAME_RULES, NULL,
     NULL},
    {INDEX_SECTION "index = _movies\n", "5: index: \"_movies\"" ES_NAME_RULES, NULL, NULL},
    {INDEX_SECTION "index = ..\n", "5: index: \"..\"" ES_NAME_RULES, NULL, NULL},
    /* [elasticsearch]: one way to log in; a client key needs its certificate */
    {"[elasticsearch]\nuser = etl\napi_key_file = /k\n" INDEX_SECTION,
     "3: api_key_file: exclusive with user and password_file: set one or the other", NULL, NULL},
    {"[elasticsearch]\napi_key_file = /k\npassword_file = /p\n" INDEX_SECTION,
     "2: api_key_file: exclusive with user and password_file: set one or the other", NULL, NULL},
    {"[elasticsearch]\nca_file = /ca.pem\nclient_key_file = /key.pem\n" INDEX_SECTION,
     "3: client_key_file: needs client_cert_file", NULL, NULL},
    /* metrics_listen: numeric HOST:PORT only */
    {"[supervisor]\nmetrics_listen = localhost:9187\n" INDEX_SECTION,
     "2: metrics_listen: \"localhost:9187\" is not a numeric IPv4 address or [IPv6] address "
     "with a port",
     NULL, NULL},
    {"[supervisor]\nmetrics_listen = 127.0.0.1:0\n" INDEX_SECTION,
     "2: metrics_listen: \"127.0.0.1:0\" has no port from 1 to 65535", NULL, NULL},
    {"[supervisor]\nmetrics_listen = 9187\n" INDEX_SECTION,
     "2: metrics_listen: \"9187\" is not HOST:PORT", NULL, NULL},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *row = &error_cases[i];
        if (row->env_name != NULL && row->env_value != NULL)
            setenv(row->env_name, row->env_value, 1);
        else if (row->env_name != NULL)
            unsetenv(row->env_name);
        char err[CONFIG_ERROR_MAX];
        int rc = load_text(row->text, err, sizeof err);
        if (row->env_name != NULL)
            unsetenv(row->env_name);
        if (rc != -1)
            fail_msg("row %zu: accepted, expected \"%s\"", i, row->error);
        char expected[PATH_MAX + CONFIG_ERROR_MAX];
        snprintf(expected, sizeof expected, "%s:%s", loaded_path, row->error);
        if (strcmp(err, expected) != 0)
            fail_msg("row %zu: error\n  \"%s\", expected\n  \"%s\"", i, err, expected);
    }
}

/* Fills buf with a comment line, ";xx...x", of size - 1 bytes. */
static void make_comment(char *buf, size_t size)
{
    memset(buf, 'x', size - 1);
    buf[0] = ';';
    buf[size - 1] = '\0';
}

/* A line longer than the reader takes is refused, never split. */
static void test_error_long_line(void **state)
{
    (void)state;
    char text[8192];
    char comment[4096];
    make_comment(comment, sizeof comment);
    snprintf(text, sizeof text, "[etl]\n%s\nbatch_size = 7\n" INDEX_SECTION, comment);
    expect_error(text, "2: line: longer than 4094 bytes");
    /* one byte less is a line like any other */
    comment[sizeof comment - 2] = '\0';
    snprintf(text, sizeof text, "[etl]\n%s\nbatch_size = 7\n" INDEX_SECTION, comment);
    load_ok(text);
    assert_int_equal(loaded.batch_size, 7);
}

/* hang_timeout_s one second above the longest step (30000 ms) is fine. */
static void test_hang_timeout_just_above_the_longest_step(void **state)
{
    (void)state;
    load_ok("[supervisor]\nhang_timeout_s = 31\n" INDEX_SECTION);
    assert_int_equal(loaded.hang_timeout_s, 31);
    load_ok("[postgres]\nconnect_timeout_s = 2\nstatement_timeout_ms = 1000\n"
            "[elasticsearch]\nrequest_timeout_ms = 1000\n[supervisor]\nhang_timeout_s = "
            "3\n" INDEX_SECTION);
    assert_int_equal(loaded.hang_timeout_s, 3);
}

/* Writes size bytes to a new file in tmp_dir and makes it loaded_path. */
static void write_bytes(const char *bytes, size_t size)
{
    release();
    loaded_path = ut_temp_file(tmp_dir, "");
    FILE *file = fopen(loaded_path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(bytes, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

/* Loads loaded_path, which must fail with "PATH:" followed by error. */
static void expect_path_error(const char *error)
{
    char err[CONFIG_ERROR_MAX] = "";
    if (config_load(loaded_path, &loaded, err, sizeof err) != -1)
        fail_msg("accepted, expected \"%s\"", error);
    char expected[PATH_MAX + CONFIG_ERROR_MAX];
    snprintf(expected, sizeof expected, "%s:%s", loaded_path, error);
    if (strcmp(err, expected) != 0)
        fail_msg("error\n  \"%s\", expected\n  \"%s\"", err, expected);
}

/* A NUL byte would end the line for inih: "batch_size = 5\0junk" read as
 * 5.  Refused where it is. */
static void test_error_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "[etl]\nbatch_size = 5\0junk\n" INDEX_SECTION;
    write_bytes(text, sizeof text - 1);
    expect_path_error("2: encoding: a NUL byte at column 15");
}

/* A 1 MB line is refused on its line, whatever it holds. */
static void test_error_megabyte_line(void **state)
{
    (void)state;
    const size_t line_len = (size_t)1024 * 1024; /* 1 MB */
    const char head[] = "[etl]\nstate_dir = ";
    size_t size = sizeof head - 1 + line_len + sizeof "\n" INDEX_SECTION;
    char *text = malloc(size);
    assert_non_null(text);
    memcpy(text, head, sizeof head - 1);
    memset(text + sizeof head - 1, 'x', line_len);
    memcpy(text + sizeof head - 1 + line_len, "\n" INDEX_SECTION, sizeof "\n" INDEX_SECTION);
    write_bytes(text, size - 1);
    free(text);
    expect_path_error("2: line: longer than 4094 bytes");
}

/* A directory opens and reads as empty: refused as a directory, not
 * reported as a file without index sections. */
static void test_error_directory(void **state)
{
    (void)state;
    release();
    loaded_path = xstrdup(tmp_dir);
    expect_path_error("0: file: cannot open: a directory, not a file");
}

/* A FIFO is refused at once (no wait for a writer), since the file is read
 * twice. */
static void test_error_fifo(void **state)
{
    (void)state;
    release();
    loaded_path = xasprintf("%s/etl.fifo", tmp_dir);
    assert_int_equal(mkfifo(loaded_path, 0600), 0);
    expect_path_error("0: file: cannot open: not a regular file (a FIFO, socket or device)");
    unlink(loaded_path);
}

/* Mode 000 stops every user but root (CAP_DAC_OVERRIDE reads it anyway):
 * as root this only checks that the file loads, the FIFO and directory
 * tests above stand in for a file that cannot be read. */
static void test_error_unreadable_file(void **state)
{
    (void)state;
    release();
    loaded_path = ut_temp_file(tmp_dir, INDEX_SECTION);
    assert_int_equal(chmod(loaded_path, 0), 0);
    char err[CONFIG_ERROR_MAX] = "";
    int rc = config_load(loaded_path, &loaded, err, sizeof err);
    if (geteuid() == 0) {
        if (rc != 0)
            fail_msg("as root a mode 000 file is still read: %s", err);
        return;
    }
    char expected[PATH_MAX + CONFIG_ERROR_MAX];
    snprintf(expected, sizeof expected, "%s:0: file: cannot open: %s", loaded_path,
             strerror(EACCES));
    assert_int_equal(rc, -1);
    assert_string_equal(err, expected);
}

/* 40 characters are fine (inih keeps 49 of a section name). */
static void test_index_name_of_40_characters(void **state)
{
    (void)state;
    char name40[41];
    memset(name40, 'a', 40);
    name40[40] = '\0';
    char text[512];
    snprintf(text, sizeof text, "[index.%s]\nmapping = m\ndocuments = d\nchanges = c\n", name40);
    load_ok(text);
    assert_string_equal(loaded.indices[0].name, name40);
}

static void test_es_index_name_with_dots_and_dashes(void **state)
{
    (void)state;
    load_ok(INDEX_SECTION "index = movies_v2.2024-01\n");
    assert_string_equal(loaded.indices[0].index, "movies_v2.2024-01");
}

static void test_error_missing_file(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/does-not-exist.ini", tmp_dir);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX] = "";
    assert_int_equal(config_load(path, c, err, sizeof err), -1);
    char prefix[PATH_MAX + 64];
    snprintf(prefix, sizeof prefix, "%s:0: file: cannot open: ", path);
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_non_null(strstr(err, strerror(ENOENT)));
}

/* Error lines stay right after a line longer than inih's line buffer
 * (INI_MAX_LINE, 200 bytes): a long comment is still a comment. */
static void test_long_comment_line(void **state)
{
    (void)state;
    char text[2048];
    char comment[400];
    make_comment(comment, sizeof comment);
    snprintf(text, sizeof text, "[etl]\n%s\nbatch_size = 7\n" INDEX_SECTION, comment);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX];
    int rc = load_text(text, err, sizeof err);
    if (rc != 0)
        fail_msg("a 399-byte comment line breaks the file: %s", err);
    assert_int_equal(c->batch_size, 7);
    snprintf(text, sizeof text, "[etl]\n%s\nbatch_size = 0\n" INDEX_SECTION, comment);
    expect_error(text, "3: batch_size: \"0\" is not a whole number from 1 to 10000");
}

/* A value longer than inih's line buffer is taken whole or refused; it is
 * never cut silently. */
static void test_long_value_line(void **state)
{
    (void)state;
    char changes[1024] = "";
    size_t len = 0;
    size_t count = 0;
    while (len < 400) {
        len += (size_t)snprintf(changes + len, sizeof changes - len, "%ssql/change_%02zu.sql",
                                count ? " " : "", count);
        count++;
    }
    char text[2048];
    snprintf(text, sizeof text, "[index.movies]\nmapping = m\ndocuments = d\nchanges = %s\n",
             changes);
    struct etl_config *c = &loaded;
    char err[CONFIG_ERROR_MAX];
    int rc = load_text(text, err, sizeof err);
    if (rc == 0) {
        assert_int_equal(c->indices[0].changes_count, count);
    } else {
        char prefix[PATH_MAX + 16];
        snprintf(prefix, sizeof prefix, "%s:4: ", loaded_path);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
            fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    }
}

/* "[ etl ]": the keys under a header with spaces inside the brackets are
 * checked like any others, never silently ignored. */
static void test_section_header_with_spaces(void **state)
{
    (void)state;
    char err[CONFIG_ERROR_MAX];
    struct etl_config *c = &loaded;
    int rc = load_text("[ etl ]\n"
                       "batch_size = 7\n" INDEX_SECTION,
                       err, sizeof err);
    if (rc == 0)
        assert_int_equal(c->batch_size, 7);
    expect_error("[ etl ]\n"
                 "batch_size = 0\n" INDEX_SECTION,
                 "2: batch_size: \"0\" is not a whole number from 1 to 10000");
}

/* ---- config_read_secret ---- */

static void test_secret_from_file(void **state)
{
    (void)state;
    setenv("ETL_UNIT_SECRET", "from-env", 1);
    const char *contents[] = {"s3cret\nsecond line\n", "s3cret", "s3cret\r\n", "s3cret\n"};
    for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
        char *file = ut_temp_file(tmp_dir, contents[i]);
        bool failed = true;
        char err[256] = "";
        char *secret = config_read_secret(file, "ETL_UNIT_SECRET", &failed, err, sizeof err);
        assert_false(failed);
        assert_non_null(secret);
        assert_string_equal(secret, "s3cret"); /* the file wins over the environment */
        free(secret);
        free(file);
    }
    unsetenv("ETL_UNIT_SECRET");
}

static void test_secret_from_environment(void **state)
{
    (void)state;
    bool failed = true;
    char err[256] = "";
    setenv("ETL_UNIT_SECRET", "from-env", 1);
    char *secret = config_read_secret("", "ETL_UNIT_SECRET", &failed, err, sizeof err);
    assert_false(failed);
    assert_non_null(secret);
    assert_string_equal(secret, "from-env");
    free(secret);
    failed = true;
    secret = config_read_secret(NULL, "ETL_UNIT_SECRET", &failed, err, sizeof err);
    assert_false(failed);
    assert_string_equal(secret, "from-env");
    free(secret);

    setenv("ETL_UNIT_SECRET", "", 1);
    failed = true;
    assert_null(config_read_secret(NULL, "ETL_UNIT_SECRET", &failed, err, sizeof err));
    assert_false(failed);
    unsetenv("ETL_UNIT_SECRET");
    failed = true;
    assert_null(config_read_secret("", "ETL_UNIT_SECRET", &failed, err, sizeof err));
    assert_false(failed);
}

static void test_secret_unreadable_file(void **state)
{
    (void)state;
    setenv("ETL_UNIT_SECRET", "env-secret-value", 1);
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/no-such-password", tmp_dir);
    bool failed = false;
    char err[256] = "";
    char *secret = config_read_secret(file, "ETL_UNIT_SECRET", &failed, err, sizeof err);
    assert_null(secret); /* no silent fallback to the environment */
    assert_true(failed);
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_null(strstr(err, "env-secret-value"));

    /* a directory: opens, but cannot be read */
    failed = false;
    err[0] = '\0';
    secret = config_read_secret(tmp_dir, "ETL_UNIT_SECRET", &failed, err, sizeof err);
    assert_null(secret);
    assert_true(failed);
    assert_non_null(strstr(err, tmp_dir));
    assert_null(strstr(err, "env-secret-value"));
    unsetenv("ETL_UNIT_SECRET");
}

/* config_load_all reports every error of the file, in file order, each
 * once: a bad value, an unknown key, an unset variable, a bad index key, a
 * missing required key and a rule across keys, in one load. */
static void test_every_error_reported_at_once(void **state)
{
    (void)state;
    release();
    unsetenv("ETL_TEST_UNSET_VAR");
    loaded_path = ut_temp_file(tmp_dir, "[etl]\n"
                                        "batch_size = 0\n"
                                        "bogus = 1\n"
                                        "poll_interval_ms = ${ETL_TEST_UNSET_VAR}\n"
                                        "backoff_initial_ms = 2000\n"
                                        "backoff_max_ms = 1000\n"
                                        "[index.movies]\n"
                                        "index = Bad Name\n"
                                        "documents = d.sql\n");
    struct config_errors errors = {0};
    assert_int_equal(config_load_all(loaded_path, &loaded, &errors), -1);
    const char *expected[] = {
        ":4: poll_interval_ms: ",
        ":2: batch_size: \"0\" is not a whole number from 1 to 10000",
        ":3: bogus: unknown key in section [etl]",
        ":8: index: \"Bad Name\" is not a valid Elasticsearch index name",
        ":7: mapping: required in section [index.movies]",
        ":7: changes: required in section [index.movies]",
        ":6: backoff_max_ms: must not be below backoff_initial_ms",
    };
    size_t count = sizeof expected / sizeof expected[0];
    for (size_t i = 0; i < errors.count && i < count; i++) {
        const char *line = errors.lines[i];
        bool ok = strncmp(line, loaded_path, strlen(loaded_path)) == 0 &&
                  strncmp(line + strlen(loaded_path), expected[i], strlen(expected[i])) == 0;
        if (!ok) {
            config_errors_free(&errors);
            fail_msg("error %zu: \"%s\", expected \"PATH%s...\"", i, line, expected[i]);
        }
    }
    size_t got = errors.count;
    config_errors_free(&errors);
    assert_int_equal(got, count);
    /* config_load keeps reporting the first. */
    char err[CONFIG_ERROR_MAX];
    config_free(&loaded);
    assert_int_equal(config_load(loaded_path, &loaded, err, sizeof err), -1);
    assert_non_null(strstr(err, ":4: poll_interval_ms: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_shipped_ini_loads_with_documented_defaults, cleanup),
        cmocka_unit_test_teardown(test_shipped_ini_takes_environment, cleanup),
        cmocka_unit_test_teardown(test_shipped_ini_rejects_bad_environment_value, cleanup),
        cmocka_unit_test_teardown(test_defaults_when_keys_absent, cleanup),
        cmocka_unit_test_teardown(test_every_error_reported_at_once, cleanup),
        cmocka_unit_test_teardown(test_renamed_key_read_under_its_old_name, cleanup),
        cmocka_unit_test_teardown(test_values_are_stored, cleanup),
        cmocka_unit_test_teardown(test_comments_and_inline_comments, cleanup),
        cmocka_unit_test_teardown(test_utf8_text, cleanup),
        cmocka_unit_test_teardown(test_dollar_without_braces_is_literal, cleanup),
        cmocka_unit_test_teardown(test_several_index_sections, cleanup),
        cmocka_unit_test_teardown(test_relative_paths_resolved_against_config_dir, cleanup),
        cmocka_unit_test_teardown(test_config_path_without_directory, cleanup),
        cmocka_unit_test_teardown(test_changes_split_on_spaces, cleanup),
        cmocka_unit_test_teardown(test_env_expansion_set, cleanup),
        cmocka_unit_test_teardown(test_env_expansion_defaults, cleanup),
        cmocka_unit_test_teardown(test_errors, cleanup),
        cmocka_unit_test_teardown(test_url_lists_nodes, cleanup),
        cmocka_unit_test_teardown(test_error_long_line, cleanup),
        cmocka_unit_test_teardown(test_hang_timeout_just_above_the_longest_step, cleanup),
        cmocka_unit_test_teardown(test_error_nul_byte, cleanup),
        cmocka_unit_test_teardown(test_error_megabyte_line, cleanup),
        cmocka_unit_test_teardown(test_error_directory, cleanup),
        cmocka_unit_test_teardown(test_error_fifo, cleanup),
        cmocka_unit_test_teardown(test_error_unreadable_file, cleanup),
        cmocka_unit_test_teardown(test_index_name_of_40_characters, cleanup),
        cmocka_unit_test_teardown(test_es_index_name_with_dots_and_dashes, cleanup),
        cmocka_unit_test_teardown(test_error_missing_file, cleanup),
        cmocka_unit_test_teardown(test_long_comment_line, cleanup),
        cmocka_unit_test_teardown(test_long_value_line, cleanup),
        cmocka_unit_test_teardown(test_section_header_with_spaces, cleanup),
        cmocka_unit_test_teardown(test_secret_from_file, cleanup),
        cmocka_unit_test_teardown(test_secret_from_environment, cleanup),
        cmocka_unit_test_teardown(test_secret_unreadable_file, cleanup),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
