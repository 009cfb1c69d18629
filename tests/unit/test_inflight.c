/* test_inflight.c - the window of batches in flight: the cursor moves only
 * over the answered batches at its front, in the order they were read,
 * whatever order the answers come in. */
#include "inflight.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* Pops every batch the cursor may move over into out; returns how many. */
static size_t pop_all(struct inflight *win, size_t *out)
{
    size_t n = 0;
    size_t slot;
    while (inflight_pop(win, &slot))
        out[n++] = slot;
    return n;
}

/* Starts win with room for n batches and opens all n, into slots. */
static void open_all(struct inflight *win, size_t n, size_t *slots)
{
    inflight_init(win, n);
    for (size_t i = 0; i < n; i++)
        slots[i] = inflight_open(win);
}

static void test_in_order_answers_pop_at_once(void **state)
{
    (void)state;
    struct inflight win;
    inflight_init(&win, 3);
    assert_true(inflight_empty(&win));
    size_t a = inflight_open(&win);
    size_t b = inflight_open(&win);
    size_t popped[3];
    inflight_done(&win, a);
    assert_int_equal(pop_all(&win, popped), 1);
    assert_int_equal(popped[0], a);
    inflight_done(&win, b);
    assert_int_equal(pop_all(&win, popped), 1);
    assert_int_equal(popped[0], b);
    assert_true(inflight_empty(&win));
    inflight_free(&win);
}

static void test_out_of_order_answers_wait_for_their_predecessors(void **state)
{
    (void)state;
    struct inflight win;
    size_t s[4];
    open_all(&win, 4, s);
    assert_true(inflight_full(&win));
    size_t popped[4];
    /* The last two are answered first: nothing may move. */
    inflight_done(&win, s[3]);
    inflight_done(&win, s[2]);
    assert_int_equal(pop_all(&win, popped), 0);
    inflight_done(&win, s[1]);
    assert_int_equal(pop_all(&win, popped), 0);
    /* The first answers: all four move, in the order they were read. */
    inflight_done(&win, s[0]);
    assert_int_equal(pop_all(&win, popped), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(popped[i], s[i]);
    assert_true(inflight_empty(&win));
    inflight_free(&win);
}

static void test_a_failed_batch_keeps_everything_after_it(void **state)
{
    (void)state;
    /* Batch 1 of 0..2 never answers (it failed): 0 moves, 2 stays although
     * answered, so a restart reads from the end of 0. */
    struct inflight win;
    size_t s[3];
    open_all(&win, 3, s);
    inflight_done(&win, s[2]);
    inflight_done(&win, s[0]);
    size_t popped[3];
    assert_int_equal(pop_all(&win, popped), 1);
    assert_int_equal(popped[0], s[0]);
    assert_false(inflight_empty(&win));
    assert_int_equal(inflight_at(&win, 0), s[1]);
    assert_false(inflight_is_done(&win, s[1]));
    assert_true(inflight_is_done(&win, s[2]));
    inflight_free(&win);
}

static void test_slots_are_reused_round_the_ring(void **state)
{
    (void)state;
    struct inflight win;
    inflight_init(&win, 2);
    size_t popped[2] = {0, 0};
    for (int round = 0; round < 5; round++) {
        size_t a = inflight_open(&win);
        size_t b = inflight_open(&win);
        assert_int_not_equal(a, b);
        assert_true(a < 2 && b < 2);
        inflight_done(&win, b);
        assert_int_equal(pop_all(&win, popped), 0);
        inflight_done(&win, a);
        assert_int_equal(pop_all(&win, popped), 2);
        assert_int_equal(popped[0], a);
        assert_int_equal(popped[1], b);
        /* One batch alone, so the head moves by one round the ring. */
        size_t c = inflight_open(&win);
        inflight_done(&win, c);
        assert_int_equal(pop_all(&win, popped), 1);
        assert_int_equal(popped[0], c);
        assert_int_equal(inflight_at(&win, 0), (c + 1) % 2);
    }
    inflight_free(&win);
}

static void test_a_window_of_one(void **state)
{
    (void)state;
    struct inflight win;
    inflight_init(&win, 1);
    size_t a = inflight_open(&win);
    assert_true(inflight_full(&win));
    size_t slot;
    assert_false(inflight_pop(&win, &slot));
    inflight_done(&win, a);
    assert_true(inflight_pop(&win, &slot));
    assert_int_equal(slot, a);
    assert_false(inflight_pop(&win, &slot));
    inflight_free(&win);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_answers_pop_at_once),
        cmocka_unit_test(test_out_of_order_answers_wait_for_their_predecessors),
        cmocka_unit_test(test_a_failed_batch_keeps_everything_after_it),
        cmocka_unit_test(test_slots_are_reused_round_the_ring),
        cmocka_unit_test(test_a_window_of_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
