/* cursor.c - see cursor.h. */
#include "cursor.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* How PostgreSQL prints timestamptz infinity, and the UTC offset it prints
 * with TimeZone=UTC. */
#define PG_INFINITY "infinity"
#define UTC_OFFSET  "+00"
#define US_PER_S    INT64_C(1000000)

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

/* Strict: what PostgreSQL prints with TimeZone=UTC and DateStyle=ISO, and
 * nothing else (strptime range-checks the fields; a day past the month's
 * end, like February 30, is left to PostgreSQL: SQLSTATE 22008). */
bool cursor_timestamp_us(const char *text, int64_t *out)
{
    if (strcmp(text, CURSOR_START.modified) == 0) {
        *out = INT64_MIN;
        return true;
    }
    if (strcmp(text, PG_INFINITY) == 0) {
        *out = INT64_MAX;
        return true;
    }
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
    if (rest == NULL || text[0] < '0' || text[0] > '9')
        return false;
    int64_t us = (int64_t)timegm(&tm) * US_PER_S;
    if (*rest == '.') {
        int64_t scale = US_PER_S / 10;
        rest++;
        if (*rest < '0' || *rest > '9')
            return false;
        for (; *rest >= '0' && *rest <= '9'; rest++, scale /= 10) {
            if (scale == 0)
                return false; /* more than microseconds */
            us += (*rest - '0') * scale;
        }
    }
    if (strcmp(rest, UTC_OFFSET) != 0)
        return false;
    *out = us;
    return true;
}

/* Compares as instants, not texts (a fraction's trailing zeros are
 * dropped by PostgreSQL). */
bool cursor_horizon_behind(const char *horizon, const char *cursor_modified)
{
    int64_t h;
    int64_t c;
    return cursor_timestamp_us(horizon, &h) && cursor_timestamp_us(cursor_modified, &c) && h < c;
}
