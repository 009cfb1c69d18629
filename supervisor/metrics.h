/* metrics.h - the Prometheus listener of the supervisor ([supervisor]
 * metrics_listen): GET /metrics answers metrics_text.h.  libmicrohttpd
 * runs inside the supervisor's own poll loop (external polling, epoll
 * mode): one descriptor to poll, MHD_run when it is readable or its
 * timeout is due, so the metrics read the slots with no lock and no
 * thread. */
#ifndef ETL_METRICS_H
#define ETL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct supervisor;

struct metrics {
    struct MHD_Daemon *daemon; /* NULL when off */
};

/* Starts listening on sup->config.metrics_listen (nothing when empty).
 * Returns false with the reason in err. */
bool metrics_open(struct supervisor *sup, char *err, size_t err_size);
/* The descriptor to poll for input, or -1 when off. */
int metrics_poll_fd(const struct metrics *metrics);
/* The ms until metrics_run is due without input, or -1 for none. */
int64_t metrics_timeout(const struct metrics *metrics);
/* Accepts, reads, answers and closes connections: what can be done now. */
void metrics_run(struct metrics *metrics);
void metrics_close(struct metrics *metrics);

#endif
