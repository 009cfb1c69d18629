/* test_metrics_text.c - the supervisor's own series in the Prometheus text:
 * the log lines its stdout dropped, counted since it started. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "metrics_text.h"
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>

/* Any number of dropped lines; the text must carry it unchanged. */
#define DROPPED 12345

/* etl_log_lines_dropped_total: HELP, TYPE counter and the total, no label
 * (the supervisor's stdout is one for all workers). */
static void test_dropped_log_lines_are_a_counter(void **unused)
{
    (void)unused;
    static struct supervisor sup; /* no worker slots */
    sup.output.dropped_total = DROPPED;
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_log_lines_dropped_total counter\n"));
    assert_non_null(strstr(text, "# HELP etl_log_lines_dropped_total "));
    assert_non_null(strstr(text, "\netl_log_lines_dropped_total 12345\n"));
    free(text);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropped_log_lines_are_a_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
