/* fuzz_bulk.c - the bulk response parser of struct search_engine_ops (the
 * es_dialect) on any body.  The actions it is checked against come from
 * the body itself when it has an items array (so a well-formed response
 * reaches the per-item code), with one changed when the last byte is odd
 * (so a response that does not match the request is tried too).  The
 * body is also read as a request's failure, which must be a refusal or
 * unknown, never done nor a rejected document. */
#include "search_engine.h"

#include "fuzz_helpers.h"

#include <stdbool.h>

/* More items than this are read as this many actions: enough to reach
 * every path, few enough to stay fast. */
#define MAX_ACTIONS 64

/* Builds one action per item of body's "items" (a delete for a "delete"
 * item, an index otherwise; the item's _id, or "x"); returns how many. */
static size_t actions_from_body(const uint8_t *data, size_t size, struct bulk_action *actions)
{
    json_error_t error;
    json_t *root = json_loadb((const char *)data, size, 0, &error);
    json_t *items = json_object_get(root, "items");
    size_t count = json_array_size(items);
    if (count > MAX_ACTIONS)
        count = MAX_ACTIONS;
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(items, i);
        bool is_delete = json_object_get(item, "delete") != NULL;
        const char *id = json_string_value(
            json_object_get(json_object_get(item, is_delete ? "delete" : "index"), "_id"));
        actions[i].id = xstrdup(id != NULL ? id : "x");
        actions[i].document = is_delete ? NULL : "{}";
        actions[i].version = 0;
    }
    json_decref(root);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bulk_action actions[MAX_ACTIONS + 1];
    size_t count = actions_from_body(data, size, actions);
    if (size > 0 && (data[size - 1] & 1) != 0) {
        if (count > 0) /* the first action the other way round */
            actions[0].document = actions[0].document != NULL ? NULL : "{}";
        else
            actions[count++] = (struct bulk_action){xstrdup("x"), "{}", 0};
    }
    struct bulk_item_result results[MAX_ACTIONS + 1];
    if (es_dialect.bulk_parse_response((const char *)data, size, actions, count, results) == 0) {
        for (size_t i = 0; i < count; i++) {
            if (results[i].outcome > BULK_NO_INDEX)
                abort();
            /* An error's texts are kept exactly when it is not done. */
            if (results[i].outcome == BULK_DONE && results[i].error != NULL)
                abort();
        }
        bulk_results_free(results, count);
    }
    /* The same body as the answer to a request that failed as a whole. */
    struct bulk_item_result failure;
    es_dialect.request_failure(size > 0 ? 400 + data[0] % 200 : 503, (const char *)data, size,
                               &failure);
    if (failure.outcome != BULK_REFUSING && failure.outcome != BULK_UNKNOWN)
        abort();
    bulk_results_free(&failure, 1);
    for (size_t i = 0; i < count; i++)
        free((char *)actions[i].id);
    return 0;
}
