/* worker_path.c - see worker_path.h. */
#include "worker_path.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The worker's file name, looked for beside the running program by default. */
#define WORKER_PROGRAM "etl-worker"

char *resolve_worker_path(const struct etl_config *config, char *err, size_t err_size)
{
    char *path;
    if (config->worker_path[0] != '\0') {
        path = xstrdup(config->worker_path);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0) {
            snprintf(err, err_size, "%s:0: worker_path: empty, and /proc/self/exe: %s",
                     config->path, strerror(errno));
            return NULL;
        }
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        path = xasprintf("%.*s/%s", slash != NULL ? (int)(slash - self) : 1,
                         slash != NULL ? self : ".", WORKER_PROGRAM);
    }
    if (access(path, X_OK) < 0) {
        snprintf(err, err_size, "%s:0: worker_path: %s is not an executable file: %s", config->path,
                 path, strerror(errno));
        free(path);
        return NULL;
    }
    return path;
}
