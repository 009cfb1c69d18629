/* change_log.h - the worker's part in change_log retention: reporting how
 * far this index has read change_log (content.etl_report_position), pruning
 * what every index has read (one worker only), and noticing a prune that
 * went past this index's cursor (a full rebuild is then due). */
#ifndef ETL_CHANGE_LOG_H
#define ETL_CHANGE_LOG_H

#include "worker.h"

#include <stdbool.h>

/* Tells PostgreSQL the saved change_log cursor while w->position_dirty.
 * STEP_OK once reported; a failure is backed off and retried here, unless
 * it made the state fresh (a refused cursor) or is not STEP_RETRY. */
enum step change_log_report_position(struct worker *w);

/* Every change_log_prune_interval_s, for the pruning worker only: deletes
 * the change_log rows every index has read.  A failure is logged and
 * waits for the next interval. */
void change_log_prune(struct worker *w);

/* While serving: compares the prune watermark with the change_log cursor;
 * *pruned_past is true (and logged) when rows this index never read are
 * gone. */
enum step change_log_check_gap(struct worker *w, bool *pruned_past);

#endif
