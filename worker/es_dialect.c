/* es_dialect.c - the REST dialect of Elasticsearch 7 and 8 and OpenSearch 2
 * (see search_engine.h):
 *
 *   POST /_bulk?require_alias=true
 *                            {"index":{"_index":I,"_id":D}}\n{doc}\n
 *                            {"delete":{"_index":I,"_id":D}}\n
 *                         -> {"items":[{"index"|"delete":{"_id","status","error"?}},...]}
 *   GET /INDEX/_mapping   -> {"<concrete index>":{"mappings":{...}}}
 *                            (a missing alias: 404, index_not_found_exception)
 *   PUT /INDEX               the mapping file, plus {"aliases":{ALIAS:{}}}
 *                            (refresh off: "refresh_interval":"-1" in its
 *                            settings, in place of the file's)
 *   PUT /INDEX/_settings     {"index":{"refresh_interval":the file's|null}}
 *   DELETE /INDEX
 *   POST /_aliases           {"actions":[{"add"|"remove":{"index","alias"}},
 *                                        {"remove_index":{"index"}}]}
 *   GET /_cat/indices/PREFIX*?format=json&h=index -> [{"index":I},...]
 *   GET /                 -> {"version":{"distribution"?,"number"}}  (no
 *                            distribution: Elasticsearch)
 *   POST /INDEX/_refresh
 *   POST /INDEX/_search?scroll=1m  {"size":N,"_source":false,"sort":["_doc"]}
 *                            ("_source":false left out to get the documents)
 *   POST /_search/scroll     {"scroll":"1m","scroll_id":S}
 *                         -> {"_scroll_id":S,"hits":{"hits":[{"_id":D,"_source"?},...]}}
 *   DELETE /_search/scroll   {"scroll_id":S}
 *   POST /INDEX/_mget[?_source=false]  {"ids":[D,...]}
 *                         -> {"docs":[{"_id":D,"found":B,"_source"?},...]} */
#include "search_engine.h"

#include "http_status.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends a JSON string literal (ids are uuids, but quote properly anyway). */
static void append_json_string(struct buffer *body, const char *text)
{
    json_t *string = json_string(text);
    char *quoted = json_dumps(string, JSON_ENCODE_ANY);
    buffer_append_str(body, quoted ? quoted : "\"\"");
    free(quoted);
    json_decref(string);
}

/* A document line follows its action line; a delete has none. */
static void build_bulk(struct buffer *body, const char *index, const struct bulk_action *actions,
                       size_t count)
{
    for (size_t i = 0; i < count; i++) {
        buffer_append_str(body, actions[i].document ? "{\"index\":{\"_index\":"
                                                    : "{\"delete\":{\"_index\":");
        append_json_string(body, index);
        buffer_append_str(body, ",\"_id\":");
        append_json_string(body, actions[i].id);
        if (actions[i].version > 0) {
            char version[64];
            snprintf(version, sizeof version, ",\"version\":%lld,\"version_type\":\"external_gte\"",
                     actions[i].version);
            buffer_append_str(body, version);
        }
        buffer_append_str(body, "}}\n");
        if (actions[i].document != NULL) {
            buffer_append_str(body, actions[i].document);
            buffer_append_str(body, "\n");
        }
    }
}

/* The class of each error type the worker knows (docs/operations.md has
 * the same table, with what an operator sees).  A row with a reason
 * applies only when the error's reason starts with it: one type that
 * means two things (illegal_argument_exception is a field's value, or an
 * alias without a write index) has its narrower row first.  Every other
 * type is BULK_UNKNOWN, unless its status says (classify_error). */
static const struct error_class {
    const char *type;
    const char *reason; /* prefix of the reason; NULL: any */
    enum bulk_outcome outcome;
} error_classes[] = {
    /* The index or cluster refuses writes for now: a block
     * (index.blocks.write, read_only, read_only_allow_delete and the
     * flood-stage watermark, cluster.blocks.*), a closed index, an alias
     * without a write index, credentials or privileges, shards or nodes
     * missing, queues full, a circuit breaker. */
    {"cluster_block_exception", NULL, BULK_REFUSING},
    {"index_closed_exception", NULL, BULK_REFUSING},
    {"illegal_argument_exception", "no write index is defined for alias", BULK_REFUSING},
    {"security_exception", NULL, BULK_REFUSING},
    {"unavailable_shards_exception", NULL, BULK_REFUSING},
    {"no_shard_available_action_exception", NULL, BULK_REFUSING},
    {"es_rejected_execution_exception", NULL, BULK_REFUSING},
    {"rejected_execution_exception", NULL, BULK_REFUSING}, /* OpenSearch's name for it */
    {"circuit_breaking_exception", NULL, BULK_REFUSING},
    {"master_not_discovered_exception", NULL, BULK_REFUSING},
    {"cluster_manager_not_discovered_exception", NULL, BULK_REFUSING},
    /* The alias (or index) written to does not exist. */
    {"index_not_found_exception", NULL, BULK_NO_INDEX},
    /* The index holds a newer version of the document (read from a newer
     * state): nothing to write, the newer one stays. */
    {"version_conflict_engine_exception", NULL, BULK_DONE},
    /* A document the index can never take as its mapping stands. */
    {"mapper_parsing_exception", NULL, BULK_REJECTED},
    {"document_parsing_exception", NULL, BULK_REJECTED}, /* Elasticsearch 8's name */
    {"strict_dynamic_mapping_exception", NULL, BULK_REJECTED},
    {"mapper_exception", NULL, BULK_REJECTED},
    {"illegal_argument_exception", NULL, BULK_REJECTED},
    {"x_content_parse_exception", NULL, BULK_REJECTED},
    {"json_parse_exception", NULL, BULK_REJECTED},
    {"not_x_content_exception", NULL, BULK_REJECTED},
    {"routing_missing_exception", NULL, BULK_REJECTED},
};

/* The first row of error_classes for type and reason, or NULL. */
static const struct error_class *error_class_of(const char *type, const char *reason)
{
    if (type == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof error_classes / sizeof error_classes[0]; i++) {
        const struct error_class *row = &error_classes[i];
        if (strcmp(row->type, type) == 0 &&
            (row->reason == NULL ||
             (reason != NULL && strncmp(reason, row->reason, strlen(row->reason)) == 0)))
            return row;
    }
    return NULL;
}

/* 2xx is done, and so is a delete's 404 without an error (the document is
 * already gone).  A 429 or 5xx is the engine saying "not now" whatever the
 * type; otherwise the table decides, then a 401 or 403 without a known
 * type is a refusal of the credentials, and anything else is unknown:
 * never a rejected document on a guess. */
static enum bulk_outcome classify_error(int status, bool is_delete, const char *type,
                                        const char *reason)
{
    if (status >= HTTP_SUCCESS_MIN && status < HTTP_SUCCESS_END)
        return BULK_DONE;
    if (is_delete && status == HTTP_NOT_FOUND && type == NULL)
        return BULK_DONE;
    if (status == HTTP_TOO_MANY_REQUESTS || status >= HTTP_SERVER_ERROR)
        return BULK_REFUSING;
    const struct error_class *row = error_class_of(type, reason);
    if (row != NULL)
        return row->outcome;
    if (status == HTTP_UNAUTHORIZED || status == HTTP_FORBIDDEN)
        return BULK_REFUSING;
    return BULK_UNKNOWN;
}

/* A string member of an error object, copied; NULL when absent. */
static char *error_text(const json_t *error, const char *key)
{
    const char *text = json_string_value(json_object_get(error, key));
    return text != NULL ? xstrdup(text) : NULL;
}

/* Classifies an answer with status and error (an object {"type",
 * "reason", "index"?}, any other JSON, or NULL) into result, keeping the
 * error's texts unless it is done. */
static void classify_answer(int status, bool is_delete, const json_t *error,
                            struct bulk_item_result *result)
{
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *reason = json_is_string(error)
                             ? json_string_value(error)
                             : json_string_value(json_object_get(error, "reason"));
    result->status = status;
    result->outcome = classify_error(status, is_delete, type, reason);
    if (result->outcome == BULK_DONE || error == NULL)
        return;
    result->error = json_dumps(error, JSON_COMPACT | JSON_ENCODE_ANY);
    result->type = type != NULL ? xstrdup(type) : NULL;
    result->reason = reason != NULL ? xstrdup(reason) : NULL;
    result->index = error_text(error, "index");
}

/* An action's place in a bulk request, to find it by id. */
struct action_slot {
    const char *id;
    size_t at;
};

/* qsort/bsearch comparison of action slots by id. */
static int compare_slots(const void *a, const void *b)
{
    return strcmp(((const struct action_slot *)a)->id, ((const struct action_slot *)b)->id);
}

/* The action an item answers: operation and id must be those of one
 * action sent, not answered yet.  Returns its index, or -1. */
static long match_item(const char *operation, const char *id, const struct bulk_action *actions,
                       const struct action_slot *slots, size_t count, const bool *answered)
{
    if (operation == NULL || id == NULL)
        return -1;
    const struct action_slot key = {id, 0};
    const struct action_slot *slot = bsearch(&key, slots, count, sizeof *slots, compare_slots);
    if (slot == NULL || answered[slot->at])
        return -1;
    bool is_delete = actions[slot->at].document == NULL;
    return strcmp(operation, is_delete ? "delete" : "index") == 0 ? (long)slot->at : -1;
}

/* Fills results from items ({"index"|"delete": {"_id", "status",
 * "error"?}} each).  Returns 0, or -1 when an item is not the answer to
 * one action of this request (then nothing is trusted). */
static int read_items(json_t *items, const struct bulk_action *actions, size_t count,
                      struct bulk_item_result *results)
{
    struct action_slot *slots = xcalloc(count + 1, sizeof *slots);
    bool *answered = xcalloc(count + 1, sizeof *answered);
    for (size_t i = 0; i < count; i++)
        slots[i] = (struct action_slot){actions[i].id, i};
    qsort(slots, count, sizeof *slots, compare_slots);
    int rc = 0;
    for (size_t n = 0; n < json_array_size(items); n++) {
        json_t *wrapper = json_array_get(items, n);
        void *iter = json_is_object(wrapper) && json_object_size(wrapper) == 1
                         ? json_object_iter(wrapper)
                         : NULL;
        json_t *item = iter != NULL ? json_object_iter_value(iter) : NULL;
        json_t *status = json_object_get(item, "status");
        long at = match_item(iter != NULL ? json_object_iter_key(iter) : NULL,
                             json_string_value(json_object_get(item, "_id")), actions, slots, count,
                             answered);
        if (at < 0 || !json_is_integer(status)) {
            rc = -1;
            break;
        }
        answered[at] = true;
        classify_answer((int)json_integer_value(status), actions[at].document == NULL,
                        json_object_get(item, "error"), &results[at]);
    }
    free(slots);
    free(answered);
    return rc;
}

/* Each item is matched to its action by operation and _id, whatever their
 * order (a real node keeps the request's, a proxy or a bug may not); an
 * action without an item is not confirmed: BULK_UNCONFIRMED, status 0.  An
 * item for an id not sent, for one answered twice, or under the other
 * operation, makes the whole answer untrusted. */
static int parse_bulk_response(const char *body, size_t len, const struct bulk_action *actions,
                               size_t count, struct bulk_item_result *results)
{
    memset(results, 0, count * sizeof *results);
    for (size_t i = 0; i < count; i++)
        results[i].outcome = BULK_UNCONFIRMED; /* status 0: no item for it */
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    json_t *items = json_is_object(root) ? json_object_get(root, "items") : NULL;
    int rc = json_is_array(items) && json_array_size(items) <= count ? 0 : -1;
    if (rc == 0)
        rc = read_items(items, actions, count, results);
    if (rc < 0)
        bulk_results_free(results, count);
    json_decref(root);
    return rc;
}

/* {"error":{...},"status":N} (the error may be a plain string); any other
 * body is an error without a type.  A whole request is never one rejected
 * document, nor a missing alias (items say that): what the table does not
 * call a refusal is unknown. */
static void request_failure(long status, const char *body, size_t len,
                            struct bulk_item_result *result)
{
    *result = (struct bulk_item_result){0};
    json_error_t error;
    json_t *root = json_loadb(body != NULL ? body : "", body != NULL ? len : 0, 0, &error);
    int code = status > 0 && status < INT_MAX ? (int)status : 0;
    classify_answer(code, false, json_object_get(root, "error"), result);
    result->status = code;
    if (result->outcome != BULK_REFUSING)
        result->outcome = BULK_UNKNOWN;
    json_decref(root);
}

/* Index names are checked by the config: nothing to escape. */
static char *mapping_path(const char *index)
{
    return xasprintf("/%s/_mapping", index);
}

/* As mapping_path. */
static char *create_path(const char *index)
{
    return xasprintf("/%s", index);
}

/* Dynamic settings of an existing index. */
static char *settings_path(const char *index)
{
    return xasprintf("/%s/_settings", index);
}

/* The refresh_interval that turns periodic refreshes off. */
#define REFRESH_OFF_INTERVAL "-1"

/* The settings object of a mapping file, created in it when missing. */
static json_t *settings_of(json_t *definition)
{
    json_t *settings = json_object_get(definition, "settings");
    if (!json_is_object(settings)) {
        settings = json_object();
        json_object_set_new(definition, "settings", settings);
    }
    return settings;
}

/* The refresh_interval a mapping file sets, flat ("refresh_interval") or
 * nested ("index": {"refresh_interval"}), or NULL when it sets none. */
static json_t *file_refresh_interval(const json_t *definition)
{
    const json_t *settings = json_object_get(definition, "settings");
    json_t *flat = json_object_get(settings, "refresh_interval");
    if (flat != NULL)
        return flat;
    return json_object_get(json_object_get(settings, "index"), "refresh_interval");
}

/* Sets refresh_interval -1 in body's settings, flat, in place of the
 * file's (flat or nested): both at once would be refused. */
static void turn_refresh_off(json_t *body)
{
    json_t *settings = settings_of(body);
    json_object_del(json_object_get(settings, "index"), "refresh_interval");
    json_object_set_new(settings, "refresh_interval", json_string(REFRESH_OFF_INTERVAL));
}

/* The file's settings and mappings are what PUT takes; the alias, and the
 * refresh turned off, go to a copy. */
static char *create_body(const json_t *definition, const char *alias, enum index_refresh refresh)
{
    json_t *body = json_deep_copy(definition);
    if (refresh == REFRESH_OFF)
        turn_refresh_off(body);
    if (alias != NULL) {
        json_t *aliases = json_object();
        json_object_set_new(aliases, alias, json_object());
        json_object_set_new(body, "aliases", aliases);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* {"index":{"refresh_interval":...}}: null resets a setting to the
 * engine's default, what an index whose file sets none had. */
static char *searchable_settings_body(const json_t *definition)
{
    json_t *interval = file_refresh_interval(definition);
    json_t *body = json_pack("{s:{s:O}}", "index", "refresh_interval",
                             interval != NULL ? interval : json_null());
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* The answer names the concrete index, whatever name was asked for. */
static int mapping_owner(const char *response, size_t len, char *out, size_t size)
{
    json_error_t error;
    json_t *root = json_loadb(response, len, 0, &error);
    const char *name = json_is_object(root) && json_object_size(root) == 1
                           ? json_object_iter_key(json_object_iter(root))
                           : NULL;
    bool ok = name != NULL && strlen(name) < size;
    if (ok)
        snprintf(out, size, "%s", name);
    json_decref(root);
    return ok ? 0 : -1;
}

/* The JSON name of each action kind, in enum alias_action_kind order. */
static const char *const alias_action_names[] = {"add", "remove", "remove_index"};

/* {"actions":[...]}: the request is atomic, every action or none. */
static char *aliases_body(const struct alias_action *actions, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *target = json_pack("{s:s}", "index", actions[i].index);
        if (actions[i].alias != NULL)
            json_object_set_new(target, "alias", json_string(actions[i].alias));
        json_array_append_new(list,
                              json_pack("{s:o}", alias_action_names[actions[i].kind], target));
    }
    json_t *body = json_pack("{s:o}", "actions", list);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* The string member key of every object of array (malloc'ed, *count of
 * them), or NULL when array is not an array or one lacks it. */
static char **strings_of(const json_t *array, const char *key, size_t *count)
{
    if (!json_is_array(array))
        return NULL;
    size_t n = json_array_size(array);
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_object_get(json_array_get(array, i), key));
        if (text == NULL) {
            ids_free(out, i);
            return NULL;
        }
        out[i] = xstrdup(text);
    }
    *count = n;
    return out;
}

/* _cat answers a JSON array with format=json; h=index keeps one column. */
static char *list_path(const char *prefix)
{
    return xasprintf("/_cat/indices/%s*?format=json&h=index", prefix);
}

/* Every row must carry a string "index", or none is trusted. */
static int list_parse(const char *body, size_t len, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    char **out = strings_of(root, "index", count);
    if (out == NULL) {
        json_decref(root);
        return -1;
    }
    *names = out;
    json_decref(root);
    return 0;
}

/* The response names the concrete index (not an alias): compare that one
 * index's mappings with the file's, ignoring key order. */
static int mapping_matches(const char *response, size_t len, const json_t *definition)
{
    json_error_t error;
    json_t *root = json_loadb(response, len, 0, &error);
    if (!json_is_object(root) || json_object_size(root) != 1) {
        json_decref(root);
        return -1;
    }
    json_t *live = json_object_get(json_object_iter_value(json_object_iter(root)), "mappings");
    if (live == NULL) {
        json_decref(root);
        return -1;
    }
    int equal = json_equal(live, json_object_get(definition, "mappings")) ? 1 : 0;
    json_decref(root);
    return equal;
}

/* Copies a non-empty string that fits; false otherwise. */
static bool copy_text(const json_t *string, char *out, size_t size)
{
    const char *text = json_string_value(string);
    if (text == NULL || text[0] == '\0' || strlen(text) >= size)
        return false;
    snprintf(out, size, "%s", text);
    return true;
}

/* Elasticsearch 7 and 8 have no "distribution"; OpenSearch says so. */
static int parse_identity(const char *body, size_t len, struct search_engine_identity *identity)
{
    *identity = (struct search_engine_identity){0};
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    json_t *version = json_is_object(root) ? json_object_get(root, "version") : NULL;
    json_t *distribution = json_object_get(version, "distribution");
    bool ok =
        copy_text(json_object_get(version, "number"), identity->version, sizeof identity->version);
    if (ok && distribution == NULL)
        snprintf(identity->distribution, sizeof identity->distribution, "elasticsearch");
    else if (ok)
        ok = copy_text(distribution, identity->distribution, sizeof identity->distribution);
    json_decref(root);
    if (!ok)
        *identity = (struct search_engine_identity){0};
    return ok ? 0 : -1;
}

/* How long a scroll stays open between two pages. */
#define SCROLL_KEEP_ALIVE "1m"

/* Index names are checked by the config: nothing to escape. */
static char *refresh_path(const char *index)
{
    return xasprintf("/%s/_refresh", index);
}

/* As refresh_path. */
static char *scroll_start_path(const char *index)
{
    return xasprintf("/%s/_search?scroll=" SCROLL_KEEP_ALIVE, index);
}

/* In index order ("_doc": the cheapest sort); ids only unless with_source. */
static char *scroll_start_body(size_t size, bool with_source)
{
    return xasprintf("{\"size\":%zu,%s\"sort\":[\"_doc\"]}", size,
                     with_source ? "" : "\"_source\":false,");
}

/* The scroll id is quoted by jansson. */
static char *scroll_next_body(const char *scroll_id)
{
    json_t *body = json_pack("{s:s, s:s}", "scroll", SCROLL_KEEP_ALIVE, "scroll_id", scroll_id);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* As scroll_next_body, without the keep-alive. */
static char *scroll_clear_body(const char *scroll_id)
{
    json_t *body = json_pack("{s:s}", "scroll_id", scroll_id);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* Every hit must carry a string _id (and a _source when sources are
 * wanted), or none of the page is trusted. */
static int scroll_parse(const char *body, size_t len, char **scroll_id, char ***ids, size_t *count,
                        json_t **sources)
{
    *scroll_id = NULL;
    *ids = NULL;
    *count = 0;
    if (sources != NULL)
        *sources = NULL;
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    const char *id_text = json_string_value(json_object_get(root, "_scroll_id"));
    json_t *hits = json_object_get(json_object_get(root, "hits"), "hits");
    if (id_text == NULL || !json_is_array(hits)) {
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(hits);
    char **out = xcalloc(n + 1, sizeof *out);
    json_t *found = sources != NULL ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *hit = json_array_get(hits, i);
        const char *id = json_string_value(json_object_get(hit, "_id"));
        json_t *source = json_object_get(hit, "_source");
        if (id == NULL || (found != NULL && source == NULL)) {
            ids_free(out, i);
            json_decref(found);
            json_decref(root);
            return -1;
        }
        out[i] = xstrdup(id);
        if (found != NULL)
            json_array_append(found, source);
    }
    *scroll_id = xstrdup(id_text);
    *ids = out;
    *count = n;
    if (sources != NULL)
        *sources = found;
    json_decref(root);
    return 0;
}

/* Index names are checked by the config: nothing to escape. */
static char *mget_path(const char *index, bool with_source)
{
    return xasprintf("/%s/_mget%s", index, with_source ? "" : "?_source=false");
}

/* {"ids":[...]}, each quoted by jansson. */
static char *mget_body(const char *const *ids, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, json_string(ids[i]));
    json_t *body = json_pack("{s:o}", "ids", list);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* The docs come in the order of the ids; each must carry its id and a
 * boolean found (and a _source when found and sources are wanted). */
static int mget_parse(const char *body, size_t len, const char *const *ids, size_t count,
                      bool *found, json_t **sources)
{
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    json_t *docs = json_object_get(root, "docs");
    json_t *out = sources != NULL ? json_array() : NULL;
    int rc = json_is_array(docs) && json_array_size(docs) == count ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        json_t *doc = json_array_get(docs, i);
        const char *id = json_string_value(json_object_get(doc, "_id"));
        json_t *exists = json_object_get(doc, "found");
        json_t *source = json_object_get(doc, "_source");
        if (id == NULL || strcmp(id, ids[i]) != 0 || !json_is_boolean(exists) ||
            (out != NULL && json_is_true(exists) && source == NULL)) {
            rc = -1;
            break;
        }
        found[i] = json_is_true(exists);
        if (out != NULL)
            json_array_append(out, found[i] ? source : json_null());
    }
    if (rc < 0)
        json_decref(out);
    else if (sources != NULL)
        *sources = out;
    json_decref(root);
    return rc;
}

const struct search_engine_ops es_dialect = {
    .bulk_path = "/_bulk?require_alias=true",
    .bulk_build = build_bulk,
    .bulk_parse_response = parse_bulk_response,
    .classify_error = classify_error,
    .request_failure = request_failure,
    .mapping_path = mapping_path,
    .create_path = create_path,
    .create_body = create_body,
    .delete_path = create_path,
    .settings_path = settings_path,
    .searchable_settings_body = searchable_settings_body,
    .mapping_owner = mapping_owner,
    .aliases_path = "/_aliases",
    .aliases_body = aliases_body,
    .list_path = list_path,
    .list_parse = list_parse,
    .mapping_matches = mapping_matches,
    .parse_identity = parse_identity,
    .refresh_path = refresh_path,
    .scroll_start_path = scroll_start_path,
    .scroll_start_body = scroll_start_body,
    .scroll_path = "/_search/scroll",
    .scroll_next_body = scroll_next_body,
    .scroll_clear_body = scroll_clear_body,
    .scroll_parse = scroll_parse,
    .mget_path = mget_path,
    .mget_body = mget_body,
    .mget_parse = mget_parse,
};
