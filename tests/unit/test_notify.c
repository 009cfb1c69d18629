/* test_notify.c - the STATUS= text the supervisor gives systemd: one word
 * per worker, by the readiness rule for a running worker, by the slot's
 * state otherwise; and that nothing is sent outside systemd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "notify.h"
#include "supervisor.h"

#include <stdlib.h>

/* The lag a worker may have and still be ready in these tests. */
#define MAX_LAG_S 300
/* Any wall clock after the batch events below. */
#define NOW_MS 1700000000000LL

/* Reads a status channel event into a slot's stats. */
static void event(struct child *child, const char *line)
{
    assert_int_not_equal(child_stats_update(&child->stats, line, NOW_MS), CHILD_EVENT_BAD);
}

/* Every word: syncing (up, nothing known of its lag), ready, lagging,
 * refused, waiting, and the slot's state when no process has reported
 * started; in file order. */
static void test_status_words(void **unused)
{
    (void)unused;
    static struct child syncing = {.name = "movies", .state = CHILD_RUNNING, .pid = 10};
    static struct child ready = {.name = "genres", .state = CHILD_RUNNING, .pid = 11};
    static struct child lagging = {.name = "persons", .state = CHILD_RUNNING, .pid = 12};
    static struct child refused = {.name = "r", .state = CHILD_RUNNING, .pid = 13};
    static struct child waiting = {.name = "w", .state = CHILD_RUNNING, .pid = 14};
    static struct child starting = {.name = "s", .state = CHILD_STARTING, .pid = 15};
    static struct child backoff = {.name = "b", .state = CHILD_BACKOFF};
    static struct child stopped = {.name = "x", .state = CHILD_STOPPED};
    static struct child *slots[] = {&syncing, &ready,    &lagging, &refused,
                                    &waiting, &starting, &backoff, &stopped};
    event(&ready, "{\"event\":\"idle\",\"sleep_ms\":1000,\"held_s\":0}");
    event(&lagging, "{\"event\":\"batch\",\"source\":\"s\",\"lag_s\":4000,\"held_s\":0}");
    event(&refused, "{\"event\":\"refused\",\"class\":\"index_refusing\",\"cause\":\"x\"}");
    event(&waiting, "{\"event\":\"waiting\",\"reason\":\"held\",\"sleep_ms\":100}");
    static struct supervisor sup;
    sup.config.ready_max_lag_s = MAX_LAG_S;
    sup.children = slots;
    sup.children_count = sizeof slots / sizeof slots[0];
    struct buffer text = {0};
    notify_status_text(&sup, NOW_MS, &text);
    assert_string_equal(text.data, "movies=syncing genres=ready persons=lagging r=refused "
                                   "w=waiting s=starting b=backoff x=stopped");
    sup.children_count = 0;
    notify_status_text(&sup, NOW_MS, &text);
    assert_string_equal(text.data, "");
    buffer_free(&text);
}

/* Without NOTIFY_SOCKET: no watchdog deadline for the loop, and an update
 * sends nothing (ready stays unsent). */
static void test_outside_systemd_nothing(void **unused)
{
    (void)unused;
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "1000000", 1);
    static struct supervisor sup;
    notify_init(&sup.notify);
    assert_false(sup.notify.enabled);
    assert_int_equal(notify_timeout(&sup.notify, 0), -1);
    notify_update(&sup, 0);
    assert_false(sup.notify.ready_sent);
    notify_free(&sup.notify);
    unsetenv("WATCHDOG_USEC");
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_words),
        cmocka_unit_test(test_outside_systemd_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
