/* rebuild_signal.h - SIGUSR1 asks a running worker for a full rebuild
 * ("etlctl reindex NAME": the supervisor sends it).  The handler only sets
 * rebuild_requested; the sync loop reads it at a safe point, starts the
 * rebuild and sets it back to 0. */
#ifndef ETL_REBUILD_SIGNAL_H
#define ETL_REBUILD_SIGNAL_H

#include <signal.h>

/* Non-zero once SIGUSR1 came and the loop has not taken it yet. */
extern volatile sig_atomic_t rebuild_requested;

/* Installs the SIGUSR1 handler (SA_RESTART: a request must not make a
 * read from PostgreSQL or the search engine fail), so the signal never
 * kills the worker (its default action would). */
void rebuild_signal_install(void);

#endif
