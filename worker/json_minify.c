/* json_minify.c - see json_minify.h. */
#include "json_minify.h"

#include "util.h"

#include <stdbool.h>

/* The four bytes JSON allows between tokens (RFC 8259, section 2), and NUL:
 * jansson (2.14) reads "[1\0]" as [1], so a NUL can pass the validity check
 * outside a string (inside one it is refused); kept, it would cut the
 * C string returned here and the document with it. */
static bool is_json_whitespace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

char *json_minify(const char *text, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t n = 0;
    bool in_string = false;
    bool escaped = false; /* the previous byte was a backslash inside a string */
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            out[n++] = c;
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (!is_json_whitespace(c)) {
            out[n++] = c;
            in_string = c == '"';
        }
    }
    out[n] = '\0';
    return out;
}
