/* status_report.c - see status_report.h.  The worker is single-threaded,
 * so the channel's few values are plain statics. */
#include "status_report.h"

#include "pg_source.h"
#include "status_channel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report_fd = -1;   /* the channel, -1 when none */
static double held_s;        /* how long the snapshot's oldest writer has been open */
static char held_by[64];     /* who it is: "transaction pid=N", "prepared gid=X", "" */
static bool pending;         /* changes read, not all searchable yet */
static int64_t pending_ms;   /* the oldest `modified` among them */
static long long bulk_bytes; /* _bulk bodies since the last batch event */

/* Only the descriptor the supervisor hands out is taken: a stray variable
 * must not make the worker write into some other file it has open. */
void status_report_open(void)
{
    const char *text = getenv(STATUS_CHANNEL_ENV);
    if (text == NULL || strtol(text, NULL, 10) != STATUS_CHANNEL_FD)
        return;
    int flags = fcntl(STATUS_CHANNEL_FD, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
        return;
    fcntl(STATUS_CHANNEL_FD, F_SETFL, flags | O_NONBLOCK);
    fcntl(STATUS_CHANNEL_FD, F_SETFD, FD_CLOEXEC);
    report_fd = STATUS_CHANNEL_FD;
}

/* Writes event as one line and frees it.  A full pipe (EAGAIN) drops it;
 * a pipe whose reader is gone (EPIPE, SIGPIPE is ignored) closes the
 * channel. */
static void send_event(json_t *event)
{
    if (report_fd < 0) {
        json_decref(event);
        return;
    }
    char line[STATUS_LINE_MAX];
    size_t len = json_dumpb(event, line, sizeof line - 1, JSON_COMPACT);
    json_decref(event);
    if (len == 0 || len > sizeof line - 1)
        return;
    line[len++] = '\n';
    ssize_t n;
    do
        n = write(report_fd, line, len);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EPIPE) {
        close(report_fd);
        report_fd = -1;
    }
}

/* A new event object of kind name, with the pending changes' age when
 * some wait. */
static json_t *event_new(const char *name)
{
    json_t *event = json_object();
    json_object_set_new(event, "event", json_string(name));
    if (pending)
        json_object_set_new(event, "pending_since_ms", json_integer(pending_ms));
    return event;
}

/* Adds what holds the round's snapshot back (held_s, held_by). */
static void add_held(json_t *event)
{
    json_object_set_new(event, "held_s", json_real(held_s));
    json_object_set_new(event, "held_by", json_string(held_by));
}

void status_report_started(void)
{
    send_event(event_new("started"));
}

void status_report_engine(const char *distribution, const char *version)
{
    json_t *event = event_new("engine");
    json_object_set_new(event, "distribution", json_string(distribution));
    json_object_set_new(event, "version", json_string(version));
    send_event(event);
}

void status_report_node(const char *node)
{
    json_t *event = event_new("node");
    json_object_set_new(event, "node", json_string(node));
    send_event(event);
}

/* lag_s is left out when the cursor is not a timestamp (the start). */
void status_report_batch(const struct status_batch *batch)
{
    json_t *event = event_new("batch");
    json_object_set_new(event, "source", json_string(batch->source));
    json_object_set_new(event, "rows", json_integer(batch->rows));
    json_object_set_new(event, "docs", json_integer(batch->docs));
    json_object_set_new(event, "indexed", json_integer(batch->indexed));
    json_object_set_new(event, "deleted", json_integer(batch->deleted));
    json_object_set_new(event, "rejected", json_integer(batch->rejected));
    json_object_set_new(event, "bytes", json_integer(bulk_bytes));
    json_object_set_new(event, "query_ms", json_integer(batch->query_ms));
    json_object_set_new(event, "bulk_ms", json_integer(batch->bulk_ms));
    json_object_set_new(event, "took_ms", json_integer(batch->took_ms));
    json_object_set_new(event, "cursor_modified", json_string(batch->cursor->modified));
    json_object_set_new(event, "cursor_id", json_string(batch->cursor->id));
    json_object_set_new(event, "concrete", json_string(batch->concrete));
    int64_t stamp = pg_timestamp_ms(batch->cursor->modified);
    if (stamp >= 0)
        json_object_set_new(event, "lag_s", json_real((double)(wall_clock_ms() - stamp) / 1000.0));
    add_held(event);
    bulk_bytes = 0;
    send_event(event);
}

void status_report_build(const char *concrete, long docs)
{
    json_t *event = event_new("build");
    json_object_set_new(event, "concrete", json_string(concrete));
    json_object_set_new(event, "docs", json_integer(docs));
    send_event(event);
}

void status_report_retry(const char *what, int64_t delay_ms)
{
    json_t *event = event_new("retry");
    json_object_set_new(event, "what", json_string(what));
    json_object_set_new(event, "delay_ms", json_integer(delay_ms));
    send_event(event);
}

void status_report_refused(const char *class_name, const char *cause)
{
    json_t *event = event_new("refused");
    json_object_set_new(event, "class", json_string(class_name));
    json_object_set_new(event, "cause", json_string(cause));
    send_event(event);
}

void status_report_accepted(void)
{
    send_event(event_new("accepted"));
}

void status_report_waiting(const char *reason, int64_t sleep_ms)
{
    json_t *event = event_new("waiting");
    json_object_set_new(event, "reason", json_string(reason));
    json_object_set_new(event, "sleep_ms", json_integer(sleep_ms));
    send_event(event);
}

void status_report_idle(int64_t sleep_ms)
{
    json_t *event = event_new("idle");
    json_object_set_new(event, "sleep_ms", json_integer(sleep_ms));
    add_held(event);
    send_event(event);
}

void status_report_held(double held, const char *kind, const char *detail)
{
    held_s = held;
    if (kind[0] == '\0')
        held_by[0] = '\0';
    else
        snprintf(held_by, sizeof held_by, "%s %s", kind, detail);
}

void status_report_pending(bool is_pending, int64_t since_ms)
{
    pending = is_pending;
    pending_ms = since_ms;
}

void status_report_verify(long differences)
{
    json_t *event = event_new("verify");
    json_object_set_new(event, "differences", json_integer(differences));
    send_event(event);
}

void status_report_bulk_bytes(size_t bytes)
{
    bulk_bytes += (long long)bytes;
}
