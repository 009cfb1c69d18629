/* config_dry_run.c - see config_dry_run.h. */
#include "config_dry_run.h"

#include "config.h"
#include "config_files.h"
#include "exit_status.h"
#include "worker_path.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs "WORKER --index NAME --check-connect -c CONFIG", its stderr (the
 * problems it finds) going to ours.  Returns its exit status. */
static int run_connect_check(const char *worker, const char *config_path, const char *index)
{
    char *argv[] = {(char *)worker, "--index",           (char *)index, "--check-connect",
                    "-c",           (char *)config_path, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, worker, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "%s:0: worker_path: cannot run %s: %s\n", config_path, worker,
                strerror(rc));
        return EXIT_CONFIG;
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR)
            return EXIT_CONFIG;
    }
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    fprintf(stderr, "%s:0: index.%s: the connection check ended by signal %d\n", config_path, index,
            WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
    return EXIT_CONFIG;
}

/* The worst of the indices' statuses: a configuration problem outranks an
 * unreachable server (fix the file first). */
static int worse(int a, int b)
{
    if (a == EXIT_CONFIG || b == EXIT_CONFIG)
        return EXIT_CONFIG;
    if (a != 0)
        return a;
    return b == 0 ? 0 : (b == EXIT_CHECK_UNREACHABLE ? b : EXIT_CONFIG);
}

int config_dry_run(const char *config_path, bool connect)
{
    struct etl_config config;
    struct config_errors errors = {0};
    config_load_all(config_path, &config, &errors);
    config_check_files(&config, &errors);
    char *worker = NULL;
    if (config.worker_path != NULL) {
        char err[CONFIG_ERROR_MAX];
        worker = resolve_worker_path(&config, err, sizeof err);
        if (worker == NULL)
            config_error(&errors, config_path, 0, "worker_path", "%s", err);
    }
    for (size_t i = 0; i < errors.count; i++)
        fprintf(stderr, "%s\n", errors.lines[i]);
    int status = errors.count > 0 ? EXIT_CONFIG : 0;
    config_errors_free(&errors);
    if (status == 0 && connect && worker != NULL) {
        for (size_t i = 0; i < config.indices_count; i++)
            status = worse(status, run_connect_check(worker, config_path, config.indices[i].name));
    }
    /* Hook: with connect, the database's schema version is checked by each
     * index's connection check (connect_check.c, check_schema_version). */
    if (status == 0)
        printf("%s: ok (%zu indices%s)\n", config_path, config.indices_count,
               connect ? "; PostgreSQL and the search node reached" : "");
    free(worker);
    config_free(&config);
    return status;
}
