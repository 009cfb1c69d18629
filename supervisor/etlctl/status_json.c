/* status_json.c - see status_json.h. */
#include "status_json.h"

#include "logfmt_scan.h"
#include "control_proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

/* The JSON type of a status key's value. */
enum status_kind { STATUS_TEXT, STATUS_INT, STATUS_NUMBER };

/* Every key of a status line, in its order (status.h). */
static const struct {
    const char *key;
    enum status_kind kind;
} status_keys[] = {
    {"name", STATUS_TEXT},      {"index", STATUS_TEXT},        {"pid", STATUS_INT},
    {"state", STATUS_TEXT},     {"uptime_s", STATUS_INT},      {"restarts", STATUS_INT},
    {"last_exit", STATUS_TEXT}, {"next_start_ms", STATUS_INT}, {"last_batch", STATUS_TEXT},
    {"batches", STATUS_INT},    {"docs_sent", STATUS_INT},     {"cursor_modified", STATUS_TEXT},
    {"cursor_id", STATUS_TEXT}, {"lag_s", STATUS_NUMBER},      {"held_s", STATUS_NUMBER},
    {"held_by", STATUS_TEXT},   {"concrete", STATUS_TEXT},     {"build", STATUS_TEXT},
    {"build_docs", STATUS_INT}, {"engine", STATUS_TEXT},       {"engine_version", STATUS_TEXT},
    {"reason", STATUS_TEXT},    {"node", STATUS_TEXT},
};
#define STATUS_KEYS_COUNT (sizeof status_keys / sizeof status_keys[0])

/* The JSON value of text as kind: null for "", NULL when not a number. */
static json_t *status_value(const char *text, enum status_kind kind)
{
    if (text[0] == '\0')
        return json_null();
    char *end;
    errno = 0;
    switch (kind) {
    case STATUS_INT: {
        long long value = strtoll(text, &end, 10);
        return errno == 0 && *end == '\0' ? json_integer(value) : NULL;
    }
    case STATUS_NUMBER: {
        double value = strtod(text, &end);
        return errno == 0 && *end == '\0' ? json_real(value) : NULL;
    }
    case STATUS_TEXT:
        break;
    }
    return json_string(text);
}

/* One worker's object; NULL when the line is not a status line. */
static json_t *status_object(const char *line)
{
    json_t *worker = json_object();
    char text[CONTROL_LINE_MAX]; /* a value is never longer than its line */
    for (size_t k = 0; k < STATUS_KEYS_COUNT; k++) {
        json_t *value = logfmt_get(line, status_keys[k].key, text, sizeof text)
                            ? status_value(text, status_keys[k].kind)
                            : NULL;
        if (value == NULL) {
            json_decref(worker);
            return NULL;
        }
        json_object_set_new(worker, status_keys[k].key, value);
    }
    return worker;
}

/* Builds the document line by line, keys in table order. */
char *status_json(const char *const *lines, size_t count)
{
    json_t *workers = json_array();
    for (size_t i = 0; i < count; i++) {
        json_t *worker = status_object(lines[i]);
        if (worker == NULL) {
            json_decref(workers);
            return NULL;
        }
        json_array_append_new(workers, worker);
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "workers", workers);
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(doc);
    return text;
}
