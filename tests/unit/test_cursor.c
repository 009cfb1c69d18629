/* test_cursor.c - the text of a cursor as PostgreSQL prints it (cursor.c):
 * cursor_timestamp_us, the strict microsecond parse of a timestamptz (the
 * state file's check), cursor_horizon_behind, the "database clock is behind
 * the cursor" comparison, and cursor_is_uuid. */
#include "cursor.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* 2021-06-16 20:14:09 UTC, in milliseconds */
#define BASE_MS INT64_C(1623874449000)

/* Microseconds, the infinities at the ends, nothing but PostgreSQL's form. */
static void test_microseconds(void **state)
{
    (void)state;
    int64_t us;
    assert_true(cursor_timestamp_us("2021-06-16 20:14:09.221838+00", &us));
    assert_int_equal(us, BASE_MS * 1000 + 221838);
    assert_true(cursor_timestamp_us("2021-06-16 20:14:09.5+00", &us));
    assert_int_equal(us, BASE_MS * 1000 + 500000);
    assert_true(cursor_timestamp_us("-infinity", &us));
    assert_true(us == INT64_MIN);
    assert_true(cursor_timestamp_us("infinity", &us));
    assert_true(us == INT64_MAX);
    assert_false(cursor_timestamp_us("yesterday-ish", &us));
    assert_false(cursor_timestamp_us("2021-13-45 99:00:00+00", &us));
    assert_false(cursor_timestamp_us("2021-06-16 20:14:09", &us));
    assert_false(cursor_timestamp_us("2021-06-16 20:14:09+00 junk", &us));
}

/* The clock stepping back: a horizon earlier than the cursor, as instants
 * (a shorter fraction is not an earlier time). */
static void test_horizon_behind(void **state)
{
    (void)state;
    assert_true(cursor_horizon_behind("2021-06-16 20:14:08+00", "2021-06-16 20:14:09+00"));
    assert_true(cursor_horizon_behind("2021-06-16 20:14:09.4+00", "2021-06-16 20:14:09.45+00"));
    assert_false(cursor_horizon_behind("2021-06-16 20:14:09.5+00", "2021-06-16 20:14:09.45+00"));
    assert_false(cursor_horizon_behind("2021-06-16 20:14:09+00", "2021-06-16 20:14:09+00"));
    assert_false(cursor_horizon_behind("2021-06-16 20:14:10+00", "2021-06-16 20:14:09.999999+00"));
    assert_false(cursor_horizon_behind("2021-06-16 20:14:09+00", "-infinity"));
    /* a prepared transaction holds the horizon at the cursor: not behind */
    assert_false(cursor_horizon_behind("-infinity", "-infinity"));
    assert_true(cursor_horizon_behind("-infinity", "2021-06-16 20:14:09+00"));
    assert_false(cursor_horizon_behind("garbage", "2021-06-16 20:14:09+00"));
}

/* Only what PostgreSQL prints for a uuid goes into the uuid[] literal. */
static void test_uuid_text(void **state)
{
    (void)state;
    assert_true(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a11"));
    assert_true(cursor_is_uuid("00000000-0000-0000-0000-000000000000"));
    assert_false(cursor_is_uuid("3D8D9BDE-E9E4-4B8F-9D4E-0C6F3C0D6A11")); /* never printed so */
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a1"));
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a111"));
    assert_false(cursor_is_uuid("3d8d9bdee9e44b8f9d4e0c6f3c0d6a11"));
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e,0c6f3c0d6a11"));
    assert_false(cursor_is_uuid("film:3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d"));
    assert_false(cursor_is_uuid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_microseconds),
        cmocka_unit_test(test_horizon_behind),
        cmocka_unit_test(test_uuid_text),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
