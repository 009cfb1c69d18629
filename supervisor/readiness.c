/* readiness.c - see readiness.h. */
#include "readiness.h"

#include "child_stats.h"
#include "children.h"
#include "log.h"

#include <stdio.h>

/* What health_judge needs of a slot: its process running and reported
 * started (as etl_worker_up), and its lag as the metrics give it. */
static struct health_input input_of(const struct child *c, int64_t wall_now_ms)
{
    struct health_input in = {.running = c->pid != 0 && c->state == CHILD_RUNNING,
                              .refusing = c->stats.refusing,
                              .waiting = c->stats.waiting};
    in.lag_known = child_stats_lag(&c->stats, wall_now_ms, &in.lag_s);
    return in;
}

enum health child_health(const struct child *c, double max_lag_s, int64_t wall_now_ms)
{
    struct health_input in = input_of(c, wall_now_ms);
    return health_judge(&in, max_lag_s);
}

enum health readiness_report(const struct supervisor *sup, int64_t wall_now_ms, struct buffer *out)
{
    enum health worst = HEALTH_READY;
    for (size_t i = 0; i < sup->children_count; i++) {
        const struct child *c = sup->children[i];
        struct health_input in = input_of(c, wall_now_ms);
        enum health condition = health_judge(&in, sup->config.ready_max_lag_s);
        if (condition > worst)
            worst = condition;
        char line[LOG_LINE_MAX];
        size_t len = 0;
        len += (size_t)snprintf(line, sizeof line, "name=");
        len = logfmt_append_value(line, len, sizeof line, c->name);
        if (in.lag_known)
            snprintf(line + len, sizeof line - len, " condition=%s lag_s=%.3f\n",
                     health_name(condition), in.lag_s);
        else
            snprintf(line + len, sizeof line - len, " condition=%s lag_s=\"\"\n",
                     health_name(condition));
        buffer_append_str(out, line);
    }
    return worst;
}
