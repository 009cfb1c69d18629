/* test_exit_status.c - the table of exit statuses (common/exit_status.h):
 * its numbers, the usage texts printed from it, and the tables of
 * docs/operations.md, which must list exactly its rows for each program.
 *
 * A table of the docs follows a line "<!-- exit-status: KEY -->"; each of
 * its rows whose first cell is a number names its constant in the second
 * cell, in backticks ("| 78 | `EXIT_CONFIG` | ..."), in the order of
 * exit_status.h; a row whose first cell is not a number is a note. */
#include "exit_status.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* The Makefile passes the absolute path; this one works from the top. */
#ifndef ETL_OPERATIONS_MD
#define ETL_OPERATIONS_MD "docs/operations.md"
#endif

/* The marker before each table of the docs. */
#define MARKER_FMT "<!-- exit-status: %s -->"

/* Each table of the docs, and whose rows it lists. */
static const struct {
    const char *key;
    unsigned programs;
} doc_tables[] = {
    {"etl-worker", EXIT_BY_WORKER},         {"verify", EXIT_BY_VERIFY},
    {"etl-supervisor", EXIT_BY_SUPERVISOR}, {"etlctl", EXIT_BY_ETLCTL},
    {"etlctl check", EXIT_BY_CHECK},        {"etlctl schema", EXIT_BY_SCHEMA},
};

/* "NUMBER NAME\n" for each row of exit_status.h naming one of
 * programs, in its order: what the docs must list. */
static char *expected_rows(unsigned programs)
{
    struct buffer out = {0};
    buffer_append_str(&out, "");
    for (size_t i = 0; i < exit_status_rows_count; i++) {
        if ((exit_status_rows[i].programs & programs) == 0)
            continue;
        char *line = xasprintf("%d %s\n", exit_status_rows[i].status, exit_status_rows[i].name);
        buffer_append_str(&out, line);
        free(line);
    }
    return out.data;
}

/* The text of cell number index (0: the first) of a table row, trimmed, into
 * out; false when the row has fewer cells. */
static bool cell(const char *row, int index, char *out, size_t size)
{
    const char *p = strchr(row, '|');
    for (int i = 0; p != NULL && i < index; i++)
        p = strchr(p + 1, '|');
    if (p == NULL)
        return false;
    const char *end = strchr(p + 1, '|');
    if (end == NULL)
        return false;
    p++;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    snprintf(out, size, "%.*s", (int)(end - p), p);
    return true;
}

/* Appends "NUMBER NAME\n" for one row of a docs table (nothing for a note,
 * a first cell that is not a number); fails the test on a numbered row
 * that names no constant. */
static void append_row(struct buffer *out, const char *row)
{
    char status[64] = "";
    char name[128] = "";
    if (!cell(row, 0, status, sizeof status) || !isdigit((unsigned char)status[0]))
        return; /* a note: `signal:N`, (`--verify`), ... */
    char *end;
    long number = strtol(status, &end, 10);
    size_t len = 0;
    if (*end != '\0' || !cell(row, 1, name, sizeof name) || (len = strlen(name)) < 3 ||
        name[0] != '`' || name[len - 1] != '`') {
        fail_msg("%s: a row of a number must name its constant: %s", ETL_OPERATIONS_MD, row);
        return;
    }
    name[len - 1] = '\0';
    char *line = xasprintf("%ld %s\n", number, name + 1);
    buffer_append_str(out, line);
    free(line);
}

/* "NUMBER NAME\n" for each numbered row of the docs table after key's
 * marker; fails the test when the marker is missing or there twice (the
 * returns after a failure only keep the analyzer from following on). */
static char *doc_rows(const char *text, const char *key)
{
    char *marker = xasprintf(MARKER_FMT, key);
    const char *at = strstr(text, marker);
    bool once = at != NULL && strstr(at + 1, marker) == NULL;
    if (!once)
        fail_msg("%s: \"%s\" missing or there twice", ETL_OPERATIONS_MD, marker);
    free(marker);
    if (!once)
        return xstrdup("");
    struct buffer out = {0};
    buffer_append_str(&out, "");
    const char *line = strchr(at, '\n');
    /* The header and the separator, then the rows up to the first line
     * that is not one. */
    for (int n = 0; line != NULL && line[1] == '|'; n++) {
        line++;
        const char *next = strchr(line, '\n');
        char *row = next ? xasprintf("%.*s", (int)(next - line), line) : xstrdup(line);
        if (n >= 2)
            append_row(&out, row);
        free(row);
        line = next;
    }
    return out.data;
}

/* Every table of the docs lists exactly exit_status.h's rows of its program. */
static void test_docs_list_every_status(void **state)
{
    (void)state;
    char *text = read_whole_file(ETL_OPERATIONS_MD, NULL);
    if (text == NULL) {
        fail_msg("cannot read %s", ETL_OPERATIONS_MD);
        return;
    }
    for (size_t i = 0; i < sizeof doc_tables / sizeof doc_tables[0]; i++) {
        char *want = expected_rows(doc_tables[i].programs);
        char *got = doc_rows(text, doc_tables[i].key);
        if (strcmp(want, got) != 0)
            fail_msg("%s, table %s lists\n%sbut common/exit_status.h has\n%s", ETL_OPERATIONS_MD,
                     doc_tables[i].key, got, want);
        free(want);
        free(got);
    }
    free(text);
}

/* The table is by number, and every row names a program and a meaning. */
static void test_table_is_by_number(void **state)
{
    (void)state;
    assert_true(exit_status_rows_count > 0);
    for (size_t i = 0; i < exit_status_rows_count; i++) {
        assert_true((exit_status_rows[i].programs & ~(unsigned)EXIT_BY_ALL) == 0);
        assert_true(exit_status_rows[i].programs != 0);
        assert_true(exit_status_rows[i].meaning[0] != '\0');
        if (i > 0)
            assert_true(exit_status_rows[i - 1].status <= exit_status_rows[i].status);
    }
}

/* The numbers scripts and the integration tests rely on. */
static void test_numbers(void **state)
{
    (void)state;
    assert_int_equal(EXIT_STOPPED, 0);
    assert_int_equal(EXIT_USAGE, 64);
    assert_int_equal(EXIT_DIFFERS, 65);
    assert_int_equal(EXIT_UNKNOWN_WORKER, 67);
    assert_int_equal(EXIT_WORKER_STOPPED, 68);
    assert_int_equal(EXIT_NOT_RUNNING, 69);
    assert_int_equal(EXIT_TRY_LATER, 75);
    assert_int_equal(EXIT_ALREADY_RUNNING, 75);
    assert_int_equal(EXIT_CONFIG, 78);
    assert_int_equal(EXIT_EXEC_FAILED, 127);
    assert_int_equal(EXIT_INTERRUPTED, 130);
}

/* A usage text's section: its heading, then its programs' rows only. */
static void test_usage_section(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    exit_status_print_usage(out, "Exit status with --verify:", EXIT_BY_VERIFY);
    assert_int_equal(fclose(out), 0);
    assert_true(
        strncmp(text, "Exit status with --verify:\n", strlen("Exit status with --verify:\n")) == 0);
    assert_non_null(strstr(text, "\n    0  equal (or repaired)\n"));
    assert_non_null(strstr(text, "\n  130  interrupted by SIGINT/SIGTERM\n"));
    assert_null(strstr(text, "stopped by SIGTERM/SIGINT")); /* the loop's, not verify's */
    assert_null(strstr(text, "no worker of that name"));    /* etlctl's */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_list_every_status),
        cmocka_unit_test(test_table_is_by_number),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_usage_section),
    };
    return cmocka_run_group_tests_name("exit_status", tests, NULL, NULL);
}
