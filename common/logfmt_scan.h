/* logfmt_scan.h - reads fields back out of a logfmt line (the inverse of
 * log.h's logfmt_append_value): the supervisor reads a line's worker= field
 * to tell which worker wrote it (line_tag.c), and etlctl reads the fields
 * of the status lines to give them as JSON (status_json.c). */
#ifndef ETL_LOGFMT_SCAN_H
#define ETL_LOGFMT_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the first key=value pair of line whose key is key and copies its
 * value, unquoted and unescaped, into out (cut to out_size - 1 bytes).
 * Pairs are whole tokens: a key inside a quoted value is never matched.
 * Returns false when there is no such key. */
bool logfmt_get(const char *line, const char *key, char *out, size_t out_size);

#endif
