/* fuzz_helpers.h - what several libFuzzer targets share: the entry point's
 * prototype, a NUL-terminated copy of the input, a temp file for the
 * parsers that read a path, and the input split into lines.  Header-only (static inline): each
 * target is one translation unit, as the Makefile builds them. */
#ifndef ETL_FUZZ_HELPERS_H
#define ETL_FUZZ_HELPERS_H

#include "line_buffer.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libFuzzer's entry points (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A malloc'ed copy of data with a NUL after it (embedded NULs stay, so a
 * C-string parser sees the text up to the first one). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        abort();
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Creates an empty temp file named after prefix (once per process) and
 * returns its path; aborts when it cannot, since no input could be run. */
static inline const char *fuzz_temp_path(const char *prefix)
{
    static char path[256];
    if (path[0] != '\0')
        return path;
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/%s-XXXXXX", dir != NULL && dir[0] ? dir : "/tmp", prefix);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    close(fd);
    return path;
}

/* Writes the input to path, replacing what was there; aborts on failure. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    if (file == NULL || (size > 0 && fwrite(data, 1, size, file) != size) || fclose(file) != 0) {
        perror(path);
        abort();
    }
}

/* Splits the input into lines of at most max_line bytes as the programs
 * split what they read (line_buffer), and hands each to handler. */
static inline void fuzz_each_line(const uint8_t *data, size_t size, size_t max_line,
                                  line_handler handler)
{
    struct line_buffer lb;
    line_buffer_init(&lb, max_line);
    line_buffer_feed(&lb, (const char *)data, size, handler, NULL);
    line_buffer_finish(&lb, handler, NULL);
    line_buffer_free(&lb);
}

#endif
