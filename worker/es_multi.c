/* es_multi.c - see es_multi.h. */
#include "es_multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libcurl write callback: the slot's response, up to response_max_bytes
 * like es_client.c's (a body the server did not announce the length of is
 * only caught here). */
static size_t collect_slot_body(char *data, size_t size, size_t count, void *user)
{
    struct es_multi_slot *slot = user;
    return es_append_capped(&slot->response, slot->response_max, &slot->too_long, data,
                            size * count);
}

/* Each slot is a copy of the transport's handle (options, headers,
 * credentials, the stop check), writing into its own buffers. */
int es_multi_init(struct es_multi *m, struct es_client *es, size_t count, char *err,
                  size_t err_size)
{
    *m = (struct es_multi){.es = es, .count = count};
    m->multi = curl_multi_init();
    m->slots = xcalloc(count, sizeof *m->slots);
    if (m->multi == NULL) {
        snprintf(err, err_size, "curl_multi_init failed");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        struct es_multi_slot *slot = &m->slots[i];
        slot->curl = curl_easy_duphandle(es->curl);
        if (slot->curl == NULL) {
            snprintf(err, err_size, "curl_easy_duphandle failed");
            return -1;
        }
        curl_easy_setopt(slot->curl, CURLOPT_WRITEFUNCTION, collect_slot_body);
        curl_easy_setopt(slot->curl, CURLOPT_WRITEDATA, slot);
        slot->response_max = es->response_max;
        curl_easy_setopt(slot->curl, CURLOPT_ERRORBUFFER, slot->err);
        curl_easy_setopt(slot->curl, CURLOPT_HTTPHEADER, es->ndjson_headers);
        curl_easy_setopt(slot->curl, CURLOPT_CUSTOMREQUEST, "POST");
        curl_easy_setopt(slot->curl, CURLOPT_PRIVATE, slot);
    }
    return 0;
}

/* Removes the busy slots from the multi handle, then frees everything. */
void es_multi_free(struct es_multi *m)
{
    for (size_t i = 0; i < m->count; i++) {
        struct es_multi_slot *slot = &m->slots[i];
        if (slot->busy && !slot->finished)
            curl_multi_remove_handle(m->multi, slot->curl);
        if (slot->curl != NULL)
            curl_easy_cleanup(slot->curl);
        buffer_free(&slot->response);
        free(slot->url);
    }
    free(m->slots);
    if (m->multi != NULL)
        curl_multi_cleanup(m->multi);
    *m = (struct es_multi){0};
}

void es_multi_start(struct es_multi *m, size_t slot_index, const char *path, const char *body,
                    size_t body_len)
{
    struct es_multi_slot *slot = &m->slots[slot_index];
    free(slot->url);
    slot->url = xasprintf("%s%s", m->es->base_url, path);
    slot->node = m->es->node;
    buffer_reset(&slot->response);
    slot->err[0] = '\0';
    slot->too_long = false;
    slot->busy = true;
    slot->finished = false;
    slot->status = -1;
    curl_easy_setopt(slot->curl, CURLOPT_URL, slot->url);
    curl_easy_setopt(slot->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(slot->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_multi_add_handle(m->multi, slot->curl);
    int running;
    curl_multi_perform(m->multi, &running);
}

/* Records how a transfer that libcurl says is done ended. */
static void finish_slot(struct es_multi *m, CURL *curl, CURLcode rc)
{
    struct es_multi_slot *slot = NULL;
    curl_easy_getinfo(curl, CURLINFO_PRIVATE, (char **)&slot);
    curl_multi_remove_handle(m->multi, curl);
    slot->finished = true;
    if (rc != CURLE_OK) {
        if (slot->too_long || rc == CURLE_FILESIZE_EXCEEDED)
            snprintf(slot->err, sizeof slot->err, ES_TOO_LONG_REASON, slot->response_max);
        else if (slot->err[0] == '\0')
            snprintf(slot->err, sizeof slot->err, "%s", curl_easy_strerror(rc));
        slot->status = -1;
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &slot->status);
    }
    const volatile sig_atomic_t *stop = m->es->stop;
    if (es_node_failed(slot->status, slot->too_long) && (stop == NULL || !*stop)) {
        char why[sizeof slot->err];
        if (slot->status < 0)
            snprintf(why, sizeof why, "%s", slot->err);
        else
            snprintf(why, sizeof why, "HTTP %ld", slot->status);
        es_client_fail_over(m->es, slot->node, why);
    }
}

void es_multi_pump(struct es_multi *m, int extra_fd, int timeout_ms)
{
    struct curl_waitfd extra = {.fd = extra_fd, .events = CURL_WAIT_POLLIN};
    curl_multi_poll(m->multi, extra_fd >= 0 ? &extra : NULL, extra_fd >= 0 ? 1 : 0, timeout_ms,
                    NULL);
    int running;
    curl_multi_perform(m->multi, &running);
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE)
            finish_slot(m, msg->easy_handle, msg->data.result);
    }
}

void es_multi_take(struct es_multi *m, size_t slot)
{
    m->slots[slot].busy = false;
}
