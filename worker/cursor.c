/* cursor.c - see cursor.h. */
#include "cursor.h"

#include <stdio.h>
#include <string.h>

/* The longest xid8 as PostgreSQL prints it: 2^64 - 1, 20 digits. */
#define TXID_DIGITS_MAX 20
#define TXID_MAX_TEXT   "18446744073709551615"
/* Snapshot fields: xmin, xmax, then the ids in progress. */
#define SNAPSHOT_FIELDS 3

/* Transaction id 0 sorts before every row, the nil uuid before every id;
 * no row has id 0, so its group is done. */
const struct cursor CURSOR_START = {"0", "00000000-0000-0000-0000-000000000000", CURSOR_GROUP_DONE,
                                    ""};

/* snprintf cuts and always terminates. */
void cursor_set(struct cursor *cursor, const char *txid, const char *id)
{
    cursor_set_within(cursor, txid, id, NULL, NULL);
}

/* A NULL doc_id sorts last in its group (ORDER BY ... doc_id): done. */
void cursor_set_within(struct cursor *cursor, const char *txid, const char *id, const char *doc_id,
                       const char *modified)
{
    snprintf(cursor->txid, sizeof cursor->txid, "%s", txid);
    snprintf(cursor->id, sizeof cursor->id, "%s", id);
    snprintf(cursor->doc_id, sizeof cursor->doc_id, "%s", doc_id ? doc_id : CURSOR_GROUP_DONE);
    snprintf(cursor->modified, sizeof cursor->modified, "%s", modified ? modified : "");
}

/* Only lowercase hex digits and the four dashes, at their places. */
bool cursor_is_uuid(const char *text)
{
    for (size_t i = 0; i < CURSOR_UUID_LEN; i++) {
        char c = text[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return text[CURSOR_UUID_LEN] == '\0';
}

/* The number of decimal digits at text, up to TXID_DIGITS_MAX + 1. */
static size_t digits(const char *text)
{
    size_t n = 0;
    while (n <= TXID_DIGITS_MAX && text[n] >= '0' && text[n] <= '9')
        n++;
    return n;
}

/* Digits only, not above 2^64 - 1 (PostgreSQL 15 reads a larger one as
 * 2^64 - 1 without a word, so it is refused here). */
bool cursor_is_txid(const char *text)
{
    size_t n = digits(text);
    if (n == 0 || n > TXID_DIGITS_MAX || text[n] != '\0')
        return false;
    return n < TXID_DIGITS_MAX || strcmp(text, TXID_MAX_TEXT) <= 0;
}

/* "xmin:xmax:" then "id,id,...", every id an xid8; nothing after. */
bool snapshot_is_valid(const char *text)
{
    const char *at = text;
    for (int field = 0; field < SNAPSHOT_FIELDS - 1; field++) {
        size_t n = digits(at);
        if (n == 0 || n > TXID_DIGITS_MAX || at[n] != ':')
            return false;
        at += n + 1;
    }
    while (*at != '\0') {
        size_t n = digits(at);
        if (n == 0 || n > TXID_DIGITS_MAX || (at[n] != ',' && at[n] != '\0'))
            return false;
        at += n;
        if (*at == ',' && *++at == '\0')
            return false; /* a trailing comma */
    }
    return strlen(text) < SNAPSHOT_TEXT_MAX;
}

/* Field 0 starts the text, field 1 follows the first colon. */
bool snapshot_bound(const char *snapshot, int field, char *out, size_t size)
{
    out[0] = '\0';
    if (!snapshot_is_valid(snapshot) || field < 0 || field > 1)
        return false;
    const char *at = field == 0 ? snapshot : strchr(snapshot, ':') + 1;
    snprintf(out, size, "%.*s", (int)digits(at), at);
    return true;
}

/* Nothing of a transaction below xmin(from) is new in the window: the scan
 * starts there. */
void cursor_window_start(struct cursor *cursor, const char *from)
{
    char xmin[CURSOR_TEXT_MAX];
    if (!snapshot_bound(from, 0, xmin, sizeof xmin))
        snprintf(xmin, sizeof xmin, "%s", CURSOR_START.txid);
    char modified[CURSOR_TEXT_MAX];
    snprintf(modified, sizeof modified, "%s", cursor->modified);
    cursor_set_within(cursor, xmin, CURSOR_START.id, NULL, modified);
}
