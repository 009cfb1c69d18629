/* check.h - etlctl check: the workers' status lines judged by the rule of
 * health.h, one line each, and the exit status of the worst. */
#ifndef ETL_CHECK_H
#define ETL_CHECK_H

#include <stddef.h>

/* Prints "name=NAME condition=WORD lag_s=N" for each status line (as
 * etlctl status prints them) and returns the exit status of the worst
 * condition (exit_status.h, EXIT_BY_CHECK); EXIT_BAD_REPLY when a line
 * lacks a key it needs. */
int check_status_lines(const char *const *lines, size_t count, double max_lag_s);

#endif
