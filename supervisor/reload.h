/* reload.h - applying a configuration to the worker slots: at start, every
 * [index.NAME] section gets a worker; on SIGHUP the file is read again and
 * only what changed is touched (restart the workers whose settings
 * changed, start new sections, stop removed ones, reopen the log files). */
#ifndef ETL_RELOAD_H
#define ETL_RELOAD_H

#include "supervisor.h"

#include <stddef.h>

/* The worker program of config: worker_path, or etl-worker beside this
 * executable.  Returns a new string, or NULL with
 * "FILE:0: worker_path: REASON" in err when it is not an executable file. */
char *resolve_worker_path(const struct etl_config *config, char *err, size_t err_size);

/* Creates and starts a worker for every section of sup->config. */
void supervisor_start_all(struct supervisor *sup);

/* Re-reads sup->config_path and applies it; an invalid file is logged and
 * the configuration in force kept.  Log files are reopened either way. */
void supervisor_reload(struct supervisor *sup);

#endif
