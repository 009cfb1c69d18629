/* line_buffer.h - splits a byte stream (a pipe, a socket) into whole lines.
 *
 * Bytes arrive in arbitrary pieces; a line is handed on only once its '\n'
 * has arrived, so a line is never split or mixed with another.  A line
 * longer than the buffer's limit is handed on cut at the limit (marked
 * truncated) and the rest of it, up to its '\n', is dropped.  Used by the
 * supervisor for the workers' output and the control requests, and by
 * etlctl for the replies. */
#ifndef ETL_LINE_BUFFER_H
#define ETL_LINE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

/* Called once per line: text is NUL-terminated, without its '\n' (len
 * bytes); truncated when the line was longer than the limit. */
typedef void (*line_handler)(void *ctx, const char *text, size_t len, bool truncated);

struct line_buffer {
    char *data;      /* max_line + 1 bytes */
    size_t len;      /* bytes of the current, unfinished line */
    size_t max_line; /* longest line handed on whole */
    bool discarding; /* dropping the tail of an over-long line */
};

/* Sets up a buffer for lines of at most max_line bytes (max_line > 0). */
void line_buffer_init(struct line_buffer *lb, size_t max_line);
void line_buffer_free(struct line_buffer *lb);

/* Takes n more bytes and calls handler for every line they complete. */
void line_buffer_feed(struct line_buffer *lb, const char *data, size_t n, line_handler handler,
                      void *ctx);

/* At end of stream: hands on an unfinished last line (if any) as a line. */
void line_buffer_finish(struct line_buffer *lb, line_handler handler, void *ctx);

/* True when part of a line is waiting for its end. */
bool line_buffer_pending(const struct line_buffer *lb);

#endif
