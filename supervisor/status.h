/* status.h - the line etlctl status prints for a worker: logfmt, one line
 * per worker, always the same keys in the same order (an empty value is
 * written ""):
 *
 *   name=movies index=movies pid=4242 state=running uptime_s=3600
 *   restarts=1 last_exit=signal:9 next_start_ms=0 last_batch=2026-...Z
 *   batches=2 docs_sent=1000 cursor_modified="2021-06-16 20:14:09.247396+00"
 *   cursor_id=3d8d... lag_s=0 held_s=0 held_by="" concrete=movies_2026112522150
 *   build=""
 *   build_docs=0 engine=opensearch engine_version=2.19.1 reason=""
 *   node=http://10.0.0.2:9200
 *
 * state is the slot's (slot_fsm.h), or "refused" for a running worker
 * whose index refuses its writes for now (a refusal spell), reason then
 * being the cause (the error's type, as cluster_block_exception); or
 * "waiting" for a running worker that waits for another worker's writer
 * lock on its index, reason then saying so.
 *
 * docs/operations.md explains every key. */
#ifndef ETL_STATUS_H
#define ETL_STATUS_H

#include "children.h"

#include <stddef.h>
#include <stdint.h>

/* Writes child's status line (no '\n') into out (size bytes); now is the
 * monotonic time in ms. */
void child_status_line(const struct child *child, int64_t now, char *out, size_t size);

#endif
