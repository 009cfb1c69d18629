/* sync.c - see sync.h.  The loop of one index:
 *
 *   identify the engine (GET /) and pick its dialect
 *   prepare the index (create it from its file, or check its live mapping)
 *   repeat until a stop request:
 *     fresh state: bootstrap (the full load's starting cursors)
 *     change_log pruned past the cursor: full reload, then a sweep
 *     report the change_log position once saved; prune change_log (one
 *     worker only, every change_log_prune_interval_s)
 *     one batch of each change source in turn (batch.c)
 *     sweep pending and the full load done: sweep (sweep.c)
 *     nothing more at once: log "caught up" once, sleep poll_interval_ms
 *
 * Any step that fails backs off and starts the round over; only bad SQL, a
 * differing mapping and an unsupported engine end the worker. */
#include "sync.h"

#include "batch.h"
#include "engine_identify.h"
#include "index_setup.h"
#include "sweep.h"
#include "log.h"
#include "status_report.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Every source back to the start and a full load to come (bootstrap). */
static void restart_state(struct worker *w)
{
    for (size_t i = 0; i < w->state.count; i++)
        w->state.sources[i].cursor = CURSOR_START;
    w->state.fresh = true;
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
        w->state.sweep_pending = false;
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

/* A fresh start: the first source (the index's own rows) is walked from the
 * beginning, which builds every document from snapshots taken after
 * horizon; so changes to the other sources stamped before horizon are in
 * those documents already, and those sources start at horizon. */
static enum step bootstrap(struct worker *w)
{
    struct pg_horizon horizon;
    enum pg_failure failure = pg_source_horizon(&w->pg, NULL, &horizon);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    /* A prepared transaction and no cursor yet: nothing is known safe. */
    if (strcmp(horizon.at, CURSOR_START.modified) == 0)
        return worker_back_off(w, "postgres", "a prepared transaction holds the horizon back");
    for (size_t i = 1; i < w->state.count; i++)
        cursor_set(&w->state.sources[i].cursor, horizon.at, CURSOR_START.id);
    w->state.fresh = false;
    enum step step = worker_save_state(w);
    if (step == STEP_OK) {
        log_event(LOG_INFO, "full load started", "horizon", horizon.at);
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
 * this index never read are gone, so it is rebuilt (a full load, then a
 * sweep of the documents that no longer exist).  Logged once: the full
 * load's cursor starts above the watermark. */
static enum step check_pruned_gap(struct worker *w)
{
    if (!w->has_change_log || w->state.fresh)
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
    restart_state(w);
    w->state.sweep_pending = true;
    return bootstrap(w);
}

/* Checks or creates the index, retrying while Elasticsearch is away. */
static enum step prepare_index(struct worker *w)
{
    for (;;) {
        char err[512];
        enum index_setup_result result =
            index_setup(&w->es, w->engine, w->idx->index, w->definition, err, sizeof err);
        if (result == INDEX_READY) {
            backoff_reset(&w->backoff);
            return STEP_OK;
        }
        if (result == INDEX_MAPPING_DIFFERS) {
            struct log_line *line = log_begin(LOG_ERROR, "index mapping differs from its file");
            log_str(line, "index", w->idx->index);
            log_str(line, "mapping", w->idx->mapping);
            log_str(line, "hint",
                    "delete the index (or fix the file) to let the worker rebuild it");
            log_end(line);
            w->exit_status = EXIT_MAPPING_DIFFERS;
            return STEP_FATAL;
        }
        enum step step = worker_back_off(w, "elasticsearch", err);
        if (step != STEP_RETRY)
            return step;
    }
}

/* Moves an unreadable state file aside so the worker can start over
 * instead of failing at every restart. */
static void set_aside_bad_state(struct worker *w, const char *why)
{
    char *aside = xasprintf("%s.bad-%lld", w->state_path, (long long)wall_clock_ms());
    int rc = rename(w->state_path, aside);
    struct log_line *line = log_begin(LOG_ERROR, "unusable state file set aside; full load");
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

int worker_init(struct worker *w, const struct etl_config *config, const struct index_config *idx,
                const volatile sig_atomic_t *stop)
{
    *w = (struct worker){.config = config, .idx = idx, .engine = &es_dialect, .stop = stop};
    backoff_init(&w->backoff, config->backoff_initial_ms, config->backoff_max_ms);
    char err[512];
    json_error_t json_err;
    w->definition = json_load_file(idx->mapping, 0, &json_err);
    if (!json_is_object(w->definition) ||
        !json_is_object(json_object_get(w->definition, "mappings"))) {
        snprintf(err, sizeof err, "%s:%d: %s", idx->mapping, json_err.line,
                 w->definition ? "no \"mappings\" object" : json_err.text);
        log_event(LOG_ERROR, "bad mapping file", "error", err);
        return EXIT_CONFIG;
    }
    if (pg_source_init(&w->pg, config, idx, err, sizeof err) < 0) {
        log_event(LOG_ERROR, "bad SQL file", "error", err);
        return EXIT_CONFIG;
    }
    if (es_client_init(&w->es, config, stop, err, sizeof err) < 0) {
        log_event(LOG_ERROR, "cannot set up the HTTP client", "error", err);
        return EXIT_INTERNAL;
    }
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

/* The loop described at the top of this file. */
int worker_run(struct worker *w)
{
    w->exit_status = EXIT_STOPPED;
    enum step step = engine_identify(w);
    if (step == STEP_OK)
        step = prepare_index(w);
    while (step != STEP_FATAL && !*w->stop) {
        if (w->state.fresh) {
            step = bootstrap(w);
            if (step != STEP_OK)
                continue;
        }
        step = check_pruned_gap(w);
        if (step == STEP_OK)
            step = report_position(w);
        if (step != STEP_OK)
            continue;
        prune_change_log(w);
        bool more = false, changed = false, loaded = false;
        for (size_t i = 0; step == STEP_OK && i < w->state.count && !*w->stop; i++) {
            int rows;
            step = batch_run(w, i, &rows);
            more = more || rows >= w->config->batch_size;
            changed = changed || rows > 0;
            loaded = loaded || (i == 0 && step == STEP_OK && rows < w->config->batch_size);
        }
        if (step != STEP_OK)
            continue;
        /* The full load after a pruned gap is done: remove what is gone. */
        if (w->state.sweep_pending && loaded) {
            step = sweep_run(w);
            if (step != STEP_OK)
                continue;
        }
        if (changed)
            w->caught_up = false;
        if (!more) {
            /* Before the log line, so a reader of both sees the status
             * first. */
            status_report_idle(w->config->poll_interval_ms);
            if (!w->caught_up)
                log_event(LOG_INFO, "caught up", "index", w->idx->index);
            w->caught_up = true;
            sleep_unless_stopped(w->config->poll_interval_ms, w->stop);
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
    es_client_free(&w->es);
    json_decref(w->definition);
    state_free(&w->state);
    free(w->clock_behind);
    free(w->prune_indices);
    free(w->state_path);
    free(w->rejects_path);
}
