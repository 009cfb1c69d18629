/* config_check.h - the rules that tie several keys of the configuration
 * together (backoff ranges, wake_check_ms against poll_interval_ms, the
 * watchdog against the longest blocking step, the search engine's
 * credentials, at least one index), checked once every key has its value. */
#ifndef ETL_CONFIG_CHECK_H
#define ETL_CONFIG_CHECK_H

#include "config.h"
#include "ini_reader.h"

#include <stddef.h>

/* change_log_prune_interval_s: 0 (off), or this many seconds up to the max
 * (the key table's range; the minimum is checked across keys' values). */
#define PRUNE_INTERVAL_MIN_S 60
#define PRUNE_INTERVAL_MAX_S 86400

/* The line where [section] key is set (the last time), or 0 when it is not
 * in the file. */
int config_key_line(const struct ini_document *doc, const char *section, const char *key);

/* Checks config, every key stored (from doc or its default) and the index
 * sections loaded, against the rules across keys; an error names the key to
 * change at its line in doc.  Every rule is checked; returns 0, or -1 with
 * one message per broken rule added to errors. */
int config_check_cross_keys(struct etl_config *config, const struct ini_document *doc,
                            struct config_errors *errors);

#endif
