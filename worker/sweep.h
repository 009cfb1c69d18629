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

#endif
