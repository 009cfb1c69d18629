/* index_setup.h - the search engine's side of versioned indices: what a
 * name (the alias clients query) resolves to and whether its live mapping
 * is the file's, creating a concrete index from the mapping file (with an
 * alias on it), moving aliases in one atomic request, listing and deleting
 * the concrete indices of an alias.  The decisions are rebuild.c's.
 *
 * A concrete index of alias A is named A_<UTC yyyymmddhhmmssSSS> (the time
 * its build started), so its versions sort by name in time order. */
#ifndef ETL_INDEX_SETUP_H
#define ETL_INDEX_SETUP_H

#include "es_client.h"
#include "search_engine.h"
#include "state.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* "_yyyymmddhhmmssSSS": what follows the alias in a concrete index name. */
#define INDEX_VERSION_SUFFIX_LEN 18

/* What a name is on the cluster. */
enum index_kind {
    INDEX_NONE,     /* nothing of that name */
    INDEX_CONCRETE, /* a concrete index (the layout before aliases) */
    INDEX_ALIAS     /* an alias of one concrete index */
};

struct index_lookup {
    enum index_kind kind;
    char concrete[STATE_INDEX_NAME_MAX]; /* the index behind the name, if any */
    bool mapping_equal;                  /* its live mapping is the definition's */
};

/* GETs name's mapping: what name is, the concrete index behind it, and
 * whether its mapping is definition's.  Returns 0, or -1 (no usable answer:
 * retry later) with err filled. */
int index_lookup(struct es_client *es, const struct search_engine_ops *engine, const char *name,
                 const json_t *definition, struct index_lookup *out, char *err, size_t err_size);

/* Creates concrete from definition, with alias on it unless NULL.  Returns
 * 0 when created, or -1 with err filled (already exists included). */
int index_create(struct es_client *es, const struct search_engine_ops *engine, const char *concrete,
                 const json_t *definition, const char *alias, char *err, size_t err_size);

/* As index_create, but concrete refreshes never on its own (whatever
 * definition's refresh_interval): what a full build is created with, as
 * nobody searches it until its alias moves (index_make_searchable then). */
int index_create_loading(struct es_client *es, const struct search_engine_ops *engine,
                         const char *concrete, const json_t *definition, const char *alias,
                         char *err, size_t err_size);

/* Gives index back the refresh_interval of definition (the engine's
 * default when the file sets none), then refreshes it, so that everything
 * written is searchable: what a build needs before its alias moves.
 * Returns 0 or -1 with err filled. */
int index_make_searchable(struct es_client *es, const struct search_engine_ops *engine,
                          const char *index, const json_t *definition, char *err, size_t err_size);

/* Deletes an index (one already gone is fine).  Returns 0 or -1 with err. */
int index_delete(struct es_client *es, const struct search_engine_ops *engine, const char *index,
                 char *err, size_t err_size);

/* Sends the actions as one atomic _aliases request.  Returns 0 or -1 with
 * err filled (then none of them was done). */
int index_aliases(struct es_client *es, const struct search_engine_ops *engine,
                  const struct alias_action *actions, size_t count, char *err, size_t err_size);

/* The concrete indices of alias (named as above), newest first: *names
 * gets *count malloc'ed strings (free with ids_free).  Returns 0 or -1 with
 * err. */
int index_versions(struct es_client *es, const struct search_engine_ops *engine, const char *alias,
                   char ***names, size_t *count, char *err, size_t err_size);

/* Writes the name of a concrete index of alias built from wall-clock ms
 * into out (STATE_INDEX_NAME_MAX bytes). */
void index_version_name(const char *alias, int64_t ms, char *out, size_t size);

/* True when name is alias, "_", and 17 digits. */
bool index_is_version_of(const char *name, const char *alias);

#endif
