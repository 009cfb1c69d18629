/* child_stats.h - what the supervisor knows of a worker from its status
 * channel (status_channel.h): numbers kept as numbers, for etlctl status,
 * the metrics and the watchdog.  The counters of a slot add up across the
 * restarts of its worker. */
#ifndef ETL_CHILD_STATS_H
#define ETL_CHILD_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define CHILD_STATS_TEXT_MAX 64
/* Room for why a worker waits: it names its index (up to 255 bytes). */
#define CHILD_STATS_REASON_MAX 320
/* A node's URL (scheme, host, port, maybe a path prefix). */
#define CHILD_STATS_NODE_MAX 256
/* Buckets of the batch duration histogram (their bounds: child_stats.c). */
#define BATCH_BUCKETS_COUNT 10

/* What a retry was for (the "what" of a retry event). */
enum retry_what { RETRY_POSTGRES, RETRY_ELASTICSEARCH, RETRY_STATE_FILE, RETRY_WHAT_COUNT };

struct child_stats {
    int64_t batches;    /* batch events */
    int64_t docs_sent;  /* sum of their docs */
    int64_t indexed;    /* sum of their indexed, deleted, rejected */
    int64_t deleted;    /* */
    int64_t rejected;   /* */
    int64_t bulk_bytes; /* _bulk bodies sent */
    int64_t retries[RETRY_WHAT_COUNT];
    int64_t last_batch_ms;                      /* wall clock of the last batch event; 0 before */
    char cursor_modified[CHILD_STATS_TEXT_MAX]; /* its cursor; "" before */
    char cursor_id[CHILD_STATS_TEXT_MAX];
    double lag_s;                         /* of the last batch; 0 once idle after it */
    int64_t pending_since_ms;             /* with pending: the oldest modified waiting (wall ms) */
    double held_s;                        /* how long the snapshot's oldest writer was open */
    char held_by[CHILD_STATS_TEXT_MAX];   /* who: "transaction pid=N", "prepared gid=X", "" */
    int64_t buckets[BATCH_BUCKETS_COUNT]; /* batches whose took_ms fits bucket i (not cumulative) */
    double duration_s;                    /* sum of all took_ms, in seconds */
    int64_t sleep_ms;                     /* the sleep the last event announced */
    char concrete[CHILD_STATS_TEXT_MAX];  /* the live index of the last batch; "" before */
    char build[CHILD_STATS_TEXT_MAX];     /* the index a rebuild fills; "" when none */
    int64_t build_docs;                   /* documents sent into it so far */
    char engine[CHILD_STATS_TEXT_MAX];    /* distribution of the search engine; "" before */
    char engine_version[CHILD_STATS_TEXT_MAX]; /* and its version */
    char refusal[CHILD_STATS_TEXT_MAX];        /* its cause (an error type); "" when none */
    int64_t refused_attempts;                  /* bulk answers that refused writes */
    int64_t verify_differences;                /* with verified: documents it found differing */
    int64_t verify_runs;                       /* background verifies done */
    char reason[CHILD_STATS_REASON_MAX];       /* why it waits; "" when it does not */
    char node[CHILD_STATS_NODE_MAX];           /* the node of url in use; "" before */
    /* The flags last: they pack without padding. */
    bool lag_known; /* lag_s is set */
    bool pending;   /* changes read wait to be searchable */
    bool refusing;  /* in a refusal spell: writes refused for now */
    bool verified;  /* a background verify has reported */
    bool waiting;   /* its last progress event was "waiting" */
};

/* The events of a worker's life. */
enum child_event {
    CHILD_EVENT_BAD,      /* not an event line (logged by the caller) */
    CHILD_EVENT_STARTED,  /* set up, about to sync */
    CHILD_EVENT_ENGINE,   /* the search engine was identified */
    CHILD_EVENT_NODE,     /* requests go to another node of [elasticsearch] url */
    CHILD_EVENT_BATCH,    /* a batch is done */
    CHILD_EVENT_RETRY,    /* backing off */
    CHILD_EVENT_IDLE,     /* caught up, sleeping */
    CHILD_EVENT_BUILD,    /* a batch of a rebuild is done */
    CHILD_EVENT_REFUSED,  /* a bulk answer refused writes: a refusal spell */
    CHILD_EVENT_ACCEPTED, /* the refusal spell is over */
    CHILD_EVENT_VERIFY,   /* a background verify compared the index with PostgreSQL */
    CHILD_EVENT_WAITING   /* another worker holds its index's writer lock: waiting */
};

/* The upper bound in seconds of histogram bucket i. */
double child_batch_bucket(int i);
/* The age of the oldest change not yet searchable at wall clock now_ms
 * (seconds, never negative: a `modified` in the future counts as 0), or
 * the last batch's lag when the worker reports none pending; false when
 * neither is known yet (no batch since the start). */
bool child_stats_lag(const struct child_stats *stats, int64_t now_ms, double *lag_s);
/* The text of a retry_what, as the event and the metrics spell it. */
const char *child_retry_what(enum retry_what what);

/* Reads one event line of the status channel into stats; wall_ms is the
 * wall clock now.  Says what it was.  A "waiting" event sets waiting and
 * reason, until started, a batch, idle or build says the worker works. */
enum child_event child_stats_update(struct child_stats *stats, const char *line, int64_t wall_ms);

#endif
