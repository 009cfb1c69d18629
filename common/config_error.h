/* config_error.h - the one shape of every configuration error,
 *     FILE:LINE: KEY: REASON
 * shared by the INI reader and the checks of both kinds of section. */
#ifndef ETL_CONFIG_ERROR_H
#define ETL_CONFIG_ERROR_H

#include <stddef.h>

/* Line 0 means "no line": the file as a whole, or a built-in default.  The
 * reason is cut at CONFIG_ERROR_MAX before the whole message is cut at
 * err_size. */
void config_error(char *err, size_t err_size, const char *file, int line, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
