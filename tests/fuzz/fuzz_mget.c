/* fuzz_mget.c - mget_parse of the es_dialect (verify's real-time reads by
 * id) on any body.  The ids asked for come from the body's docs (so a
 * well-formed answer reaches the per-doc code), with one more asked for
 * when the last byte is odd (an answer for other ids must be refused).
 * Read with and without the sources, an answer gives the same found[]; a
 * source is null exactly where its id was not found. */
#include "search_engine.h"

#include "fuzz_helpers.h"

#include <stdbool.h>

/* More docs than this are read as this many ids: enough to reach every
 * path, few enough to stay fast. */
#define MAX_IDS 64

/* Fills ids with each doc's _id (or "x"); returns how many. */
static size_t ids_from_body(const uint8_t *data, size_t size, char **ids)
{
    json_error_t error;
    json_t *root = json_loadb((const char *)data, size, 0, &error);
    json_t *docs = json_object_get(root, "docs");
    size_t count = json_array_size(docs);
    if (count > MAX_IDS)
        count = MAX_IDS;
    for (size_t i = 0; i < count; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(docs, i), "_id"));
        ids[i] = xstrdup(id != NULL ? id : "x");
    }
    json_decref(root);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ids[MAX_IDS + 1];
    size_t count = ids_from_body(data, size, ids);
    bool extra = size > 0 && (data[size - 1] & 1) != 0;
    if (extra)
        ids[count++] = xstrdup("x");
    bool found[MAX_IDS + 1];
    bool found_too[MAX_IDS + 1];
    json_t *sources = NULL;
    const char *const *asked = (const char *const *)ids;
    int without = es_dialect.mget_parse((const char *)data, size, asked, count, found, NULL);
    int with = es_dialect.mget_parse((const char *)data, size, asked, count, found_too, &sources);
    if (extra && without == 0)
        abort(); /* one id more than the answer has docs */
    if (with == 0) {
        if (without != 0 || !json_is_array(sources) || json_array_size(sources) != count)
            abort();
        for (size_t i = 0; i < count; i++) {
            if (found[i] != found_too[i] || found[i] == json_is_null(json_array_get(sources, i)))
                abort();
        }
    }
    json_decref(sources);
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    return 0;
}
