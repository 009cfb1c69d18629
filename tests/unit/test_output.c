/* test_output.c - the supervisor's never-blocking stdout: a pipe nobody
 * reads fills, whole lines are dropped and counted, the count is logged
 * once the reader has taken the rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"
#include "output.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel's smallest pipe: a page. */
#define SMALL_PIPE 4096
/* Every test line: "line NNNNN " padded with x to this length, '\n' included. */
#define LINE_LEN 100

/* Fills line with test line number i. */
static void make_line(char *line, int i)
{
    int n = snprintf(line, LINE_LEN, "line %05d ", i);
    memset(line + n, 'x', LINE_LEN - 1 - (size_t)n);
    line[LINE_LEN - 1] = '\n';
}

/* Reads everything the pipe holds now. */
static size_t drain(int fd, char *buf, size_t size)
{
    size_t got = 0;
    ssize_t n;
    while (got < size && (n = read(fd, buf + got, size - got)) > 0)
        got += (size_t)n;
    return got;
}

/* A stalled reader costs whole lines, counted once it reads again. */
static void test_stalled_reader_drops_whole_lines_and_counts_them(void **unused)
{
    (void)unused;
    int fds[2];
    assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
    fcntl(fds[1], F_SETPIPE_SZ, SMALL_PIPE);
    struct output out;
    output_open(&out, fds[1], (size_t)2 * SMALL_PIPE);
    log_init("supervisor");
    log_set_sink(output_sink, &out);
    char line[LINE_LEN];
    int total = 200; /* 20000 bytes: far more than pipe and buffer */
    for (int i = 0; i < total; i++) {
        make_line(line, i);
        output_line(&out, line, sizeof line);
    }
    assert_true(out.dropped > 0);
    assert_true(output_waiting(&out));
    long long dropped = out.dropped;
    static char got[1 << 16];
    size_t len = 0;
    for (int round = 0; round < 10 && output_waiting(&out); round++) {
        len += drain(fds[0], got + len, sizeof got - len);
        output_flush(&out);
    }
    len += drain(fds[0], got + len, sizeof got - len);
    got[len] = '\0';
    /* Every line is whole; the numbers run without a gap up to the count. */
    int next = 0;
    int counts = 0;
    for (char *p = got, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        if (strstr(p, "msg=\"log lines dropped\"") != NULL) {
            char want[32];
            snprintf(want, sizeof want, "count=%lld", dropped);
            assert_non_null(strstr(p, want));
            assert_int_equal(next + dropped, total);
            counts++;
            continue;
        }
        assert_int_equal(strlen(p), LINE_LEN - 1);
        assert_int_equal(strtol(p + strlen("line "), NULL, 10), next);
        next++;
    }
    assert_int_equal(counts, 1);
    /* The total for the metrics is kept after the count was logged. */
    assert_int_equal(out.dropped, 0);
    assert_int_equal(out.dropped_total, dropped);
    log_set_sink(NULL, NULL);
    output_close(&out, 0);
    close(fds[0]);
    close(fds[1]);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_reader_drops_whole_lines_and_counts_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
