/* es_client.c - see es_client.h. */
#include "es_client.h"

#include "http_status.h"
#include "log.h"
#include "secrets.h"
#include "status_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t es_append_capped(struct buffer *body, size_t max, bool *too_long, const char *data,
                        size_t len)
{
    if (len > max - body->len) {
        *too_long = true;
        return 0;
    }
    buffer_append(body, data, len);
    return len;
}

/* libcurl write callback: the response, up to response_max bytes as
 * decoded (a compressed body counts at its real size). */
static size_t collect_body(char *data, size_t size, size_t count, void *user)
{
    struct es_client *es = user;
    return es_append_capped(&es->response, es->response_max, &es->too_long, data, size * count);
}

/* libcurl progress callback: a non-zero return aborts the transfer.  On a
 * stop request, a request still being sent is abandoned (Elasticsearch acts
 * on a bulk request only once it has all of it), but one sent whole is
 * waited for, so the worker knows what the index holds before it saves its
 * state and exits. */
static int abort_on_stop(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow;
    const volatile sig_atomic_t *stop = user;
    bool sent_whole = ultotal > 0 && ulnow >= ultotal;
    return stop != NULL && *stop && !sent_whole ? 1 : 0;
}

/* https: the peer's certificate and name are always verified, against
 * ca_file when set (else the system's CAs); a client certificate is
 * presented when set.  curl ignores all of it for http://. */
static void set_tls(CURL *curl, const struct etl_config *config)
{
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (config->es_ca_file[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, config->es_ca_file);
    if (config->es_client_cert_file[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, config->es_client_cert_file);
        curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (config->es_client_key_file[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_SSLKEY, config->es_client_key_file);
}

/* Overwrites a secret before freeing it. */
static void free_secret(char *secret)
{
    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
}

/* Adds "Authorization: ApiKey KEY" to both header lists; the key is the
 * first line of api_key_file (Elasticsearch's "encoded" value, base64 of
 * id:api_key).  Returns 0, or -1 with err filled (never with the key). */
static int add_api_key(struct es_client *es, const char *file, char *err, size_t err_size)
{
    bool failed;
    char *key = config_read_secret(file, NULL, &failed, err, err_size);
    if (failed)
        return -1;
    if (key == NULL || key[0] == '\0') {
        snprintf(err, err_size, "%s: the API key file is empty", file);
        free_secret(key);
        return -1;
    }
    char *header = xasprintf("Authorization: ApiKey %s", key);
    es->json_headers = curl_slist_append(es->json_headers, header);
    es->ndjson_headers = curl_slist_append(es->ndjson_headers, header);
    free_secret(header);
    free_secret(key);
    return 0;
}

/* Basic auth with user and the password of password_file (or
 * ETL_ES_PASSWORD).  Returns 0, or -1 with err filled. */
static int set_basic_auth(CURL *curl, const struct etl_config *config, char *err, size_t err_size)
{
    bool failed;
    char *password =
        config_read_secret(config->es_password_file, "ETL_ES_PASSWORD", &failed, err, err_size);
    if (failed)
        return -1;
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, config->es_user);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, password ? password : "");
    free_secret(password);
    return 0;
}

/* One curl handle for the worker's life: keeps the connection alive between
 * bulk requests. */
int es_client_init(struct es_client *es, const struct etl_config *config,
                   const volatile sig_atomic_t *stop, char *err, size_t err_size)
{
    *es = (struct es_client){0};
    es->stop = stop;
    es->curl = curl_easy_init();
    if (es->curl == NULL) {
        snprintf(err, err_size, "curl_easy_init failed");
        return -1;
    }
    if (url_list_parse(config->es_url, &es->nodes, err, err_size) < 0)
        return -1;
    es->base_url = es->nodes.urls[0];
    es->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    es->ndjson_headers = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    curl_easy_setopt(es->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)config->es_connect_timeout_ms);
    curl_easy_setopt(es->curl, CURLOPT_TIMEOUT_MS, (long)config->es_request_timeout_ms);
    curl_easy_setopt(es->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(es->curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(es->curl, CURLOPT_WRITEDATA, es);
    es->response_max = (size_t)config->es_response_max_bytes;
    /* Refused before reading when the server announces a longer body. */
    curl_easy_setopt(es->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)es->response_max);
    curl_easy_setopt(es->curl, CURLOPT_ERRORBUFFER, es->err);
    curl_easy_setopt(es->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(es->curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(es->curl, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(es->curl, CURLOPT_NOPROGRESS, 0L);
    set_tls(es->curl, config);
    /* The config allows one of the two (check_es_credentials). */
    if (config->es_api_key_file[0] != '\0')
        return add_api_key(es, config->es_api_key_file, err, err_size);
    if (config->es_user[0] != '\0')
        return set_basic_auth(es->curl, config, err, err_size);
    return 0;
}

/* Releases the handle and buffers. */
void es_client_free(struct es_client *es)
{
    if (es->curl != NULL)
        curl_easy_cleanup(es->curl);
    curl_slist_free_all(es->json_headers);
    curl_slist_free_all(es->ndjson_headers);
    buffer_free(&es->response);
    url_list_free(&es->nodes);
    *es = (struct es_client){0};
}

bool es_node_failed(long status, bool too_long)
{
    if (status < 0)
        return !too_long;
    return status == HTTP_BAD_GATEWAY || status == HTTP_SERVICE_UNAVAILABLE ||
           status == HTTP_GATEWAY_TIMEOUT;
}

void es_client_fail_over(struct es_client *es, size_t node, const char *why)
{
    if (es->nodes.count < 2 || node != es->node)
        return;
    es->node = (node + 1) % es->nodes.count;
    es->base_url = es->nodes.urls[es->node];
    char *failed = url_list_shown(es->nodes.urls[node]);
    char *next = url_list_shown(es->base_url);
    struct log_line *line = log_begin(LOG_WARN, "search node failed; the next one takes over");
    log_str(line, "node", failed);
    log_str(line, "next", next);
    log_str(line, "reason", why);
    log_end(line);
    status_report_node(next);
    free(failed);
    free(next);
}

void es_client_report_node(const struct es_client *es)
{
    char *shown = url_list_shown(es->base_url);
    status_report_node(shown);
    free(shown);
}

/* One attempt of es_request on the node in use. */
static long request_once(struct es_client *es, const char *method, const char *path,
                         const char *body, size_t body_len, bool ndjson)
{
    char *url = xasprintf("%s%s", es->base_url, path);
    buffer_reset(&es->response);
    es->too_long = false;
    es->err[0] = '\0';
    curl_easy_setopt(es->curl, CURLOPT_URL, url);
    curl_easy_setopt(es->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(es->curl, CURLOPT_HTTPHEADER, ndjson ? es->ndjson_headers : es->json_headers);
    if (body != NULL) {
        curl_easy_setopt(es->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(es->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(es->curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(es->curl, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(es->curl);
    free(url);
    if (rc != CURLE_OK) {
        if (es->too_long || rc == CURLE_FILESIZE_EXCEEDED)
            snprintf(es->err, sizeof es->err, ES_TOO_LONG_REASON, es->response_max);
        else if (es->err[0] == '\0')
            snprintf(es->err, sizeof es->err, "%s", curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(es->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

long es_request(struct es_client *es, const char *method, const char *path, const char *body,
                size_t body_len, bool ndjson)
{
    long status = -1;
    for (size_t tried = 0; tried < es->nodes.count; tried++) {
        size_t node = es->node;
        status = request_once(es, method, path, body, body_len, ndjson);
        if (!es_node_failed(status, es->too_long) || (es->stop != NULL && *es->stop))
            break;
        char why[sizeof es->err];
        if (status < 0)
            snprintf(why, sizeof why, "%s", es->err);
        else
            snprintf(why, sizeof why, "HTTP %ld", status);
        es_client_fail_over(es, node, why);
    }
    return status;
}
