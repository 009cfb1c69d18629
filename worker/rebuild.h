/* rebuild.h - versioned indices behind an alias: the lifecycle of one
 * index's rebuilds (the states are at the top of rebuild.c).  The name
 * clients query is an alias; every full build fills a new concrete index
 * (index_setup.h names it) while the alias keeps serving the old one, and
 * one atomic request moves the alias once the build has caught up. */
#ifndef ETL_REBUILD_H
#define ETL_REBUILD_H

#include "sync.h"

/* Why a rebuild starts (the reason= of "rebuild started"). */
#define REBUILD_NO_STATE          "no_state"
#define REBUILD_UNUSABLE_STATE    "unusable_state"
#define REBUILD_MAPPING_CHANGED   "mapping_changed"
#define REBUILD_ALIAS_MISSING     "alias_missing"
#define REBUILD_ALIAS_MOVED       "alias_moved"
#define REBUILD_ADOPT             "adopt"
#define REBUILD_REQUESTED         "requested"
#define REBUILD_CHANGE_LOG_PRUNED "change_log_pruned"
#define REBUILD_BUILD_MISSING     "build_index_missing"

/* At start: finds what the alias resolves to and reconciles it with the
 * state file (a swap done before a crash, a build whose index is gone, an
 * index of the layout before aliases, a live mapping that differs from
 * its file), creates the index on an empty cluster, starts a rebuild when
 * one is due, and deletes stray concrete indices. */
enum step rebuild_prepare(struct worker *w);

/* Starts a rebuild for reason (logged once): a new concrete index, its own
 * cursors; a rebuild in progress is dropped and started over. */
enum step rebuild_start(struct worker *w, const char *reason);

/* A rebuild whose horizon is not taken yet: creates its index (with the
 * build alias) and sets its cursors like a fresh load's. */
enum step rebuild_begin(struct worker *w);

/* The build has walked its own rows and caught up: moves the alias in one
 * request, makes the build's cursors the live ones, saves the state, then
 * deletes the concrete indices beyond keep_old_indices. */
enum step rebuild_swap(struct worker *w);

/* Every few seconds: the mapping file read again when it changed, and the
 * alias checked (missing, moved, mapping not the file's): a rebuild, or
 * exit 65 under on_mapping_change = refuse. */
enum step rebuild_check(struct worker *w);

/* A batch of target found its alias missing (STEP_LOST): the live one
 * starts a rebuild, the build's starts the rebuild over. */
enum step rebuild_lost(struct worker *w, enum sync_target target);

#endif
