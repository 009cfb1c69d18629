/* test_pg_source.c - pg_timestamp_ms (pg_source.c), which the sync loop's batch
 * line uses for its lag: timestamptz text as PostgreSQL prints it with
 * TimeZone=UTC, to milliseconds since the epoch; pg_timestamp_us, its strict
 * microsecond twin (the state file's check), pg_horizon_behind, the
 * "database clock is behind the cursor" comparison, and pg_notice_level,
 * the log level of a server notice. */
#include "pg_source.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* 2021-06-16 20:14:09 UTC */
#define BASE_MS INT64_C(1623874449000)

/* Notices from the server: their level in the log. */
static void test_notice_level(void **state)
{
    (void)state;
    assert_int_equal(pg_notice_level("WARNING"), LOG_WARN);
    assert_int_equal(pg_notice_level("NOTICE"), LOG_INFO);
    assert_int_equal(pg_notice_level("INFO"), LOG_INFO);
    assert_int_equal(pg_notice_level("LOG"), LOG_INFO);
    assert_int_equal(pg_notice_level("DEBUG"), LOG_DEBUG);
    assert_int_equal(pg_notice_level("SOMETHING NEW"), LOG_WARN);
    assert_int_equal(pg_notice_level(NULL), LOG_WARN);
}

static void test_whole_seconds(void **state)
{
    (void)state;
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09+00"), BASE_MS);
    assert_int_equal(pg_timestamp_ms("1970-01-01 00:00:00+00"), 0);
    assert_int_equal(pg_timestamp_ms("1970-01-01 00:00:01+00"), 1000);
    assert_int_equal(pg_timestamp_ms("2000-02-29 23:59:59+00"), INT64_C(951868799000));
    assert_int_equal(pg_timestamp_ms("2038-01-19 03:14:08+00"), INT64_C(2147483648000));
}

static void test_fractional_seconds(void **state)
{
    (void)state;
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.221838+00"), BASE_MS + 221);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.999999+00"), BASE_MS + 999);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.000001+00"), BASE_MS);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.123+00"), BASE_MS + 123);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.0501+00"), BASE_MS + 50);
}

/* PostgreSQL drops trailing zeros of the fraction: ".5" is 500 ms. */
static void test_short_fractions(void **state)
{
    (void)state;
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.5+00"), BASE_MS + 500);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.25+00"), BASE_MS + 250);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14:09.05+00"), BASE_MS + 50);
}

static void test_garbage(void **state)
{
    (void)state;
    assert_int_equal(pg_timestamp_ms(""), -1);
    assert_int_equal(pg_timestamp_ms("-infinity"), -1);
    assert_int_equal(pg_timestamp_ms("infinity"), -1);
    assert_int_equal(pg_timestamp_ms("yesterday"), -1);
    assert_int_equal(pg_timestamp_ms("2021-06-16"), -1);
    assert_int_equal(pg_timestamp_ms("2021-06-16 20:14"), -1);
    assert_int_equal(pg_timestamp_ms("20:14:09 2021-06-16"), -1);
}

/* Microseconds, the infinities at the ends, nothing but PostgreSQL's form. */
static void test_microseconds(void **state)
{
    (void)state;
    int64_t us;
    assert_true(pg_timestamp_us("2021-06-16 20:14:09.221838+00", &us));
    assert_int_equal(us, BASE_MS * 1000 + 221838);
    assert_true(pg_timestamp_us("2021-06-16 20:14:09.5+00", &us));
    assert_int_equal(us, BASE_MS * 1000 + 500000);
    assert_true(pg_timestamp_us("-infinity", &us));
    assert_true(us == INT64_MIN);
    assert_true(pg_timestamp_us("infinity", &us));
    assert_true(us == INT64_MAX);
    assert_false(pg_timestamp_us("yesterday-ish", &us));
    assert_false(pg_timestamp_us("2021-13-45 99:00:00+00", &us));
    assert_false(pg_timestamp_us("2021-06-16 20:14:09", &us));
    assert_false(pg_timestamp_us("2021-06-16 20:14:09+00 junk", &us));
}

/* The clock stepping back: a horizon earlier than the cursor, as instants
 * (a shorter fraction is not an earlier time). */
static void test_horizon_behind(void **state)
{
    (void)state;
    assert_true(pg_horizon_behind("2021-06-16 20:14:08+00", "2021-06-16 20:14:09+00"));
    assert_true(pg_horizon_behind("2021-06-16 20:14:09.4+00", "2021-06-16 20:14:09.45+00"));
    assert_false(pg_horizon_behind("2021-06-16 20:14:09.5+00", "2021-06-16 20:14:09.45+00"));
    assert_false(pg_horizon_behind("2021-06-16 20:14:09+00", "2021-06-16 20:14:09+00"));
    assert_false(pg_horizon_behind("2021-06-16 20:14:10+00", "2021-06-16 20:14:09.999999+00"));
    assert_false(pg_horizon_behind("2021-06-16 20:14:09+00", "-infinity"));
    /* a prepared transaction holds the horizon at the cursor: not behind */
    assert_false(pg_horizon_behind("-infinity", "-infinity"));
    assert_true(pg_horizon_behind("-infinity", "2021-06-16 20:14:09+00"));
    assert_false(pg_horizon_behind("garbage", "2021-06-16 20:14:09+00"));
}

/* Only what PostgreSQL prints for a uuid goes into the uuid[] literal. */
static void test_uuid_text(void **state)
{
    (void)state;
    assert_true(pg_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a11"));
    assert_true(pg_is_uuid("00000000-0000-0000-0000-000000000000"));
    assert_false(pg_is_uuid("3D8D9BDE-E9E4-4B8F-9D4E-0C6F3C0D6A11")); /* never printed so */
    assert_false(pg_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a1"));
    assert_false(pg_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a111"));
    assert_false(pg_is_uuid("3d8d9bdee9e44b8f9d4e0c6f3c0d6a11"));
    assert_false(pg_is_uuid("3d8d9bde-e9e4-4b8f-9d4e,0c6f3c0d6a11"));
    assert_false(pg_is_uuid("film:3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d"));
    assert_false(pg_is_uuid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notice_level),
        cmocka_unit_test(test_whole_seconds),
        cmocka_unit_test(test_fractional_seconds),
        cmocka_unit_test(test_short_fractions),
        cmocka_unit_test(test_microseconds),
        cmocka_unit_test(test_horizon_behind),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_uuid_text),
    };
    return cmocka_run_group_tests_name("pg_timestamp_ms", tests, NULL, NULL);
}
