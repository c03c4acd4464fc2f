/* SPDX-License-Identifier: MIT */
/*
 * Control socket clients in the ctl loop (ipc_clients.h): read a request
 * without blocking, run it (ipc_requests.c) once it is whole, drain the reply
 * without blocking, close. Everything stays on the ctl thread, so a request
 * touches peers, handshakes and the control channel under the same rules as
 * the rest of ctl; only the waiting for a client is spread over the loop.
 * Threads and locks: ctl thread; the client table is ctl's, no lock.
 */
#include "daemon/device.h"
#include "daemon/ipc_clients.h"
#include "daemon/ipc_requests.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/log.h"

#define NS_PER_MS 1000000ull

enum { RETRY_ACCEPT_MS = 1000 };

static void watch(struct ws_ipc_clients *cs, int op, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (epoll_ctl(cs->ep, op, fd, &ev) < 0)
		ws_warn("control socket: epoll: %s", strerror(errno));
}

static void listen_again(struct ws_ipc_clients *cs)
{
	if (cs->listening)
		return;
	watch(cs, EPOLL_CTL_ADD, cs->listen_fd, EPOLLIN);
	cs->listening = true;
	cs->retry_accept = 0;
}

static void listen_pause(struct ws_ipc_clients *cs)
{
	if (!cs->listening)
		return;
	watch(cs, EPOLL_CTL_DEL, cs->listen_fd, 0);
	cs->listening = false;
}

static void client_reset(struct ws_ipc_client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void client_close(struct ws_ipc_clients *cs, struct ws_ipc_client *c)
{
	close(c->fd); /* and out of the epoll set */
	ws_ipc_release(c->in, c->in_cap);
	ws_ipc_buf_free(&c->out); /* wiped: a get reply holds the private key */
	client_reset(c);
	if (!cs->retry_accept)
		listen_again(cs); /* a slot is free */
}

void ws_ipc_clients_init(struct ws_ipc_clients *cs, int ep, int listen_fd)
{
	memset(cs, 0, sizeof(*cs));
	for (unsigned i = 0; i < WS_IPC_CLIENTS; i++)
		client_reset(&cs->c[i]);
	cs->ep = ep;
	cs->listen_fd = listen_fd;
	cs->listening = true;
	cs->read_ns = WS_IPC_READ_MS * NS_PER_MS;
	cs->write_ns = WS_IPC_WRITE_MS * NS_PER_MS;
}

void ws_ipc_clients_accept(struct ws_ipc_clients *cs, uint64_t now)
{
	for (unsigned i = 0; i < WS_IPC_CLIENTS; i++) {
		struct ws_ipc_client *c = &cs->c[i];
		int fd;

		if (c->fd >= 0)
			continue;
		fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			/* Out of descriptors, say: try again in a while, not in a busy loop. */
			ws_warn("control socket: accept: %s", strerror(errno));
			listen_pause(cs);
			cs->retry_accept = now + RETRY_ACCEPT_MS * NS_PER_MS;
			return;
		}
		c->fd = fd;
		c->deadline = now + cs->read_ns;
		watch(cs, EPOLL_CTL_ADD, fd, EPOLLIN);
	}
	listen_pause(cs); /* every slot taken: the rest wait in the backlog */
}

/* Send what the socket takes now; close when all is sent or it fails. */
static void client_write(struct ws_ipc_clients *cs, struct ws_ipc_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT brings us back */
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	client_close(cs, c);
}

/* Run the request (n < 0: the error that ended reading) and start the reply. */
static void client_run(struct ws_ipc_clients *cs, struct ws_device *dev, struct ws_ipc_client *c,
		       ssize_t n, uint64_t now)
{
	ws_ipc_requests_exec(dev, c->in, n, &c->out);
	ws_ipc_release(c->in, c->in_cap);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->writing = true;
	c->out_off = 0;
	c->deadline = now + cs->write_ns;
	watch(cs, EPOLL_CTL_MOD, c->fd, EPOLLOUT);
	client_write(cs, c);
}

/* Make room for more of the request; 0 or -errno. */
static int client_room(struct ws_ipc_client *c)
{
	size_t cap = c->in_cap ? 2 * c->in_cap : 4096;
	char *nb;

	if (c->in_len + 1 < c->in_cap)
		return 0;
	if (c->in_cap >= WS_IPC_MAX_MESSAGE)
		return -EMSGSIZE;
	nb = ws_ipc_grow(c->in, c->in_len, c->in_cap, cap);
	if (!nb)
		return -ENOMEM;
	c->in = nb;
	c->in_cap = cap;
	return 0;
}

static void client_read(struct ws_ipc_clients *cs, struct ws_device *dev, struct ws_ipc_client *c,
			uint64_t now)
{
	for (;;) {
		int ret = client_room(c);
		ssize_t n;

		if (ret) {
			client_run(cs, dev, c, ret, now);
			return;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - 1 - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* closed, or half-closed before the end of the message */
			client_run(cs, dev, c, n < 0 ? -errno : -ECONNRESET, now);
			return;
		}
		c->in_len += (size_t)n;
		if (ws_ipc_complete(c->in, c->in_len)) {
			c->in[c->in_len] = '\0';
			client_run(cs, dev, c, (ssize_t)c->in_len, now);
			return;
		}
	}
}

int ws_ipc_clients_event(struct ws_ipc_clients *cs, struct ws_device *dev, int fd, uint64_t now)
{
	for (unsigned i = 0; i < WS_IPC_CLIENTS; i++) {
		struct ws_ipc_client *c = &cs->c[i];

		if (c->fd != fd)
			continue;
		if (c->writing) {
			client_write(cs, c);
			return 0;
		}
		client_read(cs, dev, c, now);
		return 1;
	}
	return -1;
}

uint64_t ws_ipc_clients_expire(struct ws_ipc_clients *cs, struct ws_device *dev, uint64_t now)
{
	uint64_t next = cs->retry_accept ? cs->retry_accept : UINT64_MAX;

	if (cs->retry_accept && now >= cs->retry_accept) {
		cs->retry_accept = 0;
		listen_again(cs);
		next = UINT64_MAX;
	}
	for (unsigned i = 0; i < WS_IPC_CLIENTS; i++) {
		struct ws_ipc_client *c = &cs->c[i];

		if (c->fd < 0)
			continue;
		if (now >= c->deadline && !c->writing) {
			/* Too slow to send its request: say so if the socket takes it at
			 * once, and close either way. */
			client_run(cs, dev, c, -ETIMEDOUT, now);
			if (c->fd >= 0)
				client_close(cs, c);
			continue;
		}
		if (now >= c->deadline) {
			client_close(cs, c); /* too slow to read its reply */
			continue;
		}
		if (c->deadline < next)
			next = c->deadline;
	}
	return next;
}

void ws_ipc_clients_close_all(struct ws_ipc_clients *cs)
{
	for (unsigned i = 0; i < WS_IPC_CLIENTS; i++)
		if (cs->c[i].fd >= 0)
			client_close(cs, &cs->c[i]);
}
