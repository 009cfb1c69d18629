/* test_backoff.c - capped exponential backoff with "equal jitter". */
#include "backoff.h"

#include <stdint.h>
#include <stdlib.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* The next delay must lie in [nominal/2 rounded up, nominal]. */
static void assert_within(int64_t delay, int64_t nominal)
{
    int64_t low = nominal - nominal / 2;
    if (delay < low || delay > nominal)
        fail_msg("delay %lld outside [%lld, %lld]", (long long)delay, (long long)low,
                 (long long)nominal);
}

/* The next n delays of b must lie within nominal[0..n), in turn. */
static void assert_delays(struct backoff *b, const int64_t *nominal, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_within(backoff_next_ms(b), nominal[i]);
}

static void test_delays_double_up_to_the_cap(void **state)
{
    (void)state;
    srandom(12345);
    struct backoff b;
    backoff_init(&b, 100, 1000);
    const int64_t nominal[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof nominal / sizeof nominal[0]; i++) {
        assert_within(backoff_next_ms(&b), nominal[i]);
        assert_int_equal(backoff_attempts(&b), (int)i + 1);
    }
}

static void test_delays_grow(void **state)
{
    (void)state;
    srandom(1);
    /* each nominal delay doubles, so the lowest possible delay of a try is
     * the highest possible of the try before it: delays never shrink */
    for (int round = 0; round < 50; round++) {
        struct backoff b;
        backoff_init(&b, 500, 1 << 30);
        int64_t before = 0;
        for (int i = 0; i < 15; i++) {
            int64_t delay = backoff_next_ms(&b);
            if (delay < before)
                fail_msg("try %d: %lld after %lld", i, (long long)delay, (long long)before);
            before = delay;
        }
        assert_true(before >= (int64_t)500 << 13);
    }
}

static void test_jitter_spreads(void **state)
{
    (void)state;
    srandom(7);
    /* at the cap, delays spread over the upper half and differ */
    struct backoff b;
    backoff_init(&b, 1000, 1000);
    int64_t lowest = INT64_MAX;
    int64_t highest = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t delay = backoff_next_ms(&b);
        assert_within(delay, 1000);
        if (delay < lowest)
            lowest = delay;
        if (delay > highest)
            highest = delay;
    }
    assert_true(lowest < 600);
    assert_true(highest > 900);
}

static void test_deterministic_with_seed(void **state)
{
    (void)state;
    int64_t first[10];
    int64_t second[10];
    struct backoff b;
    srandom(42);
    backoff_init(&b, 250, 60000);
    for (int i = 0; i < 10; i++)
        first[i] = backoff_next_ms(&b);
    srandom(42);
    backoff_init(&b, 250, 60000);
    for (int i = 0; i < 10; i++)
        second[i] = backoff_next_ms(&b);
    assert_memory_equal(first, second, sizeof first);
}

static void test_cap_holds_for_many_attempts(void **state)
{
    (void)state;
    srandom(3);
    struct backoff b;
    backoff_init(&b, 500, 30000);
    for (int i = 0; i < 10000; i++) {
        int64_t delay = backoff_next_ms(&b);
        assert_true(delay >= 1 && delay <= 30000);
    }
    assert_within(backoff_next_ms(&b), 30000);
    /* a cap near the top of int64 does not overflow either */
    backoff_init(&b, 1, INT64_MAX);
    int64_t previous = 0;
    for (int i = 0; i < 200; i++) {
        int64_t delay = backoff_next_ms(&b);
        assert_true(delay >= previous / 2);
        assert_true(delay > 0);
        previous = delay;
    }
}

static void test_reset(void **state)
{
    (void)state;
    srandom(99);
    struct backoff b;
    backoff_init(&b, 100, 10000);
    for (int i = 0; i < 6; i++)
        backoff_next_ms(&b);
    assert_within(backoff_next_ms(&b), 6400);
    backoff_reset(&b);
    assert_int_equal(backoff_attempts(&b), 0);
    assert_within(backoff_next_ms(&b), 100);
    assert_within(backoff_next_ms(&b), 200);
}

static void test_init_sanitizes_bounds(void **state)
{
    (void)state;
    srandom(5);
    struct backoff b;
    backoff_init(&b, 0, 0);
    assert_int_equal(backoff_attempts(&b), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(backoff_next_ms(&b), 1);

    backoff_init(&b, 800, 100); /* max below initial: initial is the cap */
    for (int i = 0; i < 5; i++)
        assert_within(backoff_next_ms(&b), 800);

    backoff_init(&b, -5, 10); /* 1 -> 2 -> 4 -> 8 -> 10 (capped) */
    const int64_t nominal[] = {1, 2, 4, 8, 10, 10};
    assert_delays(&b, nominal, sizeof nominal / sizeof nominal[0]);
}

/* New bounds apply to the next delay; the failures so far still count. */
static void test_set_bounds_keeps_attempts(void **state)
{
    (void)state;
    srandom(17);
    struct backoff b;
    backoff_init(&b, 100, 10000);
    for (int i = 0; i < 3; i++)
        backoff_next_ms(&b);
    backoff_set_bounds(&b, 10, 50);
    assert_int_equal(backoff_attempts(&b), 3);
    assert_within(backoff_next_ms(&b), 50); /* 10 * 2^3 = 80, capped */
    assert_int_equal(backoff_attempts(&b), 4);

    backoff_set_bounds(&b, 1000, 10); /* sanitized as by backoff_init */
    assert_within(backoff_next_ms(&b), 1000);
    backoff_set_bounds(&b, 0, 0);
    assert_int_equal(backoff_next_ms(&b), 1);
    assert_int_equal(backoff_attempts(&b), 6);
}

static void test_odd_initial(void **state)
{
    (void)state;
    srandom(11);
    struct backoff b;
    backoff_init(&b, 3, 20);
    /* 3 -> [2,3], 6 -> [3,6], 12 -> [6,12], 20 (capped) -> [10,20] */
    const int64_t nominal[] = {3, 6, 12, 20, 20};
    assert_delays(&b, nominal, sizeof nominal / sizeof nominal[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_up_to_the_cap),
        cmocka_unit_test(test_delays_grow),
        cmocka_unit_test(test_jitter_spreads),
        cmocka_unit_test(test_deterministic_with_seed),
        cmocka_unit_test(test_cap_holds_for_many_attempts),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_init_sanitizes_bounds),
        cmocka_unit_test(test_odd_initial),
        cmocka_unit_test(test_set_bounds_keeps_attempts),
    };
    return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
