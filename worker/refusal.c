/* refusal.c - see refusal.h. */
#include "refusal.h"

#include "log.h"
#include "status_report.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The spell's messages (docs/operations.md lists them). */
#define REFUSAL_STARTED "index refusing writes; retrying"
#define UNKNOWN_STARTED "unknown error from the search engine; retrying"
#define REFUSAL_ENDED   "index accepting writes again"

/* The cause of a refusal: its error's type, else its HTTP status. */
static void cause_of(const struct bulk_item_result *result, char *out, size_t size)
{
    if (result->type != NULL)
        snprintf(out, size, "%s", result->type);
    else
        snprintf(out, size, "http_%d", result->status);
}

/* The spell's first line, or its line for a new cause. */
static void log_started(const struct worker *w, const struct bulk_item_result *result)
{
    bool unknown = result->outcome == BULK_UNKNOWN;
    struct log_line *line =
        log_begin(unknown ? LOG_ERROR : LOG_WARN, unknown ? UNKNOWN_STARTED : REFUSAL_STARTED);
    log_str(line, "index", w->idx->index);
    log_str(line, "concrete", result->index != NULL ? result->index : "");
    log_str(line, "class", bulk_outcome_name(result->outcome));
    log_int(line, "status", result->status);
    log_str(line, "error_type", w->refusal.cause);
    log_str(line, "reason", result->reason != NULL ? result->reason : "");
    log_str(line, "hint",
            "nothing is lost: the batch waits, its cursor unmoved, and is sent again until the "
            "index takes it");
    log_end(line);
}

/* A new spell, or a new cause inside one, is logged; every answer is
 * counted on the status channel. */
void refusal_note(struct worker *w, const struct bulk_item_result *result, int64_t sent_ms)
{
    struct refusal_spell *spell = &w->refusal;
    if (!spell->active && sent_ms < spell->accepted_sent_ms)
        return; /* sent before a request the index took: that refusal is over */
    if (sent_ms > spell->refused_sent_ms)
        spell->refused_sent_ms = sent_ms;
    char cause[REFUSAL_CAUSE_MAX];
    cause_of(result, cause, sizeof cause);
    bool changed =
        !spell->active || spell->outcome != result->outcome || strcmp(spell->cause, cause) != 0;
    if (!spell->active) {
        spell->active = true;
        spell->since_ms = monotonic_ms();
        spell->attempts = 0;
    }
    spell->attempts++;
    spell->outcome = result->outcome;
    snprintf(spell->cause, sizeof spell->cause, "%s", cause);
    if (changed)
        log_started(w, result);
    status_report_refused(bulk_outcome_name(result->outcome), cause);
}

/* One line for the whole spell, with how long it lasted. */
void refusal_over(struct worker *w, int64_t sent_ms)
{
    struct refusal_spell *spell = &w->refusal;
    if (sent_ms > spell->accepted_sent_ms)
        spell->accepted_sent_ms = sent_ms;
    if (!spell->active || sent_ms < spell->refused_sent_ms)
        return; /* none, or a request sent before the last one refused */
    struct log_line *line = log_begin(LOG_INFO, REFUSAL_ENDED);
    log_str(line, "index", w->idx->index);
    log_str(line, "error_type", spell->cause);
    log_double(line, "refused_s", (double)(monotonic_ms() - spell->since_ms) / 1000.0);
    log_int(line, "attempts", spell->attempts);
    log_end(line);
    *spell = (struct refusal_spell){.accepted_sent_ms = spell->accepted_sent_ms};
    status_report_accepted();
}
