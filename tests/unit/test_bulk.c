/* test_bulk.c - the bulk half of es_dialect (Elasticsearch 7/8, OpenSearch
 * 2): building _bulk NDJSON and reading its response item by item. */
#include "search_engine.h"

#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define ID1 "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff"
#define ID2 "0312ed51-8833-413f-bff5-0e139c11264a"
#define ID3 "025c58cd-1b7e-43be-9ffb-8571a613579b"

static const struct bulk_action three_actions[] = {
    {ID1, "{\"id\":\"" ID1 "\",\"title\":\"Star Wars\"}", 0},
    {ID2, NULL, 0},
    {ID3, "{\"id\":\"" ID3 "\",\"title\":\"Star Trek\"}", 0},
};

/* Parses body for actions; the caller frees results. */
static int parse(const char *body, const struct bulk_action *actions, size_t count,
                 struct bulk_item_result *results)
{
    return es_dialect.bulk_parse_response(body, strlen(body), actions, count, results);
}

static void test_build_index_and_delete_lines(void **state)
{
    (void)state;
    struct buffer body = {0};
    es_dialect.bulk_build(&body, "movies", three_actions, 3);
    assert_string_equal(body.data, "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID1 "\"}}\n"
                                   "{\"id\":\"" ID1 "\",\"title\":\"Star Wars\"}\n"
                                   "{\"delete\":{\"_index\":\"movies\",\"_id\":\"" ID2 "\"}}\n"
                                   "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID3 "\"}}\n"
                                   "{\"id\":\"" ID3 "\",\"title\":\"Star Trek\"}\n");
    assert_int_equal(body.len, strlen(body.data));
    buffer_free(&body);
}

static void test_build_appends(void **state)
{
    (void)state;
    struct buffer body = {0};
    buffer_append_str(&body, "prefix\n");
    const struct bulk_action del = {"x", NULL, 0};
    es_dialect.bulk_build(&body, "movies", &del, 1);
    es_dialect.bulk_build(&body, "genres", &del, 1);
    assert_string_equal(body.data, "prefix\n"
                                   "{\"delete\":{\"_index\":\"movies\",\"_id\":\"x\"}}\n"
                                   "{\"delete\":{\"_index\":\"genres\",\"_id\":\"x\"}}\n");
    buffer_free(&body);
}

static void test_build_nothing(void **state)
{
    (void)state;
    struct buffer body = {0};
    es_dialect.bulk_build(&body, "movies", three_actions, 0);
    assert_int_equal(body.len, 0);
    buffer_free(&body);
}

static void test_build_quotes_ids(void **state)
{
    (void)state;
    struct buffer body = {0};
    const struct bulk_action odd[] = {
        {"a\"b\\c", "{}", 0},
        {"line\nbreak", NULL, 0},
        {"Фильм", NULL, 0},
    };
    es_dialect.bulk_build(&body, "in\"dex", odd, 3);
    assert_string_equal(body.data,
                        "{\"index\":{\"_index\":\"in\\\"dex\",\"_id\":\"a\\\"b\\\\c\"}}\n"
                        "{}\n"
                        "{\"delete\":{\"_index\":\"in\\\"dex\",\"_id\":\"line\\nbreak\"}}\n"
                        "{\"delete\":{\"_index\":\"in\\\"dex\",\"_id\":\"Фильм\"}}\n");
    /* every line is JSON on its own */
    char *copy = strdup(body.data);
    assert_non_null(copy);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t error;
        json_t *value = json_loads(line, 0, &error);
        if (value == NULL)
            fail_msg("line %d is not JSON: %s (%s)", lines + 1, line, error.text);
        json_decref(value);
        lines++;
    }
    assert_int_equal(lines, 4);
    free(copy);
    buffer_free(&body);
}

static void test_parse_all_ok(void **state)
{
    (void)state;
    const char *response = "{\"took\":30,\"errors\":false,\"items\":["
                           "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID1 "\",\"_version\":1,"
                           "\"result\":\"created\",\"status\":201}},"
                           "{\"delete\":{\"_index\":\"movies\",\"_id\":\"" ID2 "\",\"_version\":2,"
                           "\"result\":\"deleted\",\"status\":200}},"
                           "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID3 "\",\"_version\":3,"
                           "\"result\":\"updated\",\"status\":200}}]}";
    struct bulk_item_result results[3];
    assert_int_equal(parse(response, three_actions, 3, results), 0);
    const int statuses[] = {201, 200, 200};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(results[i].outcome, BULK_DONE);
        assert_int_equal(results[i].status, statuses[i]);
        assert_null(results[i].error);
    }
    bulk_results_free(results, 3);
}

static void test_parse_delete_404_is_done(void **state)
{
    (void)state;
    const struct bulk_action del = {ID2, NULL, 0};
    const char *response = "{\"errors\":false,\"items\":[{\"delete\":{\"_index\":\"movies\","
                           "\"_id\":\"" ID2 "\",\"result\":\"not_found\",\"status\":404}}]}";
    struct bulk_item_result result;
    assert_int_equal(parse(response, &del, 1, &result), 0);
    assert_int_equal(result.outcome, BULK_DONE);
    assert_int_equal(result.status, 404);
    assert_null(result.error);
    bulk_results_free(&result, 1);
}

/* A missing alias (require_alias) answers 404 with index_not_found for an
 * index and a delete alike: never a rejected document, never "done". */
static void test_parse_missing_alias(void **state)
{
    (void)state;
    const struct bulk_action actions[] = {{ID1, "{}", 0}, {ID2, NULL, 0}};
    const char *response =
        "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID1
        "\",\"status\":404,\"error\":{\"type\":\"index_not_found_exception\"}}},"
        "{\"delete\":{\"_index\":\"movies\",\"_id\":\"" ID2
        "\",\"status\":404,\"error\":{\"type\":\"index_not_found_exception\"}}}]}";
    struct bulk_item_result results[2];
    assert_int_equal(parse(response, actions, 2, results), 0);
    assert_int_equal(results[0].outcome, BULK_NO_INDEX);
    assert_int_equal(results[1].outcome, BULK_NO_INDEX);
    bulk_results_free(results, 2);
}

static void test_parse_retryable(void **state)
{
    (void)state;
    const char *response =
        "{\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID1 "\",\"status\":429,"
        "\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue full\"}}},"
        "{\"delete\":{\"_index\":\"movies\",\"_id\":\"" ID2 "\",\"status\":503,"
        "\"error\":{\"type\":\"unavailable_shards_exception\",\"reason\":\"primary down\"}}},"
        "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID3 "\",\"status\":500,"
        "\"error\":{\"type\":\"x\"}}}]}";
    struct bulk_item_result results[3];
    assert_int_equal(parse(response, three_actions, 3, results), 0);
    assert_int_equal(results[0].outcome, BULK_REFUSING);
    assert_int_equal(results[0].status, 429);
    assert_string_equal(results[0].error,
                        "{\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue full\"}");
    assert_string_equal(results[0].type, "es_rejected_execution_exception");
    assert_string_equal(results[0].reason, "queue full");
    assert_null(results[0].index);
    assert_int_equal(results[1].outcome, BULK_REFUSING);
    assert_int_equal(results[1].status, 503);
    assert_int_equal(results[2].outcome, BULK_REFUSING); /* any 5xx, whatever its type */
    assert_int_equal(results[2].status, 500);
    assert_null(results[2].reason);
    bulk_results_free(results, 3);
    for (int i = 0; i < 3; i++) {
        assert_null(results[i].error);
        assert_null(results[i].type);
        assert_null(results[i].reason);
    }
}

static void test_parse_rejected_keeps_error(void **state)
{
    (void)state;
    const char *response =
        "{\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID1 "\",\"status\":201}},"
        "{\"delete\":{\"_index\":\"movies\",\"_id\":\"" ID2 "\",\"status\":200}},"
        "{\"index\":{\"_index\":\"movies\",\"_id\":\"" ID3 "\",\"status\":400,"
        "\"error\":{\"type\":\"strict_dynamic_mapping_exception\","
        "\"reason\":\"mapping set to strict, dynamic introduction of [colour] within [_doc] "
        "is not allowed\"}}}]}";
    struct bulk_item_result results[3];
    assert_int_equal(parse(response, three_actions, 3, results), 0);
    assert_int_equal(results[0].outcome, BULK_DONE);
    assert_int_equal(results[1].outcome, BULK_DONE);
    assert_int_equal(results[2].outcome, BULK_REJECTED);
    assert_int_equal(results[2].status, 400);
    assert_non_null(results[2].error);
    assert_string_equal(results[2].error,
                        "{\"type\":\"strict_dynamic_mapping_exception\","
                        "\"reason\":\"mapping set to strict, dynamic introduction of [colour] "
                        "within [_doc] is not allowed\"}");
    bulk_results_free(results, 3);
}

/* Errors the table does not know are never rejected documents: they are
 * kept and sent again (BULK_UNKNOWN), fail safe. */
static void test_parse_other_statuses(void **state)
{
    (void)state;
    const struct bulk_action actions[] = {
        {"a", "{}", 0}, {"b", NULL, 0}, {"c", "{}", 0}, {"d", NULL, 0}};
    const char *response = "{\"items\":["
                           "{\"index\":{\"_id\":\"a\",\"status\":409,\"error\":\"conflict\"}},"
                           "{\"delete\":{\"_id\":\"b\",\"status\":400}},"
                           "{\"index\":{\"_id\":\"c\",\"status\":404}},"
                           "{\"delete\":{\"_id\":\"d\",\"status\":502}}]}";
    struct bulk_item_result results[4];
    assert_int_equal(parse(response, actions, 4, results), 0);
    assert_int_equal(results[0].outcome, BULK_UNKNOWN);
    assert_string_equal(results[0].error, "\"conflict\""); /* any JSON, kept as JSON */
    assert_null(results[0].type);
    assert_string_equal(results[0].reason, "conflict");
    assert_int_equal(results[1].outcome, BULK_UNKNOWN);
    assert_null(results[1].error);
    assert_int_equal(results[2].outcome, BULK_UNKNOWN); /* 404 only means done for a delete */
    assert_int_equal(results[3].outcome, BULK_REFUSING);
    bulk_results_free(results, 4);
}

/* Must be refused as a whole (-1), with nothing left to free. */
static void expect_untrusted(const char *response, const struct bulk_action *actions, size_t count)
{
    struct bulk_item_result results[4];
    assert_true(count <= 4);
    if (parse(response, actions, count, results) != -1)
        fail_msg("accepted: %s", response);
    for (size_t i = 0; i < count; i++)
        assert_null(results[i].error);
}

/* Fewer items than actions sent (a 200 with "errors": true, cut short):
 * the items there count, the actions without one are not confirmed and go
 * again (BULK_UNCONFIRMED, status 0). */
static void test_parse_fewer_items(void **state)
{
    (void)state;
    const char *response = "{\"errors\":true,\"items\":["
                           "{\"index\":{\"_id\":\"" ID3 "\",\"status\":400,"
                           "\"error\":{\"type\":\"mapper_parsing_exception\"}}},"
                           "{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}}]}";
    struct bulk_item_result results[3];
    assert_int_equal(parse(response, three_actions, 3, results), 0);
    assert_int_equal(results[0].outcome, BULK_DONE);
    assert_int_equal(results[0].status, 201);
    assert_int_equal(results[1].outcome, BULK_UNCONFIRMED);
    assert_int_equal(results[1].status, 0);
    assert_null(results[1].error);
    assert_int_equal(results[2].outcome, BULK_REJECTED);
    assert_string_equal(results[2].error, "{\"type\":\"mapper_parsing_exception\"}");
    bulk_results_free(results, 3);

    const struct bulk_action one = {ID1, "{}", 0};
    struct bulk_item_result result;
    assert_int_equal(parse("{\"errors\":false,\"items\":[]}", &one, 1, &result), 0);
    assert_int_equal(result.outcome, BULK_UNCONFIRMED);
    assert_int_equal(result.status, 0);
    bulk_results_free(&result, 1);
}

/* Items in another order than the actions: each is matched by its _id and
 * operation, so an outcome is never given to the wrong document. */
static void test_parse_out_of_order(void **state)
{
    (void)state;
    const char *response = "{\"errors\":true,\"items\":["
                           "{\"index\":{\"_id\":\"" ID3 "\",\"status\":400,"
                           "\"error\":{\"type\":\"mapper_parsing_exception\"}}},"
                           "{\"delete\":{\"_id\":\"" ID2 "\",\"status\":429}},"
                           "{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}}]}";
    struct bulk_item_result results[3];
    assert_int_equal(parse(response, three_actions, 3, results), 0);
    assert_int_equal(results[0].outcome, BULK_DONE);
    assert_int_equal(results[0].status, 201);
    assert_null(results[0].error);
    assert_int_equal(results[1].outcome, BULK_REFUSING);
    assert_int_equal(results[1].status, 429);
    assert_int_equal(results[2].outcome, BULK_REJECTED);
    assert_int_equal(results[2].status, 400);
    assert_string_equal(results[2].error, "{\"type\":\"mapper_parsing_exception\"}");
    bulk_results_free(results, 3);
}

/* More items than actions, or one action answered twice: not an answer to
 * this request. */
static void test_parse_extra_items(void **state)
{
    (void)state;
    expect_untrusted("{\"items\":["
                     "{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}},"
                     "{\"delete\":{\"_id\":\"" ID2 "\",\"status\":200}},"
                     "{\"index\":{\"_id\":\"" ID3 "\",\"status\":200}},"
                     "{\"index\":{\"_id\":\"" ID3 "\",\"status\":200}}]}",
                     three_actions, 3);
    expect_untrusted("{\"items\":["
                     "{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}},"
                     "{\"index\":{\"_id\":\"" ID1 "\",\"status\":429}}]}",
                     three_actions, 3);
}

static void test_parse_mismatched_ids(void **state)
{
    (void)state;
    /* an error item after a retryable one with an error text: freed */
    expect_untrusted("{\"items\":["
                     "{\"index\":{\"_id\":\"" ID1 "\",\"status\":429,\"error\":{\"a\":1}}},"
                     "{\"delete\":{\"_id\":\"wrong\",\"status\":200}},"
                     "{\"index\":{\"_id\":\"" ID3 "\",\"status\":200}}]}",
                     three_actions, 3);
    /* the wrong operation for the action */
    expect_untrusted("{\"items\":["
                     "{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}},"
                     "{\"index\":{\"_id\":\"" ID2 "\",\"status\":200}},"
                     "{\"index\":{\"_id\":\"" ID3 "\",\"status\":200}}]}",
                     three_actions, 3);
    /* missing or mistyped status and id */
    const struct bulk_action one = {ID1, "{}", 0};
    expect_untrusted("{\"items\":[{\"index\":{\"_id\":\"" ID1 "\"}}]}", &one, 1);
    expect_untrusted("{\"items\":[{\"index\":{\"_id\":\"" ID1 "\",\"status\":\"201\"}}]}", &one, 1);
    expect_untrusted("{\"items\":[{\"index\":{\"status\":201}}]}", &one, 1);
    expect_untrusted("{\"items\":[{\"index\":{\"_id\":5,\"status\":201}}]}", &one, 1);
}

static void test_parse_garbage(void **state)
{
    (void)state;
    const struct bulk_action one = {ID1, "{}", 0};
    expect_untrusted("", &one, 1);
    expect_untrusted("<html>502 Bad Gateway</html>", &one, 1);
    expect_untrusted("{\"error\":{\"type\":\"illegal_argument_exception\"},\"status\":400}", &one,
                     1);
    expect_untrusted("{\"items\":{}}", &one, 1);
    expect_untrusted("[{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}}]", &one, 1);
    expect_untrusted("{\"items\":[{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}}", &one, 1);
    expect_untrusted("{\"items\":[42]}", &one, 1);
    /* the length given is what counts, not the NUL */
    const char *response = "{\"items\":[{\"index\":{\"_id\":\"" ID1 "\",\"status\":201}}]}";
    struct bulk_item_result result;
    assert_int_equal(
        es_dialect.bulk_parse_response(response, strlen(response) - 2, &one, 1, &result), -1);
    assert_int_equal(es_dialect.bulk_parse_response(response, strlen(response), &one, 1, &result),
                     0);
    assert_int_equal(result.outcome, BULK_DONE);
    bulk_results_free(&result, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_index_and_delete_lines),
        cmocka_unit_test(test_build_appends),
        cmocka_unit_test(test_build_nothing),
        cmocka_unit_test(test_build_quotes_ids),
        cmocka_unit_test(test_parse_all_ok),
        cmocka_unit_test(test_parse_delete_404_is_done),
        cmocka_unit_test(test_parse_missing_alias),
        cmocka_unit_test(test_parse_retryable),
        cmocka_unit_test(test_parse_rejected_keeps_error),
        cmocka_unit_test(test_parse_other_statuses),
        cmocka_unit_test(test_parse_fewer_items),
        cmocka_unit_test(test_parse_out_of_order),
        cmocka_unit_test(test_parse_extra_items),
        cmocka_unit_test(test_parse_mismatched_ids),
        cmocka_unit_test(test_parse_garbage),
    };
    return cmocka_run_group_tests_name("bulk", tests, NULL, NULL);
}
