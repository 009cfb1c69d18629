/* schema.c - see schema.h. */
#include "schema.h"

#include "exit_status.h"
#include "schema_files.h"
#include "schema_version.h"
#include "util.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How often a waiting upgrade asks for the lock again. */
#define LOCK_POLL_MS 200
/* The application_name of the upgrade's session (pg_stat_activity). */
#define APPLICATION_NAME "etlctl schema"

/* The upgrade's session lock: two int4 keys, the first the hash of a
 * fixed name (the workers' index locks use another one). */
static const char *const TRY_LOCK_SQL =
    "SELECT pg_try_advisory_lock(hashtext('etl schema upgrade'), 0)";

/* Who holds it, for the waiting message. */
static const char *const LOCK_HOLDER_SQL =
    "SELECT coalesce(min(pid), 0) FROM pg_locks"
    " WHERE locktype = 'advisory' AND granted AND objsubid = 2"
    "   AND classid = hashtext('etl schema upgrade')::oid AND objid = 0";

/* The upgrade runs DDL that may take long on a large catalogue (a table
 * rewrite, an index build): no statement timeout of the role's applies. */
static const char *const SESSION_SQL = "SET statement_timeout = 0";

/* A migration's row; $3 is the file's bytes, hashed by the server. */
static const char *const RECORD_SQL =
    "INSERT INTO content.schema_migrations (version, name, checksum, baseline)"
    " VALUES ($1::int, $2, encode(sha256($3::bytea), 'hex'), $4::boolean)";

/* A row for version $1, run (not a baseline), whose checksum is not that
 * of $2, the file's bytes now. */
static const char *const CHANGED_SQL =
    "SELECT 1 FROM content.schema_migrations"
    " WHERE version = $1::int AND NOT baseline AND checksum <> encode(sha256($2::bytea), 'hex')";

/* An index of that name on that table's schema left invalid by a
 * concurrent build that stopped: the statement that drops it. */
static const char *const INVALID_INDEX_SQL =
    "SELECT format('DROP INDEX CONCURRENTLY %I.%I', n.nspname, c.relname)"
    "  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    "  JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relname = $1 AND NOT i.indisvalid"
    "   AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))";

/* Prints PostgreSQL's message for what failed. */
static void print_pg_error(const char *what, PGconn *conn, const PGresult *res)
{
    const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    fprintf(stderr, "etlctl schema: %s: %s%s", what, msg,
            msg[0] != '\0' && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

/* The exit status of a failed statement: the connection gone is
 * EXIT_SCHEMA_UNREACHABLE, anything else EXIT_SCHEMA_FAILED. */
static int failed(PGconn *conn)
{
    return PQstatus(conn) == CONNECTION_OK ? EXIT_SCHEMA_FAILED : EXIT_SCHEMA_UNREACHABLE;
}

/* Runs sql (one or several statements); 0, or the exit status with the
 * error printed. */
static int run(PGconn *conn, const char *what, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = 0;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        print_pg_error(what, conn, res);
        rc = failed(conn);
    }
    PQclear(res);
    return rc;
}

/* Connects with dsn (NULL: the PG* variables alone). */
static PGconn *connect_to(const char *dsn)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {dsn, APPLICATION_NAME, NULL};
    if (dsn == NULL) {
        keys[0] = "application_name";
        values[0] = APPLICATION_NAME;
        keys[1] = NULL;
    }
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        print_pg_error("connecting to PostgreSQL", conn, NULL);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Takes the upgrade lock, polling; 0, or the exit status (EXIT_SCHEMA_LOCKED
 * after timeout_s, when not 0). */
static int take_lock(PGconn *conn, int timeout_s)
{
    int64_t deadline = monotonic_ms() + (int64_t)timeout_s * 1000;
    bool told = false;
    for (;;) {
        PGresult *res = PQexec(conn, TRY_LOCK_SQL);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            print_pg_error("taking the upgrade lock", conn, res);
            PQclear(res);
            return failed(conn);
        }
        bool locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (locked)
            return 0;
        if (!told) {
            res = PQexec(conn, LOCK_HOLDER_SQL);
            const char *pid = PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "?";
            printf("etlctl schema: another upgrade is running (pid %s); waiting for it\n", pid);
            fflush(stdout);
            PQclear(res);
            told = true;
        }
        if (timeout_s > 0 && monotonic_ms() >= deadline) {
            fprintf(stderr, "etlctl schema: another upgrade still runs after %d s\n", timeout_s);
            return EXIT_SCHEMA_LOCKED;
        }
        poll(NULL, 0, LOCK_POLL_MS);
    }
}

/* Inserts the row of migration m (baseline: found, not run). */
static int record(PGconn *conn, const struct schema_migration *m, bool baseline)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[4] = {version, m->name, m->text, baseline ? "true" : "false"};
    int lengths[4] = {0, 0, (int)m->len, 0};
    int formats[4] = {0, 0, 1, 0};
    PGresult *res = PQexecParams(conn, RECORD_SQL, 4, NULL, params, lengths, formats, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        print_pg_error("recording the version", conn, res);
        rc = failed(conn);
    }
    PQclear(res);
    return rc;
}

/* Ends a transaction: COMMIT after rc 0, else ROLLBACK (rc kept). */
static int finish(PGconn *conn, int rc)
{
    if (rc != 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return rc;
    }
    return run(conn, "COMMIT", "COMMIT");
}

/* Applies a transactional migration with its row (and the version table
 * first when there is none yet). */
static int apply_in_transaction(PGconn *conn, const struct schema_migrations *all,
                                const struct schema_migration *m, bool versioned)
{
    int rc = run(conn, "BEGIN", "BEGIN");
    if (rc != 0)
        return rc;
    rc = run(conn, m->name, m->text);
    if (rc == 0 && !versioned)
        rc = run(conn, SCHEMA_VERSION_TABLE_FILE, all->version_table_sql);
    if (rc == 0)
        rc = record(conn, m, false);
    return finish(conn, rc);
}

/* Words of a statement the index name and table are looked for in. */
#define INDEX_WORDS 10

/* The index name and table of "CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT
 * EXISTS name ON table ...", or false for another statement. */
static bool concurrent_index(const char *sql, char *name, size_t name_size, char *table,
                             size_t table_size)
{
    static const char *const shape[] = {"CREATE", "INDEX",  "CONCURRENTLY", "IF",
                                        "NOT",    "EXISTS", NULL,           "ON"};
    char words[INDEX_WORDS][128];
    int n = 0;
    const char *p = sql;
    while (n < INDEX_WORDS) {
        p += strspn(p, " \t\r\n");
        size_t len = strcspn(p, " \t\r\n(");
        if (len == 0 || len >= sizeof words[0])
            break;
        snprintf(words[n++], sizeof words[0], "%.*s", (int)len, p);
        p += len;
    }
    /* UNIQUE, when there, is skipped. */
    int skip = n > 1 && strcasecmp(words[1], "UNIQUE") == 0 ? 1 : 0;
    size_t parts = sizeof shape / sizeof shape[0];
    if (n < (int)parts + 1 + skip)
        return false;
    for (size_t i = 0; i < parts; i++) {
        int at = (int)i + (i > 0 ? skip : 0);
        if (shape[i] != NULL && strcasecmp(words[at], shape[i]) != 0)
            return false;
    }
    snprintf(name, name_size, "%s", words[6 + skip]);
    snprintf(table, table_size, "%s", words[8 + skip]);
    return true;
}

/* Before "CREATE INDEX CONCURRENTLY IF NOT EXISTS": an index of that name
 * left invalid by a build that stopped would be taken as there; it is
 * dropped so that the statement builds it again. */
static int drop_invalid_index(PGconn *conn, const char *sql)
{
    char name[128];
    char table[256];
    if (!concurrent_index(sql, name, sizeof name, table, sizeof table))
        return 0;
    const char *params[2] = {name, table};
    PGresult *res = PQexecParams(conn, INVALID_INDEX_SQL, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        print_pg_error("looking for an invalid index", conn, res);
        PQclear(res);
        return failed(conn);
    }
    int rc = 0;
    if (PQntuples(res) > 0) {
        printf("etlctl schema: index %s left invalid by a build that stopped: dropped, built "
               "again\n",
               name);
        rc = run(conn, name, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return rc;
}

/* Applies a no-transaction migration: each statement on its own, then its
 * row. */
static int apply_statements(PGconn *conn, const struct schema_migration *m)
{
    char **statements;
    char err[256];
    int count = schema_files_split(m->text, &statements, err, sizeof err);
    if (count < 0) {
        fprintf(stderr, "etlctl schema: %s.sql: %s\n", m->name, err);
        return EXIT_CONFIG;
    }
    int rc = 0;
    for (int i = 0; i < count; i++) {
        if (rc == 0)
            rc = drop_invalid_index(conn, statements[i]);
        if (rc == 0)
            rc = run(conn, m->name, statements[i]);
        free(statements[i]);
    }
    free(statements);
    return rc != 0 ? rc : record(conn, m, false);
}

/* A catalogue of 0.1.0 (no version table): the version table, and 0001's
 * row marked baseline; nothing of 0001 is run. */
static int record_baseline(PGconn *conn, const struct schema_migrations *all)
{
    printf("etlctl schema: a catalogue without a version table: taken as version %d (%s, "
           "release 0.1.0)\n",
           SCHEMA_VERSION_BASELINE, all->items[SCHEMA_VERSION_BASELINE - 1].name);
    int rc = run(conn, "BEGIN", "BEGIN");
    if (rc != 0)
        return rc;
    rc = run(conn, SCHEMA_VERSION_TABLE_FILE, all->version_table_sql);
    if (rc == 0)
        rc = record(conn, &all->items[SCHEMA_VERSION_BASELINE - 1], true);
    return finish(conn, rc);
}

/* Reads the version; 0, or the exit status with the error printed. */
static int read_version(PGconn *conn, struct schema_found *found)
{
    char err[512];
    if (schema_version_read(conn, found, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "etlctl schema: %s\n", err);
    return failed(conn);
}

/* Refuses a database newer than the files; 0 otherwise. */
static int refuse_newer(const struct schema_found *found, int known)
{
    if (found->version <= known)
        return 0;
    char why[512];
    schema_version_explain(found, known, why, sizeof why);
    fprintf(stderr, "etlctl schema: %s\n", why);
    return EXIT_CONFIG;
}

/* The upgrade, lock held: what is missing, in order. */
static int upgrade(PGconn *conn, const struct schema_migrations *all)
{
    int known = (int)all->count;
    struct schema_found found;
    int rc = read_version(conn, &found);
    if (rc == 0)
        rc = refuse_newer(&found, known);
    if (rc == 0 && !found.versioned && found.catalogue) {
        rc = record_baseline(conn, all);
        found.versioned = rc == 0;
    }
    for (int v = found.version + 1; rc == 0 && v <= known; v++) {
        const struct schema_migration *m = &all->items[v - 1];
        printf("etlctl schema: applying %s%s\n", m->name,
               m->no_transaction ? " (statement by statement, outside a transaction)" : "");
        fflush(stdout);
        rc = m->no_transaction ? apply_statements(conn, m)
                               : apply_in_transaction(conn, all, m, found.versioned);
        found.versioned = found.versioned || rc == 0;
        found.version = v;
    }
    if (rc == 0)
        printf("etlctl schema: version %d, current\n", known);
    return rc;
}

/* Warns of each applied migration (not a baseline) whose file has
 * changed since: it is not applied again, so the database may differ from
 * what the file now says. */
static void warn_changed(PGconn *conn, const struct schema_migrations *all, int applied)
{
    for (int v = 1; v <= applied && v <= (int)all->count; v++) {
        const struct schema_migration *m = &all->items[v - 1];
        char version[16];
        snprintf(version, sizeof version, "%d", v);
        const char *params[2] = {version, m->text};
        int lengths[2] = {0, (int)m->len};
        int formats[2] = {0, 1};
        PGresult *res = PQexecParams(conn, CHANGED_SQL, 2, NULL, params, lengths, formats, 0);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            printf("warning: %s.sql has changed since it was applied (checksum); it is not "
                   "applied again\n",
                   m->name);
        PQclear(res);
    }
}

/* status: the version found against the files'. */
static int show_status(PGconn *conn, const struct schema_migrations *all)
{
    int known = (int)all->count;
    struct schema_found found;
    int rc = read_version(conn, &found);
    if (rc != 0)
        return rc;
    char text[512];
    schema_version_explain(&found, known, text, sizeof text);
    printf("version=%d expected=%d\n%s\n", found.version, known, text);
    if (found.versioned)
        warn_changed(conn, all, found.version);
    switch (schema_version_judge(&found, known)) {
    case SCHEMA_CURRENT:
        return EXIT_SCHEMA_CURRENT;
    case SCHEMA_NEWER:
        return EXIT_CONFIG;
    case SCHEMA_OLD:
    case SCHEMA_MISSING:
        break;
    }
    return EXIT_SCHEMA_BEHIND;
}

int schema_command(const struct schema_options *options)
{
    struct schema_migrations all;
    char err[512];
    if (schema_files_read(options->migrations, &all, err, sizeof err) < 0) {
        fprintf(stderr, "etlctl schema: %s\n", err);
        return EXIT_CONFIG;
    }
    if ((int)all.count != SCHEMA_VERSION_EXPECTED) {
        fprintf(stderr,
                "etlctl schema: %s has migrations up to %zu, this build's are up to %d: "
                "the files of another release?\n",
                options->migrations, all.count, SCHEMA_VERSION_EXPECTED);
        schema_files_free(&all);
        return EXIT_CONFIG;
    }
    PGconn *conn = connect_to(options->dsn);
    int rc = conn == NULL ? EXIT_SCHEMA_UNREACHABLE : run(conn, "SET", SESSION_SQL);
    if (rc == 0 && strcmp(options->action, "status") == 0) {
        rc = show_status(conn, &all);
    } else if (rc == 0) {
        rc = take_lock(conn, options->timeout_s);
        if (rc == 0)
            rc = upgrade(conn, &all);
    }
    PQfinish(conn);
    schema_files_free(&all);
    return rc;
}
