/* rebuild.h - versioned indices behind an alias: what the lifecycle of one
 * index (lifecycle.c: its phases and the table of its events) asks for is
 * done here.  The name clients query is an alias; every full build fills a
 * new concrete index (index_setup.h names it) while the alias keeps serving
 * the old one, and one atomic request moves the alias once the build has
 * caught up. */
#ifndef ETL_REBUILD_H
#define ETL_REBUILD_H

#include "worker.h"

/* At start: finds what the alias resolves to and reconciles it with the
 * state file (a swap done before a crash, a build whose index is gone, an
 * index of the layout before aliases, a live mapping that differs from
 * its file), creates the index on an empty cluster, starts a rebuild when
 * one is due, and deletes stray concrete indices. */
enum step rebuild_prepare(struct worker *w);

/* Applies event to the lifecycle (lifecycle_apply) and performs the action
 * its table gives: a build started for reason (logged once; one in
 * progress dropped), the first load begun in place, the build's index
 * checked, the alias moved, a swap finished, a build already running
 * noted, the live cursors dropped. */
enum step rebuild_event(struct worker *w, enum lifecycle_event event, const char *reason);

/* A build that is pending (lifecycle_build_pending): creates its index
 * (with the build alias), takes its horizon and sets its cursors like a
 * fresh load's (LIFECYCLE_HORIZON_TAKEN). */
enum step rebuild_begin(struct worker *w);

/* Every few seconds: the mapping file read again when it changed, and the
 * alias checked (missing, moved, mapping not the file's): a rebuild, or
 * exit 65 under on_mapping_change = refuse. */
enum step rebuild_check(struct worker *w);

/* After a build round: the swap (LIFECYCLE_BUILD_CAUGHT_UP) once the
 * build has everything the live index may have (state_build_readiness,
 * against the round's snapshot, taken after the live batches); else,
 * build_max_catch_up_s after its walk, why it has not (again every as
 * many seconds).  Never a swap before. */
enum step rebuild_try_swap(struct worker *w);

/* A batch of target found its alias missing (STEP_LOST): the live one
 * starts a rebuild, the build's starts the rebuild over. */
enum step rebuild_lost(struct worker *w, enum sync_target target);

#endif
