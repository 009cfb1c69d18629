/* change_log.c - see change_log.h.  change_log is the catalogue's record of
 * deletions and link changes (etc/postgres/migrations/0002_snapshots.sql);
 * its rows are kept until every index that reads it has passed them or
 * change_log_retention_s is over, and pruned by one worker (the first
 * configured index's). */
#include "change_log.h"

#include "log.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An xid8 text as a number; 0 for one that is not (never a position). */
static unsigned long long txid_value(const char *text)
{
    return cursor_is_txid(text) ? strtoull(text, NULL, 10) : 0;
}

/* The position: a transaction id below which every event is read.  Below
 * xmin(from), every window up to from is done.  Inside an open window,
 * below both the change_log cursor's txid and xmin(to) too: such a
 * transaction is visible in to (it ended), so it was in from or in the
 * window, and the window is read up to the cursor.  A load's window puts
 * the cursor past its snapshot: its position is xmin(to) at once. */
static void read_below(const struct worker *w, char *out, size_t size)
{
    const struct snapshot_window *window = &w->state.window;
    char from_xmin[CURSOR_TEXT_MAX];
    char to_xmin[CURSOR_TEXT_MAX];
    if (!snapshot_bound(window->from, 0, from_xmin, sizeof from_xmin))
        snprintf(from_xmin, sizeof from_xmin, "%s", CURSOR_START.txid);
    unsigned long long below = txid_value(from_xmin);
    if (window->to[0] != '\0' && snapshot_bound(window->to, 0, to_xmin, sizeof to_xmin)) {
        unsigned long long cursor = txid_value(w->state.sources[w->change_log].cursor.txid);
        unsigned long long inside = cursor < txid_value(to_xmin) ? cursor : txid_value(to_xmin);
        below = inside > below ? inside : below;
    }
    snprintf(out, size, "%llu", below);
}

/* The state file holding the window is durable.  A failure retries this
 * report only: the batch is done and is not sent again. */
enum step change_log_report_position(struct worker *w)
{
    while (w->position_dirty) {
        char below[CURSOR_TEXT_MAX];
        read_below(w, below, sizeof below);
        enum pg_failure failure =
            pg_source_report_position(&w->pg, w->idx->name, CHANGE_LOG_SOURCE, below);
        if (failure == PG_OK) {
            w->position_dirty = false;
            break;
        }
        enum step step = worker_pg_failed(w, failure);
        if (step != STEP_RETRY || !lifecycle_live_cursors_usable(w->state.phase))
            return step;
    }
    return STEP_OK;
}

/* content.etl_prune_change_log deletes; pruning later loses nothing, so a
 * failure just waits. */
void change_log_prune(struct worker *w)
{
    int64_t now = monotonic_ms();
    if (w->prune_count == 0 || now < w->next_prune_ms)
        return;
    w->next_prune_ms = now + (int64_t)w->config->change_log_prune_interval_s * 1000;
    long long deleted;
    enum pg_failure failure = pg_source_prune_change_log(
        &w->pg, w->prune_indices, w->prune_count, w->config->change_log_retention_s, &deleted);
    if (failure != PG_OK) {
        log_event(LOG_WARN, "change_log prune failed", "error", w->pg.err);
        return;
    }
    struct log_line *line = log_begin(LOG_INFO, "change_log pruned");
    log_int(line, "deleted", deleted);
    log_int(line, "retention_s", w->config->change_log_retention_s);
    log_end(line);
}

/* Above the watermark, events this index never read are gone, so it is
 * rebuilt into a new index, which holds no document deleted meanwhile.
 * Checked while serving only, so logged once: a build's cursor starts
 * above the watermark, and becomes the live one. */
enum step change_log_check_gap(struct worker *w, bool *pruned_past)
{
    *pruned_past = false;
    if (!w->has_change_log || w->state.phase != LIFECYCLE_SERVING)
        return STEP_OK;
    char below[CURSOR_TEXT_MAX];
    read_below(w, below, sizeof below);
    bool above;
    char watermark[CURSOR_TEXT_MAX];
    enum pg_failure failure =
        pg_source_pruned_above(&w->pg, below, &above, watermark, sizeof watermark);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    if (!above)
        return STEP_OK;
    struct log_line *line =
        log_begin(LOG_ERROR, "change_log pruned past this worker's position; full reload");
    log_str(line, "index", w->idx->index);
    log_str(line, "read_below_txid", below);
    log_str(line, "pruned_up_to_txid", watermark);
    log_end(line);
    *pruned_past = true;
    return STEP_OK;
}
