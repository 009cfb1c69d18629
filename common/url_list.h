/* url_list.h - [elasticsearch] url: one or more node addresses separated
 * by spaces, each http:// or https://, all with the same scheme (the TLS
 * settings apply to every node), none twice.  The config checks the text
 * with it; the HTTP client (worker/es_client.h) keeps the list it makes. */
#ifndef ETL_URL_LIST_H
#define ETL_URL_LIST_H

#include <stddef.h>

/* The most nodes url may name. */
#define URL_LIST_MAX      16
#define URL_LIST_MAX_TEXT "16"

struct url_list {
    char **urls; /* each without a trailing '/' */
    size_t count;
};

/* Splits text at spaces and tabs into *list.  Returns 0, or -1 with a
 * reason (no file, line or key) in reason and *list empty. */
int url_list_parse(const char *text, struct url_list *list, char *reason, size_t reason_size);
/* Frees what url_list_parse made. */
void url_list_free(struct url_list *list);

/* How a node is named in logs and the status: url without any user:password@
 * (a new string). */
char *url_list_shown(const char *url);

#endif
