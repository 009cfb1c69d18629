/* test_state.c - the worker's JSON state file: save/load round trip,
 * missing and malformed files, new sources, source names, the lifecycle
 * phase by name and the files written before it was saved, the cluster
 * the snapshots are of and the files written before it was recorded. */
#include "state.h"

#include "util.h"

#include "unit_helpers.h"

#include <jansson.h>
#include <limits.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static char tmp_dir[PATH_MAX];
static char state_path[PATH_MAX + 32];

static const char *const source_names[] = {"film_work", "person", "genre", "change_log"};
#define SOURCE_COUNT 4

static int setup(void **state)
{
    (void)state;
    ut_make_temp_dir(tmp_dir, sizeof tmp_dir);
    snprintf(state_path, sizeof state_path, "%s/movies.state", tmp_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ut_remove_tree(tmp_dir);
    return 0;
}

static void assert_cursor(const struct cursor *cursor, const char *txid, const char *id)
{
    assert_string_equal(cursor->txid, txid);
    assert_string_equal(cursor->id, id);
}

static void assert_all_at_start(const struct worker_state *ws)
{
    for (size_t i = 0; i < ws->count; i++)
        assert_cursor(&ws->sources[i].cursor, CURSOR_START.txid, CURSOR_START.id);
}

/* Loads text written as the state file into a fresh state of the four
 * sources; returns state_load's result. */
static int load_text(const char *text, struct worker_state *ws, char *err, size_t err_size)
{
    ut_write_file(state_path, text);
    state_init(ws, source_names, SOURCE_COUNT);
    err[0] = '\0';
    return state_load(ws, state_path, "movies", err, err_size);
}

/* Loads text, which must be refused with a message containing part;
 * nothing may have changed. */
static void expect_refused(const char *text, const char *part)
{
    struct worker_state ws;
    char err[256];
    int rc = load_text(text, &ws, err, sizeof err);
    if (rc != -1)
        fail_msg("state_load returned %d for %s", rc, text);
    if (strstr(err, part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err, part);
    assert_int_equal(ws.phase, LIFECYCLE_FRESH);
    assert_int_equal(ws.count, SOURCE_COUNT);
    assert_all_at_start(&ws);
    state_free(&ws);
}

static void test_init(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    assert_int_equal(ws.phase, LIFECYCLE_FRESH);
    assert_int_equal(ws.count, SOURCE_COUNT);
    for (size_t i = 0; i < SOURCE_COUNT; i++)
        assert_string_equal(ws.sources[i].name, source_names[i]);
    assert_all_at_start(&ws);
    assert_string_equal(CURSOR_START.txid, "0");
    assert_string_equal(CURSOR_START.id, "00000000-0000-0000-0000-000000000000");
    state_free(&ws);
    assert_null(ws.sources);
    assert_int_equal(ws.count, 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    snprintf(ws.sources[0].cursor.txid, CURSOR_TEXT_MAX, "700");
    snprintf(ws.sources[0].cursor.id, CURSOR_TEXT_MAX, "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff");
    snprintf(ws.sources[2].cursor.txid, CURSOR_TEXT_MAX, "701");
    snprintf(ws.sources[2].cursor.id, CURSOR_TEXT_MAX, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    assert_int_equal(ut_count_entries(tmp_dir), 1); /* no temp file beside it */

    struct worker_state loaded;
    state_init(&loaded, source_names, SOURCE_COUNT);
    char err[256] = "";
    assert_int_equal(state_load(&loaded, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(err, "");
    assert_int_equal(loaded.phase, LIFECYCLE_SERVING);
    assert_cursor(&loaded.sources[0].cursor, "700", "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff");
    assert_cursor(&loaded.sources[1].cursor, "0", "00000000-0000-0000-0000-000000000000");
    assert_cursor(&loaded.sources[2].cursor, "701", "ffffffff-ffff-ffff-ffff-ffffffffffff");
    assert_cursor(&loaded.sources[3].cursor, "0", "00000000-0000-0000-0000-000000000000");
    state_free(&loaded);
}

static void test_saved_file_format(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, 2);
    snprintf(ws.sources[1].cursor.txid, CURSOR_TEXT_MAX, "702");
    snprintf(ws.sources[1].cursor.id, CURSOR_TEXT_MAX, "a\"b");
    assert_int_equal(state_save(&ws, state_path, "movies_v2"), 0);
    state_free(&ws);

    size_t len = 0;
    char *text = read_whole_file(state_path, &len);
    assert_non_null(text);
    assert_true(len > 0);
    assert_int_equal(text[len - 1], '\n');
    json_error_t error;
    json_t *root = json_loads(text, 0, &error);
    free(text);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "window"), "from")),
                        "1:1:");
    assert_string_equal(json_string_value(json_object_get(root, "index")), "movies_v2");
    json_t *sources = json_object_get(root, "sources");
    assert_int_equal(json_object_size(sources), 2);
    json_t *person = json_object_get(sources, "person");
    assert_string_equal(json_string_value(json_object_get(person, "txid")), "702");
    assert_string_equal(json_string_value(json_object_get(person, "id")), "a\"b");
    json_t *film = json_object_get(sources, "film_work");
    assert_string_equal(json_string_value(json_object_get(film, "txid")), "0");
    assert_null(json_object_get(film, "modified")); /* unknown: not written */
    json_decref(root);
}

static void test_save_replaces(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    for (int round = 0; round < 5; round++) {
        snprintf(ws.sources[0].cursor.txid, CURSOR_TEXT_MAX, "70%d", round + 1);
        assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    }
    state_free(&ws);
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256];
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(ws.sources[0].cursor.txid, "705");
    state_free(&ws);
    assert_int_equal(ut_count_entries(tmp_dir), 1);
}

static void test_save_into_missing_directory_fails(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/absent/movies.state", tmp_dir);
    errno = 0;
    assert_int_equal(state_save(&ws, path, "movies"), -1);
    assert_int_equal(errno, ENOENT);
    state_free(&ws);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256] = "";
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 0);
    assert_int_equal(ws.phase, LIFECYCLE_FRESH);
    assert_all_at_start(&ws);
    state_free(&ws);
}

static void test_malformed_json(void **state)
{
    (void)state;
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{", "line");
    expect_refused("", "line");
    expect_refused("not json at all\n", "line");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{}} trailing", "line");
}

static void test_wrong_version(void **state)
{
    (void)state;
    expect_refused("{\"version\":4,\"index\":\"movies\",\"sources\":{}}", "not a version 3");
    expect_refused("{\"version\":0,\"index\":\"movies\",\"sources\":{}}", "not a version 3");
    expect_refused("{\"version\":\"3\",\"sources\":{}}", "not a version 3");
    expect_refused("{\"index\":\"movies\",\"sources\":{}}", "not a version 3");
    expect_refused("{\"version\":3,\"index\":\"movies\"}", "not a version 3");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":[]}", "not a version 3");
    expect_refused("[1,2,3]", "not a version 3");
}

static void test_bad_cursor(void **state)
{
    (void)state;
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"person\":{\"txid\":5,"
                   "\"id\":\"x\"}}}",
                   "source person: bad cursor");
    expect_refused(
        "{\"version\":3,\"index\":\"movies\",\"sources\":{\"film_work\":{\"id\":\"x\"}}}",
        "source film_work: bad cursor");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"genre\":{\"txid\":"
                   "\"2021-01-01\"}}}",
                   "source genre: bad cursor");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"genre\":{\"txid\":\"\","
                   "\"id\":\"x\"}}}",
                   "source genre: bad cursor");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"genre\":\"2021-01-01\"}}",
                   "source genre: bad cursor");
    /* longer than a cursor can hold */
    char text[512];
    char long_text[CURSOR_TEXT_MAX + 1];
    memset(long_text, '9', CURSOR_TEXT_MAX);
    long_text[CURSOR_TEXT_MAX] = '\0';
    snprintf(text, sizeof text,
             "{\"version\":3,\"index\":\"movies\",\"sources\":{\"change_log\":{\"txid\":\"x\","
             "\"id\":\"%s\"}}}",
             long_text);
    expect_refused(text, "source change_log: bad cursor");
    /* a later good source does not undo the refusal, nor does an earlier
     * good one survive it */
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{"
                   "\"film_work\":{\"txid\":\"704\",\"id\":\"a\"},"
                   "\"person\":{\"txid\":null,\"id\":\"b\"}}}",
                   "source person: bad cursor");
}

static void test_doc_id_round_trip(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    assert_string_equal(ws.sources[1].cursor.doc_id, CURSOR_GROUP_DONE);
    cursor_set_within(&ws.sources[1].cursor, "705", "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff",
                      "0312ed51-8833-413f-bff5-0e139c11264a", NULL);
    cursor_set_within(&ws.sources[2].cursor, "705", "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff", NULL,
                      "2024-01-01 00:00:00+00");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    struct worker_state loaded;
    state_init(&loaded, source_names, SOURCE_COUNT);
    char err[256] = "";
    assert_int_equal(state_load(&loaded, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(loaded.sources[1].cursor.doc_id, "0312ed51-8833-413f-bff5-0e139c11264a");
    assert_string_equal(loaded.sources[2].cursor.doc_id, CURSOR_GROUP_DONE);
    assert_string_equal(loaded.sources[2].cursor.modified, "2024-01-01 00:00:00+00");
    assert_string_equal(loaded.sources[0].cursor.doc_id, CURSOR_GROUP_DONE);
    state_free(&loaded);
}

/* Files of the release that read by clock (versions 1 and 2, cursors by
 * time) are refused: set aside, the index is rebuilt behind its alias. */
static void test_clock_versions_are_refused(void **state)
{
    (void)state;
    expect_refused("{\"version\":1,\"index\":\"movies\",\"sources\":{"
                   "\"person\":{\"modified\":\"2021-06-16 20:14:09+00\",\"id\":\"abc\"}}}",
                   "versions 1 and 2 read by clock");
    expect_refused("{\"version\":2,\"index\":\"movies\",\"sources\":{\"person\":{"
                   "\"modified\":\"2021-06-16 20:14:09+00\",\"id\":\"abc\",\"doc_id\":"
                   "\"ffffffff-ffff-ffff-ffff-ffffffffffff\"}}}",
                   "versions 1 and 2 read by clock");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"person\":{"
                   "\"txid\":\"5\",\"id\":\"abc\",\"doc_id\":7}}}",
                   "source person: bad cursor");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"sources\":{\"person\":{"
                   "\"txid\":\"5\",\"id\":\"abc\",\"doc_id\":\"\"}}}",
                   "source person: bad cursor");
}

/* The window: saved and read back; a bad snapshot refuses the file. */
static void test_window_round_trip(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    assert_string_equal(ws.window.from, SNAPSHOT_NONE);
    snprintf(ws.window.from, sizeof ws.window.from, "740:745:741,743");
    snprintf(ws.window.to, sizeof ws.window.to, "750:750:");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256];
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(ws.window.from, "740:745:741,743");
    assert_string_equal(ws.window.to, "750:750:");
    state_free(&ws);
    expect_refused("{\"version\":3,\"index\":\"movies\",\"window\":{\"from\":\"x\"},"
                   "\"sources\":{}}",
                   "bad window");
    expect_refused("{\"version\":3,\"index\":\"movies\",\"window\":{\"from\":\"1:1:\","
                   "\"to\":\"5:4\"},\"sources\":{}}",
                   "bad window");
}

/* The cluster the snapshots are of: saved and read back; a file without
 * one (written before it was recorded) is read with it unknown; a bad one
 * refuses the file. */
static void test_cluster_round_trip(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    assert_false(cluster_id_known(&ws.cluster));
    snprintf(ws.cluster.system_identifier, sizeof ws.cluster.system_identifier,
             "7714611411083361874");
    ws.cluster.timeline = 4294967295LL;
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256];
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(ws.cluster.system_identifier, "7714611411083361874");
    assert_int_equal(ws.cluster.timeline, 4294967295LL);
    state_free(&ws);
}

static void test_file_without_cluster_is_read(void **state)
{
    (void)state;
    struct worker_state ws;
    char err[256];
    assert_int_equal(load_text("{\"version\":3,\"index\":\"movies\",\"phase\":\"serving\","
                               "\"window\":{\"from\":\"740:745:741\"},\"sources\":{"
                               "\"person\":{\"txid\":\"741\",\"id\":"
                               "\"3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff\"}}}",
                               &ws, err, sizeof err),
                     1);
    assert_false(cluster_id_known(&ws.cluster));
    assert_string_equal(ws.window.from, "740:745:741");
    assert_string_equal(ws.sources[1].cursor.txid, "741");
    /* Saved unknown, it stays absent. */
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    char *text = read_whole_file(state_path, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "cluster"));
    free(text);
}

static void test_bad_cluster_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "{\"system_identifier\":\"7714611411083361874\"}",
        "{\"timeline\":1}",
        "{\"system_identifier\":7714611411083361874,\"timeline\":1}",
        "{\"system_identifier\":\"\",\"timeline\":1}",
        "{\"system_identifier\":\"77x\",\"timeline\":1}",
        "{\"system_identifier\":\"12345678901234567890\",\"timeline\":1}",
        "{\"system_identifier\":\"7714611411083361874\",\"timeline\":0}",
        "{\"system_identifier\":\"7714611411083361874\",\"timeline\":4294967296}",
        "{\"system_identifier\":\"7714611411083361874\",\"timeline\":\"1\"}",
        "\"7714611411083361874\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"version\":3,\"index\":\"movies\",\"cluster\":%s,"
                 "\"sources\":{}}",
                 bad[i]);
        expect_refused(text, "bad cluster");
    }
}

static void test_state_of_another_index_is_refused(void **state)
{
    (void)state;
    expect_refused("{\"version\":3,\"index\":\"movies_v1\",\"sources\":{}}",
                   "written for index movies_v1, not movies");
    expect_refused("{\"version\":3,\"sources\":{}}", "written for index (none), not movies");
}

static void test_longest_cursor_fits(void **state)
{
    (void)state;
    char id[CURSOR_TEXT_MAX];
    memset(id, 'f', CURSOR_TEXT_MAX - 1);
    id[CURSOR_TEXT_MAX - 1] = '\0';
    char text[512];
    snprintf(text, sizeof text,
             "{\"version\":3,\"index\":\"movies\",\"sources\":{\"person\":{\"txid\":\"0\","
             "\"id\":\"%s\"}}}",
             id);
    struct worker_state ws;
    char err[256];
    assert_int_equal(load_text(text, &ws, err, sizeof err), 1);
    assert_string_equal(ws.sources[1].cursor.id, id);
    state_free(&ws);
}

/* A txid PostgreSQL would not take as an xid8 makes the file unusable
 * (set aside), not a query that fails at every round. */
static void test_malformed_txid_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "yesterday-ish", "-1", "2021-06-16 20:14:09+00", "12a", "123456789012345678901", " 5",
        "infinity"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"version\":3,\"index\":\"movies\",\"sources\":{\"genre\":{\"txid\":"
                 "\"%s\",\"id\":\"x\"}}}",
                 bad[i]);
        expect_refused(text, "source genre: bad cursor");
    }
}

/* What PostgreSQL prints for an xid8 is taken. */
static void test_wellformed_txid_is_taken(void **state)
{
    (void)state;
    static const char *const good[] = {"0", "1", "702", "18446744073709551615"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"version\":3,\"index\":\"movies\",\"sources\":{\"genre\":{\"txid\":"
                 "\"%s\",\"id\":\"x\"}}}",
                 good[i]);
        struct worker_state ws;
        char err[256];
        assert_int_equal(load_text(text, &ws, err, sizeof err), 1);
        assert_string_equal(ws.sources[2].cursor.txid, good[i]);
        state_free(&ws);
    }
}

/* The live index and a build in progress survive a restart; once the
 * build is over its key is gone. */
static void test_build_round_trip(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    snprintf(ws.concrete, sizeof ws.concrete, "movies_20260101000000000");
    ws.phase = LIFECYCLE_BUILDING;
    snprintf(ws.build.concrete, sizeof ws.build.concrete, "movies_20260102000000000");
    snprintf(ws.build.reason, sizeof ws.build.reason, "mapping_changed");
    snprintf(ws.build.horizon, sizeof ws.build.horizon, "710:712:711");
    ws.build.started_ms = 1767312000000LL;
    cursor_set(&ws.build.sources[1].cursor, "710", "b1");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256];
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_string_equal(ws.concrete, "movies_20260101000000000");
    assert_int_equal(ws.phase, LIFECYCLE_BUILDING);
    assert_string_equal(ws.build.concrete, "movies_20260102000000000");
    assert_string_equal(ws.build.reason, "mapping_changed");
    assert_string_equal(ws.build.horizon, "710:712:711");
    assert_true(ws.build.started_ms == 1767312000000LL);
    assert_cursor(&ws.build.sources[1].cursor, "710", "b1");
    assert_string_equal(ws.build.sources[1].name, source_names[1]);
    assert_cursor(&ws.sources[1].cursor, CURSOR_START.txid, CURSOR_START.id);
    ws.phase = LIFECYCLE_SERVING;
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    char *text = read_whole_file(state_path, NULL);
    assert_null(strstr(text, "\"build\""));
    free(text);
}

/* A file written before aliases: no live index named, and its pending
 * sweep read as a rebuild due. */
static void test_file_before_aliases(void **state)
{
    (void)state;
    struct worker_state ws;
    char err[256];
    assert_int_equal(load_text("{\"version\":3,\"index\":\"movies\",\"sources\":{},"
                               "\"sweep_pending\":true}",
                               &ws, err, sizeof err),
                     1);
    assert_string_equal(ws.concrete, "");
    assert_int_equal(ws.phase, LIFECYCLE_SERVING);
    assert_true(ws.rebuild_due);
    state_free(&ws);
}

/* A build of a state file's text: its index, reason and start, and a
 * horizon once it began. */
#define BUILD_NOT_BEGUN                                                                            \
    "\"build\":{\"concrete\":\"movies_20260102000000000\",\"reason\":\"requested\","               \
    "\"started_ms\":1767312000000,\"sources\":{}}"
#define BUILD_BEGUN                                                                                \
    "\"build\":{\"concrete\":\"movies_20260102000000000\",\"reason\":\"requested\","               \
    "\"horizon\":\"710:712:711\",\"started_ms\":1767312000000,\"sources\":{}}"
#define FILE_START "{\"version\":3,\"index\":\"movies\",\"concrete\":\"movies_1\",\"sources\":{},"

/* Loads text, which must be read, and checks the phase it gives. */
static void expect_phase(const char *text, enum lifecycle_phase want)
{
    struct worker_state ws;
    char err[256];
    int rc = load_text(text, &ws, err, sizeof err);
    if (rc != 1)
        fail_msg("state_load returned %d (%s) for %s", rc, err, text);
    assert_int_equal(ws.phase, want);
    state_free(&ws);
}

/* A file of the release before phases were saved (no "phase"): its phase
 * is what its build says, as that release read it. */
static void test_file_before_phases(void **state)
{
    (void)state;
    expect_phase(FILE_START "\"unused\":0}", LIFECYCLE_SERVING);
    expect_phase(FILE_START BUILD_NOT_BEGUN "}", LIFECYCLE_BUILD_PENDING);
    expect_phase(FILE_START BUILD_BEGUN "}", LIFECYCLE_BUILDING);
}

/* The phase is written by name and read back, the pending build of a
 * fresh start included. */
static void test_phase_saved_by_name(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    ws.phase = LIFECYCLE_FRESH_BUILD_PENDING;
    snprintf(ws.build.concrete, sizeof ws.build.concrete, "movies_20260102000000000");
    snprintf(ws.build.reason, sizeof ws.build.reason, "no_state");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    char *text = read_whole_file(state_path, NULL);
    assert_non_null(strstr(text, "\"phase\": \"fresh_build_pending\""));
    free(text);
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256];
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_int_equal(ws.phase, LIFECYCLE_FRESH_BUILD_PENDING);
    assert_string_equal(ws.build.horizon, "");
    ws.phase = LIFECYCLE_SERVING;
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    text = read_whole_file(state_path, NULL);
    assert_non_null(strstr(text, "\"phase\": \"serving\""));
    assert_null(strstr(text, "\"build\""));
    free(text);
    /* A phase within one call is saved as before phases: a swap resumes
     * building. */
    state_init(&ws, source_names, SOURCE_COUNT);
    ws.phase = LIFECYCLE_SWAPPING;
    snprintf(ws.build.concrete, sizeof ws.build.concrete, "movies_20260102000000000");
    snprintf(ws.build.reason, sizeof ws.build.reason, "requested");
    snprintf(ws.build.horizon, sizeof ws.build.horizon, "710:712:711");
    assert_int_equal(state_save(&ws, state_path, "movies"), 0);
    state_free(&ws);
    text = read_whole_file(state_path, NULL);
    assert_null(strstr(text, "\"phase\""));
    free(text);
    state_init(&ws, source_names, SOURCE_COUNT);
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), 1);
    assert_int_equal(ws.phase, LIFECYCLE_BUILDING);
    state_free(&ws);
    expect_phase(FILE_START "\"phase\":\"build_pending\"," BUILD_NOT_BEGUN "}",
                 LIFECYCLE_BUILD_PENDING);
    expect_phase(FILE_START "\"phase\":\"building\"," BUILD_BEGUN "}", LIFECYCLE_BUILDING);
}

/* A phase no file holds, or unknown: the file is unusable. */
static void test_bad_phase_refused(void **state)
{
    (void)state;
    expect_refused(FILE_START "\"phase\":\"fresh\"}", "bad phase");
    expect_refused(FILE_START "\"phase\":\"first_load\"}", "bad phase");
    expect_refused(FILE_START "\"phase\":\"swapping\"," BUILD_BEGUN "}", "bad phase");
    expect_refused(FILE_START "\"phase\":\"resting\"}", "bad phase");
    expect_refused(FILE_START "\"phase\":2}", "bad phase");
}

/* "build" decides whether a build is in progress, whatever the phase
 * says: a build given up by deleting "build" (docs/operations.md) serves. */
static void test_build_key_decides(void **state)
{
    (void)state;
    expect_phase(FILE_START "\"phase\":\"building\"}", LIFECYCLE_SERVING);
    expect_phase(FILE_START "\"phase\":\"fresh_build_pending\"}", LIFECYCLE_SERVING);
    expect_phase(FILE_START "\"phase\":\"serving\"," BUILD_BEGUN "}", LIFECYCLE_BUILDING);
    expect_phase(FILE_START "\"phase\":\"build_pending\"," BUILD_BEGUN "}", LIFECYCLE_BUILDING);
    expect_phase(FILE_START "\"phase\":\"fresh_build_pending\"," BUILD_BEGUN "}",
                 LIFECYCLE_BUILDING);
    expect_phase(FILE_START "\"phase\":\"building\"," BUILD_NOT_BEGUN "}", LIFECYCLE_BUILD_PENDING);
    expect_phase(FILE_START "\"phase\":\"serving\"," BUILD_NOT_BEGUN "}", LIFECYCLE_BUILD_PENDING);
}

/* The swap's condition: a build's window read to its end, at a snapshot as
 * new as the one taken after the live index's last read; not a build
 * round that merely read nothing. */
static void test_build_readiness(void **state)
{
    (void)state;
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    struct snapshot_window *window = &ws.build.window;
    /* the walk is being read: its window is open */
    snprintf(window->from, sizeof window->from, "%s", SNAPSHOT_NONE);
    snprintf(window->to, sizeof window->to, "%s", "100:100:");
    assert_int_equal(state_build_readiness(&ws, "100:100:"), BUILD_WINDOW_OPEN);
    /* walked; transactions committed since its horizon: behind */
    snprintf(window->from, sizeof window->from, "%s", "100:100:");
    window->to[0] = '\0';
    assert_int_equal(state_build_readiness(&ws, "100:108:104"), BUILD_BEHIND);
    /* walked, nothing committed since: ready at once */
    assert_int_equal(state_build_readiness(&ws, "100:100:"), BUILD_READY);
    /* a window read to the round's snapshot: ready, whatever it held; a
     * writer in progress at both is read by the live index once it commits */
    snprintf(window->from, sizeof window->from, "%s", "104:108:104");
    assert_int_equal(state_build_readiness(&ws, "104:108:104"), BUILD_READY);
    /* a window left open by an earlier round and read to its end in this
     * one: its end is older than what the live index read meanwhile */
    assert_int_equal(state_build_readiness(&ws, "104:112:104"), BUILD_BEHIND);
    /* the round's window still open (a source came full, a fan-out
     * half-way): not yet, even at the newest end */
    snprintf(window->to, sizeof window->to, "%s", "104:112:104");
    assert_int_equal(state_build_readiness(&ws, "104:112:104"), BUILD_WINDOW_OPEN);
    state_free(&ws);
}

static void test_source_missing_from_file_starts_at_start(void **state)
{
    (void)state;
    struct worker_state ws;
    char err[256];
    int rc = load_text("{\"version\":3,\"index\":\"movies\",\"sources\":{"
                       "\"film_work\":{\"txid\":\"702\",\"id\":\"abc\"},"
                       "\"retired_source\":{\"txid\":\"711\",\"id\":\"x\"}"
                       "}}",
                       &ws, err, sizeof err);
    assert_int_equal(rc, 1);
    assert_int_equal(ws.phase, LIFECYCLE_SERVING);
    assert_cursor(&ws.sources[0].cursor, "702", "abc");
    for (size_t i = 1; i < SOURCE_COUNT; i++)
        assert_cursor(&ws.sources[i].cursor, CURSOR_START.txid, CURSOR_START.id);
    for (size_t i = 0; i < SOURCE_COUNT; i++)
        assert_string_equal(ws.sources[i].name, source_names[i]);
    state_free(&ws);
}

static void test_unreadable_path(void **state)
{
    (void)state;
    /* a directory where the file should be */
    assert_int_equal(mkdir(state_path, 0755), 0);
    struct worker_state ws;
    state_init(&ws, source_names, SOURCE_COUNT);
    char err[256] = "";
    assert_int_equal(state_load(&ws, state_path, "movies", err, sizeof err), -1);
    assert_true(err[0] != '\0');
    assert_int_equal(ws.phase, LIFECYCLE_FRESH);
    assert_all_at_start(&ws);
    state_free(&ws);
    rmdir(state_path);
}

static void test_source_name(void **state)
{
    (void)state;
    static const struct {
        const char *path, *name;
    } cases[] = {
        {"sql/movies/person.sql", "person"},
        {"/etc/etl/sql/movies/change_log.sql", "change_log"},
        {"film_work.sql", "film_work"},
        {"genre", "genre"},
        {"dir/query.txt", "query.txt"},
        {"dir/a.sql.sql", "a.sql"},
        {"dir/.sql", ".sql"},
        {"dir/x.sql", "x"},
    };
    char name[STATE_SOURCE_NAME_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        state_source_name(cases[i].path, name, sizeof name);
        assert_string_equal(name, cases[i].name);
    }
    char small[5];
    state_source_name("sql/movies/person.sql", small, sizeof small);
    assert_string_equal(small, "pers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_file_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_into_missing_directory_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_of_another_index_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_id_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_versions_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_without_cluster_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_cluster_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_cursor_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_txid_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wellformed_txid_is_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_before_aliases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_before_phases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phase_saved_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_phase_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_key_decides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_readiness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_missing_from_file_starts_at_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_name, setup, teardown),
    };
    return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
