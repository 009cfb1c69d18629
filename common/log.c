/* log.c - logfmt lines to stderr; see log.h. */
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool active;
    bool full; /* a field did not fit: later ones are dropped, not cut */
};

/* Room for a line's fields: the last byte is kept for the newline. */
#define FIELDS_CAP (LOG_LINE_MAX - 1)

static struct log_line current_line;
static char worker_name[64] = "etl";
/* A sig_atomic_t, so that a signal handler may set it (log_set_level). */
static volatile sig_atomic_t min_level = LOG_INFO;
static int log_fd = 2;
static log_sink sink_fn;
static void *sink_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *name)
{
    snprintf(worker_name, sizeof worker_name, "%s", name);
}

void log_set_level(enum log_level level)
{
    min_level = (sig_atomic_t)level;
}

bool log_level_parse(const char *text, enum log_level *level)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (enum log_level)i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

void log_set_fd(int fd)
{
    log_fd = fd;
}

/* Lines go to sink from now on (NULL: to the fd again). */
void log_set_sink(log_sink sink, void *ctx)
{
    sink_fn = sink;
    sink_ctx = ctx;
}

/* A value needs quotes when empty or when it holds a space, quote, equals
 * sign, backslash or control character. */
static bool needs_quotes(const char *value)
{
    if (*value == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return true;
    }
    return false;
}

/* Appends raw bytes, keeping room for the final newline and NUL. */
static size_t append_raw(char *buf, size_t len, size_t cap, const char *text, size_t n)
{
    if (len + 1 >= cap)
        return len;
    size_t room = cap - 1 - len;
    if (n > room)
        n = room;
    memcpy(buf + len, text, n);
    len += n;
    buf[len] = '\0';
    return len;
}

/* The characters a quoted logfmt value writes as a backslash and a second
 * character; '\0' ends the list. */
static const struct {
    unsigned char raw;
    char escaped;
} named_escapes[] = {{'"', '"'}, {'\\', '\\'}, {'\n', 'n'}, {'\t', 't'}, {'\r', 'r'}, {'\0', '\0'}};

/* Writes c as it stands in a quoted value into esc (at least 5 bytes):
 * a named escape (\n), a hex escape for the other control characters, or
 * c itself.  Returns its length. */
static size_t escape_char(unsigned char c, char *esc, size_t size)
{
    for (size_t i = 0; named_escapes[i].raw != '\0'; i++) {
        if (named_escapes[i].raw == c) {
            esc[0] = '\\';
            esc[1] = named_escapes[i].escaped;
            return 2;
        }
    }
    if (c < ' ' || c == 0x7f)
        return (size_t)snprintf(esc, size, "\\x%02x", c);
    esc[0] = (char)c;
    return 1;
}

/* Appends a value in logfmt form; see log.h.  A quoted value that does not
 * fit is cut between characters, never inside an escape, and keeps its
 * closing quote, so the line stays valid logfmt. */
size_t logfmt_append_value(char *buf, size_t len, size_t cap, const char *value)
{
    if (value == NULL)
        value = "";
    if (!needs_quotes(value))
        return append_raw(buf, len, cap, value, strlen(value));
    if (len + 3 > cap) /* not even room for "" */
        return len;
    size_t content_cap = cap - 1; /* one byte kept for the closing quote */
    len = append_raw(buf, len, content_cap, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[8];
        size_t n = escape_char(*p, esc, sizeof esc);
        if (len + n >= content_cap)
            break;
        len = append_raw(buf, len, content_cap, esc, n);
    }
    buf[len++] = '"';
    buf[len] = '\0';
    return len;
}

/* Appends " key=" to the line, when there is room for it and a short
 * value; otherwise marks the line full. */
static bool append_key(struct log_line *line, const char *key)
{
    size_t key_len = strlen(key);
    if (line->full || line->len + key_len + 5 >= FIELDS_CAP) {
        line->full = true;
        return false;
    }
    line->len = append_raw(line->buf, line->len, FIELDS_CAP, " ", 1);
    line->len = append_raw(line->buf, line->len, FIELDS_CAP, key, key_len);
    line->len = append_raw(line->buf, line->len, FIELDS_CAP, "=", 1);
    return true;
}

void log_format_ts(char *buf, size_t size, int64_t wall_ms)
{
    time_t seconds = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(wall_ms % 1000));
}

struct log_line *log_begin(enum log_level level, const char *msg)
{
    if ((sig_atomic_t)level < min_level)
        return NULL;
    struct log_line *line = &current_line;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[40];
    log_format_ts(ts, sizeof ts, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    line->len = 0;
    line->active = true;
    line->full = false;
    line->len = append_raw(line->buf, 0, FIELDS_CAP, "ts=", 3);
    line->len = append_raw(line->buf, line->len, FIELDS_CAP, ts, strlen(ts));
    log_str(line, "level", level_names[level]);
    log_str(line, "worker", worker_name);
    log_int(line, "pid", (long long)getpid());
    log_str(line, "msg", msg);
    return line;
}

void log_str(struct log_line *line, const char *key, const char *value)
{
    if (line == NULL || !append_key(line, key))
        return;
    line->len = logfmt_append_value(line->buf, line->len, FIELDS_CAP, value);
}

void log_int(struct log_line *line, const char *key, long long value)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", value);
    log_str(line, key, text);
}

/* Adds a number with three decimals (durations in seconds). */
void log_double(struct log_line *line, const char *key, double value)
{
    char text[48];
    snprintf(text, sizeof text, "%.3f", value);
    log_str(line, key, text);
}

void log_end(struct log_line *line)
{
    if (line == NULL || !line->active)
        return;
    line->buf[line->len++] = '\n'; /* FIELDS_CAP kept room for it */
    if (sink_fn != NULL) {
        sink_fn(sink_ctx, line->buf, line->len);
    } else {
        ssize_t written;
        do {
            written = write(log_fd, line->buf, line->len);
        } while (written < 0 && errno == EINTR);
    }
    line->active = false;
    line->len = 0;
}

void log_event(enum log_level level, const char *msg, const char *key, const char *value)
{
    struct log_line *line = log_begin(level, msg);
    if (key != NULL)
        log_str(line, key, value);
    log_end(line);
}
