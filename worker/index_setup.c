/* index_setup.c - see index_setup.h. */
#include "index_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET the mapping; 404 -> PUT the index; 200 -> compare. */
enum index_setup_result index_setup(struct es_client *es, const struct search_engine_ops *engine,
                                    const char *index, const json_t *definition, char *err,
                                    size_t err_size)
{
    char *path = engine->mapping_path(index);
    long status = es_request(es, "GET", path, NULL, 0, false);
    if (status != 200 && status != 404) {
        if (status < 0)
            snprintf(err, err_size, "GET %s: %s", path, es->err);
        else
            snprintf(err, err_size, "GET %s: unexpected status %ld", path, status);
    }
    free(path);
    if (status == 200) {
        int match = engine->mapping_matches(es->response.data, es->response.len, definition);
        if (match == 1)
            return INDEX_READY;
        snprintf(err, err_size,
                 match == 0 ? "the live mapping of %s differs from its file"
                            : "unreadable mapping response for %s",
                 index);
        return match == 0 ? INDEX_MAPPING_DIFFERS : INDEX_UNAVAILABLE;
    }
    if (status != 404)
        return INDEX_UNAVAILABLE;
    char *body = engine->create_body(definition);
    char *put_path = engine->create_path(index);
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
