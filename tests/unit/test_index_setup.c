/* test_index_setup.c - what es_dialect builds and reads for index_setup:
 * mapping_matches (the live mapping of a GET /INDEX/_mapping response
 * against the mapping file, what index_setup decides by), the creation
 * body of a build (refresh off, the file untouched) and the settings that
 * make it searchable (the file's refresh_interval back). */
#include "search_engine.h"
#include "util.h"

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

/* A mapping file with text as its settings (and a mapping). */
static json_t *file_with_settings(const char *settings)
{
    char *text = xasprintf("{\"settings\":%s,\"mappings\":{\"dynamic\":\"strict\"}}", settings);
    json_error_t error;
    json_t *file = json_loads(text, 0, &error);
    free(text);
    assert_non_null(file);
    return file;
}

/* The body's JSON equals expected's (key order aside). */
static void assert_json_text(const char *body, const char *expected)
{
    json_error_t error;
    json_t *got = json_loads(body, 0, &error);
    json_t *want = json_loads(expected, 0, &error);
    assert_non_null(got);
    assert_non_null(want);
    if (!json_equal(got, want))
        fail_msg("got %s, want %s", body, expected);
    json_decref(got);
    json_decref(want);
}

/* The creation body of a build, for a file whose settings are settings. */
static void expect_loading_body(const char *settings, const char *expected)
{
    json_t *file = file_with_settings(settings);
    char *before = json_dumps(file, JSON_COMPACT | JSON_SORT_KEYS);
    char *body = es_dialect.create_body(file, "movies_build", REFRESH_OFF);
    assert_json_text(body, expected);
    /* the file itself is untouched: the live index is compared with it */
    char *after = json_dumps(file, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(before, after);
    free(after);
    free(body);
    free(before);
    json_decref(file);
}

static void test_loading_body_turns_refresh_off(void **state)
{
    (void)state;
    /* flat, in place of the file's */
    expect_loading_body("{\"refresh_interval\":\"1s\",\"number_of_shards\":1}",
                        "{\"settings\":{\"refresh_interval\":\"-1\",\"number_of_shards\":1},"
                        "\"mappings\":{\"dynamic\":\"strict\"},"
                        "\"aliases\":{\"movies_build\":{}}}");
    /* nested under index: moved flat (both would be refused) */
    expect_loading_body("{\"index\":{\"refresh_interval\":\"5s\",\"number_of_replicas\":0}}",
                        "{\"settings\":{\"index\":{\"number_of_replicas\":0},"
                        "\"refresh_interval\":\"-1\"},"
                        "\"mappings\":{\"dynamic\":\"strict\"},"
                        "\"aliases\":{\"movies_build\":{}}}");
    /* none set, or no settings at all */
    expect_loading_body("{}", "{\"settings\":{\"refresh_interval\":\"-1\"},"
                              "\"mappings\":{\"dynamic\":\"strict\"},"
                              "\"aliases\":{\"movies_build\":{}}}");
    json_error_t error;
    json_t *bare = json_loads("{\"mappings\":{}}", 0, &error);
    char *body = es_dialect.create_body(bare, NULL, REFRESH_OFF);
    assert_json_text(body, "{\"settings\":{\"refresh_interval\":\"-1\"},\"mappings\":{}}");
    assert_null(json_object_get(bare, "settings"));
    free(body);
    json_decref(bare);
}

/* The settings body that makes an index of a file whose settings are
 * settings searchable again. */
static void expect_searchable_body(const char *settings, const char *expected)
{
    json_t *file = file_with_settings(settings);
    char *body = es_dialect.searchable_settings_body(file);
    assert_json_text(body, expected);
    free(body);
    json_decref(file);
}

static void test_searchable_settings_body(void **state)
{
    (void)state;
    expect_searchable_body("{\"refresh_interval\":\"1s\"}",
                           "{\"index\":{\"refresh_interval\":\"1s\"}}");
    expect_searchable_body("{\"index\":{\"refresh_interval\":\"30s\"}}",
                           "{\"index\":{\"refresh_interval\":\"30s\"}}");
    /* flat wins over nested, as the engine reads them */
    expect_searchable_body("{\"refresh_interval\":\"2s\",\"index\":{\"refresh_interval\":\"3s\"}}",
                           "{\"index\":{\"refresh_interval\":\"2s\"}}");
    /* none: null, the engine's default */
    expect_searchable_body("{}", "{\"index\":{\"refresh_interval\":null}}");
    expect_searchable_body("{\"number_of_shards\":1}", "{\"index\":{\"refresh_interval\":null}}");
    char *path = es_dialect.settings_path("movies_20240101000000000");
    assert_string_equal(path, "/movies_20240101000000000/_settings");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_mapping),
        cmocka_unit_test(test_different_mapping),
        cmocka_unit_test(test_unreadable_response),
        cmocka_unit_test(test_shipped_mapping_files_parse),
        cmocka_unit_test(test_loading_body_turns_refresh_off),
        cmocka_unit_test(test_searchable_settings_body),
    };
    return cmocka_run_group_tests_name("index_setup", tests, setup, teardown);
}
