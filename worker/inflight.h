/* inflight.h - the window of batches of one change source that are read
 * and sent but whose cursor is not yet saved, in the order they were read.
 * A batch may be answered out of order; the cursor moves only over the
 * answered batches at the front of the window (its contiguous prefix), one
 * at a time and in order.  Pure bookkeeping of slot numbers: what a slot
 * holds is the caller's (an array of capacity entries indexed by slot). */
#ifndef ETL_INFLIGHT_H
#define ETL_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

struct inflight {
    size_t capacity; /* slots */
    size_t head;     /* slot of the oldest batch in the window */
    size_t count;    /* batches in the window */
    bool *done;      /* per slot: answered */
};

/* An empty window of capacity (>= 1) slots. */
void inflight_init(struct inflight *win, size_t capacity);
void inflight_free(struct inflight *win);

bool inflight_full(const struct inflight *win);
bool inflight_empty(const struct inflight *win);

/* Takes the slot of the next batch read, behind every other (the window
 * must not be full). */
size_t inflight_open(struct inflight *win);

/* The slot i places from the front (0: the oldest; i < count). */
size_t inflight_at(const struct inflight *win, size_t i);

/* Marks slot answered (in any order). */
void inflight_done(struct inflight *win, size_t slot);
bool inflight_is_done(const struct inflight *win, size_t slot);

/* When the oldest batch is answered, takes it out of the window into *slot
 * and returns true: the cursor may move to its end.  False while the oldest
 * is not answered, however many behind it are. */
bool inflight_pop(struct inflight *win, size_t *slot);

#endif
