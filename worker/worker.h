/* worker.h - the context of the worker of one index (struct worker), how a
 * step of its work ends (enum step), and what its parts share: backing off,
 * PostgreSQL failures, saving the state, the cursors of a fresh load, the
 * mapping file; and its setup (worker_init) and release.  The loop is
 * sync.c's; every other part of the worker includes this, never sync.h. */
#ifndef ETL_WORKER_H
#define ETL_WORKER_H

#include "backoff.h"
#include "config.h"
#include "es_client.h"
#include "es_multi.h"
#include "exit_status.h"
#include "pg_source.h"
#include "search_engine.h"
#include "state.h"

#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>

/* Room for a refusal's cause, NUL included. */
#define REFUSAL_CAUSE_MAX 96

/* A refusal spell: from the first bulk answer the index or cluster refuses
 * (or answers with an error of an unknown kind) to the next answer that
 * refuses nothing (refusal.c).  With requests in flight, an answer may be
 * older than one already read: each is judged by when its request was
 * sent, so a stale one neither starts nor ends a spell. */
struct refusal_spell {
    bool active;
    enum bulk_outcome outcome;     /* BULK_REFUSING or BULK_UNKNOWN */
    char cause[REFUSAL_CAUSE_MAX]; /* the error's type, or "http_NNN" without one */
    int64_t since_ms;              /* monotonic time it began */
    long attempts;                 /* answers refused in it */
    int64_t refused_sent_ms;       /* when the latest request it refused was sent */
    int64_t accepted_sent_ms;      /* when the latest request taken was sent (kept
                                      from spell to spell) */
};

/* The worker of one index: its configuration, connections, state and the
 * runtime flags of its loop; the lifecycle's phase is state.phase. */
struct worker {
    const struct etl_config *config;
    const struct index_config *idx;
    struct pg_source pg;
    struct es_client es;                    /* the HTTP transport */
    struct es_multi multi;                  /* bulk requests in flight (pipeline.c) */
    const struct search_engine_ops *engine; /* what to say over it */
    json_t *definition;                     /* the mapping file */
    struct worker_state state;
    char *state_path;
    char *rejects_path;
    char *bulk_path; /* the engine's bulk_path with wait_for_active_shards and timeout */
    struct backoff backoff;
    const volatile sig_atomic_t *stop;
    struct pg_snapshot snapshot;    /* the round's, for the target being run (batch.c) */
    int64_t held_warned_ms;         /* when the last "changes ... wait" warning was logged */
    int64_t pending_since_ms;       /* with pending: the oldest `modified` waiting, wall ms */
    int64_t verify_started_ms;      /* monotonic time it started */
    int64_t verify_due_ms;          /* monotonic time the next is due; 0 before the first round */
    size_t change_log;              /* with has_change_log: which source is change_log */
    const char **prune_indices;     /* names of the indices that read change_log */
    size_t prune_count;             /* 0: this worker does not prune */
    int64_t next_prune_ms;          /* monotonic time of the next prune */
    int64_t window_saved_ms;        /* monotonic time the live window was last saved */
    char *build_alias;              /* the alias a rebuild's batches write to */
    const char *fresh_reason;       /* why the state is fresh: a rebuild's reason */
    struct stat mapping_stat;       /* the mapping file as last read */
    int64_t next_check_ms;          /* monotonic time of the next alias and mapping check */
    volatile sig_atomic_t *reindex; /* set by SIGUSR1: rebuild (NULL: none) */
    int64_t signal_seen;            /* content.etl_change_signal as last read */
    int64_t signal_moved_ms;        /* monotonic time it was last seen moving; 0: never */
    struct refusal_spell refusal;   /* writes refused for now, if active */
    int64_t build_walked_ms;        /* monotonic time the build was first seen walked; 0: not */
    int64_t build_warned_ms;        /* when "build not caught up" was last logged; 0: never */
    const char *build_open_source;  /* the build's last round: a source that came full, or NULL */
    /* The small fields last: they pack without padding. */
    int exit_status;     /* what a STEP_FATAL exits with */
    bool caught_up;      /* the last round found nothing: logged once per idle spell */
    bool truncated;      /* a batch met a change to every document: rebuild */
    bool behind;         /* the database is not the one the cursors read: rebuild */
    bool pending;        /* the live window has rows read, not all yet searchable */
    pid_t verify_pid;    /* a background verify running (background_verify.c); 0 */
    bool has_change_log; /* the index has a change source named change_log */
    bool position_dirty; /* change_log position saved but not yet reported */
    bool signal_known;   /* signal_seen was read on this run */
    bool signal_warned;  /* "cannot read the change signal" logged since */
    bool prepared;       /* the alias was reconciled since the writer lock was taken */
};

/* Sets the worker up for idx: reads its SQL, mapping and state.  Returns 0,
 * or an exit status with the reason logged. */
int worker_init(struct worker *w, const struct etl_config *config, const struct index_config *idx,
                const volatile sig_atomic_t *stop);
/* Reads the index's SQL files and sets up the HTTP client of w (config,
 * idx and stop set).  Returns 0, or an exit status with the reason logged
 * (worker_init does this; verify too). */
int worker_open(struct worker *w);
/* Says what to speak to the search engine (ops) and sets the bulk path
 * every write uses (engine_identify at start; verify, which writes with
 * --repair, too). */
void worker_set_engine(struct worker *w, const struct search_engine_ops *ops);
/* Releases everything worker_init or worker_open set up. */
void worker_free(struct worker *w);

/* How one step of the loop ended; the loop's parts (batch.c) answer with it. */
enum step {
    STEP_OK,    /* done */
    STEP_RETRY, /* a service failed: the loop backs off and starts over */
    STEP_STOP,  /* stop requested */
    STEP_FATAL, /* cannot go on: exit with w->exit_status */
    STEP_LOST,  /* the alias written to is missing: rebuild (rebuild.c) */
    STEP_YIELD  /* another worker holds the index's writer lock: write nothing more until
                   worker_hold_lock has it again */
};

/* Whose cursors a batch moves and where it writes. */
enum sync_target {
    TARGET_LIVE, /* the live index, through the alias clients query */
    TARGET_BUILD /* the index a rebuild is filling, through the build alias */
};

/* Logs a retry and sleeps the next backoff delay.  Returns STEP_STOP when a
 * stop request cut the sleep short, else STEP_RETRY. */
enum step worker_back_off(struct worker *w, const char *what, const char *reason);
/* The same for a bulk request refused during a refusal spell: its retry
 * line is debug, the spell's own lines say it (refusal.h). */
enum step worker_back_off_refused(struct worker *w, const char *reason);
/* Bad SQL is fatal (EXIT_CONFIG); the writer lock held elsewhere yields;
 * anything else is backed off. */
enum step worker_pg_failed(struct worker *w, enum pg_failure failure);

/* Holds the index's writer lock on the PostgreSQL connection, waiting
 * while another worker holds it (one warning per spell, a waiting status
 * every index_lock_poll_ms).  *waited when it had to wait: the index may
 * have been written by another meanwhile.  STEP_OK, STEP_STOP, or
 * STEP_FATAL. */
enum step worker_hold_lock(struct worker *w, bool *waited);
/* Before a change to the cluster's indices or aliases (a create, a
 * delete, a swap): still the index's one writer?  STEP_OK, STEP_YIELD, or
 * a PostgreSQL failure's step. */
enum step worker_confirm_lock(struct worker *w);
/* Reads the state file again (after a wait for the writer lock: the one
 * that held it may have written it) and resets what the loop knew. */
void worker_reload_state(struct worker *w);
/* Saves the state, retrying with backoff until it is written or a stop. */
enum step worker_save_state(struct worker *w);

/* Takes the snapshot a fresh load reads up to into out
 * (SNAPSHOT_TEXT_MAX), and records the cluster it is of in the state. */
enum step worker_start_horizon(struct worker *w, char *out, size_t size);
/* Sets every live cursor back to the start (LIFECYCLE_DO_DROP_CURSORS). */
void worker_drop_cursors(struct worker *w);
/* The state's cursors cannot be used (PostgreSQL refused one; the
 * database is behind them): every cursor back to the start, and a full
 * load for reason at the next round, into a new index behind the alias. */
void worker_restart_state(struct worker *w, const char *reason);
/* Sets up a load's window: from no transaction to snapshot; sources[0..from)
 * at the start (they read every row visible in it), sources[from..count)
 * past its end (nothing of them is read: the load's documents, built from
 * snapshots taken after it, hold their changes already). */
void worker_cursors_at(struct source_state *sources, struct snapshot_window *window, size_t count,
                       size_t from, const char *snapshot);

/* The change source whose position is reported and checked against the
 * prune watermark (its SQL file's name). */
#define CHANGE_LOG_SOURCE "change_log"

#endif
