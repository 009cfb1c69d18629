/* engine_identify.c - see engine_identify.h. */
#include "engine_identify.h"

#include "http_status.h"
#include "log.h"
#include "status_report.h"

#include <stdio.h>
#include <stdlib.h>

/* The longest part of an unreadable answer quoted in the reason. */
#define ANSWER_QUOTE_MAX 120

/* One GET /.  Returns 0 with *identity set, or -1 with why filled in
 * (no secret: curl's messages and the status only). */
static int ask_identity(struct worker *w, struct search_engine_identity *identity, char *why,
                        size_t why_size)
{
    long status = es_request(&w->es, "GET", "/", NULL, 0, false);
    if (status < 0) {
        snprintf(why, why_size, "GET /: %s", w->es.err);
        return -1;
    }
    if (status == HTTP_UNAUTHORIZED) {
        snprintf(why, why_size,
                 "GET /: HTTP 401 Unauthorized: the credentials were refused (see [elasticsearch] "
                 "api_key_file, or user and password_file)");
        return -1;
    }
    const char *body = w->es.response.data != NULL ? w->es.response.data : "";
    if (status != HTTP_OK || w->engine->parse_identity(body, w->es.response.len, identity) < 0) {
        snprintf(why, why_size, "GET /: HTTP %ld, not a search engine's identity: %.*s", status,
                 ANSWER_QUOTE_MAX, body);
        return -1;
    }
    return 0;
}

/* The dialect that reads GET / is the one set by worker_init: every
 * supported engine answers GET / alike. */
enum step engine_identify(struct worker *w)
{
    for (;;) {
        struct search_engine_identity identity;
        char why[512];
        if (ask_identity(w, &identity, why, sizeof why) < 0) {
            enum step step = worker_back_off(w, "elasticsearch", why);
            if (step != STEP_RETRY)
                return step;
            continue;
        }
        backoff_reset(&w->backoff);
        const struct search_engine_ops *ops = search_engine_select(&identity, why, sizeof why);
        struct log_line *line =
            ops != NULL ? log_begin(LOG_INFO, "search engine")
                        : log_begin(LOG_ERROR, "search engine not supported; not starting");
        log_str(line, "distribution", identity.distribution);
        log_str(line, "version", identity.version);
        if (ops == NULL) {
            log_str(line, "reason", why);
            log_end(line);
            w->exit_status = EXIT_ENGINE_UNSUPPORTED;
            return STEP_FATAL;
        }
        log_end(line);
        status_report_engine(identity.distribution, identity.version);
        es_client_report_node(&w->es);
        worker_set_engine(w, ops);
        return STEP_OK;
    }
}
