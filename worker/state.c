/* state.c - see state.h.  The file is JSON:
 *   {"version":2,"index":"movies",
 *    "sources":{"film_work":{"modified":"...","id":"...","doc_id":"..."},...},
 *    "sweep_pending":true}        (the last key only while a sweep is pending)
 * Version 2 added doc_id, the position inside a (modified, id) group (see
 * cursor.h).  Version 1 files, without it, are still read: each of their
 * cursors had its group done.  Version 2 is written, so that an older worker
 * refuses the file (and starts over) rather than skip the rest of a group. */
#include "state.h"

#include "atomic_file.h"
#include "pg_source.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STATE_FORMAT_VERSION 2
/* The oldest version still read. */
#define STATE_FORMAT_OLDEST 1
/* Optional: present (true) only while a sweep is pending. */
#define SWEEP_PENDING_KEY "sweep_pending"

void state_init(struct worker_state *state, const char *const *names, size_t count)
{
    state->fresh = true;
    state->sweep_pending = false;
    state->count = count;
    state->sources = xcalloc(count, sizeof *state->sources);
    for (size_t i = 0; i < count; i++) {
        snprintf(state->sources[i].name, sizeof state->sources[i].name, "%s", names[i]);
        state->sources[i].cursor = CURSOR_START;
    }
}

/* Frees the sources. */
void state_free(struct worker_state *state)
{
    free(state->sources);
    *state = (struct worker_state){0};
}

/* Copies a JSON string field into a cursor text, refusing oversized ones. */
static bool copy_field(json_t *object, const char *key, char *out, size_t size)
{
    const char *value = json_string_value(json_object_get(object, key));
    if (value == NULL || strlen(value) >= size || value[0] == '\0')
        return false;
    memcpy(out, value, strlen(value) + 1);
    return true;
}

/* The position inside the group: absent (a version 1 file) means the group
 * is done; present, it must be a usable text. */
static bool copy_doc_id(json_t *entry, char *out, size_t size)
{
    if (json_object_get(entry, "doc_id") == NULL) {
        snprintf(out, size, "%s", CURSOR_GROUP_DONE);
        return true;
    }
    return copy_field(entry, "doc_id", out, size);
}

/* Reads and checks the file; every configured source must be in it, so a
 * source added to the config later starts from the beginning. */
int state_load(struct worker_state *state, const char *path, const char *index, char *err,
               size_t err_size)
{
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (root == NULL) {
        snprintf(err, err_size, "line %d: %s", error.line, error.text);
        return -1;
    }
    json_t *sources = json_object_get(root, "sources");
    json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) < STATE_FORMAT_OLDEST ||
        json_integer_value(version) > STATE_FORMAT_VERSION || !json_is_object(sources)) {
        snprintf(err, err_size, "not a version %d or %d state file", STATE_FORMAT_OLDEST,
                 STATE_FORMAT_VERSION);
        json_decref(root);
        return -1;
    }
    /* A state written for another Elasticsearch index (the config's index
     * name changed, say for a re-index into a new one) says nothing about
     * this one. */
    const char *saved_index = json_string_value(json_object_get(root, "index"));
    if (saved_index == NULL || strcmp(saved_index, index) != 0) {
        snprintf(err, err_size, "written for index %s, not %s",
                 saved_index ? saved_index : "(none)", index);
        json_decref(root);
        return -1;
    }
    struct source_state *loaded = xcalloc(state->count, sizeof *loaded);
    for (size_t i = 0; i < state->count; i++) {
        loaded[i] = state->sources[i];
        json_t *entry = json_object_get(sources, state->sources[i].name);
        if (entry == NULL)
            continue; /* new source: from the start */
        int64_t unused;
        if (!copy_field(entry, "modified", loaded[i].cursor.modified,
                        sizeof loaded[i].cursor.modified) ||
            !copy_field(entry, "id", loaded[i].cursor.id, sizeof loaded[i].cursor.id) ||
            !pg_timestamp_us(loaded[i].cursor.modified, &unused) ||
            !copy_doc_id(entry, loaded[i].cursor.doc_id, sizeof loaded[i].cursor.doc_id)) {
            snprintf(err, err_size, "source %s: bad cursor", state->sources[i].name);
            free(loaded);
            json_decref(root);
            return -1;
        }
    }
    memcpy(state->sources, loaded, state->count * sizeof *loaded);
    free(loaded);
    state->fresh = false;
    state->sweep_pending = json_is_true(json_object_get(root, SWEEP_PENDING_KEY));
    json_decref(root);
    return 1;
}

int state_save(const struct worker_state *state, const char *path, const char *index)
{
    json_t *sources = json_object();
    for (size_t i = 0; i < state->count; i++) {
        json_object_set_new(
            sources, state->sources[i].name,
            json_pack("{s:s, s:s, s:s}", "modified", state->sources[i].cursor.modified, "id",
                      state->sources[i].cursor.id, "doc_id", state->sources[i].cursor.doc_id));
    }
    json_t *root = json_pack("{s:i, s:s, s:o}", "version", STATE_FORMAT_VERSION, "index", index,
                             "sources", sources);
    if (state->sweep_pending)
        json_object_set_new(root, SWEEP_PENDING_KEY, json_true());
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    int rc = atomic_write_file(path, text, len, 0640);
    free(text);
    return rc;
}

/* Base name without directory and without ".sql". */
void state_source_name(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".sql") == 0)
        len -= 4;
    snprintf(name, size, "%.*s", (int)len, base);
}
