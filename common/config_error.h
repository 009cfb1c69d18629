/* config_error.h - the one shape of every configuration error,
 *     FILE:LINE: KEY: REASON
 * shared by the INI reader and the checks of both kinds of section, and
 * the check of key names both key tables make. */
#ifndef ETL_CONFIG_ERROR_H
#define ETL_CONFIG_ERROR_H

#include "ini_reader.h"

#include <stdbool.h>
#include <stddef.h>

/* Line 0 means "no line": the file as a whole, or a built-in default.  The
 * reason is cut at CONFIG_ERROR_MAX before the whole message is cut at
 * err_size. */
void config_error(char *err, size_t err_size, const char *file, int line, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Checks e's key against its section's table: at is its row, or negative
 * when the table lacks it; seen[at] marks rows already set.  Returns 0, or
 * -1 with "unknown key in section [S]" or "set twice" in err. */
int config_check_key(const char *file, const struct ini_entry *e, ptrdiff_t at, bool *seen,
                     char *err, size_t err_size);

#endif
