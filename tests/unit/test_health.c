/* test_health.c - the readiness rule (common/health.c) and etlctl check's
 * reading of status lines (supervisor/etlctl/check.c). */
#include "check.h"
#include "exit_status.h"
#include "health.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

/* Down beats everything; then not yet caught up; then the lag, allowed up
 * to and including the maximum. */
static void test_judge(void **unused)
{
    (void)unused;
    struct health_input down = {.running = false, .lag_known = true, .lag_s = 0};
    struct health_input starting = {.running = true, .lag_known = false};
    struct health_input at_max = {.running = true, .lag_known = true, .lag_s = 300};
    struct health_input above = {.running = true, .lag_known = true, .lag_s = 300.5};
    struct health_input refusing = {.running = true, .refusing = true, .lag_known = true};
    assert_int_equal(health_judge(&down, 300), HEALTH_DOWN);
    assert_int_equal(health_judge(&starting, 300), HEALTH_STARTING);
    assert_int_equal(health_judge(&at_max, 300), HEALTH_READY);
    assert_int_equal(health_judge(&above, 300), HEALTH_LAGGING);
    assert_int_equal(health_judge(&refusing, 300), HEALTH_REFUSING);
    assert_string_equal(health_name(HEALTH_LAGGING), "lagging");
    assert_string_equal(health_name(HEALTH_COUNT), "unknown");
}

/* The worst worker decides the exit status; a line without the keys is
 * a reply etlctl cannot read. */
static void test_check_lines(void **unused)
{
    (void)unused;
    const char *ready = "name=movies index=movies pid=12 state=running lag_s=0.2";
    const char *lagging = "name=genres index=genres pid=13 state=running lag_s=400";
    const char *starting = "name=persons index=persons pid=14 state=running lag_s=\"\"";
    const char *down = "name=persons index=persons pid=0 state=backoff lag_s=3";
    const char *refused = "name=genres index=genres pid=13 state=refused lag_s=4 "
                          "reason=cluster_block_exception";
    const char *lines[] = {ready, lagging, starting, down};
    const char *with_refused[] = {ready, refused, starting};
    assert_int_equal(check_status_lines(with_refused, 2, 300), EXIT_CHECK_REFUSING);
    assert_int_equal(check_status_lines(with_refused, 3, 300), EXIT_CHECK_REFUSING);
    const char *waiting[] = {"name=movies index=movies pid=12 state=waiting lag_s=\"\" "
                             "reason=\"another worker holds index movies (pid 7)\""};
    assert_int_equal(check_status_lines(waiting, 1, 300), EXIT_CHECK_WAITING);
    assert_int_equal(check_status_lines(lines, 1, 300), EXIT_READY);
    assert_int_equal(check_status_lines(lines, 2, 300), EXIT_CHECK_LAGGING);
    assert_int_equal(check_status_lines(lines, 2, 500), EXIT_READY);
    assert_int_equal(check_status_lines(lines, 3, 500), EXIT_CHECK_STARTING);
    assert_int_equal(check_status_lines(lines, 4, 500), EXIT_CHECK_DOWN);
    const char *bad[] = {"name=movies state=running lag_s=1"};
    assert_int_equal(check_status_lines(bad, 1, 300), EXIT_BAD_REPLY);
    const char *not_number[] = {"name=movies pid=1 state=running lag_s=soon"};
    assert_int_equal(check_status_lines(not_number, 1, 300), EXIT_BAD_REPLY);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_check_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
