/* listen_addr.h - "HOST:PORT" of a TCP listener (metrics_listen): HOST a
 * numeric IPv4 address or an IPv6 one in brackets ("127.0.0.1:9187",
 * "[::1]:9187", "0.0.0.0:9187"); no names, so that what is listened on
 * never depends on a resolver. */
#ifndef ETL_LISTEN_ADDR_H
#define ETL_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Parses text into *addr.  Returns false with a reason in reason. */
bool listen_addr_parse(const char *text, struct sockaddr_storage *addr, char *reason,
                       size_t reason_size);

#endif
