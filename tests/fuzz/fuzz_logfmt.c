/* fuzz_logfmt.c - logfmt_get, the supervisor's reader of its workers'
 * lines.  The first byte picks a key and a size of the output buffer, the
 * rest is the line.  Then the inverse: the line's text written as a value
 * by logfmt_append_value, after a few other fields, reads back unchanged. */
#include "log.h"
#include "logfmt_scan.h"

#include "fuzz_helpers.h"

/* Keys the supervisor asks for. */
static const char *const keys[] = {"index", "msg", "docs", "cursor", "level", "ts"};
#define KEY_COUNT (sizeof keys / sizeof keys[0])
/* Output sizes: none, tiny, and one that holds any line of the input. */
static const size_t out_sizes[] = {0, 1, 2, 8, 64};
#define OUT_SIZE_COUNT (sizeof out_sizes / sizeof out_sizes[0])
/* Escapes take at most this many bytes per input byte ("\x1f"). */
#define ESCAPE_MAX 4
/* What goes before the value: a line as the workers write them. */
#define PREFIX "ts=2026-11-25T09:00:00.123Z level=info msg=\"batch done\" index=movies v="

/* Reads the key the selector names out of line, into a buffer of the
 * selected size (with a guard byte past it for ASan to watch). */
static void check_get(const char *line, unsigned selector)
{
    size_t size = out_sizes[(selector / KEY_COUNT) % OUT_SIZE_COUNT];
    char *out = malloc(size + 1);
    if (out == NULL)
        abort();
    if (logfmt_get(line, keys[selector % KEY_COUNT], out, size) && size > 0 &&
        strnlen(out, size) == size)
        abort();
    free(out);
}

/* Writes value (a C string) with logfmt_append_value and reads it back. */
static void check_round_trip(const char *value)
{
    size_t cap = sizeof PREFIX + strlen(value) * ESCAPE_MAX + 3;
    char *line = malloc(cap);
    char *back = malloc(cap);
    if (line == NULL || back == NULL)
        abort();
    size_t len =
        logfmt_append_value(memcpy(line, PREFIX, sizeof PREFIX), sizeof PREFIX - 1, cap, value);
    line[len] = '\0';
    if (!logfmt_get(line, "v", back, cap) || strcmp(back, value) != 0) {
        fprintf(stderr, "value \"%s\" written as \"%s\" reads back as \"%s\"\n", value, line, back);
        abort();
    }
    free(line);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *line = fuzz_cstring(data + 1, size - 1);
    check_get(line, data[0]);
    check_round_trip(line);
    free(line);
    return 0;
}
