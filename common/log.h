/* log.h - one logfmt line per event, to stderr.
 *
 *   ts=2026-11-25T09:00:00.123Z level=info worker=movies pid=42 msg=batch rows=3
 *
 * A line is built with log_begin(), log_str()/log_int()/..., log_end(), and
 * written with a single write(2) of at most LOG_LINE_MAX bytes, so lines from
 * several processes sharing a pipe are never split or interleaved (POSIX
 * makes pipe writes of up to PIPE_BUF bytes atomic). */
#ifndef ETL_LOG_H
#define ETL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* PIPE_BUF on Linux: the largest write that a pipe keeps whole. */
#define LOG_LINE_MAX 4096

struct log_line;

/* Sets the name logged as worker= on every line (copied). */
void log_init(const char *worker_name);
/* Lines below this level are dropped.  Async-signal-safe: the worker
 * calls it from its LOG_LEVEL_SIGNAL handler (log_signal.h). */
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; false when it is none of them. */
bool log_level_parse(const char *text, enum log_level *level);
const char *log_level_name(enum log_level level);
/* Redirects the output to fd (default 2); used by tests. */
void log_set_fd(int fd);
/* Where finished lines go instead of a write(2) to the fd: the supervisor
 * queues them (supervisor/output.h) so that logging never blocks it.  A
 * sink gets one whole line, '\n' included; it must not log.  NULL goes
 * back to writing to the fd. */
typedef void (*log_sink)(void *ctx, const char *line, size_t len);
void log_set_sink(log_sink sink, void *ctx);

/* Starts a line; returns NULL when the level is filtered out, and every
 * log_* call below accepts NULL and does nothing. */
struct log_line *log_begin(enum log_level level, const char *msg);
/* Adds key=value, quoting the value when it needs it. */
void log_str(struct log_line *line, const char *key, const char *value);
void log_int(struct log_line *line, const char *key, long long value);
void log_double(struct log_line *line, const char *key, double value);
/* Writes the line and resets it. */
void log_end(struct log_line *line);

/* Writes the ts= value of a line logged at wall-clock time wall_ms
 * ("2026-11-25T09:00:00.123Z") into buf; the supervisor uses it for the
 * lines it writes on a worker's behalf. */
void log_format_ts(char *buf, size_t size, int64_t wall_ms);

/* One-call shorthands: a line with msg and, when key is not NULL, one field. */
void log_event(enum log_level level, const char *msg, const char *key, const char *value);

/* Appends value to buf (of size cap, holding len bytes) in logfmt form:
 * bare when it is a plain token, else double-quoted with \" \\ \n \t
 * escaped.  Returns the new length (truncated at cap - 1).  Exposed for
 * tests and for the supervisor, which re-tags worker lines. */
size_t logfmt_append_value(char *buf, size_t len, size_t cap, const char *value);

#endif
