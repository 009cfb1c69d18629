/* test_cursor.c - the text of a cursor and of a snapshot as PostgreSQL
 * prints them (cursor.c): cursor_is_txid and snapshot_is_valid (the state
 * file's checks), snapshot_bound (xmin and xmax), cursor_window_start and
 * cursor_is_uuid. */
#include "cursor.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

/* An xid8 is decimal digits, at most 2^64 - 1. */
static void test_txid_text(void **state)
{
    (void)state;
    assert_true(cursor_is_txid("0"));
    assert_true(cursor_is_txid("751"));
    assert_true(cursor_is_txid("18446744073709551615"));
    assert_false(cursor_is_txid(""));
    assert_false(cursor_is_txid("-1"));
    assert_false(cursor_is_txid("12a"));
    assert_false(cursor_is_txid("123456789012345678901"));
    assert_false(cursor_is_txid("18446744073709551616"));
    assert_false(cursor_is_txid("99999999999999999999"));
    assert_false(cursor_is_txid("2021-06-16 20:14:09+00"));
}

/* "xmin:xmax:xip,...", nothing else. */
static void test_snapshot_text(void **state)
{
    (void)state;
    assert_true(snapshot_is_valid("1:1:"));
    assert_true(snapshot_is_valid("741:745:741,743"));
    assert_true(snapshot_is_valid("741:745:742"));
    assert_false(snapshot_is_valid(""));
    assert_false(snapshot_is_valid("741:745"));
    assert_false(snapshot_is_valid("741:745:742,"));
    assert_false(snapshot_is_valid("741:745:,742"));
    assert_false(snapshot_is_valid("741::"));
    assert_false(snapshot_is_valid("a:745:"));
    assert_false(snapshot_is_valid("741:745:742 "));
}

/* xmin and xmax, as text. */
static void test_snapshot_bounds(void **state)
{
    (void)state;
    char out[CURSOR_TEXT_MAX];
    assert_true(snapshot_bound("741:745:741,743", 0, out, sizeof out));
    assert_string_equal(out, "741");
    assert_true(snapshot_bound("741:745:741,743", 1, out, sizeof out));
    assert_string_equal(out, "745");
    assert_false(snapshot_bound("garbage", 0, out, sizeof out));
    assert_string_equal(out, "");
}

/* A window's cursors start at its start's xmin, their group done; the
 * modified shown is kept. */
/* snapshot_covers: a later snapshot sees all an earlier one sees, by
 * visibility, not by comparing texts or one bound. */
static void test_snapshot_covers(void **state)
{
    (void)state;
    /* the same, or the same transactions seen */
    assert_true(snapshot_covers("100:105:100,102", "100:105:100,102"));
    /* later: 100 and 102 committed, 107 in progress, xmax moved on */
    assert_true(snapshot_covers("102:110:102,107", "100:105:100,102"));
    assert_false(snapshot_covers("100:105:100,102", "102:110:102,107"));
    /* one xmax, one transaction fewer in progress: the later one */
    assert_true(snapshot_covers("100:105:100", "100:105:100,102"));
    assert_false(snapshot_covers("100:105:100,102", "100:105:100"));
    /* a lower xmax, but b sees nothing from it on: every such id is in
     * progress at b */
    assert_true(snapshot_covers("100:103:", "100:105:103,104"));
    assert_false(snapshot_covers("100:103:", "100:105:104"));
    /* a's xmax below b's xmin: b sees ids a has never heard of */
    assert_false(snapshot_covers("90:95:", "100:105:"));
    /* nothing visible (a full load's start) covers only itself */
    assert_true(snapshot_covers(SNAPSHOT_NONE, SNAPSHOT_NONE));
    assert_false(snapshot_covers(SNAPSHOT_NONE, "5:5:"));
    assert_true(snapshot_covers("5:5:", SNAPSHOT_NONE));
    /* in progress at a, committed below b's xmin: b sees it */
    assert_false(snapshot_covers("100:110:101", "105:110:"));
    /* ids up to 2^64 - 1 */
    assert_true(snapshot_covers("18446744073709551614:18446744073709551615:",
                                "18446744073709551614:18446744073709551615:18446744073709551614"));
    /* not snapshots */
    assert_false(snapshot_covers("", "1:1:"));
    assert_false(snapshot_covers("1:1:", "x"));
}

static void test_window_start(void **state)
{
    (void)state;
    struct cursor c;
    cursor_set_within(&c, "900", "3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a11",
                      "3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a12", "2026-12-02 05:00:00+00");
    cursor_window_start(&c, "950:960:955");
    assert_string_equal(c.txid, "950");
    assert_string_equal(c.id, CURSOR_START.id);
    assert_string_equal(c.doc_id, CURSOR_GROUP_DONE);
    assert_string_equal(c.modified, "2026-12-02 05:00:00+00");
}

/* Only what PostgreSQL prints for a uuid goes into the uuid[] literal. */
static void test_uuid_text(void **state)
{
    (void)state;
    assert_true(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a11"));
    assert_true(cursor_is_uuid("00000000-0000-0000-0000-000000000000"));
    assert_false(cursor_is_uuid("3D8D9BDE-E9E4-4B8F-9D4E-0C6F3C0D6A11")); /* never printed so */
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a1"));
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d6a111"));
    assert_false(cursor_is_uuid("3d8d9bdee9e44b8f9d4e0c6f3c0d6a11"));
    assert_false(cursor_is_uuid("3d8d9bde-e9e4-4b8f-9d4e,0c6f3c0d6a11"));
    assert_false(cursor_is_uuid("film:3d8d9bde-e9e4-4b8f-9d4e-0c6f3c0d"));
    assert_false(cursor_is_uuid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txid_text),       cmocka_unit_test(test_snapshot_text),
        cmocka_unit_test(test_snapshot_bounds), cmocka_unit_test(test_window_start),
        cmocka_unit_test(test_uuid_text),       cmocka_unit_test(test_snapshot_covers),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
