/* sweep.h - after a full reload caused by a pruned change_log gap: remove
 * from the index every document that no longer exists in PostgreSQL (the
 * deletions whose events were pruned). */
#ifndef ETL_SWEEP_H
#define ETL_SWEEP_H

#include "sync.h"

/* Walks every document id of the index in chunks of batch_size (a scroll),
 * runs the index's documents.sql on each chunk and deletes with _bulk the
 * ids it does not return; then clears state.sweep_pending and saves the
 * state.  STEP_OK when done; a failure backs off and the next round sweeps
 * again from the start (deleting is idempotent). */
enum step sweep_run(struct worker *w);

/* One page of index_walk: count ids and, when the walk asked for them,
 * sources (a JSON array, the _source of each id, borrowed). */
typedef enum step (*index_page_fn)(struct worker *w, char **ids, size_t count, json_t *sources,
                                   void *ctx);

/* Refreshes the index, then walks every document id of it in pages of
 * batch_size (a scroll, released whatever happens), calling page for each
 * until it returns something else than STEP_OK or a stop is requested.
 * STEP_OK once every page was handled; a failed request is backed off
 * (worker_back_off) and its step returned. */
enum step index_walk(struct worker *w, bool with_sources, index_page_fn page, void *ctx);

#endif
