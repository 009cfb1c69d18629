/* exit_status.h - every exit status of etl-worker, etl-supervisor and
 * etlctl, in one table: its name, its number (the sysexits.h one where one
 * fits), the programs that exit with it, and a line saying what it means.
 *
 * The names are constants (enum exit_status); each program's usage text
 * prints its rows (exit_status_print_usage); tests/unit/test_exit_status.c
 * checks that the tables of docs/operations.md list exactly these rows for
 * each program.  The supervisor treats every exit of a worker alike (it
 * restarts it with backoff, slot_fsm.c): no number here changes that. */
#ifndef ETL_EXIT_STATUS_H
#define ETL_EXIT_STATUS_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sysexits.h>

/* Who exits with a status, a bit each: a row names one or more. */
enum exit_program {
    EXIT_BY_WORKER = 1U << 0,     /* etl-worker keeping its index in sync */
    EXIT_BY_VERIFY = 1U << 1,     /* etl-worker --verify, and etlctl verify */
    EXIT_BY_SUPERVISOR = 1U << 2, /* etl-supervisor */
    EXIT_BY_ETLCTL = 1U << 3,     /* etlctl (but verify) */
    EXIT_BY_CHECK = 1U << 4,      /* etlctl check, besides etlctl's own */
};
#define EXIT_BY_ALL                                                                                \
    (EXIT_BY_WORKER | EXIT_BY_VERIFY | EXIT_BY_SUPERVISOR | EXIT_BY_ETLCTL | EXIT_BY_CHECK)

/* What a shell reports for a command it could not run. */
#define EXIT_STATUS_EXEC_FAILED 127
/* What a shell reports for a command SIGINT ended. */
#define EXIT_STATUS_SIGINT (128 + SIGINT)

/* The table, X(name, number, programs, meaning), by number.  A number
 * several rows share means one thing per program. */
#define EXIT_STATUS_TABLE(X)                                                                       \
    X(EXIT_STOPPED, EX_OK, EXIT_BY_WORKER | EXIT_BY_SUPERVISOR,                                    \
      "stopped by SIGTERM/SIGINT at a safe point")                                                 \
    X(EXIT_EQUAL, EX_OK, EXIT_BY_VERIFY, "equal (or repaired)")                                    \
    X(EXIT_DONE, EX_OK, EXIT_BY_ETLCTL, "done")                                                    \
    X(EXIT_READY, EX_OK, EXIT_BY_CHECK, "every worker ready")                                      \
    X(EXIT_CHECK_LAGGING, 1, EXIT_BY_CHECK, "a worker lags more than allowed")                     \
    X(EXIT_CHECK_STARTING, 2, EXIT_BY_CHECK, "a worker has not caught up once since it started")   \
    X(EXIT_CHECK_DOWN, 3, EXIT_BY_CHECK, "a worker has no process (restarting, or stopped)")       \
    X(EXIT_CHECK_REFUSING, 4, EXIT_BY_CHECK, "a worker's index refuses its writes for now")        \
    X(EXIT_CHECK_WAITING, 5, EXIT_BY_CHECK, "a worker waits for another worker's writer lock")     \
    X(EXIT_USAGE, EX_USAGE, EXIT_BY_ALL, "bad command line")                                       \
    X(EXIT_MAPPING_DIFFERS, EX_DATAERR, EXIT_BY_WORKER,                                            \
      "the live index mapping differs from its file")                                              \
    X(EXIT_DIFFERS, EX_DATAERR, EXIT_BY_VERIFY,                                                    \
      "the index differs from PostgreSQL (or a rebuild was requested)")                            \
    X(EXIT_UNKNOWN_WORKER, EX_NOUSER, EXIT_BY_ETLCTL, "no worker of that name")                    \
    X(EXIT_WORKER_STOPPED, EX_NOHOST, EXIT_BY_ETLCTL, "reindex: the worker is not running")        \
    X(EXIT_ENGINE_UNSUPPORTED, EX_UNAVAILABLE, EXIT_BY_WORKER,                                     \
      "the search engine is not one this version supports")                                        \
    X(EXIT_UNREACHABLE, EX_UNAVAILABLE, EXIT_BY_VERIFY,                                            \
      "PostgreSQL or the search engine did not answer")                                            \
    X(EXIT_NOT_RUNNING, EX_UNAVAILABLE, EXIT_BY_ETLCTL, "the supervisor is not running")           \
    X(EXIT_CHECK_UNREACHABLE, EX_UNAVAILABLE, EXIT_BY_SUPERVISOR,                                  \
      "--check --connect: PostgreSQL or the search node unreachable or refusing")                  \
    X(EXIT_INTERNAL, EX_SOFTWARE, EXIT_BY_WORKER | EXIT_BY_VERIFY, "internal error")               \
    X(EXIT_OS_ERROR, EX_OSERR, EXIT_BY_SUPERVISOR | EXIT_BY_ETLCTL,                                \
      "signals, poll or a socket cannot be set up")                                                \
    X(EXIT_STATE_DIR, EX_CANTCREAT, EXIT_BY_WORKER, "the state directory cannot be created")       \
    X(EXIT_SOCKET_FAILED, EX_CANTCREAT, EXIT_BY_SUPERVISOR,                                        \
      "the control socket or the metrics listener cannot be created")                              \
    X(EXIT_REBUILD_NEEDED, EX_TEMPFAIL, EXIT_BY_VERIFY,                                            \
      "--repair: too many differ (etlctl then asks for a rebuild)")                                \
    X(EXIT_ALREADY_RUNNING, EX_TEMPFAIL, EXIT_BY_SUPERVISOR,                                       \
      "another supervisor is running on the control socket")                                       \
    X(EXIT_TRY_LATER, EX_TEMPFAIL, EXIT_BY_ETLCTL,                                                 \
      "no answer within the timeout, busy, or shutting down")                                      \
    X(EXIT_BAD_REPLY, EX_PROTOCOL, EXIT_BY_ETLCTL, "unreadable reply")                             \
    X(EXIT_NO_PERMISSION, EX_NOPERM, EXIT_BY_ETLCTL, "permission denied on the socket")            \
    X(EXIT_CONFIG, EX_CONFIG, EXIT_BY_ALL, "configuration (FILE:LINE: KEY: REASON on stderr)")     \
    X(EXIT_EXEC_FAILED, EXIT_STATUS_EXEC_FAILED, EXIT_BY_WORKER | EXIT_BY_VERIFY,                  \
      "the worker program could not be run")                                                       \
    X(EXIT_INTERRUPTED, EXIT_STATUS_SIGINT, EXIT_BY_VERIFY, "interrupted by SIGINT/SIGTERM")

/* The names as constants. */
#define EXIT_STATUS_ENUM(name, number, programs, meaning) name = (number),
enum exit_status { EXIT_STATUS_TABLE(EXIT_STATUS_ENUM) };
#undef EXIT_STATUS_ENUM

/* One row of the table. */
struct exit_status_row {
    const char *name;
    int status;
    unsigned programs; /* enum exit_program bits */
    const char *meaning;
};

/* The table as data, in its order. */
extern const struct exit_status_row exit_status_rows[];
extern const size_t exit_status_rows_count;

/* Prints heading, then one line "  NUMBER  MEANING" for each row that names
 * one of programs: the exit-status section of a usage text. */
void exit_status_print_usage(FILE *out, const char *heading, unsigned programs);

#endif
