/* bulk_split.h - bulk requests bounded by bytes: how many actions of a
 * batch fit in one request of at most bulk_max_bytes, how many bytes one
 * action takes in a body (built by the dialect), and the reasons written to
 * the rejects file for a document too large to send.  Pure functions: the
 * sending, and halving on 413, are batch.c's. */
#ifndef ETL_BULK_SPLIT_H
#define ETL_BULK_SPLIT_H

#include "search_engine.h"

#include <stddef.h>

/* The bytes the dialect's bulk_build appends for action alone (its action
 * line and, for an index, its document line). */
size_t bulk_action_bytes(const struct search_engine_ops *engine, const char *index,
                         const struct bulk_action *action);

/* How many of the count actions, from the first, fit together in max_bytes
 * (sizes[i]: the bytes of action i).  0 when the first alone is larger. */
size_t bulk_split_fit(const size_t *sizes, size_t count, size_t max_bytes);

/* The first half of count actions (count >= 2) when a request of them was
 * answered 413; the rest is the second half.  At least 1. */
size_t bulk_split_half(size_t count);

/* The error (JSON text, malloc'ed) of a document whose lines alone, bytes,
 * are above bulk_max_bytes, limit. */
char *bulk_split_oversize_error(size_t bytes, size_t limit);

/* The error (JSON text, malloc'ed) of a document sent alone in a request of
 * bytes and still answered 413 by the search engine. */
char *bulk_split_refused_error(size_t bytes);

#endif
