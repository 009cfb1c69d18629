/* bulk.h - building an Elasticsearch _bulk request from documents and
 * deletions, and reading its response item by item. */
#ifndef ETL_BULK_H
#define ETL_BULK_H

#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One action of a bulk request. */
struct bulk_action {
    const char *id;       /* document id (borrowed) */
    const char *document; /* JSON text (borrowed); NULL: delete */
};

/* What became of one action. */
enum bulk_outcome {
    BULK_DONE,     /* indexed, or deleted (or already absent) */
    BULK_RETRY,    /* 429 or 5xx: send again later */
    BULK_REJECTED, /* refused for good (mapping error, ...) */
};

struct bulk_item_result {
    enum bulk_outcome outcome;
    int status;
    char *error; /* JSON text of the item's error (owned), or NULL */
};

/* Appends the NDJSON lines of actions to body. */
void bulk_build(struct buffer *body, const char *index, const struct bulk_action *actions,
                size_t count);

/* Reads a _bulk response for count actions into results (count entries,
 * owned by the caller: free with bulk_results_free).  Returns 0, or -1 when
 * the response is not a bulk response for these actions (then nothing can
 * be trusted and the whole request must be retried). */
int bulk_parse_response(const char *body, size_t len, const struct bulk_action *actions,
                        size_t count, struct bulk_item_result *results);
void bulk_results_free(struct bulk_item_result *results, size_t count);

#endif
