/* search_engine.h - the parts of the search engine's REST API the worker
 * depends on, as one struct of functions: a dialect.  Another engine, or
 * another version of one, is one more implementation of struct
 * search_engine_ops; nothing else changes.
 *
 *   bulk      the NDJSON lines of index and delete actions, and what became
 *             of each of them in the response
 *   index     where to read a live mapping and to create an index, the body
 *             that creates it, and whether a live mapping is the file's
 *   identity  distribution and version, from the answer to GET /
 *   scroll    every document id of an index, page by page (the sweep)
 *
 * A dialect builds and reads texts only: sending them is the transport's
 * (es_client.c), deciding when is the caller's (index_setup.c, batch.c). */
#ifndef ETL_SEARCH_ENGINE_H
#define ETL_SEARCH_ENGINE_H

#include "util.h"

#include <jansson.h>
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

/* Room for each text of an identity, NUL included. */
#define SEARCH_ENGINE_IDENTITY_MAX 32

/* Who answers: "elasticsearch" or "opensearch", and "8.14.1" or "2.19.1". */
struct search_engine_identity {
    char distribution[SEARCH_ENGINE_IDENTITY_MAX];
    char version[SEARCH_ENGINE_IDENTITY_MAX];
};

struct search_engine_ops {
    /* Where bulk requests are POSTed (an NDJSON body). */
    const char *bulk_path;

    /* Appends the NDJSON lines of actions, for index, to body. */
    void (*bulk_build)(struct buffer *body, const char *index, const struct bulk_action *actions,
                       size_t count);

    /* Reads a bulk response for count actions into results (count entries,
     * owned by the caller: free with bulk_results_free).  Returns 0, or -1
     * when the response is not a bulk response for these actions (then
     * nothing can be trusted and the whole request must be retried). */
    int (*bulk_parse_response)(const char *body, size_t len, const struct bulk_action *actions,
                               size_t count, struct bulk_item_result *results);

    /* The path to GET index's live mapping, and the one to PUT to create
     * index (malloc'ed). */
    char *(*mapping_path)(const char *index);
    char *(*create_path)(const char *index);

    /* The body that creates an index from definition, the mapping file
     * ({"settings":..., "mappings":...}); malloc'ed. */
    char *(*create_body)(const json_t *definition);

    /* Compares the mapping response (of mapping_path) with definition's.
     * Returns 1 equal, 0 different, -1 unreadable. */
    int (*mapping_matches)(const char *response, size_t len, const json_t *definition);

    /* Walks every document id of an index, page by page (a scroll), after a
     * POST to refresh_path(index) so that the walk sees every write:
     * POST scroll_start_path(index) with scroll_start_body(size) opens it,
     * POST scroll_path with scroll_next_body(id) reads the next page,
     * DELETE scroll_path with scroll_clear_body(id) releases it.  The texts
     * are malloc'ed. */
    char *(*refresh_path)(const char *index); /* POST: makes every write searchable */
    char *(*scroll_start_path)(const char *index);
    char *(*scroll_start_body)(size_t size);
    const char *scroll_path;
    char *(*scroll_next_body)(const char *scroll_id);
    char *(*scroll_clear_body)(const char *scroll_id);

    /* Reads a page: *scroll_id and *ids (an array of *count strings, every
     * one malloc'ed; free with ids_free).  Returns 0, or -1 when it is not
     * a page of a scroll. */
    int (*scroll_parse)(const char *body, size_t len, char **scroll_id, char ***ids, size_t *count);

    /* Reads the answer to GET / into *identity.  Returns 0, or -1 when it
     * says no version. */
    int (*parse_identity)(const char *body, size_t len, struct search_engine_identity *identity);
};

/* Frees the error texts of results (what bulk_parse_response allocated). */
void bulk_results_free(struct bulk_item_result *results, size_t count);
/* Frees what scroll_parse allocated for ids. */
void ids_free(char **ids, size_t count);

/* Elasticsearch 7 and 8, OpenSearch 2: they agree on all of the above. */
extern const struct search_engine_ops es_dialect;

/* The dialect for the engine identity names, or NULL when the worker does
 * not support it (why says so, naming what is supported).  Supported:
 * Elasticsearch 7.10 and later 7.x, Elasticsearch 8.x, OpenSearch 2.x. */
const struct search_engine_ops *search_engine_select(const struct search_engine_identity *identity,
                                                     char *why, size_t why_size);

#endif
