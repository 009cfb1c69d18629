/* search_engine.h - the parts of the search engine's REST API the worker
 * depends on, as one struct of functions: a dialect.  Another engine, or
 * another version of one, is one more implementation of struct
 * search_engine_ops; nothing else changes.
 *
 *   bulk      the NDJSON lines of index and delete actions, and what became
 *             of each of them in the response
 *   index     where to read a live mapping and to create an index, the body
 *             that creates it (refreshing or not), the settings that make
 *             it searchable, and whether a live mapping is the file's
 *   identity  distribution and version, from the answer to GET /
 *   scroll    every document id of an index, page by page, with or without
 *             the documents (verify)
 *   mget      some documents of an index by id (verify)
 *   aliases   which concrete index a name resolves to, the versioned indices
 *             of an alias, one atomic request moving aliases, deleting one
 *
 * A dialect builds and reads texts only, and it alone does: every request
 * body and every read of an answer is here, sending them is the
 * transport's (es_client.c), deciding when is the caller's (index_setup.c,
 * batch.c). */
#ifndef ETL_SEARCH_ENGINE_H
#define ETL_SEARCH_ENGINE_H

#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* One action of a bulk request. */
struct bulk_action {
    const char *id;       /* document id (borrowed) */
    const char *document; /* JSON text (borrowed); NULL: delete */
    long long version;    /* external version (version_type external_gte); 0: none */
};

/* What became of one action, or of a request that failed as a whole: the
 * class of its answer.  The dialect decides it from the error's type (and,
 * where one type means two things, its reason) by a table (es_dialect.c;
 * docs/operations.md lists it). */
enum bulk_outcome {
    BULK_DONE,        /* indexed, or deleted (or already absent) */
    BULK_REJECTED,    /* a document the index can never take (a mapping or
                         parse error): the rejects file, the batch goes on */
    BULK_REFUSING,    /* the index or cluster refuses writes for now (a block,
                         closed, no write index, security, unavailable
                         shards, 429, 5xx): kept, sent again after a backoff */
    BULK_UNKNOWN,     /* an error the table does not know: kept and sent again
                         (fail safe), never a rejected document */
    BULK_UNCONFIRMED, /* the answer had no item for it: sent again */
    BULK_NO_INDEX,    /* the alias or index written to does not exist: never a
                         rejected document; the caller rebuilds */
};

struct bulk_item_result {
    enum bulk_outcome outcome;
    int status;   /* the item's HTTP status; 0: the answer had no item for it */
    char *error;  /* JSON text of the item's error (owned), or NULL */
    char *type;   /* the error's type, its reason and the concrete index it */
    char *reason; /* names (owned; NULL when it says none), for the log */
    char *index;
};

/* Room for each text of an identity, NUL included. */
#define SEARCH_ENGINE_IDENTITY_MAX 32

/* Who answers: "elasticsearch" or "opensearch", and "8.14.1" or "2.19.1". */
struct search_engine_identity {
    char distribution[SEARCH_ENGINE_IDENTITY_MAX];
    char version[SEARCH_ENGINE_IDENTITY_MAX];
};

/* One action of an atomic alias request. */
enum alias_action_kind {
    ALIAS_ADD,         /* add alias to index */
    ALIAS_REMOVE,      /* remove alias from index */
    ALIAS_REMOVE_INDEX /* delete index (a concrete index in the alias's place) */
};

struct alias_action {
    enum alias_action_kind kind;
    const char *index;
    const char *alias; /* NULL for ALIAS_REMOVE_INDEX */
};

/* How a new index refreshes (makes writes searchable). */
enum index_refresh {
    REFRESH_AS_FILE, /* as the mapping file's settings say */
    REFRESH_OFF      /* never on its own: a build nobody searches before its
                        alias moves (loads faster) */
};

struct search_engine_ops {
    /* Where bulk requests are POSTed (an NDJSON body).  The actions name an
     * alias, and the request requires one: a write never creates an index
     * (a missing alias is an item BULK_NO_INDEX). */
    const char *bulk_path;

    /* Appends the NDJSON lines of actions, for index, to body. */
    void (*bulk_build)(struct buffer *body, const char *index, const struct bulk_action *actions,
                       size_t count);

    /* Reads a bulk response for count actions (distinct ids) into results
     * (count entries, owned by the caller: free with bulk_results_free).
     * Items are matched to actions by operation and id, in any order; an
     * action without an item is not confirmed (BULK_UNCONFIRMED, status 0);
     * an item's outcome is classify_error's.
     * Returns 0, or -1 when the response is not a bulk response for these
     * actions (not JSON, more items than actions, an item for an id not
     * sent, answered twice or under the other operation): then nothing can
     * be trusted and the whole request must be retried. */
    int (*bulk_parse_response)(const char *body, size_t len, const struct bulk_action *actions,
                               size_t count, struct bulk_item_result *results);

    /* The class of an answer: an item's (is_delete: of a delete action),
     * or a whole request's; status is its HTTP status, type and reason
     * its error's (NULL when it has none). */
    enum bulk_outcome (*classify_error)(int status, bool is_delete, const char *type,
                                        const char *reason);

    /* Reads the answer to a bulk request that failed as a whole (an HTTP
     * status but 200 and 413, and its body: {"error":{"type",...},
     * "status"}) into *result, to free with bulk_results_free: the status,
     * the error's texts, and its class, BULK_REFUSING or BULK_UNKNOWN (a
     * whole request is never one rejected document). */
    void (*request_failure)(long status, const char *body, size_t len,
                            struct bulk_item_result *result);

    /* The path to GET index's live mapping, and the one to PUT to create
     * index (malloc'ed). */
    char *(*mapping_path)(const char *index);
    char *(*create_path)(const char *index);

    /* The body that creates an index from definition, the mapping file
     * ({"settings":..., "mappings":...}, left untouched), with alias on it
     * unless NULL (one request: the index never exists without it) and
     * refreshing as refresh says; malloc'ed. */
    char *(*create_body)(const json_t *definition, const char *alias, enum index_refresh refresh);
    /* The path to DELETE an index (malloc'ed). */
    char *(*delete_path)(const char *index);
    /* The path to PUT an index's dynamic settings, and the body that gives
     * it back definition's refresh_interval (the engine's default when the
     * file sets none): what an index created REFRESH_OFF needs before it
     * is searched.  Malloc'ed. */
    char *(*settings_path)(const char *index);
    char *(*searchable_settings_body)(const json_t *definition);

    /* Copies the one concrete index a mapping response (of mapping_path of
     * an alias or an index) is about into out.  Returns 0, or -1 when the
     * response names none, several, or one longer than size - 1. */
    int (*mapping_owner)(const char *response, size_t len, char *out, size_t size);

    /* Where the atomic alias request is POSTed, and its body: every action
     * done, or none (malloc'ed). */
    const char *aliases_path;
    char *(*aliases_body)(const struct alias_action *actions, size_t count);

    /* The path to GET the names of the indices whose names start with
     * prefix (malloc'ed), and the answer read into *names (an array of
     * *count strings, every one malloc'ed; free with ids_free).  Returns 0,
     * or -1 when unreadable. */
    char *(*list_path)(const char *prefix);
    int (*list_parse)(const char *body, size_t len, char ***names, size_t *count);

    /* Compares the mapping response (of mapping_path) with definition's.
     * Returns 1 equal, 0 different, -1 unreadable. */
    int (*mapping_matches)(const char *response, size_t len, const json_t *definition);

    /* Walks every document id of an index, page by page (a scroll), after a
     * POST to refresh_path(index) so that the walk sees every write:
     * POST scroll_start_path(index) with scroll_start_body(size, with_source)
     * opens it (with_source: the pages carry each document's _source),
     * POST scroll_path with scroll_next_body(id) reads the next page,
     * DELETE scroll_path with scroll_clear_body(id) releases it.  The texts
     * are malloc'ed. */
    char *(*refresh_path)(const char *index); /* POST: makes every write searchable */
    char *(*scroll_start_path)(const char *index);
    char *(*scroll_start_body)(size_t size, bool with_source);
    const char *scroll_path;
    char *(*scroll_next_body)(const char *scroll_id);
    char *(*scroll_clear_body)(const char *scroll_id);

    /* Reads a page: *scroll_id and *ids (an array of *count strings, every
     * one malloc'ed; free with ids_free), and when sources is not NULL,
     * *sources: a JSON array of each id's _source (json_decref it).
     * Returns 0, or -1 when it is not a page of a scroll (or a _source
     * asked for is missing). */
    int (*scroll_parse)(const char *body, size_t len, char **scroll_id, char ***ids, size_t *count,
                        json_t **sources);

    /* Reads documents by id, in real time (no refresh needed): POST
     * mget_path(index, with_source) with mget_body(ids, count).  Texts
     * malloc'ed. */
    char *(*mget_path)(const char *index, bool with_source);
    char *(*mget_body)(const char *const *ids, size_t count);
    /* Reads the answer for ids: found[i] whether ids[i] exists, and when
     * sources is not NULL, *sources: a JSON array of count entries, each
     * the _source of a found id or null (json_decref it).  Returns 0, or -1
     * when it does not answer for these ids in order. */
    int (*mget_parse)(const char *body, size_t len, const char *const *ids, size_t count,
                      bool *found, json_t **sources);

    /* Reads the answer to GET / into *identity.  Returns 0, or -1 when it
     * says no version. */
    int (*parse_identity)(const char *body, size_t len, struct search_engine_identity *identity);
};

/* Frees the error texts of results (what bulk_parse_response and
 * request_failure allocated). */
void bulk_results_free(struct bulk_item_result *results, size_t count);
/* The name of an outcome, as logs and docs/operations.md spell it
 * ("index_refusing"). */
const char *bulk_outcome_name(enum bulk_outcome outcome);
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
