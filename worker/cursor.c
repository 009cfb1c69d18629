/* cursor.c - see cursor.h. */
#include "cursor.h"

#include <stdio.h>
#include <stdlib.h>
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

/* The next id of a snapshot's list of ids in progress at *at (advanced
 * past it); false at the end.  The snapshot was checked valid. */
static bool next_in_progress(const char **at, unsigned long long *id)
{
    if (**at == '\0')
        return false;
    char *end;
    *id = strtoull(*at, &end, 10);
    *at = *end == ',' ? end + 1 : end;
    return true;
}

/* The ids in progress of a valid snapshot: the text after its second
 * colon. */
static const char *in_progress_list(const char *snapshot)
{
    return strchr(strchr(snapshot, ':') + 1, ':') + 1;
}

/* True when id is in the list of ids in progress of a valid snapshot. */
static bool in_progress(const char *snapshot, unsigned long long id)
{
    const char *at = in_progress_list(snapshot);
    unsigned long long other;
    while (next_in_progress(&at, &other)) {
        if (other == id)
            return true;
    }
    return false;
}

/* An xid8 bound (0: xmin, 1: xmax) of a valid snapshot as a number. */
static unsigned long long bound_value(const char *snapshot, int field)
{
    char text[CURSOR_TEXT_MAX];
    snapshot_bound(snapshot, field, text, sizeof text);
    return strtoull(text, NULL, 10);
}

/* What a sees and b does not is either in progress at a (ids between its
 * bounds) or at or past its xmax: so every id in progress at a must be
 * invisible to b, and so must every id from xmax(a) up to xmax(b), which
 * then are all in progress at b (ids are distinct: count them). */
bool snapshot_covers(const char *a, const char *b)
{
    if (!snapshot_is_valid(a) || !snapshot_is_valid(b))
        return false;
    unsigned long long a_xmax = bound_value(a, 1);
    unsigned long long b_xmin = bound_value(b, 0);
    unsigned long long b_xmax = bound_value(b, 1);
    const char *at = in_progress_list(a);
    unsigned long long id;
    while (next_in_progress(&at, &id)) {
        if (id < b_xmax && !in_progress(b, id))
            return false;
    }
    if (a_xmax >= b_xmax)
        return true;
    if (a_xmax < b_xmin)
        return false;
    unsigned long long unseen = 0;
    at = in_progress_list(b);
    while (next_in_progress(&at, &id))
        unseen += id >= a_xmax && id < b_xmax;
    return unseen == b_xmax - a_xmax;
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
