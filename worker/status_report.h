/* status_report.h - the worker's side of the status channel
 * (status_channel.h): each call writes one event line, or nothing when
 * the worker has no channel (run by hand) or the pipe is full.  None of
 * them ever blocks or fails the sync. */
#ifndef ETL_STATUS_REPORT_H
#define ETL_STATUS_REPORT_H

#include "cursor.h"

#include <stddef.h>
#include <stdint.h>

/* What a batch event carries (see status_channel.h). */
struct status_batch {
    const char *source;
    const struct cursor *cursor; /* the position saved */
    const char *concrete;        /* the live index behind the alias; "" unknown */
    long rows, docs, indexed, deleted, rejected;
    int64_t query_ms, bulk_ms, took_ms;
};

/* Takes the descriptor named by STATUS_CHANNEL_ENV, if any, and makes
 * writes to it non-blocking. */
void status_report_open(void);
/* Set up, about to sync. */
void status_report_started(void);
/* The search engine answering at [elasticsearch] url was identified
 * (engine_identify.h): shown by etlctl status and the metrics. */
void status_report_engine(const char *distribution, const char *version);
/* The node of [elasticsearch] url that requests go to (after the engine
 * check, and whenever it changes): etlctl status and the metrics show it. */
void status_report_node(const char *node);
/* A batch is done and its cursor saved. */
void status_report_batch(const struct status_batch *batch);
/* A step failed: what (postgres, elasticsearch, state file) is retried
 * after delay_ms. */
void status_report_retry(const char *what, int64_t delay_ms);
/* A bulk answer refused writes: class is "index_refusing" or "unknown"
 * (bulk_outcome_name), cause the error's type (one event an answer: the
 * supervisor counts them). */
void status_report_refused(const char *class_name, const char *cause);
/* The refusal spell is over: the index took the writes again. */
void status_report_accepted(void);
/* A batch of a rebuild went into concrete, the index being built: progress
 * for the watchdog (a long rebuild with no live change is not a hang) and
 * what etlctl status shows of the rebuild. */
void status_report_build(const char *concrete, long docs);
/* Waiting for the index's writer lock, which another worker holds (reason
 * says which): about to sleep sleep_ms before trying again.  The
 * watchdog's heartbeat while it waits; etlctl status shows it. */
void status_report_waiting(const char *reason, int64_t sleep_ms);
/* Caught up: about to sleep sleep_ms. */
void status_report_idle(int64_t sleep_ms);
/* Remembers the oldest transaction in progress at the round's snapshot:
 * how long it has been open and who it is (kind "transaction" or
 * "prepared", detail "pid=N" or "gid=NAME"; "" for none).  Sent with the
 * next batch and idle events: etlctl status names it. */
void status_report_held(double held_s, const char *kind, const char *detail);
/* Remembers whether changes read from the live window wait to be
 * searchable, and the oldest `modified` among them (wall clock ms): sent
 * with every event until cleared, so the supervisor's lag grows while they
 * wait (a retry, a refusal) instead of reading 0. */
void status_report_pending(bool pending, int64_t since_ms);
/* A background verify compared the index with PostgreSQL: differences
 * documents differ (missing, extra or different). */
void status_report_verify(long differences);
/* Adds the size of a _bulk request body sent (sent with the next batch). */
void status_report_bulk_bytes(size_t bytes);

#endif
