/* status_channel.h - how a worker tells the supervisor what it is doing,
 * apart from its log lines (so that etlctl status, the metrics and the
 * watchdog do not depend on log_level).
 *
 * The supervisor gives each worker the write end of a pipe as descriptor
 * STATUS_CHANNEL_FD and names it in the environment variable
 * STATUS_CHANNEL_ENV.  The worker writes one compact JSON object per event,
 * one line each, never longer than STATUS_LINE_MAX (so each write is atomic
 * on a pipe), without blocking: an event that does not fit is dropped.
 *
 *   {"event":"started"}
 *   {"event":"engine","distribution":S,"version":S}   what answered GET /
 *   {"event":"batch","source":S,"rows":N,"docs":N,"indexed":N,"deleted":N,
 *    "rejected":N,"bytes":N,"query_ms":N,"bulk_ms":N,"took_ms":N,
 *    "cursor_modified":S,"cursor_id":S,"lag_s":X,"held_s":X}
 *   {"event":"retry","what":"postgres"|"elasticsearch"|"state file",
 *    "delay_ms":N}
 *   {"event":"refused","class":"index_refusing"|"unknown","cause":T}
 *                                      a bulk answer refused writes (T: the
 *                                      error's type, or http_NNN)
 *   {"event":"accepted"}               the refusal spell is over
 *   {"event":"build","concrete":C,"docs":N}     a batch of a rebuild into C
 *   {"event":"idle","sleep_ms":N,"held_s":X}   caught up, sleeping
 *   {"event":"waiting","reason":S,"sleep_ms":N}
 *                    another worker holds the index's writer lock: waiting
 *                    (reason names the index and the holder), sleeping
 *   {"event":"verify","differences":N}  a background verify ended
 *
 * batch and idle events carry "held_by" too (who holds the snapshot back:
 * "transaction pid=N", "prepared gid=X" or ""), and every event carries
 * "pending_since_ms" while changes read from the live window wait to be
 * searchable (the oldest one's `modified`, wall clock ms).
 *
 * bytes counts the _bulk request bodies sent since the previous batch event
 * (retries included); held_s is how long the horizon was last seen held
 * back; a sleep (delay_ms, sleep_ms) is announced so that the watchdog
 * waits that much longer. */
#ifndef ETL_STATUS_CHANNEL_H
#define ETL_STATUS_CHANNEL_H

/* The descriptor a worker finds its status pipe on. */
#define STATUS_CHANNEL_FD 3
/* The variable that names it ("3"); a worker run by hand has none. */
#define STATUS_CHANNEL_ENV "ETL_STATUS_FD"
/* The longest event line, '\n' included: PIPE_BUF, the most a pipe write
 * is guaranteed to take whole. */
#define STATUS_LINE_MAX 4096

#endif
