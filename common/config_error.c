/* config_error.c - see config_error.h. */
#include "config_error.h"

#include "config.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void config_error(struct config_errors *errors, const char *file, int line, const char *key,
                  const char *fmt, ...)
{
    char reason[CONFIG_ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    errors->lines = xrealloc(errors->lines, (errors->count + 1) * sizeof *errors->lines);
    errors->lines[errors->count++] = xasprintf("%s:%d: %s: %s", file, line, key, reason);
}

void config_errors_free(struct config_errors *errors)
{
    for (size_t i = 0; i < errors->count; i++)
        free(errors->lines[i]);
    free(errors->lines);
    *errors = (struct config_errors){0};
}

int config_check_key(const char *file, const struct ini_entry *e, ptrdiff_t at, bool *seen,
                     struct config_errors *errors)
{
    if (at < 0) {
        config_error(errors, file, e->line, e->name, "unknown key in section [%s]", e->section);
        return -1;
    }
    if (seen[at]) {
        config_error(errors, file, e->line, e->name, "set twice");
        return -1;
    }
    seen[at] = true;
    return 0;
}
