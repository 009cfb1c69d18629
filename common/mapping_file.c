/* mapping_file.c - see mapping_file.h. */
#include "mapping_file.h"

#include <stdio.h>

/* Parses the file with jansson and checks its shape; the line of a JSON
 * error is named when jansson knows it. */
json_t *mapping_file_read(const char *path, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *definition = json_load_file(path, 0, &json_err);
    if (!json_is_object(definition) || !json_is_object(json_object_get(definition, "mappings"))) {
        if (definition != NULL)
            snprintf(err, err_size, "%s: no \"mappings\" object", path);
        else if (json_err.line > 0)
            snprintf(err, err_size, "%s:%d: %s", path, json_err.line, json_err.text);
        else
            snprintf(err, err_size, "%s: %s", path, json_err.text);
        json_decref(definition);
        return NULL;
    }
    return definition;
}
