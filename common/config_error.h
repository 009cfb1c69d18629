/* config_error.h - the one shape of every configuration error,
 *     FILE:LINE: KEY: REASON
 * shared by the INI reader and the checks of both kinds of section, and
 * the check of key names both key tables make.  Errors are collected, so
 * that one load reports every error of the file (etl-supervisor --check);
 * the programs starting show the first. */
#ifndef ETL_CONFIG_ERROR_H
#define ETL_CONFIG_ERROR_H

#include "ini_reader.h"

#include <stdbool.h>
#include <stddef.h>

/* Every error of one load, in the order found. */
struct config_errors {
    char **lines;
    size_t count;
};

/* Adds "FILE:LINE: KEY: REASON" to errors.  Line 0 means "no line": the
 * file as a whole, or a built-in default.  The reason is cut at
 * CONFIG_ERROR_MAX. */
void config_error(struct config_errors *errors, const char *file, int line, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Checks e's key against its section's table: at is its row, or negative
 * when the table lacks it; seen[at] marks rows already set.  Returns 0, or
 * -1 with "unknown key in section [S]" or "set twice" added to errors. */
int config_check_key(const char *file, const struct ini_entry *e, ptrdiff_t at, bool *seen,
                     struct config_errors *errors);

/* Frees the lines; errors is empty again. */
void config_errors_free(struct config_errors *errors);

#endif
