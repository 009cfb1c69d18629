/* batch.c - see batch.h.  One batch of one change source:
 *
 *   1. horizon = content.etl_horizon()          (own statement, before the snapshot)
 *   2. BEGIN REPEATABLE READ READ ONLY
 *      rows = change query (cursor, horizon, batch_size)
 *      docs = document query (distinct doc ids of rows)
 *      COMMIT
 *   3. _bulk: index the docs found, delete the ids not found; retry 429/5xx
 *      items with backoff; log and keep aside items rejected for good
 *   4. cursor = last row; state file written atomically
 *
 * A crash anywhere before 4 leaves the old cursor: the batch is sent again,
 * which is harmless (index and delete are idempotent). */
#include "batch.h"

#include "log.h"
#include "rejects.h"
#include "status_report.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts and timings of one batch. */
struct batch_counts {
    long rows, indexed, deleted, rejected;
    int64_t query_ms, bulk_ms; /* time in PostgreSQL, time in Elasticsearch */
};

/* Sends actions with _bulk until every item is done or rejected.  Items
 * answered 429/5xx, and whole requests that fail, are retried with backoff. */
static enum step send_bulk(struct worker *w, struct bulk_action *actions, size_t count,
                           struct batch_counts *counts)
{
    struct bulk_action *pending = xcalloc(count, sizeof *pending);
    memcpy(pending, actions, count * sizeof *pending);
    struct bulk_item_result *results = xcalloc(count, sizeof *results);
    struct buffer body = {0};
    enum step step = STEP_OK;
    while (count > 0) {
        buffer_reset(&body);
        w->engine->bulk_build(&body, w->idx->index, pending, count);
        long status = es_request(&w->es, "POST", w->engine->bulk_path, body.data, body.len, true);
        status_report_bulk_bytes(body.len);
        char reason[CURL_ERROR_SIZE + 64];
        if (status < 0 && *w->stop) {
            step = STEP_STOP;
            break;
        }
        if (status != 200) {
            if (status < 0)
                snprintf(reason, sizeof reason, "%s", w->es.err);
            else
                snprintf(reason, sizeof reason, "bulk request answered HTTP %ld", status);
            step = worker_back_off(w, "elasticsearch", reason);
            if (step != STEP_RETRY)
                break;
            continue;
        }
        if (w->engine->bulk_parse_response(w->es.response.data, w->es.response.len, pending, count,
                                           results) < 0) {
            step = worker_back_off(w, "elasticsearch", "unreadable bulk response");
            if (step != STEP_RETRY)
                break;
            continue;
        }
        size_t kept = 0;
        for (size_t i = 0; i < count; i++) {
            if (results[i].outcome == BULK_DONE) {
                if (pending[i].document)
                    counts->indexed++;
                else
                    counts->deleted++;
            } else if (results[i].outcome == BULK_REJECTED) {
                counts->rejected++;
                rejects_record(w->rejects_path, w->idx->index, &pending[i], &results[i]);
            } else {
                snprintf(reason, sizeof reason, "item %s: status %d", pending[i].id,
                         results[i].status);
                pending[kept++] = pending[i];
            }
        }
        bulk_results_free(results, count);
        count = kept;
        step = STEP_OK;
        if (count > 0) {
            step = worker_back_off(w, "elasticsearch", reason);
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

/* qsort/bsearch comparison of string pointers. */
static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct non-null doc ids of a change result (pointers into it). */
static const char **distinct_doc_ids(PGresult *changes, size_t *count)
{
    int rows = PQntuples(changes);
    const char **ids = xcalloc((size_t)rows, sizeof *ids);
    size_t n = 0;
    for (int r = 0; r < rows; r++) {
        if (!PQgetisnull(changes, r, 2))
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

/* Builds one action per id: the document when the query returned it, else
 * a delete.  docs are the document query's results (one per chunk). */
static struct bulk_action *plan_actions(const char **ids, size_t count, PGresult **docs,
                                        size_t chunks)
{
    struct bulk_action *actions = xcalloc(count, sizeof *actions);
    for (size_t i = 0; i < count; i++)
        actions[i].id = ids[i];
    for (size_t c = 0; c < chunks; c++) {
        for (int r = 0; r < PQntuples(docs[c]); r++) {
            const char *id = PQgetvalue(docs[c], r, 0);
            const char **found = bsearch(&id, ids, count, sizeof *ids, compare_strings);
            if (found != NULL && !PQgetisnull(docs[c], r, 1))
                actions[found - ids].document = PQgetvalue(docs[c], r, 1);
        }
    }
    return actions;
}

/* Logs the batch line (what etlctl status and the tests read). */
static void log_batch(struct worker *w, size_t source, const struct batch_counts *counts,
                      size_t docs, int64_t started_ms)
{
    const struct cursor *cursor = &w->state.sources[source].cursor;
    status_report_batch(&(struct status_batch){w->state.sources[source].name, cursor, counts->rows,
                                               (long)docs, counts->indexed, counts->deleted,
                                               counts->rejected, counts->query_ms, counts->bulk_ms,
                                               monotonic_ms() - started_ms});
    struct log_line *line = log_begin(LOG_INFO, "batch");
    log_str(line, "index", w->idx->index);
    log_str(line, "source", w->state.sources[source].name);
    log_int(line, "rows", counts->rows);
    log_int(line, "docs", (long long)docs);
    log_int(line, "indexed", counts->indexed);
    log_int(line, "deleted", counts->deleted);
    log_int(line, "rejected", counts->rejected);
    log_str(line, "cursor_modified", cursor->modified);
    log_str(line, "cursor_id", cursor->id);
    int64_t stamp = pg_timestamp_ms(cursor->modified);
    if (stamp >= 0)
        log_double(line, "lag_s", (double)(wall_clock_ms() - stamp) / 1000.0);
    log_int(line, "query_ms", counts->query_ms);
    log_int(line, "bulk_ms", counts->bulk_ms);
    log_int(line, "took_ms", monotonic_ms() - started_ms);
    log_end(line);
}

/* Releases the results of one batch. */
static void free_batch(PGresult *changes, PGresult **docs, size_t chunks, const char **ids,
                       struct bulk_action *actions)
{
    for (size_t c = 0; c < chunks; c++)
        PQclear(docs[c]);
    free(docs);
    free(ids);
    free(actions);
    PQclear(changes);
}

/* Reads the documents of ids in chunks of batch_size (one uuid[] each). */
static enum pg_failure fetch_documents(struct worker *w, const char **ids, size_t count,
                                       PGresult **docs, size_t *chunks)
{
    size_t step = (size_t)w->config->batch_size;
    *chunks = 0;
    for (size_t at = 0; at < count; at += step) {
        size_t n = count - at < step ? count - at : step;
        enum pg_failure failure = pg_source_documents(&w->pg, ids + at, n, &docs[*chunks]);
        if (failure != PG_OK)
            return failure;
        (*chunks)++;
    }
    return PG_OK;
}

/* Warns, at most once per horizon_warn_s, while an open transaction holds
 * the horizon back longer than that: the worker then waits for it, and an
 * operator should know why nothing new arrives. */
static void warn_if_held_back(struct worker *w, const char *horizon, double held_s)
{
    status_report_held(held_s);
    int64_t now = monotonic_ms();
    int64_t every_ms = (int64_t)w->config->horizon_warn_s * 1000;
    if (held_s * 1000 < (double)every_ms ||
        (w->held_warned_ms != 0 && now - w->held_warned_ms < every_ms))
        return;
    w->held_warned_ms = now;
    struct log_line *line = log_begin(LOG_WARN, "horizon held back by an open transaction");
    log_str(line, "horizon", horizon);
    log_double(line, "held_s", held_s);
    log_str(line, "hint", "see pg_stat_activity ordered by xact_start");
    log_end(line);
}

/* The steps at the top of this file, in that order. */
enum step batch_run(struct worker *w, size_t source, int *rows_read)
{
    int64_t started = monotonic_ms();
    *rows_read = 0;
    char horizon[CURSOR_TEXT_MAX];
    double held_s = 0;
    enum pg_failure failure = pg_source_horizon(&w->pg, horizon, sizeof horizon, &held_s);
    if (failure == PG_OK) {
        warn_if_held_back(w, horizon, held_s);
        failure = pg_source_begin(&w->pg);
    }
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    PGresult *changes = NULL;
    failure = pg_source_changes(&w->pg, source, &w->state.sources[source].cursor, horizon,
                                w->config->batch_size, &changes);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    int rows = PQntuples(changes);
    if (rows == 0) {
        PQclear(changes);
        failure = pg_source_commit(&w->pg);
        return failure == PG_OK ? STEP_OK : worker_pg_failed(w, failure);
    }
    size_t count;
    const char **ids = distinct_doc_ids(changes, &count);
    size_t max_chunks = count / (size_t)w->config->batch_size + 1;
    PGresult **docs = xcalloc(max_chunks, sizeof *docs);
    size_t chunks = 0;
    failure = fetch_documents(w, ids, count, docs, &chunks);
    if (failure == PG_OK)
        failure = pg_source_commit(&w->pg);
    if (failure != PG_OK) {
        free_batch(changes, docs, chunks, ids, NULL);
        return worker_pg_failed(w, failure);
    }
    struct bulk_action *actions = plan_actions(ids, count, docs, chunks);
    struct batch_counts counts = {.rows = rows, .query_ms = monotonic_ms() - started};
    enum step step = STEP_OK;
    size_t per_request = (size_t)w->config->batch_size;
    int64_t bulk_started = monotonic_ms();
    for (size_t at = 0; step == STEP_OK && at < count; at += per_request) {
        size_t n = count - at < per_request ? count - at : per_request;
        step = send_bulk(w, actions + at, n, &counts);
    }
    counts.bulk_ms = monotonic_ms() - bulk_started;
    if (step == STEP_OK) {
        struct cursor *cursor = &w->state.sources[source].cursor;
        cursor_set(cursor, PQgetvalue(changes, rows - 1, 0), PQgetvalue(changes, rows - 1, 1));
        step = worker_save_state(w);
        if (step == STEP_OK) {
            log_batch(w, source, &counts, count, started);
            backoff_reset(&w->backoff);
            *rows_read = rows;
        }
    }
    free_batch(changes, docs, chunks, ids, actions);
    return step;
}
