/* rebuild.c - see rebuild.h.  The phases of an index and which event
 * moves it where are lifecycle.c's table (lifecycle_apply); this file reads
 * the alias into those events and does the actions the table returns
 * (on_event/perform).  What the phases mean here, for an index (alias A):
 *
 *   serving        A -> A_<t1>; live batches write through A
 *   build_pending  state "build" names A_<t2> (rebuild_start); its index
 *                  and horizon are made at the end of the round's setup
 *                  (rebuild_begin)
 *   building       A_<t2> created with alias A_build, its own cursors (its
 *                  own rows from the start, the other sources from the
 *                  horizon taken when it began); each round runs the live
 *                  batches, then the build's
 *   swapping       a build round read its window through to the round's
 *                  own snapshot, taken after the live batches (so no
 *                  source, no fan-out, is half-way, and the build has all
 *                  the live index may have; rebuild_try_swap): A_<t2> gets
 *                  the mapping file's refresh_interval back (it was created
 *                  with -1: no refresh while loading) and is refreshed; one
 *                  POST /_aliases moves A to A_<t2> (removing A_build, or the
 *                  concrete index A of the layout before aliases)
 *   serving        the build's cursors become the live ones, the state is
 *                  saved, concrete indices beyond keep_old_indices deleted
 *
 * fresh and first_load (no usable state; an empty cluster's index loaded in
 * place) are handled at start (rebuild_prepare) and by the round's
 * LIFECYCLE_LOAD_DUE.  The state is saved naming the build before its index
 * exists, so a crash anywhere resumes it (or, its index gone, starts it
 * over); the alias only ever moves to a build that has caught up. */
#include "rebuild.h"

#include "index_setup.h"
#include "lifecycle.h"
#include "log.h"
#include "mapping_file.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often the alias and the mapping file are checked. */
#define CHECK_INTERVAL_MS 2000
/* Room for an error text. */
#define ERR_MAX 512
/* The most actions of a swap: alias off the old, on the new, build alias off. */
#define SWAP_ACTIONS_MAX 3

/* What an action of the lifecycle needs beyond the worker. */
struct action_args {
    const char *reason;                  /* START_BUILD: why (logged) */
    bool had_build;                      /* START_BUILD: a build in progress is dropped */
    char previous[STATE_INDEX_NAME_MAX]; /* FINISH_SWAP: the index the alias left ("" none) */
    char horizon[SNAPSHOT_TEXT_MAX];     /* after HORIZON_TAKEN: the load's snapshot */
};

/* How an action ended: its step, and the event it raised for the table
 * next (NO_EVENT: none), with what that event's action needs. */
struct outcome {
    enum step step;
    enum lifecycle_event raised;
    struct action_args args;
};

/* An outcome's raised when the action raised no event. */
#define NO_EVENT LIFECYCLE_EVENT_COUNT

static enum step on_event(struct worker *w, enum lifecycle_event event,
                          const struct action_args *first);

/* The outcome of an action that raises no event. */
static struct outcome only(enum step step)
{
    return (struct outcome){.step = step, .raised = NO_EVENT};
}

/* Logs a failed request and backs off. */
static enum step es_failed(struct worker *w, const char *err)
{
    return worker_back_off(w, "elasticsearch", err);
}

/* True when name may be kept for a roll back: older than the live index
 * (a newer one not live is a build that never finished). */
static bool keepable(const struct worker *w, const char *name)
{
    return w->state.concrete[0] == '\0' || strcmp(name, w->state.concrete) < 0;
}

/* Deletes the concrete indices of the alias but the live one, the build
 * and the newest keep_old_indices older than the live one; each logged as
 * msg. */
static enum step delete_old(struct worker *w, const char *msg)
{
    char err[ERR_MAX];
    char **names;
    size_t count;
    if (index_versions(&w->es, w->engine, w->idx->index, &names, &count, err, sizeof err) < 0)
        return es_failed(w, err);
    int kept = 0;
    enum step step = STEP_OK;
    bool confirmed = false;
    for (size_t i = 0; i < count && step == STEP_OK; i++) {
        const char *name = names[i];
        if (strcmp(name, w->state.concrete) == 0 ||
            (lifecycle_has_build(w->state.phase) && strcmp(name, w->state.build.concrete) == 0))
            continue;
        if (kept < w->config->keep_old_indices && keepable(w, name)) {
            kept++;
            continue;
        }
        /* Not another worker's build: this one is still the writer. */
        if (!confirmed && (step = worker_confirm_lock(w)) != STEP_OK)
            break;
        confirmed = true;
        if (index_delete(&w->es, w->engine, name, err, sizeof err) < 0) {
            step = es_failed(w, err);
            break;
        }
        struct log_line *line = log_begin(LOG_INFO, msg);
        log_str(line, "index", w->idx->index);
        log_str(line, "concrete", name);
        log_end(line);
    }
    ids_free(names, count);
    return step;
}

/* Names a new build for reason (LIFECYCLE_DO_START_BUILD, the phase set
 * already): its own cursors from the start, and the state saved naming it
 * before its index exists; the build in progress, if had_build, is dropped
 * and its index deleted. */
static enum step rebuild_start(struct worker *w, const char *reason, bool had_build)
{
    char dropped[STATE_INDEX_NAME_MAX] = "";
    if (had_build)
        snprintf(dropped, sizeof dropped, "%s", w->state.build.concrete);
    struct index_build *build = &w->state.build;
    int64_t now = wall_clock_ms();
    /* A name of its own, even within one millisecond of the last. */
    do
        index_version_name(w->idx->index, now++, build->concrete, sizeof build->concrete);
    while (strcmp(build->concrete, w->state.concrete) == 0 ||
           strcmp(build->concrete, dropped) == 0);
    snprintf(build->reason, sizeof build->reason, "%s", reason);
    build->horizon[0] = '\0';
    build->started_ms = now;
    for (size_t i = 0; i < w->state.count; i++)
        build->sources[i].cursor = CURSOR_START;
    w->state.rebuild_due = false;
    w->caught_up = false;
    w->build_walked_ms = 0;
    w->build_warned_ms = 0;
    struct log_line *line = log_begin(LOG_INFO, "rebuild started");
    log_str(line, "index", w->idx->index);
    log_str(line, "reason", reason);
    log_str(line, "concrete", build->concrete);
    log_str(line, "live", w->state.concrete);
    log_end(line);
    enum step step = worker_save_state(w);
    if (step == STEP_OK && dropped[0] != '\0')
        step = worker_confirm_lock(w);
    char err[ERR_MAX];
    /* Best effort: one left behind is a stray, deleted after the swap. */
    if (step == STEP_OK && dropped[0] != '\0' &&
        index_delete(&w->es, w->engine, dropped, err, sizeof err) < 0)
        log_event(LOG_WARN, "cannot delete the dropped build's index", "error", err);
    return step;
}

/* The build's index first (a crash after it leaves it to be found and
 * reused), then its horizon, then the state saying so. */
enum step rebuild_begin(struct worker *w)
{
    struct index_build *build = &w->state.build;
    char err[ERR_MAX];
    enum step confirmed = worker_confirm_lock(w);
    if (confirmed != STEP_OK)
        return confirmed;
    /* No refresh while it loads: nobody searches it before its alias
     * moves, and swap() gives it the file's settings first. */
    int created = index_create_loading(&w->es, w->engine, build->concrete, w->definition,
                                       w->build_alias, err, sizeof err);
    if (created < 0) {
        /* Created before a crash, with the file's mapping: go on with it. */
        struct index_lookup found;
        char err2[ERR_MAX];
        if (index_lookup(&w->es, w->engine, build->concrete, w->definition, &found, err2,
                         sizeof err2) < 0 ||
            found.kind != INDEX_CONCRETE || !found.mapping_equal)
            return es_failed(w, err);
    }
    struct action_args args = {0};
    enum step step = worker_start_horizon(w, args.horizon, sizeof args.horizon);
    if (step != STEP_OK)
        return step;
    worker_cursors_at(build->sources, &build->window, w->state.count, 1, args.horizon);
    snprintf(build->horizon, sizeof build->horizon, "%s", args.horizon);
    return on_event(w, LIFECYCLE_HORIZON_TAKEN, &args);
}

/* The first load of an empty cluster (LIFECYCLE_DO_LOAD_IN_PLACE): the
 * first source (the index's own rows) is walked from the beginning, which
 * builds every document from snapshots taken after horizon; so changes to
 * the other sources stamped before horizon are in those documents already,
 * and those sources start at horizon.  A build (rebuild_begin) starts its
 * cursors the same way.  Raises LIFECYCLE_HORIZON_TAKEN. */
static struct outcome load_in_place(struct worker *w)
{
    struct outcome out = {.raised = NO_EVENT};
    out.step = worker_start_horizon(w, out.args.horizon, sizeof out.args.horizon);
    if (out.step != STEP_OK)
        return out;
    worker_cursors_at(w->state.sources, &w->state.window, w->state.count, 1, out.args.horizon);
    w->position_dirty = w->has_change_log;
    out.raised = LIFECYCLE_HORIZON_TAKEN;
    return out;
}

/* A load's horizon is taken (LIFECYCLE_DO_SAVE_LOAD): the state saying so
 * is saved, then the start logged, naming the index built when it is a
 * build's. */
static enum step save_load(struct worker *w, const char *horizon)
{
    enum step step = worker_save_state(w);
    if (step != STEP_OK)
        return step;
    struct log_line *line = log_begin(LOG_INFO, "full load started");
    log_str(line, "horizon", horizon);
    if (lifecycle_has_build(w->state.phase))
        log_str(line, "concrete", w->state.build.concrete);
    log_end(line);
    return STEP_OK;
}

/* The swap is done on the cluster: the build's cursors become the live
 * ones, and the state saying so is saved before anything old is deleted. */
static enum step finish_swap(struct worker *w, const char *previous)
{
    struct index_build *build = &w->state.build;
    char before[STATE_INDEX_NAME_MAX];
    snprintf(before, sizeof before, "%s", previous);
    snprintf(w->state.concrete, sizeof w->state.concrete, "%s", build->concrete);
    memcpy(w->state.sources, build->sources, w->state.count * sizeof *w->state.sources);
    w->state.window = build->window;
    w->position_dirty = w->has_change_log;
    w->caught_up = false;
    enum step step = worker_save_state(w);
    if (step != STEP_OK)
        return step;
    struct log_line *line = log_begin(LOG_INFO, "alias moved");
    log_str(line, "index", w->idx->index);
    log_str(line, "concrete", build->concrete);
    log_str(line, "previous", before);
    log_str(line, "reason", build->reason);
    log_double(line, "took_s", (double)(wall_clock_ms() - build->started_ms) / 1000.0);
    log_end(line);
    return delete_old(w, "old index deleted");
}

/* A swap that failed: the request is backed off, and the build goes on
 * (LIFECYCLE_SWAP_FAILED). */
static struct outcome swap_failed(struct worker *w, const char *err)
{
    return (struct outcome){.step = es_failed(w, err), .raised = LIFECYCLE_SWAP_FAILED};
}

/* The build has walked its own rows and caught up (LIFECYCLE_DO_SWAP):
 * moves the alias in one request and raises LIFECYCLE_SWAP_DONE (or
 * LIFECYCLE_ALIAS_AT_BUILD when it was moved before a crash). */
static struct outcome swap(struct worker *w)
{
    char err[ERR_MAX];
    struct index_lookup live;
    if (index_lookup(&w->es, w->engine, w->idx->index, w->definition, &live, err, sizeof err) < 0)
        return swap_failed(w, err);
    struct outcome out = {.step = STEP_OK, .raised = LIFECYCLE_SWAP_DONE};
    const char *build = w->state.build.concrete;
    if (live.kind == INDEX_ALIAS && strcmp(live.concrete, build) == 0) {
        out.raised = LIFECYCLE_ALIAS_AT_BUILD;
        snprintf(out.args.previous, sizeof out.args.previous, "%s", w->state.concrete);
        return out;
    }
    struct alias_action actions[SWAP_ACTIONS_MAX];
    size_t n = 0;
    if (live.kind == INDEX_ALIAS)
        actions[n++] = (struct alias_action){ALIAS_REMOVE, live.concrete, w->idx->index};
    else if (live.kind == INDEX_CONCRETE)
        actions[n++] = (struct alias_action){ALIAS_REMOVE_INDEX, w->idx->index, NULL};
    actions[n++] = (struct alias_action){ALIAS_ADD, build, w->idx->index};
    actions[n++] = (struct alias_action){ALIAS_REMOVE, build, w->build_alias};
    /* Still the one writer: the alias is not another worker's to move. */
    enum step confirmed = worker_confirm_lock(w);
    if (confirmed != STEP_OK)
        return (struct outcome){.step = confirmed, .raised = LIFECYCLE_SWAP_FAILED};
    /* The file's refresh_interval back, and every document searchable,
     * before clients see the index. */
    if (index_make_searchable(&w->es, w->engine, build, w->definition, err, sizeof err) < 0)
        return swap_failed(w, err);
    if (index_aliases(&w->es, w->engine, actions, n, err, sizeof err) < 0)
        return swap_failed(w, err);
    snprintf(out.args.previous, sizeof out.args.previous, "%s",
             live.kind == INDEX_NONE ? "" : live.concrete);
    return out;
}

/* Logs that the live mapping is not the file's and, under refuse, ends the
 * worker (exit 65).  Returns STEP_FATAL then, else STEP_OK. */
static enum step refuse_mapping(struct worker *w)
{
    if (w->config->on_mapping_change != MAPPING_CHANGE_REFUSE)
        return STEP_OK;
    struct log_line *line = log_begin(LOG_ERROR, "index mapping differs from its file");
    log_str(line, "index", w->idx->index);
    log_str(line, "mapping", w->idx->mapping);
    log_str(line, "hint", "on_mapping_change = refuse: set it to rebuild, or fix the file");
    log_end(line);
    w->exit_status = EXIT_MAPPING_DIFFERS;
    return STEP_FATAL;
}

/* Logs that the alias no longer resolves to the live index. */
static void log_alias_change(struct worker *w, const char *what, const char *now)
{
    struct log_line *line = log_begin(LOG_WARN, what);
    log_str(line, "index", w->idx->index);
    log_str(line, "live", w->state.concrete);
    log_str(line, "now", now);
    log_end(line);
}

/* What the alias resolving to live says, as a lifecycle event; *reason is
 * why a build would start.  The live index's name follows the alias (none
 * when it is missing or a concrete index of the layout before aliases, to
 * be adopted). */
static enum lifecycle_event read_alias(struct worker *w, const struct index_lookup *live,
                                       const char **reason)
{
    if (live->kind == INDEX_NONE) {
        if (w->state.concrete[0] != '\0')
            log_alias_change(w, "alias missing", "");
        w->state.concrete[0] = '\0';
        *reason = REBUILD_ALIAS_MISSING;
        return LIFECYCLE_ALIAS_MISSING;
    }
    if (live->kind == INDEX_CONCRETE) {
        w->state.concrete[0] = '\0'; /* no alias to write through until adopted */
        *reason = REBUILD_ADOPT;
        return LIFECYCLE_CONCRETE_FOUND;
    }
    if (lifecycle_has_build(w->state.phase) && strcmp(live->concrete, w->state.build.concrete) == 0)
        return LIFECYCLE_ALIAS_AT_BUILD;
    enum lifecycle_event event = LIFECYCLE_ALIAS_FOUND;
    if (w->state.concrete[0] != '\0' && strcmp(live->concrete, w->state.concrete) != 0) {
        log_alias_change(w, "alias moved by someone else", live->concrete);
        event = LIFECYCLE_ALIAS_MOVED;
        *reason = REBUILD_ALIAS_MOVED;
    }
    snprintf(w->state.concrete, sizeof w->state.concrete, "%s", live->concrete);
    if (event == LIFECYCLE_ALIAS_FOUND && !live->mapping_equal) {
        event = LIFECYCLE_MAPPING_CHANGED;
        *reason = REBUILD_MAPPING_CHANGED;
    } else if (event == LIFECYCLE_ALIAS_FOUND && w->state.rebuild_due) {
        event = LIFECYCLE_CHANGE_LOG_PRUNED;
        *reason = REBUILD_CHANGE_LOG_PRUNED;
    }
    return event;
}

/* What the alias resolves to (live), against the state: under
 * on_mapping_change = refuse a live mapping not the file's ends the
 * worker; else the lifecycle decides (a rebuild when the live index is
 * missing, moved by someone else, of another mapping, or of the layout
 * before aliases; a swap finished; a build's index checked). */
static enum step reconcile(struct worker *w, const struct index_lookup *live)
{
    if (live->kind != INDEX_NONE && !live->mapping_equal && refuse_mapping(w) == STEP_FATAL)
        return STEP_FATAL;
    const char *reason = NULL;
    enum lifecycle_event event = read_alias(w, live, &reason);
    return rebuild_event(w, event, reason);
}

/* The build's index (LIFECYCLE_DO_CHECK_BUILD): gone, or not of the file's
 * mapping, the build starts over (LIFECYCLE_BUILD_MISSING,
 * LIFECYCLE_BUILD_MAPPING_CHANGED). */
static struct outcome check_build(struct worker *w)
{
    char err[ERR_MAX];
    struct index_lookup build;
    if (index_lookup(&w->es, w->engine, w->state.build.concrete, w->definition, &build, err,
                     sizeof err) < 0)
        return only(es_failed(w, err));
    struct outcome out = {.step = STEP_OK, .raised = NO_EVENT};
    if (build.kind == INDEX_NONE) {
        out.raised = LIFECYCLE_BUILD_MISSING;
        out.args.reason = REBUILD_BUILD_MISSING;
    } else if (!build.mapping_equal) {
        out.raised = LIFECYCLE_BUILD_MAPPING_CHANGED;
        out.args.reason = REBUILD_MAPPING_CHANGED;
    }
    return out;
}

/* Does what the table says for one event. */
static struct outcome perform(struct worker *w, enum lifecycle_action action,
                              const struct action_args *args)
{
    switch (action) {
    case LIFECYCLE_DO_NOTHING:
        return only(STEP_OK);
    case LIFECYCLE_DO_START_BUILD:
        return only(rebuild_start(w, args->reason, args->had_build));
    case LIFECYCLE_DO_LOAD_IN_PLACE:
        return load_in_place(w);
    case LIFECYCLE_DO_SAVE_LOAD:
        return only(save_load(w, args->horizon));
    case LIFECYCLE_DO_LIVE_AT_HORIZON:
        /* No usable live cursors: the live index gets what changes from
         * now on, the build everything. */
        worker_cursors_at(w->state.sources, &w->state.window, w->state.count, 0, args->horizon);
        w->position_dirty = w->has_change_log;
        return only(save_load(w, args->horizon));
    case LIFECYCLE_DO_CHECK_BUILD:
        return check_build(w);
    case LIFECYCLE_DO_SWAP:
        return swap(w);
    case LIFECYCLE_DO_FINISH_SWAP:
        return only(finish_swap(w, args->previous));
    case LIFECYCLE_DO_NOTE_BUILD:
        log_event(LOG_INFO, "rebuild requested; one is already running", "concrete",
                  w->state.build.concrete);
        return only(STEP_OK);
    case LIFECYCLE_DO_DROP_CURSORS:
        worker_drop_cursors(w);
        return only(STEP_OK);
    }
    return only(STEP_OK);
}

/* Applies event, performs its action, and then every event an action
 * raised in turn (a loop, after slot_event: a check that finds the build's
 * index gone raises BUILD_MISSING, whose action starts it over).  A raised
 * event is applied even after a failed step (a failed swap is building
 * again); the step returned is the last that was not STEP_OK, if any. */
static enum step on_event(struct worker *w, enum lifecycle_event event,
                          const struct action_args *first)
{
    struct action_args args = *first;
    enum step step = STEP_OK;
    for (;;) {
        args.had_build = lifecycle_has_build(w->state.phase);
        struct outcome out = perform(w, lifecycle_apply(&w->state.phase, event), &args);
        if (out.step != STEP_OK)
            step = out.step;
        if (out.raised == NO_EVENT)
            return step;
        event = out.raised;
        args = out.args;
    }
}

/* The live index's name is where a swap found done before a crash moved
 * the alias from. */
enum step rebuild_event(struct worker *w, enum lifecycle_event event, const char *reason)
{
    struct action_args args = {.reason = reason};
    snprintf(args.previous, sizeof args.previous, "%s", w->state.concrete);
    return on_event(w, event, &args);
}

/* An empty cluster: the first index gets the alias at once, so clients
 * find an index filling up rather than none (LIFECYCLE_LIVE_CREATED).
 * Only by the index's one writer. */
static enum step create_first(struct worker *w)
{
    enum step step = worker_confirm_lock(w);
    if (step != STEP_OK)
        return step;
    char err[ERR_MAX];
    index_version_name(w->idx->index, wall_clock_ms(), w->state.concrete, sizeof w->state.concrete);
    if (index_create(&w->es, w->engine, w->state.concrete, w->definition, w->idx->index, err,
                     sizeof err) < 0) {
        w->state.concrete[0] = '\0';
        return es_failed(w, err);
    }
    step = rebuild_event(w, LIFECYCLE_LIVE_CREATED, NULL);
    struct log_line *line = log_begin(LOG_INFO, "index created");
    log_str(line, "index", w->idx->index);
    log_str(line, "concrete", w->state.concrete);
    log_end(line);
    return step;
}

enum step rebuild_prepare(struct worker *w)
{
    for (;;) {
        char err[ERR_MAX];
        struct index_lookup live;
        enum step step = STEP_OK;
        if (index_lookup(&w->es, w->engine, w->idx->index, w->definition, &live, err, sizeof err) <
            0) {
            step = es_failed(w, err);
        } else if (!lifecycle_load_due(w->state.phase)) {
            step = reconcile(w, &live);
        } else if (live.kind == INDEX_NONE) {
            step = create_first(w);
        } else if (!live.mapping_equal && refuse_mapping(w) == STEP_FATAL) {
            step = STEP_FATAL;
        } else if (live.kind == INDEX_CONCRETE) {
            w->state.concrete[0] = '\0';
            step = rebuild_event(w, LIFECYCLE_CONCRETE_FOUND, REBUILD_ADOPT);
        } else {
            snprintf(w->state.concrete, sizeof w->state.concrete, "%s", live.concrete);
            step = rebuild_event(w, LIFECYCLE_LOAD_DUE, w->fresh_reason);
        }
        if (step == STEP_RETRY)
            continue;
        if (step != STEP_OK)
            return step;
        backoff_reset(&w->backoff);
        return delete_old(w, "stray index deleted");
    }
}

/* Reads the mapping file again when it changed on disk (another inode,
 * size or time); a file that does not parse is logged and the last good
 * one kept (an editor may be half-way through writing it). */
static void reload_mapping(struct worker *w)
{
    struct stat now;
    if (stat(w->idx->mapping, &now) < 0)
        return;
    const struct stat *was = &w->mapping_stat;
    if (now.st_ino == was->st_ino && now.st_size == was->st_size &&
        now.st_mtim.tv_sec == was->st_mtim.tv_sec && now.st_mtim.tv_nsec == was->st_mtim.tv_nsec)
        return;
    w->mapping_stat = now;
    char err[ERR_MAX];
    json_t *definition = mapping_file_read(w->idx->mapping, err, sizeof err);
    if (definition == NULL) {
        log_event(LOG_ERROR, "bad mapping file; the last good one stays", "error", err);
        return;
    }
    json_decref(w->definition);
    w->definition = definition;
    log_event(LOG_INFO, "mapping file read again", "mapping", w->idx->mapping);
}

enum step rebuild_check(struct worker *w)
{
    int64_t now = monotonic_ms();
    if (now < w->next_check_ms)
        return STEP_OK;
    w->next_check_ms = now + CHECK_INTERVAL_MS;
    reload_mapping(w);
    char err[ERR_MAX];
    struct index_lookup live;
    if (index_lookup(&w->es, w->engine, w->idx->index, w->definition, &live, err, sizeof err) < 0)
        return es_failed(w, err);
    return reconcile(w, &live);
}

/* Why a build is not ready yet, in words for the log. */
static const char *not_ready_reason(enum build_readiness readiness)
{
    return readiness == BUILD_WINDOW_OPEN
               ? "a change source has more to read in the build's window"
               : "the build's window ends before the live index's last read";
}

/* Logs "build not caught up" build_max_catch_up_s after its walk ended,
 * then again every as many seconds while it has not. */
static void note_not_caught_up(struct worker *w, enum build_readiness readiness)
{
    const struct index_build *build = &w->state.build;
    if (strcmp(build->window.from, SNAPSHOT_NONE) == 0)
        return; /* still walking its own rows: that takes what it takes */
    int64_t now = monotonic_ms();
    if (w->build_walked_ms == 0)
        w->build_walked_ms = now;
    int64_t every_ms = (int64_t)w->config->build_max_catch_up_s * 1000;
    if (now - w->build_walked_ms < every_ms ||
        (w->build_warned_ms != 0 && now - w->build_warned_ms < every_ms))
        return;
    w->build_warned_ms = now;
    struct log_line *line = log_begin(LOG_WARN, "build not caught up");
    log_str(line, "index", w->idx->index);
    log_str(line, "concrete", build->concrete);
    log_double(line, "catching_up_s", (double)(now - w->build_walked_ms) / 1000.0);
    log_str(line, "reason", not_ready_reason(readiness));
    if (readiness == BUILD_WINDOW_OPEN && w->build_open_source != NULL)
        log_str(line, "source", w->build_open_source);
    log_str(line, "window_to",
            readiness == BUILD_WINDOW_OPEN ? build->window.to : build->window.from);
    log_str(line, "hint", "it goes on catching up; the alias stays on the live index");
    log_end(line);
}

enum step rebuild_try_swap(struct worker *w)
{
    enum build_readiness readiness = state_build_readiness(&w->state, w->snapshot.at);
    if (readiness != BUILD_READY) {
        note_not_caught_up(w, readiness);
        return STEP_OK;
    }
    return rebuild_event(w, LIFECYCLE_BUILD_CAUGHT_UP, NULL);
}

/* The build's batches ran only while building; the live ones while a live
 * index was known. */
enum step rebuild_lost(struct worker *w, enum sync_target target)
{
    if (target == TARGET_BUILD)
        return rebuild_event(w, LIFECYCLE_BUILD_MISSING, REBUILD_BUILD_MISSING);
    log_alias_change(w, "alias missing", "");
    w->state.concrete[0] = '\0';
    return rebuild_event(w, LIFECYCLE_LIVE_LOST, REBUILD_ALIAS_MISSING);
}
