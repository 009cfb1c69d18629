/* test_control_proto.c - requests and replies of the control socket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "control_proto.h"

#include <string.h>

/* Parses line and expects success. */
static struct control_request parse_ok(const char *line)
{
    struct control_request req;
    char err[256] = "";
    assert_int_equal(control_parse_request(line, &req, err, sizeof err), 0);
    return req;
}

/* Parses line and expects a failure whose reason contains want. */
static void parse_fails(const char *line, const char *want)
{
    struct control_request req;
    char err[256] = "";
    assert_int_equal(control_parse_request(line, &req, err, sizeof err), -1);
    if (strstr(err, want) == NULL)
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", line, err, want);
}

/* Every command with the arguments it takes. */
static void test_valid_requests(void **unused)
{
    (void)unused;
    struct control_request req = parse_ok("status\n");
    assert_int_equal(req.command, CONTROL_STATUS);
    assert_string_equal(req.name, "");
    req = parse_ok("status movies");
    assert_int_equal(req.command, CONTROL_STATUS);
    assert_string_equal(req.name, "movies");
    req = parse_ok("  restart   genres \r\n");
    assert_int_equal(req.command, CONTROL_RESTART);
    assert_string_equal(req.name, "genres");
    req = parse_ok("stop persons");
    assert_int_equal(req.command, CONTROL_STOP);
    req = parse_ok("start persons");
    assert_int_equal(req.command, CONTROL_START);
    req = parse_ok("reopen-logs");
    assert_int_equal(req.command, CONTROL_REOPEN_LOGS);
    assert_string_equal(control_command_name(CONTROL_REOPEN_LOGS), "reopen-logs");
    req = parse_ok("reindex movies");
    assert_int_equal(req.command, CONTROL_REINDEX);
    assert_string_equal(req.name, "movies");
    req = parse_ok("reload\n");
    assert_int_equal(req.command, CONTROL_RELOAD);
    assert_string_equal(req.name, "");
    req = parse_ok("log-level movies debug\n");
    assert_int_equal(req.command, CONTROL_LOG_LEVEL);
    assert_string_equal(req.name, "movies");
    assert_string_equal(req.level, "debug");
    assert_string_equal(control_command_name(CONTROL_LOG_LEVEL), "log-level");
}

/* Wrong words and wrong numbers of words. */
static void test_invalid_requests(void **unused)
{
    (void)unused;
    parse_fails("", "empty");
    parse_fails("   \n", "empty");
    parse_fails("reboot", "unknown command");
    parse_fails("statusx", "unknown command");
    parse_fails("restart", "needs a worker name");
    parse_fails("stop", "needs a worker name");
    parse_fails("reopen-logs movies", "takes no worker name");
    parse_fails("reindex", "needs a worker name");
    parse_fails("status a b", "too many words");
    parse_fails("reload now", "takes no worker name");
    parse_fails("log-level", "needs a worker name");
    parse_fails("log-level movies", "needs a level");
    parse_fails("log-level movies debug now", "too many words");
    char long_name[200] = "start ";
    memset(long_name + 6, 'x', 100);
    parse_fails(long_name, "longer than 63");
    char long_word[200];
    memset(long_word, 'y', 150);
    long_word[150] = '\0';
    parse_fails(long_word, "unknown command");
}

/* Reply lines as the server writes them read back the same. */
static void test_reply_round_trip(void **unused)
{
    (void)unused;
    struct buffer out = {0};
    control_reply_data(&out, "name=movies pid=1");
    control_reply_ok(&out, NULL);
    control_reply_ok(&out, "restarted\nnow");
    control_reply_error(&out, CONTROL_ERR_UNKNOWN_WORKER, "no worker \"x\"");
    assert_string_equal(out.data, "data name=movies pid=1\nok\nok restarted now\n"
                                  "error unknown-worker no worker \"x\"\n");
    struct control_reply_line reply;
    assert_int_equal(control_parse_reply_line("data name=movies pid=1", &reply), 0);
    assert_int_equal(reply.kind, CONTROL_REPLY_DATA);
    assert_string_equal(reply.text, "name=movies pid=1");
    assert_int_equal(control_parse_reply_line("ok", &reply), 0);
    assert_int_equal(reply.kind, CONTROL_REPLY_OK);
    assert_string_equal(reply.text, "");
    assert_int_equal(control_parse_reply_line("error unknown-worker no worker \"x\"", &reply), 0);
    assert_int_equal(reply.kind, CONTROL_REPLY_ERROR);
    assert_int_equal(reply.error, CONTROL_ERR_UNKNOWN_WORKER);
    assert_string_equal(reply.text, "no worker \"x\"");
    assert_int_equal(control_parse_reply_line("error config refused", &reply), 0);
    assert_int_equal(reply.error, CONTROL_ERR_CONFIG);
    assert_string_equal(reply.text, "refused");
    assert_int_equal(control_parse_reply_line("error busy", &reply), 0);
    assert_int_equal(reply.error, CONTROL_ERR_BUSY);
    assert_int_equal(control_parse_reply_line("error not-running worker stopped", &reply), 0);
    assert_int_equal(reply.error, CONTROL_ERR_NOT_RUNNING);
    assert_int_equal(control_parse_reply_line("error strange thing", &reply), 0);
    assert_int_equal(reply.error, CONTROL_ERR_UNKNOWN_CODE);
    assert_int_equal(control_parse_reply_line("okay", &reply), -1);
    assert_int_equal(control_parse_reply_line("error", &reply), -1);
    assert_int_equal(control_parse_reply_line("hello", &reply), -1);
    buffer_free(&out);
}

/* A reply line never exceeds the protocol's limit. */
static void test_reply_capped(void **unused)
{
    (void)unused;
    static char text[CONTROL_LINE_MAX * 2];
    memset(text, 'a', sizeof text - 1);
    struct buffer out = {0};
    control_reply_data(&out, text);
    assert_int_equal(out.len, CONTROL_LINE_MAX);
    assert_int_equal(out.data[out.len - 1], '\n');
    buffer_free(&out);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_requests),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
