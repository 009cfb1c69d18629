/* output.c - see output.h. */
#include "output.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for "/proc/self/fd/" and a descriptor number. */
#define PROC_FD_PATH_MAX 64

/* Regular files never wait for a reader; sockets take MSG_DONTWAIT; the
 * rest gets an O_NONBLOCK description of its own, else (no /proc, a FIFO
 * whose reader is gone) O_NONBLOCK on the shared one, undone at close. */
void output_open(struct output *out, int fd, size_t limit)
{
    *out = (struct output){.fd = fd, .restore_flags = -1, .limit = limit};
    struct stat st;
    bool known = fstat(fd, &st) == 0;
    if (known && S_ISREG(st.st_mode))
        return;
    if (known && S_ISSOCK(st.st_mode)) {
        out->is_socket = true;
        return;
    }
    char path[PROC_FD_PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (own >= 0) {
        out->fd = own;
        out->own_fd = true;
        return;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
        out->restore_flags = flags;
}

/* Takes effect for the next line. */
void output_set_limit(struct output *out, size_t limit)
{
    out->limit = limit;
}

/* One write or send that never waits. */
static ssize_t write_now(const struct output *out, const char *data, size_t len)
{
    ssize_t n;
    do {
        n = out->is_socket ? send(out->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                           : write(out->fd, data, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* Bytes accepted and not yet written. */
static size_t waiting_bytes(const struct output *out)
{
    return out->wait.len - out->head;
}

/* Writes the waiting bytes until the descriptor is full.  A reader that is
 * gone (EPIPE) or any other error: what waits can never be written and is
 * let go. */
static void write_waiting(struct output *out)
{
    while (waiting_bytes(out) > 0) {
        ssize_t n = write_now(out, out->wait.data + out->head, waiting_bytes(out));
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            out->head = out->wait.len;
            break;
        }
        out->head += (size_t)n;
    }
    if (waiting_bytes(out) == 0) {
        buffer_reset(&out->wait);
        out->head = 0;
    } else if (out->head > out->wait.len / 2) {
        /* Written bytes are more than half: move the rest to the front. */
        memmove(out->wait.data, out->wait.data + out->head, waiting_bytes(out));
        out->wait.len -= out->head;
        out->head = 0;
    }
}

/* Lines are dropped from the first that does not fit until all that waits
 * has been written, so the count is logged where the gap is. */
void output_line(struct output *out, const char *line, size_t len)
{
    if (out->dropped > 0 || waiting_bytes(out) + len > out->limit) {
        out->dropped++;
        out->dropped_total++;
        return;
    }
    if (waiting_bytes(out) == 0) {
        ssize_t n = write_now(out, line, len);
        if (n < 0 && errno != EAGAIN)
            return; /* no reader: nothing can be written */
        size_t done = n > 0 ? (size_t)n : 0;
        if (done < len)
            buffer_append(&out->wait, line + done, len - done);
        return;
    }
    buffer_append(&out->wait, line, len);
}

/* output_line with the log_sink signature. */
void output_sink(void *ctx, const char *line, size_t len)
{
    output_line(ctx, line, len);
}

/* Anything left to write, or a count to log? */
bool output_waiting(const struct output *out)
{
    return out->fd >= 0 && (waiting_bytes(out) > 0 || out->dropped > 0);
}

/* The count is logged only once everything before the gap is out: the
 * dropping stops first, so that the count line itself is accepted. */
void output_flush(struct output *out)
{
    write_waiting(out);
    if (out->dropped == 0 || waiting_bytes(out) > 0)
        return;
    long long count = out->dropped;
    out->dropped = 0;
    struct log_line *line = log_begin(LOG_WARN, "log lines dropped");
    log_int(line, "count", count);
    log_end(line);
}

/* Bounded by drain_ms however slow the reader. */
void output_close(struct output *out, int64_t drain_ms)
{
    int64_t deadline = monotonic_ms() + drain_ms;
    output_flush(out);
    for (int64_t now = monotonic_ms(); output_waiting(out) && now < deadline;
         now = monotonic_ms()) {
        struct pollfd pfd = {.fd = out->fd, .events = POLLOUT};
        if (poll(&pfd, 1, (int)(deadline - now)) > 0)
            output_flush(out);
    }
    if (out->own_fd)
        close(out->fd);
    if (out->restore_flags >= 0)
        fcntl(out->fd, F_SETFL, out->restore_flags);
    buffer_free(&out->wait);
    out->fd = -1;
}
