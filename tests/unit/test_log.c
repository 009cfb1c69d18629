/* test_log.c - logfmt quoting, the shape and size of a line, level
 * filtering, level names. */
#include "log.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* The read end of the pipe the log writes to. */
static int pipe_read = -1;
static int pipe_write = -1;

static int setup(void **state)
{
    (void)state;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pipe_read = fds[0];
    pipe_write = fds[1];
    /* reads must not block when a test expects nothing */
    fcntl(pipe_read, F_SETFL, fcntl(pipe_read, F_GETFL) | O_NONBLOCK);
    log_set_fd(pipe_write);
    log_init("movies");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_fd(2);
    close(pipe_read);
    close(pipe_write);
    return 0;
}

/* Everything written to the log since the last call (NUL-terminated). */
static size_t drain(char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(pipe_read, buf + len, size - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    buf[len] = '\0';
    return len;
}

/* logfmt_append_value of value alone. */
static void check_value(const char *value, const char *expected)
{
    char buf[256];
    size_t len = logfmt_append_value(buf, 0, sizeof buf, value);
    buf[len] = '\0';
    assert_string_equal(buf, expected);
    assert_int_equal(len, strlen(expected));
}

/* Checks that line is a sequence of logfmt key=value pairs: keys bare,
 * values bare or double-quoted with every quote inside escaped. */
static void assert_logfmt(const char *line)
{
    const char *p = line;
    while (*p != '\0') {
        const char *key = p;
        while (*p != '\0' && *p != '=' && *p != ' ' && *p != '"')
            p++;
        if (p == key || *p != '=')
            fail_msg("bad key at offset %td of \"%s\"", key - line, line);
        p++;
        if (*p == '"') {
            p++;
            while (*p != '"') {
                if (*p == '\0')
                    fail_msg("unterminated quoted value in \"%.80s...\"", line);
                if (*p == '\\') {
                    p++;
                    if (*p == '\0')
                        fail_msg("escape cut short in \"%.80s...\"", line);
                }
                p++;
            }
            p++;
        } else {
            while (*p != '\0' && *p != ' ') {
                if (*p == '"' || *p == '=')
                    fail_msg("unquoted special character at offset %td", p - line);
                p++;
            }
        }
        if (*p == ' ')
            p++;
        else if (*p != '\0')
            fail_msg("no space after a value at offset %td", p - line);
    }
}

static void test_plain_values_are_bare(void **state)
{
    (void)state;
    check_value("plain", "plain");
    check_value("42", "42");
    check_value("-1.500", "-1.500");
    check_value("2021-06-16T20:14:09.221Z", "2021-06-16T20:14:09.221Z");
    check_value("/var/lib/etl/movies.state", "/var/lib/etl/movies.state");
    check_value("http://127.0.0.1:9200/_bulk?x", "http://127.0.0.1:9200/_bulk?x");
    check_value("Фильм", "Фильм"); /* UTF-8 is left alone */
}

static void test_values_needing_quotes(void **state)
{
    (void)state;
    check_value("", "\"\"");
    check_value(NULL, "\"\"");
    check_value("two words", "\"two words\"");
    check_value(" lead", "\" lead\"");
    check_value("say \"hi\"", "\"say \\\"hi\\\"\"");
    check_value("\"", "\"\\\"\"");
    check_value("k=v", "\"k=v\"");
    check_value("back\\slash", "\"back\\\\slash\"");
    check_value("line\nbreak", "\"line\\nbreak\"");
    check_value("tab\there", "\"tab\\there\"");
    check_value("cr\r", "\"cr\\r\"");
    check_value("bell\a", "\"bell\\x07\"");
    check_value("\x01", "\"\\x01\"");
    check_value("del\x7f", "\"del\\x7f\"");
    check_value("\x1b[31m", "\"\\x1b[31m\"");
}

static void test_append_after_existing_text(void **state)
{
    (void)state;
    char buf[64] = "a=";
    size_t len = logfmt_append_value(buf, 2, sizeof buf, "x y");
    assert_int_equal(len, 7);
    assert_string_equal(buf, "a=\"x y\"");
    len = logfmt_append_value(buf, len, sizeof buf, "z");
    assert_string_equal(buf, "a=\"x y\"z");
    assert_int_equal(len, 8);
}

static void test_append_truncates_at_capacity(void **state)
{
    (void)state;
    char buf[8];
    size_t len = logfmt_append_value(buf, 0, sizeof buf, "abcdefghijkl");
    assert_int_equal(len, 7);
    assert_string_equal(buf, "abcdefg");
    /* a full buffer takes nothing more */
    len = logfmt_append_value(buf, len, sizeof buf, "more");
    assert_int_equal(len, 7);
    assert_string_equal(buf, "abcdefg");
}

static void test_line_shape(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    /* The stamp comes from CLOCK_REALTIME: bracket it with the same clock
     * (time() reads the coarse clock, which can lag a second behind). */
    struct timespec before;
    struct timespec after;
    clock_gettime(CLOCK_REALTIME, &before);
    struct log_line *line = log_begin(LOG_INFO, "batch");
    clock_gettime(CLOCK_REALTIME, &after);
    assert_non_null(line);
    log_int(line, "rows", 3);
    log_int(line, "negative", -7);
    log_str(line, "cursor", "2021-06-16 20:14:09+00");
    log_double(line, "took_s", 1.5);
    log_end(line);

    char buf[LOG_LINE_MAX * 2];
    size_t len = drain(buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(buf[len - 1], '\n');
    assert_ptr_equal(strchr(buf, '\n'), buf + len - 1);

    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ in UTC, the time log_begin ran */
    const char *shape = "ts=dddd-dd-ddTdd:dd:dd.dddZ";
    size_t consumed = strlen(shape);
    for (size_t i = 0; i < consumed; i++) {
        bool ok = shape[i] == 'd' ? isdigit((unsigned char)buf[i]) != 0 : buf[i] == shape[i];
        if (!ok)
            fail_msg("timestamp \"%.27s\" differs from %s at %zu", buf, shape, i);
    }
    struct tm tm = {0};
    assert_non_null(strptime(buf + 3, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t stamp = timegm(&tm);
    char *end = NULL;
    long millis = strtol(buf + consumed - strlen("dddZ"), &end, 10);
    assert_ptr_equal(end, buf + consumed - 1);
    int64_t stamp_ms = (int64_t)stamp * 1000 + millis;
    int64_t before_ms = (int64_t)before.tv_sec * 1000 + before.tv_nsec / 1000000;
    int64_t after_ms = (int64_t)after.tv_sec * 1000 + after.tv_nsec / 1000000;
    if (stamp_ms < before_ms || stamp_ms > after_ms)
        fail_msg("timestamp %.27s is outside [%lld, %lld] ms", buf, (long long)before_ms,
                 (long long)after_ms);

    char expected[256];
    snprintf(expected, sizeof expected,
             " level=info worker=movies pid=%ld msg=batch rows=3 negative=-7 "
             "cursor=\"2021-06-16 20:14:09+00\" took_s=1.500\n",
             (long)getpid());
    assert_string_equal(buf + consumed, expected);
    buf[len - 1] = '\0';
    assert_logfmt(buf);
}

static void test_log_event(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    char buf[LOG_LINE_MAX * 2];
    drain(buf, sizeof buf);

    log_event(LOG_ERROR, "state file unreadable", "path", "/x y/movies.state");
    drain(buf, sizeof buf);
    char expected[256];
    snprintf(expected, sizeof expected,
             " level=error worker=movies pid=%ld msg=\"state file unreadable\" "
             "path=\"/x y/movies.state\"\n",
             (long)getpid());
    const char *rest = strchr(buf, ' ');
    assert_non_null(rest);
    assert_string_equal(rest, expected);

    log_event(LOG_DEBUG, "idle", NULL, NULL);
    drain(buf, sizeof buf);
    snprintf(expected, sizeof expected, " level=debug worker=movies pid=%ld msg=idle\n",
             (long)getpid());
    rest = strchr(buf, ' ');
    assert_non_null(rest);
    assert_string_equal(rest, expected);
}

static void test_worker_name(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    char buf[LOG_LINE_MAX * 2];
    log_init("a name");
    log_event(LOG_WARN, "x", NULL, NULL);
    drain(buf, sizeof buf);
    assert_non_null(strstr(buf, " worker=\"a name\" "));
    log_init("movies");
}

static void test_level_filtering(void **state)
{
    (void)state;
    char buf[LOG_LINE_MAX * 2];
    drain(buf, sizeof buf);
    log_set_level(LOG_WARN);
    assert_null(log_begin(LOG_DEBUG, "dropped"));
    struct log_line *line = log_begin(LOG_INFO, "dropped");
    assert_null(line);
    /* every call accepts the NULL of a filtered line */
    log_str(line, "k", "v");
    log_int(line, "n", 1);
    log_double(line, "d", 1.0);
    log_end(line);
    log_event(LOG_INFO, "dropped", "k", "v");
    assert_int_equal(drain(buf, sizeof buf), 0);

    log_event(LOG_WARN, "kept", NULL, NULL);
    log_event(LOG_ERROR, "kept too", NULL, NULL);
    drain(buf, sizeof buf);
    assert_non_null(strstr(buf, " level=warn "));
    assert_non_null(strstr(buf, " level=error "));
    assert_null(strstr(buf, "dropped"));

    log_set_level(LOG_ERROR);
    log_event(LOG_WARN, "dropped", NULL, NULL);
    assert_int_equal(drain(buf, sizeof buf), 0);

    log_set_level(LOG_DEBUG);
    log_event(LOG_DEBUG, "shown", NULL, NULL);
    drain(buf, sizeof buf);
    assert_non_null(strstr(buf, " level=debug "));
    log_set_level(LOG_INFO);
}

/* Writes one line with a huge field and returns what reached the pipe. */
static size_t long_line(const char *value, char *buf, size_t size)
{
    drain(buf, size);
    log_set_level(LOG_INFO);
    struct log_line *line = log_begin(LOG_INFO, "long");
    log_str(line, "value", value);
    log_str(line, "after", "x");
    log_end(line);
    return drain(buf, size);
}

static void test_line_never_exceeds_max(void **state)
{
    (void)state;
    static char value[3 * LOG_LINE_MAX];
    char buf[LOG_LINE_MAX * 4];
    const char fills[] = {'x', '\n', '"', ' ', '\\'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(value, fills[f], 3 * LOG_LINE_MAX - 1);
        value[3 * LOG_LINE_MAX - 1] = '\0';
        size_t len = long_line(value, buf, sizeof buf);
        assert_true(len > 0);
        assert_true(len <= LOG_LINE_MAX);
        assert_int_equal(buf[len - 1], '\n');
        /* one line: the only raw newline is the last byte */
        assert_ptr_equal(strchr(buf, '\n'), buf + len - 1);
    }
    /* the next line is whole again */
    log_event(LOG_INFO, "short", NULL, NULL);
    size_t len = drain(buf, sizeof buf);
    assert_true(len < 200);
    assert_non_null(strstr(buf, " msg=short\n"));
}

/* A value cut at the size limit still leaves a line that logfmt readers
 * can parse: the quoted value is closed, no escape is cut in half. */
static void test_truncated_line_is_still_logfmt(void **state)
{
    (void)state;
    static char value[2 * LOG_LINE_MAX];
    char buf[LOG_LINE_MAX * 4];
    const char fills[] = {' ', '"'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(value, fills[f], 2 * LOG_LINE_MAX - 1);
        value[2 * LOG_LINE_MAX - 1] = '\0';
        size_t len = long_line(value, buf, sizeof buf);
        assert_true(len > 0 && len <= LOG_LINE_MAX);
        buf[len - 1] = '\0';
        assert_logfmt(buf);
    }
}

static void test_level_parse_and_names(void **state)
{
    (void)state;
    const char *names[] = {"debug", "info", "warn", "error"};
    const enum log_level levels[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    for (size_t i = 0; i < 4; i++) {
        enum log_level level = (enum log_level)99;
        assert_true(log_level_parse(names[i], &level));
        assert_int_equal(level, levels[i]);
        assert_string_equal(log_level_name(levels[i]), names[i]);
    }
    const char *bad[] = {"", "INFO", "Info", "warning", "err", "info ", "verbose", "0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum log_level level = LOG_WARN;
        assert_false(log_level_parse(bad[i], &level));
        assert_int_equal(level, LOG_WARN); /* untouched */
    }
    assert_true(LOG_DEBUG < LOG_INFO && LOG_INFO < LOG_WARN && LOG_WARN < LOG_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_values_are_bare),
        cmocka_unit_test(test_values_needing_quotes),
        cmocka_unit_test(test_append_after_existing_text),
        cmocka_unit_test(test_append_truncates_at_capacity),
        cmocka_unit_test(test_line_shape),
        cmocka_unit_test(test_log_event),
        cmocka_unit_test(test_worker_name),
        cmocka_unit_test(test_level_filtering),
        cmocka_unit_test(test_line_never_exceeds_max),
        cmocka_unit_test(test_truncated_line_is_still_logfmt),
        cmocka_unit_test(test_level_parse_and_names),
    };
    return cmocka_run_group_tests_name("log", tests, setup, teardown);
}
