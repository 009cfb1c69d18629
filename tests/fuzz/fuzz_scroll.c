/* fuzz_scroll.c - scroll_parse of the es_dialect (the sweep's pages of
 * ids) on any body: read, every id and the scroll id are strings; refused,
 * nothing is left allocated. */
#include "search_engine.h"

#include "fuzz_helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *scroll_id = NULL;
    char **ids = NULL;
    size_t count = 0;
    if (es_dialect.scroll_parse((const char *)data, size, &scroll_id, &ids, &count) == 0) {
        if (scroll_id == NULL || (count > 0 && ids == NULL))
            abort();
        for (size_t i = 0; i < count; i++) {
            if (ids[i] == NULL)
                abort();
        }
        ids_free(ids, count);
        free(scroll_id);
    } else if (scroll_id != NULL || ids != NULL || count != 0) {
        abort();
    }
    return 0;
}
