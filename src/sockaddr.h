/* SPDX-License-Identifier: MIT */
/* Socket addresses: formatting, comparison and resolution of endpoints. */
#ifndef WS_SOCKADDR_H
#define WS_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "a.b.c.d:port", "[v6]:port", or "(none)". */
void ws_sockaddr_format(char *out, size_t cap, const struct sockaddr_storage *ss);
/* Same family, address and port (other bytes ignored). */
bool ws_sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Resolve "host:port" / "[v6]:port" (getaddrinfo; may block on DNS). 0 or -errno. */
int ws_sockaddr_resolve(struct sockaddr_storage *out, const char *hostport);

#endif
