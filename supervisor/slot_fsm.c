/* slot_fsm.c - see slot_fsm.h. */
#include "slot_fsm.h"

#include "supervisor.h"
#include "util.h"

/* table[state][input]: the next state and the action ({STATE} alone: no
 * action).  Every entry is spelled out, so that a new state or input cannot
 * default to "stopped". */
static const struct slot_transition table[CHILD_STATE_COUNT][SLOT_INPUT_COUNT] =
    {
        [CHILD_STOPPED] =
            {
                [SLOT_START] = {CHILD_STARTING, SLOT_DO_FRESH_SPAWN},   /* by hand: no delay owed */
                [SLOT_STOP] = {CHILD_STOPPED},                          /* already */
                [SLOT_RESTART] = {CHILD_STARTING, SLOT_DO_FRESH_SPAWN}, /* nothing to stop: start */
                [SLOT_CHANGED] = {CHILD_STOPPED},                 /* the next start has them */
                [SLOT_REMOVED] = {CHILD_STOPPED, SLOT_DO_REMOVE}, /* no process to wait for */
                [SLOT_IN_CONFIG] = {CHILD_STOPPED},               /* nothing pending */
                [SLOT_EXITED] = {CHILD_STOPPED},                  /* no process */
                [SLOT_TIMER] = {CHILD_STOPPED},                   /* no deadline */
                [SLOT_PROGRESS] = {CHILD_STOPPED},                /* no process */
                [SLOT_SPAWN_FAILED] = {CHILD_STOPPED},            /* no spawn */
                [SLOT_HUNG] = {CHILD_STOPPED},                    /* no process */
            },
        [CHILD_STARTING] =
            {
                [SLOT_START] = {CHILD_STARTING},                            /* already */
                [SLOT_STOP] = {CHILD_STOPPING, SLOT_DO_TERM},               /* stop, stay stopped */
                [SLOT_RESTART] = {CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM}, /* stop, then start */
                [SLOT_CHANGED] = {CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM}, /* restart on them */
                [SLOT_REMOVED] = {CHILD_STOPPING_TO_REMOVE, SLOT_DO_TERM},  /* stop, then drop */
                [SLOT_IN_CONFIG] = {CHILD_STARTING},                        /* nothing pending */
                [SLOT_EXITED] = {CHILD_BACKOFF, SLOT_DO_RETRY}, /* failed: restart later */
                [SLOT_TIMER] = {CHILD_RUNNING},                 /* up restart_reset_after_s */
                [SLOT_PROGRESS] = {CHILD_RUNNING},              /* it says it is set up */
                [SLOT_SPAWN_FAILED] = {CHILD_BACKOFF, SLOT_DO_BACKOFF}, /* try again later */
                [SLOT_HUNG] = {CHILD_STARTING, SLOT_DO_HANG_KILL},      /* its exit restarts it */
            },
        [CHILD_RUNNING] =
            {
                [SLOT_START] = {CHILD_RUNNING},                             /* already */
                [SLOT_STOP] = {CHILD_STOPPING, SLOT_DO_TERM},               /* stop, stay stopped */
                [SLOT_RESTART] = {CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM}, /* stop, then start */
                [SLOT_CHANGED] = {CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM}, /* restart on them */
                [SLOT_REMOVED] = {CHILD_STOPPING_TO_REMOVE, SLOT_DO_TERM},  /* stop, then drop */
                [SLOT_IN_CONFIG] = {CHILD_RUNNING},                         /* nothing pending */
                [SLOT_EXITED] = {CHILD_BACKOFF, SLOT_DO_RETRY},   /* failed: restart later */
                [SLOT_TIMER] = {CHILD_RUNNING},                   /* no deadline */
                [SLOT_PROGRESS] = {CHILD_RUNNING},                /* already */
                [SLOT_SPAWN_FAILED] = {CHILD_RUNNING},            /* no spawn */
                [SLOT_HUNG] = {CHILD_RUNNING, SLOT_DO_HANG_KILL}, /* its exit restarts it */
            },
        [CHILD_BACKOFF] =
            {
                [SLOT_START] = {CHILD_STARTING, SLOT_DO_FRESH_SPAWN}, /* by hand: now */
                [SLOT_STOP] = {CHILD_STOPPED},                        /* the restart is cancelled */
                [SLOT_RESTART] = {CHILD_STARTING, SLOT_DO_FRESH_SPAWN}, /* by hand: now */
                [SLOT_CHANGED] = {CHILD_STARTING, SLOT_DO_FRESH_SPAWN}, /* they may be the fix */
                [SLOT_REMOVED] = {CHILD_BACKOFF, SLOT_DO_REMOVE},       /* no process to wait for */
                [SLOT_IN_CONFIG] = {CHILD_BACKOFF},                     /* nothing pending */
                [SLOT_EXITED] = {CHILD_BACKOFF},                        /* no process */
                [SLOT_TIMER] = {CHILD_STARTING, SLOT_DO_SPAWN},         /* the delay is over */
                [SLOT_PROGRESS] = {CHILD_BACKOFF},                      /* no process */
                [SLOT_SPAWN_FAILED] = {CHILD_BACKOFF},                  /* no spawn */
                [SLOT_HUNG] = {CHILD_BACKOFF},                          /* no process */
            },
        [CHILD_STOPPING] =
            {
                [SLOT_START] = {CHILD_STOPPING_TO_RESTART},    /* start once it is gone */
                [SLOT_STOP] = {CHILD_STOPPING},                /* already */
                [SLOT_RESTART] = {CHILD_STOPPING_TO_RESTART},  /* start once it is gone */
                [SLOT_CHANGED] = {CHILD_STOPPING},             /* stays stopped: next start */
                [SLOT_REMOVED] = {CHILD_STOPPING_TO_REMOVE},   /* drop once it is gone */
                [SLOT_IN_CONFIG] = {CHILD_STOPPING},           /* nothing pending */
                [SLOT_EXITED] = {CHILD_STOPPED},               /* stopped as asked */
                [SLOT_TIMER] = {CHILD_STOPPING, SLOT_DO_KILL}, /* stop_timeout_s is over */
                [SLOT_PROGRESS] = {CHILD_STOPPING},            /* too late to matter */
                [SLOT_SPAWN_FAILED] = {CHILD_STOPPING},        /* no spawn */
                [SLOT_HUNG] = {CHILD_STOPPING},                /* stop_timeout_s kills it */
            },
        [CHILD_STOPPING_TO_RESTART] =
            {
                [SLOT_START] = {CHILD_STOPPING_TO_RESTART},               /* already */
                [SLOT_STOP] = {CHILD_STOPPING},                           /* no restart after all */
                [SLOT_RESTART] = {CHILD_STOPPING_TO_RESTART},             /* already */
                [SLOT_CHANGED] = {CHILD_STOPPING_TO_RESTART},             /* the restart has them */
                [SLOT_REMOVED] = {CHILD_STOPPING_TO_REMOVE},              /* drop, not restart */
                [SLOT_IN_CONFIG] = {CHILD_STOPPING_TO_RESTART},           /* nothing pending */
                [SLOT_EXITED] = {CHILD_STARTING, SLOT_DO_SPAWN},          /* the restart */
                [SLOT_TIMER] = {CHILD_STOPPING_TO_RESTART, SLOT_DO_KILL}, /* stop_timeout_s over */
                [SLOT_PROGRESS] = {CHILD_STOPPING_TO_RESTART},            /* too late to matter */
                [SLOT_SPAWN_FAILED] = {CHILD_STOPPING_TO_RESTART},        /* no spawn */
                [SLOT_HUNG] = {CHILD_STOPPING_TO_RESTART}, /* stop_timeout_s kills it */
            },
        [CHILD_STOPPING_TO_REMOVE] =
            {
                [SLOT_START] = {CHILD_STOPPING_TO_RESTART},     /* by hand: keep the slot */
                [SLOT_STOP] = {CHILD_STOPPING},                 /* by hand: keep it, stopped */
                [SLOT_RESTART] = {CHILD_STOPPING_TO_RESTART},   /* by hand: keep the slot */
                [SLOT_CHANGED] = {CHILD_STOPPING_TO_RESTART},   /* it is back: restart */
                [SLOT_REMOVED] = {CHILD_STOPPING_TO_REMOVE},    /* already */
                [SLOT_IN_CONFIG] = {CHILD_STOPPING_TO_RESTART}, /* it came back: restart */
                [SLOT_EXITED] = {CHILD_STOPPING_TO_REMOVE, SLOT_DO_REMOVE}, /* drop the slot */
                [SLOT_TIMER] = {CHILD_STOPPING_TO_REMOVE, SLOT_DO_KILL}, /* stop_timeout_s over */
                [SLOT_PROGRESS] = {CHILD_STOPPING_TO_REMOVE},            /* too late to matter */
                [SLOT_SPAWN_FAILED] = {CHILD_STOPPING_TO_REMOVE},        /* no spawn */
                [SLOT_HUNG] = {CHILD_STOPPING_TO_REMOVE}, /* stop_timeout_s kills it */
            },
};

/* A plain lookup; the unit test reads the table through it. */
struct slot_transition slot_transition(enum child_state state, enum slot_input input)
{
    return table[state][input];
}

/* When a process started at started_ms has been up long enough to count
 * as running and to earn a fresh backoff. */
static int64_t up_enough_at(const struct supervisor *sup, const struct child *child)
{
    return child->started_ms + (int64_t)sup->config.restart_reset_after_s * 1000;
}

/* Loops rather than recursing: a failed spawn feeds SLOT_SPAWN_FAILED back
 * in, and that entry's action never spawns again. */
bool slot_event(struct supervisor *sup, struct child *child, enum slot_input input)
{
    for (;;) {
        struct slot_transition step = table[child->state][input];
        child->state = step.next;
        switch (step.action) {
        case SLOT_DO_NOTHING:
            return true;
        case SLOT_DO_FRESH_SPAWN:
        case SLOT_DO_SPAWN:
            if (step.action == SLOT_DO_FRESH_SPAWN)
                backoff_reset(&child->backoff);
            if (child_spawn(sup, child))
                return true;
            input = SLOT_SPAWN_FAILED;
            break;
        case SLOT_DO_TERM:
            child_term(sup, child);
            return true;
        case SLOT_DO_KILL:
            child_kill(child);
            return true;
        case SLOT_DO_HANG_KILL:
            child_kill_hung(sup, child);
            return true;
        case SLOT_DO_RETRY:
        case SLOT_DO_BACKOFF:
            if (step.action == SLOT_DO_RETRY && monotonic_ms() >= up_enough_at(sup, child))
                backoff_reset(&child->backoff);
            child_schedule_restart(child);
            return true;
        case SLOT_DO_REMOVE:
            child_remove(sup, child);
            return false;
        }
    }
}

/* One deadline per state, so SLOT_TIMER needs no more than the state. */
int64_t slot_deadline(const struct supervisor *sup, const struct child *child)
{
    switch (child->state) {
    case CHILD_BACKOFF:
        return child->next_start_ms;
    case CHILD_STARTING:
        return up_enough_at(sup, child);
    case CHILD_STOPPING:
    case CHILD_STOPPING_TO_RESTART:
    case CHILD_STOPPING_TO_REMOVE:
        return child->kill_ms; /* 0 once SIGKILL was sent */
    default:
        return 0;
    }
}

/* The process got SIGTERM; what follows its exit differs. */
bool slot_stopping(enum child_state state)
{
    return state == CHILD_STOPPING || state == CHILD_STOPPING_TO_RESTART ||
           state == CHILD_STOPPING_TO_REMOVE;
}
