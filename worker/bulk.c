/* bulk.c - see bulk.h. */
#include "bulk.h"

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

/* {"index":{"_index":I,"_id":D}}\n{doc}\n  or  {"delete":{...}}\n */
void bulk_build(struct buffer *body, const char *index, const struct bulk_action *actions,
                size_t count)
{
    for (size_t i = 0; i < count; i++) {
        buffer_append_str(body, actions[i].document ? "{\"index\":{\"_index\":"
                                                    : "{\"delete\":{\"_index\":");
        append_json_string(body, index);
        buffer_append_str(body, ",\"_id\":");
        append_json_string(body, actions[i].id);
        buffer_append_str(body, "}}\n");
        if (actions[i].document != NULL) {
            buffer_append_str(body, actions[i].document);
            buffer_append_str(body, "\n");
        }
    }
}

/* Decides what an item's status means for that action. */
static enum bulk_outcome outcome_of(int status, bool is_delete)
{
    if (status >= 200 && status < 300)
        return BULK_DONE;
    if (is_delete && status == 404)
        return BULK_DONE; /* already gone: what we wanted */
    if (status == 429 || status >= 500)
        return BULK_RETRY;
    return BULK_REJECTED;
}

/* Walks "items": each is {"index"|"delete": {"_id", "status", "error"?}}, in
 * the order the actions were sent. */
int bulk_parse_response(const char *body, size_t len, const struct bulk_action *actions,
                        size_t count, struct bulk_item_result *results)
{
    memset(results, 0, count * sizeof *results);
    json_error_t error;
    json_t *root = json_loadb(body, len, 0, &error);
    json_t *items = json_is_object(root) ? json_object_get(root, "items") : NULL;
    if (!json_is_array(items) || json_array_size(items) != count) {
        json_decref(root);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        bool is_delete = actions[i].document == NULL;
        json_t *item = json_object_get(json_array_get(items, i), is_delete ? "delete" : "index");
        json_t *status = json_object_get(item, "status");
        json_t *id = json_object_get(item, "_id");
        if (!json_is_integer(status) || !json_is_string(id) ||
            strcmp(json_string_value(id), actions[i].id) != 0) {
            bulk_results_free(results, count);
            json_decref(root);
            return -1;
        }
        results[i].status = (int)json_integer_value(status);
        results[i].outcome = outcome_of(results[i].status, is_delete);
        json_t *item_error = json_object_get(item, "error");
        if (item_error != NULL && results[i].outcome != BULK_DONE)
            results[i].error = json_dumps(item_error, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    json_decref(root);
    return 0;
}

/* Frees the error texts. */
void bulk_results_free(struct bulk_item_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(results[i].error);
        results[i].error = NULL;
    }
}
