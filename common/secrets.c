/* secrets.c - see secrets.h. */
#include "secrets.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool secret_is_placeholder(const char *secret)
{
    return secret != NULL &&
           strncmp(secret, SECRET_PLACEHOLDER_PREFIX, strlen(SECRET_PLACEHOLDER_PREFIX)) == 0;
}

bool config_secret_is_placeholder(const char *file, const char *env_name)
{
    if (file != NULL && file[0] != '\0') {
        char *text = read_whole_file(file, NULL);
        if (text == NULL)
            return false;
        text[strcspn(text, "\r\n")] = '\0';
        bool placeholder = secret_is_placeholder(text);
        memset(text, 0, strlen(text));
        free(text);
        return placeholder;
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
