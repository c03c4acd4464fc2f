/* SPDX-License-Identifier: MIT */
/* Socket addresses: formatting, comparison. */
#ifndef WS_SOCKADDR_H
#define WS_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "a.b.c.d:port", "[v6]:port", or "(none)". */
void ws_sockaddr_format(char *out, size_t cap, const struct sockaddr_storage *ss);
/* Same family, address and port (other bytes ignored). */
bool ws_sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

#endif
