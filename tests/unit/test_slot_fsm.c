/* test_slot_fsm.c - the state machine of a worker slot: every state x
 * input of the table, as children.h and slot_fsm.h document it, and the
 * inputs whose actions need no process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backoff.h"
#include "children.h"
#include "slot_fsm.h"
#include "supervisor.h"
#include "util.h"

#include <stdint.h>

/* restart_reset_after_s of the tests' supervisor. */
#define UP_ENOUGH_S  60
#define UP_ENOUGH_MS ((int64_t)UP_ENOUGH_S * 1000)

/* One entry: input in state goes to next with action. */
static void expect(enum child_state state, enum slot_input input, enum child_state next,
                   enum slot_action action)
{
    struct slot_transition got = slot_transition(state, input);
    if (got.next != next || got.action != action)
        fail_msg("state %d input %d: got state %d action %d, want state %d action %d", (int)state,
                 (int)input, (int)got.next, (int)got.action, (int)next, (int)action);
}

/* Every input a slot without a process ignores, in state. */
static void expect_no_process_ignored(enum child_state state)
{
    expect(state, SLOT_IN_CONFIG, state, SLOT_DO_NOTHING);
    expect(state, SLOT_EXITED, state, SLOT_DO_NOTHING);
    expect(state, SLOT_PROGRESS, state, SLOT_DO_NOTHING);
    expect(state, SLOT_SPAWN_FAILED, state, SLOT_DO_NOTHING);
    expect(state, SLOT_HUNG, state, SLOT_DO_NOTHING);
}

/* Stopped: only a start, restart or removal does anything. */
static void test_stopped(void **unused)
{
    (void)unused;
    expect(CHILD_STOPPED, SLOT_START, CHILD_STARTING, SLOT_DO_FRESH_SPAWN);
    expect(CHILD_STOPPED, SLOT_STOP, CHILD_STOPPED, SLOT_DO_NOTHING);
    expect(CHILD_STOPPED, SLOT_RESTART, CHILD_STARTING, SLOT_DO_FRESH_SPAWN);
    expect(CHILD_STOPPED, SLOT_CHANGED, CHILD_STOPPED, SLOT_DO_NOTHING);
    expect(CHILD_STOPPED, SLOT_REMOVED, CHILD_STOPPED, SLOT_DO_REMOVE);
    expect(CHILD_STOPPED, SLOT_TIMER, CHILD_STOPPED, SLOT_DO_NOTHING);
    expect_no_process_ignored(CHILD_STOPPED);
}

/* Backoff: waits for its timer, unless a hand or new settings start it. */
static void test_backoff(void **unused)
{
    (void)unused;
    expect(CHILD_BACKOFF, SLOT_START, CHILD_STARTING, SLOT_DO_FRESH_SPAWN);
    expect(CHILD_BACKOFF, SLOT_STOP, CHILD_STOPPED, SLOT_DO_NOTHING);
    expect(CHILD_BACKOFF, SLOT_RESTART, CHILD_STARTING, SLOT_DO_FRESH_SPAWN);
    expect(CHILD_BACKOFF, SLOT_CHANGED, CHILD_STARTING, SLOT_DO_FRESH_SPAWN);
    expect(CHILD_BACKOFF, SLOT_REMOVED, CHILD_BACKOFF, SLOT_DO_REMOVE);
    expect(CHILD_BACKOFF, SLOT_TIMER, CHILD_STARTING, SLOT_DO_SPAWN);
    expect_no_process_ignored(CHILD_BACKOFF);
}

/* What starting and running share: how they stop, and a failure. */
static void expect_up(enum child_state state)
{
    expect(state, SLOT_START, state, SLOT_DO_NOTHING);
    expect(state, SLOT_STOP, CHILD_STOPPING, SLOT_DO_TERM);
    expect(state, SLOT_RESTART, CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM);
    expect(state, SLOT_CHANGED, CHILD_STOPPING_TO_RESTART, SLOT_DO_TERM);
    expect(state, SLOT_REMOVED, CHILD_STOPPING_TO_REMOVE, SLOT_DO_TERM);
    expect(state, SLOT_IN_CONFIG, state, SLOT_DO_NOTHING);
    expect(state, SLOT_EXITED, CHILD_BACKOFF, SLOT_DO_RETRY);
}

/* Starting: running once it logs progress or has been up long enough. */
static void test_starting(void **unused)
{
    (void)unused;
    expect_up(CHILD_STARTING);
    expect(CHILD_STARTING, SLOT_TIMER, CHILD_RUNNING, SLOT_DO_NOTHING);
    expect(CHILD_STARTING, SLOT_PROGRESS, CHILD_RUNNING, SLOT_DO_NOTHING);
    expect(CHILD_STARTING, SLOT_SPAWN_FAILED, CHILD_BACKOFF, SLOT_DO_BACKOFF);
    /* Hung before it reported started: killed; its exit restarts it. */
    expect(CHILD_STARTING, SLOT_HUNG, CHILD_STARTING, SLOT_DO_HANG_KILL);
}

/* Running: no deadline, nothing more to learn from its lines. */
static void test_running(void **unused)
{
    (void)unused;
    expect_up(CHILD_RUNNING);
    expect(CHILD_RUNNING, SLOT_TIMER, CHILD_RUNNING, SLOT_DO_NOTHING);
    expect(CHILD_RUNNING, SLOT_PROGRESS, CHILD_RUNNING, SLOT_DO_NOTHING);
    expect(CHILD_RUNNING, SLOT_SPAWN_FAILED, CHILD_RUNNING, SLOT_DO_NOTHING);
    expect(CHILD_RUNNING, SLOT_HUNG, CHILD_RUNNING, SLOT_DO_HANG_KILL);
}

/* What the three stopping states share: SIGKILL on time, progress lines
 * and spawn failures ignored, etlctl stop keeps the slot stopped. */
static void expect_stopping(enum child_state state)
{
    expect(state, SLOT_STOP, CHILD_STOPPING, SLOT_DO_NOTHING);
    expect(state, SLOT_RESTART, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(state, SLOT_REMOVED, CHILD_STOPPING_TO_REMOVE, SLOT_DO_NOTHING);
    expect(state, SLOT_TIMER, state, SLOT_DO_KILL);
    expect(state, SLOT_PROGRESS, state, SLOT_DO_NOTHING);
    expect(state, SLOT_SPAWN_FAILED, state, SLOT_DO_NOTHING);
    expect(state, SLOT_HUNG, state, SLOT_DO_NOTHING); /* stop_timeout_s deals with it */
}

/* Stopping to stay stopped: new settings wait for the next start. */
static void test_stopping(void **unused)
{
    (void)unused;
    expect_stopping(CHILD_STOPPING);
    expect(CHILD_STOPPING, SLOT_START, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING, SLOT_CHANGED, CHILD_STOPPING, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING, SLOT_IN_CONFIG, CHILD_STOPPING, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING, SLOT_EXITED, CHILD_STOPPED, SLOT_DO_NOTHING);
}

/* Stopping to restart: the exit spawns, without a backoff delay. */
static void test_stopping_to_restart(void **unused)
{
    (void)unused;
    expect_stopping(CHILD_STOPPING_TO_RESTART);
    expect(CHILD_STOPPING_TO_RESTART, SLOT_START, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_RESTART, SLOT_CHANGED, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_RESTART, SLOT_IN_CONFIG, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_RESTART, SLOT_EXITED, CHILD_STARTING, SLOT_DO_SPAWN);
}

/* Stopping to remove: the exit drops the slot, unless its section came
 * back or a hand kept it. */
static void test_stopping_to_remove(void **unused)
{
    (void)unused;
    expect_stopping(CHILD_STOPPING_TO_REMOVE);
    expect(CHILD_STOPPING_TO_REMOVE, SLOT_START, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_REMOVE, SLOT_CHANGED, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_REMOVE, SLOT_IN_CONFIG, CHILD_STOPPING_TO_RESTART, SLOT_DO_NOTHING);
    expect(CHILD_STOPPING_TO_REMOVE, SLOT_EXITED, CHILD_STOPPING_TO_REMOVE, SLOT_DO_REMOVE);
}

/* Status shows the five documented names; the stopping states are one. */
static void test_names(void **unused)
{
    (void)unused;
    assert_string_equal(child_state_name(CHILD_STOPPED), "stopped");
    assert_string_equal(child_state_name(CHILD_STARTING), "starting");
    assert_string_equal(child_state_name(CHILD_RUNNING), "running");
    assert_string_equal(child_state_name(CHILD_BACKOFF), "backoff");
    assert_string_equal(child_state_name(CHILD_STOPPING), "stopping");
    assert_string_equal(child_state_name(CHILD_STOPPING_TO_RESTART), "stopping");
    assert_string_equal(child_state_name(CHILD_STOPPING_TO_REMOVE), "stopping");
    for (int state = 0; state < CHILD_STATE_COUNT; state++)
        assert_int_equal(slot_stopping((enum child_state)state),
                         state == CHILD_STOPPING || state == CHILD_STOPPING_TO_RESTART ||
                             state == CHILD_STOPPING_TO_REMOVE);
}

/* One deadline per state: backoff's restart, starting's promotion,
 * stopping's SIGKILL; none for the rest. */
static void test_deadlines(void **unused)
{
    (void)unused;
    struct supervisor sup = {.config.restart_reset_after_s = UP_ENOUGH_S};
    struct child child = {.next_start_ms = 5000, .started_ms = 1000, .kill_ms = 9000};
    const int64_t want[CHILD_STATE_COUNT] = {
        [CHILD_BACKOFF] = 5000,
        [CHILD_STARTING] = 1000 + UP_ENOUGH_MS,
        [CHILD_STOPPING] = 9000,
        [CHILD_STOPPING_TO_RESTART] = 9000,
        [CHILD_STOPPING_TO_REMOVE] = 9000,
    };
    for (int state = 0; state < CHILD_STATE_COUNT; state++) {
        child.state = (enum child_state)state;
        assert_int_equal(slot_deadline(&sup, &child), want[state]);
    }
}

/* slot_event sets the state; the inputs here need no process. */
static void test_event_without_process(void **unused)
{
    (void)unused;
    struct supervisor sup = {.config.restart_reset_after_s = UP_ENOUGH_S};
    struct child child = {.name = "movies", .state = CHILD_BACKOFF};
    assert_true(slot_event(&sup, &child, SLOT_STOP));
    assert_int_equal(child.state, CHILD_STOPPED);
    child.state = CHILD_STARTING;
    assert_true(slot_event(&sup, &child, SLOT_PROGRESS));
    assert_int_equal(child.state, CHILD_RUNNING);
    child.state = CHILD_STOPPING_TO_REMOVE;
    assert_true(slot_event(&sup, &child, SLOT_IN_CONFIG));
    assert_int_equal(child.state, CHILD_STOPPING_TO_RESTART);
    assert_true(slot_event(&sup, &child, SLOT_STOP));
    assert_int_equal(child.state, CHILD_STOPPING);
}

/* An abnormal exit schedules a restart; one after restart_reset_after_s
 * up starts the backoff over. */
static void test_exit_schedules_restart(void **unused)
{
    (void)unused;
    struct supervisor sup = {.config.restart_reset_after_s = UP_ENOUGH_S};
    struct child child = {.name = "movies", .state = CHILD_RUNNING};
    backoff_init(&child.backoff, 1000, 60000);
    int64_t now = monotonic_ms();
    child.started_ms = now;
    assert_true(slot_event(&sup, &child, SLOT_EXITED));
    assert_int_equal(child.state, CHILD_BACKOFF);
    assert_true(child.next_start_ms >= now);
    child.state = CHILD_STARTING;
    slot_event(&sup, &child, SLOT_EXITED);
    assert_int_equal(backoff_attempts(&child.backoff), 2);

    child.state = CHILD_RUNNING;
    child.started_ms = now - UP_ENOUGH_MS;
    slot_event(&sup, &child, SLOT_EXITED);
    assert_int_equal(backoff_attempts(&child.backoff), 1);
}

/* Runs the tests. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopped),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_starting),
        cmocka_unit_test(test_running),
        cmocka_unit_test(test_stopping),
        cmocka_unit_test(test_stopping_to_restart),
        cmocka_unit_test(test_stopping_to_remove),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_event_without_process),
        cmocka_unit_test(test_exit_schedules_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
