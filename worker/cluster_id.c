/* cluster_id.c - see cluster_id.h. */
#include "cluster_id.h"

#include <stdint.h>
#include <string.h>

/* The digits of a bigint: at most 19. */
#define BIGINT_DIGITS_MAX 19

bool cluster_id_known(const struct cluster_id *id)
{
    return id->system_identifier[0] != '\0' && id->timeline != 0;
}

/* An optional minus, then 1 to 19 digits, nothing else (the range is
 * PostgreSQL's to keep: it printed it). */
bool cluster_system_identifier_is_valid(const char *text)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    size_t n = strspn(digits, "0123456789");
    return n > 0 && n <= BIGINT_DIGITS_MAX && digits[n] == '\0';
}

/* TimeLineID is a uint32; 0 is never one. */
bool cluster_timeline_is_valid(long long timeline)
{
    return timeline >= 1 && timeline <= (long long)UINT32_MAX;
}

/* The identifier first: another cluster's timelines are not comparable. */
const char *cluster_id_differs(const struct cluster_id *saved, const struct cluster_id *found)
{
    if (!cluster_id_known(saved))
        return NULL;
    if (strcmp(saved->system_identifier, found->system_identifier) != 0)
        return "another cluster: its system identifier differs";
    if (saved->timeline != found->timeline)
        return "a timeline switch";
    return NULL;
}
