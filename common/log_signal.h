/* log_signal.h - how the supervisor sets a worker's log level without
 * restarting it (etlctl log-level, and a reload that changes log_level).
 *
 * A worker it starts finds the level in the environment variable
 * LOG_LEVEL_ENV ("debug", "info", "warn", "error"), which wins over the
 * file's log_level.  A running worker gets LOG_LEVEL_SIGNAL sent with
 * sigqueue(3), the level (enum log_level) as its int value; the worker
 * ignores the signal when it comes without a value (plain kill) or with
 * one out of range.  The supervisor sends it only after the worker's first
 * status event, when its handler is surely installed. */
#ifndef ETL_LOG_SIGNAL_H
#define ETL_LOG_SIGNAL_H

#include <signal.h>

/* The signal that carries a new level. */
#define LOG_LEVEL_SIGNAL SIGUSR2
/* The variable naming the level a worker starts with (not ETL_LOG_LEVEL,
 * which etc/etl.ini reads for log_level). */
#define LOG_LEVEL_ENV "ETL_WORKER_LOG_LEVEL"

#endif
