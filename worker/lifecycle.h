/* lifecycle.h - the lifecycle of one index behind its alias as one state
 * machine: a table of what every event does in every phase (lifecycle.c),
 * after supervisor/slot_fsm.c.  Nothing but lifecycle_apply() changes the
 * phase; its callers (rebuild.c mostly) perform the action it returns.
 * docs/architecture.md, "The lifecycle of an index", draws the table. */
#ifndef ETL_LIFECYCLE_H
#define ETL_LIFECYCLE_H

#include <stdbool.h>

/* Where an index is in its lifecycle (saved in the state file by name). */
enum lifecycle_phase {
    LIFECYCLE_FRESH,               /* no usable state: a full load is due */
    LIFECYCLE_FIRST_LOAD,          /* an empty cluster: the live index was created empty and
                                      is to be loaded in place */
    LIFECYCLE_SERVING,             /* the alias serves the live index; live batches only */
    LIFECYCLE_BUILD_PENDING,       /* a build is named, its index and horizon not made yet */
    LIFECYCLE_FRESH_BUILD_PENDING, /* the same, and the live cursors are unusable: the build's
                                      horizon starts them */
    LIFECYCLE_BUILDING,            /* the build index exists and catches up from its horizon */
    LIFECYCLE_SWAPPING,            /* the build caught up: the alias is being moved to it */
    LIFECYCLE_PHASE_COUNT
};

/* What can happen to an index. */
enum lifecycle_event {
    LIFECYCLE_LIVE_CREATED,          /* an empty cluster: the live index was created with the
                                        alias (rebuild_prepare) */
    LIFECYCLE_LOAD_DUE,              /* a round, or the start, finds the live cursors unusable */
    LIFECYCLE_HORIZON_TAKEN,         /* a load's horizon is taken, its cursors set from it */
    LIFECYCLE_REINDEX_REQUESTED,     /* SIGUSR1 (etlctl reindex) */
    LIFECYCLE_CHANGE_LOG_PRUNED,     /* change_log pruned past the cursor, or a pending sweep
                                        of a file written before aliases */
    LIFECYCLE_ALIAS_FOUND,           /* the alias is on the live index, of the file's mapping */
    LIFECYCLE_ALIAS_MISSING,         /* no alias and no index of that name */
    LIFECYCLE_ALIAS_MOVED,           /* the alias is on another index than the live one */
    LIFECYCLE_ALIAS_AT_BUILD,        /* the alias is on the build's index (moved before a crash) */
    LIFECYCLE_CONCRETE_FOUND,        /* a concrete index has the alias's name (the layout
                                        before aliases): it is adopted by a build */
    LIFECYCLE_MAPPING_CHANGED,       /* the live index's mapping is not the file's */
    LIFECYCLE_LIVE_LOST,             /* a live batch found the alias missing (STEP_LOST) */
    LIFECYCLE_BUILD_MISSING,         /* the build's index is gone (a check, or STEP_LOST) */
    LIFECYCLE_BUILD_MAPPING_CHANGED, /* the build's index is not of the file's mapping */
    LIFECYCLE_BUILD_CAUGHT_UP,       /* the build has everything the live index may have: its
                                        window read through to the round's snapshot
                                        (state_build_readiness) */
    LIFECYCLE_SWAP_DONE,             /* the alias was moved to the build's index */
    LIFECYCLE_SWAP_FAILED,           /* moving it failed: backed off, the build goes on */
    LIFECYCLE_STATE_UNUSABLE,        /* PostgreSQL refused a cursor (the state is set aside), or
                                        the database is not the one the cursors read */
    LIFECYCLE_EVENT_COUNT
};

/* What the caller of lifecycle_apply() does once the phase is set. */
enum lifecycle_action {
    LIFECYCLE_DO_NOTHING = 0,     /* what a table entry without an action means */
    LIFECYCLE_DO_START_BUILD,     /* name a new build index (dropping one in progress) and
                                     save the state (rebuild_start) */
    LIFECYCLE_DO_LOAD_IN_PLACE,   /* take the first load's horizon, set the live cursors from
                                     it: HORIZON_TAKEN */
    LIFECYCLE_DO_SAVE_LOAD,       /* save the state of a load begun, log its start */
    LIFECYCLE_DO_LIVE_AT_HORIZON, /* set the live cursors at the build's horizon too, then as
                                     SAVE_LOAD */
    LIFECYCLE_DO_CHECK_BUILD,     /* look the build's index up: BUILD_MISSING or
                                     BUILD_MAPPING_CHANGED when it must start over */
    LIFECYCLE_DO_SWAP,            /* move the alias: SWAP_DONE or SWAP_FAILED */
    LIFECYCLE_DO_FINISH_SWAP,     /* the build's cursors become the live ones; save; delete
                                     old indices */
    LIFECYCLE_DO_NOTE_BUILD,      /* log that a build already runs */
    LIFECYCLE_DO_DROP_CURSORS,    /* every live cursor back to the start */
};

/* One entry of the table. */
struct lifecycle_transition {
    enum lifecycle_phase next;
    enum lifecycle_action action;
};

/* Why a build starts (the reason= of "rebuild started"). */
#define REBUILD_NO_STATE          "no_state"
#define REBUILD_UNUSABLE_STATE    "unusable_state"
#define REBUILD_MAPPING_CHANGED   "mapping_changed"
#define REBUILD_ALIAS_MISSING     "alias_missing"
#define REBUILD_ALIAS_MOVED       "alias_moved"
#define REBUILD_ADOPT             "adopt"
#define REBUILD_REQUESTED         "requested"
#define REBUILD_CHANGE_LOG_PRUNED "change_log_pruned"
#define REBUILD_TRUNCATED         "truncated"
#define REBUILD_DATABASE_BEHIND   "database_behind"
#define REBUILD_VERIFY            "verify_differences"
#define REBUILD_BUILD_MISSING     "build_index_missing"

/* The table's entry for event in phase. */
struct lifecycle_transition lifecycle_transition(enum lifecycle_phase phase,
                                                 enum lifecycle_event event);

/* Moves *phase to the next phase for event; returns the action for the
 * caller to perform. */
enum lifecycle_action lifecycle_apply(enum lifecycle_phase *phase, enum lifecycle_event event);

/* The phase's name in the state file and the logs ("serving"). */
const char *lifecycle_phase_name(enum lifecycle_phase phase);

/* Reads a phase name into *phase; false when name is none of them. */
bool lifecycle_phase_from_name(const char *name, enum lifecycle_phase *phase);

/* True for the phases a state file names: those a round can end in.  The
 * worker saves no other (fresh and first_load end before the first save,
 * swapping within its call); state.c writes one without a name. */
bool lifecycle_phase_saved(enum lifecycle_phase phase);

/* True while a build is named in the state (its "build" key). */
static inline bool lifecycle_has_build(enum lifecycle_phase phase)
{
    return phase == LIFECYCLE_BUILD_PENDING || phase == LIFECYCLE_FRESH_BUILD_PENDING ||
           phase == LIFECYCLE_BUILDING || phase == LIFECYCLE_SWAPPING;
}

/* True while a full load is due and no build runs (LIFECYCLE_LOAD_DUE
 * then starts one, or loads the empty live index in place). */
static inline bool lifecycle_load_due(enum lifecycle_phase phase)
{
    return phase == LIFECYCLE_FRESH || phase == LIFECYCLE_FIRST_LOAD;
}

/* True while a build is named but its index and horizon are to be made. */
static inline bool lifecycle_build_pending(enum lifecycle_phase phase)
{
    return phase == LIFECYCLE_BUILD_PENDING || phase == LIFECYCLE_FRESH_BUILD_PENDING;
}

/* True when the live cursors say where the live index is (not before a
 * full load's horizon set them). */
static inline bool lifecycle_live_cursors_usable(enum lifecycle_phase phase)
{
    return phase != LIFECYCLE_FRESH && phase != LIFECYCLE_FIRST_LOAD &&
           phase != LIFECYCLE_FRESH_BUILD_PENDING;
}

/* True when a round runs the live batches: usable cursors and a live
 * index known (live: its name, "" when none). */
static inline bool lifecycle_runs_live(enum lifecycle_phase phase, const char *live)
{
    return lifecycle_live_cursors_usable(phase) && live[0] != '\0';
}

/* True when a round runs the build's batches. */
static inline bool lifecycle_runs_build(enum lifecycle_phase phase)
{
    return phase == LIFECYCLE_BUILDING;
}

#endif
