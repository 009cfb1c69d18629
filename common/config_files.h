/* config_files.h - the files a loaded configuration names, checked without
 * connecting anywhere (etl-supervisor --check): each index's mapping file
 * parsed, its SQL files read, the secret files (password_file,
 * api_key_file) read, the TLS files readable. */
#ifndef ETL_CONFIG_FILES_H
#define ETL_CONFIG_FILES_H

#include "config.h"

/* Checks every file config names (keys left unset by a load that failed
 * are skipped), adding "FILE:LINE: KEY: REASON" to errors for each problem,
 * FILE and LINE those of the key in the configuration.  Returns 0, or -1
 * when it added any. */
int config_check_files(const struct etl_config *config, struct config_errors *errors);

#endif
