/* url_list.c - see url_list.h. */
#include "url_list.h"

#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The length of url's scheme with "://" (7 or 8), or 0 when it is neither
 * http:// nor https://. */
static size_t scheme_length(const char *url)
{
    if (strncmp(url, "http://", 7) == 0)
        return 7;
    if (strncmp(url, "https://", 8) == 0)
        return 8;
    return 0;
}

/* Checks one address and adds it to list. */
static int add_url(struct url_list *list, const char *word, size_t len, char *reason,
                   size_t reason_size)
{
    char *url = xasprintf("%.*s", (int)len, word);
    size_t scheme = scheme_length(url);
    while (len > scheme && url[len - 1] == '/')
        url[--len] = '\0';
    const char *problem = NULL;
    if (scheme == 0)
        problem = "is not an http:// or https:// URL";
    else if (url[scheme] == '\0')
        problem = "names no host";
    else if (list->count > 0 && scheme != scheme_length(list->urls[0]))
        problem = "mixes http:// and https:// with the first node (the TLS settings apply to "
                  "every node)";
    else if (list->count == URL_LIST_MAX)
        problem = "is one node too many (at most " URL_LIST_MAX_TEXT ")";
    for (size_t i = 0; problem == NULL && i < list->count; i++) {
        if (strcasecmp(list->urls[i], url) == 0)
            problem = "is listed twice";
    }
    if (problem != NULL) {
        snprintf(reason, reason_size, "\"%s\" %s", url, problem);
        free(url);
        return -1;
    }
    list->urls = xrealloc(list->urls, (list->count + 1) * sizeof *list->urls);
    list->urls[list->count++] = url;
    return 0;
}

int url_list_parse(const char *text, struct url_list *list, char *reason, size_t reason_size)
{
    *list = (struct url_list){0};
    const char *p = text;
    for (;;) {
        p += strspn(p, " \t");
        if (*p == '\0')
            break;
        size_t len = strcspn(p, " \t");
        if (add_url(list, p, len, reason, reason_size) < 0) {
            url_list_free(list);
            return -1;
        }
        p += len;
    }
    if (list->count == 0) {
        snprintf(reason, reason_size, "names no node (one or more http:// or https:// URLs)");
        return -1;
    }
    return 0;
}

void url_list_free(struct url_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->urls[i]);
    free(list->urls);
    *list = (struct url_list){0};
}

char *url_list_shown(const char *url)
{
    size_t scheme = scheme_length(url);
    const char *host = url + scheme;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash))
        host = at + 1;
    return xasprintf("%.*s%s", (int)scheme, url, host);
}
