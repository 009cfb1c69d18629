/* lifecycle.c - see lifecycle.h.  An index's lifecycle:
 *
 *   fresh --alias found--> fresh_build_pending --horizon--> building
 *   fresh --empty cluster--> first_load --horizon--> serving
 *   serving --reindex, alias missing/moved, mapping changed, change_log
 *            pruned, adopt--> build_pending --horizon--> building
 *   building --caught up--> swapping --swap done--> serving
 *   building --build index missing or of another mapping--> build_pending
 *   any --a cursor PostgreSQL refuses, a database behind the state--> fresh
 *
 * The cells no caller reaches today (an alias event in fresh, say: the
 * start handles fresh without reading the alias that way) still say what
 * the event would mean there. */
#include "lifecycle.h"

#include <string.h>

/* The names of the phases, in the state file and the logs. */
static const char *const phase_names[LIFECYCLE_PHASE_COUNT] = {
    [LIFECYCLE_FRESH] = "fresh",
    [LIFECYCLE_FIRST_LOAD] = "first_load",
    [LIFECYCLE_SERVING] = "serving",
    [LIFECYCLE_BUILD_PENDING] = "build_pending",
    [LIFECYCLE_FRESH_BUILD_PENDING] = "fresh_build_pending",
    [LIFECYCLE_BUILDING] = "building",
    [LIFECYCLE_SWAPPING] = "swapping",
};

/* table[phase][event]: the next phase and the action.  Every entry is
 * spelled out, so that a new phase or event cannot default to "fresh". */
static const struct lifecycle_transition table[LIFECYCLE_PHASE_COUNT][LIFECYCLE_EVENT_COUNT] = {
    [LIFECYCLE_FRESH] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_FIRST_LOAD,
                                        LIFECYCLE_DO_NOTHING}, /* load it in place */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                    LIFECYCLE_DO_START_BUILD}, /* a live index serves: build */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING}, /* no load begun */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_FRESH,
                                       LIFECYCLE_DO_NOTHING}, /* LOAD_DUE starts the load */
            [LIFECYCLE_ALIAS_MISSING] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                         LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                       LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                          LIFECYCLE_DO_START_BUILD}, /* adopted by a build */
            [LIFECYCLE_MAPPING_CHANGED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                           LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_LIVE_LOST] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                     LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_BUILD_MISSING] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_FRESH,
                                                 LIFECYCLE_DO_NOTHING},            /* no build */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING},       /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_FRESH, LIFECYCLE_DO_NOTHING},     /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* from the start */
        },
    [LIFECYCLE_FIRST_LOAD] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_FIRST_LOAD, LIFECYCLE_DO_NOTHING}, /* already */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_FIRST_LOAD,
                                    LIFECYCLE_DO_LOAD_IN_PLACE}, /* into the empty live index */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_SERVING,
                                         LIFECYCLE_DO_SAVE_LOAD}, /* its walk: live batches */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_FIRST_LOAD,
                                       LIFECYCLE_DO_NOTHING}, /* the index just created */
            [LIFECYCLE_ALIAS_MISSING] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                         LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                       LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_FIRST_LOAD,
                                          LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                          LIFECYCLE_DO_START_BUILD}, /* adopted by a build */
            [LIFECYCLE_MAPPING_CHANGED] =
                {LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_LIVE_LOST] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                     LIFECYCLE_DO_START_BUILD}, /* the load is a build */
            [LIFECYCLE_BUILD_MISSING] = {LIFECYCLE_FIRST_LOAD, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_FIRST_LOAD,
                                                 LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_FIRST_LOAD,
                                           LIFECYCLE_DO_NOTHING},                   /* no build */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_FIRST_LOAD, LIFECYCLE_DO_NOTHING},   /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_FIRST_LOAD, LIFECYCLE_DO_NOTHING}, /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* from the start */
        },
    [LIFECYCLE_SERVING] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_SERVING,
                                        LIFECYCLE_DO_NOTHING}, /* not asked: a live index serves */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_SERVING,
                                    LIFECYCLE_DO_NOTHING}, /* its cursors are usable */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_SERVING,
                                         LIFECYCLE_DO_NOTHING}, /* no load begun */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD}, /* asked for */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_BUILD_PENDING,
                                             LIFECYCLE_DO_START_BUILD},          /* events lost */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING}, /* all is well */
            [LIFECYCLE_ALIAS_MISSING] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD}, /* nothing serves */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_BUILD_PENDING,
                                       LIFECYCLE_DO_START_BUILD}, /* not ours any more */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_BUILD_PENDING,
                                          LIFECYCLE_DO_START_BUILD}, /* adopt */
            [LIFECYCLE_MAPPING_CHANGED] = {LIFECYCLE_BUILD_PENDING,
                                           LIFECYCLE_DO_START_BUILD}, /* the file's, anew */
            [LIFECYCLE_LIVE_LOST] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD}, /* nothing serves */
            [LIFECYCLE_BUILD_MISSING] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_SERVING,
                                                 LIFECYCLE_DO_NOTHING},              /* no build */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING}, /* no build */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING},       /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_SERVING, LIFECYCLE_DO_NOTHING},     /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* from the start */
        },
    [LIFECYCLE_BUILD_PENDING] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_BUILD_PENDING,
                                        LIFECYCLE_DO_NOTHING}, /* not asked */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_BUILD_PENDING,
                                    LIFECYCLE_DO_NOTHING}, /* its cursors are usable */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_BUILDING,
                                         LIFECYCLE_DO_SAVE_LOAD}, /* its index made */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_BUILD_PENDING,
                                             LIFECYCLE_DO_NOTE_BUILD}, /* one is running */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_BUILD_PENDING,
                                             LIFECYCLE_DO_NOTHING}, /* the build reads anew */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_BUILD_PENDING,
                                       LIFECYCLE_DO_NOTHING}, /* the build goes on */
            [LIFECYCLE_ALIAS_MISSING] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_BUILD_PENDING,
                                       LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_SERVING,
                                          LIFECYCLE_DO_FINISH_SWAP}, /* moved before a crash */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_BUILD_PENDING,
                                          LIFECYCLE_DO_NOTHING}, /* the build adopts it */
            [LIFECYCLE_MAPPING_CHANGED] = {LIFECYCLE_BUILD_PENDING,
                                           LIFECYCLE_DO_NOTHING}, /* the build has the file's */
            [LIFECYCLE_LIVE_LOST] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_BUILD_MISSING] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* made when it begins */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_BUILD_PENDING,
                                                 LIFECYCLE_DO_NOTHING}, /* made when it begins */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_BUILD_PENDING,
                                           LIFECYCLE_DO_NOTHING}, /* not begun: nothing read */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_NOTHING},   /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* the build dropped too */
        },
    [LIFECYCLE_FRESH_BUILD_PENDING] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                        LIFECYCLE_DO_NOTHING}, /* not asked */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                    LIFECYCLE_DO_NOTHING}, /* the build is the load */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_BUILDING,
                                         LIFECYCLE_DO_LIVE_AT_HORIZON}, /* live from there on */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_NOTE_BUILD}, /* one is running */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                             LIFECYCLE_DO_NOTHING}, /* read anew */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                       LIFECYCLE_DO_NOTHING}, /* the build goes on */
            [LIFECYCLE_ALIAS_MISSING] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                         LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                       LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_SERVING,
                                          LIFECYCLE_DO_FINISH_SWAP}, /* moved before a crash */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                          LIFECYCLE_DO_NOTHING}, /* the build adopts it */
            [LIFECYCLE_MAPPING_CHANGED] =
                {LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* the build has it */
            [LIFECYCLE_LIVE_LOST] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                     LIFECYCLE_DO_NOTHING}, /* no live batches */
            [LIFECYCLE_BUILD_MISSING] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                         LIFECYCLE_DO_NOTHING}, /* made when it begins */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                                 LIFECYCLE_DO_NOTHING}, /* the same */
            [LIFECYCLE_BUILD_CAUGHT_UP] =
                {LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_DO_NOTHING}, /* not begun */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                     LIFECYCLE_DO_NOTHING}, /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_FRESH_BUILD_PENDING,
                                       LIFECYCLE_DO_NOTHING}, /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* the build dropped too */
        },
    [LIFECYCLE_BUILDING] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_BUILDING, LIFECYCLE_DO_NOTHING}, /* not asked */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_BUILDING,
                                    LIFECYCLE_DO_NOTHING}, /* its cursors are usable */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_BUILDING,
                                         LIFECYCLE_DO_NOTHING}, /* taken already */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_BUILDING,
                                             LIFECYCLE_DO_NOTE_BUILD}, /* one is running */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_BUILDING,
                                             LIFECYCLE_DO_CHECK_BUILD}, /* the build reads anew */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_BUILDING, LIFECYCLE_DO_CHECK_BUILD}, /* and it? */
            [LIFECYCLE_ALIAS_MISSING] = {LIFECYCLE_BUILDING,
                                         LIFECYCLE_DO_CHECK_BUILD}, /* the build will serve */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_BUILDING,
                                       LIFECYCLE_DO_CHECK_BUILD}, /* the build will serve */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_SERVING,
                                          LIFECYCLE_DO_FINISH_SWAP}, /* moved before a crash */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_BUILDING,
                                          LIFECYCLE_DO_CHECK_BUILD}, /* the build adopts it */
            [LIFECYCLE_MAPPING_CHANGED] = {LIFECYCLE_BUILDING,
                                           LIFECYCLE_DO_CHECK_BUILD}, /* the build has the file's */
            [LIFECYCLE_LIVE_LOST] = {LIFECYCLE_BUILDING,
                                     LIFECYCLE_DO_NOTHING}, /* the build will serve */
            [LIFECYCLE_BUILD_MISSING] =
                {LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD}, /* start it over */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_BUILD_PENDING,
                                                 LIFECYCLE_DO_START_BUILD}, /* start it over */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_SWAPPING, LIFECYCLE_DO_SWAP}, /* done */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_BUILDING, LIFECYCLE_DO_NOTHING},    /* no swap */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_BUILDING, LIFECYCLE_DO_NOTHING},  /* no swap */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* the build dropped too */
        },
    [LIFECYCLE_SWAPPING] =
        {
            [LIFECYCLE_LIVE_CREATED] = {LIFECYCLE_SWAPPING, LIFECYCLE_DO_NOTHING}, /* not asked */
            [LIFECYCLE_LOAD_DUE] = {LIFECYCLE_SWAPPING,
                                    LIFECYCLE_DO_NOTHING}, /* its cursors are usable */
            [LIFECYCLE_HORIZON_TAKEN] = {LIFECYCLE_SWAPPING,
                                         LIFECYCLE_DO_NOTHING}, /* taken already */
            [LIFECYCLE_REINDEX_REQUESTED] = {LIFECYCLE_SWAPPING,
                                             LIFECYCLE_DO_NOTE_BUILD}, /* one is finishing */
            [LIFECYCLE_CHANGE_LOG_PRUNED] = {LIFECYCLE_SWAPPING,
                                             LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_ALIAS_FOUND] = {LIFECYCLE_SWAPPING,
                                       LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_ALIAS_MISSING] = {LIFECYCLE_SWAPPING,
                                         LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_ALIAS_MOVED] = {LIFECYCLE_SWAPPING,
                                       LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_ALIAS_AT_BUILD] = {LIFECYCLE_SERVING,
                                          LIFECYCLE_DO_FINISH_SWAP}, /* moved before a crash */
            [LIFECYCLE_CONCRETE_FOUND] = {LIFECYCLE_SWAPPING,
                                          LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_MAPPING_CHANGED] = {LIFECYCLE_SWAPPING,
                                           LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_LIVE_LOST] = {LIFECYCLE_SWAPPING,
                                     LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_BUILD_MISSING] = {LIFECYCLE_SWAPPING,
                                         LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_BUILD_MAPPING_CHANGED] = {LIFECYCLE_SWAPPING,
                                                 LIFECYCLE_DO_NOTHING}, /* within the swap call */
            [LIFECYCLE_BUILD_CAUGHT_UP] = {LIFECYCLE_SWAPPING, LIFECYCLE_DO_NOTHING}, /* already */
            [LIFECYCLE_SWAP_DONE] = {LIFECYCLE_SERVING, LIFECYCLE_DO_FINISH_SWAP},    /* moved */
            [LIFECYCLE_SWAP_FAILED] = {LIFECYCLE_BUILDING,
                                       LIFECYCLE_DO_NOTHING}, /* the next build round decides */
            [LIFECYCLE_STATE_UNUSABLE] = {LIFECYCLE_FRESH,
                                          LIFECYCLE_DO_DROP_CURSORS}, /* the build dropped too */
        },
};

/* A plain lookup; the unit test reads the table through it. */
struct lifecycle_transition lifecycle_transition(enum lifecycle_phase phase,
                                                 enum lifecycle_event event)
{
    return table[phase][event];
}

/* The one place the phase changes. */
enum lifecycle_action lifecycle_apply(enum lifecycle_phase *phase, enum lifecycle_event event)
{
    struct lifecycle_transition step = table[*phase][event];
    *phase = step.next;
    return step.action;
}

/* A lookup in phase_names. */
const char *lifecycle_phase_name(enum lifecycle_phase phase)
{
    return phase_names[phase];
}

/* A linear search: seven names. */
bool lifecycle_phase_from_name(const char *name, enum lifecycle_phase *phase)
{
    for (int i = 0; i < LIFECYCLE_PHASE_COUNT; i++) {
        if (strcmp(name, phase_names[i]) == 0) {
            *phase = (enum lifecycle_phase)i;
            return true;
        }
    }
    return false;
}

/* A round ends serving, with a build named (pending or begun), or
 * building; the other phases last within one call. */
bool lifecycle_phase_saved(enum lifecycle_phase phase)
{
    return phase == LIFECYCLE_SERVING || lifecycle_build_pending(phase) ||
           phase == LIFECYCLE_BUILDING;
}
