/* test_lifecycle.c - the lifecycle of an index: every phase x event of the
 * table, as lifecycle.h and docs/architecture.md describe it, written out
 * here again; lifecycle_apply; the names of the phases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lifecycle.h"

#include <stdbool.h>
#include <string.h>

/* The cells expect() has checked: test_every_cell_checked runs last. */
static bool checked[LIFECYCLE_PHASE_COUNT][LIFECYCLE_EVENT_COUNT];

/* One entry: event in phase goes to next with action. */
static void expect(enum lifecycle_phase phase, enum lifecycle_event event,
                   enum lifecycle_phase next, enum lifecycle_action action)
{
    struct lifecycle_transition got = lifecycle_transition(phase, event);
    if (got.next != next || got.action != action)
        fail_msg("phase %d event %d: got phase %d action %d, want phase %d action %d", (int)phase,
                 (int)event, (int)got.next, (int)got.action, (int)next, (int)action);
    checked[phase][event] = true;
}

/* The events that mean nothing without a build or a swap, in phase. */
static void expect_no_build_ignored(enum lifecycle_phase phase)
{
    expect(phase, LIFECYCLE_ALIAS_AT_BUILD, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_MISSING, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_MAPPING_CHANGED, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_CAUGHT_UP, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_SWAP_DONE, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_SWAP_FAILED, phase, LIFECYCLE_DO_NOTHING);
}

/* Before a full load began: every reason to rebuild makes the load a
 * build, whose horizon sets the live cursors too. */
static void expect_load_is_a_build(enum lifecycle_phase phase)
{
    const enum lifecycle_event reasons[] = {
        LIFECYCLE_REINDEX_REQUESTED, LIFECYCLE_CHANGE_LOG_PRUNED, LIFECYCLE_ALIAS_MISSING,
        LIFECYCLE_ALIAS_MOVED,       LIFECYCLE_CONCRETE_FOUND,    LIFECYCLE_MAPPING_CHANGED,
        LIFECYCLE_LIVE_LOST,
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        expect(phase, reasons[i], LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
}

/* Fresh: the start finds a live index (a build) or none (a first load). */
static void test_fresh(void **unused)
{
    (void)unused;
    enum lifecycle_phase p = LIFECYCLE_FRESH;
    expect(p, LIFECYCLE_LIVE_CREATED, LIFECYCLE_FIRST_LOAD, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_LOAD_DUE, LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_HORIZON_TAKEN, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_ALIAS_FOUND, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_STATE_UNUSABLE, LIFECYCLE_FRESH, LIFECYCLE_DO_DROP_CURSORS);
    expect_load_is_a_build(p);
    expect_no_build_ignored(p);
}

/* First load: the empty live index is loaded in place, then serves. */
static void test_first_load(void **unused)
{
    (void)unused;
    enum lifecycle_phase p = LIFECYCLE_FIRST_LOAD;
    expect(p, LIFECYCLE_LIVE_CREATED, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_LOAD_DUE, p, LIFECYCLE_DO_LOAD_IN_PLACE);
    expect(p, LIFECYCLE_HORIZON_TAKEN, LIFECYCLE_SERVING, LIFECYCLE_DO_SAVE_LOAD);
    expect(p, LIFECYCLE_ALIAS_FOUND, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_STATE_UNUSABLE, LIFECYCLE_FRESH, LIFECYCLE_DO_DROP_CURSORS);
    expect_load_is_a_build(p);
    expect_no_build_ignored(p);
}

/* Serving: every reason to rebuild names a build, the live cursors kept. */
static void test_serving(void **unused)
{
    (void)unused;
    enum lifecycle_phase p = LIFECYCLE_SERVING;
    expect(p, LIFECYCLE_LIVE_CREATED, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_LOAD_DUE, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_HORIZON_TAKEN, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_REINDEX_REQUESTED, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_CHANGE_LOG_PRUNED, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_ALIAS_FOUND, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_ALIAS_MISSING, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_ALIAS_MOVED, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_CONCRETE_FOUND, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_MAPPING_CHANGED, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_LIVE_LOST, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_STATE_UNUSABLE, LIFECYCLE_FRESH, LIFECYCLE_DO_DROP_CURSORS);
    expect_no_build_ignored(p);
}

/* What a named build does with the events about the live index: it goes
 * on (it becomes the live one); a second reindex is only noted; the alias
 * on the build is a swap finished before a crash; an unusable state drops
 * it. */
static void expect_build_named(enum lifecycle_phase phase, enum lifecycle_action on_live_event)
{
    expect(phase, LIFECYCLE_LIVE_CREATED, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_LOAD_DUE, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_REINDEX_REQUESTED, phase, LIFECYCLE_DO_NOTE_BUILD);
    expect(phase, LIFECYCLE_CHANGE_LOG_PRUNED, phase, on_live_event);
    expect(phase, LIFECYCLE_ALIAS_FOUND, phase, on_live_event);
    expect(phase, LIFECYCLE_ALIAS_MISSING, phase, on_live_event);
    expect(phase, LIFECYCLE_ALIAS_MOVED, phase, on_live_event);
    expect(phase, LIFECYCLE_CONCRETE_FOUND, phase, on_live_event);
    expect(phase, LIFECYCLE_MAPPING_CHANGED, phase, on_live_event);
    expect(phase, LIFECYCLE_LIVE_LOST, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_ALIAS_AT_BUILD, LIFECYCLE_SERVING, LIFECYCLE_DO_FINISH_SWAP);
    expect(phase, LIFECYCLE_STATE_UNUSABLE, LIFECYCLE_FRESH, LIFECYCLE_DO_DROP_CURSORS);
}

/* A pending build: nothing of its own to check or swap until it begins. */
static void expect_pending(enum lifecycle_phase phase)
{
    expect_build_named(phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_MISSING, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_MAPPING_CHANGED, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_BUILD_CAUGHT_UP, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_SWAP_DONE, phase, LIFECYCLE_DO_NOTHING);
    expect(phase, LIFECYCLE_SWAP_FAILED, phase, LIFECYCLE_DO_NOTHING);
}

/* Build pending with usable live cursors: its horizon only begins it. */
static void test_build_pending(void **unused)
{
    (void)unused;
    expect_pending(LIFECYCLE_BUILD_PENDING);
    expect(LIFECYCLE_BUILD_PENDING, LIFECYCLE_HORIZON_TAKEN, LIFECYCLE_BUILDING,
           LIFECYCLE_DO_SAVE_LOAD);
}

/* Build pending of a fresh start: its horizon starts the live cursors. */
static void test_fresh_build_pending(void **unused)
{
    (void)unused;
    expect_pending(LIFECYCLE_FRESH_BUILD_PENDING);
    expect(LIFECYCLE_FRESH_BUILD_PENDING, LIFECYCLE_HORIZON_TAKEN, LIFECYCLE_BUILDING,
           LIFECYCLE_DO_LIVE_AT_HORIZON);
}

/* Building: the live events check the build's index; a missing or other
 * build index starts it over; caught up, the swap. */
static void test_building(void **unused)
{
    (void)unused;
    enum lifecycle_phase p = LIFECYCLE_BUILDING;
    expect_build_named(p, LIFECYCLE_DO_CHECK_BUILD);
    expect(p, LIFECYCLE_HORIZON_TAKEN, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_BUILD_MISSING, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_BUILD_MAPPING_CHANGED, LIFECYCLE_BUILD_PENDING, LIFECYCLE_DO_START_BUILD);
    expect(p, LIFECYCLE_BUILD_CAUGHT_UP, LIFECYCLE_SWAPPING, LIFECYCLE_DO_SWAP);
    expect(p, LIFECYCLE_SWAP_DONE, p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_SWAP_FAILED, p, LIFECYCLE_DO_NOTHING);
}

/* Swapping: lasts one call; it ends serving, or building again. */
static void test_swapping(void **unused)
{
    (void)unused;
    enum lifecycle_phase p = LIFECYCLE_SWAPPING;
    const enum lifecycle_event within[] = {
        LIFECYCLE_LIVE_CREATED,      LIFECYCLE_LOAD_DUE,       LIFECYCLE_HORIZON_TAKEN,
        LIFECYCLE_CHANGE_LOG_PRUNED, LIFECYCLE_ALIAS_FOUND,    LIFECYCLE_ALIAS_MISSING,
        LIFECYCLE_ALIAS_MOVED,       LIFECYCLE_CONCRETE_FOUND, LIFECYCLE_MAPPING_CHANGED,
        LIFECYCLE_LIVE_LOST,         LIFECYCLE_BUILD_MISSING,  LIFECYCLE_BUILD_MAPPING_CHANGED,
        LIFECYCLE_BUILD_CAUGHT_UP,
    };
    for (size_t i = 0; i < sizeof within / sizeof within[0]; i++)
        expect(p, within[i], p, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_REINDEX_REQUESTED, p, LIFECYCLE_DO_NOTE_BUILD);
    expect(p, LIFECYCLE_ALIAS_AT_BUILD, LIFECYCLE_SERVING, LIFECYCLE_DO_FINISH_SWAP);
    expect(p, LIFECYCLE_SWAP_DONE, LIFECYCLE_SERVING, LIFECYCLE_DO_FINISH_SWAP);
    expect(p, LIFECYCLE_SWAP_FAILED, LIFECYCLE_BUILDING, LIFECYCLE_DO_NOTHING);
    expect(p, LIFECYCLE_STATE_UNUSABLE, LIFECYCLE_FRESH, LIFECYCLE_DO_DROP_CURSORS);
}

/* The tests above checked every cell of the table. */
static void test_every_cell_checked(void **unused)
{
    (void)unused;
    for (int p = 0; p < LIFECYCLE_PHASE_COUNT; p++) {
        for (int e = 0; e < LIFECYCLE_EVENT_COUNT; e++) {
            if (!checked[p][e])
                fail_msg("phase %d event %d: not checked", p, e);
        }
    }
}

/* lifecycle_apply moves the phase as the table says: a rebuild from start
 * to swap, and one dropped by an unusable state. */
static void test_apply(void **unused)
{
    (void)unused;
    enum lifecycle_phase phase = LIFECYCLE_SERVING;
    assert_int_equal(lifecycle_apply(&phase, LIFECYCLE_MAPPING_CHANGED), LIFECYCLE_DO_START_BUILD);
    assert_int_equal(phase, LIFECYCLE_BUILD_PENDING);
    assert_int_equal(lifecycle_apply(&phase, LIFECYCLE_HORIZON_TAKEN), LIFECYCLE_DO_SAVE_LOAD);
    assert_int_equal(phase, LIFECYCLE_BUILDING);
    assert_int_equal(lifecycle_apply(&phase, LIFECYCLE_BUILD_CAUGHT_UP), LIFECYCLE_DO_SWAP);
    assert_int_equal(phase, LIFECYCLE_SWAPPING);
    assert_int_equal(lifecycle_apply(&phase, LIFECYCLE_SWAP_DONE), LIFECYCLE_DO_FINISH_SWAP);
    assert_int_equal(phase, LIFECYCLE_SERVING);
    phase = LIFECYCLE_BUILDING;
    assert_int_equal(lifecycle_apply(&phase, LIFECYCLE_STATE_UNUSABLE), LIFECYCLE_DO_DROP_CURSORS);
    assert_int_equal(phase, LIFECYCLE_FRESH);
}

/* Every phase's name reads back as it; the names are the documented ones;
 * an unknown name is refused. */
static void test_names(void **unused)
{
    (void)unused;
    const char *const want[LIFECYCLE_PHASE_COUNT] = {
        [LIFECYCLE_FRESH] = "fresh",
        [LIFECYCLE_FIRST_LOAD] = "first_load",
        [LIFECYCLE_SERVING] = "serving",
        [LIFECYCLE_BUILD_PENDING] = "build_pending",
        [LIFECYCLE_FRESH_BUILD_PENDING] = "fresh_build_pending",
        [LIFECYCLE_BUILDING] = "building",
        [LIFECYCLE_SWAPPING] = "swapping",
    };
    for (int p = 0; p < LIFECYCLE_PHASE_COUNT; p++) {
        assert_string_equal(lifecycle_phase_name((enum lifecycle_phase)p), want[p]);
        enum lifecycle_phase read = LIFECYCLE_PHASE_COUNT;
        assert_true(lifecycle_phase_from_name(want[p], &read));
        assert_int_equal(read, p);
    }
    enum lifecycle_phase read = LIFECYCLE_SERVING;
    assert_false(lifecycle_phase_from_name("Serving", &read));
    assert_false(lifecycle_phase_from_name("", &read));
    assert_int_equal(read, LIFECYCLE_SERVING);
}

/* What a state file may hold, and the predicates the other files ask. */
static void test_predicates(void **unused)
{
    (void)unused;
    struct {
        enum lifecycle_phase phase;
        bool saved, has_build, pending, load_due, cursors_usable, runs_build;
    } rows[] = {
        {LIFECYCLE_FRESH, false, false, false, true, false, false},
        {LIFECYCLE_FIRST_LOAD, false, false, false, true, false, false},
        {LIFECYCLE_SERVING, true, false, false, false, true, false},
        {LIFECYCLE_BUILD_PENDING, true, true, true, false, true, false},
        {LIFECYCLE_FRESH_BUILD_PENDING, true, true, true, false, false, false},
        {LIFECYCLE_BUILDING, true, true, false, false, true, true},
        {LIFECYCLE_SWAPPING, false, true, false, false, true, false},
    };
    assert_int_equal(sizeof rows / sizeof rows[0], LIFECYCLE_PHASE_COUNT);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        enum lifecycle_phase p = rows[i].phase;
        assert_int_equal(lifecycle_phase_saved(p), rows[i].saved);
        assert_int_equal(lifecycle_has_build(p), rows[i].has_build);
        assert_int_equal(lifecycle_build_pending(p), rows[i].pending);
        assert_int_equal(lifecycle_load_due(p), rows[i].load_due);
        assert_int_equal(lifecycle_live_cursors_usable(p), rows[i].cursors_usable);
        assert_int_equal(lifecycle_runs_build(p), rows[i].runs_build);
        assert_int_equal(lifecycle_runs_live(p, "movies_1"), rows[i].cursors_usable);
        assert_false(lifecycle_runs_live(p, ""));
    }
}

/* Runs the tests; the check of every cell last. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_first_load),
        cmocka_unit_test(test_serving),
        cmocka_unit_test(test_build_pending),
        cmocka_unit_test(test_fresh_build_pending),
        cmocka_unit_test(test_building),
        cmocka_unit_test(test_swapping),
        cmocka_unit_test(test_every_cell_checked),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_predicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
