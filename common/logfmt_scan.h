/* logfmt_scan.h - reads fields back out of a logfmt line (the inverse of
 * log.h's logfmt_append_value), so the supervisor can follow what its
 * workers log (which worker wrote a line, its batch counts and cursor) and
 * etlctl can read the status lines of a reply. */
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
