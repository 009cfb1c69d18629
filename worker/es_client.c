/* es_client.c - see es_client.h. */
#include "es_client.h"

#include "secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcurl write callback: appends to the response buffer. */
static size_t collect_body(char *data, size_t size, size_t count, void *user)
{
    buffer_append(user, data, size * count);
    return size * count;
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
    es->base_url = xstrdup(config->es_url);
    size_t len = strlen(es->base_url);
    while (len > 0 && es->base_url[len - 1] == '/')
        es->base_url[--len] = '\0';
    es->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    es->ndjson_headers = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
    curl_easy_setopt(es->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)config->es_connect_timeout_ms);
    curl_easy_setopt(es->curl, CURLOPT_TIMEOUT_MS, (long)config->es_request_timeout_ms);
    curl_easy_setopt(es->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(es->curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(es->curl, CURLOPT_WRITEDATA, &es->response);
    curl_easy_setopt(es->curl, CURLOPT_ERRORBUFFER, es->err);
    curl_easy_setopt(es->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(es->curl, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    curl_easy_setopt(es->curl, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(es->curl, CURLOPT_NOPROGRESS, 0L);
    if (config->es_user[0] != '\0') {
        bool failed;
        char *password =
            config_read_secret(config->es_password_file, "ETL_ES_PASSWORD", &failed, err, err_size);
        if (failed)
            return -1;
        curl_easy_setopt(es->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(es->curl, CURLOPT_USERNAME, config->es_user);
        curl_easy_setopt(es->curl, CURLOPT_PASSWORD, password ? password : "");
        if (password != NULL) {
            memset(password, 0, strlen(password));
            free(password);
        }
    }
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
    free(es->base_url);
    *es = (struct es_client){0};
}

long es_request(struct es_client *es, const char *method, const char *path, const char *body,
                size_t body_len, bool ndjson)
{
    char *url = xasprintf("%s%s", es->base_url, path);
    buffer_reset(&es->response);
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
        if (es->err[0] == '\0')
            snprintf(es->err, sizeof es->err, "%s", curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(es->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}
