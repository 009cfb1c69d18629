/* config.h - the INI configuration (etc/etl.ini), read by ini_reader.c and
 * validated against tables of known keys (config.c for the fixed sections,
 * config_index.c for [index.NAME]).  Any problem is reported as
 *     FILE:LINE: KEY: REASON
 * and the programs exit with EXIT_CONFIG (78, EX_CONFIG).  etc/etl.ini
 * documents every key with its default and range.  Passwords are read
 * apart from it, by secrets.h. */
#ifndef ETL_CONFIG_H
#define ETL_CONFIG_H

#include "config_error.h"
#include "exit_status.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_ERROR_MAX 512
/* The longest stop_timeout_s allowed (etlctl waits that long for stop and
 * restart when it cannot read the value in force). */
#define CONFIG_STOP_TIMEOUT_MAX_S 3600
/* ready_max_lag_s when not set; etlctl check uses it when it reads no
 * config (-s, or the environment's socket). */
#define CONFIG_READY_MAX_LAG_DEFAULT_S 300
/* The file read when no -c is given: etl/etl.ini under the SYSCONFDIR the
 * programs were built for (make install; /etc for PREFIX=/usr). */
#ifndef ETL_SYSCONFDIR
#define ETL_SYSCONFDIR "/usr/local/etc"
#endif
#define CONFIG_DEFAULT_PATH ETL_SYSCONFDIR "/etl/etl.ini"

/* What a worker does when its mapping file differs from the live mapping. */
enum mapping_change {
    MAPPING_CHANGE_REBUILD, /* build a new index from the file, then move the alias */
    MAPPING_CHANGE_REFUSE   /* exit 65 (EXIT_MAPPING_DIFFERS) */
};

/* One [index.NAME] section: what the generic worker needs for one index. */
struct index_config {
    char *name;          /* NAME from the section header */
    char *index;         /* Elasticsearch index name */
    char *mapping;       /* settings+mappings JSON file */
    char *documents_sql; /* SQL: $1 uuid[] -> (id, document json) */
    char **changes_sql;  /* SQL files of the change sources; [0] lists the index's own rows */
    size_t changes_count;
    int line;         /* line of the section header */
    int changes_line; /* line of the changes key */
};

/* The largest verify_rebuild_threshold: verify keeps at most this many
 * suspect ids in memory. */
#define CONFIG_VERIFY_REBUILD_THRESHOLD_MAX 100000

struct etl_config {
    char *path;     /* the file read */
    char *base_dir; /* its directory: relative paths start here */

    /* [etl] */
    char *state_dir;
    enum log_level log_level;
    int batch_size;
    int poll_interval_ms;
    int wake_check_ms; /* idle: how often content.etl_change_signal is read; 0: polls only */
    int backoff_initial_ms;
    int backoff_max_ms;
    int held_warn_s;
    int change_log_retention_s;      /* change_log rows younger than this are kept */
    int change_log_prune_interval_s; /* 0: the workers never prune */
    int bulk_max_bytes;              /* largest _bulk body; a batch is split to fit */
    int bulk_concurrency;            /* batches of one source in flight at once */
    int verify_rebuild_threshold;    /* verify --repair: above this many, a rebuild */
    int keep_old_indices;            /* concrete indices kept after an alias swap */
    enum mapping_change on_mapping_change;
    int index_lock_poll_ms;   /* another worker holds the index's writer lock: try again after */
    int build_max_catch_up_s; /* a build not swapped this long after its walk says why */

    /* [postgres]: empty strings leave the setting to libpq (PG* variables) */
    char *pg_host;
    char *pg_port;
    char *pg_dbname;
    char *pg_user;
    char *pg_password_file;
    char *pg_sslmode;
    char *pg_sslrootcert; /* PEM CAs for sslmode verify-ca / verify-full */
    int pg_connect_timeout_s;
    int pg_statement_timeout_ms;
    int pg_keepalives_idle_s;   /* idle seconds before TCP keepalive probes */
    int pg_tcp_user_timeout_ms; /* unacknowledged data longer than this drops the connection */

    /* [elasticsearch] */
    char *es_url; /* one or more node URLs separated by spaces (url_list.h) */
    char *es_user;
    char *es_password_file;
    char *es_api_key_file;     /* first line: the encoded API key; exclusive with es_user */
    char *es_ca_file;          /* PEM CAs trusted for https ("": the system's) */
    char *es_client_cert_file; /* PEM client certificate ("": none) */
    char *es_client_key_file;  /* its private key ("": in es_client_cert_file) */
    int es_connect_timeout_ms;
    int es_request_timeout_ms;
    int es_response_max_bytes;       /* a longer answer is cut off: a failed request */
    char *es_wait_for_active_shards; /* "all" or N: copies active before a bulk write */

    /* [supervisor] */
    char *control_socket;
    int control_socket_mode;
    char *log_dir;
    char *worker_path;
    int restart_initial_ms;
    int restart_max_ms;
    int restart_reset_after_s;
    int stop_timeout_s;
    int output_buffer_bytes;
    int control_idle_timeout_ms;
    char *metrics_listen;  /* HOST:PORT of the Prometheus listener; "" off */
    int ready_max_lag_s;   /* the lag up to which a worker is ready (health.h) */
    int verify_interval_s; /* a background verify every this many seconds; 0 off */
    int hang_timeout_s;    /* a worker silent this long (past its announced sleep) is killed */

    struct index_config *indices;
    size_t indices_count;
};

/* Reads and validates path into *config.  Returns 0, or -1 with the
 * first "file:line: key: reason" message in err. */
int config_load(const char *path, struct etl_config *config, char *err, size_t err_size);
/* As config_load, with every error of the file added to errors, one
 * "file:line: key: reason" each (etl-supervisor --check). */
int config_load_all(const char *path, struct etl_config *config, struct config_errors *errors);
/* Frees everything config_load allocated. */
void config_free(struct etl_config *config);
/* The [index.NAME] section called name, or NULL. */
const struct index_config *config_find_index(const struct etl_config *config, const char *name);

/* Every setting a worker of idx runs with, as "section.key=value" lines:
 * the keys of every fixed section but [supervisor], then idx's own keys.
 * The supervisor compares these texts on SIGHUP to restart exactly the
 * workers whose settings changed.  A new string. */
char *config_worker_settings(const struct etl_config *config, const struct index_config *idx);

#endif
