/* child_stats.h - what the supervisor learns about a worker from its own
 * log lines (msg=started, msg=batch, msg="caught up"), for etlctl status. */
#ifndef ETL_CHILD_STATS_H
#define ETL_CHILD_STATS_H

#define CHILD_STATS_TEXT_MAX 64

struct child_stats {
    long long batches;                          /* batch lines seen */
    long long docs_sent;                        /* sum of their docs= */
    char last_batch[CHILD_STATS_TEXT_MAX];      /* ts= of the last one; "" before */
    char cursor_modified[CHILD_STATS_TEXT_MAX]; /* its cursor_modified= */
    char cursor_id[CHILD_STATS_TEXT_MAX];       /* its cursor_id= */
    char lag_s[CHILD_STATS_TEXT_MAX];           /* its lag_s=; "0" once caught up */
};

/* The events of a worker's life that change its state in the supervisor. */
enum child_event {
    CHILD_EVENT_OTHER,     /* any other line */
    CHILD_EVENT_STARTED,   /* msg=started: set up, about to sync */
    CHILD_EVENT_BATCH,     /* msg=batch */
    CHILD_EVENT_CAUGHT_UP, /* msg="caught up" */
};

/* Reads one of the worker's own logfmt lines into stats and says what it
 * was. */
enum child_event child_stats_update(struct child_stats *stats, const char *line);

#endif
