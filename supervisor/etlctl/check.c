/* check.c - see check.h. */
#include "check.h"

#include "exit_status.h"
#include "health.h"
#include "logfmt_scan.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The exit status of each condition. */
static const int exit_of[HEALTH_COUNT] = {
    [HEALTH_READY] = EXIT_READY,
    [HEALTH_LAGGING] = EXIT_CHECK_LAGGING,
    [HEALTH_STARTING] = EXIT_CHECK_STARTING,
    [HEALTH_REFUSING] = EXIT_CHECK_REFUSING,
    [HEALTH_WAITING] = EXIT_CHECK_WAITING,
    [HEALTH_DOWN] = EXIT_CHECK_DOWN,
};

/* What health_judge needs, read from a status line (status.h): running
 * when state=running, refused (a running worker whose index refuses its
 * writes) or waiting (for another worker's writer lock) with a pid, the lag from lag_s (""
 * unknown).  False when a key is missing or lag_s is not a number. */
static bool input_of(const char *line, struct health_input *in)
{
    char state[32];
    char pid[32];
    char lag[64];
    if (!logfmt_get(line, "state", state, sizeof state) ||
        !logfmt_get(line, "pid", pid, sizeof pid) || !logfmt_get(line, "lag_s", lag, sizeof lag))
        return false;
    bool refused = strcmp(state, "refused") == 0;
    bool waiting = strcmp(state, "waiting") == 0;
    *in = (struct health_input){.running = (strcmp(state, "running") == 0 || refused || waiting) &&
                                           strcmp(pid, "0") != 0,
                                .refusing = refused,
                                .waiting = waiting};
    in->lag_known = lag[0] != '\0';
    if (!in->lag_known)
        return true;
    char *end;
    errno = 0;
    in->lag_s = strtod(lag, &end);
    return errno == 0 && *end == '\0';
}

int check_status_lines(const char *const *lines, size_t count, double max_lag_s)
{
    enum health worst = HEALTH_READY;
    for (size_t i = 0; i < count; i++) {
        struct health_input in;
        char name[128];
        if (!logfmt_get(lines[i], "name", name, sizeof name) || !input_of(lines[i], &in)) {
            fprintf(stderr, "etlctl: unexpected status line (another version?): %.200s\n",
                    lines[i]);
            return EXIT_BAD_REPLY;
        }
        enum health condition = health_judge(&in, max_lag_s);
        if (condition > worst)
            worst = condition;
        if (in.lag_known)
            printf("name=%s condition=%s lag_s=%.3f\n", name, health_name(condition), in.lag_s);
        else
            printf("name=%s condition=%s lag_s=\"\"\n", name, health_name(condition));
    }
    return exit_of[worst];
}
