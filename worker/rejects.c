/* rejects.c - see rejects.h. */
#include "rejects.h"

#include "atomic_file.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record is built by hand around the document text, which is JSON
 * already and may be large: it is copied once, never parsed. */
void rejects_record(const char *path, const char *index, const struct bulk_action *action,
                    const struct bulk_item_result *result)
{
    struct log_line *line = log_begin(LOG_ERROR, "document rejected");
    log_str(line, "id", action->id);
    log_int(line, "status", result->status);
    log_str(line, "error", result->error ? result->error : "");
    log_end(line);
    char *prefix = xasprintf("{\"ts_ms\":%lld,\"index\":\"%s\",\"id\":\"%s\",\"status\":%d,"
                             "\"error\":%s,\"document\":",
                             (long long)wall_clock_ms(), index, action->id, result->status,
                             result->error ? result->error : "null");
    struct buffer record = {0};
    buffer_append_str(&record, prefix);
    buffer_append_str(&record, action->document ? action->document : "null");
    buffer_append_str(&record, "}");
    if (append_line_synced(path, record.data, record.len) < 0)
        log_event(LOG_ERROR, "cannot write the rejects file", "error", strerror(errno));
    buffer_free(&record);
    free(prefix);
}
