/* state.h - a worker's state file: the cursor of each change source, saved
 * only after Elasticsearch acknowledged everything before it, so a restart
 * resumes where the index really is. */
#ifndef ETL_STATE_H
#define ETL_STATE_H

#include "cluster_id.h"
#include "cursor.h"
#include "lifecycle.h"

#include <stdbool.h>
#include <stddef.h>

#define STATE_SOURCE_NAME_MAX 64
/* Room for an index name (Elasticsearch allows 255 bytes) and its NUL. */
#define STATE_INDEX_NAME_MAX 256
/* Room for a rebuild's reason (a short word such as "mapping_changed"). */
#define STATE_REASON_MAX 64

/* One change source's position. */
struct source_state {
    char name[STATE_SOURCE_NAME_MAX]; /* file name of its SQL, without .sql */
    struct cursor cursor;
};

/* A rebuild in progress: a new concrete index filled by its own full load
 * (rebuild.c) while the live one keeps serving and being synced. */
struct index_build {
    char concrete[STATE_INDEX_NAME_MAX]; /* the index being built */
    char reason[STATE_REASON_MAX];       /* why it started (logged) */
    char horizon[SNAPSHOT_TEXT_MAX];     /* its load's snapshot; "" before it is taken */
    struct snapshot_window window;       /* what its cursors read */
    long long started_ms;                /* wall clock at its start */
    struct source_state *sources;        /* its own cursors, same names as the live ones */
};

struct worker_state {
    enum lifecycle_phase phase;          /* where the index is (lifecycle.c changes it) */
    bool rebuild_due;                    /* a version 2 file's sweep_pending: rebuild */
    char concrete[STATE_INDEX_NAME_MAX]; /* the live index behind the alias; "" unknown */
    struct cluster_id cluster;           /* the history the snapshots are of; unknown in a
                                            file of the release before it: filled in */
    struct index_build build;            /* while lifecycle_has_build(phase) */
    struct snapshot_window window;       /* what the live cursors read */
    struct source_state *sources;
    size_t count;
};

/* Whether a build may replace the live index now. */
enum build_readiness {
    BUILD_READY,       /* its window is read to its end, and that end is as new as seen */
    BUILD_WINDOW_OPEN, /* a source (or a fan-out) is not read to its window's end */
    BUILD_BEHIND       /* read to an end older than seen: changes since may be live already */
};

/* Where state's build stands against seen, a snapshot taken after the live
 * index's last read (the build round's own): ready when every source has
 * read the build's window to its end (none half-way through a fan-out)
 * and that end sees every transaction seen sees (snapshot_covers), so the
 * build holds everything the live index may hold. */
enum build_readiness state_build_readiness(const struct worker_state *state, const char *seen);

/* Sets state up for the named sources, all at CURSOR_START, in phase
 * LIFECYCLE_FRESH. */
void state_init(struct worker_state *state, const char *const *names, size_t count);
void state_free(struct worker_state *state);

/* Reads path into state (already set up with state_init).  Returns 1 when
 * read, 0 when the file does not exist (state stays fresh), -1 when it is
 * unreadable, malformed (a cursor's txid or a snapshot that PostgreSQL
 * would not print included, a phase that a file cannot hold, a cluster
 * without a system identifier and timeline), written by a
 * release that read by clock (version 1 or 2: its cursors are times, which
 * say nothing about transactions) or written for another index than index
 * (err says why; state stays fresh).
 * Its "build" decides the phase, as before phases were saved: serving
 * without one, building with a horizon, else build_pending, or
 * fresh_build_pending when the file names that phase. */
int state_load(struct worker_state *state, const char *path, const char *index, char *err,
               size_t err_size);

/* Writes state to path atomically.  Returns 0 or -1 with errno. */
int state_save(const struct worker_state *state, const char *path, const char *index);

/* The source name of an SQL file path: "sql/movies/person.sql" -> "person". */
void state_source_name(const char *path, char *name, size_t size);

#endif
