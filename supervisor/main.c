/* etl-supervisor: runs one etl-worker per [index.NAME] section and keeps
 * them running.
 *
 *   etl-supervisor [-c FILE]
 *   etl-supervisor --check [--connect] [-c FILE]
 *
 * One thread, one poll() loop over: a signalfd (SIGCHLD, SIGTERM, SIGINT,
 * SIGHUP), each worker's output pipe and status channel, the control socket and its
 * connections, the metrics listener (metrics.h), and stdout while lines
 * wait to be written; timers (restart delays, stop timeouts) set poll's
 * timeout.  Every line it writes, its
 * own and its workers', goes to stdout through output.h, which never
 * blocks: a stalled reader costs lines (counted), never the loop. */
#include "version.h"
#include "config.h"
#include "config_dry_run.h"
#include "control.h"
#include "exit_status.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "reload.h"
#include "slot_fsm.h"
#include "supervisor.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* At exit, how long lines still waiting for a stalled reader may hold the
 * exit up. */
#define EXIT_DRAIN_MS 1000

/* Long options without a short one. */
enum { OPT_CHECK = 256, OPT_CONNECT };

/* Prints the usage text. */
static void usage(FILE *out)
{
    fprintf(out, "usage: etl-supervisor [-c FILE]\n"
                 "       etl-supervisor --check [--connect] [-c FILE]\n"
                 "Runs one etl-worker per [index.NAME] section of FILE, restarts those that\n"
                 "fail (with backoff), and serves etlctl on the control socket.  Every log\n"
                 "line, its own and its workers', goes to stdout.\n\n"
                 "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
                 "      --check        check FILE and the files it names, report every\n"
                 "                     error (FILE:LINE: KEY: REASON, one a line) and exit\n"
                 "      --connect      with --check: also reach PostgreSQL (the indices' SQL\n"
                 "                     prepared) and the search node with the configured\n"
                 "                     credentials and TLS\n"
                 "  -h, --help         this text\n"
                 "  -V, --version      version\n\n"
                 "Signals: SIGTERM/SIGINT stop the workers (SIGKILL after stop_timeout_s) and\n"
                 "exit; SIGHUP re-reads FILE, restarts the workers whose settings changed and\n"
                 "reopens the log files.\n\n"
                 "Under systemd (NOTIFY_SOCKET set, a unit of Type=notify) it sends READY=1\n"
                 "once every worker has started, STATUS= with what each worker does, and\n"
                 "WATCHDOG=1 from its main loop when WatchdogSec= is set (sd_notify(3)).\n\n");
    exit_status_print_usage(out, "Exit status:", EXIT_BY_SUPERVISOR);
}

/* Blocks the signals the loop reads from a signalfd; -1 on failure. */
static int open_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* SIGTERM/SIGINT: stop every worker; the loop ends once all are gone. */
static void begin_shutdown(struct supervisor *sup, int signo)
{
    if (sup->shutting_down)
        return;
    sup->shutting_down = true;
    log_event(LOG_INFO, "stopping", "signal", signo == SIGINT ? "SIGINT" : "SIGTERM");
    notify_stopping(&sup->notify);
    for (size_t i = 0; i < sup->children_count; i++)
        slot_event(sup, sup->children[i], SLOT_STOP);
}

/* Reads every pending signal, then acts: reap first, so an exit seen
 * together with SIGTERM is not taken for a failure to restart. */
static void handle_signals(struct supervisor *sup, int sfd)
{
    bool reap = false, reload = false;
    int stop_signal = 0;
    struct signalfd_siginfo info;
    while (read(sfd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGCHLD)
            reap = true;
        else if (info.ssi_signo == SIGHUP)
            reload = true;
        else
            stop_signal = (int)info.ssi_signo;
    }
    if (reap)
        children_reap(sup);
    if (stop_signal != 0)
        begin_shutdown(sup, stop_signal);
    if (reload && sup->shutting_down)
        log_event(LOG_WARN, "SIGHUP ignored while stopping", NULL, NULL);
    else if (reload)
        supervisor_reload(sup, NULL);
}

/* The sooner of two waits in ms, -1 meaning none. */
static int64_t sooner(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The poll loop; returns when shutting down and every worker is gone. */
static int run(struct supervisor *sup, int sfd)
{
    struct pollfd *fds = NULL;
    struct child **owners = NULL;
    while (!sup->shutting_down || children_active(sup)) {
        int64_t now = monotonic_ms();
        int64_t wait = sooner(children_run_timers(sup, now), control_expire(&sup->control, now));
        wait = sooner(wait, metrics_timeout(&sup->metrics));
        /* The watchdog's ping comes from this loop and nowhere else: a
         * loop that stops turning stops the pings, and systemd restarts
         * the supervisor. */
        notify_update(sup, now);
        wait = sooner(wait, notify_timeout(&sup->notify, now));
        control_complete_waiting(sup);
        size_t cap = 1 + 2 * sup->children_count + 1 + CONTROL_MAX_CLIENTS + 1 + 1;
        fds = xrealloc(fds, cap * sizeof *fds);
        owners = xrealloc(owners, cap * sizeof *owners);
        size_t n = 0;
        fds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (size_t i = 0; i < sup->children_count; i++) {
            const int pipes[] = {sup->children[i]->out_fd, sup->children[i]->status_fd};
            for (size_t p = 0; p < sizeof pipes / sizeof pipes[0]; p++) {
                if (pipes[p] < 0)
                    continue;
                owners[n] = sup->children[i];
                fds[n++] = (struct pollfd){.fd = pipes[p], .events = POLLIN};
            }
        }
        size_t control_at = n;
        n += control_poll_fds(&sup->control, fds + n);
        size_t control_end = n;
        size_t output_at = n;
        if (output_waiting(&sup->output))
            fds[n++] = (struct pollfd){.fd = sup->output.fd, .events = POLLOUT};
        if (metrics_poll_fd(&sup->metrics) >= 0)
            fds[n++] = (struct pollfd){.fd = metrics_poll_fd(&sup->metrics), .events = POLLIN};
        int timeout = wait < 0 ? -1 : wait > INT_MAX ? INT_MAX : (int)wait;
        if (poll(fds, n, timeout) < 0 && errno != EINTR) {
            log_event(LOG_ERROR, "poll failed", "error", strerror(errno));
            free(fds);
            free(owners);
            return EXIT_OS_ERROR;
        }
        for (size_t i = 1; i < control_at; i++) {
            if (fds[i].revents != 0 && fds[i].fd == owners[i]->status_fd)
                child_read_status(sup, owners[i]);
            else if (fds[i].revents != 0)
                child_read_output(sup, owners[i]);
        }
        control_handle(sup, fds + control_at, control_end - control_at);
        if (n > output_at && fds[output_at].fd == sup->output.fd && fds[output_at].revents != 0)
            output_flush(&sup->output);
        metrics_run(&sup->metrics); /* cheap when nothing is due */
        if (fds[0].revents != 0)
            handle_signals(sup, sfd);
    }
    control_complete_waiting(sup);
    free(fds);
    free(owners);
    return EXIT_STOPPED;
}

/* Writes what waits on stdout (for EXIT_DRAIN_MS at most), frees the
 * slots and the configuration. */
static void cleanup(struct supervisor *sup)
{
    metrics_close(&sup->metrics);
    notify_free(&sup->notify);
    output_close(&sup->output, EXIT_DRAIN_MS);
    log_set_sink(NULL, NULL);
    for (size_t i = 0; i < sup->children_count; i++)
        child_free(sup->children[i]);
    free(sup->children);
    free(sup->worker_path);
    config_free(&sup->config);
}

/* Opens the control socket; prints why it cannot and returns the exit
 * status, or 0. */
static int open_control(struct supervisor *sup)
{
    char err[CONFIG_ERROR_MAX];
    enum control_open_result result =
        control_open(&sup->control, sup->config.control_socket, sup->config.control_socket_mode,
                     sup->config.control_idle_timeout_ms, err, sizeof err);
    if (result == CONTROL_OPENED)
        return 0;
    fprintf(stderr, "etl-supervisor: %s\n", err);
    return result == CONTROL_IN_USE ? EXIT_ALREADY_RUNNING : EXIT_SOCKET_FAILED;
}

/* Parses the command line, loads the config, runs the loop. */
int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},    {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {"check", no_argument, NULL, OPT_CHECK},
        {"connect", no_argument, NULL, OPT_CONNECT}, {NULL, 0, NULL, 0}};
    bool check = false;
    bool connect = false;
    struct supervisor sup = {.config_path = CONFIG_DEFAULT_PATH};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            sup.config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("etl-supervisor %s\n", ETL_VERSION_TEXT);
            return 0;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_CONNECT:
            connect = true;
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || (connect && !check)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (check)
        return config_dry_run(sup.config_path, connect);
    log_init("supervisor");
    log_set_fd(STDOUT_FILENO);
    char err[CONFIG_ERROR_MAX];
    if (config_load(sup.config_path, &sup.config, err, sizeof err) < 0 ||
        (sup.worker_path = resolve_worker_path(&sup.config, err, sizeof err)) == NULL) {
        fprintf(stderr, "etl-supervisor: %s\n", err);
        config_free(&sup.config);
        return EXIT_CONFIG;
    }
    log_set_level(sup.config.log_level);
    output_open(&sup.output, STDOUT_FILENO, (size_t)sup.config.output_buffer_bytes);
    log_set_sink(output_sink, &sup.output);
    int sfd = open_signalfd();
    if (sfd < 0) {
        fprintf(stderr, "etl-supervisor: cannot set up signals: %s\n", strerror(errno));
        cleanup(&sup);
        return EXIT_OS_ERROR;
    }
    int status = open_control(&sup);
    if (status != 0) {
        cleanup(&sup);
        return status;
    }
    if (!metrics_open(&sup, err, sizeof err)) {
        fprintf(stderr, "etl-supervisor: %s\n", err);
        control_close(&sup.control);
        cleanup(&sup);
        return EXIT_SOCKET_FAILED;
    }
    srandom((unsigned)(time(NULL) ^ getpid()));
    notify_init(&sup.notify);
    log_dir_create(sup.config.log_dir);
    struct log_line *line = log_begin(LOG_INFO, "started");
    log_str(line, "config", sup.config_path);
    log_str(line, "control_socket", sup.config.control_socket);
    log_str(line, "metrics_listen", sup.config.metrics_listen);
    log_int(line, "workers", (long long)sup.config.indices_count);
    log_end(line);
    supervisor_start_all(&sup);
    status = run(&sup, sfd);
    log_event(LOG_INFO, "stopped", NULL, NULL);
    control_close(&sup.control);
    close(sfd);
    cleanup(&sup);
    return status;
}
