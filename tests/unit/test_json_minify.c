/* test_json_minify.c - one JSON text on one line, values byte for byte. */
#include "json_minify.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

/* Minifies text and compares with want. */
static void expect_minified(const char *text, const char *want)
{
    char *got = json_minify(text, strlen(text));
    assert_string_equal(got, want);
    free(got);
}

static void test_pretty_printed_becomes_one_line(void **state)
{
    (void)state;
    expect_minified("{\n    \"a\": 1,\r\n\t\"b\": [1, 2]\n}\n", "{\"a\":1,\"b\":[1,2]}");
}

static void test_numbers_are_kept_as_printed(void **state)
{
    (void)state;
    /* what a JSON library would print differently, or refuse */
    expect_minified("{\"r\": 8.1, \"big\": 123456789012345678901234567890, \"e\": 1.50E+3}",
                    "{\"r\":8.1,\"big\":123456789012345678901234567890,\"e\":1.50E+3}");
}

static void test_strings_are_copied_whole(void **state)
{
    (void)state;
    expect_minified("{\"t\": \"a  b\\\" }  { \\\\\", \"u\": \"\\u00e9 \\n x\"}",
                    "{\"t\":\"a  b\\\" }  { \\\\\",\"u\":\"\\u00e9 \\n x\"}");
}

static void test_length_not_nul_bounds_the_input(void **state)
{
    (void)state;
    char *got = json_minify("[1, 2]  trailing", 6);
    assert_string_equal(got, "[1,2]");
    free(got);
}

/* Found by fuzz_json_minify: jansson takes a NUL byte after a number as
 * valid, and a NUL kept in the output cut the document short there. */
static void test_nul_after_number_is_dropped(void **state)
{
    (void)state;
    static const char text[] = "{\"i\":9\0, \"no\": true}";
    char *got = json_minify(text, sizeof text - 1);
    assert_string_equal(got, "{\"i\":9,\"no\":true}");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pretty_printed_becomes_one_line),
        cmocka_unit_test(test_numbers_are_kept_as_printed),
        cmocka_unit_test(test_strings_are_copied_whole),
        cmocka_unit_test(test_length_not_nul_bounds_the_input),
        cmocka_unit_test(test_nul_after_number_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
