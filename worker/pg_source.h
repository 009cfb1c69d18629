/* pg_source.h - the worker's side of PostgreSQL: one connection, the
 * round's snapshot, the change queries and the document query of one
 * index. */
#ifndef ETL_PG_SOURCE_H
#define ETL_PG_SOURCE_H

#include "cluster_id.h"
#include "config.h"
#include "cursor.h"
#include "log.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What failed, so the caller knows whether waiting can help. */
enum pg_failure {
    PG_OK = 0,
    PG_UNAVAILABLE, /* connection lost or refused, timeouts: retry */
    PG_BAD_SQL,     /* the index's SQL is wrong or not allowed: a config error */
    PG_BAD_CURSOR,  /* PostgreSQL refused a cursor or a snapshot of the state file
                       (SQLSTATE 22P02, 22007, 22008): the state file is unusable */
    PG_REFUSED,     /* content.etl_preflight(): the worker cannot read here */
    PG_LOCKED,      /* another session holds this index's writer lock (lock_holder) */
    PG_SCHEMA,      /* the catalogue's schema version is not this build's (schema_version.h) */
};

/* Room for what etl_snapshot_holder() says holds a round back. */
#define PG_HOLDER_TEXT_MAX 128

/* A round's snapshot and the oldest transaction in progress at it. */
struct pg_snapshot {
    char at[SNAPSHOT_TEXT_MAX];      /* pg_current_snapshot(), as text */
    char kind[PG_HOLDER_TEXT_MAX];   /* "transaction", "prepared" or "" (nothing) */
    char detail[PG_HOLDER_TEXT_MAX]; /* "pid=N", "gid=NAME" or "" */
    double held_s;                   /* how long it has been open; 0 without one */
};

struct pg_source {
    PGconn *conn;
    const struct etl_config *config;
    const struct index_config *idx;
    char *application_name;
    char **change_sql; /* texts of the change queries, in config order */
    size_t change_count;
    char *documents_sql;
    /* While a change or document query runs, unless NULL: called with the
     * connection's socket, to do other work until it is readable or a
     * while has passed (pipeline.c: the bulk requests in flight go on). */
    void (*wait)(void *ctx, int fd);
    void *wait_ctx;
    struct cluster_id cluster; /* the connection's (content.etl_cluster()), read on connecting */
    /* The index whose writer lock (content.etl_lock_index) every new
     * connection takes before anything else; NULL: none (verify). */
    const char *lock_index;
    bool locked;      /* this connection holds it */
    long lock_holder; /* after PG_LOCKED: the pid of the session holding it; 0 unknown */
    char err[512];    /* the last failure, without secrets */
    char sqlstate[6]; /* SQLSTATE of the last failed statement, "" if none */
};

/* Reads the SQL files of idx.  Returns 0, or -1 with err filled. */
int pg_source_init(struct pg_source *pg, const struct etl_config *config,
                   const struct index_config *idx, char *err, size_t err_size);
void pg_source_free(struct pg_source *pg);

/* Connects (if not connected): the schema version (PG_SCHEMA when it is not
 * this build's, with why and the command to run in err),
 * content.etl_preflight() (PG_REFUSED when
 * the worker cannot read here), content.etl_restamp() (rows a dump
 * brought from another cluster, logged when there were any), the
 * cluster's identity into pg->cluster, then the statements prepared; with
 * a lock_index, takes its writer lock on a connection that does not hold
 * it yet (a new one first of all): PG_LOCKED while another session holds
 * it, the connection kept for the next try. */
enum pg_failure pg_source_connect(struct pg_source *pg);
/* Asks PostgreSQL whether this connection still holds the writer lock
 * (content.etl_index_locked), reconnecting, and so taking it again, when
 * the connection was lost: PG_OK when it does (or without a lock_index),
 * PG_LOCKED when another session holds it. */
enum pg_failure pg_source_confirm_lock(struct pg_source *pg);
/* Drops the connection; the next call reconnects. */
void pg_source_disconnect(struct pg_source *pg);

/* Reads the last_value of content.etl_change_signal into *out, on the
 * connection already open (PG_UNAVAILABLE without one). */
enum pg_failure pg_source_change_signal(struct pg_source *pg, int64_t *out);

/* Takes pg_current_snapshot() and content.etl_snapshot_holder() of it into
 * *out, in a statement of its own. */
enum pg_failure pg_source_snapshot(struct pg_source *pg, struct pg_snapshot *out);

/* The external version of what the current transaction reads
 * (content.etl_snapshot_version(): it grows with the snapshot). */
enum pg_failure pg_source_version(struct pg_source *pg, long long *version);

/* Starts and ends the read-only, repeatable-read transaction in which one
 * batch reads its changes and builds its documents (one snapshot). */
enum pg_failure pg_source_begin(struct pg_source *pg);
enum pg_failure pg_source_commit(struct pg_source *pg);

/* Runs change query number source: rows of the transactions of window
 * after from (its (txid, id) and the doc_id inside that group), at most
 * limit of them.  *result gets (txid, id, doc_id, modified) rows; the
 * caller PQclear()s it.
 * PG_BAD_SQL for rows that break the contract of etc/sql/README.md (a
 * NULL id, a doc_id that is not a uuid, doc_id != id in the first source). */
enum pg_failure pg_source_changes(struct pg_source *pg, size_t source, const struct cursor *from,
                                  const struct snapshot_window *window, int limit,
                                  PGresult **result);

/* content.etl_report_position(index_name, source, txid): this index has
 * read every event of source below transaction txid; only once the state
 * file saying so is durable. */
enum pg_failure pg_source_report_position(struct pg_source *pg, const char *index_name,
                                          const char *source, const char *txid);

/* content.etl_prune_change_log(indices, retention_s seconds); *deleted gets
 * how many rows went. */
enum pg_failure pg_source_prune_change_log(struct pg_source *pg, const char *const *indices,
                                           size_t count, int retention_s, long long *deleted);

/* Compares content.etl_change_log_pruned(), the greatest change_log txid
 * ever deleted, with txid, below which this index has read everything:
 * *above is true when it is at or above it (events this index may never
 * have read are gone), and watermark gets it as text ("" when nothing was
 * ever deleted). */
enum pg_failure pg_source_pruned_above(struct pg_source *pg, const char *txid, bool *above,
                                       char *watermark, size_t size);

/* Runs the document query for ids (uuid texts).  *result gets (id, document)
 * rows; the caller PQclear()s it. */
enum pg_failure pg_source_documents(struct pg_source *pg, const char *const *ids, size_t count,
                                    PGresult **result);

/* The log level of a notice from the server, by its severity
 * (PG_DIAG_SEVERITY_NONLOCALIZED): DEBUG is debug; LOG, INFO and NOTICE are
 * info; WARNING, anything else and none are warn. */
enum log_level pg_notice_level(const char *severity);

/* Milliseconds since the epoch of a timestamptz printed by PostgreSQL with
 * TimeZone=UTC ("2021-06-16 20:14:09.221838+00"); -1 if unreadable. */
int64_t pg_timestamp_ms(const char *text);

#endif
