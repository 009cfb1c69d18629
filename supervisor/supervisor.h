/* supervisor.h - the state of etl-supervisor that its modules share: the
 * configuration in force, the worker slots, the control socket, the
 * metrics listener and systemd's notifications. */
#ifndef ETL_SUPERVISOR_H
#define ETL_SUPERVISOR_H

#include "children.h"
#include "config.h"
#include "control.h"
#include "metrics.h"
#include "notify.h"
#include "output.h"

#include <stdbool.h>
#include <stddef.h>

struct supervisor {
    struct etl_config config; /* the configuration in force */
    const char *config_path;  /* as given with -c: the workers get the same */
    char *worker_path;        /* the worker program (resolved) */
    struct child **children;  /* one slot per [index.NAME], in file order */
    size_t children_count;
    bool shutting_down; /* SIGTERM/SIGINT seen: no more starts */
    struct control control;
    struct output output;   /* stdout: every line goes through it */
    struct metrics metrics; /* the Prometheus listener */
    struct notify notify;   /* what systemd is told (sd_notify) */
};

#endif
