/* metrics.c - see metrics.h. */
#include "metrics.h"

#include "listen_addr.h"
#include "metrics_text.h"
#include "readiness.h"
#include "supervisor.h"
#include "util.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connections served at once; a scraper needs one. */
#define METRICS_MAX_CONNECTIONS 16
#define METRICS_PATH            "/metrics"
#define HEALTHZ_PATH            "/healthz"
#define READYZ_PATH             "/readyz"
#define METRICS_CONTENT_TYPE    "text/plain; version=0.0.4; charset=utf-8"
#define MS_PER_S                1000

/* Answers one request with status and a copy of body. */
static enum MHD_Result reply(struct MHD_Connection *connection, unsigned int status,
                             const char *content_type, const char *body)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

/* GET /readyz: 200 when every worker is ready, else 503; the body says
 * each worker's condition either way. */
static enum MHD_Result reply_readyz(struct MHD_Connection *connection, const struct supervisor *sup)
{
    struct buffer body = {0};
    buffer_append_str(&body, "");
    enum health worst = readiness_report(sup, wall_clock_ms(), &body);
    enum MHD_Result result =
        reply(connection, worst == HEALTH_READY ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
              "text/plain", body.data);
    buffer_free(&body);
    return result;
}

/* MHD's request handler: GET (or HEAD) /metrics, /healthz, /readyz;
 * anything else is 404 or 405.  Runs inside metrics_run, in the
 * supervisor's thread: an answer to /healthz means its loop turns. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    const struct supervisor *sup = cls;
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* a body is not read */
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    if (strcmp(url, HEALTHZ_PATH) == 0)
        return reply(connection, MHD_HTTP_OK, "text/plain", "ok\n");
    if (strcmp(url, READYZ_PATH) == 0)
        return reply_readyz(connection, sup);
    if (strcmp(url, METRICS_PATH) != 0)
        return reply(connection, MHD_HTTP_NOT_FOUND, "text/plain",
                     "see /metrics, /healthz, /readyz\n");
    char *text = metrics_text(sup, wall_clock_ms());
    enum MHD_Result result = reply(connection, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text);
    free(text);
    return result;
}

/* Idle connections are closed after control_idle_timeout_ms (in whole
 * seconds, at least one), like the control socket's. */
bool metrics_open(struct supervisor *sup, char *err, size_t err_size)
{
    sup->metrics.daemon = NULL;
    const char *listen = sup->config.metrics_listen;
    if (listen == NULL || listen[0] == '\0')
        return true;
    struct sockaddr_storage addr;
    char reason[256];
    if (!listen_addr_parse(listen, &addr, reason, sizeof reason)) {
        snprintf(err, err_size, "metrics_listen: %s", reason);
        return false;
    }
    unsigned int flags = MHD_USE_EPOLL;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned int idle_s =
        (unsigned int)(sup->config.control_idle_timeout_ms + MS_PER_S - 1) / MS_PER_S;
    sup->metrics.daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, sup, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_END);
    if (sup->metrics.daemon == NULL) {
        snprintf(err, err_size, "metrics_listen: cannot listen on %s", listen);
        return false;
    }
    return true;
}

int metrics_poll_fd(const struct metrics *metrics)
{
    if (metrics->daemon == NULL)
        return -1;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(metrics->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info != NULL ? info->epoll_fd : -1;
}

int64_t metrics_timeout(const struct metrics *metrics)
{
    MHD_UNSIGNED_LONG_LONG timeout;
    if (metrics->daemon == NULL || MHD_get_timeout(metrics->daemon, &timeout) != MHD_YES)
        return -1;
    return (int64_t)timeout;
}

void metrics_run(struct metrics *metrics)
{
    if (metrics->daemon != NULL)
        MHD_run(metrics->daemon);
}

void metrics_close(struct metrics *metrics)
{
    if (metrics->daemon != NULL)
        MHD_stop_daemon(metrics->daemon);
    metrics->daemon = NULL;
}
