/* index_setup.h - makes sure the Elasticsearch index exists with exactly the
 * mapping of its JSON file before any document is sent. */
#ifndef ETL_INDEX_SETUP_H
#define ETL_INDEX_SETUP_H

#include "es_client.h"

#include <jansson.h>

enum index_setup_result {
    INDEX_READY,          /* exists (or was created) with the file's mapping */
    INDEX_UNAVAILABLE,    /* no usable answer: retry later */
    INDEX_MAPPING_DIFFERS /* the live mapping is not the file's: refuse to run */
};

/* Checks or creates index from definition ({"settings":..., "mappings":...}).
 * err explains anything but INDEX_READY. */
enum index_setup_result index_setup(struct es_client *es, const char *index, json_t *definition,
                                    char *err, size_t err_size);

/* Compares the mappings of a GET /INDEX/_mapping response with the file's;
 * exposed for tests.  Returns 1 equal, 0 different, -1 unreadable. */
int index_mapping_matches(const char *response, size_t len, json_t *definition);

#endif
