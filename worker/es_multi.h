/* es_multi.h - bulk requests in flight at once, over libcurl's multi
 * interface: a fixed number of slots, each a copy of the worker's
 * transport (es_client.h: timeouts, TLS, credentials, the stop check) with
 * its own response.  The caller starts a POST on a free slot, then drives
 * the transfers while it does other work (es_multi_pump), and reads each
 * answer once its slot is finished. */
#ifndef ETL_ES_MULTI_H
#define ETL_ES_MULTI_H

#include "es_client.h"

#include <stdbool.h>
#include <stddef.h>

struct es_multi_slot {
    CURL *curl;
    char *url;
    size_t node;            /* the node of the transport it was sent to */
    struct buffer response; /* body of the answer */
    char err[CURL_ERROR_SIZE + 64];
    bool busy;           /* started and not yet taken back by es_multi_take */
    bool finished;       /* answered, or failed (status -1) */
    bool too_long;       /* the answer went past response_max_bytes (then status -1) */
    size_t response_max; /* the transport's response_max_bytes */
    long status;         /* HTTP status, or -1 when no answer came (err says why) */
};

struct es_multi {
    CURLM *multi;
    struct es_client *es; /* the transport the slots copy; told when a node fails */
    struct es_multi_slot *slots;
    size_t count;
};

/* count slots copied from es (set up, and outliving m).  Returns 0, or -1
 * with err filled. */
int es_multi_init(struct es_multi *m, struct es_client *es, size_t count, char *err,
                  size_t err_size);
void es_multi_free(struct es_multi *m);

/* POSTs body (NDJSON; it must stay valid until the slot is taken back) to
 * base_url/path (the node in use) on slot slot_index, which must not be
 * busy.  When that node fails it (es_node_failed), the transport moves to
 * the next node for the requests that follow; this one's failure is the
 * slot's answer, retried by the caller. */
void es_multi_start(struct es_multi *m, size_t slot_index, const char *path, const char *body,
                    size_t body_len);

/* Moves the transfers on, waiting at most timeout_ms for one of them or,
 * when extra_fd >= 0, for extra_fd to become readable (PostgreSQL's socket:
 * the caller's other work).  Marks the slots that finished. */
void es_multi_pump(struct es_multi *m, int extra_fd, int timeout_ms);

/* Takes slot back once finished (its status, response and err stay
 * readable until it is started again). */
void es_multi_take(struct es_multi *m, size_t slot);

#endif
