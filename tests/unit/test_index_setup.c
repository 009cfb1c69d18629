/* test_index_setup.c - es_dialect's mapping_matches, what index_setup
 * decides by: the live mapping of a GET /INDEX/_mapping response against the
 * mapping file. */
#include "search_engine.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* A mapping file: settings and mappings. */
static const char definition_text[] =
    "{\"settings\":{\"refresh_interval\":\"1s\"},"
    "\"mappings\":{\"dynamic\":\"strict\",\"properties\":{"
    "\"id\":{\"type\":\"keyword\"},"
    "\"imdb_rating\":{\"type\":\"float\"},"
    "\"title\":{\"type\":\"text\",\"analyzer\":\"ru_en\","
    "\"fields\":{\"raw\":{\"type\":\"keyword\"}}},"
    "\"actors\":{\"type\":\"nested\",\"dynamic\":\"strict\",\"properties\":{"
    "\"id\":{\"type\":\"keyword\"},\"name\":{\"type\":\"text\",\"analyzer\":\"ru_en\"}}}}}}";

static json_t *definition;

static int setup(void **state)
{
    (void)state;
    json_error_t error;
    definition = json_loads(definition_text, 0, &error);
    return definition == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(definition);
    return 0;
}

static int matches(const char *response)
{
    return es_dialect.mapping_matches(response, strlen(response), definition);
}

static void test_equal_mapping(void **state)
{
    (void)state;
    /* the same mapping, keys in another order, under the concrete index */
    const char *response =
        "{\"movies_v1\":{\"mappings\":{\"properties\":{"
        "\"actors\":{\"properties\":{\"name\":{\"analyzer\":\"ru_en\",\"type\":\"text\"},"
        "\"id\":{\"type\":\"keyword\"}},\"dynamic\":\"strict\",\"type\":\"nested\"},"
        "\"title\":{\"fields\":{\"raw\":{\"type\":\"keyword\"}},\"analyzer\":\"ru_en\","
        "\"type\":\"text\"},"
        "\"imdb_rating\":{\"type\":\"float\"},"
        "\"id\":{\"type\":\"keyword\"}},\"dynamic\":\"strict\"}}}";
    assert_int_equal(matches(response), 1);
}

static void test_different_mapping(void **state)
{
    (void)state;
    /* a field's type */
    assert_int_equal(matches("{\"movies\":{\"mappings\":{\"dynamic\":\"strict\",\"properties\":{"
                             "\"id\":{\"type\":\"keyword\"},"
                             "\"imdb_rating\":{\"type\":\"double\"},"
                             "\"title\":{\"type\":\"text\",\"analyzer\":\"ru_en\","
                             "\"fields\":{\"raw\":{\"type\":\"keyword\"}}},"
                             "\"actors\":{\"type\":\"nested\",\"dynamic\":\"strict\","
                             "\"properties\":{\"id\":{\"type\":\"keyword\"},"
                             "\"name\":{\"type\":\"text\",\"analyzer\":\"ru_en\"}}}}}}}"),
                     0);
    /* a field missing */
    assert_int_equal(matches("{\"movies\":{\"mappings\":{\"dynamic\":\"strict\",\"properties\":{"
                             "\"id\":{\"type\":\"keyword\"},"
                             "\"imdb_rating\":{\"type\":\"float\"},"
                             "\"title\":{\"type\":\"text\",\"analyzer\":\"ru_en\","
                             "\"fields\":{\"raw\":{\"type\":\"keyword\"}}}}}}}"),
                     0);
    /* dynamic not strict */
    assert_int_equal(matches("{\"movies\":{\"mappings\":{\"properties\":{"
                             "\"id\":{\"type\":\"keyword\"},"
                             "\"imdb_rating\":{\"type\":\"float\"},"
                             "\"title\":{\"type\":\"text\",\"analyzer\":\"ru_en\","
                             "\"fields\":{\"raw\":{\"type\":\"keyword\"}}},"
                             "\"actors\":{\"type\":\"nested\",\"dynamic\":\"strict\","
                             "\"properties\":{\"id\":{\"type\":\"keyword\"},"
                             "\"name\":{\"type\":\"text\",\"analyzer\":\"ru_en\"}}}}}}}"),
                     0);
    /* an index created without any mapping */
    assert_int_equal(matches("{\"movies\":{\"mappings\":{}}}"), 0);
}

static void test_unreadable_response(void **state)
{
    (void)state;
    assert_int_equal(matches(""), -1);
    assert_int_equal(matches("not json"), -1);
    assert_int_equal(matches("[]"), -1);
    assert_int_equal(matches("{}"), -1);
    assert_int_equal(matches("{\"movies\":{}}"), -1);
    assert_int_equal(matches("{\"movies\":{\"settings\":{}}}"), -1);
    assert_int_equal(matches("{\"movies\":42}"), -1);
    /* an alias over two indices: which one is meant is unclear */
    assert_int_equal(matches("{\"a\":{\"mappings\":{}},\"b\":{\"mappings\":{}}}"), -1);
    /* the length given counts */
    const char *response = "{\"movies\":{\"mappings\":{}}}";
    assert_int_equal(es_dialect.mapping_matches(response, strlen(response) - 1, definition), -1);
}

static void test_shipped_mapping_files_parse(void **state)
{
    (void)state;
    /* each etc/elasticsearch file has settings and mappings, and matches a
     * response carrying its own mappings */
    const char *names[] = {"movies", "genres", "persons"};
    const char *self = __FILE__;
    size_t root_len = strlen(self) - strlen("tests/unit/test_index_setup.c");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%.*setc/elasticsearch/%s.json", (int)root_len, self, names[i]);
        json_error_t error;
        json_t *file = json_load_file(path, 0, &error);
        if (file == NULL) {
            if (i > 0)
                continue; /* only movies is required so far */
            fail_msg("%s: line %d: %s", path, error.line, error.text);
        }
        assert_true(json_is_object(json_object_get(file, "settings")));
        json_t *mappings = json_object_get(file, "mappings");
        assert_true(json_is_object(mappings));
        json_t *response = json_pack("{s:{s:O}}", names[i], "mappings", mappings);
        char *text = json_dumps(response, JSON_COMPACT);
        assert_int_equal(es_dialect.mapping_matches(text, strlen(text), file), 1);
        free(text);
        json_decref(response);
        json_decref(file);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_mapping),
        cmocka_unit_test(test_different_mapping),
        cmocka_unit_test(test_unreadable_response),
        cmocka_unit_test(test_shipped_mapping_files_parse),
    };
    return cmocka_run_group_tests_name("index_setup", tests, setup, teardown);
}
