/* fuzz_identity.c - parse_identity of the es_dialect on any answer to
 * GET /: read, both texts are non-empty and NUL-terminated within their
 * fields; refused, both are empty. */
#include "search_engine.h"

#include "fuzz_helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct search_engine_identity identity;
    int rc = es_dialect.parse_identity((const char *)data, size, &identity);
    size_t dist = strnlen(identity.distribution, sizeof identity.distribution);
    size_t version = strnlen(identity.version, sizeof identity.version);
    if (dist == sizeof identity.distribution || version == sizeof identity.version)
        abort();
    if (rc == 0 && (dist == 0 || version == 0))
        abort();
    if (rc != 0 && (rc != -1 || dist != 0 || version != 0))
        abort();
    return 0;
}
