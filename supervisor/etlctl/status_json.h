/* status_json.h - `etlctl status --json`: the status lines of the reply
 * (status.h) as one JSON document for scripts,
 *
 *   {"workers": [{"name": "movies", "index": "movies", "pid": 4242,
 *                 "state": "running", ..., "lag_s": 0.0}, ...]}
 *
 * with the keys of the table in its order; counts are JSON integers,
 * lag_s a JSON number, and a value the table shows as "" is null. */
#ifndef ETL_STATUS_JSON_H
#define ETL_STATUS_JSON_H

#include <stddef.h>

/* The document for count status lines, or NULL when a line lacks a key or
 * has a number that is not one (another version?).  A new string. */
char *status_json(const char *const *lines, size_t count);

#endif
