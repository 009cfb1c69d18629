/* notify.c - see notify.h. */
#include "notify.h"

#include "children.h"
#include "health.h"
#include "log.h"
#include "readiness.h"
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* systemd's advice (sd_watchdog_enabled(3)): ping at half the timeout, so
 * one late turn of the loop is not taken for a hang. */
#define WATCHDOG_PING_DIVISOR 2
#define USEC_PER_MS           1000

void notify_init(struct notify *notify)
{
    *notify = (struct notify){0};
    const char *socket = getenv("NOTIFY_SOCKET");
    notify->enabled = socket != NULL && socket[0] != '\0';
    if (!notify->enabled)
        return;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        notify->watchdog_ms = (int64_t)(usec / USEC_PER_MS / WATCHDOG_PING_DIVISOR);
        if (notify->watchdog_ms < 1)
            notify->watchdog_ms = 1;
    }
}

/* Sends one message; a failure is logged once, until a message goes
 * through again (the supervisor works on without systemd's ear). */
static void send_message(struct notify *notify, const char *message)
{
    int rc = sd_notify(0, message);
    if (rc > 0) {
        notify->failing = false;
        return;
    }
    if (!notify->failing) {
        struct log_line *line = log_begin(LOG_WARN, "systemd notification failed");
        log_str(line, "error", rc < 0 ? strerror(-rc) : "NOTIFY_SOCKET not usable");
        log_end(line);
    }
    notify->failing = true;
}

/* What one worker does, in one word (notify.h). */
static const char *status_word(const struct supervisor *sup, const struct child *child,
                               int64_t wall_now_ms)
{
    switch (child_health(child, sup->config.ready_max_lag_s, wall_now_ms)) {
    case HEALTH_READY:
        return "ready";
    case HEALTH_LAGGING:
        return "lagging";
    case HEALTH_STARTING:
        return "syncing";
    case HEALTH_REFUSING:
        return "refused";
    case HEALTH_WAITING:
        return "waiting";
    default:
        return child_state_name(child->state);
    }
}

void notify_status_text(const struct supervisor *sup, int64_t wall_now_ms, struct buffer *out)
{
    buffer_reset(out);
    buffer_append_str(out, ""); /* allocated even with no worker */
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child *child = sup->children[i];
        if (i > 0)
            buffer_append_str(out, " ");
        buffer_append_str(out, child->name);
        buffer_append_str(out, "=");
        buffer_append_str(out, status_word(sup, child, wall_now_ms));
    }
}

/* True once no worker is between its spawn and its first word. */
static bool all_settled(const struct supervisor *sup)
{
    for (size_t i = 0; i < sup->children_count; i++)
        if (sup->children[i]->state == CHILD_STARTING)
            return false;
    return true;
}

void notify_update(struct supervisor *sup, int64_t now)
{
    struct notify *notify = &sup->notify;
    if (!notify->enabled)
        return;
    if (notify->watchdog_ms > 0 && now >= notify->next_ping_ms) {
        send_message(notify, "WATCHDOG=1");
        notify->next_ping_ms = now + notify->watchdog_ms;
    }
    notify_status_text(sup, wall_clock_ms(), &notify->scratch);
    bool ready = !notify->ready_sent && !sup->shutting_down && all_settled(sup);
    bool changed = !notify->status_sent || strcmp(notify->status.data, notify->scratch.data) != 0;
    if (!ready && !changed)
        return;
    char *message = xasprintf("%sSTATUS=%s", ready ? "READY=1\n" : "", notify->scratch.data);
    send_message(notify, message);
    free(message);
    buffer_reset(&notify->status);
    buffer_append_str(&notify->status, notify->scratch.data);
    notify->status_sent = true;
    if (ready) {
        notify->ready_sent = true;
        log_event(LOG_INFO, "told systemd ready", "status", notify->status.data);
    }
}

int64_t notify_timeout(const struct notify *notify, int64_t now)
{
    if (!notify->enabled || notify->watchdog_ms == 0)
        return -1;
    return notify->next_ping_ms > now ? notify->next_ping_ms - now : 0;
}

void notify_stopping(struct notify *notify)
{
    if (notify->enabled)
        send_message(notify, "STOPPING=1\nSTATUS=stopping");
}

void notify_free(struct notify *notify)
{
    buffer_free(&notify->status);
    buffer_free(&notify->scratch);
}
