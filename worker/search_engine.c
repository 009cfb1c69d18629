/* search_engine.c - see search_engine.h: what every dialect shares. */
#include "search_engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Leaves results reusable: every error pointer back to NULL. */
void bulk_results_free(struct bulk_item_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(results[i].error);
        free(results[i].type);
        free(results[i].reason);
        free(results[i].index);
        results[i].error = NULL;
        results[i].type = NULL;
        results[i].reason = NULL;
        results[i].index = NULL;
    }
}

/* In enum bulk_outcome order. */
static const char *const outcome_names[] = {
    [BULK_DONE] = "done",
    [BULK_REJECTED] = "document_refused",
    [BULK_REFUSING] = "index_refusing",
    [BULK_UNKNOWN] = "unknown",
    [BULK_UNCONFIRMED] = "unconfirmed",
    [BULK_NO_INDEX] = "alias_missing",
};

const char *bulk_outcome_name(enum bulk_outcome outcome)
{
    return outcome_names[outcome];
}

/* Each string, then the array. */
void ids_free(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}

/* One supported range of versions of one distribution, and its dialect. */
struct supported_engine {
    const char *distribution;
    long major;
    long min_minor; /* the oldest minor version of major supported */
    const struct search_engine_ops *ops;
};

/* Elasticsearch before 7.10 is untested and lacks nothing the worker needs
 * that 7.10 has, but 7.10 is the oldest one tested (tests/elasticsearch). */
static const struct supported_engine supported_engines[] = {
    {"elasticsearch", 7, 10, &es_dialect},
    {"elasticsearch", 8, 0, &es_dialect},
    {"opensearch", 2, 0, &es_dialect},
};

#define SUPPORTED_TEXT "Elasticsearch 7.10+ and 8.x, OpenSearch 2.x"

/* Reads the digits at *text into *number and moves *text past them. */
static bool parse_number(const char **text, long *number)
{
    if (**text < '0' || **text > '9')
        return false;
    char *end;
    errno = 0;
    *number = strtol(*text, &end, 10);
    *text = end;
    return errno == 0;
}

/* MAJOR.MINOR[.anything]: the rest (patch, -SNAPSHOT) does not matter. */
static bool parse_major_minor(const char *version, long *major, long *minor)
{
    const char *at = version;
    if (!parse_number(&at, major) || *at != '.')
        return false;
    at++;
    return parse_number(&at, minor);
}

const struct search_engine_ops *search_engine_select(const struct search_engine_identity *identity,
                                                     char *why, size_t why_size)
{
    long major;
    long minor;
    if (!parse_major_minor(identity->version, &major, &minor)) {
        snprintf(why, why_size, "%s version \"%s\" is not MAJOR.MINOR; supported: %s",
                 identity->distribution, identity->version, SUPPORTED_TEXT);
        return NULL;
    }
    size_t count = sizeof supported_engines / sizeof supported_engines[0];
    for (size_t i = 0; i < count; i++) {
        const struct supported_engine *e = &supported_engines[i];
        if (strcmp(e->distribution, identity->distribution) == 0 && e->major == major &&
            minor >= e->min_minor)
            return e->ops;
    }
    snprintf(why, why_size, "%s %s is not supported; supported: %s", identity->distribution,
             identity->version, SUPPORTED_TEXT);
    return NULL;
}
