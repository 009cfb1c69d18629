/* metrics_text.c - see metrics_text.h. */
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

/* A family with one sample per slot. */
struct family {
    const char *name; /* the full series name (_total included) */
    const char *type; /* counter or gauge */
    const char *help;
    struct sample (*value)(const struct child *child, int64_t now_wall_ms);
};

/* The sample of a count. */
static struct sample count(int64_t value)
{
    return (struct sample){true, (double)value};
}

/* One value function per family below: each reads one field. */
static struct sample up(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->pid != 0 && c->state == CHILD_RUNNING);
}
static struct sample restarts(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->starts > 0 ? c->starts - 1 : 0);
}
static struct sample hangs(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->hangs);
}
static struct sample indexed(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->stats.indexed);
}
static struct sample deleted(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->stats.deleted);
}
static struct sample rejected(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->stats.rejected);
}
static struct sample batches(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->stats.batches);
}
static struct sample bulk_bytes(const struct child *c, int64_t now)
{
    (void)now;
    return count(c->stats.bulk_bytes);
}
static struct sample lag(const struct child *c, int64_t now)
{
    (void)now;
    return (struct sample){c->stats.lag_known, c->stats.lag_s};
}
static struct sample batch_age(const struct child *c, int64_t now)
{
    return (struct sample){c->stats.last_batch_ms != 0,
                           (double)(now - c->stats.last_batch_ms) / 1000.0};
}
static struct sample held(const struct child *c, int64_t now)
{
    (void)now;
    return (struct sample){true, c->stats.held_s};
}

static const struct family families[] = {
    {"etl_worker_up", "gauge", "1 while the worker's process runs and has reported started", up},
    {"etl_worker_restarts_total", "counter", "Processes started for the slot after the first",
     restarts},
    {"etl_worker_hangs_total", "counter",
     "Workers killed by the watchdog: no status event for hang_timeout_s", hangs},
    {"etl_documents_indexed_total", "counter", "Documents indexed (bulk items done)", indexed},
    {"etl_documents_deleted_total", "counter", "Documents deleted (bulk items done)", deleted},
    {"etl_documents_rejected_total", "counter",
     "Documents rejected for good by the search engine (kept in STATE_DIR/NAME.rejects)", rejected},
    {"etl_batches_total", "counter", "Batches done (cursor saved)", batches},
    {"etl_bulk_bytes_total", "counter", "Bytes of _bulk request bodies sent, retries included",
     bulk_bytes},
    {"etl_lag_seconds", "gauge",
     "Age of the cursor of the last batch when it was done; 0 once caught up", lag},
    {"etl_last_batch_age_seconds", "gauge", "Seconds since the last batch", batch_age},
    {"etl_horizon_held_seconds", "gauge",
     "How long an open transaction held the horizon back, as last seen", held},
};

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
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        header(out, families[f].name, families[f].type, families[f].help);
        for (size_t i = 0; i < sup->children_count; i++) {
            const struct child *c = sup->children[i];
            struct sample s = families[f].value(c, now);
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

/* Build info first, then the families in table order. */
char *metrics_text(const struct supervisor *sup, int64_t now_wall_ms)
{
    struct buffer out = {0};
    header(&out, "etl_build_info", "gauge", "The running etl-supervisor's version");
    append(&out, "etl_build_info{version=\"%s\"} 1\n", ETL_VERSION);
    simple_families(&out, sup, now_wall_ms);
    retries(&out, sup);
    durations(&out, sup);
    return out.data;
}
