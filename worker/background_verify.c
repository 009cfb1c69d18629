/* background_verify.c - see background_verify.h. */
#include "background_verify.h"

#include "exit_status.h"
#include "lifecycle.h"
#include "log.h"
#include "logfmt_scan.h"
#include "status_report.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The lowest CPU priority: a verify must not slow the sync. */
#define VERIFY_NICE 19
/* The program the worker runs: itself. */
#define SELF_EXE "/proc/self/exe"
/* Room for a number of the report. */
#define COUNT_TEXT_MAX 32

/* STATE_DIR/NAME.verify, and the file the running verify writes. */
static char *report_path(const struct worker *w, bool partial)
{
    return xasprintf("%s/%s.verify%s", w->config->state_dir, w->idx->name, partial ? ".part" : "");
}

/* In the child: lowest priority, dies with the worker, stdout into the
 * report; never returns. */
static void exec_verify(const struct worker *w, const char *partial)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    setpriority(PRIO_PROCESS, 0, VERIFY_NICE);
    int fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
        _exit(EXIT_INTERNAL);
    bool repair = w->config->verify_repair == VERIFY_REPAIR_AUTO;
    char *argv[] = {"etl-worker",
                    "--index",
                    (char *)w->idx->name,
                    "-c",
                    (char *)w->config->path,
                    "--verify",
                    repair ? "--repair" : NULL,
                    NULL};
    execv(SELF_EXE, argv);
    _exit(EXIT_EXEC_FAILED);
}

/* Starts a verify of this index; on failure tries again an interval on. */
static void start(struct worker *w)
{
    char *partial = report_path(w, true);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        exec_verify(w, partial);
    free(partial);
    if (pid < 0) {
        log_event(LOG_WARN, "background verify not started", "error", strerror(errno));
        return;
    }
    w->verify_pid = pid;
    w->verify_started_ms = monotonic_ms();
    struct log_line *line = log_begin(LOG_INFO, "background verify started");
    log_str(line, "index", w->idx->index);
    log_int(line, "verify_pid", pid);
    log_end(line);
}

/* A count of the report's first line ("index=... missing=N ..."); 0 when
 * absent. */
static long count_of(const char *summary, const char *key)
{
    char text[COUNT_TEXT_MAX];
    return logfmt_get(summary, key, text, sizeof text) ? strtol(text, NULL, 10) : 0;
}

/* What a repair did, from its line of the report ("repair=done ..." or
 * "repair=rebuild ..."): "done", "rebuild", or NULL when none ran. */
static const char *repair_of(const char *report)
{
    const char *line = report != NULL ? strstr(report, "\nrepair=") : NULL;
    if (line == NULL)
        return NULL;
    line += strlen("\nrepair=");
    return strncmp(line, "rebuild", strlen("rebuild")) == 0 ? "rebuild" : "done";
}

/* A verify ended with status: the report kept, the result logged and
 * reported.  With verify_repair = auto, what differed was re-sent (status
 * 0, or EXIT_DIFFERS when the index rejected some), or, above
 * verify_rebuild_threshold, the index is rebuilt behind its alias. */
static void finish(struct worker *w, int status)
{
    char *partial = report_path(w, true);
    char *final = report_path(w, false);
    char *text = read_whole_file(partial, NULL);
    const char *repair = repair_of(text);
    char *newline = text != NULL ? strchr(text, '\n') : NULL;
    if (newline != NULL)
        *newline = '\0';
    bool compared = text != NULL && (status == EXIT_EQUAL || status == EXIT_DIFFERS ||
                                     (status == EXIT_REBUILD_NEEDED && repair != NULL));
    if (compared)
        rename(partial, final);
    else
        unlink(partial);
    long missing = compared ? count_of(text, "missing") : 0;
    long extra = compared ? count_of(text, "extra") : 0;
    long different = compared ? count_of(text, "different") : 0;
    bool found = missing + extra + different > 0;
    struct log_line *line =
        log_begin(!compared || (found && repair == NULL) ? LOG_WARN : LOG_INFO,
                  !compared ? "background verify failed" : "background verify done");
    log_str(line, "index", w->idx->index);
    log_int(line, "status", status);
    if (compared) {
        log_int(line, "missing", missing);
        log_int(line, "extra", extra);
        log_int(line, "different", different);
        if (repair != NULL)
            log_str(line, "repair", repair);
        log_str(line, "report", final);
        if (found && repair == NULL)
            log_str(line, "hint", "see the report; etlctl verify NAME --repair re-sends them");
    }
    log_int(line, "took_ms", monotonic_ms() - w->verify_started_ms);
    log_end(line);
    if (compared)
        status_report_verify(missing + extra + different);
    if (compared && repair != NULL && strcmp(repair, "rebuild") == 0)
        w->verify_rebuild_due = true;
    free(text);
    free(partial);
    free(final);
}

void background_verify_tick(struct worker *w)
{
    int64_t every_ms = (int64_t)w->config->verify_interval_s * 1000;
    if (every_ms == 0)
        return;
    int64_t now = monotonic_ms();
    if (w->verify_pid > 0) {
        int wstatus = 0;
        pid_t done = waitpid(w->verify_pid, &wstatus, WNOHANG);
        if (done == 0 || (done < 0 && errno == EINTR))
            return;
        w->verify_pid = 0;
        w->verify_due_ms = now + every_ms;
        finish(w, done > 0 && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : EXIT_INTERNAL);
        return;
    }
    if (w->verify_due_ms == 0)
        w->verify_due_ms = now + every_ms; /* the first one an interval after the start */
    /* A first load or a rebuild is not compared: the index is being made. */
    if (now >= w->verify_due_ms && w->state.phase == LIFECYCLE_SERVING)
        start(w);
}

void background_verify_stop(struct worker *w)
{
    if (w->verify_pid <= 0)
        return;
    kill(w->verify_pid, SIGTERM);
    while (waitpid(w->verify_pid, NULL, 0) < 0 && errno == EINTR) {
    }
    w->verify_pid = 0;
    char *partial = report_path(w, true);
    unlink(partial);
    free(partial);
}
