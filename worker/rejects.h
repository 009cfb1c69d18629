/* rejects.h - an index's rejects file: the documents Elasticsearch refused
 * for good (a mapping error, say), one JSON object a line
 *   {"ts_ms":...,"index":"...","id":"...","status":400,"error":{...},"document":{...}}
 * so that an operator can see and replay them; the worker goes on without
 * them. */
#ifndef ETL_REJECTS_H
#define ETL_REJECTS_H

#include "search_engine.h"

/* Logs the rejection of action and appends it to the file at path, synced.
 * A failure to write is logged, not returned: the batch goes on. */
void rejects_record(const char *path, const char *index, const struct bulk_action *action,
                    const struct bulk_item_result *result);

#endif
