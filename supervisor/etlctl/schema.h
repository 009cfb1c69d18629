/* schema.h - etlctl schema upgrade | status: the catalogue's schema
 * version (common/schema_version.h) and the migrations that bring a
 * database to this build's (schema_files.h).
 *
 * upgrade applies what is missing, in order, each migration in its own
 * transaction with its row of content.schema_migrations (a no-transaction
 * one statement by statement, then its row); DDL only, never data or
 * passwords.  A session advisory lock keeps two upgrades apart: the second
 * waits, polling (a session blocked in a lock would hold a snapshot that
 * CREATE INDEX CONCURRENTLY waits for), then finds nothing to do.  A
 * database newer than the files is refused (EXIT_CONFIG).  Safe to run on
 * every start. */
#ifndef ETL_SCHEMA_H
#define ETL_SCHEMA_H

/* What to do, where. */
struct schema_options {
    const char *action;     /* "upgrade" or "status" */
    const char *dsn;        /* libpq connection string; NULL: libpq's PG* variables */
    const char *migrations; /* the migrations directory */
    int timeout_s;          /* upgrade: longest wait for another upgrade's lock; 0 none */
};

/* Runs the command; returns the exit status (exit_status.h, EXIT_BY_SCHEMA). */
int schema_command(const struct schema_options *options);

#endif
