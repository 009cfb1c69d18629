/* pipeline.c - see pipeline.h.
 *
 *   read batch N (PostgreSQL), its bulk request started (es_multi.c) and
 *   left in flight; read batch N+1 meanwhile, and so on while fewer than
 *   bulk_concurrency are in flight; wait for an answer, read it (batch_send:
 *   items to retry, a 413, a failure go on synchronously from there); save
 *   the cursor of every answered batch at the front of the window
 *   (inflight.c), in the order read.
 *
 * Ordering: a batch that holds a document of a batch still in flight waits
 * for that one to be answered before it is sent, so the index gets the
 * versions of one document in the order they were read.  A batch that
 * fails (a stop, the alias gone) ends the run: nothing after it is saved,
 * and the next run reads again from the last batch saved. */
#include "pipeline.h"

#include "batch.h"
#include "es_multi.h"
#include "inflight.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Longest single wait for the transfers: they wake it as soon as one moves;
 * the bound is how soon a stop request (a signal) is noticed meanwhile. */
#define PUMP_WAIT_MS 100

/* A batch of the window and its request. */
struct flight {
    struct batch batch;
    struct buffer body; /* its one request; empty when sent by batch_send alone */
    unsigned long seq;  /* the order it was read in */
    int64_t sent_ms;    /* monotonic time its request was started */
    enum step step;     /* how its sending ended, once done */
};

struct pipeline {
    struct worker *w;
    enum sync_target target;
    size_t source;
    struct inflight win;
    struct flight *flights;  /* per slot of win */
    unsigned long next_seq;  /* seq of the next batch read */
    unsigned long failed_at; /* seq of the first batch that failed; ULONG_MAX: none */
    bool broken;             /* a batch of the prefix failed: save nothing more */
    enum step result;        /* why */
};

/* qsort/bsearch comparison of string pointers. */
static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True when b holds a document of a batch in flight not yet answered. */
static bool shares_documents(const struct pipeline *p, const struct batch *b)
{
    for (size_t i = 0; i < p->win.count; i++) {
        size_t slot = inflight_at(&p->win, i);
        if (inflight_is_done(&p->win, slot))
            continue;
        const struct batch_plan *other = &p->flights[slot].batch.plan;
        for (size_t k = 0; k < b->plan.count; k++) {
            if (bsearch(&b->plan.ids[k], other->ids, other->count, sizeof *other->ids,
                        compare_ids) != NULL)
                return true;
        }
    }
    return false;
}

/* Marks slot done with step; a failure stops what comes after it. */
static void settle(struct pipeline *p, size_t slot, enum step step)
{
    struct flight *f = &p->flights[slot];
    f->step = step;
    f->batch.counts.bulk_ms = monotonic_ms() - f->batch.started_ms - f->batch.counts.query_ms;
    if (step != STEP_OK && f->seq < p->failed_at)
        p->failed_at = f->seq;
    inflight_done(&p->win, slot);
}

/* Reads the answers that came: each goes on from there (batch_send), unless
 * a batch read before it failed (it will be read again). */
static void read_answers(struct pipeline *p)
{
    for (size_t i = 0; i < p->win.count; i++) {
        size_t slot = inflight_at(&p->win, i);
        struct es_multi_slot *request = &p->w->multi.slots[slot];
        if (inflight_is_done(&p->win, slot) || !request->busy || !request->finished)
            continue;
        struct flight *f = &p->flights[slot];
        enum step step = STEP_STOP;
        if (f->seq < p->failed_at) {
            struct bulk_answer answer = {request->status,       request->response.data,
                                         request->response.len, request->err,
                                         f->body.len,           f->sent_ms};
            step = batch_send(p->w, p->target, &f->batch, &answer);
        }
        es_multi_take(&p->w->multi, slot);
        settle(p, slot, step);
    }
}

/* Saves the cursor of every answered batch at the front of the window, in
 * order; after a failure, drops the rest. */
static void advance(struct pipeline *p)
{
    size_t slot;
    while (inflight_pop(&p->win, &slot)) {
        struct flight *f = &p->flights[slot];
        if (!p->broken) {
            enum step step =
                f->step == STEP_OK ? batch_finish(p->w, p->target, p->source, &f->batch) : f->step;
            if (step != STEP_OK) {
                p->broken = true;
                p->result = step;
            }
        }
        batch_free(&f->batch);
    }
}

/* Waits once for the transfers, then reads answers and moves the cursor. */
static void wait_answers(struct pipeline *p)
{
    es_multi_pump(&p->w->multi, -1, PUMP_WAIT_MS);
    read_answers(p);
    advance(p);
}

/* Puts b in the window and starts its request: in flight when it fits in
 * one, else sent at once by batch_send (bounded requests). */
static void launch(struct pipeline *p, const struct batch *b)
{
    size_t slot = inflight_open(&p->win);
    struct flight *f = &p->flights[slot];
    f->batch = *b;
    f->seq = p->next_seq++;
    if (p->failed_at != ULONG_MAX) {
        settle(p, slot, STEP_STOP); /* read again after the failed one */
        return;
    }
    if (batch_body(p->w, p->target, &f->batch, &f->body)) {
        f->sent_ms = monotonic_ms();
        es_multi_start(&p->w->multi, slot, p->w->bulk_path, f->body.data, f->body.len);
        return;
    }
    settle(p, slot, batch_send(p->w, p->target, &f->batch, NULL));
}

/* While a PostgreSQL query runs: the transfers go on (pg_source.h). */
static void pump_while_waiting(void *ctx, int fd)
{
    es_multi_pump(ctx, fd, PUMP_WAIT_MS);
}

/* The loop at the top of this file. */
enum step pipeline_run(struct worker *w, enum sync_target target, size_t source, bool *full,
                       bool *changed)
{
    size_t capacity = (size_t)w->config->bulk_concurrency;
    struct pipeline p = {.w = w, .target = target, .source = source, .failed_at = ULONG_MAX};
    inflight_init(&p.win, capacity);
    p.flights = xcalloc(capacity, sizeof *p.flights);
    struct cursor from =
        (target == TARGET_BUILD ? w->state.build.sources : w->state.sources)[source].cursor;
    int64_t deadline = monotonic_ms() + w->config->poll_interval_ms;
    enum step read_step = STEP_OK;
    bool reading = true;
    *full = false;
    w->pg.wait = pump_while_waiting;
    w->pg.wait_ctx = &w->multi;
    for (;;) {
        while (reading && !inflight_full(&p.win) && p.failed_at == ULONG_MAX && !*w->stop) {
            struct batch b;
            read_step = batch_read(w, target, source, &from, &b);
            if (read_step != STEP_OK || b.rows == 0) {
                reading = false;
                *full = false;
                break;
            }
            *changed = true;
            *full = b.rows >= w->config->batch_size;
            reading = *full && monotonic_ms() < deadline;
            from = b.end;
            while (shares_documents(&p, &b))
                wait_answers(&p);
            launch(&p, &b);
        }
        if (inflight_empty(&p.win))
            break;
        wait_answers(&p);
    }
    w->pg.wait = NULL;
    for (size_t i = 0; i < capacity; i++)
        buffer_free(&p.flights[i].body);
    free(p.flights);
    inflight_free(&p.win);
    if (p.broken)
        return p.result;
    if (read_step == STEP_OK && *w->stop)
        return STEP_STOP;
    return read_step;
}
