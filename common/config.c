/* config.c - the key table of the fixed sections ([etl], [postgres],
 * [elasticsearch], [supervisor]) and its checks of one value; config_load()
 * ties the INI reader, this table, the index sections and the checks across
 * keys (config_check.c) together. */
#include "config.h"

#include "config_check.h"
#include "config_error.h"
#include "config_index.h"
#include "ini_reader.h"
#include "listen_addr.h"
#include "url_list.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most shard copies wait_for_active_shards may ask for (a primary and
 * its replicas). */
#define SHARD_COPIES_MAX 100

/* How a key's value is checked and stored. */
enum key_kind {
    KIND_STRING,
    KIND_PATH,
    KIND_INT,
    KIND_LOG_LEVEL,
    KIND_PORT,
    KIND_MODE,
    KIND_URL,    /* one or more node URLs (url_list.h) */
    KIND_SHARDS, /* "all" or a whole number of shard copies */
    KIND_LISTEN, /* "" (off) or HOST:PORT (listen_addr.h) */
    KIND_MAPPING_CHANGE
};

/* The values of on_mapping_change, in enum mapping_change order. */
static const char *const mapping_change_names[] = {"rebuild", "refuse"};

/* A known key of a fixed section: its default and its range. */
struct key_spec {
    const char *section;
    const char *name;
    enum key_kind kind;
    const char *default_value; /* NULL: required */
    long min, max;             /* for KIND_INT */
    size_t offset;             /* into struct etl_config */
};

#define STR(section, name, def, field)                                                             \
    {                                                                                              \
        section, name, KIND_STRING, def, 0, 0, offsetof(struct etl_config, field)                  \
    }
#define PATH(section, name, def, field)                                                            \
    {                                                                                              \
        section, name, KIND_PATH, def, 0, 0, offsetof(struct etl_config, field)                    \
    }
#define INT(section, name, def, lo, hi, field)                                                     \
    {                                                                                              \
        section, name, KIND_INT, def, lo, hi, offsetof(struct etl_config, field)                   \
    }

/* A number macro as the text of a default. */
#define CONFIG_TEXT_OF(n) #n
#define CONFIG_TEXT(n)    CONFIG_TEXT_OF(n)

/* Every key of the fixed sections.  etc/etl.ini documents the same. */
static const struct key_spec key_specs[] = {
    PATH("etl", "state_dir", "/var/lib/etl", state_dir),
    {"etl", "log_level", KIND_LOG_LEVEL, "info", 0, 0, offsetof(struct etl_config, log_level)},
    INT("etl", "batch_size", "500", 1, 10000, batch_size),
    INT("etl", "poll_interval_ms", "1000", 100, 3600000, poll_interval_ms),
    INT("etl", "wake_check_ms", "100", 0, 3600000, wake_check_ms),
    INT("etl", "backoff_initial_ms", "500", 10, 60000, backoff_initial_ms),
    INT("etl", "backoff_max_ms", "30000", 100, 3600000, backoff_max_ms),
    INT("etl", "held_warn_s", "60", 1, 86400, held_warn_s),
    INT("etl", "change_log_retention_s", "259200", 3600, 31536000, change_log_retention_s),
    INT("etl", "change_log_prune_interval_s", "3600", 0, PRUNE_INTERVAL_MAX_S,
        change_log_prune_interval_s),
    INT("etl", "bulk_max_bytes", "10485760", 65536, 104857600, bulk_max_bytes),
    INT("etl", "bulk_concurrency", "2", 1, 16, bulk_concurrency),
    INT("etl", "verify_rebuild_threshold", "10000", 1, CONFIG_VERIFY_REBUILD_THRESHOLD_MAX,
        verify_rebuild_threshold),
    INT("etl", "verify_interval_s", "0", 0, 31536000, verify_interval_s),
    INT("etl", "keep_old_indices", "0", 0, 10, keep_old_indices),
    {"etl", "on_mapping_change", KIND_MAPPING_CHANGE, "rebuild", 0, 0,
     offsetof(struct etl_config, on_mapping_change)},
    INT("etl", "index_lock_poll_ms", "1000", 100, 600000, index_lock_poll_ms),
    INT("etl", "build_max_catch_up_s", "300", 1, 86400, build_max_catch_up_s),

    STR("postgres", "host", "", pg_host),
    {"postgres", "port", KIND_PORT, "", 0, 0, offsetof(struct etl_config, pg_port)},
    STR("postgres", "dbname", "", pg_dbname),
    STR("postgres", "user", "", pg_user),
    PATH("postgres", "password_file", "", pg_password_file),
    STR("postgres", "sslmode", "", pg_sslmode),
    PATH("postgres", "sslrootcert", "", pg_sslrootcert),
    INT("postgres", "connect_timeout_s", "5", 1, 300, pg_connect_timeout_s),
    INT("postgres", "statement_timeout_ms", "30000", 100, 3600000, pg_statement_timeout_ms),
    INT("postgres", "keepalives_idle_s", "30", 1, 3600, pg_keepalives_idle_s),
    INT("postgres", "tcp_user_timeout_ms", "30000", 1000, 3600000, pg_tcp_user_timeout_ms),

    {"elasticsearch", "url", KIND_URL, "http://127.0.0.1:9200", 0, 0,
     offsetof(struct etl_config, es_url)},
    STR("elasticsearch", "user", "", es_user),
    PATH("elasticsearch", "password_file", "", es_password_file),
    PATH("elasticsearch", "api_key_file", "", es_api_key_file),
    PATH("elasticsearch", "ca_file", "", es_ca_file),
    PATH("elasticsearch", "client_cert_file", "", es_client_cert_file),
    PATH("elasticsearch", "client_key_file", "", es_client_key_file),
    INT("elasticsearch", "connect_timeout_ms", "3000", 100, 60000, es_connect_timeout_ms),
    INT("elasticsearch", "request_timeout_ms", "30000", 1000, 600000, es_request_timeout_ms),
    {"elasticsearch", "wait_for_active_shards", KIND_SHARDS, "1", 0, 0,
     offsetof(struct etl_config, es_wait_for_active_shards)},
    INT("elasticsearch", "response_max_bytes", "104857600", 65536, 1073741824,
        es_response_max_bytes),

    PATH("supervisor", "control_socket", "/run/etl/control.sock", control_socket),
    {"supervisor", "control_socket_mode", KIND_MODE, "0600", 0, 0,
     offsetof(struct etl_config, control_socket_mode)},
    PATH("supervisor", "log_dir", "", log_dir),
    PATH("supervisor", "worker_path", "", worker_path),
    INT("supervisor", "restart_initial_ms", "1000", 10, 600000, restart_initial_ms),
    INT("supervisor", "restart_max_ms", "60000", 100, 3600000, restart_max_ms),
    INT("supervisor", "restart_reset_after_s", "60", 1, 86400, restart_reset_after_s),
    INT("supervisor", "stop_timeout_s", "10", 1, CONFIG_STOP_TIMEOUT_MAX_S, stop_timeout_s),
    /* At least one line of LOG_LINE_MAX, at most 1 GiB. */
    INT("supervisor", "output_buffer_bytes", "1048576", LOG_LINE_MAX, 1073741824,
        output_buffer_bytes),
    INT("supervisor", "control_idle_timeout_ms", "3000", 100, 60000, control_idle_timeout_ms),
    {"supervisor", "metrics_listen", KIND_LISTEN, "", 0, 0,
     offsetof(struct etl_config, metrics_listen)},
    INT("supervisor", "ready_max_lag_s", CONFIG_TEXT(CONFIG_READY_MAX_LAG_DEFAULT_S), 1, 86400,
        ready_max_lag_s),
    INT("supervisor", "hang_timeout_s", "120", 1, 86400, hang_timeout_s),
};
#define KEY_SPECS_COUNT (sizeof key_specs / sizeof key_specs[0])

static const char *const fixed_sections[] = {"etl", "postgres", "elasticsearch", "supervisor"};

/* Parses a whole decimal number within [min, max]. */
static bool parse_int(const char *text, long min, long max, int *out)
{
    if (*text == '\0')
        return false;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = (int)value;
    return true;
}

/* Checks one value against its kind and stores it in config.  Returns false
 * with a reason (no file, line or key) in reason. */
static bool store_value(struct etl_config *config, const struct key_spec *spec, const char *value,
                        char *reason, size_t reason_size)
{
    char *field = (char *)config + spec->offset;
    switch (spec->kind) {
    case KIND_INT:
        if (!parse_int(value, spec->min, spec->max, (int *)(void *)field)) {
            snprintf(reason, reason_size, "\"%s\" is not a whole number from %ld to %ld", value,
                     spec->min, spec->max);
            return false;
        }
        return true;
    case KIND_LOG_LEVEL:
        if (!log_level_parse(value, (enum log_level *)(void *)field)) {
            snprintf(reason, reason_size, "\"%s\" is not one of debug, info, warn, error", value);
            return false;
        }
        return true;
    case KIND_MODE:
        if (strcmp(value, "0600") == 0)
            *(int *)(void *)field = 0600;
        else if (strcmp(value, "0660") == 0)
            *(int *)(void *)field = 0660;
        else {
            snprintf(reason, reason_size, "\"%s\" is not 0600 or 0660", value);
            return false;
        }
        return true;
    case KIND_MAPPING_CHANGE:
        for (size_t i = 0; i < sizeof mapping_change_names / sizeof mapping_change_names[0]; i++) {
            if (strcmp(value, mapping_change_names[i]) == 0) {
                *(enum mapping_change *)(void *)field = (enum mapping_change)i;
                return true;
            }
        }
        snprintf(reason, reason_size, "\"%s\" is not rebuild or refuse", value);
        return false;
    case KIND_PORT: {
        int port;
        if (value[0] != '\0' && !parse_int(value, 1, 65535, &port)) {
            snprintf(reason, reason_size, "\"%s\" is not a port from 1 to 65535", value);
            return false;
        }
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    case KIND_URL: {
        struct url_list nodes;
        if (url_list_parse(value, &nodes, reason, reason_size) < 0)
            return false;
        url_list_free(&nodes);
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    case KIND_SHARDS: {
        int copies;
        if (strcmp(value, "all") != 0 && !parse_int(value, 1, SHARD_COPIES_MAX, &copies)) {
            snprintf(reason, reason_size, "\"%s\" is not all or a whole number from 1 to %d", value,
                     SHARD_COPIES_MAX);
            return false;
        }
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    case KIND_LISTEN: {
        struct sockaddr_storage addr;
        if (value[0] != '\0' && !listen_addr_parse(value, &addr, reason, reason_size))
            return false;
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    case KIND_PATH:
        *(char **)(void *)field = value[0] ? path_join(config->base_dir, value) : xstrdup("");
        return true;
    case KIND_STRING:
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    return false;
}

/* Keys renamed by a release, still read under their old name so that an
 * upgrade does not refuse a config that was valid (etc/etl.ini names both). */
static const struct renamed_key {
    const char *section, *old_name, *name;
} renamed_keys[] = {
    {"etl", "horizon_warn_s", "held_warn_s"},
};

/* The row of section.name in key_specs (an old name finds its new row),
 * or -1. */
static ptrdiff_t find_spec(const char *section, const char *name)
{
    for (size_t i = 0; i < sizeof renamed_keys / sizeof renamed_keys[0]; i++) {
        if (strcmp(renamed_keys[i].section, section) == 0 &&
            strcmp(renamed_keys[i].old_name, name) == 0)
            name = renamed_keys[i].name;
    }
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        if (strcmp(key_specs[i].section, section) == 0 && strcmp(key_specs[i].name, name) == 0)
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Frees the string a key of one of the string kinds holds, if any. */
static void free_value(struct etl_config *config, const struct key_spec *spec)
{
    enum key_kind kind = spec->kind;
    if (kind == KIND_STRING || kind == KIND_PATH || kind == KIND_PORT || kind == KIND_URL ||
        kind == KIND_SHARDS || kind == KIND_LISTEN) {
        char **field = (char **)(void *)((char *)config + spec->offset);
        free(*field);
        *field = NULL;
    }
}

/* True for the names of the fixed sections. */
static bool is_fixed_section(const char *name)
{
    for (size_t i = 0; i < sizeof fixed_sections / sizeof fixed_sections[0]; i++) {
        if (strcmp(fixed_sections[i], name) == 0)
            return true;
    }
    return false;
}

/* Validates everything collected by the parser into config, every error
 * added to errors: a bad value leaves its key's default in config, so the
 * checks after it still see a value of the right kind.  Returns 0, or -1
 * when errors has anything. */
static int validate(struct etl_config *config, const struct ini_document *doc,
                    struct config_errors *errors)
{
    size_t before = errors->count;
    /* Sections: known, or index.NAME; never twice. */
    for (size_t i = 0; i < doc->sections_count; i++) {
        const struct ini_section *s = &doc->sections[i];
        bool twice = false;
        for (size_t j = 0; j < i && !twice; j++) {
            if (strcmp(doc->sections[j].name, s->name) == 0) {
                config_error(errors, config->path, s->line, s->name,
                             "section appears twice (first at line %d)", doc->sections[j].line);
                twice = true;
            }
        }
        if (!twice && !is_fixed_section(s->name) && !config_is_index_section(s->name))
            config_error(errors, config->path, s->line, s->name, "unknown section");
    }
    /* Keys of the fixed sections: known, set once, valid. */
    bool seen[KEY_SPECS_COUNT] = {false};
    bool bad[KEY_SPECS_COUNT] = {false};
    for (size_t i = 0; i < doc->entries_count; i++) {
        const struct ini_entry *e = &doc->entries[i];
        if (e->section[0] == '\0') {
            config_error(errors, config->path, e->line, e->name, "key outside any section");
            continue;
        }
        if (!is_fixed_section(e->section))
            continue;
        ptrdiff_t at = find_spec(e->section, e->name);
        if (config_check_key(config->path, e, at, seen, errors) < 0 || e->invalid) {
            if (at >= 0)
                bad[at] = true;
            continue;
        }
        const struct key_spec *spec = &key_specs[at];
        char reason[CONFIG_ERROR_MAX];
        if (!store_value(config, spec, e->value, reason, sizeof reason)) {
            config_error(errors, config->path, e->line, e->name, "%s", reason);
            bad[at] = true;
        }
    }
    /* Defaults for the rest (and for the keys refused above); a key
     * without a default is required. */
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        if (seen[i] && !bad[i])
            continue;
        char reason[CONFIG_ERROR_MAX];
        if (key_specs[i].default_value == NULL) {
            if (!seen[i])
                config_error(errors, config->path, doc->line_count, key_specs[i].name,
                             "required in section [%s]", key_specs[i].section);
            continue;
        }
        free_value(config, &key_specs[i]);
        if (!store_value(config, &key_specs[i], key_specs[i].default_value, reason, sizeof reason))
            config_error(errors, config->path, 0, key_specs[i].name, "bad default: %s", reason);
    }
    config_load_indices(config, doc, errors);
    config_check_cross_keys(config, doc, errors);
    return errors->count > before ? -1 : 0;
}

/* The file's directory is set before it is read, so relative paths in it
 * start there; config->path and base_dir are set even on error. */
int config_load_all(const char *path, struct etl_config *config, struct config_errors *errors)
{
    *config = (struct etl_config){0};
    config->path = xstrdup(path);
    char *slash = strrchr(config->path, '/');
    config->base_dir =
        slash ? xasprintf("%.*s", (int)(slash - config->path), config->path) : xstrdup(".");
    if (config->base_dir[0] == '\0') {
        free(config->base_dir);
        config->base_dir = xstrdup("/");
    }

    struct ini_document doc;
    int read = ini_read(path, &doc, errors);
    if (read < 0)
        return -1;
    int rc = validate(config, &doc, errors);
    ini_document_free(&doc);
    return read > 0 ? -1 : rc;
}

/* The first error is the one the programs report at start. */
int config_load(const char *path, struct etl_config *config, char *err, size_t err_size)
{
    struct config_errors errors = {0};
    int rc = config_load_all(path, config, &errors);
    if (rc < 0)
        snprintf(err, err_size, "%s", errors.count > 0 ? errors.lines[0] : "unknown error");
    config_errors_free(&errors);
    return rc;
}

/* Frees every string field listed in key_specs and the index sections. */
void config_free(struct etl_config *config)
{
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++)
        free_value(config, &key_specs[i]);
    for (size_t i = 0; i < config->indices_count; i++)
        config_index_free(&config->indices[i]);
    free(config->indices);
    free(config->path);
    free(config->base_dir);
    *config = (struct etl_config){0};
}

const struct index_config *config_find_index(const struct etl_config *config, const char *name)
{
    for (size_t i = 0; i < config->indices_count; i++) {
        if (strcmp(config->indices[i].name, name) == 0)
            return &config->indices[i];
    }
    return NULL;
}

/* Walks the key table, so a key added to it is compared too. */
char *config_worker_settings(const struct etl_config *config, const struct index_config *idx)
{
    struct buffer out = {0};
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        const struct key_spec *spec = &key_specs[i];
        if (strcmp(spec->section, "supervisor") == 0)
            continue;
        const char *field = (const char *)config + spec->offset;
        char *line;
        switch (spec->kind) {
        case KIND_INT:
        case KIND_MODE:
            line = xasprintf("%s.%s=%d\n", spec->section, spec->name, *(const int *)field);
            break;
        case KIND_LOG_LEVEL:
            line = xasprintf("%s.%s=%s\n", spec->section, spec->name,
                             log_level_name(*(const enum log_level *)field));
            break;
        case KIND_MAPPING_CHANGE:
            line = xasprintf("%s.%s=%s\n", spec->section, spec->name,
                             mapping_change_names[*(const enum mapping_change *)field]);
            break;
        default:
            line = xasprintf("%s.%s=%s\n", spec->section, spec->name,
                             *(char *const *)(const void *)field);
        }
        buffer_append_str(&out, line);
        free(line);
    }
    config_index_settings(&out, idx);
    if (out.data == NULL)
        buffer_append(&out, "", 0);
    return out.data;
}
