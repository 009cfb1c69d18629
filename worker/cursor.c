/* cursor.c - see cursor.h. */
#include "cursor.h"

#include <stdio.h>

/* "-infinity" sorts before every timestamptz, the nil uuid before every id;
 * no row is stamped -infinity, so its group is done. */
const struct cursor CURSOR_START = {"-infinity", "00000000-0000-0000-0000-000000000000",
                                    CURSOR_GROUP_DONE};

/* snprintf cuts and always terminates. */
void cursor_set(struct cursor *cursor, const char *modified, const char *id)
{
    cursor_set_within(cursor, modified, id, NULL);
}

/* A NULL doc_id sorts last in its group (ORDER BY ... doc_id): done. */
void cursor_set_within(struct cursor *cursor, const char *modified, const char *id,
                       const char *doc_id)
{
    snprintf(cursor->modified, sizeof cursor->modified, "%s", modified);
    snprintf(cursor->id, sizeof cursor->id, "%s", id);
    snprintf(cursor->doc_id, sizeof cursor->doc_id, "%s", doc_id ? doc_id : CURSOR_GROUP_DONE);
}
