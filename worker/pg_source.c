/* pg_source.c - see pg_source.h. */
#include "pg_source.h"

#include "log.h"
#include "secrets.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one query the worker does not read from an index's files. */
/* The horizon, and how far it lags the server's clock (seconds): a long lag
 * means a transaction left open is holding the workers back. */
static const char *const HORIZON_SQL =
    "SELECT h::text, extract(epoch FROM clock_timestamp() - h)::float8"
    "  FROM content.etl_horizon() AS h";

/* Names of the prepared statements. */
#define DOCUMENTS_STATEMENT   "documents"
#define CHANGES_STATEMENT_FMT "changes_%zu"

/* Reads one SQL file. */
static char *read_sql(const char *path, char *err, size_t err_size)
{
    char *text = read_whole_file(path, NULL);
    if (text == NULL)
        snprintf(err, err_size, "%s: cannot read SQL file: %s", path, strerror(errno));
    return text;
}

/* Loads the index's SQL texts. */
int pg_source_init(struct pg_source *pg, const struct etl_config *config,
                   const struct index_config *idx, char *err, size_t err_size)
{
    *pg = (struct pg_source){0};
    pg->config = config;
    pg->application_name = xasprintf("etl-worker-%s", idx->name);
    pg->documents_sql = read_sql(idx->documents_sql, err, err_size);
    if (pg->documents_sql == NULL)
        return -1;
    pg->change_sql = xcalloc(idx->changes_count, sizeof *pg->change_sql);
    pg->change_count = idx->changes_count;
    for (size_t i = 0; i < idx->changes_count; i++) {
        pg->change_sql[i] = read_sql(idx->changes_sql[i], err, err_size);
        if (pg->change_sql[i] == NULL)
            return -1;
    }
    return 0;
}

/* Closes the connection and frees the texts. */
void pg_source_free(struct pg_source *pg)
{
    pg_source_disconnect(pg);
    for (size_t i = 0; i < pg->change_count; i++)
        free(pg->change_sql[i]);
    free(pg->change_sql);
    free(pg->documents_sql);
    free(pg->application_name);
    *pg = (struct pg_source){0};
}

/* Drops the connection. */
void pg_source_disconnect(struct pg_source *pg)
{
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->conn = NULL;
}

/* Copies libpq's message (trimmed to one line) into pg->err. */
static void keep_error(struct pg_source *pg, const char *what, const char *message)
{
    snprintf(pg->err, sizeof pg->err, "%s: %s", what, message ? message : "unknown error");
    for (char *p = pg->err; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    size_t len = strlen(pg->err);
    while (len > 0 && pg->err[len - 1] == ' ')
        pg->err[--len] = '\0';
}

/* Classifies a failed result: SQL errors in the index's files (syntax,
 * undefined objects, privileges: SQLSTATE classes 42 and 0A) cannot be
 * fixed by waiting; everything else (connection loss, shutdown, timeouts,
 * serialization) can. */
static enum pg_failure classify(struct pg_source *pg, const char *what, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    keep_error(pg, what, res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pg_source_disconnect(pg);
        return PG_UNAVAILABLE;
    }
    if (state != NULL && (strncmp(state, "42", 2) == 0 || strncmp(state, "0A", 2) == 0))
        return PG_BAD_SQL;
    return PG_UNAVAILABLE;
}

/* Prepares one statement. */
static enum pg_failure prepare(struct pg_source *pg, const char *name, const char *sql)
{
    PGresult *res = PQprepare(pg->conn, name, sql, 0, NULL);
    enum pg_failure failure = PG_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char what[96];
        snprintf(what, sizeof what, "preparing %s", name);
        failure = classify(pg, what, res);
    }
    PQclear(res);
    return failure;
}

/* Connects with the [postgres] settings; empty settings are left to libpq's
 * defaults and PG* variables.  The password is passed to libpq only and never
 * logged. */
enum pg_failure pg_source_connect(struct pg_source *pg)
{
    if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
        return PG_OK;
    pg_source_disconnect(pg);
    const struct etl_config *c = pg->config;
    bool secret_failed;
    char secret_err[256];
    char *password = config_read_secret(c->pg_password_file, "ETL_PG_PASSWORD", &secret_failed,
                                        secret_err, sizeof secret_err);
    if (secret_failed) {
        keep_error(pg, "password", secret_err);
        return PG_UNAVAILABLE;
    }
    char timeout[16];
    char keepalives_idle[16];
    char user_timeout[16];
    char options[96];
    snprintf(timeout, sizeof timeout, "%d", c->pg_connect_timeout_s);
    snprintf(keepalives_idle, sizeof keepalives_idle, "%d", c->pg_keepalives_idle_s);
    snprintf(user_timeout, sizeof user_timeout, "%d", c->pg_tcp_user_timeout_ms);
    /* UTC and ISO dates: cursors are stored as PostgreSQL prints them. */
    snprintf(options, sizeof options, "-c statement_timeout=%d -c TimeZone=UTC -c DateStyle=ISO",
             c->pg_statement_timeout_ms);
    const char *keys[16];
    const char *values[16];
    size_t n = 0;
#define ADD_PARAM(k, v)                                                                            \
    do {                                                                                           \
        if ((v) != NULL && (v)[0] != '\0') {                                                       \
            keys[n] = (k);                                                                         \
            values[n++] = (v);                                                                     \
        }                                                                                          \
    } while (0)
    ADD_PARAM("host", c->pg_host);
    ADD_PARAM("port", c->pg_port);
    ADD_PARAM("dbname", c->pg_dbname);
    ADD_PARAM("user", c->pg_user);
    ADD_PARAM("password", password);
    ADD_PARAM("sslmode", c->pg_sslmode);
    ADD_PARAM("connect_timeout", timeout);
    /* A half-open connection is noticed in tens of seconds, not hours. */
    keys[n] = "keepalives";
    values[n++] = "1"; /* on */
    ADD_PARAM("keepalives_idle", keepalives_idle);
    ADD_PARAM("tcp_user_timeout", user_timeout);
    ADD_PARAM("options", options);
    ADD_PARAM("application_name", pg->application_name);
#undef ADD_PARAM
    keys[n] = NULL;
    values[n] = NULL;
    pg->conn = PQconnectdbParams(keys, values, 0);
    if (password != NULL) {
        memset(password, 0, strlen(password));
        free(password);
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        keep_error(pg, "connect", PQerrorMessage(pg->conn));
        pg_source_disconnect(pg);
        return PG_UNAVAILABLE;
    }
    enum pg_failure failure = prepare(pg, DOCUMENTS_STATEMENT, pg->documents_sql);
    for (size_t i = 0; failure == PG_OK && i < pg->change_count; i++) {
        char name[32];
        snprintf(name, sizeof name, CHANGES_STATEMENT_FMT, i);
        failure = prepare(pg, name, pg->change_sql[i]);
    }
    if (failure != PG_OK)
        pg_source_disconnect(pg);
    return failure;
}

/* Runs a statement that returns nothing. */
static enum pg_failure run_command(struct pg_source *pg, const char *sql)
{
    PGresult *res = PQexec(pg->conn, sql);
    enum pg_failure failure = PG_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        failure = classify(pg, sql, res);
    PQclear(res);
    return failure;
}

/* SELECT content.etl_horizon(), in its own implicit transaction: the batch's
 * snapshot must be taken after it (see 20-etl.sql). */
enum pg_failure pg_source_horizon(struct pg_source *pg, char *horizon, size_t size, double *held_s)
{
    enum pg_failure failure = pg_source_connect(pg);
    if (failure != PG_OK)
        return failure;
    PGresult *res = PQexec(pg->conn, HORIZON_SQL);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        failure = classify(pg, "content.etl_horizon()", res);
        PQclear(res);
        return failure;
    }
    snprintf(horizon, size, "%s", PQgetvalue(res, 0, 0));
    *held_s = strtod(PQgetvalue(res, 0, 1), NULL);
    PQclear(res);
    return PG_OK;
}

/* BEGIN a read-only repeatable-read transaction. */
enum pg_failure pg_source_begin(struct pg_source *pg)
{
    enum pg_failure failure = pg_source_connect(pg);
    if (failure != PG_OK)
        return failure;
    return run_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

/* COMMIT (or, on a broken transaction, the error). */
enum pg_failure pg_source_commit(struct pg_source *pg)
{
    if (pg->conn == NULL)
        return PG_UNAVAILABLE;
    return run_command(pg, "COMMIT");
}

/* Runs a prepared statement with text parameters; expects rows. */
static enum pg_failure run_prepared(struct pg_source *pg, const char *name, int count,
                                    const char *const *params, PGresult **result)
{
    *result = NULL;
    if (pg->conn == NULL)
        return PG_UNAVAILABLE;
    PGresult *res = PQexecPrepared(pg->conn, name, count, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        enum pg_failure failure = classify(pg, name, res);
        PQclear(res);
        /* Leave no aborted transaction behind for the next try. */
        if (pg->conn != NULL)
            PQclear(PQexec(pg->conn, "ROLLBACK"));
        return failure;
    }
    *result = res;
    return PG_OK;
}

/* Runs change query number source from the cursor. */
enum pg_failure pg_source_changes(struct pg_source *pg, size_t source, const struct cursor *from,
                                  const char *horizon, int limit, PGresult **result)
{
    char name[32];
    char limit_text[16];
    snprintf(name, sizeof name, CHANGES_STATEMENT_FMT, source);
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *params[4] = {from->modified, from->id, horizon, limit_text};
    enum pg_failure failure = run_prepared(pg, name, 4, params, result);
    if (failure == PG_OK && PQnfields(*result) != 3) {
        keep_error(pg, name, "a change query must return (modified, id, doc_id)");
        PQclear(*result);
        *result = NULL;
        return PG_BAD_SQL;
    }
    return failure;
}

/* Runs the document query for ids, passed as one uuid[] literal. */
enum pg_failure pg_source_documents(struct pg_source *pg, const char *const *ids, size_t count,
                                    PGresult **result)
{
    struct buffer array = {0};
    buffer_append_str(&array, "{");
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            buffer_append_str(&array, ",");
        buffer_append_str(&array, ids[i]); /* uuids from PostgreSQL itself */
    }
    buffer_append_str(&array, "}");
    const char *params[1] = {array.data};
    enum pg_failure failure = run_prepared(pg, DOCUMENTS_STATEMENT, 1, params, result);
    buffer_free(&array);
    if (failure == PG_OK && PQnfields(*result) != 2) {
        keep_error(pg, DOCUMENTS_STATEMENT, "the document query must return (id, document)");
        PQclear(*result);
        *result = NULL;
        return PG_BAD_SQL;
    }
    return failure;
}

/* Parses "YYYY-MM-DD HH:MM:SS[.f...]+00" (UTC) to epoch milliseconds.
 * PostgreSQL drops trailing zeros of the fraction: ".5" is 500 ms. */
int64_t pg_timestamp_ms(const char *text)
{
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
    if (rest == NULL)
        return -1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.') {
        int64_t scale = 100;
        for (const char *p = rest + 1; *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    return ms;
}
