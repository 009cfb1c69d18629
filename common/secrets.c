/* secrets.c - see secrets.h. */
#include "secrets.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        return text;
    }
    const char *env = env_name != NULL ? getenv(env_name) : NULL;
    return env != NULL && env[0] != '\0' ? xstrdup(env) : NULL;
}
