/* children.h - the worker processes: one slot per [index.NAME] section,
 * each with its process (if any), its output pipe and its restart backoff.
 * What a slot does next is its state; slot_fsm.h has the one table of how
 * each input changes it.
 *
 * States (etlctl status shows the name after the colon):
 *   stopped:  no process; stopped on purpose (etlctl stop, shutdown) or
 *             never started; not restarted
 *   starting: forked, has not reported started yet (status channel)
 *   running:  reported started (or a batch, or idle), or has been up
 *             restart_reset_after_s
 *   backoff:  no process; exited abnormally, started again at next_start_ms
 *   stopping: sent SIGTERM by the supervisor (SIGKILL at kill_ms); once it
 *             exits the slot is stopped (CHILD_STOPPING), started again
 *             (CHILD_STOPPING_TO_RESTART) or dropped, its section being
 *             gone from the file (CHILD_STOPPING_TO_REMOVE) */
#ifndef ETL_CHILDREN_H
#define ETL_CHILDREN_H

#include "backoff.h"
#include "child_stats.h"
#include "config.h"
#include "line_buffer.h"
#include "log.h"
#include "log_file.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct supervisor;

enum child_state {
    CHILD_STOPPED,
    CHILD_STARTING,
    CHILD_RUNNING,
    CHILD_BACKOFF,
    CHILD_STOPPING,
    CHILD_STOPPING_TO_RESTART,
    CHILD_STOPPING_TO_REMOVE,
    CHILD_STATE_COUNT
};

struct child {
    char *name;                /* the section's NAME */
    char *index;               /* its Elasticsearch index */
    char *settings;            /* config_worker_settings() it was started with, + worker_path */
    enum child_state state;    /* changed by slot_event() only */
    pid_t pid;                 /* the process, 0 when none */
    pid_t out_pid;             /* the process whose output out_fd carries */
    int out_fd;                /* read end of its stdout+stderr pipe, -1 when closed */
    struct line_buffer out;    /* its unfinished output line */
    int status_fd;             /* read end of its status channel (status_channel.h), or -1 */
    struct line_buffer status; /* its unfinished status line */
    struct log_file log;       /* log_dir/NAME.log */
    struct backoff backoff;    /* restart delays */
    int64_t started_ms;        /* monotonic time of the last start */
    int64_t next_start_ms;     /* backoff: when to start again */
    int64_t kill_ms;           /* stopping: when to send SIGKILL */
    int64_t hang_at_ms;        /* when its silence makes it hung (monotonic); 0: not watched */
    int64_t last_event_ms;     /* monotonic time of its last status event (or start) */
    long long hangs;           /* processes killed as hung in this slot */
    long long starts;          /* processes started in this slot */
    char last_exit[32];        /* how the last one ended: "78", "signal:9"; "" before */
    enum log_level log_level;  /* the level it is to log at (log_signal.h) */
    enum log_level run_level;  /* the level its process was started with or last sent */
    bool reported;             /* its process has sent a status event: it takes signals */
    struct child_stats stats;
};

/* A new slot (not started) for section idx; settings is taken over. */
struct child *child_new(const struct supervisor *sup, const struct index_config *idx,
                        char *settings);
/* Frees a slot whose process is gone. */
void child_free(struct child *child);
/* The slot called name, or NULL. */
struct child *child_find(const struct supervisor *sup, const char *name);

/* The actions of slot_fsm.c; they leave child->state alone. */

/* Forks and execs the worker now, with a fresh output pipe.  Returns false,
 * logged, when no process could be made. */
bool child_spawn(struct supervisor *sup, struct child *child);
/* SIGTERM now, SIGKILL at kill_ms (stop_timeout_s from now). */
void child_term(const struct supervisor *sup, struct child *child);
/* SIGKILL now, once: kill_ms is cleared. */
void child_kill(struct child *child);
/* SIGKILL now for a worker silent past hang_timeout_s: logged with the
 * reason and counted; no longer watched until its next start. */
void child_kill_hung(const struct supervisor *sup, struct child *child);
/* Sets next_start_ms after the next backoff delay. */
void child_schedule_restart(struct child *child);
/* Takes child out of sup's slots and frees it (its process must be gone). */
void child_remove(struct supervisor *sup, struct child *child);

/* Reads what is in the pipe (call when poll says it is readable or hung
 * up) and passes every whole line on. */
void child_read_output(struct supervisor *sup, struct child *child);
/* The same for the status channel: every event goes into child->stats. */
void child_read_status(struct supervisor *sup, struct child *child);
/* Reaps every exited process (call on SIGCHLD): drains its pipe, logs how
 * it ended and passes SLOT_EXITED on. */
void children_reap(struct supervisor *sup);
/* Passes SLOT_TIMER to every slot whose slot_deadline() is due at now
 * (restart after backoff, SIGKILL after stop_timeout_s, starting ->
 * running), and SLOT_HUNG to every worker silent past its hang_at_ms.
 * Returns the ms until the next deadline, or -1 when none. */
int64_t children_run_timers(struct supervisor *sup, int64_t now);
/* Sets the level child is to log at: its process gets it now when it
 * can take it, else at its first status event; a new process starts
 * with it.  Returns true when the process (if any) has it now. */
bool child_set_log_level(struct child *child, enum log_level level);

/* Reopens every log file (log_dir may have changed). */
void children_reopen_logs(struct supervisor *sup);
/* True while any process is alive or its output still open. */
bool children_active(const struct supervisor *sup);

/* The name of a state, as status shows it: the three stopping states are
 * all "stopping". */
const char *child_state_name(enum child_state state);

#endif
