/* SPDX-License-Identifier: MIT */
/*
 * The ctl thread's event loop: the control socket, the rx inbox (handshakes,
 * control frames, session events), peer timers, DNS answers and signals.
 * Nothing here waits on the network, DNS or a client. Returns on SIGTERM or
 * SIGINT after saying goodbye to every peer. It drives schedule.c (timers),
 * handshake.c, slots.c (via handshake), ctlchan.c and ipc_clients.c.
 * Threads and locks: the ctl thread (wsd's main thread); takes no lock of its
 * own: the modules it calls take dev->lock and peer->lock as they say.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/crypto.h"
#include "daemon/ctl_loop.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/handshake.h"
#include "daemon/inbox.h"
#include "daemon/ipc_clients.h"
#include "daemon/peer.h"
#include "daemon/schedule.h"
#include "daemon/send_one.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/resolver.h"

enum { INBOX_BURST = 256 };

/* The slot still holds the session the message was about (not a newer one). */
static bool slot_still(const struct ws_inbox_msg *m)
{
	uint32_t index;

	if (m->len != sizeof(index))
		return false;
	memcpy(&index, m->data, sizeof(index));
	return m->slot->used && m->slot->entry.index == index;
}

void ws_ctl_drain_inbox(struct ws_device *dev)
{
	static _Thread_local struct ws_inbox_msg m; /* one per ctl thread (one per device); off the stack */
	uint64_t counter;

	if (read(dev->inbox.efd, &counter, sizeof(counter)) < 0 && errno != EAGAIN)
		ws_warn("inbox: %s", strerror(errno));
	for (int i = 0; i < INBOX_BURST && ws_inbox_pop(&dev->inbox, &m); i++) {
		uint64_t now = ws_now_ns();

		switch (m.kind) {
		case WS_INBOX_HANDSHAKE:
			ws_handshake_receive(dev, &m, now);
			break;
		case WS_INBOX_CONTROL:
			ws_ctlchan_receive(dev, m.peer, m.data, m.len, now);
			break;
		case WS_INBOX_DISCONNECT:
			if (slot_still(&m))
				ws_session_close(dev, m.peer, m.slot, now);
			break;
		case WS_INBOX_CONFIRM:
			if (slot_still(&m))
				ws_session_confirm(dev, m.peer, m.slot, now);
			break;
		case WS_INBOX_WAKE:
			ws_schedule_tick(dev, m.peer, now);
			break;
		}
	}
	ws_wipe(&m, sizeof(m));
	/* More left than one burst: come back at once. */
	if (ws_inbox_count(&dev->inbox)) {
		uint64_t one = 1;

		if (write(dev->inbox.efd, &one, sizeof(one)) < 0)
			ws_warn("inbox: %s", strerror(errno));
	}
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Names that did not fit in the resolver's table wait for answers to free room. */
static bool resolve_backlog;

/* Apply the DNS answers that came in (each only if its peer still wants it). */
static void drain_resolver(struct ws_device *dev)
{
	struct ws_resolver_answer a;
	uint64_t counter;

	if (read(ws_resolver_fd(dev->resolver), &counter, sizeof(counter)) < 0 && errno != EAGAIN)
		ws_warn("resolver: %s", strerror(errno));
	while (ws_resolver_collect(dev->resolver, &a))
		ws_schedule_resolved(dev, &a, ws_now_ns());
	if (resolve_backlog)
		resolve_backlog = ws_peer_resolve_all(dev);
}

static int start_resolver(struct ws_device *dev, int ep)
{
	int ret = ws_resolver_create(&dev->resolver, NULL);

	if (ret)
		return ret;
	ret = add_fd(ep, ws_resolver_fd(dev->resolver));
	if (!ret)
		resolve_backlog = ws_peer_resolve_all(dev);
	return ret;
}

/* Run every due peer timer; return the earliest next deadline. */
static uint64_t run_timers(struct ws_device *dev, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (struct ws_peer *p = dev->peers; p; p = p->list_next) {
		uint64_t d = ws_schedule_tick(dev, p, now);

		if (d < next)
			next = d;
	}
	return next;
}

static void goodbye_all(struct ws_device *dev)
{
	for (struct ws_peer *p = dev->peers; p; p = p->list_next) {
		if (!p->cur)
			continue;
		ws_ctlchan_goodbye(dev, p, 0);
		pthread_rwlock_rdlock(&dev->lock);
		ws_send_one_frame(dev, p, WS_MSG_DISCONNECT, NULL, 0);
		pthread_rwlock_unlock(&dev->lock);
	}
}

/* Milliseconds until the earlier of two deadlines, at most a second. */
static int wait_ms(uint64_t a, uint64_t b)
{
	uint64_t next = a < b ? a : b, now = ws_now_ns();

	if (next == UINT64_MAX)
		return 1000;
	next = (next > now ? next - now : 0) / WS_NSEC_PER_MSEC + 1;
	return next > 1000 ? 1000 : (int)next;
}

int ws_ctl_run(struct ws_device *dev, int listen_fd)
{
	struct ws_ipc_clients clients; /* this device's control-socket clients */
	sigset_t mask;
	int ep, sfd, ret = 0;
	uint64_t next = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ws_ipc_clients_init(&clients, ep, listen_fd);
	if (sfd < 0 || ep < 0 || add_fd(ep, sfd) || add_fd(ep, listen_fd) || add_fd(ep, dev->inbox.efd) ||
	    add_fd(ep, dev->stop_efd)) {
		ret = -errno;
		goto out;
	}
	ret = start_resolver(dev, ep);
	if (ret)
		goto out;
	for (;;) {
		struct epoll_event evs[8];
		uint64_t now = ws_now_ns(), client_next;
		int n;

		if (now >= next)
			next = run_timers(dev, now);
		client_next = ws_ipc_clients_expire(&clients, dev, ws_now_ns());
		n = epoll_wait(ep, evs, 8, wait_ms(next, client_next));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == dev->inbox.efd) {
				ws_ctl_drain_inbox(dev);
				next = 0; /* handshakes change deadlines */
			} else if (fd == ws_resolver_fd(dev->resolver)) {
				drain_resolver(dev);
				next = 0;
			} else if (fd == listen_fd) {
				ws_ipc_clients_accept(&clients, ws_now_ns());
			} else if (fd == dev->stop_efd) {
				goto out; /* ws_device_stop from another thread */
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
					ws_info("signal %u: stopping", si.ssi_signo);
					goodbye_all(dev);
					goto out;
				}
			} else if (ws_ipc_clients_event(&clients, dev, fd, ws_now_ns()) > 0) {
				next = 0; /* a set may change peers and their timers */
			}
		}
	}
out:
	ws_ipc_clients_close_all(&clients);
	ws_resolver_destroy(dev->resolver);
	dev->resolver = NULL;
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
