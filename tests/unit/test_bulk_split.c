/* test_bulk_split.c - bulk requests bounded by bytes: what fits in one
 * request, halving after a 413, the size of one action's lines, and the
 * reasons written to the rejects file. */
#include "bulk_split.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_fit_takes_what_fits_in_order(void **state)
{
    (void)state;
    const size_t sizes[] = {40, 30, 30, 10};
    assert_int_equal(bulk_split_fit(sizes, 4, 100), 3);
    assert_int_equal(bulk_split_fit(sizes, 4, 110), 4);
    assert_int_equal(bulk_split_fit(sizes, 4, 69), 1);
    assert_int_equal(bulk_split_fit(sizes + 3, 1, 10), 1);
    assert_int_equal(bulk_split_fit(sizes, 0, 100), 0);
}

static void test_fit_zero_when_the_first_is_too_large(void **state)
{
    (void)state;
    const size_t sizes[] = {101, 1};
    assert_int_equal(bulk_split_fit(sizes, 2, 100), 0);
    assert_int_equal(bulk_split_fit(sizes + 1, 1, 100), 1);
}

static void test_fit_never_overflows(void **state)
{
    (void)state;
    const size_t sizes[] = {90, (size_t)-1 / 2, (size_t)-1};
    assert_int_equal(bulk_split_fit(sizes, 3, 100), 1);
}

static void test_half(void **state)
{
    (void)state;
    assert_int_equal(bulk_split_half(2), 1);
    assert_int_equal(bulk_split_half(3), 1);
    assert_int_equal(bulk_split_half(500), 250);
    assert_int_equal(bulk_split_half(1), 1);
}

static void test_action_bytes_are_the_built_lines(void **state)
{
    (void)state;
    const struct bulk_action actions[] = {{"abc", "{\"a\":1}", 0}, {"de", NULL, 0}};
    struct buffer body = {0};
    es_dialect.bulk_build(&body, "movies", actions, 2);
    size_t first = bulk_action_bytes(&es_dialect, "movies", &actions[0]);
    size_t second = bulk_action_bytes(&es_dialect, "movies", &actions[1]);
    assert_int_equal(first + second, body.len);
    assert_int_equal(first, strlen("{\"index\":{\"_index\":\"movies\",\"_id\":\"abc\"}}\n"
                                   "{\"a\":1}\n"));
    buffer_free(&body);
}

/* The reason names both numbers and the key to raise. */
static void test_oversize_error_says_size_and_limit(void **state)
{
    (void)state;
    char *text = bulk_split_oversize_error(20971600, 10485760);
    json_error_t error;
    json_t *root = json_loads(text, 0, &error);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "type")), "document_too_large");
    const char *reason = json_string_value(json_object_get(root, "reason"));
    assert_non_null(strstr(reason, "20971600"));
    assert_non_null(strstr(reason, "10485760"));
    assert_non_null(strstr(reason, "bulk_max_bytes"));
    json_decref(root);
    free(text);
    text = bulk_split_refused_error(2000000);
    root = json_loads(text, 0, &error);
    assert_non_null(root);
    assert_non_null(strstr(json_string_value(json_object_get(root, "reason")), "413"));
    json_decref(root);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_takes_what_fits_in_order),
        cmocka_unit_test(test_fit_zero_when_the_first_is_too_large),
        cmocka_unit_test(test_fit_never_overflows),
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_action_bytes_are_the_built_lines),
        cmocka_unit_test(test_oversize_error_says_size_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
