/* cursor.h - the keyset position of a change source: the last (modified, id)
 * done, and within that row's group (a row that affects many documents gives
 * one line per document, ordered by doc_id) the last doc_id done, as
 * PostgreSQL printed them.  Plain text, so the state file and the loop can
 * hold one without knowing PostgreSQL. */
#ifndef ETL_CURSOR_H
#define ETL_CURSOR_H

#define CURSOR_TEXT_MAX 64
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

#endif
