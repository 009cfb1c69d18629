/* index_walk.h - every document id of an index (and, when asked, every
 * document), page by page, through a scroll of the search engine: what
 * `etlctl verify` compares with PostgreSQL without holding the whole index
 * in memory. */
#ifndef ETL_INDEX_WALK_H
#define ETL_INDEX_WALK_H

#include "worker.h"

/* One page of index_walk: count ids and, when the walk asked for them,
 * sources (a JSON array, the _source of each id, borrowed). */
typedef enum step (*index_page_fn)(struct worker *w, char **ids, size_t count, json_t *sources,
                                   void *ctx);

/* Refreshes the index, then walks every document id of it in pages of
 * batch_size (a scroll, released whatever happens), calling page for each
 * until it returns something else than STEP_OK or a stop is requested.
 * STEP_OK once every page was handled; a failed request is backed off
 * (worker_back_off) and its step returned. */
enum step index_walk(struct worker *w, bool with_sources, index_page_fn page, void *ctx);

#endif
