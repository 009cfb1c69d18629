/* pipeline.h - the batches of one change source with their bulk requests in
 * flight while the next one is read (up to bulk_concurrency of them), the
 * cursor moved only over the contiguous prefix of acknowledged ones. */
#ifndef ETL_PIPELINE_H
#define ETL_PIPELINE_H

#include "worker.h"

#include <stdbool.h>

/* Runs batches of change source number source for target from its saved
 * cursor, while they come full and for at most poll_interval_ms (the other
 * sources, and the live index during a rebuild, then get their turn).
 * *full is true when the last batch read was a whole batch_size (there may
 * be more at once), *changed when any was read.  Every batch read is
 * waited for before it returns.  STEP_OK when every batch read is saved;
 * else the cursor is at the end of the last batch done whose predecessors
 * were all done too, and the batches after it will be read again. */
enum step pipeline_run(struct worker *w, enum sync_target target, size_t source, bool *full,
                       bool *changed);

#endif
