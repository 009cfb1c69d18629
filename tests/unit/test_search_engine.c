/* test_search_engine.c - es_dialect apart from bulk and mappings (see
 * test_bulk.c, test_index_setup.c): the server's identity from GET /, and
 * the paths and body of index creation, scroll pages with documents and
 * _mget answers (verify). */
#include "search_engine.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_helpers.h"

/* text must be read as distribution and version. */
static void expect_identity(const char *text, const char *distribution, const char *version)
{
    struct search_engine_identity identity;
    if (es_dialect.parse_identity(text, strlen(text), &identity) != 0)
        fail_msg("not identified: %s", text);
    assert_string_equal(identity.distribution, distribution);
    assert_string_equal(identity.version, version);
}

/* text must be refused, leaving an empty identity. */
static void expect_unidentified(const char *text)
{
    struct search_engine_identity identity;
    memset(&identity, 'x', sizeof identity);
    if (es_dialect.parse_identity(text, strlen(text), &identity) != -1)
        fail_msg("identified: %s", text);
    assert_string_equal(identity.distribution, "");
    assert_string_equal(identity.version, "");
}

static void test_opensearch(void **state)
{
    (void)state;
    expect_identity("{\"name\":\"node-1\",\"cluster_name\":\"etl\","
                    "\"cluster_uuid\":\"dCYCFaKSSbaT7Hh8uTjQHw\","
                    "\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.19.1\","
                    "\"build_type\":\"tar\",\"lucene_version\":\"9.12.1\","
                    "\"minimum_wire_compatibility_version\":\"7.10.0\"},"
                    "\"tagline\":\"The OpenSearch Project: https://opensearch.org/\"}",
                    "opensearch", "2.19.1");
}

static void test_elasticsearch_has_no_distribution(void **state)
{
    (void)state;
    expect_identity("{\"name\":\"es01\",\"cluster_name\":\"docker-cluster\","
                    "\"version\":{\"number\":\"8.14.1\",\"build_flavor\":\"default\","
                    "\"build_type\":\"docker\",\"lucene_version\":\"9.10.0\"},"
                    "\"tagline\":\"You Know, for Search\"}",
                    "elasticsearch", "8.14.1");
    expect_identity("{\"version\":{\"number\":\"7.17.22\",\"build_flavor\":\"default\"},"
                    "\"tagline\":\"You Know, for Search\"}",
                    "elasticsearch", "7.17.22");
}

static void test_no_identity(void **state)
{
    (void)state;
    expect_unidentified("");
    expect_unidentified("<html>502 Bad Gateway</html>");
    expect_unidentified("[]");
    expect_unidentified("{}");
    expect_unidentified("{\"version\":\"8.14.1\"}");
    expect_unidentified("{\"version\":{}}");
    expect_unidentified("{\"version\":{\"number\":8}}");
    expect_unidentified("{\"version\":{\"number\":\"\"}}");
    expect_unidentified("{\"version\":{\"distribution\":\"opensearch\"}}");
    expect_unidentified("{\"version\":{\"distribution\":null,\"number\":\"2.19.1\"}}");
    expect_unidentified("{\"version\":{\"distribution\":\"\",\"number\":\"2.19.1\"}}");
    expect_unidentified("{\"error\":{\"type\":\"security_exception\"},\"status\":401}");
    /* longer than an identity holds */
    char text[128];
    char number[SEARCH_ENGINE_IDENTITY_MAX + 1];
    memset(number, '9', SEARCH_ENGINE_IDENTITY_MAX);
    number[SEARCH_ENGINE_IDENTITY_MAX] = '\0';
    snprintf(text, sizeof text, "{\"version\":{\"number\":\"%s\"}}", number);
    expect_unidentified(text);
    /* the length given is what counts, not the NUL */
    const char *whole = "{\"version\":{\"number\":\"8.14.1\"}}";
    struct search_engine_identity identity;
    assert_int_equal(es_dialect.parse_identity(whole, strlen(whole) - 1, &identity), -1);
}

static void test_longest_identity_fits(void **state)
{
    (void)state;
    char text[128];
    char number[SEARCH_ENGINE_IDENTITY_MAX];
    memset(number, '1', SEARCH_ENGINE_IDENTITY_MAX - 1);
    number[SEARCH_ENGINE_IDENTITY_MAX - 1] = '\0';
    snprintf(text, sizeof text, "{\"version\":{\"number\":\"%s\"}}", number);
    expect_identity(text, "elasticsearch", number);
}

static void test_index_creation(void **state)
{
    (void)state;
    assert_string_equal(es_dialect.bulk_path, "/_bulk?require_alias=true");
    UT_ASSERT_STRING_FREE(es_dialect.mapping_path("movies"), "/movies/_mapping");
    UT_ASSERT_STRING_FREE(es_dialect.create_path("movies"), "/movies");
    /* the mapping file as it is */
    json_error_t error;
    json_t *definition = json_loads("{\"settings\":{\"refresh_interval\":\"1s\"},"
                                    "\"mappings\":{\"dynamic\":\"strict\"}}",
                                    0, &error);
    assert_non_null(definition);
    char *body = es_dialect.create_body(definition, NULL, REFRESH_AS_FILE);
    json_t *sent = json_loads(body, 0, &error);
    assert_true(json_equal(sent, definition));
    free(body);
    json_decref(sent);
    /* with an alias: created together, the file itself untouched */
    body = es_dialect.create_body(definition, "movies_build", REFRESH_AS_FILE);
    sent = json_loads(body, 0, &error);
    assert_non_null(json_object_get(json_object_get(sent, "aliases"), "movies_build"));
    assert_null(json_object_get(definition, "aliases"));
    free(body);
    json_decref(sent);
    json_decref(definition);
}

/* A scroll page with documents gives each id its _source; a hit without
 * one, when they are wanted, makes the page untrusted. */
static void test_scroll_with_sources(void **state)
{
    (void)state;
    const char *page = "{\"_scroll_id\":\"S1\",\"hits\":{\"hits\":["
                       "{\"_id\":\"a\",\"_source\":{\"t\":1}},{\"_id\":\"b\",\"_source\":{}}]}}";
    char *scroll_id;
    char **ids;
    size_t count;
    json_t *sources;
    assert_int_equal(
        es_dialect.scroll_parse(page, strlen(page), &scroll_id, &ids, &count, &sources), 0);
    assert_string_equal(scroll_id, "S1");
    assert_int_equal(count, 2);
    assert_string_equal(ids[1], "b");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(sources, 0), "t")), 1);
    free(scroll_id);
    ids_free(ids, count);
    json_decref(sources);
    const char *bare = "{\"_scroll_id\":\"S1\",\"hits\":{\"hits\":[{\"_id\":\"a\"}]}}";
    assert_int_equal(
        es_dialect.scroll_parse(bare, strlen(bare), &scroll_id, &ids, &count, &sources), -1);
    assert_int_equal(es_dialect.scroll_parse(bare, strlen(bare), &scroll_id, &ids, &count, NULL),
                     0);
    free(scroll_id);
    ids_free(ids, count);
    char *body = es_dialect.scroll_start_body(7, true);
    assert_null(strstr(body, "_source"));
    free(body);
}

/* _mget: found or not, in the order asked; another id is refused. */
static void test_mget(void **state)
{
    (void)state;
    const char *ids[] = {"a", "b"};
    UT_ASSERT_STRING_FREE(es_dialect.mget_body(ids, 2), "{\"ids\":[\"a\",\"b\"]}");
    UT_ASSERT_STRING_FREE(es_dialect.mget_path("movies", false), "/movies/_mget?_source=false");
    const char *answer = "{\"docs\":[{\"_id\":\"a\",\"found\":true,\"_source\":{\"x\":2}},"
                         "{\"_id\":\"b\",\"found\":false}]}";
    bool found[2];
    json_t *sources;
    assert_int_equal(es_dialect.mget_parse(answer, strlen(answer), ids, 2, found, &sources), 0);
    assert_true(found[0]);
    assert_false(found[1]);
    assert_true(json_is_null(json_array_get(sources, 1)));
    json_decref(sources);
    const char *other[] = {"a", "c"};
    assert_int_equal(es_dialect.mget_parse(answer, strlen(answer), other, 2, found, NULL), -1);
}

/* One atomic request: the old index's alias off, the new one's on, the
 * legacy concrete index deleted. */
static void test_alias_actions(void **state)
{
    (void)state;
    const struct alias_action actions[] = {
        {ALIAS_REMOVE_INDEX, "movies", NULL},
        {ALIAS_ADD, "movies_20260101000000000", "movies"},
        {ALIAS_REMOVE, "movies_20260101000000000", "movies_build"},
    };
    char *body = es_dialect.aliases_body(actions, 3);
    assert_string_equal(body, "{\"actions\":[{\"remove_index\":{\"index\":\"movies\"}},"
                              "{\"add\":{\"index\":\"movies_20260101000000000\",\"alias\":"
                              "\"movies\"}},{\"remove\":{\"index\":"
                              "\"movies_20260101000000000\",\"alias\":\"movies_build\"}}]}");
    free(body);
    assert_string_equal(es_dialect.aliases_path, "/_aliases");
    UT_ASSERT_STRING_FREE(es_dialect.list_path("movies_"),
                          "/_cat/indices/movies_*?format=json&h=index");
    UT_ASSERT_STRING_FREE(es_dialect.delete_path("movies_20260101000000000"),
                          "/movies_20260101000000000");
}

/* Which concrete index a mapping answer is about; the index listing. */
static void test_owner_and_listing(void **state)
{
    (void)state;
    char owner[32];
    const char *one = "{\"movies_20260101000000000\":{\"mappings\":{}}}";
    assert_int_equal(es_dialect.mapping_owner(one, strlen(one), owner, sizeof owner), 0);
    assert_string_equal(owner, "movies_20260101000000000");
    assert_int_equal(es_dialect.mapping_owner(one, strlen(one), owner, 10), -1);
    const char *two = "{\"a\":{},\"b\":{}}";
    assert_int_equal(es_dialect.mapping_owner(two, strlen(two), owner, sizeof owner), -1);
    char **names;
    size_t count;
    const char *rows = "[{\"index\":\"movies_1\"},{\"index\":\"movies_2\"}]";
    assert_int_equal(es_dialect.list_parse(rows, strlen(rows), &names, &count), 0);
    assert_int_equal(count, 2);
    assert_string_equal(names[1], "movies_2");
    ids_free(names, count);
    const char *bad = "[{\"index\":1}]";
    assert_int_equal(es_dialect.list_parse(bad, strlen(bad), &names, &count), -1);
}

/* distribution and version must be given the ES dialect, or refused
 * with a reason that names them and what is supported. */
static void expect_selected(const char *distribution, const char *version, bool supported)
{
    struct search_engine_identity identity = {0};
    snprintf(identity.distribution, sizeof identity.distribution, "%s", distribution);
    snprintf(identity.version, sizeof identity.version, "%s", version);
    char why[256] = "";
    const struct search_engine_ops *ops = search_engine_select(&identity, why, sizeof why);
    if (supported && ops != &es_dialect)
        fail_msg("%s %s refused: %s", distribution, version, why);
    if (!supported && ops != NULL)
        fail_msg("%s %s accepted", distribution, version);
    if (!supported && (strstr(why, version) == NULL || strstr(why, "supported: ") == NULL))
        fail_msg("%s %s: reason \"%s\"", distribution, version, why);
}

static void test_supported_engines(void **state)
{
    (void)state;
    expect_selected("elasticsearch", "7.10.2", true);
    expect_selected("elasticsearch", "7.17.22", true);
    expect_selected("elasticsearch", "8.0.0", true);
    expect_selected("elasticsearch", "8.14.1", true);
    expect_selected("elasticsearch", "8.15.0-SNAPSHOT", true);
    expect_selected("opensearch", "2.0.0", true);
    expect_selected("opensearch", "2.19.1", true);
    /* too old, too new, another distribution, not a version */
    expect_selected("elasticsearch", "7.9.3", false);
    expect_selected("elasticsearch", "6.8.23", false);
    expect_selected("elasticsearch", "9.0.0", false);
    expect_selected("opensearch", "1.3.19", false);
    expect_selected("opensearch", "3.0.0", false);
    expect_selected("solr", "9.6.1", false);
    expect_selected("elasticsearch", "eight", false);
    expect_selected("elasticsearch", "8", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opensearch),
        cmocka_unit_test(test_elasticsearch_has_no_distribution),
        cmocka_unit_test(test_no_identity),
        cmocka_unit_test(test_longest_identity_fits),
        cmocka_unit_test(test_index_creation),
        cmocka_unit_test(test_scroll_with_sources),
        cmocka_unit_test(test_mget),
        cmocka_unit_test(test_alias_actions),
        cmocka_unit_test(test_owner_and_listing),
        cmocka_unit_test(test_supported_engines),
    };
    return cmocka_run_group_tests_name("search_engine", tests, NULL, NULL);
}
