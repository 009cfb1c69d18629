/* schema_version.h - which version of the catalogue's schema a database
 * has, and whether this build can work with it.
 *
 * The schema is made by numbered migrations (etc/postgres/migrations/
 * NNNN_name.sql); each one applied is a row of content.schema_migrations.
 * A database of release 0.1.0 has no such table: when it has the catalogue
 * (content.film_work) it counts as version 1, the 0.1.0 schema.  The
 * worker refuses any version but SCHEMA_VERSION_EXPECTED (exit 78, with the
 * command to run); etlctl schema upgrade brings a database to it.  The
 * number is the highest migration file's (tests/unit/test_schema_version.c
 * checks it against the files). */
#ifndef ETL_SCHEMA_VERSION_H
#define ETL_SCHEMA_VERSION_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The version this build's SQL is written for: the last migration's. */
#define SCHEMA_VERSION_EXPECTED 3
/* The version a catalogue without the version table has (release 0.1.0). */
#define SCHEMA_VERSION_BASELINE 1
/* What an operator runs to bring a database to SCHEMA_VERSION_EXPECTED. */
#define SCHEMA_UPGRADE_COMMAND "etlctl schema upgrade"

/* What a database says about its schema. */
struct schema_found {
    bool versioned; /* content.schema_migrations exists */
    bool catalogue; /* content.film_work exists */
    int version;    /* the highest applied; BASELINE for an unversioned
                       catalogue, 0 for none */
};

/* How a found schema compares with the one expected. */
enum schema_verdict {
    SCHEMA_CURRENT, /* the expected version */
    SCHEMA_OLD,     /* older: migrations are missing */
    SCHEMA_NEWER,   /* newer than this build knows */
    SCHEMA_MISSING, /* no catalogue at all */
};

/* Reads the schema's version on conn (two queries, no transaction of its
 * own).  0, or -1 with PostgreSQL's message in err. */
int schema_version_read(PGconn *conn, struct schema_found *found, char *err, size_t err_size);

/* The verdict on found against expected. */
enum schema_verdict schema_version_judge(const struct schema_found *found, int expected);

/* One sentence for a verdict that is not SCHEMA_CURRENT, naming the version
 * found, the one expected and what to do (SCHEMA_UPGRADE_COMMAND, or a
 * newer build); for SCHEMA_CURRENT, that it is current. */
void schema_version_explain(const struct schema_found *found, int expected, char *out, size_t size);

#endif
