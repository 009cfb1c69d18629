/* sync.c - see sync.h.  The loop of one index (worker.c sets the worker up;
 * the phases of the index and what moves them are lifecycle.c's table,
 * performed by rebuild.c):
 *
 *   identify the engine (GET /) and pick its dialect
 *   repeat until a stop request:
 *     hold the index's writer lock (PostgreSQL advisory lock, taken on every
 *     new connection): while another worker holds it, wait; the first
 *     time, and after such a wait, prepare the index (rebuild.c: resolve
 *     the alias, reconcile the state, read again after a wait)
 *     SIGUSR1, no usable state (a database behind the state file: another
 *     cluster or timeline, or its ids behind), change_log pruned past the
 *     cursor, the alias missing or moved, the mapping file changed: a rebuild
 *     (rebuild.c); the first load of an empty cluster: loaded in place
 *     report the change_log position once saved; prune change_log (one
 *     worker only, every change_log_prune_interval_s; change_log.c)
 *     one batch of each change source in turn (batch.c) into the live index,
 *     all in one window of transactions between two snapshots (a
 *     transaction is read whole or not at all); during a rebuild, one batch
 *     of each into the index being built, in a window of its own; a
 *     build round that read its window through to its own snapshot (taken
 *     after the live batches) moves the alias (LIFECYCLE_BUILD_CAUGHT_UP)
 *     nothing more at once: log "caught up" once, wait poll_interval_ms,
 *     reading content.etl_change_signal every wake_check_ms meanwhile: when
 *     it moved (a statement changed the catalogue) the next round starts
 *     at once; a round that found nothing while the signal moved less than
 *     poll_interval_ms ago is run again after wake_check_ms (the signal
 *     moves before its transaction commits); SIGTERM, SIGINT or SIGUSR1
 *     end the wait too
 *
 * Any step that fails backs off and starts the round over; only bad SQL, a
 * differing mapping under on_mapping_change = refuse and an unsupported
 * engine end the worker. */
#include "sync.h"

#include "background_verify.h"
#include "batch.h"
#include "change_log.h"
#include "engine_identify.h"
#include "log.h"
#include "pipeline.h"
#include "rebuild.h"
#include "status_report.h"
#include "util.h"

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* What comes before a round's batches, each a lifecycle event when it
 * happened: a rebuild asked for, a fresh load to begin, change_log pruned
 * past the cursor; then the change_log position, the alias and mapping. */
static enum step round_setup(struct worker *w)
{
    enum step step = STEP_OK;
    if (w->reindex != NULL && *w->reindex) {
        *w->reindex = 0;
        step = rebuild_event(w, LIFECYCLE_REINDEX_REQUESTED, REBUILD_REQUESTED);
    }
    /* More differences than a repair may re-send (verify_repair = auto). */
    if (step == STEP_OK && w->verify_rebuild_due) {
        w->verify_rebuild_due = false;
        step = rebuild_event(w, LIFECYCLE_REINDEX_REQUESTED, REBUILD_VERIFY);
    }
    if (step == STEP_OK)
        step = rebuild_event(w, LIFECYCLE_LOAD_DUE, w->fresh_reason);
    bool pruned_past = false;
    if (step == STEP_OK)
        step = change_log_check_gap(w, &pruned_past);
    if (step == STEP_OK && pruned_past)
        step = rebuild_event(w, LIFECYCLE_CHANGE_LOG_PRUNED, REBUILD_CHANGE_LOG_PRUNED);
    if (step == STEP_OK)
        step = change_log_report_position(w);
    if (step == STEP_OK)
        step = rebuild_check(w);
    /* Last: any of the above may have started a rebuild. */
    if (step == STEP_OK && lifecycle_build_pending(w->state.phase))
        step = rebuild_begin(w);
    return step;
}

/* The batches of each change source for target, all in one window of
 * transactions (pipeline.c: while they come full, for at most
 * poll_interval_ms each); *more when one's last batch read a whole
 * batch_size, *changed when one read anything.  When none is left with
 * more, the window is read: the next round reads the next one. */
static enum step run_target(struct worker *w, enum sync_target target, bool *more, bool *changed)
{
    enum step step = batch_take_snapshot(w, target);
    bool target_more = false;
    bool target_changed = false;
    if (target == TARGET_BUILD)
        w->build_open_source = NULL;
    for (size_t i = 0; step == STEP_OK && !w->behind && i < w->state.count && !*w->stop; i++) {
        bool full = false;
        step = pipeline_run(w, target, i, &full, &target_changed);
        target_more = target_more || full;
        if (full && target == TARGET_BUILD && w->build_open_source == NULL)
            w->build_open_source = w->state.build.sources[i].name;
    }
    /* A change to every document: the window stays open (read again after
     * a crash) until the rebuild it calls for has begun (worker_run). */
    if (step == STEP_OK && !target_more && !*w->stop && !w->truncated && !w->behind)
        step = batch_end_window(w, target, target_changed);
    *more = *more || target_more;
    *changed = *changed || target_changed;
    if (step == STEP_LOST)
        step = rebuild_lost(w, target);
    return step;
}

/* One debug line per round: what started it (start, more, retry, change,
 * recheck, poll, signal, connection lost) and the change signal as last
 * read. */
static void log_round(const struct worker *w, const char *woke)
{
    struct log_line *line = log_begin(LOG_DEBUG, "round");
    log_str(line, "index", w->idx->index);
    log_str(line, "woke", woke);
    if (w->signal_known)
        log_int(line, "change_signal", w->signal_seen);
    log_end(line);
}

/* Reads content.etl_change_signal when wake_check_ms is on; true when it
 * moved since the last read (noting when in signal_moved_ms).  *failed is
 * set when it cannot be read (no connection, no privilege): the caller
 * then stops reading it until the next round. */
static bool signal_moved(struct worker *w, bool *failed)
{
    *failed = false;
    if (w->config->wake_check_ms == 0)
        return false;
    int64_t value;
    if (pg_source_change_signal(&w->pg, &value) != PG_OK) {
        *failed = true;
        return false;
    }
    w->signal_warned = false;
    bool moved = w->signal_known && value != w->signal_seen;
    w->signal_seen = value;
    w->signal_known = true;
    if (moved)
        w->signal_moved_ms = monotonic_ms();
    return moved;
}

/* Waits up to ms for the next round; returns what ended the wait, for the
 * round's log line: "change" (the signal moved; read every wake_check_ms
 * when checking is true), "signal" (SIGTERM, SIGINT or SIGUSR1 set a
 * flag) or timed_out.  Those signals are blocked from the check of the
 * flags to the wait, which unblocks them (ppoll): one that comes in
 * between ends the wait rather than being slept through.  A connection
 * found dropped ends it too ("connection lost": the round reconnects and
 * backs off as usual); a signal that cannot be read otherwise (no
 * privilege) is not read again in this wait, and logged once until it is
 * read again. */
static const char *wait_for_change(struct worker *w, int64_t ms, bool checking,
                                   const char *timed_out)
{
    sigset_t block;
    sigset_t unblocked;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &unblocked);
    int64_t deadline = monotonic_ms() + ms;
    int64_t check_ms = w->config->wake_check_ms;
    checking = checking && check_ms > 0;
    const char *why = timed_out;
    for (;;) {
        if (*w->stop || (w->reindex != NULL && *w->reindex)) {
            why = "signal";
            break;
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            break;
        int64_t slice = checking && check_ms < left ? check_ms : left;
        struct timespec timeout = {.tv_sec = (time_t)(slice / 1000),
                                   .tv_nsec = (long)(slice % 1000) * 1000000L};
        ppoll(NULL, 0, &timeout, &unblocked);
        if (!checking || *w->stop || (w->reindex != NULL && *w->reindex))
            continue;
        bool failed;
        if (signal_moved(w, &failed)) {
            why = "change";
            break;
        }
        if (failed && w->pg.conn == NULL) {
            why = "connection lost"; /* the round reconnects, with its backoff */
            break;
        }
        if (failed && !w->signal_warned) {
            w->signal_warned = true;
            struct log_line *line = log_begin(LOG_WARN, "cannot read the change signal, polling");
            log_str(line, "index", w->idx->index);
            log_str(line, "error", w->pg.err);
            log_end(line);
        }
        if (failed)
            checking = false;
    }
    sigprocmask(SIG_SETMASK, &unblocked, NULL);
    return why;
}

/* After a round with nothing more to read (found: it read some rows):
 * once more after wake_check_ms when it found nothing though the signal
 * moved less than poll_interval_ms ago (its transaction may commit a
 * moment later), else at the next move of the signal or poll. */
static const char *next_wait(struct worker *w, bool found)
{
    int poll_ms = w->config->poll_interval_ms;
    int check_ms = w->config->wake_check_ms;
    bool recent =
        check_ms > 0 && w->signal_moved_ms != 0 && monotonic_ms() - w->signal_moved_ms < poll_ms;
    if (recent && !found)
        return wait_for_change(w, check_ms, true, "recheck");
    return wait_for_change(w, poll_ms, true, "poll");
}

/* Before anything of a round is written: the index's writer lock held (a
 * query only on a new connection) and, the first time and after a wait
 * for it (another worker wrote the index meanwhile), the state file read
 * again and the alias reconciled with it (rebuild_prepare). */
static enum step hold_index(struct worker *w)
{
    bool waited;
    enum step step = worker_hold_lock(w, &waited);
    if (step == STEP_OK && waited)
        worker_reload_state(w);
    if (step == STEP_OK && !w->prepared) {
        step = rebuild_prepare(w);
        w->prepared = step == STEP_OK;
    }
    return step;
}

/* The loop described at the top of this file. */
int worker_run(struct worker *w)
{
    w->exit_status = EXIT_STOPPED;
    enum step step = engine_identify(w);
    const char *woke = "start";
    while (step != STEP_FATAL && !*w->stop) {
        step = hold_index(w);
        if (step != STEP_OK)
            continue;
        log_round(w, woke);
        woke = "retry";
        step = round_setup(w);
        if (step != STEP_OK)
            continue;
        /* Moves of the signal before here are this round's to read. */
        bool unread;
        signal_moved(w, &unread);
        change_log_prune(w);
        background_verify_tick(w);
        bool more = false, changed = false;
        if (lifecycle_runs_live(w->state.phase, w->state.concrete))
            step = run_target(w, TARGET_LIVE, &more, &changed);
        /* Not after the live target found the database behind: the
         * state is dropped, the build with it. */
        if (step == STEP_OK && !w->behind && lifecycle_runs_build(w->state.phase)) {
            bool built = false;
            step = run_target(w, TARGET_BUILD, &more, &built);
            /* Its window read through to a snapshot taken after the live
             * batches: the swap, unless a lost build index made it pending
             * again (rebuild_try_swap), or the build found the database
             * behind (it read nothing). */
            if (step == STEP_OK && !*w->stop && !w->behind && lifecycle_runs_build(w->state.phase))
                step = rebuild_try_swap(w);
            changed = changed || built;
        }
        /* The cursors are of another database: dropped, and the next
         * round's setup starts the load into a new index, the live one
         * serving meanwhile and synced from that load's snapshot on. */
        if (step == STEP_OK && w->behind) {
            w->behind = false;
            worker_restart_state(w, REBUILD_DATABASE_BEHIND);
            continue;
        }
        if (step == STEP_OK && w->truncated) {
            w->truncated = false;
            log_event(LOG_WARN, "a change to every document (TRUNCATE); rebuilding", "index",
                      w->idx->index);
            step = rebuild_event(w, LIFECYCLE_REINDEX_REQUESTED, REBUILD_TRUNCATED);
            continue;
        }
        if (step != STEP_OK)
            continue;
        if (changed)
            w->caught_up = false;
        woke = "more";
        if (!more) {
            /* Before the log line, so a reader of both sees the status
             * first. */
            status_report_idle(w->config->poll_interval_ms);
            bool has_build = lifecycle_has_build(w->state.phase);
            if (!w->caught_up && !has_build)
                log_event(LOG_INFO, "caught up", "index", w->idx->index);
            w->caught_up = !has_build;
            woke = next_wait(w, changed);
        }
    }
    background_verify_stop(w);
    if (step == STEP_FATAL)
        return w->exit_status;
    log_event(LOG_INFO, "stopped", "index", w->idx->index);
    return EXIT_STOPPED;
}
