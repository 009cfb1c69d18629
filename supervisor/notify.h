/* notify.h - what the supervisor tells systemd (sd_notify(3)) when a unit
 * of Type=notify runs it: READY=1 once every worker is up, STATUS= with
 * what each worker does ("movies=syncing genres=ready persons=refused"),
 * WATCHDOG=1 from the main loop so that a supervisor whose loop hangs is
 * killed and restarted (WatchdogSec=), STOPPING=1 at shutdown.
 *
 * Outside systemd (NOTIFY_SOCKET unset) every call does nothing. */
#ifndef ETL_NOTIFY_H
#define ETL_NOTIFY_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>

struct supervisor;

struct notify {
    bool enabled;          /* NOTIFY_SOCKET was set at start */
    bool ready_sent;       /* READY=1 went out */
    bool status_sent;      /* status holds the STATUS= text last sent */
    bool failing;          /* the last message failed (logged once per spell) */
    int64_t watchdog_ms;   /* ping interval (half of WATCHDOG_USEC); 0: no watchdog */
    int64_t next_ping_ms;  /* monotonic time of the next WATCHDOG=1 */
    struct buffer status;  /* the STATUS= text last sent */
    struct buffer scratch; /* the STATUS= text being built */
};

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (sd_watchdog_enabled:
 * a WATCHDOG_PID other than this process's means no watchdog). */
void notify_init(struct notify *notify);

/* Called once per turn of the main loop, at monotonic now: sends
 * WATCHDOG=1 when due, READY=1 the first time every worker has settled
 * after its first start (reported started, or ended and waits to restart,
 * or was stopped), and STATUS= whenever the text changed. */
void notify_update(struct supervisor *sup, int64_t now);

/* Milliseconds until the next WATCHDOG=1 is due at monotonic now (0 when
 * overdue), or -1 when there is no watchdog: the loop's poll must wake by
 * then. */
int64_t notify_timeout(const struct notify *notify, int64_t now);

/* STOPPING=1: the supervisor began to stop its workers. */
void notify_stopping(struct notify *notify);

/* Writes the STATUS= text of sup into out: NAME=WORD for every worker, in
 * file order, separated by spaces.  WORD is ready, lagging, syncing (up,
 * not caught up once yet), refused, waiting, or the slot's state when no
 * process runs or it has not reported started (starting, backoff,
 * stopped, stopping).  wall_now_ms is the wall clock. */
void notify_status_text(const struct supervisor *sup, int64_t wall_now_ms, struct buffer *out);

/* Frees what notify holds. */
void notify_free(struct notify *notify);

#endif
