/* test_pg_source.c - pg_timestamp_ms (pg_source.c), which the sync loop's batch
 * line uses for its lag: timestamptz text as PostgreSQL prints it with
 * TimeZone=UTC, to milliseconds since the epoch, and pg_notice_level, the
 * log level of a server notice.  The strict parsing of a cursor's text is
 * in test_cursor.c. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notice_level),
        cmocka_unit_test(test_whole_seconds),
        cmocka_unit_test(test_fractional_seconds),
        cmocka_unit_test(test_short_fractions),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests_name("pg_timestamp_ms", tests, NULL, NULL);
}
