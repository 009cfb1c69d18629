/* fuzz_control_request.c - the supervisor's side of the control protocol:
 * bytes from a control connection split into lines as the supervisor
 * splits them (line_buffer, CONTROL_LINE_MAX), each line parsed as a
 * request.  A request that parses prints back ("COMMAND [NAME [LEVEL]]")
 * to a line that parses to the same request; a refused one has a reason. */
#include "control_proto.h"

#include "fuzz_helpers.h"

/* Room for the reason of a refused request. */
#define REASON_MAX 256

/* Parses one request line and checks the round trip. */
static void check_request(void *ctx, const char *text, size_t len, bool truncated)
{
    (void)ctx;
    (void)len;
    (void)truncated;
    struct control_request req;
    char err[REASON_MAX] = "";
    if (control_parse_request(text, &req, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort();
        return;
    }
    if (strnlen(req.name, sizeof req.name) == sizeof req.name ||
        strnlen(req.level, sizeof req.level) == sizeof req.level)
        abort();
    char again[CONTROL_LINE_MAX];
    snprintf(again, sizeof again, "%s%s%s%s%s", control_command_name(req.command),
             req.name[0] ? " " : "", req.name, req.level[0] ? " " : "", req.level);
    struct control_request back;
    if (control_parse_request(again, &back, err, sizeof err) != 0 || back.command != req.command ||
        strcmp(back.name, req.name) != 0 || strcmp(back.level, req.level) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_each_line(data, size, CONTROL_LINE_MAX - 1, check_request);
    return 0;
}
