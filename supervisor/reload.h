/* reload.h - applying a configuration to the worker slots: at start, every
 * [index.NAME] section gets a worker; on SIGHUP the file is read again and
 * only what changed is touched (restart the workers whose settings
 * changed, start new sections, stop removed ones, reopen the log files). */
#ifndef ETL_RELOAD_H
#define ETL_RELOAD_H

#include "supervisor.h"
#include "worker_path.h"

#include <stddef.h>

/* Creates and starts a worker for every section of sup->config. */
void supervisor_start_all(struct supervisor *sup);

/* Re-reads sup->config_path and applies it; an invalid file is logged and
 * the configuration in force kept.  Log files are reopened either way. */
void supervisor_reload(struct supervisor *sup);

#endif
