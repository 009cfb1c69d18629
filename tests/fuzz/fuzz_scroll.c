/* fuzz_scroll.c - scroll_parse of the es_dialect (the sweep's and verify's
 * pages of ids, with or without each hit's _source) on any body: read,
 * every id and the scroll id are strings and there is one _source a hit;
 * refused, nothing is left allocated.  A page read with its sources reads
 * without them too. */
#include "search_engine.h"

#include "fuzz_helpers.h"

/* Parses data, wanting the sources or not; aborts on a broken result.
 * Returns what scroll_parse returned. */
static int parse_page(const uint8_t *data, size_t size, bool with_sources)
{
    char *scroll_id = NULL;
    char **ids = NULL;
    size_t count = 0;
    json_t *sources = NULL;
    int rc = es_dialect.scroll_parse((const char *)data, size, &scroll_id, &ids, &count,
                                     with_sources ? &sources : NULL);
    if (rc == 0) {
        if (scroll_id == NULL || (count > 0 && ids == NULL))
            abort();
        for (size_t i = 0; i < count; i++) {
            if (ids[i] == NULL)
                abort();
        }
        if (with_sources && (!json_is_array(sources) || json_array_size(sources) != count))
            abort();
        ids_free(ids, count);
        free(scroll_id);
        json_decref(sources);
    } else if (scroll_id != NULL || ids != NULL || count != 0 || sources != NULL) {
        abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int without = parse_page(data, size, false);
    if (parse_page(data, size, true) == 0 && without != 0)
        abort();
    return 0;
}
