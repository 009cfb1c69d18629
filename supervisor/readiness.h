/* readiness.h - the answer of GET /readyz: every worker judged by the rule
 * of health.h from what its slot knows. */
#ifndef ETL_READINESS_H
#define ETL_READINESS_H

#include "health.h"
#include "supervisor.h"
#include "util.h"

#include <stdint.h>

struct child;

/* One worker's condition by the rule of health.h, lag allowed up to
 * max_lag_s; wall_now_ms is the wall clock. */
enum health child_health(const struct child *c, double max_lag_s, int64_t wall_now_ms);

/* Appends one logfmt line per worker to out ("name=movies
 * condition=ready lag_s=0.4"; lag_s "" when not known) and returns the
 * worst condition; wall_now_ms is the wall clock.  No worker at all is
 * ready (nothing to wait for). */
enum health readiness_report(const struct supervisor *sup, int64_t wall_now_ms, struct buffer *out);

#endif
