/* engine_identify.h - who answers at [elasticsearch] url: GET / at start,
 * read by the dialect (parse_identity), checked against what the worker
 * supports (search_engine_select), logged as msg="search engine". */
#ifndef ETL_ENGINE_IDENTIFY_H
#define ETL_ENGINE_IDENTIFY_H

#include "worker.h"

/* Asks GET / until it is answered (backing off while the engine is
 * unreachable, refuses the credentials or answers something unreadable),
 * then sets w->engine to the dialect of what answered.  An engine the
 * worker does not support is STEP_FATAL with EXIT_ENGINE_UNSUPPORTED. */
enum step engine_identify(struct worker *w);

#endif
