/* sync.c - see sync.h.  The loop of one index:
 *
 *   identify the engine (GET /) and pick its dialect
 *   prepare the index (rebuild.c: resolve the alias, reconcile the state)
 *   repeat until a stop request:
 *     SIGUSR1, no usable state, change_log pruned past the cursor, the
 *     alias missing or moved, the mapping file changed: a rebuild
 *     (rebuild.c); the first load of an empty cluster: bootstrap in place
 *     report the change_log position once saved; prune change_log (one
 *     worker only, every change_log_prune_interval_s)
 *     one batch of each change source in turn (batch.c) into the live index,
 *     all below one horizon taken for the round (a transaction is read
 *     whole or not at all); during a rebuild, one batch of each into the
 *     index being built, below a horizon of its own; a
 *     build round that read nothing moves the alias (rebuild_swap)
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

#include "batch.h"
#include "engine_identify.h"
#include "log.h"
#include "pipeline.h"
#include "rebuild.h"
#include "status_report.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* One "retry" line per attempt; the callers reset the backoff on success. */
enum step worker_back_off(struct worker *w, const char *what, const char *reason)
{
    int64_t delay = backoff_next_ms(&w->backoff);
    struct log_line *line = log_begin(LOG_WARN, "retry");
    log_str(line, "what", what);
    log_str(line, "reason", reason);
    log_int(line, "attempt", backoff_attempts(&w->backoff));
    log_int(line, "delay_ms", delay);
    log_end(line);
    status_report_retry(what, delay);
    return sleep_unless_stopped(delay, w->stop) ? STEP_RETRY : STEP_STOP;
}

static void set_aside_bad_state(struct worker *w, const char *why);

/* Every source back to the start and a rebuild to come: the state file
 * was unusable, so the build in progress, if any, is dropped too. */
static void restart_state(struct worker *w)
{
    for (size_t i = 0; i < w->state.count; i++)
        w->state.sources[i].cursor = CURSOR_START;
    w->state.fresh = true;
    w->state.building = false;
    w->first_load = false;
    w->fresh_reason = REBUILD_UNUSABLE_STATE;
}

/* pg_source decides which failures waiting cannot fix.  A cursor
 * PostgreSQL refuses makes the state file unusable: it is set aside and the
 * round starts over with a full load, at once. */
enum step worker_pg_failed(struct worker *w, enum pg_failure failure)
{
    if (failure == PG_BAD_SQL) {
        log_event(LOG_ERROR, "bad SQL for this index", "error", w->pg.err);
        w->exit_status = EXIT_CONFIG;
        return STEP_FATAL;
    }
    if (failure == PG_REFUSED) {
        log_event(LOG_ERROR, "the horizon cannot be computed on this server; not starting",
                  "reason", w->pg.err);
        w->exit_status = EXIT_CONFIG;
        return STEP_FATAL;
    }
    if (failure == PG_BAD_CURSOR) {
        set_aside_bad_state(w, w->pg.err);
        restart_state(w);
        return STEP_RETRY;
    }
    return worker_back_off(w, "postgres", w->pg.err);
}

/* Saves the state, retrying with backoff: the documents are already in the
 * index, so the only risk of giving up is sending them again. */
enum step worker_save_state(struct worker *w)
{
    for (;;) {
        if (state_save(&w->state, w->state_path, w->idx->index) == 0)
            return STEP_OK;
        char reason[256];
        snprintf(reason, sizeof reason, "%s: %s", w->state_path, strerror(errno));
        enum step step = worker_back_off(w, "state file", reason);
        if (step != STEP_RETRY)
            return step;
    }
}

enum step worker_start_horizon(struct worker *w, char *out, size_t size)
{
    struct pg_horizon horizon;
    enum pg_failure failure = pg_source_horizon(&w->pg, NULL, &horizon);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    /* A prepared transaction and no cursor yet: nothing is known safe. */
    if (strcmp(horizon.at, CURSOR_START.modified) == 0)
        return worker_back_off(w, "postgres", "a prepared transaction holds the horizon back");
    snprintf(out, size, "%s", horizon.at);
    return STEP_OK;
}

void worker_cursors_at(struct source_state *sources, size_t count, size_t from, const char *horizon)
{
    for (size_t i = from; i < count; i++)
        cursor_set(&sources[i].cursor, horizon, CURSOR_START.id);
}

/* A fresh start: the first source (the index's own rows) is walked from the
 * beginning, which builds every document from snapshots taken after
 * horizon; so changes to the other sources stamped before horizon are in
 * those documents already, and those sources start at horizon.  A rebuild's
 * fresh load (rebuild_begin) starts its cursors the same way. */
static enum step bootstrap(struct worker *w)
{
    char horizon[CURSOR_TEXT_MAX];
    enum step step = worker_start_horizon(w, horizon, sizeof horizon);
    if (step != STEP_OK)
        return step;
    worker_cursors_at(w->state.sources, w->state.count, 1, horizon);
    w->state.fresh = false;
    step = worker_save_state(w);
    if (step == STEP_OK) {
        log_event(LOG_INFO, "full load started", "horizon", horizon);
        w->position_dirty = w->has_change_log;
    }
    return step;
}

/* Tells PostgreSQL how far the change_log source is read (the state file
 * holding it is durable).  A failure retries this report only: the batch
 * is done and is not sent again. */
static enum step report_position(struct worker *w)
{
    while (w->position_dirty) {
        enum pg_failure failure = pg_source_report_position(
            &w->pg, w->idx->name, CHANGE_LOG_SOURCE, &w->state.sources[w->change_log].cursor);
        if (failure == PG_OK) {
            w->position_dirty = false;
            break;
        }
        enum step step = worker_pg_failed(w, failure);
        if (step != STEP_RETRY || w->state.fresh)
            return step;
    }
    return STEP_OK;
}

/* Every change_log_prune_interval_s, the pruning worker deletes the
 * change_log rows every index has read (content.etl_prune_change_log).  A
 * failure waits for the next interval: pruning later loses nothing. */
static void prune_change_log(struct worker *w)
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

/* Compares the prune watermark with the change_log cursor: above it, events
 * this index never read are gone, so it is rebuilt into a new index, which
 * holds no document deleted meanwhile.  Logged once: the build's cursor
 * starts above the watermark, and becomes the live one. */
static enum step check_pruned_gap(struct worker *w)
{
    if (!w->has_change_log || w->state.fresh || w->state.building)
        return STEP_OK;
    const struct cursor *cursor = &w->state.sources[w->change_log].cursor;
    bool above;
    char watermark[2 * CURSOR_TEXT_MAX];
    enum pg_failure failure =
        pg_source_pruned_above(&w->pg, cursor, &above, watermark, sizeof watermark);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    if (!above)
        return STEP_OK;
    struct log_line *line =
        log_begin(LOG_ERROR, "change_log pruned past this worker's position; full reload");
    log_str(line, "index", w->idx->index);
    log_str(line, "cursor_modified", cursor->modified);
    log_str(line, "cursor_id", cursor->id);
    log_str(line, "pruned_up_to", watermark);
    log_end(line);
    return rebuild_start(w, REBUILD_CHANGE_LOG_PRUNED);
}

/* Moves an unreadable state file aside so the worker can start over
 * instead of failing at every restart. */
static void set_aside_bad_state(struct worker *w, const char *why)
{
    char *aside = xasprintf("%s.bad-%lld", w->state_path, (long long)wall_clock_ms());
    int rc = rename(w->state_path, aside);
    struct log_line *line = log_begin(LOG_ERROR, "unusable state file set aside; full load");
    w->fresh_reason = REBUILD_UNUSABLE_STATE;
    log_str(line, "state_file", w->state_path);
    log_str(line, "error", why);
    log_str(line, "moved_to", rc == 0 ? aside : strerror(errno));
    log_end(line);
    free(aside);
}

/* True when the index of idx has a change source named change_log; *at
 * gets which. */
static bool reads_change_log(const struct index_config *idx, size_t *at)
{
    for (size_t i = 0; i < idx->changes_count; i++) {
        char name[STATE_SOURCE_NAME_MAX];
        state_source_name(idx->changes_sql[i], name, sizeof name);
        if (strcmp(name, CHANGE_LOG_SOURCE) == 0) {
            *at = i;
            return true;
        }
    }
    return false;
}

/* Finds this index's change_log source, and, for the first configured
 * index only (one pruner, not N), the indices whose positions pruning
 * waits for: every one that reads change_log.  The runtime flags are set
 * up here too. */
static void find_change_log(struct worker *w)
{
    w->clock_behind = xcalloc(w->idx->changes_count, sizeof *w->clock_behind);
    w->has_change_log = reads_change_log(w->idx, &w->change_log);
    w->position_dirty = w->has_change_log;
    const struct etl_config *c = w->config;
    if (c->change_log_prune_interval_s == 0 || &c->indices[0] != w->idx)
        return;
    w->prune_indices = xcalloc(c->indices_count, sizeof *w->prune_indices);
    for (size_t i = 0; i < c->indices_count; i++) {
        size_t unused;
        if (reads_change_log(&c->indices[i], &unused))
            w->prune_indices[w->prune_count++] = c->indices[i].name;
    }
}

/* The SQL files, then the HTTP client. */
int worker_open(struct worker *w)
{
    char err[512];
    if (pg_source_init(&w->pg, w->config, w->idx, err, sizeof err) < 0) {
        log_event(LOG_ERROR, "bad SQL file", "error", err);
        return EXIT_CONFIG;
    }
    if (es_client_init(&w->es, w->config, w->stop, err, sizeof err) < 0 ||
        es_multi_init(&w->multi, &w->es, (size_t)w->config->bulk_concurrency, err, sizeof err) <
            0) {
        log_event(LOG_ERROR, "cannot set up the HTTP client", "error", err);
        return EXIT_INTERNAL;
    }
    return 0;
}

json_t *worker_read_mapping(const char *path, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *definition = json_load_file(path, 0, &json_err);
    if (!json_is_object(definition) || !json_is_object(json_object_get(definition, "mappings"))) {
        snprintf(err, err_size, "%s:%d: %s", path, json_err.line,
                 definition ? "no \"mappings\" object" : json_err.text);
        json_decref(definition);
        return NULL;
    }
    return definition;
}

int worker_init(struct worker *w, const struct etl_config *config, const struct index_config *idx,
                const volatile sig_atomic_t *stop)
{
    *w = (struct worker){.config = config,
                         .idx = idx,
                         .engine = &es_dialect,
                         .stop = stop,
                         .fresh_reason = REBUILD_NO_STATE};
    backoff_init(&w->backoff, config->backoff_initial_ms, config->backoff_max_ms);
    char err[512];
    stat(idx->mapping, &w->mapping_stat);
    w->definition = worker_read_mapping(idx->mapping, err, sizeof err);
    if (w->definition == NULL) {
        log_event(LOG_ERROR, "bad mapping file", "error", err);
        return EXIT_CONFIG;
    }
    w->build_alias = xasprintf("%s_build", idx->index);
    int status = worker_open(w);
    if (status != 0)
        return status;
    if (mkdir(config->state_dir, 0750) < 0 && errno != EEXIST) {
        log_event(LOG_ERROR, "cannot create the state directory", "error", strerror(errno));
        return EXIT_STATE_DIR;
    }
    w->state_path = xasprintf("%s/%s.state", config->state_dir, idx->name);
    w->rejects_path = xasprintf("%s/%s.rejects", config->state_dir, idx->name);
    const char **names = xcalloc(idx->changes_count, sizeof *names);
    char(*storage)[STATE_SOURCE_NAME_MAX] = xcalloc(idx->changes_count, sizeof *storage);
    for (size_t i = 0; i < idx->changes_count; i++) {
        state_source_name(idx->changes_sql[i], storage[i], sizeof storage[i]);
        names[i] = storage[i];
    }
    state_init(&w->state, names, idx->changes_count);
    find_change_log(w);
    free(names);
    free(storage);
    int loaded = state_load(&w->state, w->state_path, idx->index, err, sizeof err);
    if (loaded < 0)
        set_aside_bad_state(w, err);
    status_report_started();
    struct log_line *line = log_begin(LOG_INFO, "started");
    log_str(line, "index", idx->index);
    log_str(line, "state", loaded > 0 ? "resumed" : "fresh");
    log_end(line);
    return 0;
}

/* What comes before a round's batches: a rebuild asked for or due, a
 * fresh load to begin, the change_log position, the alias and mapping. */
static enum step round_setup(struct worker *w)
{
    enum step step = STEP_OK;
    if (w->reindex != NULL && *w->reindex) {
        *w->reindex = 0;
        if (w->state.building)
            log_event(LOG_INFO, "rebuild requested; one is already running", "concrete",
                      w->state.build.concrete);
        else
            step = rebuild_start(w, REBUILD_REQUESTED);
    }
    if (step == STEP_OK && w->state.fresh && !w->state.building)
        step = w->first_load ? bootstrap(w) : rebuild_start(w, w->fresh_reason);
    if (step == STEP_OK)
        step = check_pruned_gap(w);
    if (step == STEP_OK)
        step = report_position(w);
    if (step == STEP_OK)
        step = rebuild_check(w);
    /* Last: any of the above may have started a rebuild. */
    if (step == STEP_OK && w->state.building && w->state.build.horizon[0] == '\0')
        step = rebuild_begin(w);
    return step;
}

/* The batches of each change source for target, all below one horizon
 * taken first (pipeline.c: while they come full, for at most
 * poll_interval_ms each); *more when one's last batch read a whole
 * batch_size, *changed when one read anything. */
static enum step run_target(struct worker *w, enum sync_target target, bool *more, bool *changed)
{
    enum step step = batch_take_horizon(w, target);
    for (size_t i = 0; step == STEP_OK && i < w->state.count && !*w->stop; i++) {
        bool full = false;
        step = pipeline_run(w, target, i, &full, changed);
        *more = *more || full;
    }
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

/* The loop described at the top of this file. */
int worker_run(struct worker *w)
{
    w->exit_status = EXIT_STOPPED;
    enum step step = engine_identify(w);
    if (step == STEP_OK)
        step = rebuild_prepare(w);
    const char *woke = "start";
    while (step != STEP_FATAL && !*w->stop) {
        log_round(w, woke);
        woke = "retry";
        step = round_setup(w);
        if (step != STEP_OK)
            continue;
        /* Moves of the signal before here are this round's to read. */
        bool unread;
        signal_moved(w, &unread);
        prune_change_log(w);
        bool more = false, changed = false;
        if (w->state.concrete[0] != '\0' && !w->state.fresh)
            step = run_target(w, TARGET_LIVE, &more, &changed);
        if (step == STEP_OK && w->state.building && w->state.build.horizon[0] != '\0') {
            bool built = false;
            step = run_target(w, TARGET_BUILD, &more, &built);
            /* Walked its own rows and read nothing more from any source. */
            if (step == STEP_OK && !built && w->state.building && !*w->stop)
                step = rebuild_swap(w);
            changed = changed || built;
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
            if (!w->caught_up && !w->state.building)
                log_event(LOG_INFO, "caught up", "index", w->idx->index);
            w->caught_up = !w->state.building;
            woke = next_wait(w, changed);
        }
    }
    if (step == STEP_FATAL)
        return w->exit_status;
    log_event(LOG_INFO, "stopped", "index", w->idx->index);
    return EXIT_STOPPED;
}

/* Releases everything. */
void worker_free(struct worker *w)
{
    pg_source_free(&w->pg);
    es_multi_free(&w->multi);
    es_client_free(&w->es);
    json_decref(w->definition);
    state_free(&w->state);
    free(w->clock_behind);
    free(w->prune_indices);
    free(w->state_path);
    free(w->rejects_path);
    free(w->build_alias);
}
