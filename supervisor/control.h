/* control.h - the supervisor's end of the control socket (the protocol is
 * common/control_proto.h): a listening unix socket, and the connections of
 * etlctl, each answered without ever blocking the supervisor's loop.
 * stop and restart answer once the worker has stopped (or started again),
 * which stop_timeout_s bounds. */
#ifndef ETL_CONTROL_H
#define ETL_CONTROL_H

#include "control_proto.h"
#include "line_buffer.h"
#include "util.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct supervisor;

/* Connections served at once.  One more takes the place of the oldest
 * that has not sent its request yet; when there is none, it is answered
 * "error busy". */
#define CONTROL_MAX_CLIENTS 16

struct control_client {
    int fd;                     /* -1: a free slot */
    struct line_buffer in;      /* the request line */
    bool have_request;          /* req is read: acting on it or waiting */
    struct control_request req; /* what was asked */
    struct buffer out;          /* the reply, complete once replying */
    size_t sent;                /* bytes of out written */
    bool replying;              /* out is complete: write it, then close */
    int idle_timeout_ms;        /* control_idle_timeout_ms when accepted */
    int64_t deadline_ms;        /* closed then (monotonic); 0 while waiting
                                   for a worker */
};

struct control {
    int listen_fd; /* -1 when closed */
    char *path;    /* the socket file */
    dev_t dev;     /* its identity, so that only our own is removed at exit */
    ino_t ino;
    int idle_timeout_ms; /* control_idle_timeout_ms */
    struct control_client clients[CONTROL_MAX_CLIENTS];
};

/* What control_open found. */
enum control_open_result {
    CONTROL_OPENED,      /* listening */
    CONTROL_IN_USE,      /* another supervisor answers on path */
    CONTROL_OPEN_FAILED, /* err says why */
};

/* Listens on path with mode (0600/0660), removing a stale socket file
 * first; connections idle for idle_timeout_ms are closed.  err gets the
 * reason of a failure. */
enum control_open_result control_open(struct control *ctl, const char *path, int mode,
                                      int idle_timeout_ms, char *err, size_t err_size);
/* Sets the socket file's mode (after a reload). */
void control_set_mode(struct control *ctl, int mode);
/* Closes every connection and the socket, and removes the socket file if
 * it is still ours. */
void control_close(struct control *ctl);

/* Adds the descriptors to poll (listening socket and connections) to fds,
 * returning how many; fds must have room for 1 + CONTROL_MAX_CLIENTS. */
size_t control_poll_fds(const struct control *ctl, struct pollfd *fds);
/* Acts on the poll results of the descriptors control_poll_fds added. */
void control_handle(struct supervisor *sup, const struct pollfd *fds, size_t count);
/* Closes the connections idle past their deadline: one that has not sent
 * its whole request, or does not read its reply, within idle_timeout_ms.
 * Returns the ms until the next deadline, or -1 when none. */
int64_t control_expire(struct control *ctl, int64_t now);
/* Answers the connections waiting for a worker that is no longer
 * stopping; call after anything that may change a worker's state. */
void control_complete_waiting(struct supervisor *sup);

#endif
