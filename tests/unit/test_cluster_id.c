/* test_cluster_id.c - the cluster a state file's snapshots are of: the
 * texts PostgreSQL prints for it, and what a difference is called. */
#include "cluster_id.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

static void test_system_identifier_texts(void **state)
{
    (void)state;
    assert_true(cluster_system_identifier_is_valid("7714611411083361874"));
    assert_true(cluster_system_identifier_is_valid("1"));
    assert_true(cluster_system_identifier_is_valid("-9223372036854775808"));
    assert_false(cluster_system_identifier_is_valid(""));
    assert_false(cluster_system_identifier_is_valid("-"));
    assert_false(cluster_system_identifier_is_valid("12345678901234567890")); /* 20 digits */
    assert_false(cluster_system_identifier_is_valid("77 14"));
    assert_false(cluster_system_identifier_is_valid("0x1f"));
    assert_false(cluster_system_identifier_is_valid("+1"));
}

static void test_timelines(void **state)
{
    (void)state;
    assert_true(cluster_timeline_is_valid(1));
    assert_true(cluster_timeline_is_valid(4294967295LL));
    assert_false(cluster_timeline_is_valid(0));
    assert_false(cluster_timeline_is_valid(-1));
    assert_false(cluster_timeline_is_valid(4294967296LL));
}

static void test_differs(void **state)
{
    (void)state;
    struct cluster_id saved = {"7714611411083361874", 1};
    struct cluster_id same = saved;
    struct cluster_id other_cluster = {"7714611411083361875", 1};
    struct cluster_id next_timeline = {"7714611411083361874", 2};
    struct cluster_id both = {"7714611411083361875", 2};
    struct cluster_id unknown = {"", 0};
    assert_true(cluster_id_known(&saved));
    assert_false(cluster_id_known(&unknown));
    assert_false(cluster_id_known(&(struct cluster_id){"7714611411083361874", 0}));
    assert_null(cluster_id_differs(&saved, &same));
    assert_string_equal(cluster_id_differs(&saved, &other_cluster),
                        "another cluster: its system identifier differs");
    assert_string_equal(cluster_id_differs(&saved, &next_timeline), "a timeline switch");
    /* The identifier first: another cluster's timelines say nothing. */
    assert_string_equal(cluster_id_differs(&saved, &both),
                        "another cluster: its system identifier differs");
    /* Unknown (a file before it was recorded): nothing to compare. */
    assert_null(cluster_id_differs(&unknown, &saved));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_identifier_texts),
        cmocka_unit_test(test_timelines),
        cmocka_unit_test(test_differs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
