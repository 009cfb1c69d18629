/* secrets.h - passwords named by the configuration: read when a connection
 * is made, never stored in struct etl_config, never put into a message. */
#ifndef ETL_SECRETS_H
#define ETL_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Reads a secret: the first line of file when file is set, else the
 * environment variable env_name (NULL: none); NULL when neither is set.  Fills err
 * (without the secret) and returns NULL on a read error, setting *failed. */
char *config_read_secret(const char *file, const char *env_name, bool *failed, char *err,
                         size_t err_size);

#endif
