/* config_index.h - the [index.NAME] sections: their keys (index, mapping,
 * documents, changes) in a table, checked into struct index_config. */
#ifndef ETL_CONFIG_INDEX_H
#define ETL_CONFIG_INDEX_H

#include "config.h"
#include "ini_reader.h"
#include "util.h"

#include <stdbool.h>

/* True for a section header of the form index.NAME (NAME not checked). */
bool config_is_index_section(const char *section);

/* Checks every index section of doc into config->indices, in file order.
 * Relative paths start at config->base_dir.  Returns 0, or -1 with the
 * message per error added to errors, every section read all the same (what
 * is already stored is freed by config_free). */
int config_load_indices(struct etl_config *config, const struct ini_document *doc,
                        struct config_errors *errors);

/* Appends idx's keys to out as "index.NAME.key=value" lines, one line per
 * file of changes. */
void config_index_settings(struct buffer *out, const struct index_config *idx);

void config_index_free(struct index_config *idx);

#endif
