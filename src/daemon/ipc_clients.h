/* SPDX-License-Identifier: MIT */
#ifndef WS_IPC_CLIENTS_H
#define WS_IPC_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipc.h"

struct ws_device;

/*
 * Control socket clients, served inside the ctl loop (ipc_clients.c): every
 * socket is non-blocking and every request has deadlines, so a client that
 * sends slowly, never sends, or never reads its reply costs a slot and
 * nothing else. While every slot is taken, new connections wait in the
 * listen backlog.
 */
enum {
	WS_IPC_CLIENTS = 8,            /* served at once */
	WS_IPC_READ_MS = 2000,         /* from accept to the request's last byte */
	WS_IPC_WRITE_MS = 5000,        /* from then to the reply's last byte */
};

struct ws_ipc_client {
	int fd;                        /* -1: free */
	bool writing;                  /* the request was run; the reply drains */
	uint64_t deadline;             /* monotonic ns */
	char *in;
	size_t in_len, in_cap;
	struct ws_ipc_buf out;
	size_t out_off;
};

struct ws_ipc_clients {
	struct ws_ipc_client c[WS_IPC_CLIENTS];
	int ep, listen_fd;
	bool listening;                /* listen_fd is in the epoll set */
	uint64_t retry_accept;         /* accept failed: listen again then (0: not paused so) */
	uint64_t read_ns, write_ns;    /* WS_IPC_READ_MS, WS_IPC_WRITE_MS (tests shorten them) */
};

/* listen_fd must already be in ep (EPOLLIN, data.fd). */
void ws_ipc_clients_init(struct ws_ipc_clients *cs, int ep, int listen_fd);
/* listen_fd is readable: take what connections fit. */
void ws_ipc_clients_accept(struct ws_ipc_clients *cs, uint64_t now);
/* An epoll event for fd: -1 when fd is no client, else served: 1 when a
 * request ran (it may have changed peers), 0 otherwise. */
int ws_ipc_clients_event(struct ws_ipc_clients *cs, struct ws_device *dev, int fd, uint64_t now);
/* Close clients past their deadline (one still reading is told errno=ETIMEDOUT
 * if its socket takes it at once); the earliest deadline left (UINT64_MAX: none). */
uint64_t ws_ipc_clients_expire(struct ws_ipc_clients *cs, struct ws_device *dev, uint64_t now);
void ws_ipc_clients_close_all(struct ws_ipc_clients *cs);

#endif
