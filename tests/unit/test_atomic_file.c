/* test_atomic_file.c - atomic_write_file and append_line_synced. */
#include "atomic_file.h"

#include "util.h"

#include "unit_helpers.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static char tmp_dir[PATH_MAX];
static mode_t saved_umask;

/* Each test gets an empty directory. */
static int setup(void **state)
{
    (void)state;
    saved_umask = umask(022);
    ut_make_temp_dir(tmp_dir, sizeof tmp_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ut_remove_tree(tmp_dir);
    umask(saved_umask);
    return 0;
}

/* tmp_dir/name into buf. */
static const char *in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp_dir, name);
    return buf;
}

/* The whole content of path, which must exist. */
static void assert_file_content(const char *path, const char *expected, size_t expected_len)
{
    size_t len = 0;
    char *text = read_whole_file(path, &len);
    if (text == NULL)
        fail_msg("cannot read %s: %s", path, strerror(errno));
    assert_int_equal(len, expected_len);
    assert_memory_equal(text, expected, expected_len);
    free(text);
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

static void test_writes_content(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "movies.state");
    const char data[] = "{\"version\":1}\n";
    assert_int_equal(atomic_write_file(path, data, strlen(data), 0640), 0);
    assert_file_content(path, data, strlen(data));
    assert_int_equal(file_mode(path), 0640);
    assert_int_equal(ut_count_entries(tmp_dir), 1); /* no temp file left */
}

static void test_binary_and_empty_content(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "blob");
    const char data[] = {'a', '\0', 'b', '\n', '\xff'};
    assert_int_equal(atomic_write_file(path, data, sizeof data, 0600), 0);
    assert_file_content(path, data, sizeof data);
    assert_int_equal(atomic_write_file(path, "", 0, 0600), 0);
    assert_file_content(path, "", 0);
    assert_int_equal(ut_count_entries(tmp_dir), 1);
}

static void test_large_content(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "large");
    size_t len = 3 * 1024 * 1024 + 17;
    char *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    assert_int_equal(atomic_write_file(path, data, len, 0644), 0);
    assert_file_content(path, data, len);
    free(data);
}

static void test_replaces_existing(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "movies.state");
    ut_write_file(path, "old content that is longer than the new one\n");
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(atomic_write_file(path, "new\n", 4, 0600), 0);
    assert_file_content(path, "new\n", 4);
    assert_int_equal(file_mode(path), 0600);
    struct stat after;
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino); /* a new file renamed over it */
    assert_int_equal(ut_count_entries(tmp_dir), 1);

    /* again and again: still one file, the last content */
    for (int i = 0; i < 20; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "round %d\n", i);
        assert_int_equal(atomic_write_file(path, text, (size_t)n, 0640), 0);
        assert_file_content(path, text, (size_t)n);
    }
    assert_int_equal(file_mode(path), 0640);
    assert_int_equal(ut_count_entries(tmp_dir), 1);
}

static void test_mode(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "public");
    assert_int_equal(atomic_write_file(path, "x", 1, 0644), 0);
    assert_int_equal(file_mode(path), 0644);
    in_dir(path, sizeof path, "private");
    assert_int_equal(atomic_write_file(path, "x", 1, 0600), 0);
    assert_int_equal(file_mode(path), 0600);
    /* the umask still applies */
    in_dir(path, sizeof path, "masked");
    mode_t old = umask(077);
    int rc = atomic_write_file(path, "x", 1, 0644);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(file_mode(path), 0600);
}

static void test_missing_directory_fails(void **state)
{
    (void)state;
    char dir[PATH_MAX + 64];
    in_dir(dir, sizeof dir, "no-such-dir");
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/movies.state", dir);
    errno = 0;
    assert_int_equal(atomic_write_file(path, "x", 1, 0640), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(ut_count_entries(tmp_dir), 0); /* nothing created */
}

static void test_target_is_a_directory_fails_cleanly(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "occupied");
    assert_int_equal(mkdir(path, 0755), 0);
    errno = 0;
    assert_int_equal(atomic_write_file(path, "x", 1, 0640), -1);
    assert_int_equal(errno, EISDIR);
    /* only the directory: the temp file was removed */
    assert_int_equal(ut_count_entries(tmp_dir), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_append_line_synced(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "movies.rejects");
    const char *first = "{\"id\":\"1\",\"error\":\"x\"}";
    assert_int_equal(append_line_synced(path, first, strlen(first)), 0);
    assert_int_equal(file_mode(path), 0640);
    assert_file_content(path, "{\"id\":\"1\",\"error\":\"x\"}\n", strlen(first) + 1);
    /* only len bytes are taken */
    assert_int_equal(append_line_synced(path, "second line, and junk", 11), 0);
    assert_int_equal(append_line_synced(path, "", 0), 0);
    const char *expected = "{\"id\":\"1\",\"error\":\"x\"}\nsecond line\n\n";
    assert_file_content(path, expected, strlen(expected));
}

static void test_append_keeps_existing_content(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "existing");
    ut_write_file(path, "old\n");
    assert_int_equal(append_line_synced(path, "new", 3), 0);
    assert_file_content(path, "old\nnew\n", 8);
}

static void test_append_missing_directory_fails(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    in_dir(path, sizeof path, "nowhere/movies.rejects");
    errno = 0;
    assert_int_equal(append_line_synced(path, "x", 1), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(ut_count_entries(tmp_dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_empty_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaces_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_is_a_directory_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_line_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_keeps_existing_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_missing_directory_fails, setup, teardown),
    };
    return cmocka_run_group_tests_name("atomic_file", tests, NULL, NULL);
}
