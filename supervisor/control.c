/* control.c - see control.h. */
#include "control.h"

#include "log.h"
#include "reload.h"
#include "slot_fsm.h"
#include "status.h"
#include "supervisor.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Mode of the socket's directory when the supervisor has to create it. */
#define CONTROL_DIR_MODE 0755
/* Bytes read from a connection at a time. */
#define CONTROL_READ_CHUNK 1024

/* Fills a unix socket address; false when path does not fit. */
static bool socket_address(const char *path, struct sockaddr_un *addr)
{
    *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof addr->sun_path)
        return false;
    memcpy(addr->sun_path, path, len + 1);
    return true;
}

/* True when something accepts connections on addr (a live supervisor); a
 * full backlog counts as alive. */
static bool someone_listens(const struct sockaddr_un *addr)
{
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0)
        return false;
    int rc = connect(probe, (const struct sockaddr *)addr, sizeof *addr);
    int saved = errno;
    close(probe);
    return rc == 0 || saved == EAGAIN || saved == EINPROGRESS;
}

/* Removes a stale socket file; refuses anything else at path. */
static enum control_open_result clear_path(const char *path, const struct sockaddr_un *addr,
                                           char *err, size_t err_size)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return CONTROL_OPENED;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_size, "%s exists and is not a socket", path);
        return CONTROL_OPEN_FAILED;
    }
    if (someone_listens(addr)) {
        snprintf(err, err_size, "another supervisor answers on %s", path);
        return CONTROL_IN_USE;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        snprintf(err, err_size, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return CONTROL_OPEN_FAILED;
    }
    log_event(LOG_WARN, "removed a stale control socket", "path", path);
    return CONTROL_OPENED;
}

/* Creates the socket's directory when it is missing (one level). */
static void make_parent_dir(const char *path)
{
    char *copy = xstrdup(path);
    if (mkdir(dirname(copy), CONTROL_DIR_MODE) < 0 && errno != EEXIST)
        log_event(LOG_WARN, "cannot create the control socket's directory", "error",
                  strerror(errno));
    free(copy);
}

enum control_open_result control_open(struct control *ctl, const char *path, int mode,
                                      int idle_timeout_ms, char *err, size_t err_size)
{
    *ctl = (struct control){.listen_fd = -1, .idle_timeout_ms = idle_timeout_ms};
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        ctl->clients[i].fd = -1;
    struct sockaddr_un addr;
    if (!socket_address(path, &addr)) {
        snprintf(err, err_size, "control_socket %s is longer than %zu bytes", path,
                 sizeof addr.sun_path - 1);
        return CONTROL_OPEN_FAILED;
    }
    enum control_open_result result = clear_path(path, &addr, err, err_size);
    if (result != CONTROL_OPENED)
        return result;
    make_parent_dir(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return CONTROL_OPEN_FAILED;
    }
    /* The umask makes the file private from the start; chmod then sets
     * exactly the configured mode. */
    mode_t old_mask = umask((mode_t)(~mode & 0777));
    int rc = bind(fd, (const struct sockaddr *)&addr, sizeof addr);
    int saved = errno;
    umask(old_mask);
    struct stat st;
    if (rc < 0 || chmod(path, (mode_t)mode) < 0 || listen(fd, CONTROL_MAX_CLIENTS) < 0 ||
        stat(path, &st) < 0) {
        snprintf(err, err_size, "cannot listen on %s: %s", path, strerror(rc < 0 ? saved : errno));
        close(fd);
        return CONTROL_OPEN_FAILED;
    }
    ctl->listen_fd = fd;
    ctl->path = xstrdup(path);
    ctl->dev = st.st_dev;
    ctl->ino = st.st_ino;
    return CONTROL_OPENED;
}

void control_set_mode(struct control *ctl, int mode)
{
    if (ctl->path != NULL && chmod(ctl->path, (mode_t)mode) < 0)
        log_event(LOG_ERROR, "cannot change the control socket's mode", "error", strerror(errno));
}

/* Frees a connection's slot. */
static void client_close(struct control_client *client)
{
    close(client->fd);
    line_buffer_free(&client->in);
    buffer_free(&client->out);
    *client = (struct control_client){.fd = -1};
}

/* Writes what the socket takes of the reply; closes once all is sent or
 * the peer is gone. */
static void client_flush(struct control_client *client)
{
    while (client->sent < client->out.len) {
        ssize_t n = send(client->fd, client->out.data + client->sent,
                         client->out.len - client->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            client_close(client);
            return;
        }
        client->sent += (size_t)n;
    }
    client_close(client);
}

/* The reply is complete: from now on the client has idle_timeout_ms to
 * read it. */
static void begin_reply(struct control_client *client)
{
    client->replying = true;
    client->deadline_ms = monotonic_ms() + client->idle_timeout_ms;
}

/* Ends the reply with an error line.  (Replies are only composed here;
 * the callers at the top of the loop send them, since sending may close
 * the connection.) */
static void reply_error(struct control_client *client, enum control_error code, const char *text)
{
    control_reply_error(&client->out, code, text);
    begin_reply(client);
}

/* Ends the reply of a worker command: its status line, then ok. */
static void reply_worker(struct control_client *client, const struct child *child)
{
    char line[CONTROL_LINE_MAX];
    child_status_line(child, monotonic_ms(), line, sizeof line);
    control_reply_data(&client->out, line);
    control_reply_ok(&client->out, child_state_name(child->state));
    begin_reply(client);
}

/* "status [NAME]". */
static void do_status(struct supervisor *sup, struct control_client *client)
{
    char line[CONTROL_LINE_MAX];
    int64_t now = monotonic_ms();
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child *child = sup->children[i];
        if (client->req.name[0] != '\0' && strcmp(child->name, client->req.name) != 0)
            continue;
        child_status_line(child, now, line, sizeof line);
        control_reply_data(&client->out, line);
    }
    control_reply_ok(&client->out, NULL);
    begin_reply(client);
}

/* "reindex NAME": SIGUSR1 to the worker's process, which starts a rebuild
 * (the worker's own business).  Only a running worker has a process to
 * tell; a stopped or backing-off one would lose the request. */
static void do_reindex(struct control_client *client, const struct child *child)
{
    if (child->state != CHILD_RUNNING || child->pid <= 0) {
        char text[CONTROL_NAME_MAX + 64];
        snprintf(text, sizeof text, "worker \"%s\" is not running (%s)", child->name,
                 child_state_name(child->state));
        reply_error(client, CONTROL_ERR_NOT_RUNNING, text);
        return;
    }
    if (kill(child->pid, SIGUSR1) < 0) {
        reply_error(client, CONTROL_ERR_NOT_RUNNING, strerror(errno));
        return;
    }
    struct log_line *line = log_begin(LOG_INFO, "rebuild requested");
    log_str(line, "child", child->name);
    log_int(line, "child_pid", child->pid);
    log_end(line);
    control_reply_ok(&client->out, "rebuild requested");
    begin_reply(client);
}

/* Sends every line of text (each ending in '\n') as a data line. */
static void reply_lines(struct control_client *client, const struct buffer *text)
{
    size_t at = 0;
    while (at < text->len) {
        const char *line = text->data + at;
        const char *end = memchr(line, '\n', text->len - at);
        size_t len = end != NULL ? (size_t)(end - line) : text->len - at;
        char *copy = xasprintf("%.*s", (int)len, line);
        control_reply_data(&client->out, copy);
        free(copy);
        at += len + 1;
    }
}

/* "reload": the same as SIGHUP, with what changed (reload.h) as data
 * lines; a refused file is "error config" after its errors. */
static void do_reload(struct supervisor *sup, struct control_client *client)
{
    struct buffer report = {0};
    bool applied = supervisor_reload(sup, &report);
    reply_lines(client, &report);
    if (applied)
        control_reply_ok(&client->out,
                         report.len == 0 ? "config reloaded: nothing changed" : "config reloaded");
    else
        control_reply_error(&client->out, CONTROL_ERR_CONFIG,
                            "the new configuration was refused; the old one stays");
    buffer_free(&report);
    begin_reply(client);
}

/* The name of log-level that means the supervisor itself, and the one
 * that means it and every worker. */
#define LOG_LEVEL_SUPERVISOR "supervisor"
#define LOG_LEVEL_ALL        "all"

/* Sets child's level and says so in a data line: "NAME LEVEL", with
 * "pending" when its process takes it only at its first status event. */
static void set_child_level(struct control_client *client, struct child *child,
                            enum log_level level)
{
    bool now = child_set_log_level(child, level);
    char line[CONTROL_NAME_MAX + 64];
    snprintf(line, sizeof line, "%s %s%s", child->name, log_level_name(level),
             now ? "" : " pending");
    control_reply_data(&client->out, line);
}

/* "log-level NAME LEVEL": the level of a worker, of the supervisor, or of
 * all; the file is not touched, and the next reload sets the file's again. */
static void do_log_level(struct supervisor *sup, struct control_client *client)
{
    const struct control_request *req = &client->req;
    enum log_level level;
    if (!log_level_parse(req->level, &level)) {
        char text[CONTROL_NAME_MAX + 64];
        snprintf(text, sizeof text, "\"%s\" is not one of debug, info, warn, error", req->level);
        reply_error(client, CONTROL_ERR_USAGE, text);
        return;
    }
    bool all = strcmp(req->name, LOG_LEVEL_ALL) == 0;
    struct child *child = NULL;
    if (!all && strcmp(req->name, LOG_LEVEL_SUPERVISOR) != 0 &&
        (child = child_find(sup, req->name)) == NULL) {
        char text[CONTROL_NAME_MAX + 32];
        snprintf(text, sizeof text, "no worker named \"%s\"", req->name);
        reply_error(client, CONTROL_ERR_UNKNOWN_WORKER, text);
        return;
    }
    if (child != NULL) {
        set_child_level(client, child, level);
    } else {
        log_set_level(level);
        log_event(LOG_INFO, "supervisor log level set", "level", log_level_name(level));
        char line[CONTROL_NAME_MAX + 16];
        snprintf(line, sizeof line, "%s %s", LOG_LEVEL_SUPERVISOR, log_level_name(level));
        control_reply_data(&client->out, line);
    }
    for (size_t i = 0; all && i < sup->children_count; i++)
        set_child_level(client, sup->children[i], level);
    control_reply_ok(&client->out, "log level set");
    begin_reply(client);
}

/* Acts on a parsed request; the reply now, or once the worker is no
 * longer stopping (control_complete_waiting). */
static void execute(struct supervisor *sup, struct control_client *client)
{
    const struct control_request *req = &client->req;
    /* status is what monitoring polls: not worth a line each time. */
    enum log_level level = req->command == CONTROL_STATUS ? LOG_DEBUG : LOG_INFO;
    struct log_line *line = log_begin(level, "control command");
    log_str(line, "command", control_command_name(req->command));
    if (req->name[0] != '\0')
        log_str(line, "child", req->name);
    log_end(line);
    if (req->command == CONTROL_REOPEN_LOGS) {
        children_reopen_logs(sup);
        control_reply_ok(&client->out, "logs reopened");
        begin_reply(client);
        return;
    }
    if (req->command == CONTROL_RELOAD || req->command == CONTROL_LOG_LEVEL) {
        if (sup->shutting_down)
            reply_error(client, CONTROL_ERR_UNAVAILABLE, "the supervisor is shutting down");
        else if (req->command == CONTROL_RELOAD)
            do_reload(sup, client);
        else
            do_log_level(sup, client);
        return;
    }
    struct child *child = req->name[0] != '\0' ? child_find(sup, req->name) : NULL;
    if (req->name[0] != '\0' && child == NULL) {
        char text[CONTROL_NAME_MAX + 32];
        snprintf(text, sizeof text, "no worker named \"%s\"", req->name);
        reply_error(client, CONTROL_ERR_UNKNOWN_WORKER, text);
        return;
    }
    if (req->command == CONTROL_STATUS) {
        do_status(sup, client);
        return;
    }
    if (child == NULL) { /* the parser makes the other commands name a worker */
        reply_error(client, CONTROL_ERR_USAGE, "a worker name is needed");
        return;
    }
    if (sup->shutting_down) {
        reply_error(client, CONTROL_ERR_UNAVAILABLE, "the supervisor is shutting down");
        return;
    }
    if (req->command == CONTROL_REINDEX) {
        do_reindex(client, child);
        return;
    }
    if (req->command == CONTROL_START)
        slot_event(sup, child, SLOT_START);
    else if (req->command == CONTROL_STOP)
        slot_event(sup, child, SLOT_STOP);
    else
        slot_event(sup, child, SLOT_RESTART);
    if (!slot_stopping(child->state))
        reply_worker(client, child);
}

/* Context of on_request. */
struct request_ctx {
    struct supervisor *sup;
    struct control_client *client;
};

/* line_buffer handler: the first line is the request; more are ignored. */
static void on_request(void *ctx_ptr, const char *text, size_t len, bool truncated)
{
    (void)len;
    struct request_ctx *ctx = ctx_ptr;
    struct control_client *client = ctx->client;
    if (client->have_request)
        return;
    client->have_request = true;
    client->deadline_ms = 0; /* acting on it: stop waits for the worker */
    char err[CONTROL_LINE_MAX];
    if (truncated) {
        reply_error(client, CONTROL_ERR_USAGE, "request line too long");
        return;
    }
    if (control_parse_request(text, &client->req, err, sizeof err) < 0) {
        reply_error(client, CONTROL_ERR_USAGE, err);
        return;
    }
    execute(ctx->sup, client);
}

/* Reads the request; EOF before it closes the connection. */
static void client_read(struct supervisor *sup, struct control_client *client)
{
    char chunk[CONTROL_READ_CHUNK];
    ssize_t n = read(client->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        client_close(client);
        return;
    }
    struct request_ctx ctx = {sup, client};
    line_buffer_feed(&client->in, chunk, (size_t)n, on_request, &ctx);
    if (client->replying)
        client_flush(client);
}

/* A slot for a new connection: a free one, else that of the oldest
 * connection still to send its request (closed), else NULL. */
static struct control_client *free_slot(struct control *ctl)
{
    struct control_client *oldest = NULL;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_client *client = &ctl->clients[i];
        if (client->fd < 0)
            return client;
        if (!client->have_request && (oldest == NULL || client->deadline_ms < oldest->deadline_ms))
            oldest = client;
    }
    if (oldest != NULL) {
        log_event(LOG_DEBUG, "control connection closed", "reason", "a newer one needs its place");
        client_close(oldest);
    }
    return oldest;
}

/* Takes every pending connection; one beyond the limit gets "busy". */
static void accept_clients(struct control *ctl)
{
    for (;;) {
        int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0)
            return;
        struct control_client *slot = free_slot(ctl);
        if (slot == NULL) {
            struct buffer out = {0};
            control_reply_error(&out, CONTROL_ERR_BUSY, "too many control connections");
            (void)send(fd, out.data, out.len, MSG_NOSIGNAL);
            buffer_free(&out);
            close(fd);
            continue;
        }
        *slot = (struct control_client){.fd = fd,
                                        .idle_timeout_ms = ctl->idle_timeout_ms,
                                        .deadline_ms = monotonic_ms() + ctl->idle_timeout_ms};
        line_buffer_init(&slot->in, CONTROL_LINE_MAX - 1);
    }
}

/* The listening socket first, then every open connection. */
size_t control_poll_fds(const struct control *ctl, struct pollfd *fds)
{
    size_t n = 0;
    if (ctl->listen_fd >= 0)
        fds[n++] = (struct pollfd){.fd = ctl->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        const struct control_client *client = &ctl->clients[i];
        if (client->fd < 0)
            continue;
        int events = client->replying ? POLLOUT : client->have_request ? 0 : POLLIN;
        fds[n++] = (struct pollfd){.fd = client->fd, .events = (short)events};
    }
    return n;
}

/* Connections first (accepting may reuse a descriptor number just
 * closed), then the listening socket. */
void control_handle(struct supervisor *sup, const struct pollfd *fds, size_t count)
{
    struct control *ctl = &sup->control;
    bool accept_now = false;
    for (size_t i = 0; i < count; i++) {
        if (fds[i].revents == 0)
            continue;
        if (fds[i].fd == ctl->listen_fd) {
            accept_now = true;
            continue;
        }
        for (size_t c = 0; c < CONTROL_MAX_CLIENTS; c++) {
            struct control_client *client = &ctl->clients[c];
            if (client->fd != fds[i].fd)
                continue;
            if (client->replying)
                client_flush(client);
            else if (!client->have_request)
                client_read(sup, client);
            else
                client_close(client); /* gone while waiting */
            break;
        }
    }
    if (accept_now)
        accept_clients(ctl);
}

int64_t control_expire(struct control *ctl, int64_t now)
{
    int64_t next = -1;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_client *client = &ctl->clients[i];
        if (client->fd < 0 || client->deadline_ms == 0)
            continue;
        if (client->deadline_ms <= now) {
            log_event(LOG_DEBUG, "control connection closed", "reason",
                      client->replying ? "reply not read in time" : "no request in time");
            client_close(client);
            continue;
        }
        if (next < 0 || client->deadline_ms - now < next)
            next = client->deadline_ms - now;
    }
    return next;
}

void control_complete_waiting(struct supervisor *sup)
{
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        struct control_client *client = &sup->control.clients[i];
        if (client->fd < 0 || !client->have_request || client->replying)
            continue;
        const struct child *child = child_find(sup, client->req.name);
        if (child == NULL)
            reply_error(client, CONTROL_ERR_UNKNOWN_WORKER, "the worker was removed by a reload");
        else if (slot_stopping(child->state))
            continue;
        else if (sup->shutting_down && client->req.command != CONTROL_STOP)
            reply_error(client, CONTROL_ERR_UNAVAILABLE, "the supervisor is shutting down");
        else
            reply_worker(client, child);
        client_flush(client);
    }
}

/* Closes everything; removes the socket file when it is still ours. */
void control_close(struct control *ctl)
{
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd >= 0)
            client_close(&ctl->clients[i]);
    }
    if (ctl->listen_fd >= 0)
        close(ctl->listen_fd);
    struct stat st;
    if (ctl->path != NULL && lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
        st.st_ino == ctl->ino)
        unlink(ctl->path);
    free(ctl->path);
    ctl->path = NULL;
    ctl->listen_fd = -1;
}
