/* schema_version.c - see schema_version.h. */
#include "schema_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which of the version table and the catalogue exist (to_regclass: NULL,
 * not an error, for a missing one). */
static const char *const TABLES_SQL = "SELECT to_regclass('content.schema_migrations') IS NOT NULL,"
                                      "       to_regclass('content.film_work') IS NOT NULL";

/* The highest version applied; 0 for an empty table. */
static const char *const VERSION_SQL =
    "SELECT coalesce(max(version), 0) FROM content.schema_migrations";

/* Runs sql, expecting one row; NULL with err filled otherwise. */
static PGresult *one_row(PGconn *conn, const char *sql, char *err, size_t err_size)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        return res;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    snprintf(err, err_size, "reading the schema version: %.*s", (int)strcspn(msg, "\n"), msg);
    PQclear(res);
    return NULL;
}

int schema_version_read(PGconn *conn, struct schema_found *found, char *err, size_t err_size)
{
    *found = (struct schema_found){0};
    PGresult *res = one_row(conn, TABLES_SQL, err, err_size);
    if (res == NULL)
        return -1;
    found->versioned = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    found->catalogue = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (!found->versioned) {
        found->version = found->catalogue ? SCHEMA_VERSION_BASELINE : 0;
        return 0;
    }
    res = one_row(conn, VERSION_SQL, err, err_size);
    if (res == NULL)
        return -1;
    found->version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

enum schema_verdict schema_version_judge(const struct schema_found *found, int expected)
{
    if (!found->catalogue && !found->versioned)
        return SCHEMA_MISSING;
    if (found->version < expected)
        return SCHEMA_OLD;
    if (found->version > expected)
        return SCHEMA_NEWER;
    return SCHEMA_CURRENT;
}

void schema_version_explain(const struct schema_found *found, int expected, char *out, size_t size)
{
    switch (schema_version_judge(found, expected)) {
    case SCHEMA_CURRENT:
        snprintf(out, size, "schema version %d, current", found->version);
        return;
    case SCHEMA_OLD:
        snprintf(out, size,
                 "the database's schema is version %d%s, this build needs %d: run "
                 "\"" SCHEMA_UPGRADE_COMMAND "\" as the schema's owner (docs/operations.md, "
                 "\"Schema upgrades\")",
                 found->version, found->versioned ? "" : " (0.1.0, no version table)", expected);
        return;
    case SCHEMA_NEWER:
        snprintf(out, size,
                 "the database's schema is version %d, newer than this build's %d: run a "
                 "release that knows it (its migrations cannot be undone here)",
                 found->version, expected);
        return;
    case SCHEMA_MISSING:
        snprintf(out, size,
                 "the database has no catalogue (no content.film_work): create it with "
                 "etc/postgres/init.sh, or \"" SCHEMA_UPGRADE_COMMAND "\" as a superuser");
        return;
    }
}
