/* health.h - whether a worker is ready: the one rule that the supervisor's
 * GET /readyz and `etlctl check` apply, each to what it knows of a worker
 * (the supervisor its slot, etlctl the worker's status line). */
#ifndef ETL_HEALTH_H
#define ETL_HEALTH_H

#include <stdbool.h>

/* A worker's condition, from ready to the worst: a list of workers is as
 * bad as its worst one. */
enum health {
    HEALTH_READY,    /* running, caught up within the lag allowed */
    HEALTH_LAGGING,  /* running, its oldest waiting change older than allowed */
    HEALTH_STARTING, /* running, but not caught up once yet (a first load) */
    HEALTH_REFUSING, /* running, but its index refuses its writes for now */
    HEALTH_WAITING,  /* running, but another worker holds its index's writer lock */
    HEALTH_DOWN,     /* no process: crashed and waiting to restart, or stopped */
    HEALTH_COUNT
};

/* What the rule looks at. */
struct health_input {
    bool running;   /* the worker's process runs and reported that it started */
    bool refusing;  /* its index refuses its writes (a refusal spell) */
    bool waiting;   /* it waits for another worker's writer lock on its index */
    bool lag_known; /* it has done a batch or caught up since it started */
    double lag_s;   /* the age of its oldest change not yet searchable */
};

/* The condition of one worker, lag allowed up to max_lag_s. */
enum health health_judge(const struct health_input *in, double max_lag_s);
/* Its word in the lines of /readyz and etlctl check ("ready", "lagging", ...). */
const char *health_name(enum health condition);

#endif
