/* log_file.h - where the supervisor writes a worker's output lines besides
 * stdout (output.h): when log_dir is set, one write(2) per line to
 * log_dir/NAME.log, which is reopened on SIGHUP and "etlctl reopen-logs" so
 * logrotate can move it. */
#ifndef ETL_LOG_FILE_H
#define ETL_LOG_FILE_H

#include <stddef.h>

struct log_file {
    int fd;     /* -1 when there is no file */
    char *path; /* NULL when there is no file */
};

/* Opens (creating it 0640) dir/name.log for appending; dir NULL or "" means
 * no file.  A failure is logged and leaves no file: lines still reach
 * stdout. */
void log_file_open(struct log_file *file, const char *dir, const char *name);
/* Closes the file (if any). */
void log_file_close(struct log_file *file);

/* Writes len bytes with one write(2) (retried on EINTR only: a short write
 * to a full disk is not finished later, so lines never get glued). */
void write_line(int fd, const char *data, size_t len);

/* Creates dir (0750) when it does not exist; logs a failure. */
void log_dir_create(const char *dir);

#endif
