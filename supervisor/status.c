/* status.c - see status.h. */
#include "status.h"

#include "log.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* Appends " key=value" (the first pair without the space). */
static size_t add(char *out, size_t len, size_t size, const char *key, const char *value)
{
    if (len > 0 && len + 1 < size)
        out[len++] = ' ';
    int n = snprintf(out + len, size - len, "%s=", key);
    len = len + (size_t)n < size ? len + (size_t)n : size - 1;
    return logfmt_append_value(out, len, size, value);
}

/* Appends " key=N". */
static size_t add_int(char *out, size_t len, size_t size, const char *key, long long value)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    return add(out, len, size, key, text);
}

/* Appends " key=X" with at most 3 decimals and no trailing zeros ("0",
 * "12.3"), or key="" when not known. */
static size_t add_seconds(char *out, size_t len, size_t size, const char *key, bool known,
                          double value)
{
    char text[48] = "";
    if (known) {
        snprintf(text, sizeof text, "%.3f", value);
        char *end = text + strlen(text) - 1;
        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
    }
    return add(out, len, size, key, text);
}

/* What state says of a running worker in a refusal spell. */
#define STATUS_REFUSED "refused"
#define STATUS_WAITING "waiting"

/* The keys of status.h, in that order. */
void child_status_line(const struct child *child, int64_t now, char *out, size_t size)
{
    bool alive = child->pid != 0;
    size_t len = 0;
    out[0] = '\0';
    len = add(out, len, size, "name", child->name);
    len = add(out, len, size, "index", child->index);
    len = add_int(out, len, size, "pid", alive ? (long long)child->pid : 0);
    /* A running worker whose index refuses its writes, or that waits for
     * another one's writer lock, says so; reason says why. */
    bool refused = alive && child->state == CHILD_RUNNING && child->stats.refusing;
    bool waiting = alive && child->state == CHILD_RUNNING && child->stats.waiting;
    len = add(out, len, size, "state",
              waiting   ? STATUS_WAITING
              : refused ? STATUS_REFUSED
                        : child_state_name(child->state));
    len = add_int(out, len, size, "uptime_s", alive ? (now - child->started_ms) / 1000 : 0);
    len = add_int(out, len, size, "restarts", child->starts > 0 ? child->starts - 1 : 0);
    len = add(out, len, size, "last_exit", child->last_exit);
    int64_t wait = child->state == CHILD_BACKOFF && child->next_start_ms > now
                       ? child->next_start_ms - now
                       : 0;
    len = add_int(out, len, size, "next_start_ms", wait);
    const struct child_stats *stats = &child->stats;
    char last_batch[40] = "";
    if (stats->last_batch_ms != 0)
        log_format_ts(last_batch, sizeof last_batch, stats->last_batch_ms);
    len = add(out, len, size, "last_batch", last_batch);
    len = add_int(out, len, size, "batches", stats->batches);
    len = add_int(out, len, size, "docs_sent", stats->docs_sent);
    len = add(out, len, size, "cursor_modified", stats->cursor_modified);
    len = add(out, len, size, "cursor_id", stats->cursor_id);
    double lag_s;
    bool lag_known = child_stats_lag(stats, wall_clock_ms(), &lag_s);
    len = add_seconds(out, len, size, "lag_s", lag_known, lag_s);
    len = add_seconds(out, len, size, "held_s", true, stats->held_s);
    len = add(out, len, size, "held_by", stats->held_by);
    len = add(out, len, size, "concrete", stats->concrete);
    len = add(out, len, size, "build", stats->build);
    len = add_int(out, len, size, "build_docs", stats->build_docs);
    len = add(out, len, size, "engine", stats->engine);
    len = add(out, len, size, "engine_version", stats->engine_version);
    len = add(out, len, size, "reason", waiting ? stats->reason : refused ? stats->refusal : "");
    add(out, len, size, "node", stats->node);
}
