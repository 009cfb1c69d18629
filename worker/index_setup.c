/* index_setup.c - see index_setup.h. */
#include "index_setup.h"

#include "http_status.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Room for "yyyymmddhhmmss" and its NUL. */
#define SECONDS_TEXT_MAX 16
#define MS_PER_SECOND    1000

/* Fills err with what a request answered (status < 0: no answer). */
static void request_error(struct es_client *es, const char *what, const char *path, long status,
                          char *err, size_t err_size)
{
    if (status < 0)
        snprintf(err, err_size, "%s %s: %s", what, path, es->err);
    else
        snprintf(err, err_size, "%s %s: status %ld: %.200s", what, path, status,
                 es->response.data ? es->response.data : "");
}

/* A 404 is "nothing of that name"; the answer's one key is the concrete
 * index, which is the name itself for a concrete index. */
int index_lookup(struct es_client *es, const struct search_engine_ops *engine, const char *name,
                 const json_t *definition, struct index_lookup *out, char *err, size_t err_size)
{
    *out = (struct index_lookup){.kind = INDEX_NONE};
    char *path = engine->mapping_path(name);
    long status = es_request(es, "GET", path, NULL, 0, false);
    int rc = 0;
    if (status == HTTP_OK) {
        int match = engine->mapping_matches(es->response.data, es->response.len, definition);
        if (match < 0 || engine->mapping_owner(es->response.data, es->response.len, out->concrete,
                                               sizeof out->concrete) < 0) {
            snprintf(err, err_size, "GET %s: unreadable mapping response", path);
            rc = -1;
        } else {
            out->kind = strcmp(out->concrete, name) == 0 ? INDEX_CONCRETE : INDEX_ALIAS;
            out->mapping_equal = match == 1;
        }
    } else if (status != HTTP_NOT_FOUND) {
        request_error(es, "GET", path, status, err, err_size);
        rc = -1;
    }
    free(path);
    return rc;
}

/* One PUT: the index and its alias exist together or not at all. */
static int create(struct es_client *es, const struct search_engine_ops *engine,
                  const char *concrete, const json_t *definition, const char *alias,
                  enum index_refresh refresh, char *err, size_t err_size)
{
    char *body = engine->create_body(definition, alias, refresh);
    char *path = engine->create_path(concrete);
    long status = es_request(es, "PUT", path, body, strlen(body), false);
    if (status != HTTP_OK)
        request_error(es, "PUT", path, status, err, err_size);
    free(path);
    free(body);
    return status == HTTP_OK ? 0 : -1;
}

/* The file as it is. */
int index_create(struct es_client *es, const struct search_engine_ops *engine, const char *concrete,
                 const json_t *definition, const char *alias, char *err, size_t err_size)
{
    return create(es, engine, concrete, definition, alias, REFRESH_AS_FILE, err, err_size);
}

/* The file with periodic refreshes off. */
int index_create_loading(struct es_client *es, const struct search_engine_ops *engine,
                         const char *concrete, const json_t *definition, const char *alias,
                         char *err, size_t err_size)
{
    return create(es, engine, concrete, definition, alias, REFRESH_OFF, err, err_size);
}

/* Two requests: the settings, then a refresh. */
int index_make_searchable(struct es_client *es, const struct search_engine_ops *engine,
                          const char *index, const json_t *definition, char *err, size_t err_size)
{
    char *body = engine->searchable_settings_body(definition);
    char *path = engine->settings_path(index);
    long status = es_request(es, "PUT", path, body, strlen(body), false);
    free(body);
    if (status != HTTP_OK) {
        request_error(es, "PUT", path, status, err, err_size);
        free(path);
        return -1;
    }
    free(path);
    path = engine->refresh_path(index);
    status = es_request(es, "POST", path, NULL, 0, false);
    if (status != HTTP_OK)
        request_error(es, "POST", path, status, err, err_size);
    free(path);
    return status == HTTP_OK ? 0 : -1;
}

/* A 404 means someone deleted it first: what was wanted. */
int index_delete(struct es_client *es, const struct search_engine_ops *engine, const char *index,
                 char *err, size_t err_size)
{
    char *path = engine->delete_path(index);
    long status = es_request(es, "DELETE", path, NULL, 0, false);
    bool ok = status == HTTP_OK || status == HTTP_NOT_FOUND;
    if (!ok)
        request_error(es, "DELETE", path, status, err, err_size);
    free(path);
    return ok ? 0 : -1;
}

/* The engine does all the actions or none. */
int index_aliases(struct es_client *es, const struct search_engine_ops *engine,
                  const struct alias_action *actions, size_t count, char *err, size_t err_size)
{
    char *body = engine->aliases_body(actions, count);
    long status = es_request(es, "POST", engine->aliases_path, body, strlen(body), false);
    if (status != HTTP_OK)
        request_error(es, "POST", engine->aliases_path, status, err, err_size);
    free(body);
    return status == HTTP_OK ? 0 : -1;
}

/* qsort: newest (greatest name) first. */
static int newest_first(const void *a, const void *b)
{
    return strcmp(*(const char *const *)b, *(const char *const *)a);
}

/* Lists ALIAS_* and keeps the names of the versioned pattern only (another
 * index's alias may start with this one's name and "_"). */
int index_versions(struct es_client *es, const struct search_engine_ops *engine, const char *alias,
                   char ***names, size_t *count, char *err, size_t err_size)
{
    char *prefix = xasprintf("%s_", alias);
    char *path = engine->list_path(prefix);
    free(prefix);
    long status = es_request(es, "GET", path, NULL, 0, false);
    int rc = -1;
    if (status != HTTP_OK)
        request_error(es, "GET", path, status, err, err_size);
    else if (engine->list_parse(es->response.data, es->response.len, names, count) < 0)
        snprintf(err, err_size, "GET %s: unreadable answer", path);
    else
        rc = 0;
    free(path);
    if (rc < 0)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        if (index_is_version_of((*names)[i], alias))
            (*names)[kept++] = (*names)[i];
        else
            free((*names)[i]);
    }
    *count = kept;
    qsort(*names, kept, sizeof **names, newest_first);
    return 0;
}

void index_version_name(const char *alias, int64_t ms, char *out, size_t size)
{
    time_t seconds = (time_t)(ms / MS_PER_SECOND);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    char stamp[SECONDS_TEXT_MAX];
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    snprintf(out, size, "%s_%s%03d", alias, stamp, (int)(ms % MS_PER_SECOND));
}

bool index_is_version_of(const char *name, const char *alias)
{
    size_t len = strlen(alias);
    if (strncmp(name, alias, len) != 0 || name[len] != '_' ||
        strlen(name + len) != INDEX_VERSION_SUFFIX_LEN)
        return false;
    for (const char *p = name + len + 1; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
    }
    return true;
}
