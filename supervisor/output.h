/* output.h - the supervisor's stdout, where every line it writes goes (its
 * own and its workers'), without ever blocking its loop: a reader that
 * stops reading (a stuck `docker logs`, `etl-supervisor | sleep 30`) must
 * not stop the control socket, the signals or the draining of the workers'
 * pipes.
 *
 * Lines are written at once while the reader keeps up; what it does not
 * take waits in a buffer of at most output_buffer_bytes, written when poll
 * says the descriptor is writable.  A line that does not fit is dropped
 * whole (never half a line) and counted, and so is every line after it
 * until the buffer has drained; then one line says how many were dropped:
 *   ts=... level=warn worker=supervisor pid=... msg="log lines dropped" count=N
 * and the total since the start is the metric etl_log_lines_dropped_total. */
#ifndef ETL_OUTPUT_H
#define ETL_OUTPUT_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct output {
    int fd;                  /* where lines go, never blocking; -1 when closed */
    bool own_fd;             /* fd is our own open of the target: close it */
    bool is_socket;          /* written with send(MSG_DONTWAIT) */
    int restore_flags;       /* the target's file status flags to put back, or -1 */
    struct buffer wait;      /* whole lines accepted, not yet written */
    size_t head;             /* bytes of wait already written */
    size_t limit;            /* output_buffer_bytes */
    long long dropped;       /* lines dropped since the last count was logged */
    long long dropped_total; /* lines dropped since the start: never reset (metrics) */
};

/* Sets out up to write to fd (the supervisor's stdout) without blocking and
 * to buffer at most limit bytes.  A pipe, FIFO or terminal is opened again
 * through /proc/self/fd, so that O_NONBLOCK is set on an open file
 * description of our own and not on one shared with, say, the shell. */
void output_open(struct output *out, int fd, size_t limit);
/* Takes a new output_buffer_bytes (after a reload); lines already waiting
 * stay. */
void output_set_limit(struct output *out, size_t limit);
/* Writes one whole line ('\n' included), or queues it, or drops it. */
void output_line(struct output *out, const char *line, size_t len);
/* A log_sink (log.h) for output_line; ctx is the struct output. */
void output_sink(void *ctx, const char *line, size_t len);
/* True when lines are waiting (or a count): poll fd for POLLOUT. */
bool output_waiting(const struct output *out);
/* Writes what fd takes now (call when poll says it is writable); once all
 * has been written after drops, logs their count. */
void output_flush(struct output *out);
/* At exit: writes what is waiting for at most drain_ms (a reader that has
 * stalled does not hold the exit up longer), then closes. */
void output_close(struct output *out, int64_t drain_ms);

#endif
