/* children.h - the worker processes: one slot per [index.NAME] section,
 * each with its process (if any), its output pipe, its restart backoff and
 * what the supervisor wants of it.
 *
 * States (shown by etlctl status):
 *   starting  forked, has not logged msg=started yet
 *   running   logged msg=started (or a batch, or caught up), or has been
 *             up restart_reset_after_s
 *   stopping  sent SIGTERM by the supervisor; SIGKILL after stop_timeout_s
 *   backoff   exited abnormally; started again when its delay is over
 *   stopped   stopped on purpose (etlctl stop, shutdown); not restarted */
#ifndef ETL_CHILDREN_H
#define ETL_CHILDREN_H

#include "backoff.h"
#include "child_stats.h"
#include "config.h"
#include "line_buffer.h"
#include "log_file.h"

#include <stdint.h>
#include <sys/types.h>

struct supervisor;

enum child_state { CHILD_STARTING, CHILD_RUNNING, CHILD_STOPPING, CHILD_BACKOFF, CHILD_STOPPED };

/* What happens when the process exits. */
enum child_goal {
    GOAL_RUN,     /* keep it running: an exit is a failure, restarted with backoff */
    GOAL_STOP,    /* keep it stopped */
    GOAL_RESTART, /* start it again at once */
    GOAL_REMOVE,  /* its section is gone: drop the slot */
};

struct child {
    char *name;     /* the section's NAME */
    char *index;    /* its Elasticsearch index */
    char *settings; /* config_worker_settings() it was started with, + worker_path */
    enum child_state state;
    enum child_goal goal;
    pid_t pid;              /* the process, 0 when none */
    pid_t out_pid;          /* the process whose output out_fd carries */
    int out_fd;             /* read end of its stdout+stderr pipe, -1 when closed */
    struct line_buffer out; /* its unfinished output line */
    struct log_file log;    /* log_dir/NAME.log */
    struct backoff backoff; /* restart delays */
    int64_t started_ms;     /* monotonic time of the last start */
    int64_t next_start_ms;  /* backoff: when to start again */
    int64_t kill_ms;        /* stopping: when to send SIGKILL */
    long long starts;       /* processes started in this slot */
    char last_exit[32];     /* how the last one ended: "78", "signal:9"; "" before */
    struct child_stats stats;
};

/* A new slot (not started) for section idx; settings is taken over. */
struct child *child_new(const struct supervisor *sup, const struct index_config *idx,
                        char *settings);
/* Frees a slot whose process is gone. */
void child_free(struct child *child);
/* The slot called name, or NULL. */
struct child *child_find(const struct supervisor *sup, const char *name);

/* Forks and execs the worker now.  A failed fork is logged and retried
 * with backoff. */
void child_start(struct supervisor *sup, struct child *child);
/* Asks the process to stop (SIGTERM, SIGKILL after stop_timeout_s) and
 * then do goal; with no process, goal is done at once (GOAL_REMOVE is the
 * caller's business then). */
void child_stop(struct supervisor *sup, struct child *child, enum child_goal goal);
/* Reads what is in the pipe (call when poll says it is readable or hung
 * up) and passes every whole line on. */
void child_read_output(struct supervisor *sup, struct child *child);
/* Reaps every exited process (call on SIGCHLD): drains its pipe, logs how
 * it ended and does its goal. */
void children_reap(struct supervisor *sup);
/* Does whatever is due at now: restarts after backoff, SIGKILL after
 * stop_timeout_s, starting -> running.  Returns the ms until the next thing
 * due, or -1 when nothing is. */
int64_t children_run_timers(struct supervisor *sup, int64_t now);
/* Reopens every log file (log_dir may have changed). */
void children_reopen_logs(struct supervisor *sup);
/* True while any process is alive or its output still open. */
bool children_active(const struct supervisor *sup);

/* The name of a state, as status shows it. */
const char *child_state_name(enum child_state state);

#endif
