/* batch.h - the batch pipeline of one change source: change query ->
 * documents -> _bulk -> cursor and state file (the steps are at the top of
 * batch.c).  The loop in sync.c runs it for each source in turn. */
#ifndef ETL_BATCH_H
#define ETL_BATCH_H

#include "worker.h"
#include "util.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

/* Counts and timings of one batch. */
struct batch_counts {
    long rows, indexed, deleted, rejected;
    long requests;             /* bulk requests sent, retries and 413s included */
    size_t max_request_bytes;  /* the largest body sent */
    int64_t query_ms, bulk_ms; /* time in PostgreSQL, time in Elasticsearch */
};

/* One batch's actions, one per distinct doc id: a delete until the document
 * query returns that id.  texts[i] owns actions[i].document. */
struct batch_plan {
    const char **ids; /* sorted, pointers into the change result */
    struct bulk_action *actions;
    char **texts; /* compact JSON documents, or NULL */
    size_t count;
};

/* One batch of one change source: read, then sent, then its cursor saved. */
struct batch {
    PGresult *changes;      /* (txid, id, doc_id, modified) rows; plan.ids point into it */
    struct batch_plan plan; /* what to send */
    int rows;               /* changed rows read: batch_size means there may be more */
    struct cursor end;      /* its last row: where the cursor goes once it is done */
    struct batch_counts counts;
    int64_t started_ms; /* monotonic time its reading began */
};

/* The answer to a bulk request sent elsewhere (es_multi.c). */
struct bulk_answer {
    long status;      /* HTTP status, or -1 when none came */
    const char *body; /* the response */
    size_t body_len;
    const char *err;      /* why none came */
    size_t request_bytes; /* the size of the request */
    int64_t sent_ms;      /* monotonic time the request was sent */
};

/* Takes the round's snapshot, which ends target's window unless one is
 * open (step 1 of batch.c): once per target and round, before its first
 * batch. */
enum step batch_take_snapshot(struct worker *w, enum sync_target target);

/* Closes target's window once every source has read it to its end (step 5
 * of batch.c): the next starts where it ended.  Saves the state when
 * changed (the window held any row). */
enum step batch_end_window(struct worker *w, enum sync_target target, bool changed);

/* Reads the batch of change source number source for target after the
 * cursor from, in the window batch_take_snapshot set (step 2 of
 * batch.c).  b->rows is 0 when there was nothing (b then holds nothing to
 * free). */
enum step batch_read(struct worker *w, enum sync_target target, size_t source,
                     const struct cursor *from, struct batch *b);

/* Builds the one request of all of b's actions into body; false when it is
 * larger than bulk_max_bytes (the batch then goes by batch_send alone). */
bool batch_body(struct worker *w, enum sync_target target, const struct batch *b,
                struct buffer *body);

/* Sends b with _bulk until every action is done or rejected (step 3):
 * bounded requests, 413 halving, retries with backoff.  first, unless NULL,
 * is the answer to the request batch_body built, sent already.  STEP_OK,
 * STEP_STOP, or STEP_LOST when the target's alias is missing. */
enum step batch_send(struct worker *w, enum sync_target target, struct batch *b,
                     const struct bulk_answer *first);

/* Moves source's cursor of target to b's end and saves the state (step 4),
 * then logs the batch.  Only for a batch every one read before it is done
 * for (pipeline.c). */
enum step batch_finish(struct worker *w, enum sync_target target, size_t source,
                       const struct batch *b);

/* Releases what batch_read kept. */
void batch_free(struct batch *b);

/* Just before a swap: writes to the build the documents of every own row
 * (the first source's) written since the build's window ended, all read in
 * one snapshot, and moves no cursor (the next window reads them again).  A
 * row written during the build's walk and again before each later
 * window's read is in no window the build read, and the live index has an
 * older version of it: without this, the swap would leave it out of
 * searches until a window reads it.  STEP_OK once every action is done. */
enum step batch_fill_build(struct worker *w);

/* What batch_resend did. */
struct resend_counts {
    long indexed, deleted, rejected;
};

/* Sends the documents of ids (distinct) again as documents.sql builds them
 * now, and deletes those it does not return, with _bulk as a batch does
 * (verify --repair).  STEP_OK once every action is done or rejected. */
enum step batch_resend(struct worker *w, const char *const *ids, size_t count,
                       struct resend_counts *out);

#endif
