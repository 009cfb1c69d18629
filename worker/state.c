/* state.c - see state.h.  The file is JSON:
 *   {"version":3,"index":"movies","phase":"building",
 *    "concrete":"movies_20260101120000123",
 *    "cluster":{"system_identifier":"7714611411083361874","timeline":1},
 *    "window":{"from":"100:104:101","to":"110:110:"},
 *    "sources":{"film_work":{"txid":"...","id":"...","doc_id":"...",
 *                            "modified":"..."},...},
 *    "build":{"concrete":"movies_20260102...","reason":"mapping_changed",
 *             "horizon":"...","started_ms":1767268800000,
 *             "window":{...},"sources":{...}}}
 * "concrete" (the live index behind the alias) and "build" (only during a
 * rebuild) are optional: a file written before aliases has neither, and the
 * worker then finds the live index from the alias.  "phase" names where the
 * lifecycle is (lifecycle.h): serving, build_pending, fresh_build_pending or
 * building.  "build" (and its horizon) still decides whether a build is in
 * progress, as in a file written before phases were saved, which has no
 * "phase"; the name adds what "build" cannot say: that the pending build
 * is a fresh start's (fresh_build_pending).  A phase
 * that lasts within one call (fresh, first_load, swapping: the worker saves
 * none of them) is written without the key, as that release wrote it, and
 * read back the same way (a swap resumes building).  A "sweep_pending":true
 * of such a file (a sweep that was to follow a pruned change_log gap) is
 * read as a rebuild due.
 * Version 3 reads by transaction snapshots: "window" (the snapshots the
 * cursors read between; "to" absent between windows), each cursor's txid
 * (its "modified" only shown), the build's "horizon" a snapshot.  Files of
 * versions 1 and 2 (cursors by time) are refused, which sets them aside and
 * rebuilds the index behind its alias (docs/operations.md, "Upgrading to
 * snapshots"); an older worker refuses a version 3 file the same way.
 * "cluster" ({"system_identifier":"7714...","timeline":1}) names the
 * history those snapshots are of (cluster_id.h); a version 3 file written
 * before it has none, and is read as one whose cluster is unknown (the
 * worker fills it in: no rebuild). */
#include "state.h"

#include "atomic_file.h"
#include "cursor.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STATE_FORMAT_VERSION 3
/* The oldest version still read. */
#define STATE_FORMAT_OLDEST 3
/* Read only: a pending sweep of a file written before aliases. */
#define SWEEP_PENDING_KEY "sweep_pending"
#define CONCRETE_KEY      "concrete"
#define BUILD_KEY         "build"
#define PHASE_KEY         "phase"
#define WINDOW_KEY        "window"
#define CLUSTER_KEY       "cluster"

void state_init(struct worker_state *state, const char *const *names, size_t count)
{
    *state = (struct worker_state){.phase = LIFECYCLE_FRESH, .count = count};
    state->sources = xcalloc(count, sizeof *state->sources);
    state->build.sources = xcalloc(count, sizeof *state->build.sources);
    snprintf(state->window.from, sizeof state->window.from, "%s", SNAPSHOT_NONE);
    state->build.window = state->window;
    for (size_t i = 0; i < count; i++) {
        snprintf(state->sources[i].name, sizeof state->sources[i].name, "%s", names[i]);
        state->sources[i].cursor = CURSOR_START;
        state->build.sources[i] = state->sources[i];
    }
}

/* A window's end is set while it is read ("to") and becomes its start
 * ("from") once every source has read it through. */
enum build_readiness state_build_readiness(const struct worker_state *state, const char *seen)
{
    const struct snapshot_window *window = &state->build.window;
    if (window->to[0] != '\0')
        return BUILD_WINDOW_OPEN;
    return snapshot_covers(window->from, seen) ? BUILD_READY : BUILD_BEHIND;
}

/* Frees the sources. */
void state_free(struct worker_state *state)
{
    free(state->sources);
    free(state->build.sources);
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

/* An optional string: absent leaves out empty; present, it must fit. */
static bool copy_optional(json_t *object, const char *key, char *out, size_t size)
{
    out[0] = '\0';
    return json_object_get(object, key) == NULL || copy_field(object, key, out, size);
}

/* Reads a "window" object: from always, to when a window is open; both
 * snapshots as PostgreSQL prints them.  Absent: from no transaction (every
 * row is read again, which is safe), no window open. */
static bool load_window(json_t *json, struct snapshot_window *out)
{
    *out = (struct snapshot_window){.from = SNAPSHOT_NONE};
    if (json == NULL)
        return true;
    return copy_field(json, "from", out->from, sizeof out->from) && snapshot_is_valid(out->from) &&
           copy_optional(json, "to", out->to, sizeof out->to) &&
           (out->to[0] == '\0' || snapshot_is_valid(out->to));
}

/* Reads the optional "cluster" object: absent leaves it unknown; present,
 * both its fields must be PostgreSQL's. */
static bool load_cluster(json_t *json, struct cluster_id *out)
{
    *out = (struct cluster_id){0};
    if (json == NULL)
        return true;
    json_t *timeline = json_object_get(json, "timeline");
    if (!copy_field(json, "system_identifier", out->system_identifier,
                    sizeof out->system_identifier) ||
        !cluster_system_identifier_is_valid(out->system_identifier) || !json_is_integer(timeline) ||
        !cluster_timeline_is_valid(json_integer_value(timeline)))
        return false;
    out->timeline = (long long)json_integer_value(timeline);
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

/* Reads the cursors of json (a "sources" object) into out, one per
 * configured source (names), from the defaults in names: a source missing
 * from the file (added to the config later) starts from the beginning. */
static int load_sources(json_t *json, const struct source_state *names, struct source_state *out,
                        size_t count, char *err, size_t err_size)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = (struct source_state){.cursor = CURSOR_START};
        memcpy(out[i].name, names[i].name, sizeof out[i].name);
        json_t *entry = json_object_get(json, names[i].name);
        if (entry == NULL)
            continue; /* new source: from the start */
        if (!copy_field(entry, "txid", out[i].cursor.txid, sizeof out[i].cursor.txid) ||
            !copy_field(entry, "id", out[i].cursor.id, sizeof out[i].cursor.id) ||
            !cursor_is_txid(out[i].cursor.txid) ||
            !copy_doc_id(entry, out[i].cursor.doc_id, sizeof out[i].cursor.doc_id) ||
            !copy_optional(entry, "modified", out[i].cursor.modified,
                           sizeof out[i].cursor.modified)) {
            snprintf(err, err_size, "source %s: bad cursor", names[i].name);
            return -1;
        }
    }
    return 0;
}

/* Reads the "build" object: its index, reason, horizon ("" or a snapshot),
 * window and cursors. */
static int load_build(json_t *json, const struct source_state *names, struct index_build *out,
                      size_t count, char *err, size_t err_size)
{
    json_t *started = json_object_get(json, "started_ms");
    if (!copy_field(json, CONCRETE_KEY, out->concrete, sizeof out->concrete) ||
        !copy_field(json, "reason", out->reason, sizeof out->reason) ||
        !copy_optional(json, "horizon", out->horizon, sizeof out->horizon) ||
        (out->horizon[0] != '\0' && !snapshot_is_valid(out->horizon)) ||
        !load_window(json_object_get(json, WINDOW_KEY), &out->window) ||
        !json_is_integer(started)) {
        snprintf(err, err_size, "bad %s", BUILD_KEY);
        return -1;
    }
    out->started_ms = (long long)json_integer_value(started);
    return load_sources(json_object_get(json, "sources"), names, out->sources, count, err,
                        err_size);
}

/* The phase of a file without one: what its build says. */
static enum lifecycle_phase phase_of_build(bool has_build, bool build_begun)
{
    if (!has_build)
        return LIFECYCLE_SERVING;
    return build_begun ? LIFECYCLE_BUILDING : LIFECYCLE_BUILD_PENDING;
}

/* Reads the file's phase into *out.  "build" decides whether a build is
 * in progress, as before phases were saved (an operator gives a build up
 * by deleting it, docs/operations.md); the name must be one a file holds,
 * and tells the pending build of a fresh start from another. */
static int load_phase(json_t *root, const struct index_build *build, bool has_build,
                      enum lifecycle_phase *out, char *err, size_t err_size)
{
    *out = phase_of_build(has_build, has_build && build->horizon[0] != '\0');
    json_t *phase = json_object_get(root, PHASE_KEY);
    if (phase == NULL)
        return 0;
    const char *name = json_string_value(phase);
    enum lifecycle_phase named;
    if (name == NULL || !lifecycle_phase_from_name(name, &named) || !lifecycle_phase_saved(named)) {
        snprintf(err, err_size, "bad %s", PHASE_KEY);
        return -1;
    }
    if (*out == LIFECYCLE_BUILD_PENDING && named == LIFECYCLE_FRESH_BUILD_PENDING)
        *out = named;
    return 0;
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
        snprintf(err, err_size,
                 "not a version %d state file (versions 1 and 2 read by clock: rebuilt)",
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
    struct worker_state loaded = *state;
    loaded.sources = xcalloc(state->count, sizeof *loaded.sources);
    loaded.build.sources = xcalloc(state->count, sizeof *loaded.build.sources);
    json_t *build = json_object_get(root, BUILD_KEY);
    loaded.rebuild_due = json_is_true(json_object_get(root, SWEEP_PENDING_KEY));
    int rc = load_sources(sources, state->sources, loaded.sources, state->count, err, err_size);
    if (rc == 0 && !load_window(json_object_get(root, WINDOW_KEY), &loaded.window)) {
        snprintf(err, err_size, "bad %s", WINDOW_KEY);
        rc = -1;
    }
    if (rc == 0 && !copy_optional(root, CONCRETE_KEY, loaded.concrete, sizeof loaded.concrete)) {
        snprintf(err, err_size, "bad %s", CONCRETE_KEY);
        rc = -1;
    }
    if (rc == 0 && !load_cluster(json_object_get(root, CLUSTER_KEY), &loaded.cluster)) {
        snprintf(err, err_size, "bad %s", CLUSTER_KEY);
        rc = -1;
    }
    if (rc == 0 && build != NULL)
        rc = load_build(build, state->sources, &loaded.build, state->count, err, err_size);
    if (rc == 0)
        rc = load_phase(root, &loaded.build, build != NULL, &loaded.phase, err, err_size);
    json_decref(root);
    if (rc < 0) {
        free(loaded.sources);
        free(loaded.build.sources);
        return -1;
    }
    free(state->sources);
    free(state->build.sources);
    *state = loaded;
    return 1;
}

/* The "window" object: from (none yet: the snapshot before every
 * transaction), and to while a window is open. */
static json_t *window_json(const struct snapshot_window *window)
{
    json_t *json = json_pack("{s:s}", "from", window->from[0] ? window->from : SNAPSHOT_NONE);
    if (window->to[0] != '\0')
        json_object_set_new(json, "to", json_string(window->to));
    return json;
}

/* The "sources" object of count cursors. */
static json_t *sources_json(const struct source_state *sources, size_t count)
{
    json_t *json = json_object();
    for (size_t i = 0; i < count; i++) {
        const struct cursor *c = &sources[i].cursor;
        json_t *entry =
            json_pack("{s:s, s:s, s:s}", "txid", c->txid, "id", c->id, "doc_id", c->doc_id);
        if (c->modified[0] != '\0')
            json_object_set_new(entry, "modified", json_string(c->modified));
        json_object_set_new(json, sources[i].name, entry);
    }
    return json;
}

int state_save(const struct worker_state *state, const char *path, const char *index)
{
    json_t *root = json_pack("{s:i, s:s}", "version", STATE_FORMAT_VERSION, "index", index);
    if (lifecycle_phase_saved(state->phase))
        json_object_set_new(root, PHASE_KEY, json_string(lifecycle_phase_name(state->phase)));
    if (state->concrete[0] != '\0')
        json_object_set_new(root, CONCRETE_KEY, json_string(state->concrete));
    if (cluster_id_known(&state->cluster))
        json_object_set_new(root, CLUSTER_KEY,
                            json_pack("{s:s, s:I}", "system_identifier",
                                      state->cluster.system_identifier, "timeline",
                                      (json_int_t)state->cluster.timeline));
    json_object_set_new(root, WINDOW_KEY, window_json(&state->window));
    json_object_set_new(root, "sources", sources_json(state->sources, state->count));
    if (lifecycle_has_build(state->phase)) {
        const struct index_build *b = &state->build;
        json_t *build = json_pack("{s:s, s:s, s:I}", CONCRETE_KEY, b->concrete, "reason", b->reason,
                                  "started_ms", (json_int_t)b->started_ms);
        if (b->horizon[0] != '\0')
            json_object_set_new(build, "horizon", json_string(b->horizon));
        json_object_set_new(build, WINDOW_KEY, window_json(&b->window));
        json_object_set_new(build, "sources", sources_json(b->sources, state->count));
        json_object_set_new(root, BUILD_KEY, build);
    }
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
