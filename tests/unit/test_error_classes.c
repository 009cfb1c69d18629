/* test_error_classes.c - the dialect's classes of errors (es_dialect.c):
 * every bulk item and every failed bulk request is done, a document
 * refused for good (the rejects file), the index refusing writes for now
 * (kept, sent again), a missing alias, or unknown (kept, sent again).
 *
 * The answers below are the real ones of OpenSearch 2.19.1 and
 * Elasticsearch 7.10.2 (recorded from the test nodes of
 * compose/native/es-node.sh with curl; both engines answered the same
 * bodies but for ES7's "_type":"_doc"), except the security_exception
 * ones: the test nodes run without security, so those are the bodies
 * quoted in public bug reports (Elasticsearch's, item and request, from
 * its users' reports; OpenSearch's security plugin in its own words, the
 * action named by the bulk request). */
#include "search_engine.h"

#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* One item of a bulk answer for action id "1", its classes expected. */
struct item_case {
    const char *what;
    const char *answer; /* the whole bulk answer, one item */
    bool is_delete;
    enum bulk_outcome outcome;
    int status;
    const char *type;  /* expected type, or NULL */
    const char *index; /* expected concrete index, or NULL */
};

/* The items of the two engines' real answers (the ES7 variant carries
 * "_type"; the dialect does not read it). */
static const struct item_case item_cases[] = {
    {"index.blocks.write", /* OpenSearch 2.19.1 */
     "{\"took\":4,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"status\":403,\"error\":{\"type\":\"cluster_block_exception\",\"reason\":\"index [p1] "
     "blocked by: [FORBIDDEN/8/index write (api)];\"}}}]}",
     false, BULK_REFUSING, 403, "cluster_block_exception", NULL},
    {"index.blocks.write on a delete", /* Elasticsearch 7.10.2 */
     "{\"took\":1,\"errors\":true,\"items\":[{\"delete\":{\"_index\":\"p1\",\"_type\":\"_doc\","
     "\"_id\":\"1\",\"status\":403,\"error\":{\"type\":\"cluster_block_exception\","
     "\"reason\":\"index [p1] blocked by: [FORBIDDEN/8/index write (api)];\"}}}]}",
     true, BULK_REFUSING, 403, "cluster_block_exception", NULL},
    {"index.blocks.read_only",
     "{\"took\":1,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"status\":403,\"error\":{\"type\":\"cluster_block_exception\",\"reason\":\"index [p1] "
     "blocked by: [FORBIDDEN/5/index read-only (api)];\"}}}]}",
     false, BULK_REFUSING, 403, "cluster_block_exception", NULL},
    {"index.blocks.read_only_allow_delete (the flood-stage block)",
     "{\"took\":0,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"status\":429,\"error\":{\"type\":\"cluster_block_exception\",\"reason\":\"index [p1] "
     "blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has "
     "read-only-allow-delete block];\"}}}]}",
     false, BULK_REFUSING, 429, "cluster_block_exception", NULL},
    {"a closed index",
     "{\"took\":0,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"pa\",\"_id\":\"1\","
     "\"status\":400,\"error\":{\"type\":\"index_closed_exception\",\"reason\":\"closed\","
     "\"index\":\"p1\",\"index_uuid\":\"8qkzW6qIRu-mh68Qa84dxQ\"}}}]}",
     false, BULK_REFUSING, 400, "index_closed_exception", "p1"},
    {"a closed index, a delete",
     "{\"took\":0,\"errors\":true,\"items\":[{\"delete\":{\"_index\":\"pa\",\"_type\":\"_doc\","
     "\"_id\":\"1\",\"status\":400,\"error\":{\"type\":\"index_closed_exception\","
     "\"reason\":\"closed\",\"index_uuid\":\"FHWkGZhQSNapD5wbvcIe0w\",\"index\":\"p1\"}}}]}",
     true, BULK_REFUSING, 400, "index_closed_exception", "p1"},
    {"an alias of two indices, no write index",
     "{\"took\":0,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"pa\",\"_id\":\"1\","
     "\"status\":400,\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"no write "
     "index is defined for alias [pa]. The write index may be explicitly disabled using "
     "is_write_index=false or the alias points to multiple indices without one being "
     "designated as a write index\"}}}]}",
     false, BULK_REFUSING, 400, "illegal_argument_exception", NULL},
    {"unavailable shards", /* Elasticsearch 7.10.2, a primary not allocated, timeout=1s */
     "{\"took\":1004,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"u1\",\"_type\":\"_doc\","
     "\"_id\":\"1\",\"status\":503,\"error\":{\"type\":\"unavailable_shards_exception\","
     "\"reason\":\"[u1][0] primary shard is not active Timeout: [1s], request: "
     "[BulkShardRequest [[u1][0]] containing [index {[ua][_doc][1], source[_na_]}]]\"}}}]}",
     false, BULK_REFUSING, 503, "unavailable_shards_exception", NULL},
    {"unavailable shards (OpenSearch 2.19.1)",
     "{\"took\":1021,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"u1\",\"_id\":\"1\","
     "\"status\":503,\"error\":{\"type\":\"unavailable_shards_exception\",\"reason\":\"[u1][0] "
     "primary shard is not active Timeout: [1s]\"}}}]}",
     false, BULK_REFUSING, 503, "unavailable_shards_exception", NULL},
    {"security_exception (Elasticsearch, a role without write on the index)",
     "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"netflow-2022.05.11\",\"_id\":\"1\","
     "\"status\":403,\"error\":{\"type\":\"security_exception\",\"reason\":\"action "
     "[indices:data/write/bulk[s]] is unauthorized for user [logstash_internal] with roles "
     "[logstash_writer] on indices [netflow-2022.05.11], this action is granted by the index "
     "privileges [create_doc,create,delete,index,write,all]\"}}}]}",
     false, BULK_REFUSING, 403, "security_exception", NULL},
    {"security_exception (OpenSearch's security plugin)",
     "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"movies\",\"_id\":\"1\",\"status\":403,"
     "\"error\":{\"type\":\"security_exception\",\"reason\":\"no permissions for "
     "[indices:data/write/bulk[s]] and User [name=etl, backend_roles=[], "
     "requestedTenant=null]\"}}}]}",
     false, BULK_REFUSING, 403, "security_exception", NULL},
    {"the alias is missing",
     "{\"took\":1,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"nosuch\",\"_id\":\"1\","
     "\"status\":404,\"error\":{\"type\":\"index_not_found_exception\",\"reason\":\"no such "
     "index [nosuch] and [require_alias] request flag is [true] and [nosuch] is not an "
     "alias\",\"index\":\"nosuch\",\"index_uuid\":\"_na_\"}}}]}",
     false, BULK_NO_INDEX, 404, "index_not_found_exception", "nosuch"},
    {"a field the strict mapping does not have",
     "{\"took\":31,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"status\":400,\"error\":{\"type\":\"strict_dynamic_mapping_exception\",\"reason\":"
     "\"mapping set to strict, dynamic introduction of [colour] within [_doc] is not "
     "allowed\"}}}]}",
     false, BULK_REJECTED, 400, "strict_dynamic_mapping_exception", NULL},
    {"a value the field cannot take (Infinity in a float)",
     "{\"took\":31,\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to "
     "parse field [rating] of type [float] in document with id '1'. Preview of field's value: "
     "'Infinity'\",\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"[float] "
     "supports only finite values, but got [Infinity]\"}}}}]}",
     false, BULK_REJECTED, 400, "mapper_parsing_exception", NULL},
    {"a field's limit (illegal_argument_exception not about an alias)",
     "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\",\"status\":400,"
     "\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"Limit of total fields "
     "[1000] in index [p1] has been exceeded\"}}}]}",
     false, BULK_REJECTED, 400, "illegal_argument_exception", NULL},
    {"a delete of a document already gone",
     "{\"took\":31,\"errors\":true,\"items\":[{\"delete\":{\"_index\":\"p1\",\"_id\":\"1\","
     "\"_version\":1,\"result\":\"not_found\",\"_shards\":{\"total\":1,\"successful\":1,"
     "\"failed\":0},\"_seq_no\":1,\"_primary_term\":1,\"status\":404}}]}",
     true, BULK_DONE, 404, NULL, NULL},
    {"a newer version in the index (external_gte): done, the newer one stays",
     "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\",\"status\":409,"
     "\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":\"[1]: version "
     "conflict, current version [5] is higher than the provided version [3]\"}}}]}",
     false, BULK_DONE, 409, NULL, NULL},
    {"an error type nobody listed",
     "{\"errors\":true,\"items\":[{\"index\":{\"_index\":\"p1\",\"_id\":\"1\",\"status\":409,"
     "\"error\":{\"type\":\"something_new_exception\",\"reason\":\"[1]: new\"}}}]}",
     false, BULK_UNKNOWN, 409, "something_new_exception", NULL},
};

/* Each real item classed as the table says, its texts kept for the log. */
static void test_items_of_real_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof item_cases / sizeof item_cases[0]; i++) {
        const struct item_case *c = &item_cases[i];
        const struct bulk_action action = {"1", c->is_delete ? NULL : "{\"title\":\"x\"}", 0};
        struct bulk_item_result result;
        if (es_dialect.bulk_parse_response(c->answer, strlen(c->answer), &action, 1, &result) != 0)
            fail_msg("%s: not read", c->what);
        if (result.outcome != c->outcome)
            fail_msg("%s: %s, not %s", c->what, bulk_outcome_name(result.outcome),
                     bulk_outcome_name(c->outcome));
        assert_int_equal(result.status, c->status);
        if (c->type == NULL)
            assert_null(result.type);
        else
            assert_string_equal(result.type, c->type);
        if (c->index == NULL)
            assert_null(result.index);
        else
            assert_string_equal(result.index, c->index);
        if (c->outcome != BULK_DONE) {
            assert_non_null(result.error);
            assert_non_null(result.reason);
        }
        bulk_results_free(&result, 1);
    }
}

/* A whole request's failure and its class. */
struct request_case {
    const char *what;
    long status;
    const char *body;
    enum bulk_outcome outcome;
    const char *type;
};

static const struct request_case request_cases[] = {
    {"cluster.blocks.read_only (both engines)", 403,
     "{\"error\":{\"root_cause\":[{\"type\":\"cluster_block_exception\",\"reason\":\"blocked by: "
     "[FORBIDDEN/6/cluster read-only (api)];\"}],\"type\":\"cluster_block_exception\","
     "\"reason\":\"blocked by: [FORBIDDEN/6/cluster read-only (api)];\"},\"status\":403}",
     BULK_REFUSING, "cluster_block_exception"},
    {"the in-flight requests breaker (both engines)", 429,
     "{\"error\":{\"root_cause\":[{\"type\":\"circuit_breaking_exception\",\"reason\":"
     "\"[in_flight_requests] Data too large, data for [<http_request>] would be [100/100b], "
     "which is larger than the limit of [10/10b]\",\"bytes_wanted\":100,\"bytes_limit\":10,"
     "\"durability\":\"TRANSIENT\"}],\"type\":\"circuit_breaking_exception\",\"reason\":"
     "\"[in_flight_requests] Data too large, data for [<http_request>] would be [100/100b], "
     "which is larger than the limit of [10/10b]\",\"bytes_wanted\":100,\"bytes_limit\":10,"
     "\"durability\":\"TRANSIENT\"},\"status\":429}",
     BULK_REFUSING, "circuit_breaking_exception"},
    {"security_exception: no write privilege (Elasticsearch)", 403,
     "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"action "
     "[indices:data/write/bulk] is unauthorized for user [logstash_collector] with effective "
     "roles [remote_monitoring_collector] (assigned roles [create,create_doc,delete,index,write] "
     "were not found), this action is granted by the index privileges "
     "[create_doc,create,delete,index,write,all]\"}],\"type\":\"security_exception\",\"reason\":"
     "\"action [indices:data/write/bulk] is unauthorized for user [logstash_collector] with "
     "effective roles [remote_monitoring_collector] (assigned roles "
     "[create,create_doc,delete,index,write] were not found), this action is granted by the "
     "index privileges [create_doc,create,delete,index,write,all]\"},\"status\":403}",
     BULK_REFUSING, "security_exception"},
    {"security_exception: no permission (OpenSearch's security plugin)", 403,
     "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"no permissions "
     "for [indices:data/write/bulk] and User [name=etl, backend_roles=[], "
     "requestedTenant=null]\"}],\"type\":\"security_exception\",\"reason\":\"no permissions for "
     "[indices:data/write/bulk] and User [name=etl, backend_roles=[], requestedTenant=null]\"},"
     "\"status\":403}",
     BULK_REFUSING, "security_exception"},
    {"security_exception: credentials refused (a revoked API key)", 401,
     "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"unable to "
     "authenticate with provided credentials and anonymous access is not allowed for this "
     "request\"}],\"type\":\"security_exception\",\"reason\":\"unable to authenticate with "
     "provided credentials and anonymous access is not allowed for this request\"},"
     "\"status\":401}",
     BULK_REFUSING, "security_exception"},
    {"a proxy's 502 page", 502, "<html>502 Bad Gateway</html>", BULK_REFUSING, NULL},
    {"a 403 without a body", 403, "", BULK_REFUSING, NULL},
    {"a body the engine could not read (never one rejected document)", 400,
     "{\"error\":{\"root_cause\":[{\"type\":\"json_parse_exception\",\"reason\":\"Unrecognized "
     "token 'garbage'\"}],\"type\":\"json_parse_exception\",\"reason\":\"Unrecognized token "
     "'garbage'\"},\"status\":400}",
     BULK_UNKNOWN, "json_parse_exception"},
    {"a request without its last newline", 400,
     "{\"error\":{\"root_cause\":[{\"type\":\"illegal_argument_exception\",\"reason\":\"The bulk "
     "request must be terminated by a newline [\\\\n]\"}],\"type\":\"illegal_argument_exception\","
     "\"reason\":\"The bulk request must be terminated by a newline [\\\\n]\"},\"status\":400}",
     BULK_UNKNOWN, "illegal_argument_exception"},
    {"an index_not_found for the whole request (items say a missing alias)", 404,
     "{\"error\":{\"type\":\"index_not_found_exception\",\"reason\":\"no such index\"},"
     "\"status\":404}",
     BULK_UNKNOWN, "index_not_found_exception"},
    {"an error as a plain string", 400, "{\"error\":\"bad\",\"status\":400}", BULK_UNKNOWN, NULL},
};

/* A failed request is a refusal or unknown, never done nor a document. */
static void test_failed_requests(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof request_cases / sizeof request_cases[0]; i++) {
        const struct request_case *c = &request_cases[i];
        struct bulk_item_result result;
        es_dialect.request_failure(c->status, c->body, strlen(c->body), &result);
        if (result.outcome != c->outcome)
            fail_msg("%s: %s, not %s", c->what, bulk_outcome_name(result.outcome),
                     bulk_outcome_name(c->outcome));
        assert_int_equal(result.status, c->status);
        if (c->type == NULL)
            assert_null(result.type);
        else
            assert_string_equal(result.type, c->type);
        bulk_results_free(&result, 1);
        assert_null(result.type);
        assert_null(result.error);
    }
}

/* The table row by row through classify_error, statuses included. */
struct class_case {
    int status;
    bool is_delete;
    const char *type;
    const char *reason;
    enum bulk_outcome outcome;
};

static const struct class_case class_cases[] = {
    {200, false, NULL, NULL, BULK_DONE},
    {201, false, NULL, NULL, BULK_DONE},
    {404, true, NULL, NULL, BULK_DONE},
    {404, false, NULL, NULL, BULK_UNKNOWN},
    {403, false, "cluster_block_exception", "index [x] blocked", BULK_REFUSING},
    {429, false, "cluster_block_exception", "index [x] blocked", BULK_REFUSING},
    {400, false, "index_closed_exception", "closed", BULK_REFUSING},
    {400, false, "illegal_argument_exception", "no write index is defined for alias [x].",
     BULK_REFUSING},
    {400, false, "illegal_argument_exception", "Document contains at least one immense term",
     BULK_REJECTED},
    {400, false, "illegal_argument_exception", NULL, BULK_REJECTED},
    {403, false, "security_exception", "unauthorized", BULK_REFUSING},
    {401, false, "security_exception", "unable to authenticate", BULK_REFUSING},
    {503, false, "unavailable_shards_exception", "primary shard is not active", BULK_REFUSING},
    {503, false, "no_shard_available_action_exception", NULL, BULK_REFUSING},
    {429, false, "es_rejected_execution_exception", "queue full", BULK_REFUSING},
    {429, false, "rejected_execution_exception", "queue full", BULK_REFUSING},
    {429, false, "circuit_breaking_exception", "Data too large", BULK_REFUSING},
    {503, false, "master_not_discovered_exception", NULL, BULK_REFUSING},
    {503, false, "cluster_manager_not_discovered_exception", NULL, BULK_REFUSING},
    {404, false, "index_not_found_exception", "no such index", BULK_NO_INDEX},
    {404, true, "index_not_found_exception", "no such index", BULK_NO_INDEX},
    {400, false, "mapper_parsing_exception", NULL, BULK_REJECTED},
    {400, false, "document_parsing_exception", NULL, BULK_REJECTED},
    {400, false, "strict_dynamic_mapping_exception", NULL, BULK_REJECTED},
    {400, false, "mapper_exception", NULL, BULK_REJECTED},
    {400, false, "x_content_parse_exception", NULL, BULK_REJECTED},
    {400, false, "json_parse_exception", NULL, BULK_REJECTED},
    {400, false, "not_x_content_exception", NULL, BULK_REJECTED},
    {400, false, "routing_missing_exception", NULL, BULK_REJECTED},
    /* the engine's "not now" wins over a document's class */
    {503, false, "mapper_parsing_exception", NULL, BULK_REFUSING},
    {429, false, NULL, NULL, BULK_REFUSING},
    {500, false, "something_new_exception", NULL, BULK_REFUSING},
    {403, false, NULL, NULL, BULK_REFUSING},
    {401, false, NULL, NULL, BULK_REFUSING},
    /* nobody listed it: kept, never rejected */
    {400, false, "something_new_exception", NULL, BULK_UNKNOWN},
    {409, false, "version_conflict_engine_exception", NULL, BULK_DONE},
    {400, false, NULL, NULL, BULK_UNKNOWN},
    {0, false, NULL, NULL, BULK_UNKNOWN},
};

static void test_classify_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof class_cases / sizeof class_cases[0]; i++) {
        const struct class_case *c = &class_cases[i];
        enum bulk_outcome got =
            es_dialect.classify_error(c->status, c->is_delete, c->type, c->reason);
        if (got != c->outcome)
            fail_msg("%d %s %s: %s, not %s", c->status, c->type ? c->type : "(no type)",
                     c->is_delete ? "delete" : "index", bulk_outcome_name(got),
                     bulk_outcome_name(c->outcome));
    }
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(bulk_outcome_name(BULK_DONE), "done");
    assert_string_equal(bulk_outcome_name(BULK_REJECTED), "document_refused");
    assert_string_equal(bulk_outcome_name(BULK_REFUSING), "index_refusing");
    assert_string_equal(bulk_outcome_name(BULK_UNKNOWN), "unknown");
    assert_string_equal(bulk_outcome_name(BULK_UNCONFIRMED), "unconfirmed");
    assert_string_equal(bulk_outcome_name(BULK_NO_INDEX), "alias_missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_of_real_answers),
        cmocka_unit_test(test_failed_requests),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_outcome_names),
    };
    return cmocka_run_group_tests_name("error_classes", tests, NULL, NULL);
}
