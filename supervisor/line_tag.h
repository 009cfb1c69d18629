/* line_tag.h - turns a line a worker wrote to its stderr into the line the
 * supervisor writes to stdout and the worker's log file: the worker's own
 * logfmt lines (which carry worker=NAME) pass unchanged; anything else (a
 * plain config error, a sanitizer report, a stray printf) is wrapped as
 *   ts=... level=error worker=NAME pid=PID msg=output line="..."
 * so that every output line is logfmt and says which worker it is from. */
#ifndef ETL_LINE_TAG_H
#define ETL_LINE_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when line is a logfmt line of the worker called name (starts with
 * ts= and has the field worker=name). */
bool line_is_workers_own(const char *line, const char *name);

/* Writes the output line, '\n' included, into out (cap bytes, at least
 * 256) and returns its length.  truncated says the line was cut before it
 * got here: it is then wrapped, with truncated=true, even when it was the
 * worker's own.  A wrapped text too long for cap is cut (at a character
 * boundary), never its closing quote.  *own, when not NULL, tells whether
 * the line passed unchanged. */
size_t line_tag(char *out, size_t cap, const char *name, long pid, int64_t wall_ms,
                const char *line, bool truncated, bool *own);

#endif
