/* slot_fsm.h - the state machine of a worker slot: one table of what every
 * input does in every state (enum child_state, children.h), after s6's
 * s6-supervise.  Nothing but slot_event() changes a slot's state.
 *
 * Once shutting down, the supervisor passes SLOT_STOP to every slot and
 * refuses the inputs that start a worker (etlctl start/restart, SIGHUP), so
 * every slot ends stopped. */
#ifndef ETL_SLOT_FSM_H
#define ETL_SLOT_FSM_H

#include "children.h"

#include <stdbool.h>
#include <stdint.h>

struct supervisor;

/* What can happen to a slot. */
enum slot_input {
    SLOT_START,        /* etlctl start, or a new section */
    SLOT_STOP,         /* etlctl stop, or SIGTERM/SIGINT to the supervisor */
    SLOT_RESTART,      /* etlctl restart */
    SLOT_CHANGED,      /* reload: the section's settings changed */
    SLOT_REMOVED,      /* reload: the section is gone */
    SLOT_IN_CONFIG,    /* reload: the section is (again) in the file */
    SLOT_EXITED,       /* the process was reaped (pid already 0) */
    SLOT_TIMER,        /* slot_deadline() is due */
    SLOT_PROGRESS,     /* the process reported started, a batch or idle */
    SLOT_SPAWN_FAILED, /* no process could be made (only after SLOT_DO_SPAWN) */
    SLOT_HUNG,         /* no status event for hang_timeout_s (children_run_timers) */
    SLOT_INPUT_COUNT
};

/* What slot_event() does after setting the next state. */
enum slot_action {
    SLOT_DO_NOTHING = 0, /* what a table entry without an action means */
    SLOT_DO_SPAWN,       /* fork and exec; SLOT_SPAWN_FAILED if that fails */
    SLOT_DO_FRESH_SPAWN, /* the same, with the backoff reset first */
    SLOT_DO_TERM,        /* SIGTERM, SIGKILL after stop_timeout_s */
    SLOT_DO_KILL,        /* SIGKILL */
    SLOT_DO_HANG_KILL,   /* SIGKILL a hung worker: logged, counted; its exit restarts it */
    SLOT_DO_BACKOFF,     /* schedule the next start after a backoff delay */
    SLOT_DO_RETRY,       /* the same, after resetting the backoff if the
                            process stayed up restart_reset_after_s */
    SLOT_DO_REMOVE,      /* drop the slot and free it */
};

struct slot_transition {
    enum child_state next;
    enum slot_action action;
};

/* The table's entry for input in state. */
struct slot_transition slot_transition(enum child_state state, enum slot_input input);

/* Moves child to the next state for input and does its action.  Returns
 * false when the slot was removed (child is freed then). */
bool slot_event(struct supervisor *sup, struct child *child, enum slot_input input);

/* When SLOT_TIMER is due for child (monotonic ms), or 0 for never. */
int64_t slot_deadline(const struct supervisor *sup, const struct child *child);

/* True in the three stopping states: a SIGTERM was sent, the exit is to
 * come and is expected. */
bool slot_stopping(enum child_state state);

#endif
