/* background_verify.h - drift found without asking: every
 * verify_interval_s a serving worker runs `etl-worker --verify` for its own
 * index as a child process at the lowest CPU priority (nice 19), the
 * report written to STATE_DIR/NAME.verify.  The worker keeps syncing
 * meanwhile; each round it looks whether the child has ended, then logs
 * the result and reports it (etl_verify_differences).  With verify_repair
 * = auto the child re-sends what differs (`--repair`, versioned writes, so
 * it can never put an older document over the live worker's newer one),
 * or, above verify_rebuild_threshold, the worker rebuilds the index behind
 * its alias at its next round. */
#ifndef ETL_BACKGROUND_VERIFY_H
#define ETL_BACKGROUND_VERIFY_H

#include "worker.h"

/* Once a round: reaps a verify that ended (logs, reports), or starts one
 * when it is due and the index is serving. */
void background_verify_tick(struct worker *w);
/* Stops a verify still running (SIGTERM, then waits): the worker exits. */
void background_verify_stop(struct worker *w);

#endif
