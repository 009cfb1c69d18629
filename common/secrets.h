/* secrets.h - passwords named by the configuration: read when a connection
 * is made, never stored in struct etl_config, never put into a message. */
#ifndef ETL_SECRETS_H
#define ETL_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a secret: the first line of file when file is set, else the
 * environment variable env_name (NULL: none); NULL when neither is set.  Fills err
 * (without the secret) and returns NULL on a read error or a placeholder
 * secret, setting *failed. */
char *config_read_secret(const char *file, const char *env_name, bool *failed, char *err,
                         size_t err_size);

/* The prefix of the placeholder secrets in compose/.env.example and the docs
 * ("change-me-etl", ...): a secret that starts with it was never set. */
#define SECRET_PLACEHOLDER_PREFIX "change-me"

/* True when secret is one of those placeholders. */
bool secret_is_placeholder(const char *secret);

/* True when the secret config_read_secret would read from file or env_name
 * is a placeholder.  An unreadable file is not: that is reported when the
 * secret is read for a connection. */
bool config_secret_is_placeholder(const char *file, const char *env_name);

/* The message for a placeholder secret, after "KEY: " (the secret itself is
 * never in it). */
#define SECRET_PLACEHOLDER_REASON "placeholder secret, set a real one"

#endif
