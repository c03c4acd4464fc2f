/* SPDX-License-Identifier: MIT */
/*
 * Name resolution off the caller's thread. Requests go into a bounded table,
 * a few worker threads call getaddrinfo (which may take ~10 s per attempt
 * when no DNS server answers), and each answer waits, tagged with the
 * caller's opaque id and generation, until the caller collects it; the
 * resolver's eventfd is readable while answers wait. Knows nothing of what
 * the names are for.
 */
#ifndef WS_RESOLVER_H
#define WS_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
	WS_RESOLVER_ID_LEN = 32,   /* the caller's opaque id of a request */
	WS_RESOLVER_HOST_MAX = 255,
	WS_RESOLVER_SLOTS = 64,    /* requests queued, in progress or answered, at most */
	WS_RESOLVER_THREADS = 2,   /* lookups in parallel */
};

struct ws_resolver;

/* A lookup: the first address of host:port into *out; 0 or -errno. */
typedef int ws_resolver_fn(struct sockaddr_storage *out, const char *host, uint16_t port);

struct ws_resolver_answer {
	uint8_t id[WS_RESOLVER_ID_LEN];
	uint64_t gen;
	char host[WS_RESOLVER_HOST_MAX + 1];
	uint16_t port;
	int err;                      /* 0, or -errno of the lookup */
	struct sockaddr_storage addr; /* when err is 0 */
};

/* Start the workers; fn NULL means ws_resolver_lookup. 0 or -errno. */
int ws_resolver_create(struct ws_resolver **out, ws_resolver_fn *fn);
/* Stop: never waits for a lookup in progress (its worker frees what is left
 * when the lookup returns). Unanswered and uncollected requests are dropped. */
void ws_resolver_destroy(struct ws_resolver *r);
/* Readable while answers wait; read it (8 bytes) before collecting. */
int ws_resolver_fd(const struct ws_resolver *r);
/* Queue a lookup; never blocks. -EAGAIN when the table is full,
 * -ENAMETOOLONG for a host over WS_RESOLVER_HOST_MAX. */
int ws_resolver_submit(struct ws_resolver *r, const uint8_t id[WS_RESOLVER_ID_LEN], uint64_t gen,
		       const char *host, uint16_t port);
/* Take one waiting answer (oldest request first); false when none. */
bool ws_resolver_collect(struct ws_resolver *r, struct ws_resolver_answer *out);

/* The blocking lookup the workers run: getaddrinfo with AI_ADDRCONFIG, and
 * once more without it when that hides the only family the name has. */
int ws_resolver_lookup(struct sockaddr_storage *out, const char *host, uint16_t port);
/* A numeric address only (never asks DNS): 0, or -EINVAL for a name. */
int ws_resolver_numeric(struct sockaddr_storage *out, const char *host, uint16_t port);

#endif
