/* verify.c - see verify.h.  Nothing is stopped; the index and PostgreSQL
 * are read in chunks of batch_size, so memory holds one chunk and the
 * suspects (at most CONFIG_VERIFY_REBUILD_THRESHOLD_MAX ids):
 *
 *   1. index side: every document of the index with its _source (a scroll,
 *      index_walk); per page, documents.sql of its ids: an id it does not
 *      return is extra, a document whose digest differs is different
 *   2. PostgreSQL side: every id of the index's first change source (its
 *      own rows) visible in a snapshot taken first, walked by keyset; per
 *      page, _mget without sources: an id the index does not have is missing
 *   3. changes in flight are not drift: T = pg_current_snapshot(); wait
 *      until the live worker's state file says every change source has read
 *      every transaction visible in T (its change query for the window from
 *      the saved window's start to T returns nothing); then re-check only
 *      the suspects (_mget with sources, documents.sql); up to VERIFY_ROUNDS
 *      times, each with a new T, while some still differ
 *   4. report on stdout; with --repair, re-send the suspects (batch_resend:
 *      documents.sql again, index what it returns, delete the rest), or
 *      exit EXIT_REBUILD_NEEDED when more than verify_rebuild_threshold
 *
 * Digest: each document (documents.sql's text, and the index's _source) is
 * parsed by jansson and dumped with JSON_COMPACT | JSON_SORT_KEYS and reals
 * at DIGEST_REAL_PRECISION digits; the two texts are compared byte for
 * byte.  Key order and spacing do not count; array order and every value
 * do. */
#include "verify.h"

#include "batch.h"
#include "exit_status.h"
#include "http_status.h"
#include "log.h"
#include "state.h"
#include "index_walk.h"
#include "worker.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Significant digits of a real in a digest: enough to tell any two
 * doubles apart. */
#define DIGEST_REAL_PRECISION 17
#define DIGEST_FLAGS                                                                               \
    (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(DIGEST_REAL_PRECISION))
/* Re-checks of the suspects at most, each after the worker passed a newer
 * time: a document changed again while it was re-checked gets another. */
#define VERIFY_ROUNDS 3
/* How long to wait for the worker to pass T before re-checking anyway
 * (a stopped worker never passes it), and how often to look. */
#define CATCH_UP_WAIT_MS 60000
#define CATCH_UP_POLL_MS 200
/* Whole checks tried when PostgreSQL or the search engine fails. */
#define VERIFY_ATTEMPTS 3
/* Ids printed for each kind of difference. */
#define SHOWN_IDS 10

enum verify_kind { KIND_MISSING, KIND_EXTRA, KIND_DIFFERENT, KIND_COUNT, KIND_EQUAL = KIND_COUNT };

static const char *const kind_names[KIND_COUNT] = {"missing", "extra", "different"};

/* A document found to differ, to be re-checked. */
struct suspect {
    char *id;
    enum verify_kind kind;
};

/* What the worker's state file said when verify last waited. */
enum catch_up { CAUGHT_UP, NOT_CAUGHT_UP, NO_STATE_FILE };

static const char *const catch_up_names[] = {"caught-up", "not-caught-up", "no-state-file"};

struct verify {
    struct worker w; /* config, PostgreSQL, HTTP, dialect; no sync loop */
    const char **source_names;
    char (*source_storage)[STATE_SOURCE_NAME_MAX];
    struct suspect *suspects;
    size_t count;
    bool overflow; /* more suspects than fit: not all are kept */
    long long in_index, in_postgres;
    enum catch_up catch_up;
    int rounds;
};

/* The digest text of a document (malloc'ed), or NULL when it is not JSON. */
static char *digest(const json_t *document)
{
    return document != NULL ? json_dumps(document, DIGEST_FLAGS) : NULL;
}

/* True when documents.sql's text and the index's _source have the same
 * digest. */
static bool same_document(const char *text, size_t len, const json_t *source)
{
    json_error_t error;
    json_t *built = json_loadb(text, len, 0, &error);
    char *a = digest(built);
    char *b = digest(source);
    bool same = a != NULL && b != NULL && strcmp(a, b) == 0;
    free(a);
    free(b);
    json_decref(built);
    return same;
}

/* Keeps a suspect; past the limit only counts that one was lost. */
static void add_suspect(struct verify *v, const char *id, enum verify_kind kind)
{
    if (v->count >= CONFIG_VERIFY_REBUILD_THRESHOLD_MAX) {
        v->overflow = true;
        return;
    }
    v->suspects = xrealloc(v->suspects, (v->count + 1) * sizeof *v->suspects);
    v->suspects[v->count++] = (struct suspect){xstrdup(id), kind};
}

/* Drops every suspect. */
static void clear_suspects(struct verify *v)
{
    for (size_t i = 0; i < v->count; i++)
        free(v->suspects[i].id);
    free(v->suspects);
    v->suspects = NULL;
    v->count = 0;
    v->overflow = false;
}

/* qsort/bsearch comparison of string pointers. */
static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A documents.sql result's ids, sorted, each with its row (for lookups). */
struct pg_rows {
    const char **ids; /* pointers into the result; row = index of the id */
    int *rows;
    int count;
};

/* Sorts the result's ids; rows[i] is the row of ids[i]. */
static void index_rows(PGresult *docs, struct pg_rows *out)
{
    out->count = PQntuples(docs);
    out->ids = xcalloc((size_t)out->count + 1, sizeof *out->ids);
    out->rows = xcalloc((size_t)out->count + 1, sizeof *out->rows);
    for (int r = 0; r < out->count; r++)
        out->ids[r] = PQgetvalue(docs, r, 0);
    qsort(out->ids, (size_t)out->count, sizeof *out->ids, compare_ids);
    for (int r = 0; r < out->count; r++) {
        const char *id = PQgetvalue(docs, r, 0);
        const char **at = bsearch(&id, out->ids, (size_t)out->count, sizeof *out->ids, compare_ids);
        out->rows[at - out->ids] = r;
    }
}

/* The row of id in the result, or -1. */
static int find_row(const struct pg_rows *rows, const char *id)
{
    const char **at = bsearch(&id, rows->ids, (size_t)rows->count, sizeof *rows->ids, compare_ids);
    return at != NULL ? rows->rows[at - rows->ids] : -1;
}

/* What one id is, from documents.sql's result and the index's _source
 * (NULL or JSON null: not in the index). */
static enum verify_kind classify(PGresult *docs, const struct pg_rows *rows, const char *id,
                                 const json_t *source)
{
    int row = find_row(rows, id);
    bool indexed = source != NULL && !json_is_null(source);
    if (row < 0 || PQgetisnull(docs, row, 1))
        return indexed ? KIND_EXTRA : KIND_EQUAL;
    if (!indexed)
        return KIND_MISSING;
    return same_document(PQgetvalue(docs, row, 1), (size_t)PQgetlength(docs, row, 1), source)
               ? KIND_EQUAL
               : KIND_DIFFERENT;
}

/* Step 1, one page of the index (an index_page_fn): documents.sql of its
 * ids; extra and different ones become suspects. */
static enum step index_page(struct worker *w, char **ids, size_t count, json_t *sources, void *ctx)
{
    struct verify *v = ctx;
    PGresult *docs;
    enum pg_failure failure = pg_source_documents(&w->pg, (const char *const *)ids, count, &docs);
    if (failure != PG_OK)
        return worker_pg_failed(w, failure);
    struct pg_rows rows;
    index_rows(docs, &rows);
    for (size_t i = 0; i < count; i++) {
        enum verify_kind kind = classify(docs, &rows, ids[i], json_array_get(sources, i));
        if (kind != KIND_EQUAL)
            add_suspect(v, ids[i], kind);
    }
    v->in_index += (long long)count;
    free(rows.ids);
    free(rows.rows);
    PQclear(docs);
    return STEP_OK;
}

/* _mget of ids: found[i], and *sources when not NULL.  A failure is backed
 * off (its step returned). */
static enum step mget(struct verify *v, const char *const *ids, size_t count, bool *found,
                      json_t **sources)
{
    struct worker *w = &v->w;
    char *path = w->engine->mget_path(w->idx->index, sources != NULL);
    char *body = w->engine->mget_body(ids, count);
    long status = es_request(&w->es, "POST", path, body, strlen(body), false);
    free(path);
    free(body);
    if (status == HTTP_OK && w->engine->mget_parse(w->es.response.data, w->es.response.len, ids,
                                                   count, found, sources) == 0)
        return STEP_OK;
    return worker_back_off(w, "elasticsearch", status < 0 ? w->es.err : "verify: _mget failed");
}

/* Step 2: the index's own rows by keyset; ids the index lacks are missing. */
static enum step walk_postgres(struct verify *v)
{
    struct worker *w = &v->w;
    struct cursor at = CURSOR_START;
    struct snapshot_window walk;
    walk = (struct snapshot_window){.from = SNAPSHOT_NONE};
    enum step step = worker_start_horizon(w, walk.to, sizeof walk.to);
    while (step == STEP_OK && !*w->stop) {
        PGresult *rows;
        enum pg_failure failure =
            pg_source_changes(&w->pg, 0, &at, &walk, w->config->batch_size, &rows);
        if (failure != PG_OK)
            return worker_pg_failed(w, failure);
        int n = PQntuples(rows);
        const char **ids = xcalloc((size_t)n + 1, sizeof *ids);
        bool *found = xcalloc((size_t)n + 1, sizeof *found);
        size_t count = 0;
        for (int r = 0; r < n; r++) {
            if (!PQgetisnull(rows, r, 2))
                ids[count++] = PQgetvalue(rows, r, 2);
        }
        if (count > 0)
            step = mget(v, ids, count, found, NULL);
        for (size_t i = 0; step == STEP_OK && i < count; i++) {
            if (!found[i])
                add_suspect(v, ids[i], KIND_MISSING);
        }
        v->in_postgres += (long long)count;
        if (n > 0)
            cursor_set_within(&at, PQgetvalue(rows, n - 1, 0), PQgetvalue(rows, n - 1, 1),
                              PQgetisnull(rows, n - 1, 2) ? NULL : PQgetvalue(rows, n - 1, 2),
                              NULL);
        free(found);
        free(ids);
        PQclear(rows);
        if (n < w->config->batch_size)
            break;
    }
    return step == STEP_OK && *w->stop ? STEP_STOP : step;
}

/* Whether the live worker has read every transaction visible in the
 * snapshot since: each source's change query for the window from its state
 * file's window start up to since returning nothing.  *state_file is false
 * when there is no state file (no worker ever ran: nothing to wait for). */
static enum step worker_passed(struct verify *v, const char *since, bool *passed, bool *state_file)
{
    struct worker *w = &v->w;
    struct worker_state state;
    char err[512];
    state_init(&state, v->source_names, w->idx->changes_count);
    int loaded = state_load(&state, w->state_path, w->idx->index, err, sizeof err);
    *state_file = loaded != 0;
    *passed = loaded > 0 && lifecycle_live_cursors_usable(state.phase);
    enum step step = STEP_OK;
    struct snapshot_window window;
    window = (struct snapshot_window){0};
    snprintf(window.from, sizeof window.from, "%s", state.window.from);
    snprintf(window.to, sizeof window.to, "%s", since);
    struct cursor from = CURSOR_START;
    cursor_window_start(&from, window.from);
    for (size_t i = 0; *passed && i < state.count; i++) {
        PGresult *rows;
        enum pg_failure failure = pg_source_changes(&w->pg, i, &from, &window, 1, &rows);
        /* A cursor PostgreSQL refuses is the worker's to set aside, not
         * ours: it has not passed. */
        if (failure == PG_BAD_CURSOR)
            *passed = false;
        else if (failure != PG_OK)
            step = worker_pg_failed(w, failure);
        if (failure != PG_OK)
            break;
        *passed = PQntuples(rows) == 0;
        PQclear(rows);
    }
    state_free(&state);
    return step;
}

/* Waits (at most CATCH_UP_WAIT_MS) until the worker has passed the
 * current snapshot. */
static enum step wait_for_worker(struct verify *v)
{
    struct worker *w = &v->w;
    char since[SNAPSHOT_TEXT_MAX];
    enum step taken = worker_start_horizon(w, since, sizeof since);
    if (taken != STEP_OK)
        return taken;
    int64_t deadline = monotonic_ms() + CATCH_UP_WAIT_MS;
    for (;;) {
        bool passed, state_file;
        enum step step = worker_passed(v, since, &passed, &state_file);
        if (step != STEP_OK)
            return step;
        v->catch_up = !state_file ? NO_STATE_FILE : passed ? CAUGHT_UP : NOT_CAUGHT_UP;
        if (v->catch_up != NOT_CAUGHT_UP)
            return STEP_OK;
        if (monotonic_ms() >= deadline) {
            log_event(LOG_WARN, "the worker did not pass the check's snapshot; re-checking anyway",
                      "since", since);
            return STEP_OK;
        }
        if (!sleep_unless_stopped(CATCH_UP_POLL_MS, w->stop))
            return STEP_STOP;
    }
}

/* Sorts the suspects by id and keeps one of each (the walks may meet an id
 * twice). */
static void dedupe_suspects(struct verify *v)
{
    if (v->count == 0)
        return; /* suspects is NULL: not for qsort */
    qsort(v->suspects, v->count, sizeof *v->suspects, compare_ids);
    size_t kept = 0;
    for (size_t i = 0; i < v->count; i++) {
        if (kept > 0 && strcmp(v->suspects[kept - 1].id, v->suspects[i].id) == 0)
            free(v->suspects[i].id);
        else
            v->suspects[kept++] = v->suspects[i];
    }
    v->count = kept;
}

/* Re-checks suspects [at, at + n): each gets its kind now; equal ones are
 * marked KIND_EQUAL. */
static enum step recheck_chunk(struct verify *v, size_t at, size_t n)
{
    struct worker *w = &v->w;
    const char **ids = xcalloc(n, sizeof *ids);
    bool *found = xcalloc(n, sizeof *found);
    for (size_t i = 0; i < n; i++)
        ids[i] = v->suspects[at + i].id;
    json_t *sources = NULL;
    enum step step = mget(v, ids, n, found, &sources);
    PGresult *docs = NULL;
    if (step == STEP_OK) {
        enum pg_failure failure = pg_source_documents(&w->pg, ids, n, &docs);
        if (failure != PG_OK)
            step = worker_pg_failed(w, failure);
    }
    if (step == STEP_OK) {
        struct pg_rows rows;
        index_rows(docs, &rows);
        for (size_t i = 0; i < n; i++)
            v->suspects[at + i].kind = classify(docs, &rows, ids[i], json_array_get(sources, i));
        free(rows.ids);
        free(rows.rows);
    }
    PQclear(docs);
    json_decref(sources);
    free(found);
    free(ids);
    return step;
}

/* Step 3: rounds of wait-then-recheck while suspects remain. */
static enum step recheck(struct verify *v)
{
    dedupe_suspects(v);
    size_t chunk = (size_t)v->w.config->batch_size;
    enum step step = STEP_OK;
    for (v->rounds = 0; step == STEP_OK && v->count > 0 && v->rounds < VERIFY_ROUNDS; v->rounds++) {
        step = wait_for_worker(v);
        for (size_t at = 0; step == STEP_OK && at < v->count; at += chunk)
            step = recheck_chunk(v, at, v->count - at < chunk ? v->count - at : chunk);
        if (step != STEP_OK)
            break;
        size_t kept = 0;
        for (size_t i = 0; i < v->count; i++) {
            if (v->suspects[i].kind == KIND_EQUAL)
                free(v->suspects[i].id);
            else
                v->suspects[kept++] = v->suspects[i];
        }
        v->count = kept;
    }
    return step;
}

/* One whole check (steps 1 to 3). */
static enum step check(struct verify *v)
{
    clear_suspects(v);
    v->in_index = v->in_postgres = 0;
    v->catch_up = CAUGHT_UP;
    v->rounds = 0;
    enum pg_failure failure = pg_source_connect(&v->w.pg);
    if (failure != PG_OK)
        return worker_pg_failed(&v->w, failure);
    enum step step = index_walk(&v->w, true, index_page, v);
    if (step == STEP_OK)
        step = walk_postgres(v);
    if (step == STEP_OK)
        step = recheck(v);
    return step;
}

/* Prints the report (docs/operations.md, "Verify an index"). */
static void report(const struct verify *v, int64_t elapsed_ms)
{
    size_t counts[KIND_COUNT] = {0};
    for (size_t i = 0; i < v->count; i++)
        counts[v->suspects[i].kind]++;
    printf("index=%s result=%s in_index=%lld in_postgres=%lld missing=%zu extra=%zu "
           "different=%zu more_not_kept=%s rounds=%d worker=%s elapsed_ms=%lld\n",
           v->w.idx->index, v->count == 0 && !v->overflow ? "equal" : "differs", v->in_index,
           v->in_postgres, counts[KIND_MISSING], counts[KIND_EXTRA], counts[KIND_DIFFERENT],
           v->overflow ? "true" : "false", v->rounds, catch_up_names[v->catch_up],
           (long long)elapsed_ms);
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        if (counts[kind] == 0)
            continue;
        printf("kind=%s count=%zu ids=", kind_names[kind], counts[kind]);
        size_t shown = 0;
        for (size_t i = 0; i < v->count && shown < SHOWN_IDS; i++) {
            if ((int)v->suspects[i].kind == kind)
                printf("%s%s", shown++ > 0 ? "," : "", v->suspects[i].id);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* Step 4 with --repair: re-send the suspects, or ask for a rebuild. */
static int repair(struct verify *v)
{
    int threshold = v->w.config->verify_rebuild_threshold;
    if (v->overflow || v->count > (size_t)threshold) {
        printf("repair=rebuild differing=%s%zu threshold=%d\n", v->overflow ? "more-than-" : "",
               v->count, threshold);
        fflush(stdout);
        return EXIT_REBUILD_NEEDED;
    }
    const char **ids = xcalloc(v->count + 1, sizeof *ids);
    for (size_t i = 0; i < v->count; i++)
        ids[i] = v->suspects[i].id;
    struct resend_counts counts;
    enum step step = batch_resend(&v->w, ids, v->count, &counts);
    free(ids);
    if (step != STEP_OK)
        return step == STEP_FATAL ? v->w.exit_status : EXIT_INTERRUPTED;
    printf("repair=done indexed=%ld deleted=%ld rejected=%ld\n", counts.indexed, counts.deleted,
           counts.rejected);
    fflush(stdout);
    return counts.rejected > 0 ? EXIT_DIFFERS : 0;
}

/* Sets up what the checks use of a worker; no state file is touched. */
static int verify_init(struct verify *v, const struct etl_config *config,
                       const struct index_config *idx, const volatile sig_atomic_t *stop)
{
    struct worker *w = &v->w;
    *w = (struct worker){.config = config, .idx = idx, .stop = stop};
    worker_set_engine(w, &es_dialect);
    backoff_init(&w->backoff, config->backoff_initial_ms, config->backoff_max_ms);
    int status = worker_open(w);
    if (status != 0)
        return status;
    w->state_path = xasprintf("%s/%s.state", config->state_dir, idx->name);
    w->rejects_path = xasprintf("%s/%s.rejects", config->state_dir, idx->name);
    v->source_names = xcalloc(idx->changes_count, sizeof *v->source_names);
    v->source_storage = xcalloc(idx->changes_count, sizeof *v->source_storage);
    for (size_t i = 0; i < idx->changes_count; i++) {
        state_source_name(idx->changes_sql[i], v->source_storage[i], sizeof v->source_storage[i]);
        v->source_names[i] = v->source_storage[i];
    }
    return 0;
}

/* Releases what verify_init and the checks took. */
static void verify_free(struct verify *v)
{
    clear_suspects(v);
    pg_source_free(&v->w.pg);
    es_multi_free(&v->w.multi);
    es_client_free(&v->w.es);
    free(v->w.state_path);
    free(v->w.rejects_path);
    free(v->w.bulk_path);
    free(v->source_names);
    free(v->source_storage);
}

/* Checks (again on a failure, VERIFY_ATTEMPTS in all), reports, repairs. */
int verify_run(const struct etl_config *config, const struct index_config *idx,
               const volatile sig_atomic_t *stop, bool repair_wanted)
{
    struct verify v = {0};
    int64_t started = monotonic_ms();
    int status = verify_init(&v, config, idx, stop);
    enum step step = STEP_RETRY;
    for (int attempt = 0; status == 0 && step == STEP_RETRY && attempt < VERIFY_ATTEMPTS; attempt++)
        step = check(&v);
    if (status == 0 && step == STEP_OK) {
        report(&v, monotonic_ms() - started);
        bool equal = v.count == 0 && !v.overflow;
        status = equal ? 0 : repair_wanted ? repair(&v) : EXIT_DIFFERS;
    } else if (status == 0) {
        status = step == STEP_FATAL  ? v.w.exit_status
                 : step == STEP_STOP ? EXIT_INTERRUPTED
                                     : EXIT_UNREACHABLE;
        log_event(LOG_ERROR, "verify failed", "reason",
                  step == STEP_STOP ? "interrupted" : "PostgreSQL or the search engine failed");
    }
    verify_free(&v);
    return status;
}
