/* cluster_id.h - which PostgreSQL history a state file's snapshots were
 * read from: the cluster's system identifier (new with every initdb, so a
 * dump restored into another cluster shows) and its timeline (new with
 * every point-in-time recovery and every promotion of a standby), as
 * content.etl_cluster() gives them.  A database of another identifier or
 * timeline is not the one the cursors were read from (docs/architecture.md,
 * "Restores and failovers").  Plain text and a number, so the state file
 * holds one without libpq. */
#ifndef ETL_CLUSTER_ID_H
#define ETL_CLUSTER_ID_H

#include <stdbool.h>

/* Room for a bigint as PostgreSQL prints it: a sign and 19 digits. */
#define CLUSTER_SYSTEM_ID_MAX 21

struct cluster_id {
    char system_identifier[CLUSTER_SYSTEM_ID_MAX]; /* pg_control_system()'s; "" unknown */
    long long timeline;                            /* 1 ..; 0 unknown */
};

/* True once both are known (a state file of the release before them has
 * neither). */
bool cluster_id_known(const struct cluster_id *id);

/* True for a system identifier as PostgreSQL prints a bigint. */
bool cluster_system_identifier_is_valid(const char *text);

/* True for a timeline id: 1 to 2^32 - 1. */
bool cluster_timeline_is_valid(long long timeline);

/* Why found is not the history saved, for the log ("another cluster: its
 * system identifier differs", "a timeline switch"); NULL when it is the
 * same or saved is unknown. */
const char *cluster_id_differs(const struct cluster_id *saved, const struct cluster_id *found);

#endif
