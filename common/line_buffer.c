/* line_buffer.c - see line_buffer.h. */
#include "line_buffer.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

void line_buffer_init(struct line_buffer *lb, size_t max_line)
{
    *lb = (struct line_buffer){.data = xmalloc(max_line + 1), .max_line = max_line};
}

/* Releases the storage. */
void line_buffer_free(struct line_buffer *lb)
{
    free(lb->data);
    *lb = (struct line_buffer){0};
}

/* Hands the buffered bytes on as one line and empties the buffer. */
static void emit(struct line_buffer *lb, bool truncated, line_handler handler, void *ctx)
{
    lb->data[lb->len] = '\0';
    handler(ctx, lb->data, lb->len, truncated);
    lb->len = 0;
}

/* Copies bytes up to each '\n'.  A line that outgrows the buffer is handed
 * on truncated and the rest of it skipped; a line of exactly max_line bytes
 * is whole, so the cut waits until a byte past the limit is seen. */
void line_buffer_feed(struct line_buffer *lb, const char *data, size_t n, line_handler handler,
                      void *ctx)
{
    while (n > 0) {
        const char *newline = memchr(data, '\n', n);
        size_t chunk = newline != NULL ? (size_t)(newline - data) : n;
        if (lb->discarding) {
            lb->discarding = newline == NULL;
        } else {
            size_t room = lb->max_line - lb->len;
            bool overflow = chunk > room;
            size_t take = overflow ? room : chunk;
            memcpy(lb->data + lb->len, data, take);
            lb->len += take;
            if (overflow) {
                emit(lb, true, handler, ctx);
                lb->discarding = newline == NULL;
            } else if (newline != NULL) {
                emit(lb, false, handler, ctx);
            }
        }
        size_t used = newline != NULL ? chunk + 1 : n;
        data += used;
        n -= used;
    }
}

void line_buffer_finish(struct line_buffer *lb, line_handler handler, void *ctx)
{
    if (lb->len > 0)
        emit(lb, false, handler, ctx);
    lb->discarding = false;
}

bool line_buffer_pending(const struct line_buffer *lb)
{
    return lb->len > 0;
}
