/* SPDX-License-Identifier: MIT */
/*
 * The receive pipeline (one thread). The functions in this file occur in
 * the order in which the packets are processed:
 *   1. recvmmsg batch (rx_process, ws_rx_thread)
 *   2. cheap checks (rx_classify): handshake messages to the ctl inbox,
 *      transport header, receiver_index lookup, cheap replay check
 *   3. decryption in place on the crypto workers, parallel (rx_open)
 *   4. in order (rx_deliver): authoritative replay update; endpoint and
 *      timers [peer->lock] (rx_account); fragments reassembled
 *   5. frame decode (rx_frame): channel-0 frames to the ctl inbox; IP
 *      packets whose source is inside the peer's AllowedIPs are kept
 *   6. TUN writes (rx_flush_tun; with offloads coalesced: rx_flush_gro).
 * Each drop is counted under its own name (struct ws_device_stats).
 * dev->lock is held for reading for the whole batch. Nothing is allocated per
 * packet (fragment reassembly, which the VPN's own data never needs, aside).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "core/frame.h"
#include "core/offload.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/rx.h"
#include "daemon/slots.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/sockaddr.h"
#include "os/tun.h"

enum {
	RX_TUN_MAX = 2048,
	RX_GRO_SLOTS = WS_BATCH / 2,   /* coalesced items per batch (each takes two packets or more) */
};

struct rx_item {
	struct ws_udp_msg *msg;
	struct ws_transport_hdr hdr;
	struct ws_slot *slot;
	uint8_t *plain;
	size_t plain_len;
	int status;
};

struct rx_batch {
	struct ws_device *dev;
	struct ws_udp_msg msgs[WS_BATCH];
	struct rx_item items[WS_BATCH];
	struct ws_iobuf tun[RX_TUN_MAX];
	unsigned n_items, n_tun;
	struct ws_gro gro;             /* offloads on: TCP segments coalesced per flow */
	uint8_t *gro_scratch;
	uint64_t gc_next;              /* next sweep of the reassemblers */
};

/* The stages, defined below in packet order. */
static void rx_account(struct rx_batch *b, struct ws_peer *peer, struct rx_item *it, uint64_t now);
static void rx_frame(struct rx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
		     const uint8_t *frame, size_t len);
static void rx_flush_tun(struct rx_batch *b);
static void rx_flush_gro(struct rx_batch *b);

static void rx_batch_free(struct rx_batch *b)
{
	for (unsigned i = 0; i < WS_BATCH; i++)
		free(b->msgs[i].buf);
	free(b->gro_scratch);
	free(b);
}

static struct rx_batch *rx_batch_new(struct ws_device *dev)
{
	struct rx_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->dev = dev;
	for (unsigned i = 0; i < WS_BATCH; i++) {
		b->msgs[i].buf = malloc(WS_BUF_SIZE);
		if (!b->msgs[i].buf) {
			for (unsigned j = 0; j < i; j++)
				free(b->msgs[j].buf);
			free(b);
			return NULL;
		}
		b->msgs[i].cap = WS_BUF_SIZE;
	}
	if (dev->vnet) {
		b->gro_scratch = malloc((size_t)RX_GRO_SLOTS * WS_GRO_SLOT);
		if (!b->gro_scratch) {
			rx_batch_free(b);
			return NULL;
		}
		ws_gro_init(&b->gro, b->gro_scratch, (size_t)RX_GRO_SLOTS * WS_GRO_SLOT);
		ws_gro_set_udp(&b->gro, dev->uso);
	}
	return b;
}

/* Cheap checks before decryption; the item is kept when worth decrypting. */
static void rx_classify(struct rx_batch *b, struct ws_udp_msg *m)
{
	struct ws_device *dev = b->dev;
	struct rx_item *it = &b->items[b->n_items];
	struct ws_index_entry *e;
	uint8_t type = m->len ? m->buf[0] : 0;

	if (type >= WS_MSG_HANDSHAKE_INIT && type <= WS_MSG_COOKIE_REPLY) {
		static const uint32_t size[] = {[WS_MSG_HANDSHAKE_INIT] = WS_SIZE_HANDSHAKE_INIT,
						[WS_MSG_HANDSHAKE_RESP] = WS_SIZE_HANDSHAKE_RESP,
						[WS_MSG_COOKIE_REPLY] = WS_SIZE_COOKIE_REPLY};

		/* Only exact sizes are worth the handshake thread's time (DECISIONS 12). */
		if (m->len == size[type])
			ws_inbox_push(&dev->inbox, WS_INBOX_HANDSHAKE, NULL, NULL, &m->addr, m->buf, m->len);
		else
			atomic_fetch_add_explicit(&dev->stats.rx_bad_packet, 1, memory_order_relaxed);
		return;
	}
	if (ws_transport_parse(m->buf, m->len, &it->hdr) < 0) {
		atomic_fetch_add_explicit(&dev->stats.rx_bad_packet, 1, memory_order_relaxed);
		return;
	}
	e = ws_index_lookup(&dev->index, it->hdr.receiver_index);
	if (!e || e->kind != WS_IDX_SESSION) {
		atomic_fetch_add_explicit(&dev->stats.rx_unknown_index, 1, memory_order_relaxed);
		return;
	}
	if (!ws_replay_check(&e->slot->s.replay, it->hdr.counter)) {
		WS_DROP(dev, drop_rx_replay);
		return;
	}
	it->msg = m;
	it->slot = e->slot;
	b->n_items++;
}

static void rx_open(void *ctx, unsigned first, unsigned count)
{
	struct rx_batch *b = ctx;

	for (unsigned i = first; i < first + count; i++) {
		struct rx_item *it = &b->items[i];

		it->status = ws_session_open_decrypt(&it->slot->s, it->msg->buf, it->msg->len, &it->hdr,
						     &it->plain, &it->plain_len);
	}
}

static void rx_deliver(struct rx_batch *b, struct rx_item *it, uint64_t now)
{
	struct ws_peer *peer = it->slot->entry.peer;
	const uint8_t *frame;
	size_t frame_len;
	int r;

	if (it->status == -EBADMSG) {
		WS_DROP(b->dev, drop_rx_decrypt);
		return;
	}
	if (it->status == -EALREADY) {
		WS_DROP(b->dev, drop_rx_replay);
		return;
	}
	if (it->status) {
		WS_DROP(b->dev, rx_bad_packet);
		return;
	}
	if (ws_session_open_commit(&it->slot->s, it->hdr.counter)) {
		WS_DROP(b->dev, drop_rx_replay); /* a duplicate within this batch */
		return;
	}
	rx_account(b, peer, it, now);
	switch (it->hdr.type) {
	case WS_MSG_DATA:
		rx_frame(b, peer, it->slot, it->plain, it->plain_len);
		break;
	case WS_MSG_DATA_FRAGMENT:
		r = ws_reassembler_add(&it->slot->reasm, it->plain, it->plain_len, now, &frame, &frame_len);
		if (r == 1) {
			rx_frame(b, peer, it->slot, frame, frame_len);
			rx_flush_tun(b); /* the frame lives until the next add */
		} else if (r < 0) {
			WS_DROP(b->dev, drop_rx_reassembly);
		}
		break;
	case WS_MSG_DISCONNECT:
		ws_inbox_push(&b->dev->inbox, WS_INBOX_DISCONNECT, peer, it->slot, NULL,
			      &it->slot->entry.index, sizeof(uint32_t));
		break;
	default: /* keepalive: accounting is all */
		break;
	}
}

/* Endpoint, timers and session confirmation for one authenticated packet. */
static void rx_account(struct rx_batch *b, struct ws_peer *peer, struct rx_item *it, uint64_t now)
{
	bool data = it->hdr.type == WS_MSG_DATA || it->hdr.type == WS_MSG_DATA_FRAGMENT;

	pthread_mutex_lock(&peer->lock);
	if (!ws_sockaddr_equal(&peer->endpoint, &it->msg->addr)) {
		peer->endpoint = it->msg->addr; /* roaming: the latest authenticated source */
		peer->roamed = true;            /* ctl logs it once */
	}
	ws_peer_on_auth_received(peer, now);
	if (data)
		ws_peer_on_data_received(peer, now);
	pthread_mutex_unlock(&peer->lock);
	atomic_fetch_add_explicit(&peer->stats.rx_bytes, it->msg->len, memory_order_relaxed);
	atomic_fetch_add_explicit(&peer->stats.rx_packets, 1, memory_order_relaxed);
	if (it->slot == peer->next && !atomic_exchange(&it->slot->confirm_sent, true))
		ws_inbox_push_confirm(&b->dev->inbox, peer, it->slot);
}

/* One decrypted frame from peer. Data events go to the TUN list. */
static void rx_frame(struct rx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
		     const uint8_t *frame, size_t len)
{
	struct ws_device *dev = b->dev;
	struct ws_frame_info info;
	struct ws_frame_iter it;
	struct ws_event ev;

	if (ws_frame_parse(frame, len, &info) < 0) {
		WS_DROP(dev, drop_rx_bad_frame);
		atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
		return;
	}
	if (info.channel == WS_CHANNEL_CONTROL) {
		if (!ws_inbox_push_control(&dev->inbox, peer, slot, frame, len, &info))
			atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
		return;
	}
	if (info.channel != WS_CHANNEL_DATA) {
		WS_DROP(dev, drop_rx_unknown_channel);
		atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
		return;
	}
	ws_frame_iter_init(&it, &info);
	while (ws_frame_iter_next(&it, &ev)) {
		if (ev.type != WS_EVENT_IP_PACKET) {
			WS_DROP(dev, drop_rx_unknown_event);
			atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
			continue;
		}
		if (ws_allowedips_lookup_packet_src(&dev->aips, ev.payload, ev.len) != peer) {
			WS_DROP(dev, drop_rx_source);
			atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
			continue;
		}
		if (dev->vnet) {
			if (ws_gro_add(&b->gro, ev.payload, ev.len) == -ENOSPC) {
				rx_flush_gro(b);
				ws_gro_add(&b->gro, ev.payload, ev.len);
			}
			continue;
		}
		if (b->n_tun == RX_TUN_MAX)
			rx_flush_tun(b);
		b->tun[b->n_tun].data = (uint8_t *)ev.payload;
		b->tun[b->n_tun].len = (uint32_t)ev.len;
		b->tun[b->n_tun].cap = (uint32_t)ev.len;
		b->n_tun++;
	}
}

static void rx_flush_tun(struct rx_batch *b)
{
	unsigned done = 0;

	if (b->dev->vnet) {
		rx_flush_gro(b);
		return;
	}

	while (done < b->n_tun) {
		unsigned dropped = 0;
		int r = ws_tun_write_batch(b->dev->tun_fd, b->tun + done, (int)(b->n_tun - done), &dropped);

		if (dropped)
			WS_DROP_N(b->dev, drop_rx_tun_refused, dropped);
		if (r <= 0) { /* the kernel refuses: nothing better to do than drop */
			WS_DROP_N(b->dev, drop_rx_tun_refused, b->n_tun - done);
			break;
		}
		done += (unsigned)r;
	}
	b->n_tun = 0;
}

/* Offloads on: every GRO item goes to the TUN behind its virtio-net header. */
static void rx_flush_gro(struct rx_batch *b)
{
	for (size_t i = 0; i < ws_gro_count(&b->gro); i++) {
		uint8_t hdr[WS_VNET_HDR_LEN];
		struct ws_vnet_hdr h;
		const uint8_t *pkt;
		size_t len;
		struct iovec iov[2];

		if (ws_gro_item(&b->gro, i, &h, &pkt, &len))
			break;
		ws_vnet_hdr_encode(&h, hdr);
		iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
		iov[1] = (struct iovec){.iov_base = (void *)pkt, .iov_len = len};
		if (writev(b->dev->tun_fd, iov, 2) < 0) /* the kernel refuses it (or its queue is full) */
			WS_DROP(b->dev, drop_rx_tun_refused);
	}
	ws_gro_reset(&b->gro);
}

static void rx_process(struct rx_batch *b, unsigned n, uint64_t now)
{
	struct ws_device *dev = b->dev;

	b->n_items = b->n_tun = 0;
	pthread_rwlock_rdlock(&dev->lock);
	for (unsigned i = 0; i < n; i++)
		rx_classify(b, &b->msgs[i]);
	ws_workers_run(&dev->rx_workers, rx_open, b, b->n_items, 16);
	for (unsigned i = 0; i < b->n_items; i++)
		rx_deliver(b, &b->items[i], now);
	rx_flush_tun(b);
	pthread_rwlock_unlock(&dev->lock);
}

/*
 * Partial frames expire 20 s after their last new fragment even when their
 * session sends nothing more (DECISIONS 23), so idle sessions cannot hold the
 * daemon's reassembly budget. The rx thread owns the reassemblers; dev->lock
 * (read) keeps the slots.
 */
void ws_rx_expire_fragments(struct ws_device *dev, uint64_t now)
{
	pthread_rwlock_rdlock(&dev->lock);
	for (struct ws_peer *p = dev->peers; p; p = p->list_next)
		for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++) {
			struct ws_reassembler *r = &p->slots[i].reasm;

			if (p->slots[i].used && ws_reassembler_next_expiry(r) <= now)
				ws_reassembler_expire(r, now);
		}
	pthread_rwlock_unlock(&dev->lock);
}

/* Once a second while any reassembly memory is held; the poll timeout for then. */
static int rx_gc(struct rx_batch *b, uint64_t now)
{
	bool held = atomic_load_explicit(&b->dev->frag_budget.used, memory_order_relaxed) > 0;

	if (held && now >= b->gc_next) {
		b->gc_next = now + WS_NSEC_PER_SEC;
		ws_rx_expire_fragments(b->dev, now);
	}
	return held ? 1000 : -1;
}

void *ws_rx_thread(void *arg)
{
	struct ws_device *dev = arg;
	struct rx_batch *b = rx_batch_new(dev);

	if (!b) {
		ws_err("rx: out of memory");
		return NULL;
	}
	while (!atomic_load(&dev->stopping)) {
		int n = ws_udp_recv_batch(&dev->udp, b->msgs, WS_BATCH);
		uint64_t now = ws_now_ns();
		int timeout = rx_gc(b, now);

		if (n <= 0) {
			struct pollfd p[3] = {{.fd = dev->udp.fd[0], .events = POLLIN},
					      {.fd = dev->udp.fd[1], .events = POLLIN},
					      {.fd = dev->stop_efd, .events = POLLIN}};

			poll(p, 3, timeout);
			continue;
		}
		rx_process(b, (unsigned)n, now);
	}
	rx_batch_free(b);
	return NULL;
}

/* The thread's loop body, for a caller that drives the pipeline itself (tests, fuzzing). */
struct rx_batch *ws_rx_batch_new(struct ws_device *dev)
{
	return rx_batch_new(dev);
}

void ws_rx_batch_free(struct rx_batch *b)
{
	rx_batch_free(b);
}

int ws_rx_batch_run(struct rx_batch *b, uint64_t now)
{
	int n = ws_udp_recv_batch(&b->dev->udp, b->msgs, WS_BATCH);

	if (n > 0)
		rx_process(b, (unsigned)n, now);
	return n;
}
