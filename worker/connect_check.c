/* connect_check.c - see connect_check.h. */
#include "connect_check.h"

#include "es_client.h"
#include "exit_status.h"
#include "http_status.h"
#include "pg_source.h"
#include "search_engine.h"

#include <stdio.h>

/* The longest part of an unreadable answer quoted. */
#define ANSWER_QUOTE_MAX 120

/* Prints one problem in the configuration's error shape. */
static void report(const struct etl_config *config, int line, const char *key, const char *reason)
{
    fprintf(stderr, "%s:%d: %s: %s\n", config->path, line, key, reason);
}

/* Hook: the database's schema version against the one this release needs.
 * Schema versions are not recorded yet; until they are, every schema
 * passes.  Returns 0, or an exit status with the problem reported. */
static int check_schema_version(const struct etl_config *config, struct pg_source *pg)
{
    (void)config;
    (void)pg;
    return 0;
}

/* PostgreSQL: connected as the worker connects (role, TLS, timeouts), its
 * preflight, and every SQL file of idx prepared. */
static int check_postgres(const struct etl_config *config, const struct index_config *idx)
{
    struct pg_source pg;
    char err[CONFIG_ERROR_MAX];
    int status = 0;
    if (pg_source_init(&pg, config, idx, err, sizeof err) < 0) {
        report(config, idx->line, "documents", err);
        status = EXIT_CONFIG;
    } else {
        enum pg_failure failure = pg_source_connect(&pg);
        if (failure == PG_BAD_SQL) {
            report(config, idx->line, "changes", pg.err);
            status = EXIT_CONFIG;
        } else if (failure != PG_OK) {
            report(config, 0, "postgres", pg.err);
            status = EXIT_CHECK_UNREACHABLE;
        } else {
            status = check_schema_version(config, &pg);
        }
    }
    pg_source_free(&pg);
    return status;
}

/* The search node: GET / answered with credentials taken, by an engine the
 * worker supports. */
static int check_search(const struct etl_config *config)
{
    struct es_client es;
    char err[CONFIG_ERROR_MAX];
    if (es_client_init(&es, config, NULL, err, sizeof err) < 0) {
        report(config, 0, "elasticsearch", err);
        es_client_free(&es);
        return EXIT_CONFIG;
    }
    int status = 0;
    long http = es_request(&es, "GET", "/", NULL, 0, false);
    struct search_engine_identity identity;
    if (http < 0) {
        snprintf(err, sizeof err, "GET /: %s", es.err);
        status = EXIT_CHECK_UNREACHABLE;
    } else if (http == HTTP_UNAUTHORIZED || http == HTTP_FORBIDDEN) {
        snprintf(err, sizeof err,
                 "GET /: HTTP %ld: the credentials were refused (see api_key_file, or user and "
                 "password_file)",
                 http);
        status = EXIT_CHECK_UNREACHABLE;
    } else if (http != HTTP_OK || es.response.data == NULL ||
               es_dialect.parse_identity(es.response.data, es.response.len, &identity) < 0) {
        snprintf(err, sizeof err, "GET /: HTTP %ld, not a search engine's identity: %.*s", http,
                 ANSWER_QUOTE_MAX, es.response.data != NULL ? es.response.data : "");
        status = EXIT_CHECK_UNREACHABLE;
    } else if (search_engine_select(&identity, err, sizeof err) == NULL) {
        status = EXIT_CHECK_UNREACHABLE;
    }
    if (status != 0)
        report(config, 0, "elasticsearch", err);
    es_client_free(&es);
    return status;
}

/* A configuration problem outranks an unreachable server: fixing the file
 * comes first. */
int connect_check_run(const struct etl_config *config, const struct index_config *idx)
{
    int pg = check_postgres(config, idx);
    int search = check_search(config);
    if (pg == EXIT_CONFIG || search == EXIT_CONFIG)
        return EXIT_CONFIG;
    return pg != 0 ? pg : search;
}
