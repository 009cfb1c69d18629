/* reload.c - see reload.h. */
#include "reload.h"

#include "log.h"
#include "slot_fsm.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a worker of idx runs with: its settings plus the program. */
static char *child_settings(const struct etl_config *config, const struct index_config *idx,
                            const char *worker_path)
{
    char *settings = config_worker_settings(config, idx);
    char *all = xasprintf("%ssupervisor.worker_path=%s\n", settings, worker_path);
    free(settings);
    return all;
}

/* Appends a new slot for idx and starts it. */
static void add_child(struct supervisor *sup, const struct index_config *idx)
{
    char *settings = child_settings(&sup->config, idx, sup->worker_path);
    sup->children = xrealloc(sup->children, (sup->children_count + 1) * sizeof *sup->children);
    struct child *child = child_new(sup, idx, settings);
    sup->children[sup->children_count++] = child;
    slot_event(sup, child, SLOT_START);
}

/* One slot per section. */
void supervisor_start_all(struct supervisor *sup)
{
    for (size_t i = 0; i < sup->config.indices_count; i++)
        add_child(sup, &sup->config.indices[i]);
}

/* The one key a reload cannot apply (the socket is open). */
#define CONTROL_SOCKET_KEY "supervisor.control_socket="

/* Counts of what a reload did, for its log line, and its report (see
 * reload.h; NULL when nobody asked for one). */
struct reload_counts {
    int changed, added, removed;
    struct buffer *report;
};

/* Appends "word text" to the report, if there is one. */
static void report_line(struct reload_counts *counts, const char *word, const char *text)
{
    if (counts->report == NULL)
        return;
    buffer_append_str(counts->report, word);
    buffer_append(counts->report, " ", 1);
    buffer_append_str(counts->report, text);
    buffer_append(counts->report, "\n", 1);
}

/* Stops the slots whose section is gone; those without a process go at
 * once (slot_event frees them). */
static void remove_gone(struct supervisor *sup, const struct etl_config *fresh,
                        struct reload_counts *counts)
{
    for (size_t i = 0; i < sup->children_count;) {
        struct child *child = sup->children[i];
        if (config_find_index(fresh, child->name) != NULL) {
            i++;
            continue;
        }
        counts->removed++;
        report_line(counts, "removed", child->name);
        if (slot_event(sup, child, SLOT_REMOVED))
            i++;
    }
}

/* Takes the new settings; the state machine decides whether that means a
 * restart (a stopped slot stays stopped, with them for its next start). */
static void apply_change(struct supervisor *sup, struct child *child, const char *index,
                         char *settings, struct reload_counts *counts)
{
    free(child->settings);
    child->settings = settings;
    free(child->index);
    child->index = xstrdup(index);
    log_event(LOG_INFO, "worker settings changed", "child", child->name);
    counts->changed++;
    slot_event(sup, child, SLOT_CHANGED);
    bool restarts = child->state == CHILD_STOPPING_TO_RESTART || child->state == CHILD_STARTING;
    report_line(counts, restarts ? "restarted" : "changed", child->name);
}

/* Compares each section's settings with its slot's; adds new sections. */
static void apply_sections(struct supervisor *sup, const struct etl_config *fresh,
                           const char *worker_path, struct reload_counts *counts)
{
    for (size_t i = 0; i < fresh->indices_count; i++) {
        const struct index_config *idx = &fresh->indices[i];
        struct child *child = child_find(sup, idx->name);
        char *settings = child_settings(fresh, idx, worker_path);
        if (child == NULL) {
            free(settings);
            counts->added++;
            report_line(counts, "added", idx->name);
            continue; /* started once the new config is in force */
        }
        backoff_set_bounds(&child->backoff, fresh->restart_initial_ms, fresh->restart_max_ms);
        slot_event(sup, child, SLOT_IN_CONFIG);
        if (strcmp(settings, child->settings) == 0)
            free(settings);
        else
            apply_change(sup, child, idx->index, settings, counts);
    }
}

/* Reports the [supervisor] keys and log_level whose value changed: the
 * new value is in force now (control_socket: at the next start).  Both
 * texts list the same keys in the same order.  None of them is a secret. */
static void report_live(struct reload_counts *counts, const struct etl_config *old,
                        const struct etl_config *fresh)
{
    char *before = config_supervisor_settings(old);
    char *after = config_supervisor_settings(fresh);
    char *save_before = NULL;
    char *save_after = NULL;
    char *old_line = strtok_r(before, "\n", &save_before);
    for (char *line = strtok_r(after, "\n", &save_after); line != NULL;
         line = strtok_r(NULL, "\n", &save_after)) {
        bool deferred = strncmp(line, CONTROL_SOCKET_KEY, strlen(CONTROL_SOCKET_KEY)) == 0;
        if (old_line == NULL || strcmp(old_line, line) != 0)
            report_line(counts, deferred ? "next-start" : "live", line);
        if (old_line != NULL)
            old_line = strtok_r(NULL, "\n", &save_before);
    }
    free(before);
    free(after);
}

/* Puts every line of err into the report as "error LINE". */
static void report_errors(struct reload_counts *counts, const char *err)
{
    char *copy = xstrdup(err);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        report_line(counts, "error", line);
    free(copy);
}

bool supervisor_reload(struct supervisor *sup, struct buffer *report)
{
    struct etl_config fresh;
    char err[CONFIG_ERROR_MAX];
    char *worker_path = NULL;
    struct reload_counts counts = {.report = report};
    if (config_load(sup->config_path, &fresh, err, sizeof err) < 0 ||
        (worker_path = resolve_worker_path(&fresh, err, sizeof err)) == NULL) {
        log_event(LOG_ERROR, "config reload refused; the old configuration stays", "error", err);
        report_errors(&counts, err);
        config_free(&fresh);
        children_reopen_logs(sup);
        return false;
    }
    if (strcmp(fresh.control_socket, sup->config.control_socket) != 0)
        log_event(LOG_WARN, "control_socket changes take effect at the next start", "path",
                  sup->config.control_socket);
    if (fresh.control_socket_mode != sup->config.control_socket_mode)
        control_set_mode(&sup->control, fresh.control_socket_mode);
    output_set_limit(&sup->output, (size_t)fresh.output_buffer_bytes);
    sup->control.idle_timeout_ms = fresh.control_idle_timeout_ms;
    report_live(&counts, &sup->config, &fresh);
    /* The file's level replaces any set by etlctl log-level; a worker
     * restarted below starts with it. */
    for (size_t i = 0; i < sup->children_count; i++)
        child_set_log_level(sup->children[i], fresh.log_level);
    remove_gone(sup, &fresh, &counts);
    apply_sections(sup, &fresh, worker_path, &counts);
    config_free(&sup->config);
    sup->config = fresh;
    free(sup->worker_path);
    sup->worker_path = worker_path;
    log_set_level(sup->config.log_level);
    log_dir_create(sup->config.log_dir);
    children_reopen_logs(sup);
    for (size_t i = 0; i < sup->config.indices_count; i++) {
        if (child_find(sup, sup->config.indices[i].name) == NULL)
            add_child(sup, &sup->config.indices[i]);
    }
    struct log_line *line = log_begin(LOG_INFO, "config reloaded");
    log_int(line, "changed", counts.changed);
    log_int(line, "added", counts.added);
    log_int(line, "removed", counts.removed);
    log_end(line);
    return true;
}
