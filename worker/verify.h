/* verify.h - etl-worker --verify [--repair]: compares one index with
 * PostgreSQL while the ETL keeps running, and can repair what differs.
 * etlctl verify runs it (docs/operations.md, "Verify an index"). */
#ifndef ETL_VERIFY_H
#define ETL_VERIFY_H

#include "config.h"

#include <signal.h>
#include <stdbool.h>

/* Compares idx's index with PostgreSQL, prints the report on stdout and,
 * with repair, re-sends what differs.  Returns the exit status: 0 equal
 * (or repaired), EXIT_DIFFERS, EXIT_REBUILD_NEEDED (repair: more than
 * verify_rebuild_threshold differ), EXIT_UNREACHABLE, EXIT_CONFIG, or
 * EXIT_INTERRUPTED after a stop request (common/exit_status.h). */
int verify_run(const struct etl_config *config, const struct index_config *idx,
               const volatile sig_atomic_t *stop, bool repair);

#endif
