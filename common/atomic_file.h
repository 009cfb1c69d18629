/* atomic_file.h - replace a file so that a crash at any moment leaves either
 * the old or the new content, never a mix: temp file, fsync, rename, fsync
 * the directory. */
#ifndef ETL_ATOMIC_FILE_H
#define ETL_ATOMIC_FILE_H

#include <stddef.h>

/* Writes data to path atomically with the given mode.  Returns 0, or -1 with
 * errno set (and the temp file removed). */
int atomic_write_file(const char *path, const void *data, size_t len, unsigned mode);

/* Appends one line (data + '\n') to path and fsyncs it; used for the rejects
 * file, where every line is a whole record on its own. */
int append_line_synced(const char *path, const char *data, size_t len);

#endif
