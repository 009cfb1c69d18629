/* cursor.h - the keyset position of a change source: the last (modified, id)
 * done, as PostgreSQL printed them.  Plain text, so the state file and the
 * loop can hold one without knowing PostgreSQL. */
#ifndef ETL_CURSOR_H
#define ETL_CURSOR_H

#define CURSOR_TEXT_MAX 64
struct cursor {
    char modified[CURSOR_TEXT_MAX]; /* timestamptz as PostgreSQL prints it */
    char id[CURSOR_TEXT_MAX];       /* uuid */
};

/* The cursor before every row. */
extern const struct cursor CURSOR_START;

/* Sets both texts; a text longer than CURSOR_TEXT_MAX - 1 is cut (PostgreSQL
 * prints neither a timestamptz nor a uuid that long). */
void cursor_set(struct cursor *cursor, const char *modified, const char *id);

#endif
