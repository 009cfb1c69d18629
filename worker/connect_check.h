/* connect_check.h - etl-worker --check-connect: what etl-supervisor
 * --check --connect asks of each index, with the worker's own clients:
 * PostgreSQL reached with the configured role and TLS, the worker's
 * preflight passed and every SQL file of the index prepared (parsed and
 * its objects and privileges checked by the server); the search node
 * reached, the credentials taken and the engine one the worker supports.
 * Nothing is written anywhere. */
#ifndef ETL_CONNECT_CHECK_H
#define ETL_CONNECT_CHECK_H

#include "config.h"

/* Runs the checks for idx, one "FILE:LINE: KEY: REASON" line on stderr per
 * problem.  Returns 0, EXIT_CONFIG (the SQL or a secret file is wrong) or
 * EXIT_CHECK_UNREACHABLE (a server cannot be reached or refuses). */
int connect_check_run(const struct etl_config *config, const struct index_config *idx);

#endif
