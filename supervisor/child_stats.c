/* child_stats.c - see child_stats.h. */
#include "child_stats.h"

#include "logfmt_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Picks the msg and, for batches and catching up, the fields status shows. */
enum child_event child_stats_update(struct child_stats *stats, const char *line)
{
    char msg[CHILD_STATS_TEXT_MAX];
    if (!logfmt_get(line, "msg", msg, sizeof msg))
        return CHILD_EVENT_OTHER;
    if (strcmp(msg, "started") == 0)
        return CHILD_EVENT_STARTED;
    if (strcmp(msg, "caught up") == 0) {
        snprintf(stats->lag_s, sizeof stats->lag_s, "0");
        return CHILD_EVENT_CAUGHT_UP;
    }
    if (strcmp(msg, "batch") != 0)
        return CHILD_EVENT_OTHER;
    char docs[CHILD_STATS_TEXT_MAX];
    stats->batches++;
    if (logfmt_get(line, "docs", docs, sizeof docs))
        stats->docs_sent += strtoll(docs, NULL, 10);
    if (!logfmt_get(line, "ts", stats->last_batch, sizeof stats->last_batch))
        stats->last_batch[0] = '\0';
    if (!logfmt_get(line, "cursor_modified", stats->cursor_modified, sizeof stats->cursor_modified))
        stats->cursor_modified[0] = '\0';
    if (!logfmt_get(line, "cursor_id", stats->cursor_id, sizeof stats->cursor_id))
        stats->cursor_id[0] = '\0';
    if (!logfmt_get(line, "lag_s", stats->lag_s, sizeof stats->lag_s))
        stats->lag_s[0] = '\0';
    return CHILD_EVENT_BATCH;
}
