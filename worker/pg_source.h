/* pg_source.h - the worker's side of PostgreSQL: one connection, the safe
 * horizon, the change queries and the document query of one index. */
#ifndef ETL_PG_SOURCE_H
#define ETL_PG_SOURCE_H

#include "config.h"
#include "cursor.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What failed, so the caller knows whether waiting can help. */
enum pg_failure {
    PG_OK = 0,
    PG_UNAVAILABLE, /* connection lost or refused, timeouts: retry */
    PG_BAD_SQL,     /* the index's SQL is wrong or not allowed: a config error */
};

struct pg_source {
    PGconn *conn;
    const struct etl_config *config;
    char *application_name;
    char **change_sql; /* texts of the change queries, in config order */
    size_t change_count;
    char *documents_sql;
    char err[512]; /* the last failure, without secrets */
};

/* Reads the SQL files of idx.  Returns 0, or -1 with err filled. */
int pg_source_init(struct pg_source *pg, const struct etl_config *config,
                   const struct index_config *idx, char *err, size_t err_size);
void pg_source_free(struct pg_source *pg);

/* Connects (if not connected) and prepares the statements. */
enum pg_failure pg_source_connect(struct pg_source *pg);
/* Drops the connection; the next call reconnects. */
void pg_source_disconnect(struct pg_source *pg);

/* Reads content.etl_horizon() into horizon (text), and into *held_s how many
 * seconds it lags the server's clock. */
enum pg_failure pg_source_horizon(struct pg_source *pg, char *horizon, size_t size, double *held_s);

/* Starts and ends the read-only, repeatable-read transaction in which one
 * batch reads its changes and builds its documents (one snapshot). */
enum pg_failure pg_source_begin(struct pg_source *pg);
enum pg_failure pg_source_commit(struct pg_source *pg);

/* Runs change query number source: rows after from (its (modified, id) and
 * the doc_id inside that group), stamped before horizon, at most limit of
 * them.  *result gets (modified, id, doc_id) rows; the caller PQclear()s it. */
enum pg_failure pg_source_changes(struct pg_source *pg, size_t source, const struct cursor *from,
                                  const char *horizon, int limit, PGresult **result);

/* Runs the document query for ids (uuid texts).  *result gets (id, document)
 * rows; the caller PQclear()s it. */
enum pg_failure pg_source_documents(struct pg_source *pg, const char *const *ids, size_t count,
                                    PGresult **result);

/* Milliseconds since the epoch of a timestamptz printed by PostgreSQL with
 * TimeZone=UTC ("2021-06-16 20:14:09.221838+00"); -1 if unreadable. */
int64_t pg_timestamp_ms(const char *text);

#endif
