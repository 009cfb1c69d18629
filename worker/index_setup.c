/* index_setup.c - see index_setup.h. */
#include "index_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The response is {"<concrete index>": {"mappings": {...}}}: compare the
 * one index's mappings with the file's, ignoring key order. */
int index_mapping_matches(const char *response, size_t len, json_t *definition)
{
    json_error_t error;
    json_t *root = json_loadb(response, len, 0, &error);
    if (!json_is_object(root) || json_object_size(root) != 1) {
        json_decref(root);
        return -1;
    }
    json_t *live = json_object_get(json_object_iter_value(json_object_iter(root)), "mappings");
    if (live == NULL) {
        json_decref(root);
        return -1;
    }
    int equal = json_equal(live, json_object_get(definition, "mappings")) ? 1 : 0;
    json_decref(root);
    return equal;
}

/* GET the mapping; 404 -> PUT the index; 200 -> compare. */
enum index_setup_result index_setup(struct es_client *es, const char *index, json_t *definition,
                                    char *err, size_t err_size)
{
    char *path = xasprintf("/%s/_mapping", index);
    long status = es_request(es, "GET", path, NULL, 0, false);
    free(path);
    if (status == 200) {
        int match = index_mapping_matches(es->response.data, es->response.len, definition);
        if (match == 1)
            return INDEX_READY;
        snprintf(err, err_size,
                 match == 0 ? "the live mapping of %s differs from its file"
                            : "unreadable mapping response for %s",
                 index);
        return match == 0 ? INDEX_MAPPING_DIFFERS : INDEX_UNAVAILABLE;
    }
    if (status != 404) {
        if (status < 0)
            snprintf(err, err_size, "GET /%s/_mapping: %s", index, es->err);
        else
            snprintf(err, err_size, "GET /%s/_mapping: unexpected status %ld", index, status);
        return INDEX_UNAVAILABLE;
    }
    char *body = json_dumps(definition, JSON_COMPACT);
    char *put_path = xasprintf("/%s", index);
    status = es_request(es, "PUT", put_path, body, strlen(body), false);
    free(put_path);
    free(body);
    if (status == 200)
        return INDEX_READY;
    /* Another process may have created it in between: check it next time. */
    snprintf(err, err_size, "creating index %s: %s %ld: %.200s", index,
             status < 0 ? es->err : "status", status, es->response.data ? es->response.data : "");
    return INDEX_UNAVAILABLE;
}
