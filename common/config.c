/* config.c - INI parsing (inih) and validation against a table of keys. */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a key's value is checked and stored. */
enum key_kind { KIND_STRING, KIND_PATH, KIND_INT, KIND_LOG_LEVEL, KIND_PORT, KIND_MODE, KIND_URL };

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

/* Every key of the fixed sections.  etc/etl.ini documents the same. */
static const struct key_spec key_specs[] = {
    PATH("etl", "state_dir", "/var/lib/etl", state_dir),
    {"etl", "log_level", KIND_LOG_LEVEL, "info", 0, 0, offsetof(struct etl_config, log_level)},
    INT("etl", "batch_size", "500", 1, 10000, batch_size),
    INT("etl", "poll_interval_ms", "1000", 100, 3600000, poll_interval_ms),
    INT("etl", "backoff_initial_ms", "500", 10, 60000, backoff_initial_ms),
    INT("etl", "backoff_max_ms", "30000", 100, 3600000, backoff_max_ms),
    INT("etl", "horizon_warn_s", "60", 1, 86400, horizon_warn_s),

    STR("postgres", "host", "", pg_host),
    {"postgres", "port", KIND_PORT, "", 0, 0, offsetof(struct etl_config, pg_port)},
    STR("postgres", "dbname", "", pg_dbname),
    STR("postgres", "user", "", pg_user),
    PATH("postgres", "password_file", "", pg_password_file),
    STR("postgres", "sslmode", "", pg_sslmode),
    INT("postgres", "connect_timeout_s", "5", 1, 300, pg_connect_timeout_s),
    INT("postgres", "statement_timeout_ms", "30000", 100, 3600000, pg_statement_timeout_ms),

    {"elasticsearch", "url", KIND_URL, "http://127.0.0.1:9200", 0, 0,
     offsetof(struct etl_config, es_url)},
    STR("elasticsearch", "user", "", es_user),
    PATH("elasticsearch", "password_file", "", es_password_file),
    INT("elasticsearch", "connect_timeout_ms", "3000", 100, 60000, es_connect_timeout_ms),
    INT("elasticsearch", "request_timeout_ms", "30000", 1000, 600000, es_request_timeout_ms),

    PATH("supervisor", "control_socket", "/run/etl/control.sock", control_socket),
    {"supervisor", "control_socket_mode", KIND_MODE, "0600", 0, 0,
     offsetof(struct etl_config, control_socket_mode)},
    PATH("supervisor", "log_dir", "", log_dir),
    PATH("supervisor", "worker_path", "", worker_path),
    INT("supervisor", "restart_initial_ms", "1000", 10, 600000, restart_initial_ms),
    INT("supervisor", "restart_max_ms", "60000", 100, 3600000, restart_max_ms),
    INT("supervisor", "restart_reset_after_s", "60", 1, 86400, restart_reset_after_s),
    INT("supervisor", "stop_timeout_s", "10", 1, 3600, stop_timeout_s),
};
#define KEY_SPECS_COUNT (sizeof key_specs / sizeof key_specs[0])

static const char *const fixed_sections[] = {"etl", "postgres", "elasticsearch", "supervisor"};
#define INDEX_PREFIX "index."
/* inih keeps section names in 50 bytes: "index." + 40 characters fits. */
#define INDEX_NAME_MAX 40
/* The longest line read; longer ones are an error, not silently split. */
#define CONFIG_LINE_MAX 4096
/* Elasticsearch's own limit on index names, in bytes. */
#define ES_INDEX_NAME_MAX 255

/* One key=value line as read, before validation. */
struct raw_entry {
    char *section;
    char *name;
    char *value;
    int line;
};

/* One section header as read. */
struct raw_section {
    char *name;
    int line;
};

/* What the inih callbacks collect. */
struct parse_state {
    FILE *file;
    int line; /* counted by our reader: inih 55 cannot report line numbers */
    struct raw_entry *entries;
    size_t entries_count;
    struct raw_section *sections;
    size_t sections_count;
};

/* Records a section header line ("[name]") with its line number.  inih
 * reports sections only through the keys inside them, so an empty section
 * would otherwise go unseen. */
static void note_section_header(struct parse_state *state, const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text != '[')
        return;
    const char *end = strchr(text, ']');
    if (end == NULL)
        return; /* inih reports the syntax error */
    const char *start = text + 1;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    const char *stop = end;
    while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
    state->sections =
        xrealloc(state->sections, (state->sections_count + 1) * sizeof *state->sections);
    state->sections[state->sections_count++] =
        (struct raw_section){xasprintf("%.*s", (int)(stop - start), start), state->line};
}

/* inih reader: fgets that counts lines, so the handler knows where it is,
 * and notes section headers. */
static char *counting_reader(char *str, int num, void *stream)
{
    struct parse_state *state = stream;
    char *got = fgets(str, num, state->file);
    if (got != NULL) {
        state->line++;
        note_section_header(state, got);
    }
    return got;
}

/* inih handler: records each key = value with its line number.  The
 * section name is trimmed as note_section_header() trims it, so "[ etl ]"
 * is "etl" for both. */
static int collect_entry(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *state = user;
    while (*section == ' ' || *section == '\t')
        section++;
    size_t len = strlen(section);
    while (len > 0 && (section[len - 1] == ' ' || section[len - 1] == '\t'))
        len--;
    state->entries = xrealloc(state->entries, (state->entries_count + 1) * sizeof *state->entries);
    state->entries[state->entries_count++] = (struct raw_entry){
        xasprintf("%.*s", (int)len, section), xstrdup(name), xstrdup(value), state->line};
    return 1;
}

/* Formats "file:line: key: reason" into err. */
static void set_error(char *err, size_t err_size, const char *file, int line, const char *key,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void set_error(char *err, size_t err_size, const char *file, int line, const char *key,
                      const char *fmt, ...)
{
    char reason[CONFIG_ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    snprintf(err, err_size, "%s:%d: %s: %s", file, line, key, reason);
}

/* Expands a whole value of the form ${NAME} or ${NAME:-default} from the
 * environment; other values are returned as they are.  NULL when NAME is
 * unset and there is no default. */
static char *expand_env(const char *value, const char **missing_name, char *name_buf,
                        size_t name_size)
{
    size_t len = strlen(value);
    if (len < 4 || value[0] != '$' || value[1] != '{' || value[len - 1] != '}')
        return xstrdup(value);
    const char *body = value + 2;
    size_t body_len = len - 3;
    const char *sep = strstr(body, ":-");
    size_t name_len =
        sep != NULL && (size_t)(sep - body) < body_len ? (size_t)(sep - body) : body_len;
    if (name_len == 0 || name_len >= name_size)
        return xstrdup(value);
    memcpy(name_buf, body, name_len);
    name_buf[name_len] = '\0';
    const char *env = getenv(name_buf);
    if (env != NULL && env[0] != '\0')
        return xstrdup(env);
    if (name_len < body_len) {
        const char *def = body + name_len + 2;
        return xasprintf("%.*s", (int)(body_len - name_len - 2), def);
    }
    *missing_name = name_buf;
    return NULL;
}

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
 * with a reason in reason_buf. */
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
    case KIND_PORT: {
        int port;
        if (value[0] != '\0' && !parse_int(value, 1, 65535, &port)) {
            snprintf(reason, reason_size, "\"%s\" is not a port from 1 to 65535", value);
            return false;
        }
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    case KIND_URL:
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
            snprintf(reason, reason_size, "\"%s\" is not an http:// or https:// URL", value);
            return false;
        }
        *(char **)(void *)field = xstrdup(value);
        return true;
    case KIND_PATH:
        *(char **)(void *)field = value[0] ? path_join(config->base_dir, value) : xstrdup("");
        return true;
    case KIND_STRING:
        *(char **)(void *)field = xstrdup(value);
        return true;
    }
    return false;
}

/* The spec of section.name, or NULL. */
static const struct key_spec *find_spec(const char *section, const char *name)
{
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        if (strcmp(key_specs[i].section, section) == 0 && strcmp(key_specs[i].name, name) == 0)
            return &key_specs[i];
    }
    return NULL;
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

/* Index names become file names and log fields: keep them plain. */
static bool valid_index_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > INDEX_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    }
    return true;
}

/* Elasticsearch's rules for index names: lowercase, none of \ / * ? " < >
 * | , # : or space, not starting with - _ +, not "." or "..".  Checked here
 * so a bad name is a config error, not a worker retrying forever. */
static bool valid_es_index_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > ES_INDEX_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    if (name[0] == '-' || name[0] == '_' || name[0] == '+')
        return false;
    for (const char *p = name; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || strchr("\\/*?\"<>|,#: \t", *p) != NULL)
            return false;
    }
    return true;
}

/* True when two change files of idx have one base name: their cursors
 * would share one entry of the state file. */
static bool has_duplicate_source_names(const struct index_config *idx)
{
    for (size_t i = 0; i < idx->changes_count; i++) {
        const char *a = strrchr(idx->changes_sql[i], '/');
        a = a ? a + 1 : idx->changes_sql[i];
        for (size_t j = 0; j < i; j++) {
            const char *b = strrchr(idx->changes_sql[j], '/');
            b = b ? b + 1 : idx->changes_sql[j];
            if (strcmp(a, b) == 0)
                return true;
        }
    }
    return false;
}

/* Splits a space-separated list of paths, each resolved against base_dir. */
static char **split_paths(const char *value, const char *base_dir, size_t *count)
{
    char *copy = xstrdup(value);
    char **paths = NULL;
    *count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
        paths = xrealloc(paths, (*count + 1) * sizeof *paths);
        paths[(*count)++] = path_join(base_dir, tok);
    }
    free(copy);
    return paths;
}

/* Validates one [index.NAME] section's entries into idx. */
static int load_index_section(struct etl_config *config, struct parse_state *state,
                              const struct raw_section *section, struct index_config *idx,
                              char *err, size_t err_size)
{
    const char *name = section->name + strlen(INDEX_PREFIX);
    if (!valid_index_name(name)) {
        set_error(err, err_size, config->path, section->line, section->name,
                  "index name must be 1-40 characters of a-z, 0-9, _ and -");
        return -1;
    }
    idx->name = xstrdup(name);
    idx->line = section->line;
    for (size_t i = 0; i < state->entries_count; i++) {
        struct raw_entry *e = &state->entries[i];
        if (strcmp(e->section, section->name) != 0)
            continue;
        char **slot = NULL;
        if (strcmp(e->name, "index") == 0)
            slot = &idx->index;
        else if (strcmp(e->name, "mapping") == 0)
            slot = &idx->mapping;
        else if (strcmp(e->name, "documents") == 0)
            slot = &idx->documents_sql;
        else if (strcmp(e->name, "changes") == 0) {
            if (idx->changes_sql != NULL) {
                set_error(err, err_size, config->path, e->line, e->name, "set twice");
                return -1;
            }
            idx->changes_sql = split_paths(e->value, config->base_dir, &idx->changes_count);
            if (idx->changes_count == 0) {
                set_error(err, err_size, config->path, e->line, e->name,
                          "needs at least one SQL file");
                return -1;
            }
            if (has_duplicate_source_names(idx)) {
                set_error(err, err_size, config->path, e->line, e->name,
                          "two files with one base name (each names a cursor in the state file)");
                return -1;
            }
            continue;
        } else {
            set_error(err, err_size, config->path, e->line, e->name, "unknown key in section [%s]",
                      section->name);
            return -1;
        }
        if (*slot != NULL) {
            set_error(err, err_size, config->path, e->line, e->name, "set twice");
            return -1;
        }
        if (e->value[0] == '\0') {
            set_error(err, err_size, config->path, e->line, e->name, "must not be empty");
            return -1;
        }
        if (slot == &idx->index && !valid_es_index_name(e->value)) {
            set_error(err, err_size, config->path, e->line, e->name,
                      "\"%s\" is not a valid Elasticsearch index name (lowercase; none of "
                      "\\/*?\"<>|,#: or spaces; not starting with -, _ or +)",
                      e->value);
            return -1;
        }
        *slot = slot == &idx->index ? xstrdup(e->value) : path_join(config->base_dir, e->value);
    }
    if (idx->index == NULL)
        idx->index = xstrdup(name);
    const char *missing = idx->mapping == NULL         ? "mapping"
                          : idx->documents_sql == NULL ? "documents"
                          : idx->changes_sql == NULL   ? "changes"
                                                       : NULL;
    if (missing != NULL) {
        set_error(err, err_size, config->path, section->line, missing, "required in section [%s]",
                  section->name);
        return -1;
    }
    return 0;
}

/* Checks rules that tie several keys together. */
static int check_cross_keys(struct etl_config *config, struct parse_state *state, char *err,
                            size_t err_size)
{
    if (config->backoff_max_ms < config->backoff_initial_ms ||
        config->restart_max_ms < config->restart_initial_ms) {
        bool etl = config->backoff_max_ms < config->backoff_initial_ms;
        const char *key = etl ? "backoff_max_ms" : "restart_max_ms";
        const char *other = etl ? "backoff_initial_ms" : "restart_initial_ms";
        /* Blame the max key where it is set, else the initial key that
         * went above its default. */
        int line = 0;
        int other_line = 0;
        for (size_t i = 0; i < state->entries_count; i++) {
            if (strcmp(state->entries[i].name, key) == 0)
                line = state->entries[i].line;
            else if (strcmp(state->entries[i].name, other) == 0)
                other_line = state->entries[i].line;
        }
        if (line == 0)
            set_error(err, err_size, config->path, other_line, other, "must not be above %s", key);
        else
            set_error(err, err_size, config->path, line, key, "must not be below %s", other);
        return -1;
    }
    if (config->indices_count == 0) {
        set_error(err, err_size, config->path, state->line, "[index.NAME]",
                  "at least one index section is required");
        return -1;
    }
    return 0;
}

/* Validates everything collected by the parser into config. */
static int validate(struct etl_config *config, struct parse_state *state, char *err,
                    size_t err_size)
{
    /* Sections: known, or index.NAME; never twice. */
    for (size_t i = 0; i < state->sections_count; i++) {
        struct raw_section *s = &state->sections[i];
        for (size_t j = 0; j < i; j++) {
            if (strcmp(state->sections[j].name, s->name) == 0) {
                set_error(err, err_size, config->path, s->line, s->name,
                          "section appears twice (first at line %d)", state->sections[j].line);
                return -1;
            }
        }
        if (!is_fixed_section(s->name) && strncmp(s->name, INDEX_PREFIX, strlen(INDEX_PREFIX)) != 0)
            return set_error(err, err_size, config->path, s->line, s->name, "unknown section"), -1;
    }
    /* Keys of the fixed sections: known, set once, valid. */
    bool seen[KEY_SPECS_COUNT] = {false};
    for (size_t i = 0; i < state->entries_count; i++) {
        struct raw_entry *e = &state->entries[i];
        if (e->section[0] == '\0') {
            set_error(err, err_size, config->path, e->line, e->name, "key outside any section");
            return -1;
        }
        if (!is_fixed_section(e->section))
            continue;
        const struct key_spec *spec = find_spec(e->section, e->name);
        if (spec == NULL) {
            set_error(err, err_size, config->path, e->line, e->name, "unknown key in section [%s]",
                      e->section);
            return -1;
        }
        size_t at = (size_t)(spec - key_specs);
        if (seen[at]) {
            set_error(err, err_size, config->path, e->line, e->name, "set twice");
            return -1;
        }
        seen[at] = true;
        char reason[CONFIG_ERROR_MAX];
        if (!store_value(config, spec, e->value, reason, sizeof reason)) {
            set_error(err, err_size, config->path, e->line, e->name, "%s", reason);
            return -1;
        }
    }
    /* Defaults for the rest; a key without a default is required. */
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        if (seen[i])
            continue;
        char reason[CONFIG_ERROR_MAX];
        if (key_specs[i].default_value == NULL) {
            set_error(err, err_size, config->path, state->line, key_specs[i].name,
                      "required in section [%s]", key_specs[i].section);
            return -1;
        }
        if (!store_value(config, &key_specs[i], key_specs[i].default_value, reason,
                         sizeof reason)) {
            set_error(err, err_size, config->path, 0, key_specs[i].name, "bad default: %s", reason);
            return -1;
        }
    }
    /* Index sections. */
    for (size_t i = 0; i < state->sections_count; i++) {
        struct raw_section *s = &state->sections[i];
        if (strncmp(s->name, INDEX_PREFIX, strlen(INDEX_PREFIX)) != 0)
            continue;
        config->indices =
            xrealloc(config->indices, (config->indices_count + 1) * sizeof *config->indices);
        struct index_config *idx = &config->indices[config->indices_count++];
        *idx = (struct index_config){0};
        if (load_index_section(config, state, s, idx, err, err_size) < 0)
            return -1;
    }
    return check_cross_keys(config, state, err, err_size);
}

/* Expands ${VAR} in every value; reports an unset variable at its line. */
static int expand_all(struct parse_state *state, const char *path, char *err, size_t err_size)
{
    for (size_t i = 0; i < state->entries_count; i++) {
        struct raw_entry *e = &state->entries[i];
        const char *missing = NULL;
        char name[128];
        char *expanded = expand_env(e->value, &missing, name, sizeof name);
        if (expanded == NULL) {
            set_error(err, err_size, path, e->line, e->name,
                      "environment variable %s is not set and has no default", missing);
            return -1;
        }
        free(e->value);
        e->value = expanded;
    }
    return 0;
}

/* Frees the parser's raw lists. */
static void free_parse_state(struct parse_state *state)
{
    for (size_t i = 0; i < state->entries_count; i++) {
        free(state->entries[i].section);
        free(state->entries[i].name);
        free(state->entries[i].value);
    }
    for (size_t i = 0; i < state->sections_count; i++)
        free(state->sections[i].name);
    free(state->entries);
    free(state->sections);
}

/* The number of the first line of file longer than the parser's buffer
 * takes (0 if none); rewinds the file. */
static int find_long_line(FILE *file)
{
    int line = 1;
    int found = 0;
    long length = 0;
    int c;
    while (found == 0 && (c = getc(file)) != EOF) {
        if (c == '\n') {
            line++;
            length = 0;
        } else if (++length > CONFIG_LINE_MAX - 2) {
            found = line;
        }
    }
    rewind(file);
    return found;
}

/* Reads, expands and validates the file. */
int config_load(const char *path, struct etl_config *config, char *err, size_t err_size)
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

    struct parse_state state = {0};
    state.file = fopen(path, "r");
    if (state.file == NULL) {
        set_error(err, err_size, path, 0, "file", "cannot open: %s", strerror(errno));
        return -1;
    }
    int long_line = find_long_line(state.file);
    if (long_line > 0) {
        fclose(state.file);
        set_error(err, err_size, path, long_line, "line", "longer than %d bytes",
                  CONFIG_LINE_MAX - 2);
        return -1;
    }
    /* Multi-line values would make line numbers and lists ambiguous.  A heap
     * line buffer of CONFIG_LINE_MAX: inih's default 200 bytes would split
     * longer lines (and our line count with them). */
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_max_line = CONFIG_LINE_MAX;
    ini_initial_alloc = CONFIG_LINE_MAX;
    ini_stop_on_first_error = true;
    int rc = ini_parse_stream(counting_reader, &state, collect_entry, &state);
    fclose(state.file);
    if (rc != 0) {
        set_error(err, err_size, path, rc > 0 ? rc : state.line, "syntax",
                  rc > 0 ? "not a section header, key = value, comment or blank line"
                         : "cannot read the file");
        free_parse_state(&state);
        return -1;
    }
    rc = expand_all(&state, path, err, err_size);
    if (rc == 0)
        rc = validate(config, &state, err, err_size);
    free_parse_state(&state);
    return rc;
}

/* Frees a string array. */
static void free_strings(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

/* Frees every string field listed in key_specs and the index sections. */
void config_free(struct etl_config *config)
{
    for (size_t i = 0; i < KEY_SPECS_COUNT; i++) {
        enum key_kind kind = key_specs[i].kind;
        if (kind == KIND_STRING || kind == KIND_PATH || kind == KIND_PORT || kind == KIND_URL)
            free(*(char **)(void *)((char *)config + key_specs[i].offset));
    }
    for (size_t i = 0; i < config->indices_count; i++) {
        struct index_config *idx = &config->indices[i];
        free(idx->name);
        free(idx->index);
        free(idx->mapping);
        free(idx->documents_sql);
        free_strings(idx->changes_sql, idx->changes_count);
    }
    free(config->indices);
    free(config->path);
    free(config->base_dir);
    *config = (struct etl_config){0};
}

/* Looks an index section up by name. */
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
        default:
            line = xasprintf("%s.%s=%s\n", spec->section, spec->name,
                             *(char *const *)(const void *)field);
        }
        buffer_append_str(&out, line);
        free(line);
    }
    char *own =
        xasprintf("index.%s.index=%s\nindex.%s.mapping=%s\nindex.%s.documents=%s\n", idx->name,
                  idx->index, idx->name, idx->mapping, idx->name, idx->documents_sql);
    buffer_append_str(&out, own);
    free(own);
    for (size_t i = 0; i < idx->changes_count; i++) {
        char *line = xasprintf("index.%s.changes=%s\n", idx->name, idx->changes_sql[i]);
        buffer_append_str(&out, line);
        free(line);
    }
    if (out.data == NULL)
        buffer_append(&out, "", 0);
    return out.data;
}
