/* util.h - small helpers shared by every program: clocks, sleeping that a
 * signal cuts short, whole-file reads, checked allocation. */
#ifndef ETL_UTIL_H
#define ETL_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock (for durations and deadlines). */
int64_t monotonic_ms(void);
/* Milliseconds since the epoch (for timestamps shown to people). */
int64_t wall_clock_ms(void);

/* Sleeps ms milliseconds or until *stop becomes non-zero (checked at least
 * every 100 ms, and at once when a signal interrupts the sleep).  Returns
 * false when it was stopped. */
bool sleep_unless_stopped(int64_t ms, const volatile sig_atomic_t *stop);

/* Reads a whole file into a NUL-terminated buffer (caller frees); NULL with
 * errno set on failure.  *len, when not NULL, gets the size. */
char *read_whole_file(const char *path, size_t *len);

/* malloc/calloc/realloc/strdup that abort on exhaustion: a daemon that cannot
 * allocate a few bytes has nothing better to do, and the supervisor restarts
 * it. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *text);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Joins dir and path unless path is absolute; a new string. */
char *path_join(const char *dir, const char *path);

/* A growable byte buffer, always NUL-terminated. */
struct buffer {
    char *data;
    size_t len;
    size_t cap;
};
void buffer_append(struct buffer *buf, const char *data, size_t len);
void buffer_append_str(struct buffer *buf, const char *text);
void buffer_reset(struct buffer *buf);
void buffer_free(struct buffer *buf);

#endif
