/* metrics_text.c - see metrics_text.h. */
#include "version.h"
#include "metrics_text.h"

#include "supervisor.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A value of one slot, or none (the series is left out). */
struct sample {
    bool present;
    double value;
};

/* The families with one sample per slot, in the order they are written. */
enum family_id {
    WORKER_UP,
    WORKER_WAITING,
    WORKER_RESTARTS,
    WORKER_HANGS,
    DOCS_INDEXED,
    DOCS_DELETED,
    DOCS_REJECTED,
    BATCHES,
    BULK_BYTES,
    LAG,
    LAST_BATCH_AGE,
    SNAPSHOT_HELD,
    INDEX_REFUSING,
    REFUSED_ATTEMPTS,
    VERIFY_DIFFERENCES,
    VERIFY_RUNS,
    FAMILY_COUNT
};

struct family {
    const char *name; /* the full series name (_total included) */
    const char *type; /* counter or gauge */
    const char *help;
};

static const struct family families[FAMILY_COUNT] = {
    [WORKER_UP] = {"etl_worker_up", "gauge",
                   "1 while the worker's process runs and has reported started"},
    [WORKER_WAITING] = {"etl_worker_waiting", "gauge",
                        "1 while the worker waits because another worker holds its index's "
                        "writer lock"},
    [WORKER_RESTARTS] = {"etl_worker_restarts_total", "counter",
                         "Processes started for the slot after the first"},
    [WORKER_HANGS] = {"etl_worker_hangs_total", "counter",
                      "Workers killed by the watchdog: no status event for hang_timeout_s"},
    [DOCS_INDEXED] = {"etl_documents_indexed_total", "counter",
                      "Documents indexed (bulk items done)"},
    [DOCS_DELETED] = {"etl_documents_deleted_total", "counter",
                      "Documents deleted (bulk items done)"},
    [DOCS_REJECTED] = {"etl_documents_rejected_total", "counter",
                       "Documents rejected for good by the search engine (kept in "
                       "STATE_DIR/NAME.rejects)"},
    [BATCHES] = {"etl_batches_total", "counter", "Batches done (cursor saved)"},
    [BULK_BYTES] = {"etl_bulk_bytes_total", "counter",
                    "Bytes of _bulk request bodies sent, retries included"},
    [LAG] = {"etl_lag_seconds", "gauge",
             "Age (by modified) of the oldest change read and not yet searchable; 0 once caught "
             "up"},
    [LAST_BATCH_AGE] = {"etl_last_batch_age_seconds", "gauge", "Seconds since the last batch"},
    [SNAPSHOT_HELD] = {"etl_snapshot_held_seconds", "gauge",
                       "How long the oldest writer in progress at the last snapshot has been "
                       "open (its own changes wait for its commit)"},
    [INDEX_REFUSING] = {"etl_index_refusing", "gauge",
                        "1 while the worker's index refuses its writes for now (a refusal spell: "
                        "a block, a closed index, no write index, security, 429, 5xx), else 0"},
    [VERIFY_DIFFERENCES] = {"etl_verify_differences", "gauge",
                            "Documents the last background verify found missing, extra or "
                            "different (verify_interval_s); absent before the first"},
    [VERIFY_RUNS] = {"etl_verify_runs_total", "counter", "Background verifies done"},
    [REFUSED_ATTEMPTS] = {"etl_index_refused_attempts_total", "counter",
                          "Bulk answers that refused writes (each is sent again after a backoff)"},
};

/* The value of family id for slot c; now is the wall clock in ms. */
static struct sample sample_of(enum family_id id, const struct child *c, int64_t now)
{
    const struct child_stats *st = &c->stats;
    switch (id) {
    case WORKER_UP:
        return (struct sample){true, c->pid != 0 && c->state == CHILD_RUNNING};
    case WORKER_WAITING:
        return (struct sample){true, c->pid != 0 && c->state == CHILD_RUNNING && st->waiting};
    case WORKER_RESTARTS:
        return (struct sample){true, (double)(c->starts > 0 ? c->starts - 1 : 0)};
    case WORKER_HANGS:
        return (struct sample){true, (double)c->hangs};
    case DOCS_INDEXED:
        return (struct sample){true, (double)st->indexed};
    case DOCS_DELETED:
        return (struct sample){true, (double)st->deleted};
    case DOCS_REJECTED:
        return (struct sample){true, (double)st->rejected};
    case BATCHES:
        return (struct sample){true, (double)st->batches};
    case BULK_BYTES:
        return (struct sample){true, (double)st->bulk_bytes};
    case LAG: {
        double lag_s;
        bool known = child_stats_lag(st, now, &lag_s);
        return (struct sample){known, lag_s};
    }
    case LAST_BATCH_AGE:
        return (struct sample){st->last_batch_ms != 0, (double)(now - st->last_batch_ms) / 1000.0};
    case INDEX_REFUSING:
        return (struct sample){true, c->pid != 0 && c->state == CHILD_RUNNING && st->refusing};
    case REFUSED_ATTEMPTS:
        return (struct sample){true, (double)st->refused_attempts};
    case VERIFY_DIFFERENCES:
        return (struct sample){st->verified, (double)st->verify_differences};
    case VERIFY_RUNS:
        return (struct sample){true, (double)st->verify_runs};
    case SNAPSHOT_HELD:
    case FAMILY_COUNT:
        break;
    }
    return (struct sample){true, st->held_s};
}

/* Appends printf output to out. */
__attribute__((format(printf, 2, 3))) static void append(struct buffer *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    if (text == NULL)
        abort();
    buffer_append_str(out, text);
    free(text);
}

/* # HELP and # TYPE of a family. */
static void header(struct buffer *out, const char *name, const char *type, const char *help)
{
    append(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Index names are [a-z0-9_-] (config_index.c), so label values need no
 * escaping. */
static void simple_families(struct buffer *out, const struct supervisor *sup, int64_t now)
{
    for (int f = 0; f < FAMILY_COUNT; f++) {
        header(out, families[f].name, families[f].type, families[f].help);
        for (size_t i = 0; i < sup->children_count; i++) {
            const struct child *c = sup->children[i];
            struct sample s = sample_of((enum family_id)f, c, now);
            if (s.present)
                append(out, "%s{index=\"%s\"} %.17g\n", families[f].name, c->index, s.value);
        }
    }
}

/* etl_retries_total{index, what}: every what, so a rate can start at 0. */
static void retries(struct buffer *out, const struct supervisor *sup)
{
    header(out, "etl_retries_total", "counter", "Steps retried after a failure, by what failed");
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child *c = sup->children[i];
        for (int w = 0; w < RETRY_WHAT_COUNT; w++)
            append(out, "etl_retries_total{index=\"%s\",what=\"%s\"} %lld\n", c->index,
                   child_retry_what((enum retry_what)w), (long long)c->stats.retries[w]);
    }
}

/* etl_batch_duration_seconds: cumulative buckets, +Inf, sum, count. */
static void durations(struct buffer *out, const struct supervisor *sup)
{
    const char *name = "etl_batch_duration_seconds";
    header(out, name, "histogram", "Duration of a batch, change query to saved cursor");
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child *c = sup->children[i];
        long long cumulative = 0;
        for (int b = 0; b < BATCH_BUCKETS_COUNT; b++) {
            cumulative += c->stats.buckets[b];
            append(out, "%s_bucket{index=\"%s\",le=\"%g\"} %lld\n", name, c->index,
                   child_batch_bucket(b), cumulative);
        }
        append(out, "%s_bucket{index=\"%s\",le=\"+Inf\"} %lld\n", name, c->index,
               (long long)c->stats.batches);
        append(out, "%s_sum{index=\"%s\"} %.3f\n", name, c->index, c->stats.duration_s);
        append(out, "%s_count{index=\"%s\"} %lld\n", name, c->index, (long long)c->stats.batches);
    }
}

/* Appends text as a label value: backslash, double quote and newline
 * escaped as the exposition format says.  The engine's identity comes from
 * the search engine's answer, which the supervisor does not trust. */
static void append_label_value(struct buffer *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            append(out, "\\%c", *p);
        else if (*p == '\n')
            buffer_append_str(out, "\\n");
        else
            buffer_append(out, p, 1);
    }
}

/* etl_search_engine_info{index, distribution, version} 1: what answered
 * the worker's GET / at its last start; no series before it answered. */
static void engines(struct buffer *out, const struct supervisor *sup)
{
    const char *name = "etl_search_engine_info";
    header(out, name, "gauge",
           "The search engine each worker identified at start (GET /): distribution and version");
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child_stats *st = &sup->children[i]->stats;
        if (st->engine[0] == '\0')
            continue;
        append(out, "%s{index=\"%s\",distribution=\"", name, sup->children[i]->index);
        append_label_value(out, st->engine);
        buffer_append_str(out, "\",version=\"");
        append_label_value(out, st->engine_version);
        buffer_append_str(out, "\"} 1\n");
    }
}

/* etl_search_node_info{index, node} 1: the node of [elasticsearch] url
 * each worker sends its requests to; no series before the first. */
static void nodes(struct buffer *out, const struct supervisor *sup)
{
    const char *name = "etl_search_node_info";
    header(out, name, "gauge", "The search node each worker sends its requests to");
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child_stats *st = &sup->children[i]->stats;
        if (st->node[0] == '\0')
            continue;
        append(out, "%s{index=\"%s\",node=\"", name, sup->children[i]->index);
        append_label_value(out, st->node);
        buffer_append_str(out, "\"} 1\n");
    }
}

/* The supervisor's own stdout, one for all workers: no index label. */
static void dropped_lines(struct buffer *out, const struct supervisor *sup)
{
    const char *name = "etl_log_lines_dropped_total";
    header(out, name, "counter",
           "Log lines the supervisor dropped because its stdout's reader did not keep up");
    append(out, "%s %lld\n", name, sup->output.dropped_total);
}

/* Build info first, then the families in table order, then the
 * supervisor's own series. */
char *metrics_text(const struct supervisor *sup, int64_t now_wall_ms)
{
    struct buffer out = {0};
    header(&out, "etl_build_info", "gauge",
           "The running etl-supervisor's release and source revision (git describe)");
    append(&out, "etl_build_info{version=\"%s\",revision=\"%s\"} 1\n", ETL_VERSION, ETL_REVISION);
    simple_families(&out, sup, now_wall_ms);
    retries(&out, sup);
    durations(&out, sup);
    engines(&out, sup);
    nodes(&out, sup);
    dropped_lines(&out, sup);
    return out.data;
}
