/* health.c - see health.h. */
#include "health.h"

static const char *const health_names[HEALTH_COUNT] = {
    [HEALTH_READY] = "ready",       [HEALTH_LAGGING] = "lagging", [HEALTH_STARTING] = "starting",
    [HEALTH_REFUSING] = "refusing", [HEALTH_WAITING] = "waiting", [HEALTH_DOWN] = "down",
};

/* Not running first (its lag is stale), then waiting for another worker
 * (it writes nothing: a standby), then refusing (its lag grows, but the
 * cause is the index), then not yet caught up once, then the lag. */
enum health health_judge(const struct health_input *in, double max_lag_s)
{
    if (!in->running)
        return HEALTH_DOWN;
    if (in->waiting)
        return HEALTH_WAITING;
    if (in->refusing)
        return HEALTH_REFUSING;
    if (!in->lag_known)
        return HEALTH_STARTING;
    return in->lag_s > max_lag_s ? HEALTH_LAGGING : HEALTH_READY;
}

const char *health_name(enum health condition)
{
    return condition >= 0 && condition < HEALTH_COUNT ? health_names[condition] : "unknown";
}
