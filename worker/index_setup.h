/* index_setup.h - makes sure the search index exists with exactly the
 * mapping of its JSON file before any document is sent. */
#ifndef ETL_INDEX_SETUP_H
#define ETL_INDEX_SETUP_H

#include "es_client.h"
#include "search_engine.h"

#include <jansson.h>

enum index_setup_result {
    INDEX_READY,          /* exists (or was created) with the file's mapping */
    INDEX_UNAVAILABLE,    /* no usable answer: retry later */
    INDEX_MAPPING_DIFFERS /* the live mapping is not the file's: refuse to run */
};

/* Checks or creates index from definition ({"settings":..., "mappings":...}),
 * speaking engine's dialect over es.  err explains anything but
 * INDEX_READY. */
enum index_setup_result index_setup(struct es_client *es, const struct search_engine_ops *engine,
                                    const char *index, const json_t *definition, char *err,
                                    size_t err_size);

#endif
