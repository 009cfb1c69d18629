/* etl-worker: keeps one Elasticsearch index equal to PostgreSQL.
 *
 *   etl-worker --index NAME [-c FILE]
 *   etl-worker --index NAME --verify [--repair] [-c FILE]
 *   etl-worker --index NAME --check-connect [-c FILE]
 *
 * Reads [index.NAME] of the config and runs the generic sync loop (sync.c)
 * with that index's SQL and mapping.  Started by etl-supervisor, one per
 * index; can be run by hand too.  With --verify it compares the index with
 * PostgreSQL instead, once (verify.c; etlctl verify runs it); with
 * --check-connect it only connects (connect_check.c).  Exit
 * statuses: common/exit_status.h. */
#include "version.h"
#include "config.h"
#include "connect_check.h"
#include "exit_status.h"
#include "log.h"
#include "log_signal.h"
#include "status_report.h"
#include "sync.h"
#include "verify.h"

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
static volatile sig_atomic_t reindex_requested;

/* SIGUSR1 (etlctl reindex): rebuild the index at the next round. */
static void request_reindex(int signo)
{
    (void)signo;
    reindex_requested = 1;
}

/* LOG_LEVEL_SIGNAL (the supervisor, log_signal.h): the level is the
 * signal's value; one sent without a value (kill) or out of range is
 * ignored.  log_set_level is async-signal-safe. */
static void set_log_level(int signo, siginfo_t *info, void *context)
{
    (void)signo;
    (void)context;
    if (info->si_code == SI_QUEUE && info->si_value.sival_int >= LOG_DEBUG &&
        info->si_value.sival_int <= LOG_ERROR)
        log_set_level((enum log_level)info->si_value.sival_int);
}

/* getopt values of the long options without a short form. */
enum { OPT_VERIFY = 256, OPT_REPAIR, OPT_CHECK_CONNECT };

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
    /* SA_RESTART: a rebuild request must not cut a request in flight. */
    struct sigaction reindex = {0};
    reindex.sa_handler = request_reindex;
    reindex.sa_flags = SA_RESTART;
    sigemptyset(&reindex.sa_mask);
    sigaction(SIGUSR1, &reindex, NULL);
    struct sigaction level = {0};
    level.sa_sigaction = set_log_level;
    level.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&level.sa_mask);
    sigaction(LOG_LEVEL_SIGNAL, &level, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The level to start with: the supervisor's (LOG_LEVEL_ENV) when it gives
 * one, else the file's. */
static enum log_level start_level(enum log_level file_level)
{
    const char *text = getenv(LOG_LEVEL_ENV);
    enum log_level level;
    return text != NULL && log_level_parse(text, &level) ? level : file_level;
}

/* Prints the usage text. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: etl-worker --index NAME [--verify [--repair] | --check-connect] [-c FILE]\n"
            "Keeps the Elasticsearch index of [index.NAME] in FILE equal to PostgreSQL.\n\n"
            "  -i, --index NAME   the index section to run (required)\n"
            "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
            "      --verify       compare the index with PostgreSQL once and report\n"
            "      --repair       with --verify: re-send what differs\n"
            "      --check-connect  connect to PostgreSQL (prepare the index's SQL) and the\n"
            "                     search node once, report, exit (etl-supervisor --check\n"
            "                     --connect runs it): 0 ok, 69 unreachable, 78 config\n"
            "  -h, --help         this text\n"
            "  -V, --version      version\n\n"
            "SIGUSR1 rebuilds the index into a new one, then moves its alias.\n"
            "$" LOG_LEVEL_ENV " (debug, info, warn, error) overrides log_level;\n"
            "the supervisor sets it, and changes it live (etlctl log-level).\n\n");
    exit_status_print_usage(out, "Exit status:", EXIT_BY_WORKER);
    exit_status_print_usage(out, "Exit status with --verify:", EXIT_BY_VERIFY);
}

/* Parses the command line, loads the config, runs the worker. */
int main(int argc, char **argv)
{
    static const struct option options[] = {{"index", required_argument, NULL, 'i'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {"verify", no_argument, NULL, OPT_VERIFY},
                                            {"repair", no_argument, NULL, OPT_REPAIR},
                                            {"check-connect", no_argument, NULL, OPT_CHECK_CONNECT},
                                            {NULL, 0, NULL, 0}};
    const char *config_path = CONFIG_DEFAULT_PATH;
    const char *index_name = NULL;
    bool verify = false;
    bool repair = false;
    bool check_connect = false;
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
            printf("etl-worker %s\n", ETL_VERSION_TEXT);
            return 0;
        case OPT_VERIFY:
            verify = true;
            break;
        case OPT_REPAIR:
            repair = true;
            break;
        case OPT_CHECK_CONNECT:
            check_connect = true;
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (index_name == NULL || optind != argc || (repair && !verify) || (check_connect && verify)) {
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
    log_set_level(start_level(config.log_level));
    status_report_open();
    install_signals();
    srandom((unsigned)(time(NULL) ^ getpid()));
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (check_connect) {
        int status = connect_check_run(&config, idx);
        curl_global_cleanup();
        config_free(&config);
        return status;
    }
    if (verify) {
        int status = verify_run(&config, idx, &stop_requested, repair);
        curl_global_cleanup();
        config_free(&config);
        return status;
    }
    struct worker worker;
    int status = worker_init(&worker, &config, idx, &stop_requested);
    worker.reindex = &reindex_requested;
    if (status == 0)
        status = worker_run(&worker);
    worker_free(&worker);
    curl_global_cleanup();
    config_free(&config);
    return status;
}
