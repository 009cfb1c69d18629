/* secrets.c - see secrets.h. */
#include "secrets.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool secret_is_placeholder(const char *secret)
{
    return secret != NULL &&
           strncmp(secret, SECRET_PLACEHOLDER_PREFIX, strlen(SECRET_PLACEHOLDER_PREFIX)) == 0;
}

/* Reads only the first bytes, and only of a regular file: this runs at every
 * configuration load, where a FIFO or a device named by mistake must neither
 * block nor fill memory (reading the secret itself is left to the connection,
 * which reports what is wrong with the file). */
bool config_secret_is_placeholder(const char *file, const char *env_name)
{
    if (file != NULL && file[0] != '\0') {
        int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return false;
        struct stat st;
        char head[sizeof SECRET_PLACEHOLDER_PREFIX] = "";
        ssize_t got = -1;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            got = read(fd, head, sizeof head - 1);
        close(fd);
        if (got < (ssize_t)(sizeof head - 1))
            return false;
        head[got] = '\0';
        return secret_is_placeholder(head);
    }
    return env_name != NULL && secret_is_placeholder(getenv(env_name));
}

/* An unreadable file is an error even when env_name is set: falling back
 * silently would connect with a password nobody meant. */
char *config_read_secret(const char *file, const char *env_name, bool *failed, char *err,
                         size_t err_size)
{
    *failed = false;
    if (file != NULL && file[0] != '\0') {
        char *text = read_whole_file(file, NULL);
        if (text == NULL) {
            snprintf(err, err_size, "%s: cannot read password file: %s", file, strerror(errno));
            *failed = true;
            return NULL;
        }
        text[strcspn(text, "\r\n")] = '\0';
        if (secret_is_placeholder(text)) {
            snprintf(err, err_size, "%s: " SECRET_PLACEHOLDER_REASON, file);
            memset(text, 0, strlen(text));
            free(text);
            *failed = true;
            return NULL;
        }
        return text;
    }
    const char *env = env_name != NULL ? getenv(env_name) : NULL;
    if (secret_is_placeholder(env)) {
        snprintf(err, err_size, "%s: " SECRET_PLACEHOLDER_REASON, env_name);
        *failed = true;
        return NULL;
    }
    return env != NULL && env[0] != '\0' ? xstrdup(env) : NULL;
}
