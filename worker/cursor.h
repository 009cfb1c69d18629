/* cursor.h - the keyset position of a change source: the last (modified, id)
 * done, and within that row's group (a row that affects many documents gives
 * one line per document, ordered by doc_id) the last doc_id done, as
 * PostgreSQL printed them.  Plain text, so the state file and the loop can
 * hold one without knowing PostgreSQL; the checks and comparisons of that
 * text are here too, for the same reason (no libpq). */
#ifndef ETL_CURSOR_H
#define ETL_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#define CURSOR_TEXT_MAX 64
/* Length of a uuid as PostgreSQL prints it: 8-4-4-4-12 hex digits. */
#define CURSOR_UUID_LEN 36
/* The doc_id of a cursor whose (modified, id) group is done: the greatest
 * uuid, so "doc_id > it" holds for no document (etc/sql/README.md). */
#define CURSOR_GROUP_DONE "ffffffff-ffff-ffff-ffff-ffffffffffff"

struct cursor {
    char modified[CURSOR_TEXT_MAX]; /* timestamptz as PostgreSQL prints it */
    char id[CURSOR_TEXT_MAX];       /* uuid */
    char doc_id[CURSOR_TEXT_MAX];   /* uuid: last document done in the group */
};

/* The cursor before every row. */
extern const struct cursor CURSOR_START;

/* Sets the cursor after the whole (modified, id) group; a text longer than
 * CURSOR_TEXT_MAX - 1 is cut (PostgreSQL prints neither a timestamptz nor a
 * uuid that long). */
void cursor_set(struct cursor *cursor, const char *modified, const char *id);

/* Sets the cursor inside the (modified, id) group, after doc_id; NULL
 * doc_id (a row that affects no document) is the group's end. */
void cursor_set_within(struct cursor *cursor, const char *modified, const char *id,
                       const char *doc_id);

/* True for a uuid as PostgreSQL prints it (lowercase, with dashes). */
bool cursor_is_uuid(const char *text);

/* Parses a timestamptz printed by PostgreSQL with TimeZone=UTC
 * ("2021-06-16 20:14:09.221838+00", "-infinity", "infinity") into
 * microseconds since the epoch (INT64_MIN, INT64_MAX for the infinities).
 * Returns false for anything else: the check of a state file's cursor. */
bool cursor_timestamp_us(const char *text, int64_t *out);

/* True when horizon is earlier than cursor_modified (both as PostgreSQL
 * prints them): the database clock stepped back.  False when either is
 * unreadable. */
bool cursor_horizon_behind(const char *horizon, const char *cursor_modified);

#endif
