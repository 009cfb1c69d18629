/* refusal.h - refusal spells: while the index or cluster refuses writes
 * (a block, a closed index, no write index, credentials, shards, a full
 * queue, a 5xx; or an error of a kind the dialect does not know), the
 * batch is kept and sent again with backoff, its cursor unmoved, nothing
 * written to the rejects file.  This says so, once a spell: one line when
 * it starts (a warning; an error for an unknown kind) or its cause
 * changes, one info line when it ends, and the status channel's refused
 * and accepted events (etlctl status: state=refused reason=CAUSE; the
 * metrics etl_index_refusing and etl_index_refused_attempts_total). */
#ifndef ETL_REFUSAL_H
#define ETL_REFUSAL_H

#include "worker.h"

/* An answer to a request sent at sent_ms (monotonic) refused writes:
 * result is an item's or a whole request's (BULK_REFUSING or
 * BULK_UNKNOWN).  Counted; logged when it starts a spell or changes its
 * cause.  One whose request was sent before the latest request the index
 * took is stale (its refusal is over): neither counted nor logged. */
void refusal_note(struct worker *w, const struct bulk_item_result *result, int64_t sent_ms);

/* An answer to a request sent at sent_ms refused nothing (every item done,
 * rejected or unconfirmed): the spell, if one runs, ends, unless the
 * request was sent before the latest one refused (a stale answer). */
void refusal_over(struct worker *w, int64_t sent_ms);

#endif
