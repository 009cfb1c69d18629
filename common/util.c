/* util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads a clock in milliseconds. */
static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t wall_clock_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/* Sleeps in slices of at most 100 ms so a stop request is seen promptly even
 * when the signal arrived just before nanosleep started. */
bool sleep_unless_stopped(int64_t ms, const volatile sig_atomic_t *stop)
{
    int64_t deadline = monotonic_ms() + ms;
    for (;;) {
        if (stop != NULL && *stop)
            return false;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            return true;
        if (left > 100)
            left = 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

char *read_whole_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    struct buffer buf = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0)
        buffer_append(&buf, chunk, n);
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        buffer_free(&buf);
        errno = EIO;
        return NULL;
    }
    if (buf.data == NULL)
        buffer_append(&buf, "", 0);
    if (len != NULL)
        *len = buf.len;
    return buf.data;
}

/* Aborts with a message: out of memory. */
static void out_of_memory(void)
{
    fputs("fatal: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t size)
{
    void *ptr = malloc(size ? size : 1);
    if (ptr == NULL)
        out_of_memory();
    return ptr;
}

void *xcalloc(size_t count, size_t size)
{
    void *ptr = calloc(count ? count : 1, size ? size : 1);
    if (ptr == NULL)
        out_of_memory();
    return ptr;
}

void *xrealloc(void *ptr, size_t size)
{
    void *grown = realloc(ptr, size ? size : 1);
    if (grown == NULL)
        out_of_memory();
    return grown;
}

char *xstrdup(const char *text)
{
    char *copy = strdup(text);
    if (copy == NULL)
        out_of_memory();
    return copy;
}

char *xasprintf(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, args);
    va_end(args);
    if (n < 0)
        out_of_memory();
    return text;
}

/* dir/path, or path itself when absolute. */
char *path_join(const char *dir, const char *path)
{
    if (path[0] == '/' || dir == NULL || dir[0] == '\0')
        return xstrdup(path);
    return xasprintf("%s/%s", dir, path);
}

/* Appends len bytes, growing geometrically. */
void buffer_append(struct buffer *buf, const char *data, size_t len)
{
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len + 1)
            cap *= 2;
        buf->data = xrealloc(buf->data, cap);
        buf->cap = cap;
    }
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void buffer_append_str(struct buffer *buf, const char *text)
{
    buffer_append(buf, text, strlen(text));
}

/* Empties the buffer, keeping its memory. */
void buffer_reset(struct buffer *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

void buffer_free(struct buffer *buf)
{
    free(buf->data);
    *buf = (struct buffer){0};
}
