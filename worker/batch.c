/* batch.c - see batch.h.  One batch of one change source:
 *
 *   1. snapshot: pg_current_snapshot(), taken once per target and round
 *      before any batch (batch_take_snapshot), in its own statement; it
 *      ends the target's window (the transactions visible in it and not in
 *      the window's start) unless a window is still open; warn while a
 *      transaction in progress at it has been open long.  One window for
 *      every source of a target: a transaction touching two sources is
 *      read whole by the window or not at all, never half of it
 *   2. BEGIN REPEATABLE READ READ ONLY
 *      rows = change query (cursor, window, batch_size): at most batch_size
 *             rows, so at most batch_size documents, whatever the fan-out
 *      docs = document query (distinct doc ids of rows), each checked to be
 *             JSON and put on one line, its values untouched (json_minify.h)
 *      COMMIT
 *   3. _bulk, in requests of at most bulk_max_bytes: index the docs found,
 *      delete the ids not found; a document too large alone is rejected; a
 *      413 halves the request; log and keep aside the documents the index
 *      can never take (a mapping error); send again with backoff what the
 *      index refuses for now (a block, a closed index, no write index,
 *      security, 429, 5xx: the dialect's classes) or with an error of an
 *      unknown kind, saying so once a spell (refusal.h)
 *   4. cursor = last row (its (txid, id), and its doc_id: the position
 *      inside a fan-out); state file written atomically
 *   5. once every source has read the window to its end (sync.c): the
 *      window's start becomes its end, every cursor goes to the start of
 *      the next window, the state file is written, and a change_log
 *      position is then due to be reported
 *
 * A batch runs for a target: the live index (through its alias) or the
 * index a rebuild is filling (through the build alias), each with its own
 * cursors.  A write whose alias is missing (STEP_LOST) saves nothing.
 *
 * A crash anywhere before 4 leaves the old cursor: the batch is sent again,
 * which is harmless (index and delete are idempotent). */
#include "batch.h"

#include "bulk_split.h"
#include "http_status.h"
#include "json_minify.h"
#include "log.h"
#include "refusal.h"
#include "rejects.h"
#include "status_report.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What etl_snapshot_holder() calls a prepared transaction, and the two
 * warnings (the runbook names the first). */
#define HOLDER_PREPARED  "prepared"
#define HELD_BY_OPEN     "changes of an open transaction wait for its commit"
#define HELD_BY_PREPARED "changes of a prepared transaction wait for its commit"

/* Rejects one action with status and error (JSON text, owned): logged and
 * written to the rejects file like an item the search engine refused. */
static void reject_action(struct worker *w, const struct bulk_action *action, int status,
                          char *error, struct batch_counts *counts)
{
    struct bulk_item_result result = {.outcome = BULK_REJECTED, .status = status, .error = error};
    counts->rejected++;
    rejects_record(w->rejects_path, w->idx->index, action, &result);
    free(error);
}

/* Counts the items of a bulk answer: done, rejected (kept aside), or to
 * send again (moved to the front of pending, their number returned,
 * reason the last one's): refused by the index for now or of an unknown
 * kind (*refused: the first such result), or without an item in the
 * answer (never counted done); *lost when an item's alias is missing. */
static size_t sort_items(struct worker *w, struct bulk_action *pending,
                         const struct bulk_item_result *results, size_t count,
                         struct batch_counts *counts, bool *lost,
                         const struct bulk_item_result **refused, char *reason, size_t reason_size)
{
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        const struct bulk_item_result *r = &results[i];
        switch (r->outcome) {
        case BULK_NO_INDEX:
            *lost = true;
            break;
        case BULK_DONE:
            if (pending[i].document)
                counts->indexed++;
            else
                counts->deleted++;
            break;
        case BULK_REJECTED:
            counts->rejected++;
            rejects_record(w->rejects_path, w->idx->index, &pending[i], r);
            break;
        case BULK_REFUSING:
        case BULK_UNKNOWN:
            if (*refused == NULL)
                *refused = r;
            snprintf(reason, reason_size, "item %s: status %d %s", pending[i].id, r->status,
                     r->type != NULL ? r->type : "");
            pending[kept++] = pending[i];
            break;
        case BULK_UNCONFIRMED:
            snprintf(reason, reason_size, "item %s: no item in the bulk answer", pending[i].id);
            pending[kept++] = pending[i];
            break;
        }
    }
    return kept;
}

/* A request that failed as a whole, with an answer (status > 0): its
 * error classed by the dialect, counted in the refusal spell, then backed
 * off. */
static enum step request_refused(struct worker *w, const struct bulk_answer *answer, char *reason,
                                 size_t reason_size)
{
    struct bulk_item_result failure;
    w->engine->request_failure(answer->status, answer->body, answer->body_len, &failure);
    snprintf(reason, reason_size, "bulk request answered HTTP %ld %s", answer->status,
             failure.type != NULL ? failure.type : "");
    refusal_note(w, &failure, answer->sent_ms);
    bulk_results_free(&failure, 1);
    return worker_back_off_refused(w, reason);
}

/* Sends actions with _bulk until every item is done or rejected.  Items
 * the index refuses for now (or of an unknown kind), items the answer
 * left out, and whole requests that fail are sent again with backoff:
 * nothing of them is done until the index takes it (refusal.h says so).
 * A request answered 413 is left to the caller: *too_large gets its size
 * (else 0).  first, unless NULL, is the answer to the first request, sent
 * already (es_multi.c): it is read as if this had sent it. */
static enum step send_bulk(struct worker *w, const char *alias, const struct bulk_action *actions,
                           size_t count, struct batch_counts *counts, size_t *too_large,
                           const struct bulk_answer *first)
{
    *too_large = 0;
    struct bulk_action *pending = xcalloc(count, sizeof *pending);
    memcpy(pending, actions, count * sizeof *pending);
    struct bulk_item_result *results = xcalloc(count, sizeof *results);
    struct buffer body = {0};
    enum step step = STEP_OK;
    while (count > 0) {
        struct bulk_answer answer;
        if (first != NULL) {
            answer = *first;
            first = NULL;
        } else {
            buffer_reset(&body);
            w->engine->bulk_build(&body, alias, pending, count);
            int64_t sent_ms = monotonic_ms();
            long sent = es_request(&w->es, "POST", w->bulk_path, body.data, body.len, true);
            answer = (struct bulk_answer){
                sent, w->es.response.data, w->es.response.len, w->es.err, body.len, sent_ms};
        }
        counts->requests++;
        if (answer.request_bytes > counts->max_request_bytes)
            counts->max_request_bytes = answer.request_bytes;
        status_report_bulk_bytes(answer.request_bytes);
        long status = answer.status;
        char reason[CURL_ERROR_SIZE + 64];
        if (status < 0 && *w->stop) {
            step = STEP_STOP;
            break;
        }
        if (status == HTTP_PAYLOAD_TOO_LARGE) {
            *too_large = answer.request_bytes;
            break;
        }
        if (status != HTTP_OK) {
            if (status < 0) {
                snprintf(reason, sizeof reason, "%s", answer.err);
                step = worker_back_off(w, "elasticsearch", reason);
            } else {
                step = request_refused(w, &answer, reason, sizeof reason);
            }
            if (step != STEP_RETRY)
                break;
            continue;
        }
        if (w->engine->bulk_parse_response(answer.body, answer.body_len, pending, count, results) <
            0) {
            step = worker_back_off(w, "elasticsearch", "unreadable bulk response");
            if (step != STEP_RETRY)
                break;
            continue;
        }
        bool lost = false;
        const struct bulk_item_result *refused = NULL;
        size_t kept =
            sort_items(w, pending, results, count, counts, &lost, &refused, reason, sizeof reason);
        if (!lost && refused != NULL)
            refusal_note(w, refused, answer.sent_ms);
        else if (!lost)
            refusal_over(w, answer.sent_ms);
        bulk_results_free(results, count);
        if (lost) {
            step = STEP_LOST; /* the alias is gone: nothing of this batch counts */
            break;
        }
        count = kept;
        step = STEP_OK;
        if (count > 0) {
            step = refused != NULL ? worker_back_off_refused(w, reason)
                                   : worker_back_off(w, "elasticsearch", reason);
            if (step != STEP_RETRY)
                break;
            step = STEP_OK;
        }
    }
    buffer_free(&body);
    free(results);
    free(pending);
    return step;
}

/* Logs that a request of count actions, bytes long, was answered 413 and
 * that the next one takes half as many. */
static void log_halving(size_t bytes, size_t count, size_t half)
{
    struct log_line *line = log_begin(LOG_WARN, "bulk request too large; halving");
    log_int(line, "status", HTTP_PAYLOAD_TOO_LARGE);
    log_int(line, "bytes", (long long)bytes);
    log_int(line, "actions", (long long)count);
    log_int(line, "first_half", (long long)half);
    log_end(line);
}

/* Sends actions in as many requests as it takes for none to exceed
 * bulk_max_bytes; an action whose lines alone exceed it is rejected.  A
 * request answered 413 is sent again with half as many actions (cap), down
 * to one, which is then rejected; each request accepted lets the next one
 * take twice as many again.  first: see send_bulk (the answer to a request
 * of all the actions, which fit). */
static enum step send_bounded(struct worker *w, const char *alias,
                              const struct bulk_action *actions, size_t count,
                              struct batch_counts *counts, const struct bulk_answer *first)
{
    size_t limit = (size_t)w->config->bulk_max_bytes;
    size_t *sizes = xcalloc(count, sizeof *sizes);
    for (size_t i = 0; i < count; i++)
        sizes[i] = bulk_action_bytes(w->engine, alias, &actions[i]);
    enum step step = STEP_OK;
    size_t at = 0;
    size_t cap = count;
    while (step == STEP_OK && at < count) {
        size_t n = bulk_split_fit(sizes + at, count - at, limit);
        if (n == 0) {
            reject_action(w, &actions[at], HTTP_PAYLOAD_TOO_LARGE,
                          bulk_split_oversize_error(sizes[at], limit), counts);
            at++;
            continue;
        }
        n = n < cap ? n : cap;
        size_t too_large;
        step = send_bulk(w, alias, actions + at, n, counts, &too_large, first);
        first = NULL;
        if (step != STEP_OK)
            break;
        if (too_large == 0) {
            at += n;
            cap = cap < count / 2 ? cap * 2 : count;
        } else if (n == 1) {
            reject_action(w, &actions[at], HTTP_PAYLOAD_TOO_LARGE,
                          bulk_split_refused_error(too_large), counts);
            at++;
        } else {
            cap = bulk_split_half(n);
            log_halving(too_large, n, cap);
        }
    }
    free(sizes);
    return step;
}

/* qsort/bsearch comparison of string pointers. */
static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct doc ids of a change result (pointers into it), neither NULL
 * nor CURSOR_DOC_ALL. */
static const char **distinct_doc_ids(PGresult *changes, size_t *count)
{
    int rows = PQntuples(changes);
    const char **ids = xcalloc((size_t)rows, sizeof *ids);
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        if (!PQgetisnull(changes, r, 2) && strcmp(PQgetvalue(changes, r, 2), CURSOR_DOC_ALL) != 0)
            ids[n++] = PQgetvalue(changes, r, 2);
    }
    qsort(ids, n, sizeof *ids, compare_strings);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++) {
        if (unique == 0 || strcmp(ids[unique - 1], ids[i]) != 0)
            ids[unique++] = ids[i];
    }
    *count = unique;
    return ids;
}

/* Sets up a delete action for each of the plan's ids (already sorted). */
static void plan_actions(struct batch_plan *plan)
{
    plan->actions = xcalloc(plan->count + 1, sizeof *plan->actions);
    plan->texts = xcalloc(plan->count + 1, sizeof *plan->texts);
    for (size_t i = 0; i < plan->count; i++)
        plan->actions[i].id = plan->ids[i];
}

/* Logs why documents.sql's result cannot be used, and for which id. */
static void log_bad_document(const char *reason, const char *id, const json_error_t *error)
{
    struct log_line *line = log_begin(LOG_ERROR, reason);
    log_str(line, "id", id);
    if (error != NULL) {
        log_int(line, "line", error->line);
        log_int(line, "column", error->column);
        log_str(line, "error", error->text);
    }
    log_end(line);
}

/* Reads one document query result, for the n ids from plan->ids + first,
 * into plan: each document checked to be JSON and put on one line
 * (whatever documents.sql printed), its values byte for byte.  A row the
 * contract does not allow (etc/sql/README.md) is an error, never skipped:
 * skipped, the id it meant would be deleted from the index as gone.
 * Returns NULL, or the reason (logged with the id): the index's SQL is
 * wrong. */
static const char *plan_documents(struct batch_plan *plan, size_t first, size_t n, PGresult *docs)
{
    const char **asked = plan->ids + first;
    for (int r = 0; r < PQntuples(docs); r++) {
        const char *id = PQgetvalue(docs, r, 0);
        const char *reason = NULL;
        const char **found =
            PQgetisnull(docs, r, 0) ? NULL : bsearch(&id, asked, n, sizeof *asked, compare_strings);
        size_t at = found != NULL ? (size_t)(found - plan->ids) : 0;
        if (PQgetisnull(docs, r, 0))
            reason = "documents.sql returned a NULL id";
        else if (found == NULL)
            reason = "documents.sql returned an id it was not asked for";
        else if (plan->texts[at] != NULL)
            reason = "documents.sql returned an id twice";
        else if (PQgetisnull(docs, r, 1))
            reason = "documents.sql returned a NULL document";
        if (reason != NULL) {
            log_bad_document(reason, id, NULL);
            return reason;
        }
        json_error_t error;
        const char *raw = PQgetvalue(docs, r, 1);
        size_t raw_len = (size_t)PQgetlength(docs, r, 1);
        /* Parsed only to prove it is JSON (numbers of any width allowed);
         * what is sent is the text itself, on one line. */
        json_t *document = json_loadb(raw, raw_len, JSON_DECODE_INT_AS_REAL, &error);
        char *text = document ? json_minify(raw, raw_len) : NULL;
        json_decref(document);
        if (text == NULL) {
            log_bad_document("documents.sql returned invalid JSON", id, &error);
            return "documents.sql returned invalid JSON";
        }
        plan->texts[at] = text;
        plan->actions[at].document = text;
    }
    return NULL;
}

/* The cursors a target's batches move. */
static struct source_state *target_sources(struct worker *w, enum sync_target target)
{
    return target == TARGET_BUILD ? w->state.build.sources : w->state.sources;
}

/* Logs the batch line (what etlctl status and the tests read); a
 * rebuild's batches are "build batch" lines naming the index built, and
 * only the live index's batches go to the status channel (its counts and
 * lag are what an operator watches). */
static void log_batch(struct worker *w, enum sync_target target, size_t source,
                      const struct batch_counts *counts, size_t docs, int64_t started_ms)
{
    const struct source_state *sources = target_sources(w, target);
    const struct cursor *cursor = &sources[source].cursor;
    if (target == TARGET_BUILD)
        status_report_build(w->state.build.concrete, (long)docs);
    else
        status_report_batch(
            &(struct status_batch){sources[source].name, cursor, w->state.concrete, counts->rows,
                                   (long)docs, counts->indexed, counts->deleted, counts->rejected,
                                   counts->query_ms, counts->bulk_ms, monotonic_ms() - started_ms});
    struct log_line *line = log_begin(LOG_INFO, target == TARGET_BUILD ? "build batch" : "batch");
    log_str(line, "index", w->idx->index);
    if (target == TARGET_BUILD)
        log_str(line, "concrete", w->state.build.concrete);
    log_str(line, "source", sources[source].name);
    log_int(line, "rows", counts->rows);
    log_int(line, "docs", (long long)docs);
    log_int(line, "indexed", counts->indexed);
    log_int(line, "deleted", counts->deleted);
    log_int(line, "rejected", counts->rejected);
    log_str(line, "cursor_txid", cursor->txid);
    log_str(line, "cursor_modified", cursor->modified);
    log_str(line, "cursor_id", cursor->id);
    int64_t stamp = pg_timestamp_ms(cursor->modified);
    if (stamp >= 0)
        log_double(line, "lag_s", (double)(wall_clock_ms() - stamp) / 1000.0);
    log_int(line, "query_ms", counts->query_ms);
    log_int(line, "bulk_ms", counts->bulk_ms);
    log_int(line, "took_ms", monotonic_ms() - started_ms);
    log_int(line, "bulk_requests", counts->requests);
    log_int(line, "bulk_max_request_bytes", (long long)counts->max_request_bytes);
    log_str(line, "cursor_doc_id", cursor->doc_id);
    log_end(line);
}

/* Releases a plan and the change result its ids point into. */
static void free_batch(PGresult *changes, struct batch_plan *plan)
{
    for (size_t i = 0; plan->texts != NULL && i < plan->count; i++)
        free(plan->texts[i]);
    free(plan->texts);
    free(plan->actions);
    free(plan->ids);
    PQclear(changes);
}

/* Reads the documents of the plan's ids in chunks of batch_size (one uuid[]
 * each), each chunk released once read into the plan, inside the caller's
 * REPEATABLE READ transaction; every action gets that snapshot's version
 * (content.etl_snapshot_version()), so a document read from an older state
 * can never replace one read from a newer (version_type external_gte).
 * PG_BAD_SQL also for a result plan_documents() refuses. */
static enum pg_failure fetch_documents(struct worker *w, struct batch_plan *plan)
{
    long long version;
    enum pg_failure got = pg_source_version(&w->pg, &version);
    if (got != PG_OK)
        return got;
    for (size_t i = 0; i < plan->count; i++)
        plan->actions[i].version = version;
    size_t step = (size_t)w->config->batch_size;
    for (size_t at = 0; at < plan->count; at += step) {
        size_t n = plan->count - at < step ? plan->count - at : step;
        PGresult *docs = NULL;
        enum pg_failure failure = pg_source_documents(&w->pg, plan->ids + at, n, &docs);
        if (failure != PG_OK)
            return failure;
        const char *reason = plan_documents(plan, at, n, docs);
        PQclear(docs);
        if (reason != NULL) {
            snprintf(w->pg.err, sizeof w->pg.err, "%s: %s", w->idx->documents_sql, reason);
            return PG_BAD_SQL;
        }
    }
    return PG_OK;
}

/* Warns, at most once per held_warn_s, while a transaction that was in
 * progress at the round's snapshot has been open longer than that: its
 * changes (only its own) wait for its commit, and an operator should know
 * which one it is (etl_snapshot_holder: kind and detail). */
static void warn_if_held_back(struct worker *w, const struct pg_snapshot *snapshot)
{
    status_report_held(snapshot->held_s, snapshot->kind, snapshot->detail);
    int64_t now = monotonic_ms();
    int64_t every_ms = (int64_t)w->config->held_warn_s * 1000;
    if (snapshot->held_s * 1000 < (double)every_ms ||
        (w->held_warned_ms != 0 && now - w->held_warned_ms < every_ms))
        return;
    w->held_warned_ms = now;
    bool prepared = strcmp(snapshot->kind, HOLDER_PREPARED) == 0;
    struct log_line *line = log_begin(LOG_WARN, prepared ? HELD_BY_PREPARED : HELD_BY_OPEN);
    log_double(line, "held_s", snapshot->held_s);
    log_str(line, "holder", snapshot->kind);
    log_str(line, "detail", snapshot->detail);
    log_str(line, "hint",
            prepared ? "see pg_prepared_xacts; COMMIT PREPARED or ROLLBACK PREPARED it"
                     : "see pg_stat_activity ordered by xact_start");
    log_end(line);
}

/* The window a target's cursors read. */
static struct snapshot_window *target_window(struct worker *w, enum sync_target target)
{
    return target == TARGET_BUILD ? &w->state.build.window : &w->state.window;
}

/* An xid8 bound of a snapshot as a number; 0 when unreadable. */
static unsigned long long snapshot_xmax(const char *snapshot)
{
    char xmax[CURSOR_TEXT_MAX];
    return snapshot_bound(snapshot, 1, xmax, sizeof xmax) ? strtoull(xmax, NULL, 10) : 0;
}

/* Records the connection's cluster in a state that names none (a file
 * written before it was recorded): saved with the next save, no rebuild. */
static void fill_in_cluster(struct worker *w)
{
    if (cluster_id_known(&w->state.cluster))
        return;
    w->state.cluster = w->pg.cluster;
    struct log_line *line = log_begin(LOG_INFO, "cluster recorded in the state file");
    log_str(line, "index", w->idx->index);
    log_str(line, "system_identifier", w->pg.cluster.system_identifier);
    log_int(line, "timeline", w->pg.cluster.timeline);
    log_end(line);
}

/* True, logged once (why, and what the state file saved against what the
 * database shows), when the database is not the one target's cursors were
 * read from: another cluster (a dump restored elsewhere), another timeline
 * (a point-in-time restore, a failover), or a snapshot behind the window's
 * start (a restore or failover that lost transactions the index has read;
 * their ids will be used again).  The index may hold changes the database
 * no longer has: the state is dropped and the index rebuilt behind its
 * alias (sync.c). */
static bool database_behind(struct worker *w, enum sync_target target, const char *now)
{
    fill_in_cluster(w);
    const char *from = target_window(w, target)->from;
    const char *why = cluster_id_differs(&w->state.cluster, &w->pg.cluster);
    if (why == NULL && snapshot_xmax(now) < snapshot_xmax(from))
        why = "transaction ids behind the saved snapshot";
    if (why == NULL)
        return false;
    struct log_line *line =
        log_begin(LOG_ERROR, "database is behind the state file (restored or failed over?)");
    log_str(line, "index", w->idx->index);
    log_str(line, "reason", why);
    log_str(line, "target", target == TARGET_BUILD ? "build" : "live");
    log_str(line, "saved_system_identifier", w->state.cluster.system_identifier);
    log_str(line, "found_system_identifier", w->pg.cluster.system_identifier);
    log_int(line, "saved_timeline", w->state.cluster.timeline);
    log_int(line, "found_timeline", w->pg.cluster.timeline);
    log_str(line, "saved_snapshot", from);
    log_str(line, "found_snapshot", now);
    log_str(line, "hint", "rebuilding the index behind its alias");
    log_end(line);
    return true;
}

/* Step 1.  The snapshot is taken every round, for what holds it back; it
 * becomes the window's end only when no window is open (one left open by
 * the last round, or by the state file, is read to its end first).  A
 * database that is not the one the cursors were read from sets w->behind
 * instead. */
enum step batch_take_snapshot(struct worker *w, enum sync_target target)
{
    enum pg_failure failure = pg_source_snapshot(&w->pg, &w->snapshot);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    if (database_behind(w, target, w->snapshot.at)) {
        w->behind = true;
        return STEP_OK;
    }
    struct snapshot_window *window = target_window(w, target);
    if (window->to[0] == '\0')
        snprintf(window->to, sizeof window->to, "%s", w->snapshot.at);
    if (target == TARGET_LIVE)
        warn_if_held_back(w, &w->snapshot);
    return STEP_OK;
}

/* How often an idle worker saves its live window when workers do not
 * prune (change_log_prune_interval_s = 0): its position still reaches
 * content.etl_position for a pruning cron job (etc/etl.ini). */
#define IDLE_SAVE_WITHOUT_PRUNING_S 3600

/* True when an idle window end is due to be saved: once per
 * change_log_prune_interval_s, so the change_log position this index
 * reports keeps up with the pruning even when nothing it reads changes. */
static bool idle_save_due(const struct worker *w, enum sync_target target)
{
    if (target != TARGET_LIVE)
        return false;
    int every_s = w->config->change_log_prune_interval_s > 0
                      ? w->config->change_log_prune_interval_s
                      : IDLE_SAVE_WITHOUT_PRUNING_S;
    return monotonic_ms() - w->window_saved_ms >= (int64_t)every_s * 1000;
}

/* Step 5.  Saved when the window held changes, and when idle only once in
 * a while (idle_save_due): an empty window read again after a crash reads
 * nothing, so an idle worker need not write at every round. */
enum step batch_end_window(struct worker *w, enum sync_target target, bool changed)
{
    struct snapshot_window *window = target_window(w, target);
    if (window->to[0] == '\0')
        return STEP_OK;
    snprintf(window->from, sizeof window->from, "%s", window->to);
    window->to[0] = '\0';
    if (target == TARGET_LIVE) {
        w->pending = false;
        status_report_pending(false, 0);
    }
    struct source_state *sources = target_sources(w, target);
    for (size_t i = 0; i < w->state.count; i++)
        cursor_window_start(&sources[i].cursor, window->from);
    if (!changed && !idle_save_due(w, target))
        return STEP_OK;
    enum step step = worker_save_state(w);
    if (step == STEP_OK && target == TARGET_LIVE) {
        w->window_saved_ms = monotonic_ms();
        w->position_dirty = w->position_dirty || w->has_change_log;
    }
    return step;
}

/* True when a row of changes affects every document (doc_id
 * CURSOR_DOC_ALL: a TRUNCATE) and target must be rebuilt for it: not the
 * live index while a build runs (the build replaces it; a build that read
 * the same row is rebuilt itself). */
static bool affects_all(const struct worker *w, enum sync_target target, PGresult *changes)
{
    if (target == TARGET_LIVE && lifecycle_has_build(w->state.phase))
        return false;
    for (int r = 0; r < PQntuples(changes); r++) {
        if (!PQgetisnull(changes, r, 2) && strcmp(PQgetvalue(changes, r, 2), CURSOR_DOC_ALL) == 0)
            return true;
    }
    return false;
}

/* Counts the live rows of changes as waiting to be searchable: the oldest
 * `modified` among them, and among those read before in the window, is
 * the age the lag metric shows until the window is read (rows without a
 * readable `modified` count from now). */
static void note_pending(struct worker *w, enum sync_target target, PGresult *changes, int rows)
{
    if (target != TARGET_LIVE)
        return;
    for (int r = 0; r < rows; r++) {
        int64_t stamp =
            PQgetisnull(changes, r, 3) ? -1 : pg_timestamp_ms(PQgetvalue(changes, r, 3));
        if (stamp < 0)
            stamp = wall_clock_ms();
        if (!w->pending || stamp < w->pending_since_ms)
            w->pending_since_ms = stamp;
        w->pending = true;
    }
    status_report_pending(w->pending, w->pending_since_ms);
}

/* Step 2 at the top of this file, from the cursor from, in the target's
 * window. */
enum step batch_read(struct worker *w, enum sync_target target, size_t source,
                     const struct cursor *from, struct batch *b)
{
    *b = (struct batch){.started_ms = monotonic_ms()};
    enum pg_failure failure = pg_source_begin(&w->pg);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    failure = pg_source_changes(&w->pg, source, from, target_window(w, target),
                                w->config->batch_size, &b->changes);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    b->rows = PQntuples(b->changes);
    note_pending(w, target, b->changes, b->rows);
    if (b->rows > 0 && affects_all(w, target, b->changes)) {
        w->truncated = true;
        b->rows = 0; /* nothing of it is sent or saved: the rebuild reads anew */
    }
    if (b->rows == 0) {
        batch_free(b);
        failure = pg_source_commit(&w->pg);
        return failure == PG_OK ? STEP_OK : worker_pg_failed(w, failure);
    }
    b->plan.ids = distinct_doc_ids(b->changes, &b->plan.count);
    plan_actions(&b->plan);
    failure = fetch_documents(w, &b->plan);
    if (failure == PG_OK)
        failure = pg_source_commit(&w->pg);
    if (failure != PG_OK) {
        batch_free(b);
        return worker_pg_failed(w, failure);
    }
    int last = b->rows - 1;
    cursor_set_within(&b->end, PQgetvalue(b->changes, last, 0), PQgetvalue(b->changes, last, 1),
                      PQgetisnull(b->changes, last, 2) ? NULL : PQgetvalue(b->changes, last, 2),
                      PQgetisnull(b->changes, last, 3) ? NULL : PQgetvalue(b->changes, last, 3));
    b->counts = (struct batch_counts){.rows = b->rows, .query_ms = monotonic_ms() - b->started_ms};
    return STEP_OK;
}

/* The alias a target's batches write to. */
static const char *target_alias(const struct worker *w, enum sync_target target)
{
    return target == TARGET_BUILD ? w->build_alias : w->idx->index;
}

bool batch_body(struct worker *w, enum sync_target target, const struct batch *b,
                struct buffer *body)
{
    buffer_reset(body);
    w->engine->bulk_build(body, target_alias(w, target), b->plan.actions, b->plan.count);
    return body->len <= (size_t)w->config->bulk_max_bytes;
}

/* Step 3. */
enum step batch_send(struct worker *w, enum sync_target target, struct batch *b,
                     const struct bulk_answer *first)
{
    return send_bounded(w, target_alias(w, target), b->plan.actions, b->plan.count, &b->counts,
                        first);
}

/* Step 4. */
enum step batch_finish(struct worker *w, enum sync_target target, size_t source,
                       const struct batch *b)
{
    target_sources(w, target)[source].cursor = b->end;
    enum step step = worker_save_state(w);
    if (step == STEP_OK) {
        w->position_dirty = w->position_dirty ||
                            (target == TARGET_LIVE && w->has_change_log && source == w->change_log);
        log_batch(w, target, source, &b->counts, b->plan.count, b->started_ms);
        backoff_reset(&w->backoff);
    }
    return step;
}

void batch_free(struct batch *b)
{
    free_batch(b->changes, &b->plan);
    b->changes = NULL;
    b->plan = (struct batch_plan){0};
}

/* Appends the doc ids of a change result (neither NULL nor CURSOR_DOC_ALL)
 * to *ids, copied: the result is freed before the next is read. */
static void append_doc_ids(PGresult *changes, char ***ids, size_t *count, size_t *cap)
{
    for (int r = 0; r < PQntuples(changes); r++) {
        if (PQgetisnull(changes, r, 2) || strcmp(PQgetvalue(changes, r, 2), CURSOR_DOC_ALL) == 0)
            continue;
        if (*count == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *ids = xrealloc(*ids, *cap * sizeof **ids);
        }
        (*ids)[(*count)++] = xstrdup(PQgetvalue(changes, r, 2));
    }
}

/* Inside the caller's REPEATABLE READ transaction, before anything else in
 * it: the ids of the index's own rows written since the snapshot since (the
 * first source over the window from since to this transaction's own
 * snapshot, batch after batch), copied into *ids.  Every batch reads that
 * same snapshot, so no row can change between the window's end and its
 * read, which is how a window of the rounds can miss a row. */
static enum pg_failure own_rows_since(struct worker *w, const char *since, char ***ids,
                                      size_t *count)
{
    struct pg_snapshot now;
    enum pg_failure failure = pg_source_snapshot(&w->pg, &now);
    if (failure != PG_OK)
        return failure;
    struct snapshot_window window;
    snprintf(window.from, sizeof window.from, "%s", since);
    snprintf(window.to, sizeof window.to, "%s", now.at);
    struct cursor cursor = CURSOR_START;
    cursor_window_start(&cursor, since);
    size_t cap = 0;
    for (;;) {
        PGresult *changes = NULL;
        failure = pg_source_changes(&w->pg, 0, &cursor, &window, w->config->batch_size, &changes);
        if (failure != PG_OK)
            break;
        int rows = PQntuples(changes);
        append_doc_ids(changes, ids, count, &cap);
        if (rows > 0) {
            int last = rows - 1;
            cursor_set_within(&cursor, PQgetvalue(changes, last, 0), PQgetvalue(changes, last, 1),
                              PQgetisnull(changes, last, 2) ? NULL : PQgetvalue(changes, last, 2),
                              NULL);
        }
        PQclear(changes);
        if (rows == 0)
            break;
    }
    /* Sorted, as a plan's ids are; each once: one snapshot shows a row once,
     * and the first source has one line per row. */
    if (*count > 1)
        qsort(*ids, *count, sizeof **ids, compare_strings);
    return failure;
}

enum step batch_fill_build(struct worker *w)
{
    int64_t started_ms = monotonic_ms();
    char **owned = NULL;
    struct batch_plan plan = {0};
    enum pg_failure failure = pg_source_begin(&w->pg);
    if (failure == PG_OK)
        failure = own_rows_since(w, w->state.build.window.from, &owned, &plan.count);
    if (failure == PG_OK) {
        plan.ids = xcalloc(plan.count + 1, sizeof *plan.ids);
        for (size_t i = 0; i < plan.count; i++)
            plan.ids[i] = owned[i];
        plan_actions(&plan);
        failure = fetch_documents(w, &plan);
    }
    if (failure == PG_OK)
        failure = pg_source_commit(&w->pg);
    enum step step = failure == PG_OK ? STEP_OK : worker_pg_failed(w, failure);
    struct batch_counts counts = {0};
    if (step == STEP_OK && plan.count > 0)
        step = send_bounded(w, w->build_alias, plan.actions, plan.count, &counts, NULL);
    if (step == STEP_OK) {
        struct log_line *line = log_begin(LOG_INFO, "build filled");
        log_str(line, "index", w->idx->index);
        log_str(line, "concrete", w->state.build.concrete);
        log_int(line, "docs", (long long)plan.count);
        log_int(line, "indexed", counts.indexed);
        log_int(line, "deleted", counts.deleted);
        log_int(line, "rejected", counts.rejected);
        log_int(line, "took_ms", monotonic_ms() - started_ms);
        log_end(line);
    }
    size_t copies = plan.count;
    free_batch(NULL, &plan);
    for (size_t i = 0; i < copies && owned != NULL; i++)
        free(owned[i]);
    free(owned);
    return step;
}

/* A plan of the given ids instead of a change result's; no cursor moves. */
enum step batch_resend(struct worker *w, const char *const *ids, size_t count,
                       struct resend_counts *out)
{
    *out = (struct resend_counts){0};
    struct batch_plan plan = {.count = count};
    plan.ids = xcalloc(count + 1, sizeof *plan.ids);
    memcpy(plan.ids, ids, count * sizeof *plan.ids);
    qsort(plan.ids, count, sizeof *plan.ids, compare_strings);
    plan_actions(&plan);
    /* One snapshot for the documents and their version, as a batch's. */
    enum pg_failure failure = pg_source_begin(&w->pg);
    if (failure == PG_OK)
        failure = fetch_documents(w, &plan);
    if (failure == PG_OK)
        failure = pg_source_commit(&w->pg);
    if (failure != PG_OK) {
        free_batch(NULL, &plan);
        return worker_pg_failed(w, failure);
    }
    struct batch_counts counts = {0};
    enum step step = send_bounded(w, w->idx->index, plan.actions, plan.count, &counts, NULL);
    *out = (struct resend_counts){counts.indexed, counts.deleted, counts.rejected};
    free_batch(NULL, &plan);
    return step;
}
