/* worker_path.h - where the worker program is: etl-supervisor starts it,
 * etlctl verify runs it. */
#ifndef ETL_WORKER_PATH_H
#define ETL_WORKER_PATH_H

#include "config.h"

#include <stddef.h>

/* The worker program of config: worker_path, or etl-worker beside this
 * executable.  Returns a new string, or NULL with
 * "FILE:0: worker_path: REASON" in err when it is not an executable file. */
char *resolve_worker_path(const struct etl_config *config, char *err, size_t err_size);

#endif
