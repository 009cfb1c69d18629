/* child_stats.c - see child_stats.h. */
#include "child_stats.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Bucket bounds, seconds: a batch of a few ms up to one near the default
 * request and statement timeouts (30 s). */
static const double batch_buckets[BATCH_BUCKETS_COUNT] = {0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,  1,     2.5,  5,   30};

static const char *const retry_names[RETRY_WHAT_COUNT] = {
    [RETRY_POSTGRES] = "postgres",
    [RETRY_ELASTICSEARCH] = "elasticsearch",
    [RETRY_STATE_FILE] = "state file",
};

double child_batch_bucket(int i)
{
    return batch_buckets[i];
}

const char *child_retry_what(enum retry_what what)
{
    return retry_names[what];
}

bool child_stats_lag(const struct child_stats *stats, int64_t now_ms, double *lag_s)
{
    if (stats->pending) {
        int64_t age = now_ms - stats->pending_since_ms;
        *lag_s = age > 0 ? (double)age / 1000.0 : 0;
        return true;
    }
    *lag_s = stats->lag_known ? stats->lag_s : 0;
    return stats->lag_known;
}

/* An integer member, 0 when absent or not one. */
static int64_t get_int(const json_t *event, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(event, key));
}

/* Copies a string member into out ("" when absent). */
static void get_text(const json_t *event, const char *key, char *out, size_t size)
{
    const char *text = json_string_value(json_object_get(event, key));
    snprintf(out, size, "%s", text != NULL ? text : "");
}

/* Adds a batch event's counts, cursor, lag and duration. */
static void add_batch(struct child_stats *stats, const json_t *event, int64_t wall_ms)
{
    stats->batches++;
    stats->docs_sent += get_int(event, "docs");
    stats->indexed += get_int(event, "indexed");
    stats->deleted += get_int(event, "deleted");
    stats->rejected += get_int(event, "rejected");
    stats->bulk_bytes += get_int(event, "bytes");
    stats->last_batch_ms = wall_ms;
    get_text(event, "cursor_modified", stats->cursor_modified, sizeof stats->cursor_modified);
    get_text(event, "cursor_id", stats->cursor_id, sizeof stats->cursor_id);
    get_text(event, "concrete", stats->concrete, sizeof stats->concrete);
    /* The alias moved to the index that was being built: the rebuild is over. */
    if (stats->concrete[0] != '\0' && strcmp(stats->concrete, stats->build) == 0) {
        stats->build[0] = '\0';
        stats->build_docs = 0;
    }
    const json_t *lag = json_object_get(event, "lag_s");
    stats->lag_known = json_is_number(lag);
    stats->lag_s = stats->lag_known ? json_number_value(lag) : 0;
    double took_s = (double)get_int(event, "took_ms") / 1000.0;
    stats->duration_s += took_s;
    for (int i = 0; i < BATCH_BUCKETS_COUNT; i++) {
        if (took_s <= batch_buckets[i]) {
            stats->buckets[i]++;
            break;
        }
    }
}

/* Counts a retry under its what (an unknown one is not counted). */
static void add_retry(struct child_stats *stats, const json_t *event)
{
    const char *what = json_string_value(json_object_get(event, "what"));
    for (int i = 0; what != NULL && i < RETRY_WHAT_COUNT; i++) {
        if (strcmp(what, retry_names[i]) == 0)
            stats->retries[i]++;
    }
    stats->sleep_ms = get_int(event, "delay_ms");
}

/* Counts a rebuild's batch; a build into another index starts over. */
static void add_build(struct child_stats *stats, const json_t *event)
{
    char concrete[CHILD_STATS_TEXT_MAX];
    get_text(event, "concrete", concrete, sizeof concrete);
    if (strcmp(concrete, stats->build) != 0) {
        snprintf(stats->build, sizeof stats->build, "%s", concrete);
        stats->build_docs = 0;
    }
    stats->build_docs += get_int(event, "docs");
}

/* A refused answer: the spell runs, with this cause, one attempt more. */
static void add_refused(struct child_stats *stats, const json_t *event)
{
    stats->refusing = true;
    stats->refused_attempts++;
    get_text(event, "cause", stats->refusal, sizeof stats->refusal);
}

/* One JSON object per line; the member "event" says which.  A refusal
 * spell ends with its accepted event, and with any event that says the
 * writes went through or a new process began (an accepted event lost to a
 * full pipe must not leave it shown for ever). */
enum child_event child_stats_update(struct child_stats *stats, const char *line, int64_t wall_ms)
{
    json_t *event = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    const char *name = json_string_value(json_object_get(event, "event"));
    enum child_event kind = CHILD_EVENT_BAD;
    stats->sleep_ms = 0;
    if (name == NULL) {
        kind = CHILD_EVENT_BAD;
    } else if (strcmp(name, "started") == 0) {
        kind = CHILD_EVENT_STARTED;
    } else if (strcmp(name, "engine") == 0) {
        get_text(event, "distribution", stats->engine, sizeof stats->engine);
        get_text(event, "version", stats->engine_version, sizeof stats->engine_version);
        kind = CHILD_EVENT_ENGINE;
    } else if (strcmp(name, "node") == 0) {
        get_text(event, "node", stats->node, sizeof stats->node);
        kind = CHILD_EVENT_NODE;
    } else if (strcmp(name, "batch") == 0) {
        add_batch(stats, event, wall_ms);
        kind = CHILD_EVENT_BATCH;
    } else if (strcmp(name, "retry") == 0) {
        add_retry(stats, event);
        kind = CHILD_EVENT_RETRY;
    } else if (strcmp(name, "build") == 0) {
        add_build(stats, event);
        kind = CHILD_EVENT_BUILD;
    } else if (strcmp(name, "idle") == 0) {
        stats->lag_s = 0;
        stats->lag_known = true;
        stats->sleep_ms = get_int(event, "sleep_ms");
        kind = CHILD_EVENT_IDLE;
    } else if (strcmp(name, "refused") == 0) {
        add_refused(stats, event);
        kind = CHILD_EVENT_REFUSED;
    } else if (strcmp(name, "accepted") == 0) {
        kind = CHILD_EVENT_ACCEPTED;
    } else if (strcmp(name, "verify") == 0) {
        stats->verified = true;
        stats->verify_differences = get_int(event, "differences");
        stats->verify_runs++;
        kind = CHILD_EVENT_VERIFY;
    } else if (strcmp(name, "waiting") == 0) {
        get_text(event, "reason", stats->reason, sizeof stats->reason);
        stats->sleep_ms = get_int(event, "sleep_ms");
        kind = CHILD_EVENT_WAITING;
    }
    if (kind == CHILD_EVENT_WAITING) {
        stats->waiting = true;
    } else if (kind == CHILD_EVENT_STARTED || kind == CHILD_EVENT_BATCH ||
               kind == CHILD_EVENT_IDLE || kind == CHILD_EVENT_BUILD) {
        stats->waiting = false;
        stats->reason[0] = '\0';
    }
    if (kind == CHILD_EVENT_ACCEPTED || kind == CHILD_EVENT_STARTED || kind == CHILD_EVENT_BATCH ||
        kind == CHILD_EVENT_BUILD || kind == CHILD_EVENT_IDLE) {
        stats->refusing = false;
        stats->refusal[0] = '\0';
    }
    if (kind == CHILD_EVENT_BATCH || kind == CHILD_EVENT_IDLE) {
        stats->held_s = json_number_value(json_object_get(event, "held_s"));
        get_text(event, "held_by", stats->held_by, sizeof stats->held_by);
    }
    /* Every event says whether changes wait (the member is absent when
     * none do). */
    if (kind != CHILD_EVENT_BAD) {
        const json_t *since = json_object_get(event, "pending_since_ms");
        stats->pending = json_is_integer(since);
        stats->pending_since_ms = stats->pending ? (int64_t)json_integer_value(since) : 0;
    }
    json_decref(event);
    return kind;
}
