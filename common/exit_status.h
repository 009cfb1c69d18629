/* exit_status.h - every exit status of etl-worker, etl-supervisor and
 * etlctl, with its sysexits.h name, in one place.  docs/operations.md lists
 * the same table for operators; the supervisor's restart policy depends on
 * these numbers (a worker exiting EXIT_CONFIG is not worth restarting fast). */
#ifndef ETL_EXIT_STATUS_H
#define ETL_EXIT_STATUS_H

#include <sysexits.h>

/* All three programs. */
#define EXIT_STOPPED EX_OK     /* 0: stopped by SIGTERM/SIGINT at a safe point */
#define EXIT_USAGE   EX_USAGE  /* 64: bad command line */
#define EXIT_CONFIG  EX_CONFIG /* 78: bad INI, SQL or mapping file */

/* etl-worker. */
#define EXIT_MAPPING_DIFFERS EX_DATAERR   /* 65: the live index mapping is not the file's */
#define EXIT_INTERNAL        EX_SOFTWARE  /* 70: cannot set up (curl, ...) */
#define EXIT_STATE_DIR       EX_CANTCREAT /* 73: the state directory cannot be created */
/* etl-worker --verify (and etlctl verify).  75: --repair found more than
 * verify_rebuild_threshold differences (etlctl then asks for a rebuild). */
#define EXIT_DIFFERS        EX_DATAERR     /* 65: the index differs from PostgreSQL */
#define EXIT_UNREACHABLE    EX_UNAVAILABLE /* 69: PostgreSQL or the search engine did not answer */
#define EXIT_REBUILD_NEEDED EX_TEMPFAIL    /* 75: too many differ to repair */
/* 69: GET / names an engine or version the worker does not support (not
 * 78: the file is fine, the cluster is not; upgrading it is the fix, and
 * the supervisor's restarts then pick it up). */
#define EXIT_ENGINE_UNSUPPORTED EX_UNAVAILABLE

/* etl-supervisor. */
#define EXIT_OS_ERROR        EX_OSERR     /* 71: signals or poll cannot be set up */
#define EXIT_SOCKET_FAILED   EX_CANTCREAT /* 73: the control socket cannot be created */
#define EXIT_ALREADY_RUNNING EX_TEMPFAIL  /* 75: another supervisor answers on the socket */
/* A forked child whose exec of the worker failed, as shells report it. */
#define EXIT_EXEC_FAILED 127

/* etlctl. */
#define EXIT_UNKNOWN_WORKER EX_NOUSER      /* 67: no worker of that name */
#define EXIT_NOT_RUNNING    EX_UNAVAILABLE /* 69: no supervisor on the socket */
#define EXIT_TRY_LATER      EX_TEMPFAIL    /* 75: no answer within -t, busy, shutting down */
#define EXIT_BAD_REPLY      EX_PROTOCOL    /* 76: a reply etlctl cannot read */
#define EXIT_NO_PERMISSION  EX_NOPERM      /* 77: not allowed on the socket */
#define EXIT_WORKER_STOPPED EX_NOHOST      /* 68: reindex: the worker has no process now */

#endif
