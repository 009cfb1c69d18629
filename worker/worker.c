/* worker.c - see worker.h.  What every part of the worker shares, and its
 * setup: the mapping file, the SQL files and HTTP client (worker_open), the
 * state directory and file (an unusable one set aside: a full load), the
 * change_log source and, for the first index, the indices pruning waits
 * for. */
#include "worker.h"

#include "log.h"
#include "mapping_file.h"
#include "status_report.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One "retry" line per attempt, at level; the callers reset the backoff
 * on success. */
static enum step back_off(struct worker *w, enum log_level level, const char *what,
                          const char *reason)
{
    int64_t delay = backoff_next_ms(&w->backoff);
    struct log_line *line = log_begin(level, "retry");
    log_str(line, "what", what);
    log_str(line, "reason", reason);
    log_int(line, "attempt", backoff_attempts(&w->backoff));
    log_int(line, "delay_ms", delay);
    log_end(line);
    status_report_retry(what, delay);
    return sleep_unless_stopped(delay, w->stop) ? STEP_RETRY : STEP_STOP;
}

enum step worker_back_off(struct worker *w, const char *what, const char *reason)
{
    return back_off(w, LOG_WARN, what, reason);
}

enum step worker_back_off_refused(struct worker *w, const char *reason)
{
    return back_off(w, LOG_DEBUG, "elasticsearch", reason);
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

/* A plain loop over the live sources; no window read yet. */
void worker_drop_cursors(struct worker *w)
{
    snprintf(w->state.window.from, sizeof w->state.window.from, "%s", SNAPSHOT_NONE);
    w->state.window.to[0] = '\0';
    for (size_t i = 0; i < w->state.count; i++)
        w->state.sources[i].cursor = CURSOR_START;
}

/* The build in progress, if any, is dropped too (LIFECYCLE_STATE_UNUSABLE);
 * the next round's LIFECYCLE_LOAD_DUE starts the load for reason. */
void worker_restart_state(struct worker *w, const char *reason)
{
    if (lifecycle_apply(&w->state.phase, LIFECYCLE_STATE_UNUSABLE) == LIFECYCLE_DO_DROP_CURSORS)
        worker_drop_cursors(w);
    w->fresh_reason = reason;
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
        log_event(LOG_ERROR, "cannot read from this server; not starting", "reason", w->pg.err);
        w->exit_status = EXIT_CONFIG;
        return STEP_FATAL;
    }
    if (failure == PG_BAD_CURSOR) {
        set_aside_bad_state(w, w->pg.err);
        worker_restart_state(w, REBUILD_UNUSABLE_STATE);
        return STEP_RETRY;
    }
    if (failure == PG_LOCKED)
        return STEP_YIELD;
    return worker_back_off(w, "postgres", w->pg.err);
}

/* The one line of a wait for the writer lock: who holds it. */
static void log_lock_waiting(const struct worker *w)
{
    struct log_line *line = log_begin(LOG_WARN, "another worker holds the index; waiting");
    log_str(line, "index", w->idx->index);
    log_int(line, "holder_pid", w->pg.lock_holder);
    log_int(line, "retry_ms", w->config->index_lock_poll_ms);
    log_str(line, "hint",
            "another etl-worker for this index (a second supervisor, a run by hand): see "
            "pg_stat_activity for holder_pid; this one takes over when it ends");
    log_end(line);
}

/* Another worker holding the lock is not a failure: no backoff, no retry
 * event, only the waiting status, which the watchdog takes as a
 * heartbeat. */
enum step worker_hold_lock(struct worker *w, bool *waited)
{
    *waited = false;
    int64_t since = 0;
    for (;;) {
        enum pg_failure failure = pg_source_connect(&w->pg);
        if (failure == PG_OK)
            break;
        if (failure != PG_LOCKED) {
            enum step step = worker_pg_failed(w, failure);
            if (step != STEP_RETRY)
                return step;
            continue;
        }
        if (!*waited) {
            since = monotonic_ms();
            log_lock_waiting(w);
        }
        *waited = true;
        char reason[STATE_INDEX_NAME_MAX + 64];
        snprintf(reason, sizeof reason, "another worker holds index %s (pid %ld)", w->idx->index,
                 w->pg.lock_holder);
        status_report_waiting(reason, w->config->index_lock_poll_ms);
        if (!sleep_unless_stopped(w->config->index_lock_poll_ms, w->stop))
            return STEP_STOP;
    }
    if (*waited) {
        struct log_line *line = log_begin(LOG_INFO, "index lock taken; taking over");
        log_str(line, "index", w->idx->index);
        log_double(line, "waited_s", (double)(monotonic_ms() - since) / 1000.0);
        log_end(line);
    }
    return STEP_OK;
}

/* One query on the open connection (a new one has just taken the lock). */
enum step worker_confirm_lock(struct worker *w)
{
    enum pg_failure failure = pg_source_confirm_lock(&w->pg);
    return failure == PG_OK ? STEP_OK : worker_pg_failed(w, failure);
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

/* One statement of its own: every batch's snapshot is taken after it.  The
 * cursors set from it are of the connection's cluster and timeline, which
 * the state records from now on. */
enum step worker_start_horizon(struct worker *w, char *out, size_t size)
{
    struct pg_snapshot snapshot;
    enum pg_failure failure = pg_source_snapshot(&w->pg, &snapshot);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    snprintf(out, size, "%s", snapshot.at);
    w->state.cluster = w->pg.cluster;
    return STEP_OK;
}

/* Past the end: at the snapshot's xmax, where no row of it can be. */
void worker_cursors_at(struct source_state *sources, struct snapshot_window *window, size_t count,
                       size_t from, const char *snapshot)
{
    snprintf(window->from, sizeof window->from, "%s", SNAPSHOT_NONE);
    snprintf(window->to, sizeof window->to, "%s", snapshot);
    char xmax[CURSOR_TEXT_MAX];
    snapshot_bound(snapshot, 1, xmax, sizeof xmax);
    for (size_t i = 0; i < count; i++) {
        if (i < from)
            sources[i].cursor = CURSOR_START;
        else
            cursor_set(&sources[i].cursor, xmax, CURSOR_START.id);
    }
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

/* Every write waits for that many copies of its shard, for half of
 * request_timeout_ms at most: a shard without them (a red cluster, no
 * cluster manager) is answered 503 before the client gives up, so the
 * retry says why instead of "timed out". */
void worker_set_engine(struct worker *w, const struct search_engine_ops *ops)
{
    w->engine = ops;
    free(w->bulk_path);
    w->bulk_path =
        xasprintf("%s&wait_for_active_shards=%s&timeout=%dms", ops->bulk_path,
                  w->config->es_wait_for_active_shards, w->config->es_request_timeout_ms / 2);
}

/* Sets the state up for the index's change sources and reads the state
 * file into it (one that cannot be used is set aside).  Returns what
 * state_load returned. */
static int load_state(struct worker *w)
{
    const struct index_config *idx = w->idx;
    const char **names = xcalloc(idx->changes_count, sizeof *names);
    char(*storage)[STATE_SOURCE_NAME_MAX] = xcalloc(idx->changes_count, sizeof *storage);
    for (size_t i = 0; i < idx->changes_count; i++) {
        state_source_name(idx->changes_sql[i], storage[i], sizeof storage[i]);
        names[i] = storage[i];
    }
    state_init(&w->state, names, idx->changes_count);
    free(names);
    free(storage);
    char err[512];
    int loaded = state_load(&w->state, w->state_path, idx->index, err, sizeof err);
    if (loaded < 0)
        set_aside_bad_state(w, err);
    return loaded;
}

/* As worker_init left them, but for what it set up once. */
void worker_reload_state(struct worker *w)
{
    state_free(&w->state);
    w->fresh_reason = REBUILD_NO_STATE;
    int loaded = load_state(w);
    w->caught_up = false;
    w->truncated = false;
    w->behind = false;
    w->held_warned_ms = 0;
    w->position_dirty = w->has_change_log;
    w->window_saved_ms = 0;
    w->next_check_ms = 0;
    w->prepared = false;
    w->build_walked_ms = 0;
    w->build_warned_ms = 0;
    w->build_open_source = NULL;
    log_event(LOG_INFO, "state file read again", "state", loaded > 0 ? "resumed" : "fresh");
}

/* The mapping, the SQL files and HTTP client, the state directory, the
 * state file; then "started" is logged and reported. */
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
    w->definition = mapping_file_read(idx->mapping, err, sizeof err);
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
    find_change_log(w);
    w->pg.lock_index = idx->index;
    int loaded = load_state(w);
    status_report_started();
    struct log_line *line = log_begin(LOG_INFO, "started");
    log_str(line, "index", idx->index);
    log_str(line, "state", loaded > 0 ? "resumed" : "fresh");
    log_end(line);
    return 0;
}

/* Releases everything. */
void worker_free(struct worker *w)
{
    pg_source_free(&w->pg);
    es_multi_free(&w->multi);
    es_client_free(&w->es);
    json_decref(w->definition);
    state_free(&w->state);
    free(w->prune_indices);
    free(w->state_path);
    free(w->rejects_path);
    free(w->bulk_path);
    free(w->build_alias);
}
