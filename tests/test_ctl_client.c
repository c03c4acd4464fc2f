/* SPDX-License-Identifier: MIT */
/*
 * Control socket clients in the ctl loop (src/daemon/ipc_clients.c), driven by a
 * loop like ctl's over a listening socket in the abstract namespace and a
 * device with 2,000 peers (a `get` reply of ~750 KB, more than the socket
 * buffers hold): a client that never sends, one that trickles and one that
 * never reads its reply are cut off at their deadlines while another
 * client's get is served whole meanwhile; with every slot taken new clients
 * wait in the backlog. No root, no daemon. Deadlines are shortened.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/crypto.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/ipc_clients.h"
#include "daemon/peer.h"
#include "os/clock.h"
#include "test.h"

enum { N_PEERS = 2000, READ_MS = 300, WRITE_MS = 600 };

static struct ws_device dev;
static struct ws_ipc_clients cs;
static struct sockaddr_un addr;
static int ep = -1, lfd = -1;

static uint64_t ms_now(void)
{
	return ws_now_ns() / 1000000;
}

static void setup(void)
{
	uint8_t priv[32], pub[32];
	struct epoll_event ev = {.events = EPOLLIN};

	memset(&dev, 0, sizeof(dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(&dev, priv), 0);
	strcpy(dev.ifname, "wstest0");
	for (int i = 0; i < N_PEERS; i++) {
		ws_x25519_genkey(priv);
		CU_ASSERT_TRUE(ws_x25519_pubkey(pub, priv));
		CU_ASSERT_PTR_NOT_NULL_FATAL(ws_peer_create(&dev, pub));
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "ws-test-ctl-%d", (int)getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CU_ASSERT_FATAL(listen(lfd, 16) == 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	CU_ASSERT_FATAL(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == 0);
	ws_ipc_clients_init(&cs, ep, lfd);
	cs.read_ns = READ_MS * 1000000ull;
	cs.write_ns = WRITE_MS * 1000000ull;
}

static void teardown(void)
{
	ws_ipc_clients_close_all(&cs);
	close(ep);
	close(lfd);
	while (dev.peers)
		ws_peer_remove(&dev, dev.peers);
	free(dev.peer_hash);
	ws_allowedips_free(&dev.aips);
	ws_index_free(&dev.index);
	ws_ratelimit_free(&dev.ratelimit);
	ws_inbox_destroy(&dev.inbox);
	pthread_rwlock_destroy(&dev.lock);
}

/* A client: its socket and what it read so far. */
struct client {
	int fd;
	char *buf;
	size_t len;
	bool eof;
	uint64_t eof_ms;
};

static void client_open(struct client *c, const char *send_now)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(c->fd >= 0);
	CU_ASSERT_FATAL(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	c->buf = calloc(1, 4 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->buf);
	if (send_now)
		CU_ASSERT(send(c->fd, send_now, strlen(send_now), MSG_NOSIGNAL) == (ssize_t)strlen(send_now));
}

/* Read what is there, without waiting. */
static void client_read(struct client *c)
{
	while (!c->eof && c->len < (4u << 20) - 1) {
		ssize_t n = recv(c->fd, c->buf + c->len, (4u << 20) - 1 - c->len, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->eof = true;
			c->eof_ms = ms_now();
			return;
		}
		c->len += (size_t)n;
	}
}

/* The daemon hung up (without reading anything). */
static bool hung_up(const struct client *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->buf);
}

/* ctl's loop, clients only, for ms; readers are read as they go. */
static void pump(uint64_t ms, struct client **readers, int n_readers)
{
	uint64_t end = ms_now() + ms;

	while (ms_now() < end) {
		struct epoll_event evs[8];
		int n;

		ws_ipc_clients_expire(&cs, &dev, ws_now_ns());
		n = epoll_wait(ep, evs, 8, 5);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				ws_ipc_clients_accept(&cs, ws_now_ns());
			else
				CU_ASSERT(ws_ipc_clients_event(&cs, &dev, evs[i].data.fd, ws_now_ns()) >= 0);
		}
		for (int i = 0; i < n_readers; i++)
			client_read(readers[i]);
	}
}

static bool ends_with(const struct client *c, const char *tail)
{
	size_t n = strlen(tail);

	return c->len >= n && !memcmp(c->buf + c->len - n, tail, n);
}

static void test_stuck_clients(void)
{
	struct client silent, trickle, noread, good, halfclosed;
	struct client *readers[] = { &good };
	uint64_t t0, served_ms;
	int small = 4096;

	setup();
	t0 = ms_now();
	client_open(&silent, NULL);
	client_open(&trickle, "g");
	client_open(&noread, NULL);
	setsockopt(noread.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	CU_ASSERT(send(noread.fd, "get=1\n\n", 7, 0) == 7);
	pump(50, NULL, 0);
	/* Meanwhile another client's get is served whole. */
	client_open(&good, "get=1\n\n");
	for (int i = 0; i < 100 && !good.eof; i++)
		pump(10, readers, 1);
	served_ms = ms_now() - t0;
	CU_ASSERT_TRUE(good.eof);
	CU_ASSERT(good.len > 500000);
	CU_ASSERT(ends_with(&good, "\nerrno=0\n\n"));
	CU_ASSERT(served_ms < READ_MS); /* before any stuck client was let go */
	/* The trickling client keeps sending: its deadline holds all the same. */
	CU_ASSERT(send(trickle.fd, "e", 1, MSG_NOSIGNAL) == 1);
	pump(READ_MS + 50 - (ms_now() - t0), NULL, 0);
	CU_ASSERT(send(trickle.fd, "t", 1, MSG_NOSIGNAL) <= 1);
	client_read(&silent);
	client_read(&trickle);
	CU_ASSERT_TRUE(silent.eof && trickle.eof);
	CU_ASSERT_EQUAL(silent.len, 11);
	CU_ASSERT(ends_with(&silent, "errno=110\n\n"));
	CU_ASSERT(ends_with(&trickle, "errno=110\n\n"));
	/* The client that never reads is dropped at its deadline; it finds the
	 * reply cut short. */
	CU_ASSERT_FALSE(hung_up(&noread));
	pump(50 + WRITE_MS - (ms_now() - t0), NULL, 0);
	CU_ASSERT_TRUE(hung_up(&noread));
	for (int i = 0; i < 100 && !noread.eof; i++)
		client_read(&noread);
	CU_ASSERT_TRUE(noread.eof);
	CU_ASSERT(noread.len < good.len);
	/* A request cut short by a half-close is told so. */
	client_open(&halfclosed, "get=1\n");
	shutdown(halfclosed.fd, SHUT_WR);
	readers[0] = &halfclosed;
	for (int i = 0; i < 50 && !halfclosed.eof; i++)
		pump(10, readers, 1);
	CU_ASSERT(halfclosed.eof && ends_with(&halfclosed, "errno=104\n\n"));
	client_close(&silent);
	client_close(&trickle);
	client_close(&noread);
	client_close(&good);
	client_close(&halfclosed);
	teardown();
}

/* Every slot taken: the next client waits in the backlog, and is served
 * as soon as a slot frees. */
static void test_full_table_waits(void)
{
	struct client stuck[WS_IPC_CLIENTS], good;
	struct client *readers[] = { &good };
	uint64_t t0;

	setup();
	t0 = ms_now();
	for (int i = 0; i < WS_IPC_CLIENTS; i++)
		client_open(&stuck[i], NULL);
	pump(30, NULL, 0);
	CU_ASSERT_FALSE(cs.listening);
	client_open(&good, "get=1\n\n");
	pump(100, readers, 1);
	CU_ASSERT_FALSE(good.eof); /* still in the backlog */
	CU_ASSERT_EQUAL(good.len, 0);
	for (int i = 0; i < 100 && !good.eof; i++)
		pump(10, readers, 1);
	CU_ASSERT_TRUE(good.eof);
	CU_ASSERT(ends_with(&good, "\nerrno=0\n\n"));
	CU_ASSERT(good.eof_ms - t0 >= READ_MS);
	CU_ASSERT(good.eof_ms - t0 < READ_MS + 500);
	CU_ASSERT_TRUE(cs.listening);
	for (int i = 0; i < WS_IPC_CLIENTS; i++) {
		client_read(&stuck[i]);
		CU_ASSERT(ends_with(&stuck[i], "errno=110\n\n"));
		client_close(&stuck[i]);
	}
	client_close(&good);
	teardown();
}

WS_SUITE(ctl_client)
{
	WS_ADD(suite, test_stuck_clients);
	WS_ADD(suite, test_full_table_waits);
}
