/* log_file.c - see log_file.h. */
#include "log_file.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Permissions of new log files and of a log directory the supervisor
 * creates: the owner writes, the group reads. */
#define LOG_FILE_MODE 0640
#define LOG_DIR_MODE  0750

/* O_APPEND, so a line lands whole at the end even if someone else writes. */
void log_file_open(struct log_file *file, const char *dir, const char *name)
{
    *file = (struct log_file){.fd = -1};
    if (dir == NULL || dir[0] == '\0')
        return;
    char *path = xasprintf("%s/%s.log", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, LOG_FILE_MODE);
    if (fd < 0) {
        struct log_line *line = log_begin(LOG_ERROR, "cannot open log file");
        log_str(line, "path", path);
        log_str(line, "error", strerror(errno));
        log_end(line);
        free(path);
        return;
    }
    file->fd = fd;
    file->path = path;
}

void log_file_close(struct log_file *file)
{
    if (file->fd >= 0)
        close(file->fd);
    free(file->path);
    *file = (struct log_file){.fd = -1};
}

/* One write per line; see log_file.h. */
void write_line(int fd, const char *data, size_t len)
{
    ssize_t n;
    do {
        n = write(fd, data, len);
    } while (n < 0 && errno == EINTR);
}

/* mkdir unless it exists. */
void log_dir_create(const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return;
    if (mkdir(dir, LOG_DIR_MODE) < 0 && errno != EEXIST) {
        struct log_line *line = log_begin(LOG_ERROR, "cannot create log_dir");
        log_str(line, "path", dir);
        log_str(line, "error", strerror(errno));
        log_end(line);
    }
}
