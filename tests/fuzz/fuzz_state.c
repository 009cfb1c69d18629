/* fuzz_state.c - state_load on any file: a loaded state has every cursor
 * NUL-terminated within its field; a refused one stays fresh. */
#include "state.h"

#include "fuzz_helpers.h"

#include <stdbool.h>

/* The change sources of the movies index, as state_init gets them. */
static const char *const source_names[] = {"film_work", "person", "genre", "change_log"};
#define SOURCE_COUNT    (sizeof source_names / sizeof source_names[0])
#define STATE_ERROR_MAX 512

static const char *state_path;

/* Removes the temp file. */
static void remove_state(void)
{
    unlink(state_path);
}

/* Creates the one temp file. */
/* NOLINTNEXTLINE(readability-non-const-parameter): libFuzzer fixes the type */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    state_path = fuzz_temp_path("etl-fuzz-state");
    atexit(remove_state);
    return 0;
}

/* True when text has a NUL within its size bytes. */
static bool terminated(const char *text, size_t size)
{
    return memchr(text, '\0', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(state_path, data, size);
    struct worker_state state;
    state_init(&state, source_names, SOURCE_COUNT);
    char err[STATE_ERROR_MAX] = "";
    int rc = state_load(&state, state_path, "movies", err, sizeof err);
    if (rc < 0 && state.phase != LIFECYCLE_FRESH)
        abort(); /* a refused file must leave the state fresh */
    for (size_t i = 0; i < state.count; i++) {
        const struct cursor *c = &state.sources[i].cursor;
        if (!terminated(c->modified, sizeof c->modified) || !terminated(c->id, sizeof c->id) ||
            !terminated(c->doc_id, sizeof c->doc_id))
            abort();
    }
    state_free(&state);
    return 0;
}
