/* schema_files.h - the migration files of etc/postgres/migrations: which
 * there are, and the statements of one that runs outside a transaction.
 *
 * A migration is NNNN_name.sql (four digits, then lower-case letters,
 * digits and '_'); the numbers run from 1 without a gap.  A file whose
 * first line is SCHEMA_NO_TRANSACTION_MARK runs statement by statement
 * outside a transaction (CREATE/DROP INDEX CONCURRENTLY); any other in one
 * transaction.  docs/operations.md, "Schema upgrades", tells the rules. */
#ifndef ETL_SCHEMA_FILES_H
#define ETL_SCHEMA_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* The first line of a migration that runs outside a transaction. */
#define SCHEMA_NO_TRANSACTION_MARK "-- etl-migration: no-transaction"
/* The file, beside the migrations, that creates the version table. */
#define SCHEMA_VERSION_TABLE_FILE "schema_migrations.sql"

/* One migration file, read. */
struct schema_migration {
    int version;
    char *name; /* the file name without .sql */
    char *text; /* the whole file */
    size_t len;
    bool no_transaction;
};

/* Every migration of dir, by version. */
struct schema_migrations {
    struct schema_migration *items;
    size_t count;
    char *version_table_sql; /* SCHEMA_VERSION_TABLE_FILE's text */
};

/* Reads the migrations of dir.  0, or -1 with err filled (unreadable
 * directory or file, a bad name, a number twice or missing). */
int schema_files_read(const char *dir, struct schema_migrations *out, char *err, size_t err_size);
void schema_files_free(struct schema_migrations *migrations);

/* Splits text into its statements (ended by ';'; comments dropped; quotes
 * and double quotes respected).  Returns how many, *out a new array of new
 * strings; -1 with err filled for a dollar quote (not allowed in such a
 * file) or text after the last ';'. */
int schema_files_split(const char *text, char ***out, char *err, size_t err_size);

#endif
