/* test_metrics_text.c - series of the Prometheus text: the log lines the
 * supervisor's stdout dropped, and the search engine each worker found. */
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
        cmocka_unit_test(test_search_node_info_names_the_node_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
