/* pg_source.c - see pg_source.h. */
#include "pg_source.h"

#include "log.h"
#include "schema_version.h"
#include "secrets.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The queries the worker does not read from an index's files: the
 * functions of etc/postgres/migrations/. */

/* The round's snapshot, the oldest transaction in progress at it, and how
 * long that one has been open (seconds). */
static const char *const SNAPSHOT_SQL =
    "SELECT s.at::text, hold.kind, hold.detail,"
    "       extract(epoch FROM clock_timestamp() - hold.held_since)::float8"
    "  FROM pg_current_snapshot() AS s(at)"
    "  LEFT JOIN content.etl_snapshot_holder(s.at) AS hold ON true";

/* The external version of the documents read in this transaction's
 * snapshot. */
static const char *const VERSION_SQL = "SELECT content.etl_snapshot_version()";

/* Why the worker cannot read on this server; NULL when it can. */
static const char *const PREFLIGHT_SQL = "SELECT content.etl_preflight()";

/* Rows stamped by another cluster's transactions (a dump restored here)
 * given this one's: how many. */
static const char *const RESTAMP_SQL = "SELECT content.etl_restamp()";

/* The cluster's system identifier and timeline. */
static const char *const CLUSTER_SQL =
    "SELECT system_identifier, timeline FROM content.etl_cluster()";

/* How far an index has read a change source. */
static const char *const REPORT_POSITION_SQL =
    "SELECT content.etl_report_position($1::text, $2::text, $3::xid8)";

/* Deletes the change_log rows every index of $1 has read, older than $2 s. */
static const char *const PRUNE_CHANGE_LOG_SQL =
    "SELECT content.etl_prune_change_log($1::text[], make_interval(secs => $2::int))";

/* The prune watermark, and whether it is at or above $1, the transaction
 * below which this index has read everything. */
static const char *const PRUNED_ABOVE_SQL =
    "SELECT w.txid::text, coalesce(w.txid >= $1::xid8, false)"
    "  FROM content.etl_change_log_pruned() AS w";

/* This index's writer lock: taken, or who holds it. */
static const char *const LOCK_INDEX_SQL =
    "SELECT locked, coalesce(holder, 0) FROM content.etl_lock_index($1::text)";

/* Whether this session holds it. */
static const char *const INDEX_LOCKED_SQL = "SELECT content.etl_index_locked($1::text)";

/* The wake-up signal: moved by the catalogue's triggers after every
 * statement that changes a row the indices read
 * (etc/postgres/migrations/0002_snapshots.sql, "Wake-up signal").  A new sequence's first nextval
 * returns its last_value (is_called false until then): counted as one below it, so the first move
 * shows too. */
static const char *const CHANGE_SIGNAL_SQL =
    "SELECT (last_value - CASE WHEN is_called THEN 0 ELSE 1 END)::text"
    "  FROM content.etl_change_signal";

/* SQLSTATEs of a cursor value PostgreSQL refuses: 22P02
 * invalid_text_representation (a txid, id or snapshot text), 22003
 * numeric_value_out_of_range (a txid past 2^64 - 1), 22007 and 22008 (a
 * datetime, kept for any timestamp parameter). */
#define SQLSTATE_BAD_DATETIME_FORMAT "22007"
#define SQLSTATE_DATETIME_OVERFLOW   "22008"
#define SQLSTATE_BAD_TEXT            "22P02"
#define SQLSTATE_OUT_OF_RANGE        "22003"

/* Columns of a change query: txid, id, doc_id, modified. */
#define CHANGE_COLUMNS 4

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

int pg_source_init(struct pg_source *pg, const struct etl_config *config,
                   const struct index_config *idx, char *err, size_t err_size)
{
    *pg = (struct pg_source){0};
    pg->config = config;
    pg->idx = idx;
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

/* The writer lock goes with the connection. */
void pg_source_disconnect(struct pg_source *pg)
{
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->conn = NULL;
    pg->locked = false;
}

enum log_level pg_notice_level(const char *severity)
{
    if (severity == NULL)
        return LOG_WARN;
    if (strcmp(severity, "DEBUG") == 0)
        return LOG_DEBUG;
    if (strcmp(severity, "LOG") == 0 || strcmp(severity, "INFO") == 0 ||
        strcmp(severity, "NOTICE") == 0)
        return LOG_INFO;
    return LOG_WARN;
}

/* libpq's notice receiver: a notice or warning the server sends (such as
 * the WARNING every client gets when the server crashes or shuts down
 * immediately) becomes one log line, not libpq's raw stderr text. */
static void log_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    struct log_line *line = log_begin(pg_notice_level(severity), "postgres notice");
    log_str(line, "severity", severity ? severity : "");
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    log_str(line, "sqlstate", sqlstate ? sqlstate : "");
    const char *text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    log_str(line, "text", text ? text : PQresultErrorMessage(res));
    log_end(line);
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
    snprintf(pg->sqlstate, sizeof pg->sqlstate, "%s", state ? state : "");
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

/* Runs sql with text parameters in its own implicit transaction; expects
 * rows.  *result is the caller's to PQclear() on PG_OK. */
static enum pg_failure run_query(struct pg_source *pg, const char *what, const char *sql, int count,
                                 const char *const *params, PGresult **result)
{
    *result = NULL;
    if (pg->conn == NULL)
        return PG_UNAVAILABLE;
    PGresult *res = PQexecParams(pg->conn, sql, count, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1) {
        enum pg_failure failure = classify(pg, what, res);
        PQclear(res);
        return failure;
    }
    *result = res;
    return PG_OK;
}

/* The schema version on every new connection, before anything that needs
 * the schema: another version than this build's is PG_SCHEMA, which
 * waiting does not fix (an upgrade does). */
static enum pg_failure check_schema(struct pg_source *pg)
{
    struct schema_found found;
    char why[512];
    if (schema_version_read(pg->conn, &found, why, sizeof why) < 0) {
        keep_error(pg, "schema version", why);
        if (PQstatus(pg->conn) != CONNECTION_OK)
            pg_source_disconnect(pg);
        return PG_UNAVAILABLE;
    }
    if (schema_version_judge(&found, SCHEMA_VERSION_EXPECTED) == SCHEMA_CURRENT)
        return PG_OK;
    schema_version_explain(&found, SCHEMA_VERSION_EXPECTED, why, sizeof why);
    keep_error(pg, "schema version", why);
    return PG_SCHEMA;
}

/* content.etl_preflight() on every new connection: a standby, or a
 * trigger that does not fire always, and waiting does not fix that
 * (PG_REFUSED, with its reason in pg->err). */
static enum pg_failure preflight(struct pg_source *pg)
{
    PGresult *res;
    enum pg_failure failure =
        run_query(pg, "content.etl_preflight()", PREFLIGHT_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    if (!PQgetisnull(res, 0, 0)) {
        keep_error(pg, "content.etl_preflight()", PQgetvalue(res, 0, 0));
        failure = PG_REFUSED;
    }
    PQclear(res);
    return failure;
}

/* Copies a text column, "" when NULL. */
static void copy_column(PGresult *res, int column, char *out, size_t size)
{
    snprintf(out, size, "%s", PQgetisnull(res, 0, column) ? "" : PQgetvalue(res, 0, column));
}

/* content.etl_restamp() on every new connection: rows a dump brought from
 * another cluster carry its ids, which no snapshot here shows committed
 * until the counter passes them; they get this cluster's (logged). */
static enum pg_failure restamp(struct pg_source *pg)
{
    PGresult *res;
    enum pg_failure failure = run_query(pg, "content.etl_restamp()", RESTAMP_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    long long rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (rows > 0) {
        struct log_line *line = log_begin(
            LOG_WARN,
            "rows stamped by another cluster's transactions restamped (a dump restored?)");
        log_int(line, "rows", rows);
        log_end(line);
    }
    return PG_OK;
}

/* content.etl_cluster() into pg->cluster, once per connection: a server
 * keeps its identifier, and its timeline while the connection lasts (a
 * promotion of the standby it is on aside, which loses nothing). */
static enum pg_failure read_cluster(struct pg_source *pg)
{
    pg->cluster = (struct cluster_id){0};
    PGresult *res;
    enum pg_failure failure = run_query(pg, "content.etl_cluster()", CLUSTER_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    long long timeline = PQgetisnull(res, 0, 1) ? 0 : strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    if (PQgetisnull(res, 0, 0) || !cluster_system_identifier_is_valid(PQgetvalue(res, 0, 0)) ||
        !cluster_timeline_is_valid(timeline)) {
        keep_error(pg, "content.etl_cluster()", "returned no system identifier and timeline");
        failure = PG_UNAVAILABLE;
    } else {
        copy_column(res, 0, pg->cluster.system_identifier, sizeof pg->cluster.system_identifier);
        pg->cluster.timeline = timeline;
    }
    PQclear(res);
    return failure;
}

/* content.etl_lock_index() on a connection that does not hold the lock:
 * PG_LOCKED, with the holder's pid, when another session does. */
static enum pg_failure take_lock(struct pg_source *pg)
{
    const char *params[1] = {pg->lock_index};
    PGresult *res;
    enum pg_failure failure =
        run_query(pg, "content.etl_lock_index()", LOCK_INDEX_SQL, 1, params, &res);
    if (failure != PG_OK)
        return failure;
    pg->locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    pg->lock_holder = pg->locked ? 0 : strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    if (pg->locked)
        return PG_OK;
    keep_error(pg, "content.etl_lock_index()", "another session holds this index's writer lock");
    return PG_LOCKED;
}

/* Connects with the [postgres] settings; empty settings are left to libpq's
 * defaults and PG* variables.  The password is passed to libpq only and never
 * logged.  The writer lock before anything else on a new connection. */
enum pg_failure pg_source_connect(struct pg_source *pg)
{
    if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
        return pg->lock_index == NULL || pg->locked ? PG_OK : take_lock(pg);
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
    ADD_PARAM("sslrootcert", c->pg_sslrootcert);
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
    /* libpq prints notices raw to stderr unless told otherwise. */
    PQsetNoticeReceiver(pg->conn, log_notice, NULL);
    if (password != NULL) {
        memset(password, 0, strlen(password));
        free(password);
    }
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        keep_error(pg, "connect", PQerrorMessage(pg->conn));
        pg_source_disconnect(pg);
        return PG_UNAVAILABLE;
    }
    enum pg_failure failure = check_schema(pg);
    if (failure == PG_OK)
        failure = preflight(pg);
    if (failure == PG_OK)
        failure = restamp(pg);
    if (failure == PG_OK)
        failure = read_cluster(pg);
    if (failure == PG_OK)
        failure = prepare(pg, DOCUMENTS_STATEMENT, pg->documents_sql);
    for (size_t i = 0; failure == PG_OK && i < pg->change_count; i++) {
        char name[32];
        snprintf(name, sizeof name, CHANGES_STATEMENT_FMT, i);
        failure = prepare(pg, name, pg->change_sql[i]);
    }
    if (failure == PG_OK && pg->lock_index != NULL)
        failure = take_lock(pg);
    /* Kept while another session holds the lock: the next try asks again
     * on it. */
    if (failure != PG_OK && failure != PG_LOCKED)
        pg_source_disconnect(pg);
    return failure;
}

/* On the connection pg_source_connect leaves: a new one has just taken the
 * lock; an old one is asked. */
enum pg_failure pg_source_confirm_lock(struct pg_source *pg)
{
    if (pg->lock_index == NULL)
        return PG_OK;
    bool fresh = pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK;
    enum pg_failure failure = pg_source_connect(pg);
    if (failure != PG_OK || fresh)
        return failure;
    const char *params[1] = {pg->lock_index};
    PGresult *res;
    failure = run_query(pg, "content.etl_index_locked()", INDEX_LOCKED_SQL, 1, params, &res);
    if (failure != PG_OK)
        return failure;
    pg->locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (pg->locked)
        return PG_OK;
    pg->lock_holder = 0;
    keep_error(pg, "content.etl_index_locked()", "this session no longer holds the writer lock");
    return PG_LOCKED;
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

/* True for the SQLSTATEs of a cursor PostgreSQL does not accept; the
 * queries that check it take no other text than the cursor's. */
static bool bad_datetime(const struct pg_source *pg)
{
    return strcmp(pg->sqlstate, SQLSTATE_BAD_DATETIME_FORMAT) == 0 ||
           strcmp(pg->sqlstate, SQLSTATE_DATETIME_OVERFLOW) == 0 ||
           strcmp(pg->sqlstate, SQLSTATE_BAD_TEXT) == 0 ||
           strcmp(pg->sqlstate, SQLSTATE_OUT_OF_RANGE) == 0;
}

/* Connects if needed and runs sql (run_query).  The queries run here take
 * no text but the cursor's that PostgreSQL could refuse as a value: such a
 * refusal is PG_BAD_CURSOR. */
static enum pg_failure connect_and_query(struct pg_source *pg, const char *what, const char *sql,
                                         int count, const char *const *params, PGresult **result)
{
    *result = NULL;
    enum pg_failure failure = pg_source_connect(pg);
    if (failure == PG_OK)
        failure = run_query(pg, what, sql, count, params, result);
    if (failure == PG_UNAVAILABLE && bad_datetime(pg))
        return PG_BAD_CURSOR;
    return failure;
}

/* The snapshot, in its own implicit transaction: every batch's own
 * snapshot is taken after it, so what it shows committed stays visible. */
enum pg_failure pg_source_snapshot(struct pg_source *pg, struct pg_snapshot *out)
{
    *out = (struct pg_snapshot){0};
    PGresult *res;
    enum pg_failure failure =
        connect_and_query(pg, "pg_current_snapshot()", SNAPSHOT_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    if (PQgetisnull(res, 0, 0) || !snapshot_is_valid(PQgetvalue(res, 0, 0))) {
        PQclear(res);
        keep_error(pg, "pg_current_snapshot()", "returned no snapshot the worker can keep");
        return PG_UNAVAILABLE;
    }
    copy_column(res, 0, out->at, sizeof out->at);
    copy_column(res, 1, out->kind, sizeof out->kind);
    copy_column(res, 2, out->detail, sizeof out->detail);
    out->held_s = PQgetisnull(res, 0, 3) ? 0 : strtod(PQgetvalue(res, 0, 3), NULL);
    PQclear(res);
    return PG_OK;
}

enum pg_failure pg_source_version(struct pg_source *pg, long long *version)
{
    PGresult *res;
    enum pg_failure failure =
        run_query(pg, "content.etl_snapshot_version()", VERSION_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    char *end;
    errno = 0;
    *version = PQgetisnull(res, 0, 0) ? -1 : strtoll(PQgetvalue(res, 0, 0), &end, 10);
    PQclear(res);
    if (*version <= 0 || errno != 0) {
        keep_error(pg, "content.etl_snapshot_version()", "returned no usable version");
        return PG_BAD_SQL;
    }
    return PG_OK;
}

/* One call; the function does the upsert. */
enum pg_failure pg_source_report_position(struct pg_source *pg, const char *index_name,
                                          const char *source, const char *txid)
{
    const char *params[3] = {index_name, source, txid};
    PGresult *res;
    enum pg_failure failure = connect_and_query(pg, "content.etl_report_position()",
                                                REPORT_POSITION_SQL, 3, params, &res);
    PQclear(res);
    return failure;
}

/* The index names go as one text[] literal, each quoted (names are
 * checked by the config, but quote anyway). */
enum pg_failure pg_source_prune_change_log(struct pg_source *pg, const char *const *indices,
                                           size_t count, int retention_s, long long *deleted)
{
    *deleted = 0;
    struct buffer array = {0};
    buffer_append_str(&array, "{");
    for (size_t i = 0; i < count; i++) {
        buffer_append_str(&array, i > 0 ? ",\"" : "\"");
        for (const char *c = indices[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                buffer_append_str(&array, "\\");
            buffer_append(&array, c, 1);
        }
        buffer_append_str(&array, "\"");
    }
    buffer_append_str(&array, "}");
    char retention[16];
    snprintf(retention, sizeof retention, "%d", retention_s);
    const char *params[2] = {array.data, retention};
    PGresult *res;
    enum pg_failure failure = connect_and_query(pg, "content.etl_prune_change_log()",
                                                PRUNE_CHANGE_LOG_SQL, 2, params, &res);
    buffer_free(&array);
    if (failure == PG_OK) {
        *deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return failure;
}

/* One row always (NULLs while nothing was deleted). */
enum pg_failure pg_source_pruned_above(struct pg_source *pg, const char *txid, bool *above,
                                       char *watermark, size_t size)
{
    *above = false;
    watermark[0] = '\0';
    const char *params[1] = {txid};
    PGresult *res;
    enum pg_failure failure =
        connect_and_query(pg, "content.etl_change_log_pruned()", PRUNED_ABOVE_SQL, 1, params, &res);
    if (failure != PG_OK)
        return failure;
    copy_column(res, 0, watermark, size);
    *above = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    return PG_OK;
}

/* On the open connection only: an idle worker reading the signal does not
 * reconnect (the next round does, with its backoff). */
enum pg_failure pg_source_change_signal(struct pg_source *pg, int64_t *out)
{
    PGresult *res;
    enum pg_failure failure =
        run_query(pg, "content.etl_change_signal", CHANGE_SIGNAL_SQL, 0, NULL, &res);
    if (failure != PG_OK)
        return failure;
    char *end;
    long long value = strtoll(PQgetvalue(res, 0, 0), &end, 10);
    if (*end != '\0') {
        keep_error(pg, "content.etl_change_signal", "last_value is not a number");
        failure = PG_UNAVAILABLE;
    }
    PQclear(res);
    *out = (int64_t)value;
    return failure;
}

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

/* PQexecPrepared, but while it waits for the answer pg->wait (when set)
 * does the caller's other work.  The last result, as PQexecPrepared. */
static PGresult *exec_prepared(struct pg_source *pg, const char *name, int count,
                               const char *const *params)
{
    if (pg->wait == NULL)
        return PQexecPrepared(pg->conn, name, count, params, NULL, NULL, 0);
    if (!PQsendQueryPrepared(pg->conn, name, count, params, NULL, NULL, 0))
        return NULL;
    while (PQisBusy(pg->conn)) {
        pg->wait(pg->wait_ctx, PQsocket(pg->conn));
        if (!PQconsumeInput(pg->conn))
            break;
    }
    PGresult *last = NULL;
    PGresult *res;
    while ((res = PQgetResult(pg->conn)) != NULL) {
        PQclear(last);
        last = res;
    }
    return last;
}

/* Runs a prepared statement with text parameters; expects rows. */
static enum pg_failure run_prepared(struct pg_source *pg, const char *name, int count,
                                    const char *const *params, PGresult **result)
{
    *result = NULL;
    if (pg->conn == NULL)
        return PG_UNAVAILABLE;
    PGresult *res = exec_prepared(pg, name, count, params);
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

/* Checks what the rest of the worker takes on trust in a change result:
 * txid and id set (they become the cursor); doc_id NULL or a uuid as
 * PostgreSQL prints it (it is written into the document query's uuid[]
 * literal, where "a,b" would be two ids); and in the first source, doc_id
 * = id, since the full load walks that source alone as the index's own
 * rows (etc/sql/README.md).  That last one cannot be told from the SQL
 * text, so it is checked on every row the source returns, before the batch
 * is sent.  PG_BAD_SQL with pg->err naming the file and the row. */
static enum pg_failure check_change_rows(struct pg_source *pg, size_t source, PGresult *res)
{
    const char *file = pg->idx->changes_sql[source];
    char message[sizeof pg->err];
    for (int r = 0; r < PQntuples(res); r++) {
        const char *id = PQgetvalue(res, r, 1);
        const char *doc_id = PQgetvalue(res, r, 2);
        if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 1)) {
            snprintf(message, sizeof message, "row %d: txid and id must not be NULL", r + 1);
        } else if (!PQgetisnull(res, r, 2) && !cursor_is_uuid(doc_id) &&
                   (source == 0 || strcmp(doc_id, CURSOR_DOC_ALL) != 0)) {
            snprintf(message, sizeof message, "row %d: doc_id \"%.*s\" is not a uuid", r + 1,
                     CURSOR_UUID_LEN, doc_id);
        } else if (source == 0 && (PQgetisnull(res, r, 2) || strcmp(id, doc_id) != 0)) {
            snprintf(pg->err, sizeof pg->err,
                     "%s:%d: changes: the first file must list the index's own rows (doc_id = "
                     "id), and %s returned id %.*s with doc_id %.*s",
                     pg->config->path, pg->idx->changes_line, file, CURSOR_UUID_LEN, id,
                     CURSOR_UUID_LEN, PQgetisnull(res, r, 2) ? "NULL" : doc_id);
            return PG_BAD_SQL;
        } else {
            continue;
        }
        keep_error(pg, file, message);
        return PG_BAD_SQL;
    }
    return PG_OK;
}

enum pg_failure pg_source_changes(struct pg_source *pg, size_t source, const struct cursor *from,
                                  const struct snapshot_window *window, int limit,
                                  PGresult **result)
{
    char name[32];
    char limit_text[16];
    snprintf(name, sizeof name, CHANGES_STATEMENT_FMT, source);
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *params[] = {from->txid, from->id,     window->to,
                            limit_text, from->doc_id, window->from};
    enum pg_failure failure =
        run_prepared(pg, name, (int)(sizeof params / sizeof params[0]), params, result);
    if (failure == PG_UNAVAILABLE && bad_datetime(pg))
        return PG_BAD_CURSOR;
    if (failure == PG_OK && PQnfields(*result) != CHANGE_COLUMNS) {
        keep_error(pg, name, "a change query must return (txid, id, doc_id, modified)");
        failure = PG_BAD_SQL;
    } else if (failure == PG_OK) {
        failure = check_change_rows(pg, source, *result);
    }
    if (failure == PG_BAD_SQL) {
        PQclear(*result);
        *result = NULL;
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
