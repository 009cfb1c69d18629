/* inflight.c - see inflight.h.  A ring of capacity slots from head. */
#include "inflight.h"

#include "util.h"

#include <stdlib.h>

void inflight_init(struct inflight *win, size_t capacity)
{
    *win = (struct inflight){.capacity = capacity};
    win->done = xcalloc(capacity, sizeof *win->done);
}

void inflight_free(struct inflight *win)
{
    free(win->done);
    *win = (struct inflight){0};
}

bool inflight_full(const struct inflight *win)
{
    return win->count == win->capacity;
}

bool inflight_empty(const struct inflight *win)
{
    return win->count == 0;
}

/* The slot after the last one in the window. */
size_t inflight_open(struct inflight *win)
{
    size_t slot = (win->head + win->count) % win->capacity;
    win->done[slot] = false;
    win->count++;
    return slot;
}

size_t inflight_at(const struct inflight *win, size_t i)
{
    return (win->head + i) % win->capacity;
}

void inflight_done(struct inflight *win, size_t slot)
{
    win->done[slot] = true;
}

bool inflight_is_done(const struct inflight *win, size_t slot)
{
    return win->done[slot];
}

/* Only the head may leave: that is what keeps the cursor contiguous. */
bool inflight_pop(struct inflight *win, size_t *slot)
{
    if (win->count == 0 || !win->done[win->head])
        return false;
    *slot = win->head;
    win->done[win->head] = false;
    win->head = (win->head + 1) % win->capacity;
    win->count--;
    return true;
}
