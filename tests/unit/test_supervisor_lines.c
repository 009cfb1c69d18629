/* test_supervisor_lines.c - what the supervisor does with a worker's
 * output lines: reading logfmt fields back, tagging (pass or wrap); and
 * what it keeps of the events of its status channel for etlctl status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "child_stats.h"
#include "children.h"
#include "log.h"
#include "line_tag.h"
#include "logfmt_scan.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

#define BATCH_LINE                                                                                 \
    "ts=2026-11-25T09:00:00.123Z level=info worker=movies pid=42 msg=batch index=movies_x "        \
    "source=film_work rows=500 docs=480 indexed=470 deleted=10 rejected=0 "                        \
    "cursor_modified=\"2021-06-16 20:14:09.247396+00\" cursor_id=3d8d9bf5 lag_s=12.300 "           \
    "took_ms=52"
#define BATCH_EVENT                                                                                \
    "{\"event\":\"batch\",\"source\":\"film_work\",\"rows\":500,\"docs\":480,"                     \
    "\"indexed\":470,\"deleted\":10,\"rejected\":2,\"bytes\":1000,\"query_ms\":20,"                \
    "\"bulk_ms\":30,\"took_ms\":52,\"cursor_modified\":\"2021-06-16 20:14:09.247396+00\","         \
    "\"cursor_id\":\"3d8d9bf5\",\"concrete\":\"movies_1\",\"lag_s\":12.3,\"held_s\":0.5,"          \
    "\"held_by\":\"transaction pid=77\"}"
/* 2026-11-25T09:00:00.123Z */
#define BATCH_WALL_MS 1795597200123LL

/* Asserts that line has the field key and that its value is want.  A
 * macro, so that a failure names the test's line. */
#define EXPECT_FIELD(line, key, want)                                                              \
    do {                                                                                           \
        char field_[64] = "(not written)";                                                         \
        assert_true(logfmt_get((line), (key), field_, sizeof field_));                             \
        assert_string_equal(field_, (want));                                                       \
    } while (0)

/* Plain and quoted values, escapes, absent keys, keys inside values. */
static void test_logfmt_get(void **unused)
{
    (void)unused;
    char value[64];
    EXPECT_FIELD(BATCH_LINE, "docs", "480");
    EXPECT_FIELD(BATCH_LINE, "cursor_modified", "2021-06-16 20:14:09.247396+00");
    EXPECT_FIELD(BATCH_LINE, "took_ms", "52");
    assert_false(logfmt_get(BATCH_LINE, "doc", value, sizeof value));
    const char *tricky = "msg=\"say \\\"docs=9\\\" a\\\\b\\n\\x01\" docs=3 empty=\"\" bare";
    EXPECT_FIELD(tricky, "msg", "say \"docs=9\" a\\b\n\x01");
    EXPECT_FIELD(tricky, "docs", "3");
    EXPECT_FIELD(tricky, "empty", "");
    assert_false(logfmt_get(tricky, "bare", value, sizeof value));
    char small[4];
    assert_true(logfmt_get(BATCH_LINE, "source", small, sizeof small));
    assert_string_equal(small, "fil");
}

/* The worker's own lines pass unchanged; others are wrapped. */
static void test_line_tag_pass_and_wrap(void **unused)
{
    (void)unused;
    char tagged[LOG_LINE_MAX];
    bool own;
    size_t n = line_tag(tagged, sizeof tagged, "movies", 42, 0, BATCH_LINE, false, &own);
    assert_true(own);
    assert_int_equal(n, strlen(BATCH_LINE) + 1);
    assert_memory_equal(tagged, BATCH_LINE "\n", n);

    /* Another worker's name, or no ts=, is not this worker's own line. */
    assert_false(line_is_workers_own("ts=1 worker=genres msg=x", "movies"));
    assert_false(line_is_workers_own("worker=movies msg=x", "movies"));
    assert_false(line_is_workers_own("ts=1 worker=movies_2 msg=x", "movies"));

    const char *plain = "etl-worker: etl.ini:3: batch_size: \"x\" is not a whole number";
    n = line_tag(tagged, sizeof tagged, "movies", 42, 0, plain, false, &own);
    assert_false(own);
    assert_int_equal(tagged[n - 1], '\n');
    tagged[n - 1] = '\0';
    assert_string_equal(tagged, "ts=1970-01-01T00:00:00.000Z level=error worker=movies pid=42 "
                                "msg=output line=\"etl-worker: etl.ini:3: batch_size: \\\"x\\\" "
                                "is not a whole number\"");
    char value[256];
    assert_true(logfmt_get(tagged, "line", value, sizeof value));
    assert_string_equal(value, plain);
}

/* A line cut before it arrived is wrapped and marked, even a logfmt one. */
static void test_line_tag_truncated(void **unused)
{
    (void)unused;
    char tagged[LOG_LINE_MAX];
    bool own;
    size_t n = line_tag(tagged, sizeof tagged, "movies", 7, 0, BATCH_LINE, true, &own);
    assert_false(own);
    tagged[n - 1] = '\0';
    assert_non_null(strstr(tagged, " msg=output truncated=true line=\"ts=2026"));
}

/* A text too long to fit is cut inside its quotes, never across a UTF-8
 * character, and the line stays within LOG_LINE_MAX. */
static void test_line_tag_long_lines_fit(void **unused)
{
    (void)unused;
    static char text[3 * LOG_LINE_MAX];
    /* "ж" is two bytes; quotes and backslashes need escaping. */
    size_t at = 0;
    while (at + 3 < sizeof text) {
        memcpy(text + at, at % 9 == 0 ? "\"\\" : "\xd0\xb6", 2);
        at += 2;
    }
    text[at] = '\0';
    char tagged[LOG_LINE_MAX];
    size_t n = line_tag(tagged, sizeof tagged, "persons", 1, 0, text, false, NULL);
    assert_true(n <= LOG_LINE_MAX);
    assert_true(n > LOG_LINE_MAX - 16);
    assert_int_equal(tagged[n - 1], '\n');
    assert_int_equal(tagged[n - 2], '"');
    char value[LOG_LINE_MAX];
    tagged[n - 1] = '\0';
    assert_true(logfmt_get(tagged, "line", value, sizeof value));
    assert_memory_equal(value, text, strlen(value));
    /* Not cut between the two bytes of a character. */
    assert_int_not_equal((unsigned char)value[strlen(value) - 1], 0xd0);
}

/* Batch events add up; idle zeroes the lag; retries count by what; a line
 * that is not an event changes nothing. */
static void test_child_stats(void **unused)
{
    (void)unused;
    struct child_stats stats = {0};
    assert_int_equal(child_stats_update(&stats, "{\"event\":\"started\"}", 1), CHILD_EVENT_STARTED);
    assert_false(stats.lag_known);
    assert_int_equal(child_stats_update(&stats, BATCH_EVENT, BATCH_WALL_MS), CHILD_EVENT_BATCH);
    assert_int_equal(child_stats_update(&stats, BATCH_EVENT, BATCH_WALL_MS), CHILD_EVENT_BATCH);
    assert_int_equal(stats.docs_sent, 960);
    assert_int_equal(stats.batches, 2);
    assert_int_equal(stats.indexed, 940);
    assert_int_equal(stats.deleted, 20);
    assert_int_equal(stats.rejected, 4);
    assert_int_equal(stats.bulk_bytes, 2000);
    assert_int_equal(stats.last_batch_ms, BATCH_WALL_MS);
    assert_string_equal(stats.cursor_modified, "2021-06-16 20:14:09.247396+00");
    assert_string_equal(stats.cursor_id, "3d8d9bf5");
    assert_true(stats.lag_known);
    assert_true(stats.lag_s > 12.29 && stats.lag_s < 12.31);
    assert_true(stats.held_s > 0.49 && stats.held_s < 0.51);
    assert_string_equal(stats.held_by, "transaction pid=77");
    /* 52 ms: in the bucket of 0.1 s. */
    for (int i = 0; i < BATCH_BUCKETS_COUNT; i++)
        assert_int_equal(stats.buckets[i], child_batch_bucket(i) == 0.1 ? 2 : 0);
    assert_int_equal(child_stats_update(&stats, "{\"event\":\"idle\",\"sleep_ms\":1000}", 2),
                     CHILD_EVENT_IDLE);
    assert_true(stats.lag_known && stats.lag_s == 0);
    assert_int_equal(stats.sleep_ms, 1000);
    assert_int_equal(child_stats_update(
                         &stats, "{\"event\":\"retry\",\"what\":\"state file\",\"delay_ms\":7}", 3),
                     CHILD_EVENT_RETRY);
    assert_int_equal(stats.retries[RETRY_STATE_FILE], 1);
    assert_int_equal(stats.retries[RETRY_POSTGRES], 0);
    assert_int_equal(stats.sleep_ms, 7);
    assert_int_equal(child_stats_update(&stats, "ts=3 worker=movies msg=batch docs=5", 4),
                     CHILD_EVENT_BAD);
    assert_int_equal(child_stats_update(&stats, "{\"docs\":5}", 4), CHILD_EVENT_BAD);
    assert_int_equal(stats.docs_sent, 960);
}

/* While a worker reports changes pending, the lag is their age at the
 * moment asked, whatever event came last (a retry keeps it growing); a
 * `modified` in the future reads 0; an event without them (idle) ends it. */
static void test_lag_of_pending_changes(void **unused)
{
    (void)unused;
    struct child_stats stats = {0};
    double lag_s = -1;
    assert_false(child_stats_lag(&stats, 1000, &lag_s));
    child_stats_update(&stats, "{\"event\":\"batch\",\"lag_s\":0.2,\"pending_since_ms\":5000}",
                       9000);
    assert_true(child_stats_lag(&stats, 9000, &lag_s));
    assert_true(lag_s > 3.99 && lag_s < 4.01);
    child_stats_update(&stats,
                       "{\"event\":\"retry\",\"what\":\"elasticsearch\",\"delay_ms\":500,"
                       "\"pending_since_ms\":5000}",
                       20000);
    assert_true(child_stats_lag(&stats, 65000, &lag_s));
    assert_true(lag_s > 59.99 && lag_s < 60.01);
    assert_true(child_stats_lag(&stats, 4000, &lag_s));
    assert_true(lag_s == 0);
    child_stats_update(&stats, "{\"event\":\"idle\",\"sleep_ms\":1000}", 66000);
    assert_true(child_stats_lag(&stats, 70000, &lag_s));
    assert_true(lag_s == 0);
}

/* The status line: every key, in order, empty values quoted. */
static void test_status_line(void **unused)
{
    (void)unused;
    struct child child = {.name = "movies", .index = "movies_x", .state = CHILD_RUNNING};
    child.pid = 4242;
    child.started_ms = 1000;
    child.starts = 3;
    snprintf(child.last_exit, sizeof child.last_exit, "signal:9");
    assert_int_equal(
        child_stats_update(&child.stats,
                           "{\"event\":\"build\",\"concrete\":\"movies_2\",\"docs\":60}",
                           BATCH_WALL_MS),
        CHILD_EVENT_BUILD);
    child_stats_update(&child.stats, "{\"event\":\"build\",\"concrete\":\"movies_2\",\"docs\":40}",
                       BATCH_WALL_MS);
    child_stats_update(&child.stats, BATCH_EVENT, BATCH_WALL_MS);
    child_stats_update(&child.stats,
                       "{\"event\":\"engine\",\"distribution\":\"elasticsearch\","
                       "\"version\":\"7.10.2\"}",
                       BATCH_WALL_MS);
    assert_int_equal(child_stats_update(&child.stats,
                                        "{\"event\":\"node\",\"node\":\"http://10.0.0.3:9200\"}",
                                        BATCH_WALL_MS),
                     CHILD_EVENT_NODE);
    char line[1024];
    child_status_line(&child, 61000, line, sizeof line);
    assert_string_equal(line,
                        "name=movies index=movies_x pid=4242 state=running uptime_s=60 "
                        "restarts=2 last_exit=signal:9 next_start_ms=0 "
                        "last_batch=2026-11-25T09:00:00.123Z batches=1 docs_sent=480 "
                        "cursor_modified=\"2021-06-16 20:14:09.247396+00\" "
                        "cursor_id=3d8d9bf5 lag_s=12.3 held_s=0.5 held_by=\"transaction pid=77\" "
                        "concrete=movies_1 build=movies_2 "
                        "build_docs=100 engine=elasticsearch engine_version=7.10.2 "
                        "reason=\"\" node=http://10.0.0.3:9200");
    /* the alias moved to the index built: the rebuild is over */
    child_stats_update(&child.stats, "{\"event\":\"batch\",\"docs\":1,\"concrete\":\"movies_2\"}",
                       BATCH_WALL_MS);
    assert_string_equal(child.stats.build, "");
    assert_int_equal(child.stats.build_docs, 0);
    struct child idle = {.name = "genres", .index = "genres", .state = CHILD_BACKOFF};
    idle.next_start_ms = 5000;
    child_status_line(&idle, 4000, line, sizeof line);
    assert_string_equal(line,
                        "name=genres index=genres pid=0 state=backoff uptime_s=0 "
                        "restarts=0 last_exit=\"\" next_start_ms=1000 last_batch=\"\" "
                        "batches=0 docs_sent=0 cursor_modified=\"\" cursor_id=\"\" lag_s=\"\" "
                        "held_s=0 held_by=\"\" concrete=\"\" build=\"\" build_docs=0 engine=\"\" "
                        "engine_version=\"\" "
                        "reason=\"\" node=\"\"");
}

/* A refusal spell: each refused answer counted, state=refused with its
 * cause while the worker runs, until accepted (or anything that says the
 * writes went through, or a new process). */
static void test_refusal_spell(void **unused)
{
    (void)unused;
    struct child child = {.name = "movies", .index = "movies", .state = CHILD_RUNNING};
    child.pid = 4242;
    const char *refused = "{\"event\":\"refused\",\"class\":\"index_refusing\",\"cause\":\"cluster_"
                          "block_exception\"}";
    assert_int_equal(child_stats_update(&child.stats, refused, 1), CHILD_EVENT_REFUSED);
    assert_int_equal(child_stats_update(&child.stats, refused, 2), CHILD_EVENT_REFUSED);
    assert_true(child.stats.refusing);
    assert_int_equal(child.stats.refused_attempts, 2);
    char line[1024];
    child_status_line(&child, 1000, line, sizeof line);
    assert_non_null(strstr(line, " state=refused "));
    assert_non_null(strstr(line, " reason=cluster_block_exception"));
    /* a retry inside the spell keeps it */
    child_stats_update(&child.stats,
                       "{\"event\":\"retry\",\"what\":\"elasticsearch\",\"delay_ms\":7}", 3);
    assert_true(child.stats.refusing);
    /* not running: the slot's own state, no reason */
    child.state = CHILD_STOPPING;
    child_status_line(&child, 1000, line, sizeof line);
    assert_non_null(strstr(line, " state=stopping "));
    assert_non_null(strstr(line, " reason=\"\""));
    child.state = CHILD_RUNNING;
    assert_int_equal(child_stats_update(&child.stats, "{\"event\":\"accepted\"}", 4),
                     CHILD_EVENT_ACCEPTED);
    assert_false(child.stats.refusing);
    assert_int_equal(child.stats.refused_attempts, 2);
    child_status_line(&child, 1000, line, sizeof line);
    assert_non_null(strstr(line, " state=running "));
    assert_non_null(strstr(line, " reason=\"\""));
    /* an accepted event lost: the next batch, idle or start ends it too */
    const char *ends[] = {BATCH_EVENT, "{\"event\":\"idle\",\"sleep_ms\":1}",
                          "{\"event\":\"started\"}",
                          "{\"event\":\"build\",\"concrete\":\"movies_2\",\"docs\":1}"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        child_stats_update(&child.stats, refused, 5);
        assert_true(child.stats.refusing);
        child_stats_update(&child.stats, ends[i], 6);
        assert_false(child.stats.refusing);
        assert_string_equal(child.stats.refusal, "");
    }
    assert_int_equal(child.stats.refused_attempts, 6);
}

/* A worker waiting for another one's writer lock: state waiting and the
 * reason while it runs, until it reports work; not once it has exited. */
static void test_status_line_waiting(void **unused)
{
    (void)unused;
    struct child child = {.name = "movies", .index = "movies", .state = CHILD_RUNNING};
    child.pid = 4242;
    child.started_ms = 1000;
    child.starts = 1;
    assert_int_equal(child_stats_update(&child.stats, "{\"event\":\"started\"}", 1),
                     CHILD_EVENT_STARTED);
    assert_int_equal(child_stats_update(&child.stats,
                                        "{\"event\":\"waiting\",\"reason\":\"another worker "
                                        "holds index movies (pid 77)\",\"sleep_ms\":1000}",
                                        2),
                     CHILD_EVENT_WAITING);
    assert_int_equal(child.stats.sleep_ms, 1000);
    /* a PostgreSQL retry while waiting: still waiting */
    child_stats_update(&child.stats, "{\"event\":\"retry\",\"what\":\"postgres\",\"delay_ms\":7}",
                       3);
    char line[1024];
    child_status_line(&child, 2000, line, sizeof line);
    assert_string_equal(
        line, "name=movies index=movies pid=4242 state=waiting uptime_s=1 "
              "restarts=0 last_exit=\"\" next_start_ms=0 last_batch=\"\" "
              "batches=0 docs_sent=0 cursor_modified=\"\" cursor_id=\"\" "
              "lag_s=\"\" held_s=0 held_by=\"\" concrete=\"\" build=\"\" build_docs=0 engine=\"\" "
              "engine_version=\"\" reason=\"another worker holds index movies "
              "(pid 77)\" node=\"\"");
    /* exited: backoff, whatever it last said */
    child.state = CHILD_BACKOFF;
    child.pid = 0;
    child_status_line(&child, 2000, line, sizeof line);
    assert_non_null(strstr(line, "state=backoff"));
    assert_non_null(strstr(line, "reason=\"\""));
    /* took over: a build batch says it works */
    child.state = CHILD_RUNNING;
    child.pid = 4243;
    child_stats_update(&child.stats, "{\"event\":\"build\",\"concrete\":\"movies_2\",\"docs\":5}",
                       4);
    assert_false(child.stats.waiting);
    assert_string_equal(child.stats.reason, "");
    child_status_line(&child, 2000, line, sizeof line);
    assert_non_null(strstr(line, "state=running"));
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logfmt_get),          cmocka_unit_test(test_line_tag_pass_and_wrap),
        cmocka_unit_test(test_line_tag_truncated),  cmocka_unit_test(test_line_tag_long_lines_fit),
        cmocka_unit_test(test_child_stats),         cmocka_unit_test(test_lag_of_pending_changes),
        cmocka_unit_test(test_status_line),         cmocka_unit_test(test_refusal_spell),
        cmocka_unit_test(test_status_line_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
