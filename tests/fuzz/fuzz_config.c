/* fuzz_config.c - config_load on any file: the INI reader (inih with our
 * line counting, long-line check and ${VAR} expansion) and every check of
 * both key tables.  Whatever the bytes, the result is 0 with a config that
 * can be printed and freed, or -1 with a "FILE:LINE: KEY: REASON" message
 * that starts with the file's path. */
#include "config.h"

#include "fuzz_helpers.h"

/* The temp file every input is written to; removed at exit. */
static const char *ini_path;

/* Removes the temp file. */
static void remove_ini(void)
{
    unlink(ini_path);
}

/* Variables for ${VAR} expansion to find: one set, one set but empty (the
 * default applies); the fuzzer learns the names from the seeds. */
/* NOLINTNEXTLINE(readability-non-const-parameter): libFuzzer fixes the type */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("ETL_FUZZ_SET", "42", 1);
    setenv("ETL_FUZZ_EMPTY", "", 1);
    unsetenv("ETL_FUZZ_UNSET");
    ini_path = fuzz_temp_path("etl-fuzz-config");
    atexit(remove_ini);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(ini_path, data, size);
    struct etl_config config;
    char err[CONFIG_ERROR_MAX];
    err[0] = '\0';
    if (config_load(ini_path, &config, err, sizeof err) == 0) {
        for (size_t i = 0; i < config.indices_count; i++)
            free(config_worker_settings(&config, &config.indices[i]));
    } else if (strncmp(err, ini_path, strlen(ini_path)) != 0 || err[strlen(ini_path)] != ':') {
        fprintf(stderr, "error without the file's path: %s\n", err);
        abort();
    }
    config_free(&config);
    return 0;
}
