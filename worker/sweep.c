/* sweep.c - see sweep.h.  After the full reload that follows a pruned
 * change_log gap, the index may still hold documents deleted while their
 * events were pruned.  The sweep:
 *
 *   refresh the index (a search sees only refreshed writes; an idle shard
 *     may not have refreshed on its own)
 *   open a scroll over the index's ids (batch_size a page)
 *   for each page: documents.sql(ids); the ids it does not return no
 *     longer exist: _bulk delete them
 *   clear the scroll; sweep_pending = false; save the state
 *
 * Documents indexed meanwhile exist in PostgreSQL, so documents.sql returns
 * them and they stay.  Any failure backs off and the sweep starts over at
 * the next round. */
#include "sweep.h"

#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Counts of one sweep, for its log line. */
struct sweep_counts {
    long long checked, deleted;
};

/* Sends deletes for ids with _bulk.  Deletes are idempotent: anything but
 * every item done (a missing document counts as done) is retried whole. */
static enum step delete_ids(struct worker *w, const char **ids, size_t count)
{
    struct bulk_action *actions = xcalloc(count, sizeof *actions);
    struct bulk_item_result *results = xcalloc(count, sizeof *results);
    for (size_t i = 0; i < count; i++)
        actions[i].id = ids[i];
    struct buffer body = {0};
    w->engine->bulk_build(&body, w->idx->index, actions, count);
    long status = es_request(&w->es, "POST", w->engine->bulk_path, body.data, body.len, true);
    enum step step = STEP_OK;
    if (status != 200 || w->engine->bulk_parse_response(w->es.response.data, w->es.response.len,
                                                        actions, count, results) < 0) {
        step = worker_back_off(w, "elasticsearch", "sweep: bulk delete failed");
    } else {
        for (size_t i = 0; step == STEP_OK && i < count; i++) {
            if (results[i].outcome != BULK_DONE)
                step = worker_back_off(w, "elasticsearch", "sweep: a delete was not done");
        }
        bulk_results_free(results, count);
    }
    buffer_free(&body);
    free(results);
    free(actions);
    return step;
}

/* qsort/bsearch comparison of string pointers. */
static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One page: the ids documents.sql does not return are deleted (an
 * index_page_fn; ctx is the sweep_counts). */
static enum step sweep_page(struct worker *w, char **ids, size_t count, json_t *sources, void *ctx)
{
    (void)sources;
    struct sweep_counts *counts = ctx;
    PGresult *docs;
    enum pg_failure failure = pg_source_documents(&w->pg, (const char *const *)ids, count, &docs);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    int found_count = PQntuples(docs);
    const char **found = xcalloc((size_t)found_count + 1, sizeof *found);
    for (int r = 0; r < found_count; r++)
        found[r] = PQgetvalue(docs, r, 0);
    qsort(found, (size_t)found_count, sizeof *found, compare_ids);
    const char **gone = xcalloc(count, sizeof *gone);
    size_t gone_count = 0;
    for (size_t i = 0; i < count; i++) {
        if (bsearch(&ids[i], found, (size_t)found_count, sizeof *found, compare_ids) == NULL)
            gone[gone_count++] = ids[i];
    }
    enum step step = gone_count > 0 ? delete_ids(w, gone, gone_count) : STEP_OK;
    counts->checked += (long long)count;
    if (step == STEP_OK)
        counts->deleted += (long long)gone_count;
    free(gone);
    free(found);
    PQclear(docs);
    return step;
}

/* POSTs body (malloc'ed, freed here) to path; reads a scroll page. */
static enum step scroll_request(struct worker *w, const char *path, char *body, char **scroll_id,
                                char ***ids, size_t *count, json_t **sources)
{
    long status = es_request(&w->es, "POST", path, body, strlen(body), false);
    free(body);
    if (status == 200 && w->engine->scroll_parse(w->es.response.data, w->es.response.len, scroll_id,
                                                 ids, count, sources) == 0)
        return STEP_OK;
    return worker_back_off(w, "elasticsearch", status < 0 ? w->es.err : "scroll failed");
}

/* refresh, open the scroll, one page at a time, clear the scroll. */
enum step index_walk(struct worker *w, bool with_sources, index_page_fn page, void *ctx)
{
    char *scroll_id = NULL;
    char **ids = NULL;
    size_t count = 0;
    json_t *sources = NULL;
    json_t **want = with_sources ? &sources : NULL;
    char *path = w->engine->refresh_path(w->idx->index);
    long status = es_request(&w->es, "POST", path, NULL, 0, false);
    free(path);
    if (status != 200)
        return worker_back_off(w, "elasticsearch", status < 0 ? w->es.err : "refresh failed");
    path = w->engine->scroll_start_path(w->idx->index);
    enum step step = scroll_request(
        w, path, w->engine->scroll_start_body((size_t)w->config->batch_size, with_sources),
        &scroll_id, &ids, &count, want);
    free(path);
    while (step == STEP_OK && count > 0 && !*w->stop) {
        step = page(w, ids, count, sources, ctx);
        ids_free(ids, count);
        json_decref(sources);
        ids = NULL;
        sources = NULL;
        count = 0;
        if (step != STEP_OK)
            break;
        char *next = w->engine->scroll_next_body(scroll_id);
        free(scroll_id);
        scroll_id = NULL;
        step = scroll_request(w, w->engine->scroll_path, next, &scroll_id, &ids, &count, want);
    }
    ids_free(ids, count);
    json_decref(sources);
    if (scroll_id != NULL) {
        char *clear = w->engine->scroll_clear_body(scroll_id);
        es_request(&w->es, "DELETE", w->engine->scroll_path, clear, strlen(clear), false);
        free(clear);
        free(scroll_id);
    }
    return step == STEP_OK && *w->stop ? STEP_STOP : step;
}

/* The steps at the top of this file. */
enum step sweep_run(struct worker *w)
{
    log_event(LOG_INFO, "sweep started", "index", w->idx->index);
    struct sweep_counts counts = {0};
    enum step step = index_walk(w, false, sweep_page, &counts);
    if (step != STEP_OK)
        return step;
    w->state.sweep_pending = false;
    step = worker_save_state(w);
    if (step == STEP_OK) {
        struct log_line *line = log_begin(LOG_INFO, "sweep done");
        log_str(line, "index", w->idx->index);
        log_int(line, "checked", counts.checked);
        log_int(line, "deleted", counts.deleted);
        log_end(line);
        backoff_reset(&w->backoff);
    }
    return step;
}
