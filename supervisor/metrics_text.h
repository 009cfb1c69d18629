/* metrics_text.h - the supervisor's metrics in the Prometheus text
 * exposition format (version 0.0.4), one family after the other, one
 * series per worker slot labelled index="<its Elasticsearch index>".
 * docs/operations.md lists every metric. */
#ifndef ETL_METRICS_TEXT_H
#define ETL_METRICS_TEXT_H

#include <stdint.h>

struct supervisor;

/* The whole exposition; now_wall_ms is the wall clock (for ages).  A new
 * string. */
char *metrics_text(const struct supervisor *sup, int64_t now_wall_ms);

#endif
