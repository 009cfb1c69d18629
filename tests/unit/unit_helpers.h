/* unit_helpers.h - what the cmocka unit tests share: temp directories and
 * files, and the assertions more than one test makes.  Header-only (static
 * inline, and macros where a failure should name the caller's line) so
 * that every tests/unit/test_NAME.c stays one translation unit, as the
 * Makefile builds them.  Include it after cmocka.h. */
#ifndef ETL_UNIT_HELPERS_H
#define ETL_UNIT_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) into buf; aborts on
 * failure, since no test can run without it. */
static inline void ut_make_temp_dir(char *buf, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(buf, size, "%s/etl-unit-XXXXXX", base);
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

/* nftw callback: removes one entry. */
static inline int ut_remove_entry(const char *path, const struct stat *st, int flag,
                                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path. */
static inline void ut_remove_tree(const char *path)
{
    nftw(path, ut_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to path (truncating); aborts on failure. */
static inline void ut_write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    if (file == NULL || fputs(text, file) == EOF || fclose(file) != 0) {
        perror(path);
        abort();
    }
}

/* Writes text to a new file named by mkstemp in dir; returns its path
 * (malloc'ed). */
static inline char *ut_temp_file(const char *dir, const char *text)
{
    size_t size = strlen(dir) + 32;
    char *path = malloc(size);
    if (path == NULL)
        abort();
    snprintf(path, size, "%s/file-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Asserts that got, a string the code under test malloc'ed, is want, then
 * frees it.  A macro, so that a failure names the test's line. */
#define UT_ASSERT_STRING_FREE(got, want)                                                           \
    do {                                                                                           \
        char *ut_got_ = (got);                                                                     \
        assert_string_equal(ut_got_, (want));                                                      \
        free(ut_got_);                                                                             \
    } while (0)

/* Number of entries in dir, "." and ".." aside; -1 when it cannot be read. */
static inline int ut_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int count = 0;
    const struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    }
    closedir(d);
    return count;
}

#endif
