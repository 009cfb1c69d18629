/* test_util.c - path_join, the growable buffer, read_whole_file,
 * sleep_unless_stopped. */
#include "util.h"

#include "unit_helpers.h"

#include <limits.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_path_join(void **state)
{
    (void)state;
    char *p = path_join("/etc/etl", "sql/a.sql");
    assert_string_equal(p, "/etc/etl/sql/a.sql");
    free(p);
    p = path_join("/etc/etl", "/abs/a.sql");
    assert_string_equal(p, "/abs/a.sql");
    free(p);
    p = path_join(".", "a.sql");
    assert_string_equal(p, "./a.sql");
    free(p);
    p = path_join("", "a.sql");
    assert_string_equal(p, "a.sql");
    free(p);
    p = path_join(NULL, "a.sql");
    assert_string_equal(p, "a.sql");
    free(p);
}

static void test_buffer(void **state)
{
    (void)state;
    struct buffer buf = {0};
    buffer_append(&buf, "", 0);
    assert_non_null(buf.data);
    assert_int_equal(buf.len, 0);
    assert_string_equal(buf.data, "");
    buffer_append_str(&buf, "hello");
    buffer_append(&buf, ", world!!!", 7);
    assert_string_equal(buf.data, "hello, world");
    assert_int_equal(buf.len, 12);
    for (int i = 0; i < 1000; i++)
        buffer_append_str(&buf, "0123456789");
    assert_int_equal(buf.len, 10012);
    assert_int_equal(strlen(buf.data), 10012);
    assert_true(buf.cap > buf.len);
    size_t cap = buf.cap;
    buffer_reset(&buf);
    assert_int_equal(buf.len, 0);
    assert_string_equal(buf.data, "");
    assert_int_equal(buf.cap, cap);
    buffer_free(&buf);
    assert_null(buf.data);
    assert_int_equal(buf.len, 0);
    assert_int_equal(buf.cap, 0);
    buffer_reset(&buf); /* on an empty buffer: harmless */
    buffer_free(&buf);
}

static void test_xasprintf(void **state)
{
    (void)state;
    UT_ASSERT_STRING_FREE(xasprintf("%s-%d-%05.1f", "a", 42, 3.25), "a-42-003.2");
}

static void test_read_whole_file(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    ut_make_temp_dir(dir, sizeof dir);
    char *path = ut_temp_file(dir, "line one\nline two\n");
    size_t len = 0;
    char *text = read_whole_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, 18);
    assert_string_equal(text, "line one\nline two\n");
    free(text);
    free(path);

    path = ut_temp_file(dir, "");
    text = read_whole_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    text = read_whole_file(path, NULL);
    assert_non_null(text);
    free(text);
    free(path);

    char missing[PATH_MAX + 32];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    errno = 0;
    assert_null(read_whole_file(missing, &len));
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_null(read_whole_file(dir, &len)); /* a directory */
    assert_true(errno != 0);
    ut_remove_tree(dir);
}

static void test_sleep_unless_stopped(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 0;
    int64_t start = monotonic_ms();
    assert_true(sleep_unless_stopped(120, &stop));
    int64_t took = monotonic_ms() - start;
    assert_true(took >= 120);
    assert_true(took < 2000);

    stop = 1;
    start = monotonic_ms();
    assert_false(sleep_unless_stopped(60000, &stop));
    assert_true(monotonic_ms() - start < 100);

    assert_true(sleep_unless_stopped(0, NULL));
    assert_true(sleep_unless_stopped(-5, NULL));
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t a = monotonic_ms();
    int64_t b = monotonic_ms();
    assert_true(b >= a);
    /* after 2020-01-01 and before 2100-01-01 */
    int64_t now = wall_clock_ms();
    assert_true(now > INT64_C(1577836800000));
    assert_true(now < INT64_C(4102444800000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_xasprintf),
        cmocka_unit_test(test_read_whole_file),
        cmocka_unit_test(test_sleep_unless_stopped),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
