/* control_proto.c - see control_proto.h. */
#include "control_proto.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A command's word and whether it takes a worker name (NAME_AND_LEVEL:
 * a name and a log level, both required). */
struct command_spec {
    const char *word;
    enum control_command command;
    enum { NAME_NONE, NAME_OPTIONAL, NAME_REQUIRED, NAME_AND_LEVEL } name;
};

static const struct command_spec command_specs[] = {
    {"status", CONTROL_STATUS, NAME_OPTIONAL},
    {"restart", CONTROL_RESTART, NAME_REQUIRED},
    {"stop", CONTROL_STOP, NAME_REQUIRED},
    {"start", CONTROL_START, NAME_REQUIRED},
    {"reopen-logs", CONTROL_REOPEN_LOGS, NAME_NONE},
    {"reindex", CONTROL_REINDEX, NAME_REQUIRED},
    {"reload", CONTROL_RELOAD, NAME_NONE},
    {"log-level", CONTROL_LOG_LEVEL, NAME_AND_LEVEL},
};
#define COMMAND_SPECS_COUNT (sizeof command_specs / sizeof command_specs[0])

static const char *const error_names[] = {
    [CONTROL_ERR_USAGE] = "usage",
    [CONTROL_ERR_UNKNOWN_WORKER] = "unknown-worker",
    [CONTROL_ERR_UNAVAILABLE] = "unavailable",
    [CONTROL_ERR_BUSY] = "busy",
    [CONTROL_ERR_NOT_RUNNING] = "not-running",
    [CONTROL_ERR_CONFIG] = "config",
    [CONTROL_ERR_UNKNOWN_CODE] = "unknown-code",
};

/* Word separators of a request. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies the next word of *cursor into word (of size size) and advances;
 * returns its length, 0 at the end, or size when it does not fit. */
static size_t next_word(const char **cursor, char *word, size_t size)
{
    const char *p = *cursor;
    while (*p != '\0' && is_blank(*p))
        p++;
    const char *start = p;
    while (*p != '\0' && !is_blank(*p))
        p++;
    *cursor = p;
    size_t len = (size_t)(p - start);
    if (len >= size)
        return size;
    memcpy(word, start, len);
    word[len] = '\0';
    return len;
}

/* Splits the line into a command and its argument and checks both. */
int control_parse_request(const char *line, struct control_request *req, char *err, size_t err_size)
{
    char word[CONTROL_NAME_MAX];
    char name[CONTROL_NAME_MAX];
    char extra[2];
    const char *cursor = line;
    *req = (struct control_request){0};
    size_t len = next_word(&cursor, word, sizeof word);
    if (len == 0) {
        snprintf(err, err_size, "empty request");
        return -1;
    }
    if (len == sizeof word) {
        snprintf(err, err_size, "unknown command (a word of %zu characters or more)", len);
        return -1;
    }
    const struct command_spec *spec = NULL;
    for (size_t i = 0; i < COMMAND_SPECS_COUNT; i++) {
        if (strcmp(command_specs[i].word, word) == 0)
            spec = &command_specs[i];
    }
    if (spec == NULL) {
        snprintf(err, err_size, "unknown command \"%.*s\"", CONTROL_NAME_MAX, word);
        return -1;
    }
    size_t name_len = next_word(&cursor, name, sizeof name);
    if (name_len == sizeof name) {
        snprintf(err, err_size, "worker name longer than %d characters", CONTROL_NAME_MAX - 1);
        return -1;
    }
    if (name_len > 0 && spec->name == NAME_NONE) {
        snprintf(err, err_size, "%s takes no worker name", spec->word);
        return -1;
    }
    if (name_len == 0 && (spec->name == NAME_REQUIRED || spec->name == NAME_AND_LEVEL)) {
        snprintf(err, err_size, "%s needs a worker name", spec->word);
        return -1;
    }
    if (spec->name == NAME_AND_LEVEL) {
        size_t level_len = next_word(&cursor, req->level, sizeof req->level);
        if (level_len == 0 || level_len == sizeof req->level) {
            req->level[0] = '\0';
            snprintf(err, err_size, "%s needs a level (debug, info, warn, error)", spec->word);
            return -1;
        }
    }
    if (next_word(&cursor, extra, sizeof extra) != 0) {
        snprintf(err, err_size, "too many words after %s", spec->word);
        return -1;
    }
    req->command = spec->command;
    memcpy(req->name, name_len > 0 ? name : "", name_len + 1);
    return 0;
}

const char *control_command_name(enum control_command command)
{
    for (size_t i = 0; i < COMMAND_SPECS_COUNT; i++) {
        if (command_specs[i].command == command)
            return command_specs[i].word;
    }
    return "?";
}

const char *control_error_name(enum control_error code)
{
    return error_names[code];
}

/* Text after "word" when line is "word" or "word TEXT"; NULL otherwise. */
static const char *after_word(const char *line, const char *word)
{
    size_t len = strlen(word);
    if (strncmp(line, word, len) != 0)
        return NULL;
    if (line[len] == '\0')
        return line + len;
    return line[len] == ' ' ? line + len + 1 : NULL;
}

/* Recognises "data TEXT", "ok [TEXT]" and "error CODE TEXT". */
int control_parse_reply_line(const char *line, struct control_reply_line *reply)
{
    const char *text;
    *reply = (struct control_reply_line){.text = ""};
    if ((text = after_word(line, "data")) != NULL) {
        reply->kind = CONTROL_REPLY_DATA;
        reply->text = text;
        return 0;
    }
    if ((text = after_word(line, "ok")) != NULL) {
        reply->kind = CONTROL_REPLY_OK;
        reply->text = text;
        return 0;
    }
    if ((text = after_word(line, "error")) == NULL || *text == '\0')
        return -1;
    reply->kind = CONTROL_REPLY_ERROR;
    reply->error = CONTROL_ERR_UNKNOWN_CODE;
    size_t code_len = strcspn(text, " ");
    for (size_t i = 0; i < sizeof error_names / sizeof error_names[0]; i++) {
        if (strlen(error_names[i]) == code_len && strncmp(error_names[i], text, code_len) == 0)
            reply->error = (enum control_error)i;
    }
    reply->text = text[code_len] == ' ' ? text + code_len + 1 : text + code_len;
    return 0;
}

/* Appends "word[ TEXT]\n", newlines in text turned into spaces, the whole
 * line capped at CONTROL_LINE_MAX. */
static void append_reply(struct buffer *out, const char *word, const char *text)
{
    size_t start = out->len;
    buffer_append_str(out, word);
    if (text != NULL && *text != '\0') {
        buffer_append(out, " ", 1);
        size_t room = CONTROL_LINE_MAX - 1 - (out->len - start);
        size_t len = strlen(text);
        size_t at = out->len;
        buffer_append(out, text, len < room ? len : room);
        for (size_t i = at; i < out->len; i++) {
            if (out->data[i] == '\n' || out->data[i] == '\r')
                out->data[i] = ' ';
        }
    }
    buffer_append(out, "\n", 1);
}

void control_reply_data(struct buffer *out, const char *text)
{
    append_reply(out, "data", text);
}

/* "ok [TEXT]". */
void control_reply_ok(struct buffer *out, const char *text)
{
    append_reply(out, "ok", text);
}

/* "error CODE TEXT". */
void control_reply_error(struct buffer *out, enum control_error code, const char *text)
{
    char *line = xasprintf("%s %s", error_names[code], text != NULL ? text : "");
    append_reply(out, "error", line);
    free(line);
}
