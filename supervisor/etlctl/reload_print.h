/* reload_print.h - `etlctl reload`: the data lines of the reply
 * ("WORD TEXT", supervisor/reload.h) printed for a person, or with --json
 * as one document for scripts:
 *
 *   {"applied": true, "restarted": ["genres"], "changed": [], "added": [],
 *    "removed": [], "live": {"etl.log_level": "debug"}, "next_start": {},
 *    "errors": []}
 *
 * A refused file has "applied": false and its "FILE:LINE: KEY: REASON"
 * lines in "errors". */
#ifndef ETL_RELOAD_PRINT_H
#define ETL_RELOAD_PRINT_H

#include <stdbool.h>
#include <stddef.h>

/* Prints the count lines and the final text (the ok text, or the error's)
 * as text or JSON: on stdout when applied, the text of a refusal on
 * stderr.  Returns 0, or -1 when a line is not one of reload.h's (another
 * version?). */
int reload_print(const char *const *lines, size_t count, bool applied, const char *final_text,
                 bool json);

#endif
