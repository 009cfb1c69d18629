/* http_status.h - the HTTP statuses the worker acts on, by name: the
 * search engine's answers (es_client.c sends, the dialect and the callers
 * read them). */
#ifndef ETL_HTTP_STATUS_H
#define ETL_HTTP_STATUS_H

#define HTTP_OK                200
#define HTTP_UNAUTHORIZED      401
#define HTTP_FORBIDDEN         403
#define HTTP_NOT_FOUND         404
#define HTTP_PAYLOAD_TOO_LARGE 413
#define HTTP_TOO_MANY_REQUESTS 429
#define HTTP_SERVER_ERROR      500 /* the first 5xx: every one is the server's */
/* A node that answers these may be the problem, not the request: another
 * node of the cluster is asked (es_client.h). */
#define HTTP_BAD_GATEWAY         502
#define HTTP_SERVICE_UNAVAILABLE 503
#define HTTP_GATEWAY_TIMEOUT     504

/* 2xx: the request was done. */
#define HTTP_SUCCESS_MIN 200
#define HTTP_SUCCESS_END 300

#endif
