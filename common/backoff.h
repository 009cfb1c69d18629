/* backoff.h - capped exponential backoff with jitter, for retries of
 * PostgreSQL and Elasticsearch calls and for the supervisor's restarts. */
#ifndef ETL_BACKOFF_H
#define ETL_BACKOFF_H

#include <stdint.h>

/* Only backoff.c reads or writes the fields. */
struct backoff {
    int64_t initial_ms; /* first delay */
    int64_t max_ms;     /* cap on any delay */
    int attempt;        /* failures since the last reset */
};

/* Sets the bounds (see backoff_set_bounds) and clears the attempt count. */
void backoff_init(struct backoff *b, int64_t initial_ms, int64_t max_ms);
/* New bounds for the delays to come, keeping the attempt count, so that a
 * reloaded configuration does not forgive a failing worker.  An initial
 * delay below 1 ms becomes 1, a cap below the initial delay becomes it. */
void backoff_set_bounds(struct backoff *b, int64_t initial_ms, int64_t max_ms);
/* The delay before the next try: initial * 2^attempt capped at max, then a
 * random point in its upper half ("equal jitter"), so that workers that
 * failed together do not retry together, yet the delay still grows. */
int64_t backoff_next_ms(struct backoff *b);
/* After a success: the next failure starts from the initial delay again. */
void backoff_reset(struct backoff *b);
/* Failures since the last reset (the delays backoff_next_ms handed out). */
int backoff_attempts(const struct backoff *b);

#endif
