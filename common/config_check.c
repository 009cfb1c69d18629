/* config_check.c - see config_check.h. */
#include "config_check.h"

#include "config_error.h"

#include <stdint.h>
#include <string.h>

#define MS_PER_S 1000

/* wake_check_ms: 0 (off), or this many ms up to poll_interval_ms. */
#define WAKE_CHECK_MIN_MS 10

int config_key_line(const struct ini_document *doc, const char *section, const char *key)
{
    int line = 0;
    for (size_t i = 0; i < doc->entries_count; i++) {
        if (strcmp(doc->entries[i].section, section) == 0 && strcmp(doc->entries[i].name, key) == 0)
            line = doc->entries[i].line;
    }
    return line;
}

/* One way to log in to the search engine: an API key, or a user and a
 * password, never both; a client key needs its certificate. */
static int check_es_credentials(const struct etl_config *config, const struct ini_document *doc,
                                struct config_errors *errors)
{
    const char *section = "elasticsearch";
    int rc = 0;
    if (config->es_api_key_file[0] != '\0' &&
        (config->es_user[0] != '\0' || config->es_password_file[0] != '\0')) {
        config_error(errors, config->path, config_key_line(doc, section, "api_key_file"),
                     "api_key_file", "exclusive with user and password_file: set one or the other");
        rc = -1;
    }
    if (config->es_client_key_file[0] != '\0' && config->es_client_cert_file[0] == '\0') {
        config_error(errors, config->path, config_key_line(doc, section, "client_key_file"),
                     "client_key_file", "needs client_cert_file");
        rc = -1;
    }
    return rc;
}

/* A step a worker may block in, and so go silent on its status channel, for
 * up to its configured timeout. */
struct blocking_step {
    const char *section;
    const char *key;
    const char *unit; /* as the key's name says: "s" or "ms" */
    int value;        /* as configured, in unit */
    int64_t ms;
};

/* The watchdog must not kill a worker that is only waiting out one of its own
 * timeouts: hang_timeout_s must be above the longest single blocking step.
 * Blamed on hang_timeout_s where it is set, else on the step's key that went
 * above its default. */
static int check_hang_timeout(const struct etl_config *config, const struct ini_document *doc,
                              struct config_errors *errors)
{
    const struct blocking_step steps[] = {
        {"postgres", "connect_timeout_s", "s", config->pg_connect_timeout_s,
         (int64_t)config->pg_connect_timeout_s * MS_PER_S},
        {"postgres", "statement_timeout_ms", "ms", config->pg_statement_timeout_ms,
         config->pg_statement_timeout_ms},
        {"elasticsearch", "request_timeout_ms", "ms", config->es_request_timeout_ms,
         config->es_request_timeout_ms},
    };
    const struct blocking_step *longest = &steps[0];
    for (size_t i = 1; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].ms > longest->ms)
            longest = &steps[i];
    }
    if ((int64_t)config->hang_timeout_s * MS_PER_S > longest->ms)
        return 0;
    int line = config_key_line(doc, "supervisor", "hang_timeout_s");
    if (line != 0)
        config_error(errors, config->path, line, "hang_timeout_s",
                     "must be above the longest single blocking step, %s = %d %s", longest->key,
                     longest->value, longest->unit);
    else
        config_error(errors, config->path, config_key_line(doc, longest->section, longest->key),
                     longest->key, "must be below hang_timeout_s = %d s", config->hang_timeout_s);
    return -1;
}

/* Each rule in turn; the first one broken is the error. */
int config_check_cross_keys(struct etl_config *config, const struct ini_document *doc,
                            struct config_errors *errors)
{
    int rc = 0;
    if (config->backoff_max_ms < config->backoff_initial_ms ||
        config->restart_max_ms < config->restart_initial_ms) {
        bool etl = config->backoff_max_ms < config->backoff_initial_ms;
        const char *key = etl ? "backoff_max_ms" : "restart_max_ms";
        const char *other = etl ? "backoff_initial_ms" : "restart_initial_ms";
        /* Blame the max key where it is set, else the initial key that
         * went above its default. */
        int line = 0;
        int other_line = 0;
        for (size_t i = 0; i < doc->entries_count; i++) {
            if (strcmp(doc->entries[i].name, key) == 0)
                line = doc->entries[i].line;
            else if (strcmp(doc->entries[i].name, other) == 0)
                other_line = doc->entries[i].line;
        }
        if (line == 0)
            config_error(errors, config->path, other_line, other, "must not be above %s", key);
        else
            config_error(errors, config->path, line, key, "must not be below %s", other);
        rc = -1;
    }
    int check = config->wake_check_ms;
    if (check > 0 && (check < WAKE_CHECK_MIN_MS || check > config->poll_interval_ms)) {
        const char *key = "wake_check_ms";
        config_error(errors, config->path, config_key_line(doc, "etl", key), key,
                     "\"%d\" is not 0 (off) or a whole number from %d to poll_interval_ms (%d)",
                     check, WAKE_CHECK_MIN_MS, config->poll_interval_ms);
        rc = -1;
    }
    int interval = config->change_log_prune_interval_s;
    if (interval > 0 && interval < PRUNE_INTERVAL_MIN_S) {
        const char *key = "change_log_prune_interval_s";
        config_error(errors, config->path, config_key_line(doc, "etl", key), key,
                     "\"%d\" is not 0 (off) or a whole number from %d to %d", interval,
                     PRUNE_INTERVAL_MIN_S, PRUNE_INTERVAL_MAX_S);
        rc = -1;
    }
    if (check_hang_timeout(config, doc, errors) < 0)
        rc = -1;
    if (check_es_credentials(config, doc, errors) < 0)
        rc = -1;
    if (config->indices_count == 0) {
        config_error(errors, config->path, doc->line_count, "[index.NAME]",
                     "at least one index section is required");
        rc = -1;
    }
    return rc;
}
