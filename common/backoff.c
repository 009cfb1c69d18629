/* backoff.c - see backoff.h. */
#include "backoff.h"

#include <stdlib.h>

/* The bounds are sanitized by backoff_set_bounds. */
void backoff_init(struct backoff *b, int64_t initial_ms, int64_t max_ms)
{
    backoff_set_bounds(b, initial_ms, max_ms);
    b->attempt = 0;
}

/* attempt is left alone: the next delay is the new initial one doubled as
 * often as the old one would have been. */
void backoff_set_bounds(struct backoff *b, int64_t initial_ms, int64_t max_ms)
{
    b->initial_ms = initial_ms > 0 ? initial_ms : 1;
    b->max_ms = max_ms >= b->initial_ms ? max_ms : b->initial_ms;
}

/* Doubles up to the cap, then picks a point in [delay/2, delay]. */
int64_t backoff_next_ms(struct backoff *b)
{
    int64_t delay = b->initial_ms;
    for (int i = 0; i < b->attempt && delay < b->max_ms; i++)
        delay *= 2;
    if (delay > b->max_ms)
        delay = b->max_ms;
    if (b->attempt < 62)
        b->attempt++;
    int64_t half = delay / 2;
    /* random() is fine here: jitter needs spread, not secrecy. */
    return delay - half + (half > 0 ? (int64_t)(random() % (half + 1)) : 0);
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}

/* For log lines; the count itself stays private to this file. */
int backoff_attempts(const struct backoff *b)
{
    return b->attempt;
}
