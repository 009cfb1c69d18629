/* config_files.c - see config_files.h. */
#include "config_files.h"

#include "config_check.h"
#include "config_error.h"
#include "ini_reader.h"
#include "mapping_file.h"
#include "secrets.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where a key is set: its line, else fallback (a section header, or 0). */
static int line_of(const struct ini_document *doc, const char *section, const char *key,
                   int fallback)
{
    int line = config_key_line(doc, section, key);
    return line != 0 ? line : fallback;
}

/* True when text holds nothing but white space. */
static bool blank(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (!isspace(*p))
            return false;
    }
    return true;
}

/* One SQL file of an index: readable and not empty (PostgreSQL parses it:
 * --check --connect prepares every statement). */
static void check_sql(const struct etl_config *config, int line, const char *key, const char *path,
                      struct config_errors *errors)
{
    char *text = read_whole_file(path, NULL);
    if (text == NULL)
        config_error(errors, config->path, line, key, "%s: cannot read: %s", path, strerror(errno));
    else if (blank(text))
        config_error(errors, config->path, line, key, "%s: no SQL in the file", path);
    free(text);
}

/* The mapping and SQL files of one index section. */
static void check_index(const struct etl_config *config, const struct ini_document *doc,
                        const struct index_config *idx, struct config_errors *errors)
{
    char *section = xasprintf("index.%s", idx->name);
    if (idx->mapping != NULL) {
        char err[CONFIG_ERROR_MAX];
        json_t *mapping = mapping_file_read(idx->mapping, err, sizeof err);
        if (mapping == NULL)
            config_error(errors, config->path, line_of(doc, section, "mapping", idx->line),
                         "mapping", "%s", err);
        json_decref(mapping);
    }
    if (idx->documents_sql != NULL)
        check_sql(config, line_of(doc, section, "documents", idx->line), "documents",
                  idx->documents_sql, errors);
    for (size_t i = 0; i < idx->changes_count; i++)
        check_sql(config, line_of(doc, section, "changes", idx->line), "changes",
                  idx->changes_sql[i], errors);
    free(section);
}

/* A secret file: its first line read, and not empty. */
static void check_secret(const struct etl_config *config, const struct ini_document *doc,
                         const char *section, const char *key, const char *path,
                         struct config_errors *errors)
{
    if (path == NULL || path[0] == '\0')
        return;
    char err[CONFIG_ERROR_MAX];
    bool failed;
    char *secret = config_read_secret(path, NULL, &failed, err, sizeof err);
    int line = line_of(doc, section, key, 0);
    if (failed)
        config_error(errors, config->path, line, key, "%s", err);
    else if (secret == NULL || secret[0] == '\0')
        config_error(errors, config->path, line, key, "%s: the first line is empty", path);
    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
}

/* A certificate or key file: readable (libpq and libcurl parse it). */
static void check_readable(const struct etl_config *config, const struct ini_document *doc,
                           const char *section, const char *key, const char *path,
                           struct config_errors *errors)
{
    if (path == NULL || path[0] == '\0')
        return;
    FILE *file = fopen(path, "r");
    if (file == NULL)
        config_error(errors, config->path, line_of(doc, section, key, 0), key,
                     "%s: cannot read: %s", path, strerror(errno));
    else
        fclose(file);
}

int config_check_files(const struct etl_config *config, struct config_errors *errors)
{
    size_t before = errors->count;
    /* The file again, for the lines of the keys (its own errors are
     * already reported by the load). */
    struct config_errors ignored = {0};
    struct ini_document doc;
    if (ini_read(config->path, &doc, &ignored) < 0)
        doc = (struct ini_document){0};
    config_errors_free(&ignored);
    for (size_t i = 0; i < config->indices_count; i++) {
        if (config->indices[i].name != NULL)
            check_index(config, &doc, &config->indices[i], errors);
    }
    check_secret(config, &doc, "postgres", "password_file", config->pg_password_file, errors);
    check_secret(config, &doc, "elasticsearch", "password_file", config->es_password_file, errors);
    check_secret(config, &doc, "elasticsearch", "api_key_file", config->es_api_key_file, errors);
    check_readable(config, &doc, "postgres", "sslrootcert", config->pg_sslrootcert, errors);
    check_readable(config, &doc, "elasticsearch", "ca_file", config->es_ca_file, errors);
    check_readable(config, &doc, "elasticsearch", "client_cert_file", config->es_client_cert_file,
                   errors);
    check_readable(config, &doc, "elasticsearch", "client_key_file", config->es_client_key_file,
                   errors);
    ini_document_free(&doc);
    return errors->count > before ? -1 : 0;
}
