/* config_error.c - see config_error.h. */
#include "config_error.h"

#include "config.h"

#include <stdarg.h>
#include <stdio.h>

void config_error(char *err, size_t err_size, const char *file, int line, const char *key,
                  const char *fmt, ...)
{
    char reason[CONFIG_ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    snprintf(err, err_size, "%s:%d: %s: %s", file, line, key, reason);
}
