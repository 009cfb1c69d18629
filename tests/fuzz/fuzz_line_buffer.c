/* fuzz_line_buffer.c - line_buffer against a plain model.  The first bytes
 * pick the line limit and the sizes of the pieces the stream arrives in;
 * the lines handed on must be exactly the stream's lines, each cut at the
 * limit (and marked truncated) when longer, however the bytes were split. */
#include "line_buffer.h"

#include "fuzz_helpers.h"

/* Line limits from 1 to this: small, so cuts happen often. */
#define MAX_LINE_LIMIT 64
/* Bytes of the input used as piece sizes. */
#define PIECE_SIZES 8

/* What the model expects: the stream and where the next line starts. */
struct expect {
    const char *stream;
    size_t len;
    size_t at;
    size_t max_line;
};

/* Compares a line handed on with the model's next line. */
static void check_line(void *ctx, const char *text, size_t len, bool truncated)
{
    struct expect *e = ctx;
    if (e->at > e->len)
        abort(); /* a line after the end */
    const char *start = e->stream + e->at;
    const char *newline = memchr(start, '\n', e->len - e->at);
    size_t full = newline != NULL ? (size_t)(newline - start) : e->len - e->at;
    size_t want = full > e->max_line ? e->max_line : full;
    if (len != want || truncated != (full > e->max_line) || memcmp(text, start, len) != 0 ||
        text[len] != '\0')
        abort();
    e->at += full + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 + PIECE_SIZES)
        return 0;
    size_t max_line = 1 + data[0] % MAX_LINE_LIMIT;
    const uint8_t *pieces = data + 1;
    struct expect e = {(const char *)data + 1 + PIECE_SIZES, size - 1 - PIECE_SIZES, 0, max_line};
    struct line_buffer lb;
    line_buffer_init(&lb, max_line);
    size_t fed = 0;
    for (size_t i = 0; fed < e.len; i++) {
        size_t n = 1 + pieces[i % PIECE_SIZES];
        if (n > e.len - fed)
            n = e.len - fed;
        line_buffer_feed(&lb, e.stream + fed, n, check_line, &e);
        fed += n;
    }
    line_buffer_finish(&lb, check_line, &e);
    line_buffer_free(&lb);
    /* every line was seen: the model is past the end (an unfinished last
     * line counted as one) */
    if (e.len > 0 && e.at < e.len)
        abort();
    return 0;
}
