/* batch.h - the batch pipeline of one change source: change query ->
 * documents -> _bulk -> cursor and state file (the steps are at the top of
 * batch.c).  The loop in sync.c runs it for each source in turn. */
#ifndef ETL_BATCH_H
#define ETL_BATCH_H

#include "sync.h"

#include <stddef.h>

/* Runs one batch of change source number source for target (its cursors,
 * its alias).  *rows_read gets the number of changed rows it handled: a
 * whole batch_size means there may be more at once.  STEP_OK only once the
 * cursor is saved; STEP_LOST when the target's alias is missing. */
enum step batch_run(struct worker *w, enum sync_target target, size_t source, int *rows_read);

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
