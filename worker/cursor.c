/* cursor.c - see cursor.h. */
#include "cursor.h"

#include <stdio.h>

/* "-infinity" sorts before every timestamptz, the nil uuid before every id. */
const struct cursor CURSOR_START = {"-infinity", "00000000-0000-0000-0000-000000000000"};

/* snprintf cuts and always terminates. */
void cursor_set(struct cursor *cursor, const char *modified, const char *id)
{
    snprintf(cursor->modified, sizeof cursor->modified, "%s", modified);
    snprintf(cursor->id, sizeof cursor->id, "%s", id);
}
