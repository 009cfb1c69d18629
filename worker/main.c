/* etl-worker: keeps one Elasticsearch index equal to PostgreSQL.
 *
 *   etl-worker --index NAME [-c FILE]
 *
 * Reads [index.NAME] of the config and runs the generic sync loop (sync.c)
 * with that index's SQL and mapping.  Started by etl-supervisor, one per
 * index; can be run by hand too.  Exit statuses: sync.h. */
#include "config.h"
#include "log.h"
#include "status_report.h"
#include "sync.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

/* SIGTERM/SIGINT: ask the loop to stop at its next safe point. */
static void request_stop(int signo)
{
    (void)signo;
    stop_requested = 1;
}

/* Installs the stop handler without SA_RESTART, so a sleep ends at once. */
static void install_signals(void)
{
    struct sigaction action = {0};
    action.sa_handler = request_stop;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Prints the usage text. */
static void usage(FILE *out)
{
    fprintf(out, "usage: etl-worker --index NAME [-c FILE]\n"
                 "Keeps the Elasticsearch index of [index.NAME] in FILE equal to PostgreSQL.\n\n"
                 "  -i, --index NAME   the index section to run (required)\n"
                 "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
                 "  -h, --help         this text\n"
                 "  -V, --version      version\n\n"
                 "Exit status: 0 stopped by SIGTERM/SIGINT, 64 usage, 65 index mapping differs\n"
                 "from its file, 69 search engine not supported, 70 internal error, 73 state\n"
                 "directory, 78 configuration.\n");
}

/* Parses the command line, loads the config, runs the worker. */
int main(int argc, char **argv)
{
    static const struct option options[] = {{"index", required_argument, NULL, 'i'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    const char *config_path = CONFIG_DEFAULT_PATH;
    const char *index_name = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "i:c:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'i':
            index_name = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("etl-worker %s\n", ETL_VERSION);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (index_name == NULL || optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    log_init(index_name);
    struct etl_config config;
    char err[CONFIG_ERROR_MAX];
    if (config_load(config_path, &config, err, sizeof err) < 0) {
        fprintf(stderr, "etl-worker: %s\n", err);
        config_free(&config);
        return EXIT_CONFIG;
    }
    const struct index_config *idx = config_find_index(&config, index_name);
    if (idx == NULL) {
        fprintf(stderr, "etl-worker: %s:0: index: no section [index.%s]\n", config_path,
                index_name);
        config_free(&config);
        return EXIT_CONFIG;
    }
    log_set_level(config.log_level);
    status_report_open();
    install_signals();
    srandom((unsigned)(time(NULL) ^ getpid()));
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct worker worker;
    int status = worker_init(&worker, &config, idx, &stop_requested);
    if (status == 0)
        status = worker_run(&worker);
    worker_free(&worker);
    curl_global_cleanup();
    config_free(&config);
    return status;
}
