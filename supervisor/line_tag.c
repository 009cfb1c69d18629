/* line_tag.c - see line_tag.h. */
#include "line_tag.h"

#include "log.h"
#include "logfmt_scan.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Worker names are 1-63 characters; a longer worker= value is not one. */
#define NAME_FIELD_MAX 128

/* Checks the ts= start and the worker= field. */
bool line_is_workers_own(const char *line, const char *name)
{
    char worker[NAME_FIELD_MAX];
    return strncmp(line, "ts=", 3) == 0 && logfmt_get(line, "worker", worker, sizeof worker) &&
           strcmp(worker, name) == 0;
}

/* The length of text[0..n) in logfmt form (quotes and escapes included). */
static size_t quoted_length(const char *text, size_t n, char *scratch, size_t scratch_size)
{
    char *prefix = xmalloc(n + 1);
    memcpy(prefix, text, n);
    prefix[n] = '\0';
    size_t len = logfmt_append_value(scratch, 0, scratch_size, prefix);
    free(prefix);
    return len;
}

/* Appends text as a logfmt value in at most room bytes: the longest prefix
 * whose quoted form fits (found by bisection), cut back to a UTF-8
 * character boundary. */
static size_t append_fitting(char *out, size_t len, size_t room, const char *text)
{
    size_t n = strlen(text);
    /* Worst case: every byte escaped as \xHH, plus the quotes and a NUL. */
    size_t scratch_size = 4 * n + 3;
    char *scratch = xmalloc(scratch_size);
    size_t fit = n;
    if (quoted_length(text, n, scratch, scratch_size) > room) {
        size_t lo = 0; /* the prefix of length lo fits */
        size_t hi = n; /* that of length hi does not */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (quoted_length(text, mid, scratch, scratch_size) <= room)
                lo = mid;
            else
                hi = mid;
        }
        fit = lo;
        while (fit > 0 && ((unsigned char)text[fit] & 0xC0) == 0x80)
            fit--;
    }
    size_t value_len = quoted_length(text, fit, scratch, scratch_size);
    memcpy(out + len, scratch, value_len);
    free(scratch);
    return len + value_len;
}

/* Passes the worker's own lines, wraps the rest. */
size_t line_tag(char *out, size_t cap, const char *name, long pid, int64_t wall_ms,
                const char *line, bool truncated, bool *own)
{
    bool pass = !truncated && line_is_workers_own(line, name);
    if (own != NULL)
        *own = pass;
    size_t len = strlen(line);
    if (pass && len + 1 < cap) {
        memcpy(out, line, len);
        out[len] = '\n';
        return len + 1;
    }
    char ts[40];
    log_format_ts(ts, sizeof ts, wall_ms);
    int head = snprintf(out, cap, "ts=%s level=error worker=", ts);
    size_t at = logfmt_append_value(out, (size_t)head, cap, name);
    at += (size_t)snprintf(out + at, cap - at, " pid=%ld msg=output%s line=", pid,
                           truncated ? " truncated=true" : "");
    /* Room for the value: all but the '\n' and the NUL. */
    at = append_fitting(out, at, cap - at - 2, line);
    out[at++] = '\n';
    out[at] = '\0';
    return at;
}
