/* index_walk.c - see index_walk.h. */
#include "index_walk.h"

#include "http_status.h"
#include "util.h"

#include <string.h>

/* POSTs body (malloc'ed, freed here) to path; reads a scroll page. */
static enum step scroll_request(struct worker *w, const char *path, char *body, char **scroll_id,
                                char ***ids, size_t *count, json_t **sources)
{
    long status = es_request(&w->es, "POST", path, body, strlen(body), false);
    free(body);
    if (status == HTTP_OK && w->engine->scroll_parse(w->es.response.data, w->es.response.len,
                                                     scroll_id, ids, count, sources) == 0)
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
    if (status != HTTP_OK)
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
