/* etlctl: asks a running etl-supervisor over its control socket.
 *
 *   etlctl [-c FILE | -s SOCKET] [-t SECONDS] COMMAND [NAME]
 *
 * Sends one request line (common/control_proto.h), prints the reply's data
 * lines on stdout and turns its final line into the exit status. */
#include "config.h"
#include "control_proto.h"
#include "exit_status.h"
#include "line_buffer.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The environment variable naming the socket when neither -s nor -c is
 * given (the one etc/etl.ini reads too). */
#define SOCKET_ENV "ETL_CONTROL_SOCKET"

/* Prints the usage text. */
static void usage(FILE *out)
{
    fprintf(out, "usage: etlctl [-c FILE | -s SOCKET] [-t SECONDS] COMMAND [NAME]\n"
                 "Asks the running etl-supervisor.\n\n"
                 "Commands:\n"
                 "  status [NAME]   one logfmt line per worker (see docs/operations.md)\n"
                 "  restart NAME    stop the worker (if running) and start it again\n"
                 "  stop NAME       stop the worker; it stays stopped until start\n"
                 "  start NAME      start a stopped (or backing-off) worker now\n"
                 "  reopen-logs     reopen log_dir/NAME.log (after logrotate moved them)\n\n"
                 "  -s, --socket SOCKET  the control socket\n"
                 "  -c, --config FILE    read control_socket from FILE; without -s and -c:\n"
                 "                       $" SOCKET_ENV ", else " CONFIG_DEFAULT_PATH "\n"
                 "  -t, --timeout SECONDS  give up after SECONDS (default: wait; stop and\n"
                 "                       restart take up to stop_timeout_s)\n"
                 "  -h, --help           this text\n"
                 "  -V, --version        version\n\n"
                 "Exit status: 0 done, 64 usage, 67 unknown worker name, 69 the supervisor\n"
                 "is not running, 75 timed out / busy / shutting down, 76 unreadable reply,\n"
                 "77 permission denied on the socket, 78 configuration.\n");
}

/* Where to connect: -s, else -c's control_socket, else the environment,
 * else the default config's.  NULL (with the message printed) on a config
 * error. */
static char *socket_path(const char *socket_opt, const char *config_opt)
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
    config_free(&config);
    return found;
}

/* Connects to path; prints why not and returns -1 with *status set. */
static int connect_to(const char *path, int *status)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path) {
        fprintf(stderr, "etlctl: socket path too long: %s\n", path);
        *status = EXIT_USAGE;
        return -1;
    }
    memcpy(addr.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "etlctl: socket: %s\n", strerror(errno));
        *status = EXIT_OS_ERROR;
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) == 0)
        return fd;
    int saved = errno;
    close(fd);
    if (saved == EACCES || saved == EPERM) {
        fprintf(stderr, "etlctl: not allowed to use %s: %s\n", path, strerror(saved));
        *status = EXIT_NO_PERMISSION;
    } else {
        fprintf(stderr, "etlctl: the supervisor is not running (%s: %s)\n", path, strerror(saved));
        *status = EXIT_NOT_RUNNING;
    }
    return -1;
}

/* What the reply said so far. */
struct reply_state {
    bool done;      /* the final line came */
    int status;     /* exit status it means */
    int data_lines; /* data lines printed */
};

/* The exit status of an error reply. */
static int error_status(enum control_error code)
{
    switch (code) {
    case CONTROL_ERR_USAGE:
        return EXIT_USAGE;
    case CONTROL_ERR_UNKNOWN_WORKER:
        return EXIT_UNKNOWN_WORKER;
    case CONTROL_ERR_UNAVAILABLE:
    case CONTROL_ERR_BUSY:
        return EXIT_TRY_LATER;
    case CONTROL_ERR_UNKNOWN_CODE:
        break;
    }
    return EXIT_BAD_REPLY;
}

/* line_buffer handler: prints data, reads the final line. */
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
        printf("%s\n", reply.text);
        state->data_lines++;
        return;
    case CONTROL_REPLY_OK:
        if (state->data_lines == 0 && reply.text[0] != '\0')
            printf("%s\n", reply.text);
        state->status = 0;
        break;
    case CONTROL_REPLY_ERROR:
        fprintf(stderr, "etlctl: %s\n", reply.text);
        state->status = error_status(reply.error);
        break;
    }
    state->done = true;
}

/* Writes the whole request. */
static int send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends request, reads the reply until its final line; returns the exit
 * status. */
static int converse(int fd, const char *request, int timeout_s)
{
    if (send_all(fd, request, strlen(request)) < 0) {
        fprintf(stderr, "etlctl: the supervisor closed the connection: %s\n", strerror(errno));
        return EXIT_NOT_RUNNING;
    }
    struct line_buffer lines;
    line_buffer_init(&lines, CONTROL_LINE_MAX - 1);
    struct reply_state state = {0};
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (!state.done) {
        int ready = poll(&pfd, 1, timeout_s > 0 ? timeout_s * 1000 : -1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            fprintf(stderr, "etlctl: no answer within %d s\n", timeout_s);
            state.status = EXIT_TRY_LATER;
            break;
        }
        char chunk[CONTROL_LINE_MAX];
        ssize_t n = ready > 0 ? read(fd, chunk, sizeof chunk) : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "etlctl: the supervisor closed the connection without an answer\n");
            state.status = EXIT_NOT_RUNNING;
            break;
        }
        line_buffer_feed(&lines, chunk, (size_t)n, on_reply_line, &state);
    }
    line_buffer_free(&lines);
    return state.status;
}

/* Parses the command line, checks the request, asks the supervisor. */
int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"socket", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
    const char *socket_opt = NULL;
    const char *config_opt = NULL;
    int timeout_s = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:c:t:hV", options, NULL)) != -1) {
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
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("etlctl %s\n", ETL_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc || argc - optind > 2 || (socket_opt != NULL && config_opt != NULL)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char request[CONTROL_LINE_MAX];
    snprintf(request, sizeof request, "%s%s%s\n", argv[optind], argc - optind > 1 ? " " : "",
             argc - optind > 1 ? argv[optind + 1] : "");
    struct control_request req;
    char err[CONTROL_LINE_MAX];
    if (control_parse_request(request, &req, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl: %s\n", err);
        usage(stderr);
        return EXIT_USAGE;
    }
    char *path = socket_path(socket_opt, config_opt);
    if (path == NULL)
        return EXIT_CONFIG;
    int status;
    int fd = connect_to(path, &status);
    free(path);
    if (fd < 0)
        return status;
    status = converse(fd, request, timeout_s);
    close(fd);
    return status;
}
