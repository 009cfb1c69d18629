/* fuzz_json_minify.c - json_minify, as a property: for any text jansson
 * reads as JSON (as the worker checks documents.sql's output before it
 * minifies it), the output holds no raw newline, is no longer than the
 * input, and reads as a value equal to the input's. */
#include "json_minify.h"

#include "fuzz_helpers.h"

#include <jansson.h>

/* The flags worker/batch.c reads documents.sql's output with. */
#define DECODE_FLAGS (JSON_DECODE_INT_AS_REAL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t error;
    json_t *before = json_loadb((const char *)data, size, DECODE_FLAGS, &error);
    if (before == NULL)
        return 0;
    char *out = json_minify((const char *)data, size);
    size_t out_len = strlen(out);
    if (out_len > size || memchr(out, '\n', out_len) != NULL)
        abort();
    json_t *after = json_loadb(out, out_len, DECODE_FLAGS, &error);
    if (after == NULL || !json_equal(before, after)) {
        fprintf(stderr, "minified \"%s\" does not read as its input: %s\n", out,
                after == NULL ? error.text : "another value");
        abort();
    }
    json_decref(after);
    json_decref(before);
    free(out);
    return 0;
}
