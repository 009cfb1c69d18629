/* listen_addr.c - see listen_addr.h. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest address text: an IPv6 address in brackets. */
#define HOST_TEXT_MAX 64
#define PORT_MAX      65535

/* Splits at the last ':' (IPv6 brackets stripped), then inet_pton. */
bool listen_addr_parse(const char *text, struct sockaddr_storage *addr, char *reason,
                       size_t reason_size)
{
    const char *colon = strrchr(text, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - text) : 0;
    if (colon == NULL || host_len == 0 || host_len >= HOST_TEXT_MAX) {
        snprintf(reason, reason_size, "\"%s\" is not HOST:PORT", text);
        return false;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > PORT_MAX) {
        snprintf(reason, reason_size, "\"%s\" has no port from 1 to %d", text, PORT_MAX);
        return false;
    }
    char host[HOST_TEXT_MAX];
    bool v6 = text[0] == '[' && host_len >= 2 && text[host_len - 1] == ']';
    snprintf(host, sizeof host, "%.*s", (int)(v6 ? host_len - 2 : host_len), text + (v6 ? 1 : 0));
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)addr;
    if (!v6 && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return true;
    }
    if (v6 && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return true;
    }
    snprintf(reason, reason_size,
             "\"%s\" is not a numeric IPv4 address or [IPv6] address with a port", text);
    return false;
}
