/* backoff.h - capped exponential backoff with jitter, for retries of
 * PostgreSQL and Elasticsearch calls and for the supervisor's restarts. */
#ifndef ETL_BACKOFF_H
#define ETL_BACKOFF_H

#include <stdint.h>

struct backoff {
    int64_t initial_ms; /* first delay */
    int64_t max_ms;     /* cap on any delay */
    int attempt;        /* failures since the last reset */
};

void backoff_init(struct backoff *b, int64_t initial_ms, int64_t max_ms);
/* The delay before the next try: initial * 2^attempt capped at max, then a
 * random point in its upper half ("equal jitter"), so that workers that
 * failed together do not retry together, yet the delay still grows. */
int64_t backoff_next_ms(struct backoff *b);
/* After a success: the next failure starts from the initial delay again. */
void backoff_reset(struct backoff *b);

#endif
