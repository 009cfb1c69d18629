/* logfmt_scan.c - see logfmt_scan.h. */
#include "logfmt_scan.h"

#include <string.h>

/* Appends one byte to out unless it is full (keeping room for the NUL). */
static void put(char *out, size_t out_size, size_t *len, char c)
{
    if (*len + 1 < out_size)
        out[(*len)++] = c;
}

/* The value of a hex digit, or -1. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads a quoted value starting after its opening quote; copies it into
 * out when out is not NULL.  Returns where the value ends. */
static const char *read_quoted(const char *p, char *out, size_t out_size)
{
    size_t len = 0;
    while (*p != '\0' && *p != '"') {
        char c = *p++;
        if (c == '\\' && *p != '\0') {
            char e = *p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'x':
                if (hex_digit(p[0]) >= 0 && hex_digit(p[1]) >= 0) {
                    c = (char)(hex_digit(p[0]) * 16 + hex_digit(p[1]));
                    p += 2;
                } else {
                    c = 'x';
                }
                break;
            default:
                c = e; /* \" and \\ */
            }
        }
        if (out != NULL)
            put(out, out_size, &len, c);
    }
    if (out != NULL && out_size > 0)
        out[len] = '\0';
    return *p == '"' ? p + 1 : p;
}

/* Walks the pairs in order; a token without '=' is skipped. */
bool logfmt_get(const char *line, const char *key, char *out, size_t out_size)
{
    size_t key_len = strlen(key);
    const char *p = line;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *name = p;
        while (*p != '\0' && *p != '=' && *p != ' ')
            p++;
        bool match = (size_t)(p - name) == key_len && strncmp(name, key, key_len) == 0;
        if (*p != '=')
            continue; /* a bare word */
        p++;
        if (*p == '"') {
            p = read_quoted(p + 1, match ? out : NULL, out_size);
        } else {
            const char *value = p;
            while (*p != '\0' && *p != ' ')
                p++;
            if (match && out_size > 0) {
                size_t len = (size_t)(p - value);
                if (len >= out_size)
                    len = out_size - 1;
                memcpy(out, value, len);
                out[len] = '\0';
            }
        }
        if (match)
            return true;
    }
    return false;
}
