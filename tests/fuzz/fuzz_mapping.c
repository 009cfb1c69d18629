/* fuzz_mapping.c - mapping_matches of the es_dialect: a GET /INDEX/_mapping
 * answer compared with a mapping file.  The input is the answer, then a NUL
 * byte, then the file (the shipped movies mapping's shape when that part is
 * not JSON).  The answer { "<index>": { "mappings": M } } against
 * { "mappings": M } of the same M must match. */
#include "search_engine.h"

#include "fuzz_helpers.h"

/* Used when the input has no usable mapping file part. */
static const char default_definition[] =
    "{\"settings\":{\"number_of_shards\":1},\"mappings\":{\"dynamic\":\"strict\","
    "\"properties\":{\"id\":{\"type\":\"keyword\"},\"title\":{\"type\":\"text\"}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t response_len = nul != NULL ? (size_t)(nul - data) : size;
    json_error_t error;
    json_t *definition = NULL;
    if (nul != NULL)
        definition = json_loadb((const char *)nul + 1, size - response_len - 1, 0, &error);
    if (definition == NULL)
        definition = json_loads(default_definition, 0, &error);
    int match = es_dialect.mapping_matches((const char *)data, response_len, definition);
    if (match < -1 || match > 1)
        abort();
    /* The definition's own mappings, as the server would answer them. */
    json_t *mappings = json_object_get(definition, "mappings");
    if (mappings != NULL) {
        json_t *answer = json_pack("{s:{s:O}}", "movies_v1", "mappings", mappings);
        char *text = json_dumps(answer, JSON_COMPACT);
        if (es_dialect.mapping_matches(text, strlen(text), definition) != 1)
            abort();
        free(text);
        json_decref(answer);
    }
    json_decref(definition);
    return 0;
}
