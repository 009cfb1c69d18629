/* config_index.c - see config_index.h. */
#include "config_index.h"

#include "config_error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_PREFIX "index."
/* inih keeps section names in 50 bytes: "index." + 40 characters fits. */
#define INDEX_NAME_MAX 40
/* Elasticsearch's own limit on index names, in bytes. */
#define ES_INDEX_NAME_MAX 255

/* How an index key's value is checked and stored. */
enum index_key_kind {
    INDEX_KEY_ES_NAME,  /* an Elasticsearch index name, kept as written */
    INDEX_KEY_PATH,     /* one file, resolved against the config's directory */
    INDEX_KEY_PATH_LIST /* files separated by spaces, tabs or commas */
};

/* A key of an [index.NAME] section. */
struct index_key_spec {
    const char *name;
    enum index_key_kind kind;
    bool required;       /* else it defaults to NAME */
    size_t offset;       /* into struct index_config: char *, or char ** for a list */
    size_t count_offset; /* INDEX_KEY_PATH_LIST: its size_t count */
};

/* Every key of an index section.  The order is that of the required-key
 * errors and of config_index_settings(). */
static const struct index_key_spec index_keys[] = {
    {"index", INDEX_KEY_ES_NAME, false, offsetof(struct index_config, index), 0},
    {"mapping", INDEX_KEY_PATH, true, offsetof(struct index_config, mapping), 0},
    {"documents", INDEX_KEY_PATH, true, offsetof(struct index_config, documents_sql), 0},
    {"changes", INDEX_KEY_PATH_LIST, true, offsetof(struct index_config, changes_sql),
     offsetof(struct index_config, changes_count)},
};
#define INDEX_KEYS_COUNT (sizeof index_keys / sizeof index_keys[0])

bool config_is_index_section(const char *section)
{
    return strncmp(section, INDEX_PREFIX, strlen(INDEX_PREFIX)) == 0;
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

/* True when two of the files have one base name: as change sources, their
 * cursors would share one entry of the state file. */
static bool has_duplicate_base_names(char *const *paths, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *a = strrchr(paths[i], '/');
        a = a ? a + 1 : paths[i];
        for (size_t j = 0; j < i; j++) {
            const char *b = strrchr(paths[j], '/');
            b = b ? b + 1 : paths[j];
            if (strcmp(a, b) == 0)
                return true;
        }
    }
    return false;
}

/* Splits a list of paths, each resolved against base_dir. */
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

/* The row of an index key in index_keys, or -1. */
static ptrdiff_t find_index_key(const char *name)
{
    for (size_t i = 0; i < INDEX_KEYS_COUNT; i++) {
        if (strcmp(index_keys[i].name, name) == 0)
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Checks one value against its kind and stores it in idx (the list is
 * stored before its checks, so config_free frees it either way).  Returns
 * false with the message in err. */
static bool store_index_value(const struct etl_config *config, const struct ini_entry *e,
                              const struct index_key_spec *spec, struct index_config *idx,
                              struct config_errors *errors)
{
    char *field = (char *)idx + spec->offset;
    if (spec->kind == INDEX_KEY_PATH_LIST) {
        size_t *count = (size_t *)(void *)((char *)idx + spec->count_offset);
        char **paths = split_paths(e->value, config->base_dir, count);
        *(char ***)(void *)field = paths;
        idx->changes_line = e->line; /* the one list: where the worker's checks of it point */
        if (*count == 0) {
            config_error(errors, config->path, e->line, e->name, "needs at least one SQL file");
            return false;
        }
        if (has_duplicate_base_names(paths, *count)) {
            config_error(errors, config->path, e->line, e->name,
                         "two files with one base name (each names a cursor in the state file)");
            return false;
        }
        return true;
    }
    if (e->value[0] == '\0') {
        config_error(errors, config->path, e->line, e->name, "must not be empty");
        return false;
    }
    if (spec->kind == INDEX_KEY_ES_NAME && !valid_es_index_name(e->value)) {
        config_error(errors, config->path, e->line, e->name,
                     "\"%s\" is not a valid Elasticsearch index name (lowercase; none of "
                     "\\/*?\"<>|,#: or spaces; not starting with -, _ or +)",
                     e->value);
        return false;
    }
    *(char **)(void *)field =
        spec->kind == INDEX_KEY_ES_NAME ? xstrdup(e->value) : path_join(config->base_dir, e->value);
    return true;
}

/* Checks one [index.NAME] section's entries into idx: known keys, each set
 * once, then the required ones at the section's header line. */
static int load_index_section(const struct etl_config *config, const struct ini_document *doc,
                              const struct ini_section *section, struct index_config *idx,
                              struct config_errors *errors)
{
    const char *name = section->name + strlen(INDEX_PREFIX);
    if (!valid_index_name(name)) {
        config_error(errors, config->path, section->line, section->name,
                     "index name must be 1-40 characters of a-z, 0-9, _ and -");
        return -1;
    }
    idx->name = xstrdup(name);
    idx->line = section->line;
    int rc = 0;
    bool seen[INDEX_KEYS_COUNT] = {false};
    for (size_t i = 0; i < doc->entries_count; i++) {
        const struct ini_entry *e = &doc->entries[i];
        if (strcmp(e->section, section->name) != 0)
            continue;
        ptrdiff_t at = find_index_key(e->name);
        if (config_check_key(config->path, e, at, seen, errors) < 0 || e->invalid)
            continue;
        if (!store_index_value(config, e, &index_keys[at], idx, errors))
            rc = -1;
    }
    for (size_t i = 0; i < INDEX_KEYS_COUNT; i++) {
        if (seen[i])
            continue;
        if (index_keys[i].required) {
            config_error(errors, config->path, section->line, index_keys[i].name,
                         "required in section [%s]", section->name);
            rc = -1;
            continue;
        }
        /* The only optional key is the index name, which defaults to NAME:
         * that default must obey the search engine's rules too, or the
         * worker would retry a refused name forever instead of exiting. */
        if (index_keys[i].kind == INDEX_KEY_ES_NAME && !valid_es_index_name(name)) {
            config_error(errors, config->path, section->line, index_keys[i].name,
                         "defaults to the section's NAME, and \"%s\" is not a valid "
                         "Elasticsearch index name (set %s)",
                         name, index_keys[i].name);
            rc = -1;
            continue;
        }
        *(char **)(void *)((char *)idx + index_keys[i].offset) = xstrdup(name);
    }
    return rc;
}

/* True when section i's name was used by an earlier section (an error
 * validate() reports). */
static bool section_seen_before(const struct ini_document *doc, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (strcmp(doc->sections[j].name, doc->sections[i].name) == 0)
            return true;
    }
    return false;
}

int config_load_indices(struct etl_config *config, const struct ini_document *doc,
                        struct config_errors *errors)
{
    int rc = 0;
    for (size_t i = 0; i < doc->sections_count; i++) {
        const struct ini_section *s = &doc->sections[i];
        if (!config_is_index_section(s->name) || section_seen_before(doc, i))
            continue;
        config->indices =
            xrealloc(config->indices, (config->indices_count + 1) * sizeof *config->indices);
        struct index_config *idx = &config->indices[config->indices_count++];
        *idx = (struct index_config){0};
        if (load_index_section(config, doc, s, idx, errors) < 0)
            rc = -1;
    }
    return rc;
}

/* Walks the key table, so a key added to it is compared too. */
void config_index_settings(struct buffer *out, const struct index_config *idx)
{
    for (size_t i = 0; i < INDEX_KEYS_COUNT; i++) {
        const struct index_key_spec *spec = &index_keys[i];
        const char *field = (const char *)idx + spec->offset;
        char *const *values = (char *const *)(const void *)field;
        size_t count = 1;
        if (spec->kind == INDEX_KEY_PATH_LIST) {
            values = *(char **const *)(const void *)field;
            count = *(const size_t *)(const void *)((const char *)idx + spec->count_offset);
        }
        for (size_t j = 0; j < count; j++) {
            char *line = xasprintf("index.%s.%s=%s\n", idx->name, spec->name, values[j]);
            buffer_append_str(out, line);
            free(line);
        }
    }
}

/* Frees every field the key table lists, and the name. */
void config_index_free(struct index_config *idx)
{
    for (size_t i = 0; i < INDEX_KEYS_COUNT; i++) {
        char *field = (char *)idx + index_keys[i].offset;
        if (index_keys[i].kind != INDEX_KEY_PATH_LIST) {
            free(*(char **)(void *)field);
            continue;
        }
        char **list = *(char ***)(void *)field;
        size_t count = *(size_t *)(void *)((char *)idx + index_keys[i].count_offset);
        for (size_t j = 0; j < count; j++)
            free(list[j]);
        free(list);
    }
    free(idx->name);
}
