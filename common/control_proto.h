/* control_proto.h - the line protocol of the control socket, spoken by
 * etlctl (client) and etl-supervisor (server).
 *
 * Request: one line "COMMAND [NAME [LEVEL]]\n", words separated by spaces:
 *     status [NAME]   restart NAME   stop NAME   start NAME   reopen-logs
 *     reindex NAME    reload         log-level NAME LEVEL
 * Reply: any number of "data TEXT" lines, then one final line, either
 *     "ok [TEXT]"   or   "error CODE TEXT"
 * (CODE below), after which the supervisor closes the connection.  Every
 * line is at most CONTROL_LINE_MAX bytes. */
#ifndef ETL_CONTROL_PROTO_H
#define ETL_CONTROL_PROTO_H

#include "util.h"

#include <stddef.h>

/* Longest request or reply line, '\n' included. */
#define CONTROL_LINE_MAX 4096
/* Longest worker name + 1 (index section names are 1-63 characters). */
#define CONTROL_NAME_MAX 64

enum control_command {
    CONTROL_STATUS,      /* one status line per worker (or of NAME) */
    CONTROL_RESTART,     /* stop NAME if running, then start it */
    CONTROL_STOP,        /* stop NAME and keep it stopped */
    CONTROL_START,       /* start NAME if it is not running */
    CONTROL_REOPEN_LOGS, /* reopen log_dir/NAME.log files */
    CONTROL_REINDEX,     /* send SIGUSR1 to NAME: it starts a rebuild */
    CONTROL_RELOAD,      /* read the config file again; data lines say what changed */
    CONTROL_LOG_LEVEL,   /* set NAME's log level (a worker, "supervisor", "all") */
};

/* The CODE of an "error" reply. */
enum control_error {
    CONTROL_ERR_USAGE,          /* "usage": not a valid request */
    CONTROL_ERR_UNKNOWN_WORKER, /* "unknown-worker": no worker of that name */
    CONTROL_ERR_UNAVAILABLE,    /* "unavailable": the supervisor is shutting down */
    CONTROL_ERR_BUSY,           /* "busy": too many control connections */
    CONTROL_ERR_NOT_RUNNING,    /* "not-running": the worker has no process now */
    CONTROL_ERR_CONFIG,         /* "config": the file was refused (data lines say why) */
    CONTROL_ERR_UNKNOWN_CODE,   /* a code this version does not know */
};

struct control_request {
    enum control_command command;
    char name[CONTROL_NAME_MAX];  /* "" when the command has none */
    char level[CONTROL_NAME_MAX]; /* log-level's LEVEL; "" for the others */
};

/* Parses a request line (with or without its '\n').  Returns 0, or -1 with
 * a reason (fit to show to a person) in err. */
int control_parse_request(const char *line, struct control_request *req, char *err,
                          size_t err_size);
/* The word of a command ("reopen-logs"). */
const char *control_command_name(enum control_command command);

/* The kinds of reply lines. */
enum control_reply_kind { CONTROL_REPLY_DATA, CONTROL_REPLY_OK, CONTROL_REPLY_ERROR };

struct control_reply_line {
    enum control_reply_kind kind;
    enum control_error error; /* for CONTROL_REPLY_ERROR */
    const char *text;         /* points into the parsed line; "" when none */
};

/* Parses one reply line (without its '\n').  Returns 0, or -1 when it is
 * not a reply line at all. */
int control_parse_reply_line(const char *line, struct control_reply_line *reply);

/* Append one reply line to out; newlines in text become spaces. */
void control_reply_data(struct buffer *out, const char *text);
void control_reply_ok(struct buffer *out, const char *text);
void control_reply_error(struct buffer *out, enum control_error code, const char *text);
/* The CODE word of an error. */
const char *control_error_name(enum control_error code);

#endif
