/* search_engine.c - see search_engine.h: what every dialect shares. */
#include "search_engine.h"

#include <stdlib.h>

/* Leaves results reusable: every error pointer back to NULL. */
void bulk_results_free(struct bulk_item_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(results[i].error);
        results[i].error = NULL;
    }
}

/* Each string, then the array. */
void ids_free(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}
