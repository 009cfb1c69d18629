/* mapping_file.h - an index's mapping file ([index.NAME] mapping): the
 * index's settings and mappings as JSON, read by the worker to create its
 * indices and by etl-supervisor --check. */
#ifndef ETL_MAPPING_FILE_H
#define ETL_MAPPING_FILE_H

#include <jansson.h>
#include <stddef.h>

/* Reads a mapping file: NULL ("PATH:LINE: reason" in err) unless a JSON
 * object with a "mappings" object. */
json_t *mapping_file_read(const char *path, char *err, size_t err_size);

#endif
