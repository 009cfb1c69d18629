/* children.c - see children.h.  Everything here runs in the supervisor's
 * single thread, driven by its poll loop (main.c). */
#include "children.h"

#include "exit_status.h"
#include "line_tag.h"
#include "log.h"
#include "log_signal.h"
#include "slot_fsm.h"
#include "status_channel.h"
#include "supervisor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS_PER_S 1000

/* Bytes read from a pipe at a time. */
#define READ_CHUNK 16384

static const char *const state_names[] = {
    [CHILD_STOPPED] = "stopped",
    [CHILD_STARTING] = "starting",
    [CHILD_RUNNING] = "running",
    [CHILD_BACKOFF] = "backoff",
    [CHILD_STOPPING] = "stopping",
    [CHILD_STOPPING_TO_RESTART] = "stopping",
    [CHILD_STOPPING_TO_REMOVE] = "stopping",
};

/* A plain lookup; the names are those of docs/operations.md. */
const char *child_state_name(enum child_state state)
{
    return state_names[state];
}

/* A slot in state stopped with its log file open. */
struct child *child_new(const struct supervisor *sup, const struct index_config *idx,
                        char *settings)
{
    struct child *child = xcalloc(1, sizeof *child);
    child->name = xstrdup(idx->name);
    child->index = xstrdup(idx->index);
    child->settings = settings;
    child->state = CHILD_STOPPED; /* the state machine's first state */
    child->out_fd = -1;
    line_buffer_init(&child->out, LOG_LINE_MAX - 1);
    child->status_fd = -1;
    line_buffer_init(&child->status, STATUS_LINE_MAX - 1);
    log_file_open(&child->log, sup->config.log_dir, child->name);
    backoff_init(&child->backoff, sup->config.restart_initial_ms, sup->config.restart_max_ms);
    child->log_level = sup->config.log_level;
    child->run_level = child->log_level;
    return child;
}

/* Releases the slot (its process must be gone). */
void child_free(struct child *child)
{
    if (child->out_fd >= 0)
        close(child->out_fd);
    line_buffer_free(&child->out);
    if (child->status_fd >= 0)
        close(child->status_fd);
    line_buffer_free(&child->status);
    log_file_close(&child->log);
    free(child->name);
    free(child->index);
    free(child->settings);
    free(child);
}

/* Linear search: there are a handful of workers. */
struct child *child_find(const struct supervisor *sup, const char *name)
{
    for (size_t i = 0; i < sup->children_count; i++) {
        if (strcmp(sup->children[i]->name, name) == 0)
            return sup->children[i];
    }
    return NULL;
}

/* Starts a supervisor log line about child. */
static struct log_line *child_log(enum log_level level, const char *msg, const struct child *child)
{
    struct log_line *line = log_begin(level, msg);
    log_str(line, "child", child->name);
    return line;
}

/* In the forked child: die with the supervisor, leave its signal setup,
 * put the pipe on stdout and stderr and the status channel on
 * STATUS_CHANNEL_FD, exec the worker.  Never returns. */
static void exec_worker(const struct supervisor *sup, const struct child *child, int out_fd,
                        int status_fd, pid_t parent)
{
    /* PDEATHSIG is set before the check: if the supervisor died before
     * prctl, getppid() no longer names it and the worker must not run. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(EXIT_EXEC_FAILED);
    /* A group of its own: a Ctrl-C at the terminal reaches the supervisor
     * only, which then stops the workers in order. */
    setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    /* dup2 onto itself would leave close-on-exec set. */
    if (status_fd == STATUS_CHANNEL_FD)
        fcntl(status_fd, F_SETFD, 0);
    else
        dup2(status_fd, STATUS_CHANNEL_FD);
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", STATUS_CHANNEL_FD);
    setenv(STATUS_CHANNEL_ENV, fd_text, 1);
    setenv(LOG_LEVEL_ENV, log_level_name(child->log_level), 1);
    char *argv[] = {sup->worker_path, "--index", child->name, "-c", (char *)sup->config_path, NULL};
    execv(sup->worker_path, argv);
    dprintf(STDERR_FILENO, "etl-supervisor: cannot run %s: %s\n", sup->worker_path,
            strerror(errno));
    _exit(EXIT_EXEC_FAILED);
}

/* Counts the failure in the backoff, which lengthens the next delay. */
void child_schedule_restart(struct child *child)
{
    int64_t delay = backoff_next_ms(&child->backoff);
    child->next_start_ms = monotonic_ms() + delay;
    struct log_line *line = child_log(LOG_WARN, "restart scheduled", child);
    log_int(line, "delay_ms", delay);
    log_int(line, "attempt", backoff_attempts(&child->backoff));
    log_end(line);
}

/* The previous process's pipe, if still open, is closed: its output is
 * drained when it is reaped, before any restart. */
bool child_spawn(struct supervisor *sup, struct child *child)
{
    int64_t now = monotonic_ms();
    int fds[2] = {-1, -1};
    int status_fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(status_fds, O_CLOEXEC) < 0) {
        struct log_line *line = child_log(LOG_ERROR, "cannot create a pipe", child);
        log_str(line, "error", strerror(errno));
        log_end(line);
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_worker(sup, child, fds[1], status_fds[1], parent);
    close(fds[1]);
    close(status_fds[1]);
    if (pid < 0) {
        struct log_line *line = child_log(LOG_ERROR, "cannot fork", child);
        log_str(line, "error", strerror(errno));
        log_end(line);
        close(fds[0]);
        close(status_fds[0]);
        return false;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(status_fds[0], F_SETFL, O_NONBLOCK);
    if (child->out_fd >= 0)
        close(child->out_fd);
    child->out_fd = fds[0];
    if (child->status_fd >= 0)
        close(child->status_fd);
    child->status_fd = status_fds[0];
    child->status.len = 0;
    child->status.discarding = false;
    child->out_pid = pid;
    child->pid = pid;
    child->started_ms = now;
    child->kill_ms = 0;
    child->hang_at_ms = now + (int64_t)sup->config.hang_timeout_s * MS_PER_S;
    child->last_event_ms = now;
    child->run_level = child->log_level;
    child->reported = false;
    child->starts++;
    struct log_line *line = child_log(LOG_INFO, "worker started", child);
    log_int(line, "child_pid", pid);
    log_int(line, "restarts", child->starts - 1);
    log_end(line);
    return true;
}

/* Sent once per stop: the state machine does not term a stopping slot. */
void child_term(const struct supervisor *sup, struct child *child)
{
    child->kill_ms = monotonic_ms() + (int64_t)sup->config.stop_timeout_s * 1000;
    kill(child->pid, SIGTERM);
    struct log_line *line = child_log(LOG_INFO, "stopping worker", child);
    log_int(line, "child_pid", child->pid);
    log_int(line, "stop_timeout_s", sup->config.stop_timeout_s);
    log_end(line);
}

/* kill_ms = 0 takes the deadline away, so SIGKILL goes once. */
void child_kill(struct child *child)
{
    kill(child->pid, SIGKILL);
    child->kill_ms = 0;
    struct log_line *line = child_log(LOG_WARN, "worker killed", child);
    log_int(line, "child_pid", child->pid);
    log_str(line, "reason", "still running after stop_timeout_s");
    log_end(line);
}

/* kill_ms is left alone: a hung worker is not stopping; its exit goes to
 * backoff like any failure. */
void child_kill_hung(const struct supervisor *sup, struct child *child)
{
    int64_t silent_ms = monotonic_ms() - child->last_event_ms;
    kill(child->pid, SIGKILL);
    child->hang_at_ms = 0;
    child->hangs++;
    struct log_line *line = child_log(LOG_ERROR, "worker hung", child);
    log_int(line, "child_pid", child->pid);
    log_str(line, "reason", "no status event (progress or idle heartbeat) for hang_timeout_s");
    log_double(line, "silent_s", (double)silent_ms / MS_PER_S);
    log_int(line, "hang_timeout_s", sup->config.hang_timeout_s);
    log_end(line);
}

/* Context of on_output_line. */
struct output_ctx {
    struct supervisor *sup;
    struct child *child;
};

/* line_buffer handler: tags the line, writes it out.  What the worker
 * does comes over the status channel, never from these lines. */
static void on_output_line(void *ctx_ptr, const char *text, size_t len, bool truncated)
{
    (void)len;
    const struct output_ctx *ctx = ctx_ptr;
    struct child *child = ctx->child;
    char out[LOG_LINE_MAX];
    size_t n = line_tag(out, sizeof out, child->name, (long)child->out_pid, wall_clock_ms(), text,
                        truncated, NULL);
    output_line(&ctx->sup->output, out, n);
    if (child->log.fd >= 0)
        write_line(child->log.fd, out, n);
}

/* line_buffer handler of the status channel: the event goes into the
 * stats; started, a batch and idle are progress for the state machine.
 * The channel belongs to the current process (a new one per spawn). */
static void on_status_line(void *ctx_ptr, const char *text, size_t len, bool truncated)
{
    (void)len;
    const struct output_ctx *ctx = ctx_ptr;
    struct child *child = ctx->child;
    enum child_event event =
        truncated ? CHILD_EVENT_BAD : child_stats_update(&child->stats, text, wall_clock_ms());
    int64_t now = monotonic_ms();
    child->last_event_ms = now;
    if (child->hang_at_ms != 0)
        child->hang_at_ms =
            now + child->stats.sleep_ms + (int64_t)ctx->sup->config.hang_timeout_s * MS_PER_S;
    if (event == CHILD_EVENT_BAD) {
        struct log_line *line = child_log(LOG_WARN, "bad status event", child);
        log_str(line, "event", text);
        log_end(line);
        return;
    }
    if (!child->reported) {
        child->reported = true;
        child_set_log_level(child, child->log_level); /* one set while it started */
    }
    if (event != CHILD_EVENT_RETRY)
        slot_event(ctx->sup, child, SLOT_PROGRESS);
}

/* One of a slot's two pipes and what to do with its lines. */
struct pipe_ref {
    int *fd;
    struct line_buffer *lines;
    line_handler handler;
};

/* The output pipe, or the status channel. */
static struct pipe_ref pipe_of(struct child *child, bool status)
{
    return status ? (struct pipe_ref){&child->status_fd, &child->status, on_status_line}
                  : (struct pipe_ref){&child->out_fd, &child->out, on_output_line};
}

/* Closes the pipe, passing on an unfinished last line. */
static void close_pipe(struct supervisor *sup, struct child *child, struct pipe_ref p)
{
    struct output_ctx ctx = {sup, child};
    line_buffer_finish(p.lines, p.handler, &ctx);
    close(*p.fd);
    *p.fd = -1;
}

/* One read; EOF closes the pipe.  Returns false when nothing more is to be
 * read now. */
static bool read_once(struct supervisor *sup, struct child *child, struct pipe_ref p)
{
    char chunk[READ_CHUNK];
    ssize_t n = read(*p.fd, chunk, sizeof chunk);
    if (n > 0) {
        struct output_ctx ctx = {sup, child};
        line_buffer_feed(p.lines, chunk, (size_t)n, p.handler, &ctx);
        return true;
    }
    if (n < 0 && (errno == EINTR))
        return true;
    if (n < 0 && errno == EAGAIN)
        return false;
    close_pipe(sup, child, p);
    return false;
}

/* A single read per wake-up, so one chatty worker cannot starve the rest. */
void child_read_output(struct supervisor *sup, struct child *child)
{
    if (child->out_fd >= 0)
        read_once(sup, child, pipe_of(child, false));
}

/* The same, on the status channel. */
void child_read_status(struct supervisor *sup, struct child *child)
{
    if (child->status_fd >= 0)
        read_once(sup, child, pipe_of(child, true));
}

/* Everything an exited process left in its pipes.  A descendant that still
 * holds a pipe open does not keep it: what it writes later is lost. */
static void drain_output(struct supervisor *sup, struct child *child)
{
    for (int status = 0; status <= 1; status++) {
        struct pipe_ref p = pipe_of(child, status != 0);
        while (*p.fd >= 0 && read_once(sup, child, p))
            ;
        if (*p.fd >= 0)
            close_pipe(sup, child, p);
    }
}

/* Keeps the order of the other slots (status lists them in file order). */
void child_remove(struct supervisor *sup, struct child *child)
{
    for (size_t i = 0; i < sup->children_count; i++) {
        if (sup->children[i] != child)
            continue;
        memmove(&sup->children[i], &sup->children[i + 1],
                (sup->children_count - i - 1) * sizeof *sup->children);
        sup->children_count--;
        break;
    }
    log_event(LOG_INFO, "worker removed", "child", child->name);
    child_free(child);
}

/* Records and logs how the process ended. */
static void note_exit(struct child *child, int status, int64_t uptime_ms, bool expected)
{
    struct log_line *line = child_log(expected ? LOG_INFO : LOG_ERROR, "worker exited", child);
    log_int(line, "child_pid", child->pid);
    if (WIFSIGNALED(status)) {
        snprintf(child->last_exit, sizeof child->last_exit, "signal:%d", WTERMSIG(status));
        log_int(line, "signal", WTERMSIG(status));
    } else {
        snprintf(child->last_exit, sizeof child->last_exit, "%d", WEXITSTATUS(status));
        log_int(line, "status", WEXITSTATUS(status));
    }
    log_double(line, "uptime_s", (double)uptime_ms / 1000.0);
    log_str(line, "expected", expected ? "true" : "false");
    log_end(line);
}

/* After the process of child ended with status: its output first, so
 * that its last lines come before the exit; then the state machine, which
 * may free child. */
static void child_exited(struct supervisor *sup, struct child *child, int status)
{
    int64_t now = monotonic_ms();
    bool expected = slot_stopping(child->state);
    drain_output(sup, child);
    note_exit(child, status, now - child->started_ms, expected);
    child->pid = 0;
    child->kill_ms = 0;
    slot_event(sup, child, SLOT_EXITED);
}

/* waitpid until no more exited children. */
void children_reap(struct supervisor *sup)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        for (size_t i = 0; i < sup->children_count; i++) {
            if (sup->children[i]->pid == pid) {
                child_exited(sup, sup->children[i], status);
                break;
            }
        }
    }
}

/* The earlier of a pending deadline and at (ignoring 0 = none). */
static int64_t earliest(int64_t next, int64_t at)
{
    return at != 0 && (next == 0 || at < next) ? at : next;
}

/* A process the watchdog looks at: alive, not being stopped (stop_timeout_s
 * deals with that), not already killed as hung. */
static bool watched(const struct child *child)
{
    return child->pid != 0 && child->hang_at_ms != 0 && !slot_stopping(child->state);
}

/* See children.h. */
int64_t children_run_timers(struct supervisor *sup, int64_t now)
{
    int64_t next = 0;
    for (size_t i = 0; i < sup->children_count; i++) {
        struct child *child = sup->children[i];
        int64_t due = slot_deadline(sup, child);
        if (due != 0 && due <= now)
            slot_event(sup, child, SLOT_TIMER); /* never removes the slot */
        if (watched(child) && child->hang_at_ms <= now)
            slot_event(sup, child, SLOT_HUNG); /* never removes the slot */
        next = earliest(next, slot_deadline(sup, child));
        if (watched(child))
            next = earliest(next, child->hang_at_ms);
    }
    return next == 0 ? -1 : (next > now ? next - now : 0);
}

/* sigqueue carries the level (log_signal.h).  A process that has not
 * reported yet may not have its handler installed, and the signal's
 * default action would end it: it gets the level at its first event.  A
 * stopping process is left alone. */
bool child_set_log_level(struct child *child, enum log_level level)
{
    child->log_level = level;
    if (child->pid <= 0 || slot_stopping(child->state) || child->run_level == level)
        return true;
    if (!child->reported)
        return false;
    union sigval value = {.sival_int = (int)level};
    if (sigqueue(child->pid, LOG_LEVEL_SIGNAL, value) < 0) {
        struct log_line *line = child_log(LOG_WARN, "cannot send the log level", child);
        log_str(line, "error", strerror(errno));
        log_end(line);
        return false;
    }
    child->run_level = level;
    struct log_line *line = child_log(LOG_INFO, "worker log level set", child);
    log_int(line, "child_pid", child->pid);
    log_str(line, "level", log_level_name(level));
    log_end(line);
    return true;
}

/* Closes and opens again, in the log_dir in force. */
void children_reopen_logs(struct supervisor *sup)
{
    for (size_t i = 0; i < sup->children_count; i++) {
        struct child *child = sup->children[i];
        log_file_close(&child->log);
        log_file_open(&child->log, sup->config.log_dir, child->name);
    }
}

/* Any process alive? */
bool children_active(const struct supervisor *sup)
{
    for (size_t i = 0; i < sup->children_count; i++) {
        if (sup->children[i]->pid != 0)
            return true;
    }
    return false;
}
