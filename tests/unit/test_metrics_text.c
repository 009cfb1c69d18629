/* test_metrics_text.c - series of the Prometheus text: the log lines the
 * supervisor's stdout dropped, the search engine each worker found, and
 * the refusal spells. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "metrics_text.h"
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>

/* Any number of dropped lines; the text must carry it unchanged. */
#define DROPPED 12345

/* etl_log_lines_dropped_total: HELP, TYPE counter and the total, no label
 * (the supervisor's stdout is one for all workers). */
static void test_dropped_log_lines_are_a_counter(void **unused)
{
    (void)unused;
    static struct supervisor sup; /* no worker slots */
    sup.output.dropped_total = DROPPED;
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_log_lines_dropped_total counter\n"));
    assert_non_null(strstr(text, "# HELP etl_log_lines_dropped_total "));
    assert_non_null(strstr(text, "\netl_log_lines_dropped_total 12345\n"));
    free(text);
}

/* etl_search_engine_info: one series per worker that identified its
 * engine, with what the engine said escaped as a label value (a hostile
 * engine's quote or newline must not break the text); none before. */
static void test_search_engine_info_escapes_what_the_engine_said(void **unused)
{
    (void)unused;
    static struct child movies = {.name = "movies", .index = "movies"};
    static struct child genres = {.name = "genres", .index = "genres"};
    static struct child *slots[] = {&movies, &genres};
    static struct supervisor sup;
    sup.children = slots;
    sup.children_count = 2;
    assert_int_equal(
        child_stats_update(
            &movies.stats,
            "{\"event\":\"engine\",\"distribution\":\"open\\\"search\",\"version\":\"2\\n\\\\1\"}",
            0),
        CHILD_EVENT_ENGINE);
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_search_engine_info gauge\n"));
    assert_non_null(
        strstr(text, "\netl_search_engine_info{index=\"movies\",distribution=\"open\\\"search\","
                     "version=\"2\\n\\\\1\"} 1\n"));
    assert_null(strstr(text, "etl_search_engine_info{index=\"genres\""));
    free(text);
}

/* etl_index_refusing is 1 only for a running worker in a refusal spell;
 * etl_index_refused_attempts_total counts every refused answer. */
static void test_refusal_series(void **unused)
{
    (void)unused;
    static struct child movies = {.name = "movies", .index = "movies", .state = CHILD_RUNNING};
    static struct child genres = {.name = "genres", .index = "genres", .state = CHILD_RUNNING};
    static struct child *slots[] = {&movies, &genres};
    static struct supervisor sup;
    sup.children = slots;
    sup.children_count = 2;
    movies.pid = 42;
    genres.pid = 43;
    const char *refused =
        "{\"event\":\"refused\",\"class\":\"index_refusing\",\"cause\":\"index_closed_exception\"}";
    child_stats_update(&movies.stats, refused, 0);
    child_stats_update(&movies.stats, refused, 0);
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_index_refusing gauge\n"));
    assert_non_null(strstr(text, "\netl_index_refusing{index=\"movies\"} 1\n"));
    assert_non_null(strstr(text, "\netl_index_refusing{index=\"genres\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE etl_index_refused_attempts_total counter\n"));
    assert_non_null(strstr(text, "\netl_index_refused_attempts_total{index=\"movies\"} 2\n"));
    assert_non_null(strstr(text, "\netl_index_refused_attempts_total{index=\"genres\"} 0\n"));
    free(text);
    child_stats_update(&movies.stats, "{\"event\":\"accepted\"}", 0);
    text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "\netl_index_refusing{index=\"movies\"} 0\n"));
    assert_non_null(strstr(text, "\netl_index_refused_attempts_total{index=\"movies\"} 2\n"));
    free(text);
}

/* etl_worker_waiting: 1 for a running worker whose last word was that
 * another worker holds its index's writer lock, 0 once it works and for
 * one without a process. */
static void test_worker_waiting(void **unused)
{
    (void)unused;
    static struct child movies = {
        .name = "movies", .index = "movies", .state = CHILD_RUNNING, .pid = 42};
    static struct child genres = {.name = "genres", .index = "genres", .state = CHILD_BACKOFF};
    static struct child *slots[] = {&movies, &genres};
    static struct supervisor sup;
    sup.children = slots;
    sup.children_count = 2;
    static const char waiting[] =
        "{\"event\":\"waiting\",\"reason\":\"another worker holds index x (pid 1)\","
        "\"sleep_ms\":1000}";
    child_stats_update(&movies.stats, waiting, 0);
    child_stats_update(&genres.stats, waiting, 0);
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_worker_waiting gauge\n"));
    assert_non_null(strstr(text, "\netl_worker_waiting{index=\"movies\"} 1\n"));
    assert_non_null(strstr(text, "\netl_worker_waiting{index=\"genres\"} 0\n"));
    free(text);
    child_stats_update(&movies.stats, "{\"event\":\"idle\",\"sleep_ms\":1000}", 0);
    text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "\netl_worker_waiting{index=\"movies\"} 0\n"));
    free(text);
}

/* etl_search_node_info: the node each worker sends to, after its first
 * node event; none before. */
static void test_search_node_info_names_the_node_in_use(void **unused)
{
    (void)unused;
    static struct child movies = {.name = "movies", .index = "movies"};
    static struct child genres = {.name = "genres", .index = "genres"};
    static struct child *slots[] = {&movies, &genres};
    static struct supervisor sup;
    sup.children = slots;
    sup.children_count = 2;
    child_stats_update(&movies.stats, "{\"event\":\"node\",\"node\":\"http://es1:9200\"}", 0);
    assert_int_equal(
        child_stats_update(&movies.stats, "{\"event\":\"node\",\"node\":\"http://es2:9200\"}", 0),
        CHILD_EVENT_NODE);
    char *text = metrics_text(&sup, 0);
    assert_non_null(strstr(text, "# TYPE etl_search_node_info gauge\n"));
    assert_non_null(
        strstr(text, "\netl_search_node_info{index=\"movies\",node=\"http://es2:9200\"} 1\n"));
    assert_null(strstr(text, "node=\"http://es1:9200\""));
    assert_null(strstr(text, "etl_search_node_info{index=\"genres\""));
    free(text);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropped_log_lines_are_a_counter),
        cmocka_unit_test(test_search_engine_info_escapes_what_the_engine_said),
        cmocka_unit_test(test_refusal_series),
        cmocka_unit_test(test_worker_waiting),
        cmocka_unit_test(test_search_node_info_names_the_node_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
