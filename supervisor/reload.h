/* reload.h - applying a configuration to the worker slots: at start, every
 * [index.NAME] section gets a worker; on SIGHUP or etlctl reload the file
 * is read again and only what changed is touched (restart the workers
 * whose settings changed, start new sections, stop removed ones, pass a
 * new log_level to the running workers, reopen the log files). */
#ifndef ETL_RELOAD_H
#define ETL_RELOAD_H

#include "supervisor.h"
#include "worker_path.h"

#include <stdbool.h>
#include <stddef.h>

/* Creates and starts a worker for every section of sup->config. */
void supervisor_start_all(struct supervisor *sup);

/* Re-reads sup->config_path and applies it; an invalid file is logged and
 * the configuration in force kept (false).  Log files are reopened either
 * way.  report (NULL: none) gets one "WORD TEXT" line per change:
 *     restarted NAME    its settings changed: its worker restarts
 *     changed NAME      its settings changed: taken at its next start
 *                       (the worker is stopped, or already stopping)
 *     added NAME        a new section: its worker starts
 *     removed NAME      a section gone: its worker stops
 *     live KEY=VALUE    a [supervisor] key or log_level, in force now
 *     next-start KEY=VALUE  control_socket: in force at the next start
 * or, refused, one "error FILE:LINE: KEY: REASON" line per error. */
bool supervisor_reload(struct supervisor *sup, struct buffer *report);

#endif
