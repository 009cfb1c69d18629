/* es_client.h - the HTTP transport to the search engine, over libcurl: one
 * reusable handle, timeouts and credentials from the config.  It sends what
 * it is given; the paths and bodies are the dialect's (search_engine.h).
 *
 * [elasticsearch] url may name several nodes of one cluster.  Requests go
 * to the node in use; a node that fails one (no connection, a timeout, an
 * answer cut short, HTTP 502/503/504) hands over to the next in the list,
 * and is tried again once the others have failed in turn.  The TLS
 * settings and credentials are the same for every node. */
#ifndef ETL_ES_CLIENT_H
#define ETL_ES_CLIENT_H

#include "config.h"
#include "url_list.h"
#include "util.h"

#include <curl/curl.h>
#include <signal.h>

struct es_client {
    CURL *curl;
    struct url_list nodes; /* [elasticsearch] url */
    size_t node;           /* the one in use */
    const char *base_url;  /* nodes.urls[node] */
    struct curl_slist *json_headers;
    struct curl_slist *ndjson_headers;
    struct buffer response; /* body of the last response */
    size_t response_max;    /* response_max_bytes: a longer body fails the request */
    bool too_long;          /* the last body went past response_max */
    char err[CURL_ERROR_SIZE + 64];
    const volatile sig_atomic_t *stop; /* when set, a request in flight is abandoned */
};

/* Why a request failed when its answer went past response_max_bytes
 * (a printf format taking that size). */
#define ES_TOO_LONG_REASON "the answer is longer than response_max_bytes (%zu bytes); abandoned"

/* Appends len bytes of an answer to body unless that takes it past max;
 * then sets *too_long and appends nothing.  Returns what a libcurl write
 * callback returns: len, or 0 to make curl abandon the transfer (so a
 * server cannot make the worker hold more than response_max_bytes). */
size_t es_append_capped(struct buffer *body, size_t max, bool *too_long, const char *data,
                        size_t len);

/* Sets the client up.  Returns 0, or -1 with err filled. */
int es_client_init(struct es_client *es, const struct etl_config *config,
                   const volatile sig_atomic_t *stop, char *err, size_t err_size);
void es_client_free(struct es_client *es);

/* Sends METHOD base_url/path with body (may be NULL).  ndjson selects the
 * bulk content type.  Returns the HTTP status, or -1 when no answer came
 * whole: no connection, request_timeout_ms passed, a body cut short or
 * longer than response_max_bytes (es->err says which).  The body is in
 * es->response.  When the node fails the request (es_node_failed), it is
 * sent again to each other node in turn; what the last one said is
 * returned. */
long es_request(struct es_client *es, const char *method, const char *path, const char *body,
                size_t body_len, bool ndjson);

/* True when an answer (status, -1 for none; too_long: cut off by
 * response_max_bytes) says the node, not the request, failed: the next
 * node may do better. */
bool es_node_failed(long status, bool too_long);

/* Node node failed a request for why: when it is still the one in use, the
 * next one in the list takes over (logged, and reported to the status). */
void es_client_fail_over(struct es_client *es, size_t node, const char *why);

/* Tells the status channel which node is in use (after the engine check). */
void es_client_report_node(const struct es_client *es);

#endif
