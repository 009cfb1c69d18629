/* fuzz_control_reply.c - etlctl's side of the control protocol: bytes from
 * the supervisor split into lines as etlctl splits them, each parsed as a
 * reply line.  And the other way: a reply built from the input's text by
 * control_reply_data/ok/error is one line of at most CONTROL_LINE_MAX
 * bytes that parses back to its kind (and code). */
#include "control_proto.h"

#include "fuzz_helpers.h"

/* The error codes a supervisor sends (CONTROL_ERR_UNKNOWN_CODE is etlctl's
 * name for the others). */
#define SENT_ERROR_CODES (CONTROL_ERR_UNKNOWN_CODE)

/* Parses one reply line; its text must point into the line. */
static void check_reply(void *ctx, const char *text, size_t len, bool truncated)
{
    (void)ctx;
    (void)truncated;
    struct control_reply_line reply;
    if (control_parse_reply_line(text, &reply) != 0)
        return;
    if (reply.text[0] != '\0' && (reply.text < text || reply.text > text + len))
        abort();
    if (reply.kind == CONTROL_REPLY_ERROR && (int)reply.error > (int)CONTROL_ERR_UNKNOWN_CODE)
        abort();
}

/* Builds each kind of reply from text and reads it back. */
static void check_round_trip(const char *text, unsigned selector)
{
    struct buffer out = {0};
    enum control_reply_kind kind = (enum control_reply_kind)(selector % 3);
    enum control_error code = (enum control_error)((selector / 3) % SENT_ERROR_CODES);
    if (kind == CONTROL_REPLY_DATA)
        control_reply_data(&out, text);
    else if (kind == CONTROL_REPLY_OK)
        control_reply_ok(&out, text);
    else
        control_reply_error(&out, code, text);
    buffer_append(&out, "", 1);
    const char *newline = memchr(out.data, '\n', out.len);
    if (newline == NULL || (size_t)(newline - out.data) != out.len - 2 ||
        out.len - 1 > CONTROL_LINE_MAX)
        abort();
    out.data[out.len - 2] = '\0';
    struct control_reply_line reply;
    if (control_parse_reply_line(out.data, &reply) != 0 || reply.kind != kind ||
        (kind == CONTROL_REPLY_ERROR && reply.error != code))
        abort();
    buffer_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_line(data, size, CONTROL_LINE_MAX - 1, check_reply);
    if (size > 0) {
        char *text = fuzz_cstring(data + 1, size - 1);
        check_round_trip(text, data[0]);
        free(text);
    }
    return 0;
}
