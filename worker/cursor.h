/* cursor.h - the position of a change source: the window of transactions it
 * reads (between two snapshots, pg_current_snapshot() texts) and, inside it,
 * the keyset (txid, id) of the last row done, and within that row's group (a
 * row that affects many documents gives one line per document, ordered by
 * doc_id) the last doc_id done, as PostgreSQL printed them.  Plain text, so
 * the state file and the loop can hold one without knowing PostgreSQL; the
 * checks of that text are here too, for the same reason (no libpq). */
#ifndef ETL_CURSOR_H
#define ETL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_TEXT_MAX 64
/* Room for a snapshot as PostgreSQL prints it ("xmin:xmax:xip,..."): one
 * id of up to 20 digits and a comma per transaction in progress, which
 * max_connections and max_prepared_transactions bound. */
#define SNAPSHOT_TEXT_MAX 16384
/* Length of a uuid as PostgreSQL prints it: 8-4-4-4-12 hex digits. */
#define CURSOR_UUID_LEN 36
/* The doc_id of a cursor whose (txid, id) group is done: the greatest
 * uuid, so "doc_id > it" holds for no document (etc/sql/README.md). */
#define CURSOR_GROUP_DONE "ffffffff-ffff-ffff-ffff-ffffffffffff"
/* The doc_id of a change that affects every document of the index (a
 * TRUNCATE): the index is rebuilt (etc/sql/README.md). */
#define CURSOR_DOC_ALL "*"
/* The snapshot in which no transaction is visible: a window from it reads
 * every row (a full load). */
#define SNAPSHOT_NONE "1:1:"

struct cursor {
    char txid[CURSOR_TEXT_MAX];     /* xid8: the transaction of the last row done */
    char id[CURSOR_TEXT_MAX];       /* uuid */
    char doc_id[CURSOR_TEXT_MAX];   /* uuid: last document done in the group */
    char modified[CURSOR_TEXT_MAX]; /* that row's `modified`, shown to people only; "" unknown */
};

/* The transactions a target reads: those visible in `to` and not in
 * `from`.  to is "" between windows (the next round takes one). */
struct snapshot_window {
    char from[SNAPSHOT_TEXT_MAX];
    char to[SNAPSHOT_TEXT_MAX];
};

/* The cursor before every row. */
extern const struct cursor CURSOR_START;

/* Sets the cursor after the whole (txid, id) group; a text longer than
 * CURSOR_TEXT_MAX - 1 is cut (PostgreSQL prints neither an xid8 nor a uuid
 * that long). */
void cursor_set(struct cursor *cursor, const char *txid, const char *id);

/* Sets the cursor inside the (txid, id) group, after doc_id; NULL doc_id
 * (a row that affects no document) is the group's end.  modified may be
 * NULL (unknown). */
void cursor_set_within(struct cursor *cursor, const char *txid, const char *id, const char *doc_id,
                       const char *modified);

/* True for a uuid as PostgreSQL prints it (lowercase, with dashes). */
bool cursor_is_uuid(const char *text);

/* True for an xid8 as PostgreSQL prints it: 1 to 20 decimal digits, at
 * most 2^64 - 1. */
bool cursor_is_txid(const char *text);

/* True for a snapshot as PostgreSQL prints it: "xmin:xmax:" and the ids in
 * progress, comma-separated, each an xid8. */
bool snapshot_is_valid(const char *text);

/* Copies the xmin (field 0) or xmax (field 1) of a valid snapshot into out;
 * false (out "") for an invalid one. */
bool snapshot_bound(const char *snapshot, int field, char *out, size_t size);

/* True when every transaction visible in snapshot b is visible in snapshot
 * a (a is at least as new as b: of two snapshots of one server, the later
 * one), decided by visibility as PostgreSQL decides it: an id below xmin
 * is visible, one at or past xmax is not, one between is unless it is in
 * progress.  False when either is not a valid snapshot. */
bool snapshot_covers(const char *a, const char *b);

/* Puts cursor at the start of the window that begins with snapshot from:
 * its xmin, where the range scan starts; modified is kept for display. */
void cursor_window_start(struct cursor *cursor, const char *from);

#endif
