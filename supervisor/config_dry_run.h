/* config_dry_run.h - etl-supervisor --check [--connect]: the configuration
 * checked as a start would, without starting anything, and every problem
 * reported at once. */
#ifndef ETL_CONFIG_DRY_RUN_H
#define ETL_CONFIG_DRY_RUN_H

#include <stdbool.h>

/* Loads config_path with every error collected, checks the files it names
 * (config_files.h) and the worker program; with connect, runs
 * "etl-worker --index NAME --check-connect" for each index (PostgreSQL,
 * the index's SQL prepared, the search node).  Each problem is one
 * "FILE:LINE: KEY: REASON" line on stderr; "FILE: ok" goes to stdout when
 * there is none.  Returns 0, EXIT_CONFIG or EXIT_CHECK_UNREACHABLE. */
int config_dry_run(const char *config_path, bool connect);

#endif
