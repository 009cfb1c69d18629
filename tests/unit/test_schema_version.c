/* test_schema_version.c - the compiled-in schema version against the
 * migration files (common/schema_version.h, supervisor/etlctl/
 * schema_files.h), the verdicts and their sentences, and how a
 * no-transaction migration is split into statements. */
#include "schema_files.h"
#include "schema_version.h"
#include "unit_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* The Makefile passes the absolute path; this one works from the top. */
#ifndef ETL_MIGRATIONS_DIR
#define ETL_MIGRATIONS_DIR "etc/postgres/migrations"
#endif

/* The expected version is the last migration's, and the files run from 1
 * without a gap, each transactional but those marked. */
static void test_expected_is_the_last_file(void **state)
{
    (void)state;
    struct schema_migrations all;
    char err[512] = "";
    assert_int_equal(schema_files_read(ETL_MIGRATIONS_DIR, &all, err, sizeof err), 0);
    assert_int_equal((int)all.count, SCHEMA_VERSION_EXPECTED);
    assert_string_equal(all.items[0].name, "0001_catalogue");
    assert_false(all.items[0].no_transaction);
    assert_true(all.items[2].no_transaction);
    assert_non_null(all.version_table_sql);
    schema_files_free(&all);
}

/* A gap in the numbers, and a missing directory, are errors. */
static void test_bad_directories(void **state)
{
    (void)state;
    char dir[256];
    ut_make_temp_dir(dir, sizeof dir);
    char path[512];
    snprintf(path, sizeof path, "%s/0001_a.sql", dir);
    ut_write_file(path, "SELECT 1;\n");
    snprintf(path, sizeof path, "%s/0003_c.sql", dir);
    ut_write_file(path, "SELECT 3;\n");
    snprintf(path, sizeof path, "%s/" SCHEMA_VERSION_TABLE_FILE, dir);
    ut_write_file(path, "SELECT 0;\n");
    struct schema_migrations all;
    char err[512] = "";
    assert_int_equal(schema_files_read(dir, &all, err, sizeof err), -1);
    assert_non_null(strstr(err, "migration 0002 is missing"));
    snprintf(path, sizeof path, "%s/0002_b.sql", dir);
    ut_write_file(path, "SELECT 2;\n");
    assert_int_equal(schema_files_read(dir, &all, err, sizeof err), 0);
    assert_int_equal((int)all.count, 3);
    schema_files_free(&all);
    ut_remove_tree(dir);
    assert_int_equal(schema_files_read(dir, &all, err, sizeof err), -1);
}

/* Old, current, newer, missing, and 0.1.0's catalogue without a table. */
static void test_verdicts(void **state)
{
    (void)state;
    char text[512];
    struct schema_found v010 = {false, true, SCHEMA_VERSION_BASELINE};
    assert_int_equal(schema_version_judge(&v010, 3), SCHEMA_OLD);
    schema_version_explain(&v010, 3, text, sizeof text);
    assert_non_null(strstr(text, "version 1 (0.1.0, no version table), this build needs 3"));
    assert_non_null(strstr(text, SCHEMA_UPGRADE_COMMAND));
    struct schema_found current = {true, true, 3};
    assert_int_equal(schema_version_judge(&current, 3), SCHEMA_CURRENT);
    struct schema_found newer = {true, true, 4};
    assert_int_equal(schema_version_judge(&newer, 3), SCHEMA_NEWER);
    schema_version_explain(&newer, 3, text, sizeof text);
    assert_non_null(strstr(text, "version 4, newer than this build's 3"));
    struct schema_found none = {false, false, 0};
    assert_int_equal(schema_version_judge(&none, 3), SCHEMA_MISSING);
}

/* Statements end at ';' outside quotes; comments go. */
static void test_split(void **state)
{
    (void)state;
    char **out;
    char err[256];
    int n = schema_files_split("-- a comment; not a statement\n"
                               "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"a;b\" ON t (x);\n"
                               "/* block; */ DROP INDEX CONCURRENTLY IF EXISTS s.i; \n",
                               &out, err, sizeof err);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"a;b\" ON t (x)");
    assert_string_equal(out[1], "DROP INDEX CONCURRENTLY IF EXISTS s.i");
    for (int i = 0; i < n; i++)
        free(out[i]);
    free(out);
    assert_int_equal(schema_files_split("SELECT 1; DO $$ BEGIN END $$;", &out, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "dollar quote"));
    assert_int_equal(schema_files_split("SELECT 1; SELECT 2", &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "after the last ';'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_is_the_last_file),
        cmocka_unit_test(test_bad_directories),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
