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

int config_check_key(const char *file, const struct ini_entry *e, ptrdiff_t at, bool *seen,
                     char *err, size_t err_size)
{
    if (at < 0) {
        config_error(err, err_size, file, e->line, e->name, "unknown key in section [%s]",
                     e->section);
        return -1;
    }
    if (seen[at]) {
        config_error(err, err_size, file, e->line, e->name, "set twice");
        return -1;
    }
    seen[at] = true;
    return 0;
}
