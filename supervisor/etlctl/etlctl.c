/* etlctl: asks a running etl-supervisor over its control socket.
 *
 *   etlctl [-c FILE | -s SOCKET] [-t SECONDS] [--json] COMMAND [NAME [LEVEL]]
 *   etlctl [-c FILE] [-s SOCKET] verify NAME [--repair]
 *   etlctl [-c FILE] [-t SECONDS] schema upgrade|status [--dsn DSN] [--migrations DIR]
 *
 * Sends one request line (common/control_proto.h), prints the reply's data
 * lines on stdout (or, for status --json, one JSON document made of them;
 * reload prints them with its own rules, reload_print.h) and turns its
 * final line into the exit status.  Connecting, sending and
 * reading share one deadline, so a supervisor that does not answer (hung,
 * or its backlog full) costs at most the timeout.
 *
 * verify is not a request: etlctl runs the worker program with --verify
 * (which compares the index with PostgreSQL itself) and exits with its
 * status; when --repair finds too many differences the worker says so
 * (EXIT_REBUILD_NEEDED) and etlctl asks the supervisor "reindex NAME".
 *
 * schema is not a request either: etlctl connects to PostgreSQL itself
 * (schema.h). */
#include "version.h"
#include "config.h"
#include "control_proto.h"
#include "check.h"
#include "exit_status.h"
#include "line_buffer.h"
#include "reload_print.h"
#include "schema.h"
#include "status_json.h"
#include "util.h"
#include "worker_path.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* The environment variable naming the socket when neither -s nor -c is
 * given (the one etc/etl.ini reads too). */
#define SOCKET_ENV "ETL_CONTROL_SOCKET"
/* Seconds to wait for an answer when -t is not given. */
#define DEFAULT_TIMEOUT_S 5
/* stop and restart answer once the worker has stopped, at most
 * stop_timeout_s: their default is that plus this margin. */
#define STOP_MARGIN_S 5
/* Between two connection attempts while the socket's backlog is full. */
#define CONNECT_RETRY_MS 20
/* The command etlctl runs itself instead of asking the supervisor. */
#define VERIFY_COMMAND "verify"
/* The command etlctl answers from the status lines (check.h). */
#define CHECK_COMMAND "check"
/* The command etlctl runs against PostgreSQL (schema.h). */
#define SCHEMA_COMMAND "schema"
/* The migrations' directory, below the config file's, without
 * --migrations. */
#define MIGRATIONS_SUBDIR "postgres/migrations"
/* getopt values of the options without a short form. */
enum { OPT_REPAIR = 256, OPT_MAX_LAG, OPT_DSN, OPT_MIGRATIONS };

/* What becomes of the status lines of a reply. */
enum output_kind {
    OUTPUT_TEXT,   /* printed as they come */
    OUTPUT_JSON,   /* kept, printed as one JSON document (status_json.h) */
    OUTPUT_CHECK,  /* kept, judged (check.h) */
    OUTPUT_RELOAD, /* kept, printed with the final line (reload_print.h) */
};
struct output {
    enum output_kind kind;
    double max_lag_s; /* for OUTPUT_CHECK */
    bool json;        /* for OUTPUT_RELOAD: as JSON */
};

/* Prints the usage text. */
static void usage(FILE *out)
{
    fprintf(out, "usage: etlctl [-c FILE | -s SOCKET] [-t SECONDS] [--json] COMMAND [NAME]\n"
                 "Asks the running etl-supervisor.\n\n"
                 "Commands:\n"
                 "  status [NAME]   one logfmt line per worker (see docs/operations.md);\n"
                 "                  with --json one JSON document {\"workers\": [...]}\n"
                 "  restart NAME    stop the worker (if running) and start it again\n"
                 "  stop NAME       stop the worker; it stays stopped until start\n"
                 "  start NAME      start a stopped (or backing-off) worker now\n"
                 "  reopen-logs     reopen log_dir/NAME.log (after logrotate moved them)\n"
                 "  reindex NAME    ask the running worker for a full rebuild (SIGUSR1)\n"
                 "  reload          read the config file again (as SIGHUP) and print what\n"
                 "                  changed: restarted/changed/added/removed NAME, live\n"
                 "                  KEY=VALUE; a refused file: its errors, exit 78\n"
                 "                  (the old configuration stays); --json: one document\n"
                 "  log-level NAME LEVEL\n"
                 "                  set the log level (debug, info, warn, error) of a worker,\n"
                 "                  of \"supervisor\", or of \"all\", without a restart; the\n"
                 "                  file is not changed: the next reload sets its level\n"
                 "  check [--max-lag SECONDS]\n"
                 "                  is every worker ready (running, caught up once, lag at\n"
                 "                  most SECONDS, default ready_max_lag_s)? one line each;\n"
                 "                  the exit status says the worst (below)\n"
                 "  verify NAME [--repair]\n"
                 "                  compare the index with PostgreSQL (runs etl-worker --verify,\n"
                 "                  needs the config); --repair re-sends what differs, or asks\n"
                 "                  for a rebuild above verify_rebuild_threshold\n"
                 "  schema upgrade [--dsn DSN] [--migrations DIR]\n"
                 "                  apply the catalogue's missing migrations to PostgreSQL\n"
                 "                  (DDL only; safe on every start; -t bounds the wait for\n"
                 "                  another upgrade); run it as the schema's owner,\n"
                 "                  catalog_owner (a superuser on a new database)\n"
                 "  schema status [--dsn DSN] [--migrations DIR]\n"
                 "                  the schema version found and the one expected\n"
                 "      --dsn DSN         libpq connection string or URI; without it the\n"
                 "                        PG* variables (PGHOST, PGUSER, ...): not [postgres]\n"
                 "                        of the config, whose role may not run DDL\n"
                 "      --migrations DIR  default: " MIGRATIONS_SUBDIR " beside the config\n"
                 "                        file (-c, else the default one), else\n"
                 "                        " ETL_DATADIR "/" MIGRATIONS_SUBDIR "\n\n"
                 "  -s, --socket SOCKET  the control socket\n"
                 "  -c, --config FILE    read control_socket from FILE; without -s and -c:\n"
                 "                       $" SOCKET_ENV ", else " CONFIG_DEFAULT_PATH "\n"
                 "  -t, --timeout SECONDS  give up after SECONDS (exit 75); default 5, for\n"
                 "                       stop and restart stop_timeout_s + 5 (from the\n"
                 "                       config; 3605 with -s or $" SOCKET_ENV ")\n"
                 "  -j, --json           status and reload as JSON\n"
                 "  -h, --help           this text\n"
                 "  -V, --version        version\n\n");
    exit_status_print_usage(out, "Exit status:", EXIT_BY_ETLCTL);
    exit_status_print_usage(out, "Exit status of check, besides those:", EXIT_BY_CHECK);
    exit_status_print_usage(
        out, "Exit status of verify (after asking for a rebuild: as reindex):", EXIT_BY_VERIFY);
    exit_status_print_usage(out, "Exit status of schema:", EXIT_BY_SCHEMA);
}

/* "schema upgrade|status": the migrations --migrations names, else those
 * beside the config file (a source tree: etc/postgres/migrations), else
 * the installed ones (DATADIR/postgres/migrations). */
static int do_schema(const char *action, const char *config_opt, const char *dsn,
                     const char *migrations, int timeout_s)
{
    if (strcmp(action, "upgrade") != 0 && strcmp(action, "status") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char *dir = NULL;
    if (migrations == NULL) {
        const char *config = config_opt != NULL ? config_opt : CONFIG_DEFAULT_PATH;
        const char *slash = strrchr(config, '/');
        dir = slash == NULL
                  ? xstrdup(MIGRATIONS_SUBDIR)
                  : xasprintf("%.*s/%s", (int)(slash - config), config, MIGRATIONS_SUBDIR);
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            free(dir);
            dir = xstrdup(ETL_DATADIR "/" MIGRATIONS_SUBDIR);
        }
    }
    struct schema_options options = {action, dsn, migrations != NULL ? migrations : dir, timeout_s};
    int status = schema_command(&options);
    free(dir);
    return status;
}

/* The values of the config that etlctl uses besides the socket. */
struct config_values {
    int stop_timeout_s;  /* 0 when no config was read */
    int ready_max_lag_s; /* CONFIG_READY_MAX_LAG_DEFAULT_S when none was read */
};

/* Where to connect: -s, else -c's control_socket, else the environment,
 * else the default config's.  *values gets the config's when a config was
 * read, else stays.  NULL (with the message printed) on a config error. */
static char *socket_path(const char *socket_opt, const char *config_opt,
                         struct config_values *values)
{
    if (socket_opt != NULL)
        return xstrdup(socket_opt);
    const char *env = getenv(SOCKET_ENV);
    if (config_opt == NULL && env != NULL && env[0] != '\0')
        return xstrdup(env);
    struct etl_config config;
    char err[CONFIG_ERROR_MAX];
    const char *path = config_opt != NULL ? config_opt : CONFIG_DEFAULT_PATH;
    if (config_load(path, &config, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl: %s\n", err);
        config_free(&config);
        return NULL;
    }
    char *found = xstrdup(config.control_socket);
    values->stop_timeout_s = config.stop_timeout_s;
    values->ready_max_lag_s = config.ready_max_lag_s;
    config_free(&config);
    return found;
}

/* The conversation: where, until when, and how long that was. */
struct session {
    const char *path;
    int64_t deadline_ms; /* monotonic */
    int timeout_s;
};

/* Prints that the supervisor did not answer in time; the exit status. */
static int no_answer(const struct session *session)
{
    fprintf(stderr,
            "etlctl: the supervisor did not answer within %d s (%s): it may be hung or "
            "overloaded; see its log, or try again (-t for a longer wait)\n",
            session->timeout_s, session->path);
    return EXIT_TRY_LATER;
}

/* Milliseconds left until the deadline (0 when passed), for poll. */
static int ms_left(const struct session *session)
{
    int64_t left = session->deadline_ms - monotonic_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Connects without blocking: a full backlog (EAGAIN: the supervisor does
 * not accept) is tried again until the deadline.  Prints why not and
 * returns -1 with *status set. */
static int connect_to(const struct session *session, int *status)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(session->path);
    if (len >= sizeof addr.sun_path) {
        fprintf(stderr, "etlctl: socket path too long: %s\n", session->path);
        *status = EXIT_USAGE;
        return -1;
    }
    memcpy(addr.sun_path, session->path, len + 1);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            fprintf(stderr, "etlctl: socket: %s\n", strerror(errno));
            *status = EXIT_OS_ERROR;
            return -1;
        }
        if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) == 0)
            return fd;
        int saved = errno;
        close(fd);
        if (saved == EAGAIN || saved == EINTR) {
            if (ms_left(session) == 0) {
                *status = no_answer(session);
                return -1;
            }
            poll(NULL, 0, CONNECT_RETRY_MS);
            continue;
        }
        if (saved == EACCES || saved == EPERM) {
            fprintf(stderr, "etlctl: not allowed to use %s: %s\n", session->path, strerror(saved));
            *status = EXIT_NO_PERMISSION;
        } else {
            fprintf(stderr, "etlctl: the supervisor is not running (%s: %s)\n", session->path,
                    strerror(saved));
            *status = EXIT_NOT_RUNNING;
        }
        return -1;
    }
}

/* What the reply said so far. */
struct reply_state {
    bool done;      /* the final line came */
    int status;     /* exit status it means */
    int data_lines; /* data lines printed (or kept) */
    bool keep;      /* keep the data lines (status_json, check, reload) */
    char **kept;    /* their texts when keep */
    bool reload;    /* keep the final line's text too (and a config error's) */
    char *final;    /* that text */
};

/* The exit status of an error reply. */
static int error_status(enum control_error code)
{
    switch (code) {
    case CONTROL_ERR_USAGE:
        return EXIT_USAGE;
    case CONTROL_ERR_UNKNOWN_WORKER:
        return EXIT_UNKNOWN_WORKER;
    case CONTROL_ERR_NOT_RUNNING:
        return EXIT_WORKER_STOPPED;
    case CONTROL_ERR_CONFIG:
        return EXIT_CONFIG;
    case CONTROL_ERR_UNAVAILABLE:
    case CONTROL_ERR_BUSY:
        return EXIT_TRY_LATER;
    case CONTROL_ERR_UNKNOWN_CODE:
        break;
    }
    return EXIT_BAD_REPLY;
}

/* line_buffer handler: prints (or keeps) data, reads the final line. */
static void on_reply_line(void *ctx, const char *text, size_t len, bool truncated)
{
    (void)len;
    struct reply_state *state = ctx;
    struct control_reply_line reply;
    if (state->done)
        return;
    if (truncated || control_parse_reply_line(text, &reply) < 0) {
        fprintf(stderr, "etlctl: unexpected reply: %.200s\n", text);
        state->done = true;
        state->status = EXIT_BAD_REPLY;
        return;
    }
    switch (reply.kind) {
    case CONTROL_REPLY_DATA:
        if (state->keep) {
            state->kept = xrealloc(state->kept, (size_t)(state->data_lines + 1) * sizeof(char *));
            state->kept[state->data_lines] = xstrdup(reply.text);
        } else {
            printf("%s\n", reply.text);
        }
        state->data_lines++;
        return;
    case CONTROL_REPLY_OK:
        if (state->data_lines == 0 && reply.text[0] != '\0' && !state->keep)
            printf("%s\n", reply.text);
        if (state->reload)
            state->final = xstrdup(reply.text);
        state->status = 0;
        break;
    case CONTROL_REPLY_ERROR:
        if (state->reload && reply.error == CONTROL_ERR_CONFIG)
            state->final = xstrdup(reply.text);
        else
            fprintf(stderr, "etlctl: %s\n", reply.text);
        state->status = error_status(reply.error);
        break;
    }
    state->done = true;
}

/* Writes the whole request before the deadline; the exit status, 0 when
 * sent. */
static int send_all(const struct session *session, int fd, const char *data, size_t len)
{
    while (len > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int ready = poll(&pfd, 1, ms_left(session));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return no_answer(session);
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            fprintf(stderr, "etlctl: the supervisor closed the connection: %s\n", strerror(errno));
            return EXIT_NOT_RUNNING;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Prints the kept status lines as one JSON document. */
static int print_json(const struct reply_state *state)
{
    char *doc = status_json((const char *const *)state->kept, (size_t)state->data_lines);
    if (doc == NULL) {
        fprintf(stderr, "etlctl: unexpected status lines (another version?)\n");
        return EXIT_BAD_REPLY;
    }
    printf("%s\n", doc);
    free(doc);
    return 0;
}

/* Sends request, reads the reply until its final line or the deadline;
 * returns the exit status. */
static int converse(const struct session *session, int fd, const char *request,
                    const struct output *output)
{
    int status = send_all(session, fd, request, strlen(request));
    if (status != 0)
        return status;
    struct line_buffer lines;
    line_buffer_init(&lines, CONTROL_LINE_MAX - 1);
    struct reply_state state = {.keep = output->kind != OUTPUT_TEXT,
                                .reload = output->kind == OUTPUT_RELOAD};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (!state.done) {
        int ready = poll(&pfd, 1, ms_left(session));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            state.status = no_answer(session);
            break;
        }
        char chunk[CONTROL_LINE_MAX];
        ssize_t n = ready > 0 ? read(fd, chunk, sizeof chunk) : -1;
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            fprintf(stderr, "etlctl: the supervisor closed the connection without an answer\n");
            state.status = EXIT_NOT_RUNNING;
            break;
        }
        line_buffer_feed(&lines, chunk, (size_t)n, on_reply_line, &state);
    }
    line_buffer_free(&lines);
    if (state.done && state.status == 0 && output->kind == OUTPUT_JSON)
        state.status = print_json(&state);
    if (state.done && state.status == 0 && output->kind == OUTPUT_CHECK)
        state.status = check_status_lines((const char *const *)state.kept, (size_t)state.data_lines,
                                          output->max_lag_s);
    if (state.final != NULL &&
        reload_print((const char *const *)state.kept, (size_t)state.data_lines, state.status == 0,
                     state.final, output->json) < 0) {
        fprintf(stderr, "etlctl: unexpected reload lines (another version?)\n");
        state.status = EXIT_BAD_REPLY;
    }
    free(state.final);
    for (int i = 0; i < state.data_lines && state.kept != NULL; i++)
        free(state.kept[i]);
    free(state.kept);
    return state.status;
}

/* The wait when -t is not given: stop and restart last up to
 * stop_timeout_s (the largest allowed when it is not known). */
static int default_timeout_s(enum control_command command, int stop_timeout_s)
{
    if (command != CONTROL_STOP && command != CONTROL_RESTART)
        return DEFAULT_TIMEOUT_S;
    return (stop_timeout_s > 0 ? stop_timeout_s : CONFIG_STOP_TIMEOUT_MAX_S) + STOP_MARGIN_S;
}

/* Sends request (req, parsed) to the supervisor found from the options;
 * returns the exit status. */
static int ask(const char *socket_opt, const char *config_opt, int timeout_s,
               const struct control_request *req, const char *request, struct output output)
{
    struct config_values values = {0, CONFIG_READY_MAX_LAG_DEFAULT_S};
    char *path = socket_path(socket_opt, config_opt, &values);
    if (path == NULL)
        return EXIT_CONFIG;
    if (timeout_s == 0)
        timeout_s = default_timeout_s(req->command, values.stop_timeout_s);
    if (output.kind == OUTPUT_CHECK && output.max_lag_s < 0)
        output.max_lag_s = values.ready_max_lag_s;
    struct session session = {path, monotonic_ms() + (int64_t)timeout_s * 1000, timeout_s};
    int status;
    int fd = connect_to(&session, &status);
    if (fd >= 0) {
        status = converse(&session, fd, request, &output);
        close(fd);
    }
    free(path);
    return status;
}

/* Runs the worker program with --verify for name and waits for it; the
 * worker's exit status, 70 when it could not be run. */
static int run_verify(const char *config_path, const char *name, bool repair)
{
    struct etl_config config;
    char err[CONFIG_ERROR_MAX];
    if (config_load(config_path, &config, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl: %s\n", err);
        config_free(&config);
        return EXIT_CONFIG;
    }
    char *worker = resolve_worker_path(&config, err, sizeof err);
    config_free(&config);
    if (worker == NULL) {
        fprintf(stderr, "etlctl: %s\n", err);
        return EXIT_CONFIG;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {worker,
                        "--index",
                        (char *)name,
                        "-c",
                        (char *)config_path,
                        "--verify",
                        repair ? "--repair" : NULL,
                        NULL};
        execv(worker, argv);
        dprintf(STDERR_FILENO, "etlctl: cannot run %s: %s\n", worker, strerror(errno));
        _exit(EXIT_EXEC_FAILED);
    }
    int wstatus = 0;
    while (pid > 0 && waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
        /* a signal for etlctl: the worker got it too (same group) */
    }
    free(worker);
    if (pid < 0) {
        fprintf(stderr, "etlctl: fork: %s\n", strerror(errno));
        return EXIT_INTERNAL;
    }
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : EXIT_INTERNAL;
}

/* "verify NAME [--repair]": the worker compares; a rebuild it asks for goes
 * to the supervisor (the index still differs until it is done). */
static int do_verify(const char *socket_opt, const char *config_opt, int timeout_s,
                     const char *name, bool repair)
{
    const char *config_path = config_opt != NULL ? config_opt : CONFIG_DEFAULT_PATH;
    int status = run_verify(config_path, name, repair);
    if (status != EXIT_REBUILD_NEEDED || !repair)
        return status;
    char request[CONTROL_LINE_MAX];
    snprintf(request, sizeof request, "reindex %s\n", name);
    struct control_request req;
    char err[CONTROL_LINE_MAX];
    if (control_parse_request(request, &req, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl: %s\n", err);
        return EXIT_USAGE;
    }
    /* The config names the socket unless -s does. */
    status = ask(socket_opt, socket_opt != NULL ? NULL : config_path, timeout_s, &req, request,
                 (struct output){OUTPUT_TEXT, 0, false});
    return status == 0 ? EXIT_DIFFERS : status;
}

/* Parses the command line, checks the request, asks the supervisor. */
int main(int argc, char **argv)
{
    static const struct option options[] = {{"socket", required_argument, NULL, 's'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"timeout", required_argument, NULL, 't'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {"repair", no_argument, NULL, OPT_REPAIR},
                                            {"max-lag", required_argument, NULL, OPT_MAX_LAG},
                                            {"dsn", required_argument, NULL, OPT_DSN},
                                            {"migrations", required_argument, NULL, OPT_MIGRATIONS},
                                            {NULL, 0, NULL, 0}};
    const char *socket_opt = NULL;
    bool repair = false;
    const char *config_opt = NULL;
    int timeout_s = 0;
    bool json = false;
    double max_lag_s = -1; /* not given */
    const char *dsn = NULL;
    const char *migrations = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:c:t:jhV", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 's':
            socket_opt = optarg;
            break;
        case 'c':
            config_opt = optarg;
            break;
        case 't':
            timeout_s = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || timeout_s <= 0) {
                fprintf(stderr, "etlctl: -t needs a whole number of seconds above 0\n");
                return EXIT_USAGE;
            }
            break;
        case 'j':
            json = true;
            break;
        case OPT_REPAIR:
            repair = true;
            break;
        case OPT_MAX_LAG:
            errno = 0;
            max_lag_s = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || end == optarg || !(max_lag_s >= 0)) {
                fprintf(stderr, "etlctl: --max-lag needs a number of seconds, 0 or more\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_DSN:
            dsn = optarg;
            break;
        case OPT_MIGRATIONS:
            migrations = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("etlctl %s\n", ETL_VERSION_TEXT);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc && strcmp(argv[optind], SCHEMA_COMMAND) == 0) {
        if (argc - optind != 2 || json || repair || socket_opt != NULL || max_lag_s >= 0) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return do_schema(argv[optind + 1], config_opt, dsn, migrations, timeout_s);
    }
    if (dsn != NULL || migrations != NULL) {
        fprintf(stderr, "etlctl: --dsn and --migrations go with schema only\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (optind < argc && strcmp(argv[optind], VERIFY_COMMAND) == 0) {
        if (argc - optind != 2 || json) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return do_verify(socket_opt, config_opt, timeout_s, argv[optind + 1], repair);
    }
    if (optind >= argc || argc - optind > 3 || (socket_opt != NULL && config_opt != NULL) ||
        repair) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], CHECK_COMMAND) == 0) {
        if (argc - optind != 1 || json) {
            usage(stderr);
            return EXIT_USAGE;
        }
        struct control_request status_req = {.command = CONTROL_STATUS};
        return ask(socket_opt, config_opt, timeout_s, &status_req, "status\n",
                   (struct output){OUTPUT_CHECK, max_lag_s, false});
    }
    char request[CONTROL_LINE_MAX];
    snprintf(request, sizeof request, "%s%s%s%s%s\n", argv[optind], argc - optind > 1 ? " " : "",
             argc - optind > 1 ? argv[optind + 1] : "", argc - optind > 2 ? " " : "",
             argc - optind > 2 ? argv[optind + 2] : "");
    struct control_request req;
    char err[CONTROL_LINE_MAX];
    if (control_parse_request(request, &req, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl: %s\n", err);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (json && req.command != CONTROL_STATUS && req.command != CONTROL_RELOAD) {
        fprintf(stderr, "etlctl: --json goes with status and reload only\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (max_lag_s >= 0) {
        fprintf(stderr, "etlctl: --max-lag goes with check only\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    enum output_kind kind = req.command == CONTROL_RELOAD ? OUTPUT_RELOAD
                            : json                        ? OUTPUT_JSON
                                                          : OUTPUT_TEXT;
    return ask(socket_opt, config_opt, timeout_s, &req, request, (struct output){kind, 0, json});
}
