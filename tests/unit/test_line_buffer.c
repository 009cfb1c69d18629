/* test_line_buffer.c - the splitter of pipes and sockets into whole lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "line_buffer.h"

#include <stdio.h>
#include <string.h>

/* What the handler saw: the lines joined with '|', truncated ones marked. */
struct seen {
    char text[512];
    int count;
};

/* Records one line. */
static void collect(void *ctx, const char *text, size_t len, bool truncated)
{
    struct seen *seen = ctx;
    assert_int_equal(strlen(text), len);
    size_t used = strlen(seen->text);
    snprintf(seen->text + used, sizeof seen->text - used, "%s%s%s", seen->count ? "|" : "", text,
             truncated ? "(cut)" : "");
    seen->count++;
}

/* Feeds text in pieces of the given size. */
static void feed_in_pieces(struct line_buffer *lb, const char *text, size_t piece,
                           struct seen *seen)
{
    size_t len = strlen(text);
    for (size_t at = 0; at < len; at += piece)
        line_buffer_feed(lb, text + at, len - at < piece ? len - at : piece, collect, seen);
}

/* Feeds text to a buffer of the given limit in pieces of every size from
 * 1 to max_piece; each time the handler must see want. */
static void expect_lines(size_t limit, const char *text, size_t max_piece, const char *want)
{
    for (size_t piece = 1; piece <= max_piece; piece++) {
        struct line_buffer lb;
        struct seen seen = {0};
        line_buffer_init(&lb, limit);
        feed_in_pieces(&lb, text, piece, &seen);
        assert_string_equal(seen.text, want);
        line_buffer_free(&lb);
    }
}

/* Lines come out whole however the bytes are cut. */
static void test_whole_lines_any_piece_size(void **unused)
{
    (void)unused;
    for (size_t piece = 1; piece <= 12; piece++) {
        struct line_buffer lb;
        struct seen seen = {0};
        line_buffer_init(&lb, 64);
        feed_in_pieces(&lb, "one\ntwo words\n\nthree", piece, &seen);
        assert_string_equal(seen.text, "one|two words|");
        assert_int_equal(seen.count, 3);
        assert_true(line_buffer_pending(&lb));
        line_buffer_finish(&lb, collect, &seen);
        assert_string_equal(seen.text, "one|two words||three");
        assert_false(line_buffer_pending(&lb));
        line_buffer_free(&lb);
    }
}

/* A long line is cut at the limit and its tail dropped; the next line is
 * intact. */
static void test_long_line_is_cut_and_tail_dropped(void **unused)
{
    (void)unused;
    expect_lines(5, "abcdefghij\nxy\n", 20, "abcde(cut)|xy");
}

/* A line of exactly the limit is whole, not cut. */
static void test_line_of_exactly_the_limit_is_whole(void **unused)
{
    (void)unused;
    expect_lines(5, "abcde\nabcdef\n", 8, "abcde|abcde(cut)");
}

/* Finishing after a cut line hands nothing more on. */
static void test_finish_after_cut(void **unused)
{
    (void)unused;
    struct line_buffer lb;
    struct seen seen = {0};
    line_buffer_init(&lb, 3);
    line_buffer_feed(&lb, "abcdef", 6, collect, &seen);
    line_buffer_finish(&lb, collect, &seen);
    assert_string_equal(seen.text, "abc(cut)");
    line_buffer_feed(&lb, "z\n", 2, collect, &seen);
    assert_string_equal(seen.text, "abc(cut)|z");
    line_buffer_free(&lb);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_lines_any_piece_size),
        cmocka_unit_test(test_long_line_is_cut_and_tail_dropped),
        cmocka_unit_test(test_line_of_exactly_the_limit_is_whole),
        cmocka_unit_test(test_finish_after_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
