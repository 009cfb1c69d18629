/* bulk_split.c - see bulk_split.h. */
#include "bulk_split.h"

#include "util.h"

#include <jansson.h>
#include <stdlib.h>

/* Builds the lines into a scratch buffer: the dialect alone knows them. */
size_t bulk_action_bytes(const struct search_engine_ops *engine, const char *index,
                         const struct bulk_action *action)
{
    struct buffer lines = {0};
    engine->bulk_build(&lines, index, action, 1);
    size_t bytes = lines.len;
    buffer_free(&lines);
    return bytes;
}

/* Greedy, in order: the actions keep the batch's order. */
size_t bulk_split_fit(const size_t *sizes, size_t count, size_t max_bytes)
{
    size_t total = 0;
    size_t n = 0;
    while (n < count && sizes[n] <= max_bytes - total) {
        total += sizes[n];
        n++;
    }
    return n;
}

/* Halving by actions, not bytes: the bytes the search engine takes are
 * unknown, only that these were too many. */
size_t bulk_split_half(size_t count)
{
    return count > 1 ? count / 2 : 1;
}

/* An error object like the search engine's own: {"type","reason"}. */
static char *error_json(const char *type, const char *reason)
{
    json_t *error = json_pack("{s:s, s:s}", "type", type, "reason", reason);
    char *text = json_dumps(error, JSON_COMPACT);
    json_decref(error);
    return text ? text : xstrdup("null");
}

/* Names the size and the limit, so that the operator knows what to raise. */
char *bulk_split_oversize_error(size_t bytes, size_t limit)
{
    char *reason = xasprintf("the document's bulk lines are %zu bytes, above bulk_max_bytes "
                             "(%zu): not sent",
                             bytes, limit);
    char *text = error_json("document_too_large", reason);
    free(reason);
    return text;
}

/* The search engine's limit (http.max_content_length) is below this one. */
char *bulk_split_refused_error(size_t bytes)
{
    char *reason = xasprintf("a request of this document alone (%zu bytes) was answered HTTP "
                             "413: above the search engine's http.max_content_length",
                             bytes);
    char *text = error_json("request_too_large", reason);
    free(reason);
    return text;
}
