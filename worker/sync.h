/* sync.h - the worker's loop for one index: poll every change source of the
 * index by (modified, id) up to PostgreSQL's safe horizon, build the affected
 * documents, bulk-load them, then save the cursors.  The top of the worker:
 * it includes the parts (rebuild.h, pipeline.h, batch.h ...), none of them
 * includes it. */
#ifndef ETL_SYNC_H
#define ETL_SYNC_H

#include "worker.h"

/* Runs until *stop; returns the exit status. */
int worker_run(struct worker *w);

#endif
