/* SPDX-License-Identifier: MIT */
/*
 * The transmit pipeline (one thread):
 *   TUN read batch -> cryptokey routing (destination -> peer)
 *   -> per peer, in order: frame (type-1 events on channel 1, small packets
 *      coalesced), counters assigned, endpoint snapshot   [peer->lock]
 *   -> encryption in place on the crypto workers (parallel, order kept)
 *   -> sendmmsg batch.
 * dev->lock is held for reading for the whole batch. Nothing is allocated per
 * packet: TUN packets are read into fixed buffers after WS_HEADROOM bytes, so
 * the frame and transport headers are written in front of them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "frame.h"
#include "log.h"
#include "tun.h"

struct tx_out {
	uint8_t *pkt;                  /* transport header; plaintext at +16 */
	size_t plain_len, len;
	struct ws_slot *slot;
	struct ws_peer *peer;
	uint64_t counter;
	uint8_t type;
};

struct tx_batch {
	struct ws_device *dev;
	struct ws_iobuf io[WS_BATCH];
	struct ws_peer *route[WS_BATCH];
	struct tx_out *out;            /* out_max sealed packets, fragments included */
	struct ws_udp_msg *msgs;
	uint8_t *frag_scratch;         /* frag_slots DataFragment packets */
	unsigned n_in, n_out, n_frag, out_max, frag_slots;
	size_t max_frag;
};

static void tx_batch_free(struct tx_batch *b)
{
	for (unsigned i = 0; i < WS_BATCH; i++)
		if (b->io[i].data)
			free(b->io[i].data - WS_HEADROOM);
	free(b->frag_scratch);
	free(b->out);
	free(b->msgs);
	free(b);
}

/*
 * Everything a batch needs, allocated once. When MTU + 45 > MaxPacketSize
 * every full-size packet is fragmented, so there are scratch packets for a
 * whole batch of them.
 */
static struct tx_batch *tx_batch_new(struct ws_device *dev)
{
	struct tx_batch *b = calloc(1, sizeof(*b));
	uint32_t per_packet;

	if (!b)
		return NULL;
	b->dev = dev;
	b->max_frag = ws_fragment_max_payload(dev->max_packet_size);
	per_packet = ws_fragment_count((size_t)dev->mtu + WS_FRAME_CHANNEL_LEN + WS_FRAME_IP_EVENT_HEADER,
				       b->max_frag);
	if (per_packet < 2)
		per_packet = 0; /* the configured MTU never fragments */
	b->frag_slots = WS_BATCH * per_packet;
	b->out_max = WS_BATCH + b->frag_slots;
	b->out = calloc(b->out_max, sizeof(*b->out));
	b->msgs = calloc(b->out_max, sizeof(*b->msgs));
	b->frag_scratch = malloc(((size_t)b->frag_slots + 1) * dev->max_packet_size);
	if (!b->out || !b->msgs || !b->frag_scratch)
		goto fail;
	for (unsigned i = 0; i < WS_BATCH; i++) {
		uint8_t *buf = malloc(WS_BUF_SIZE);

		if (!buf)
			goto fail;
		b->io[i].data = buf + WS_HEADROOM;
		b->io[i].cap = WS_BUF_SIZE - WS_HEADROOM - 2 * WS_AEAD_TAG_LEN;
	}
	return b;
fail:
	tx_batch_free(b);
	return NULL;
}

static struct tx_out *tx_emit(struct tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			      uint8_t type, uint8_t *pkt, size_t plain_len)
{
	struct tx_out *o;

	if (b->n_out == b->out_max)
		return NULL;
	o = &b->out[b->n_out];
	if (ws_session_next_counter(&slot->s, &o->counter) < 0) {
		atomic_store(&slot->dead, true); /* exhausted: a new handshake follows */
		return NULL;
	}
	o->pkt = pkt;
	o->plain_len = plain_len;
	o->slot = slot;
	o->peer = peer;
	o->type = type;
	b->n_out++;
	return o;
}

/* A frame longer than maxFragPayload: DataFragment packets from the scratch area. */
static void tx_fragment(struct tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			const uint8_t *frame, size_t frame_len)
{
	uint32_t count = ws_fragment_count(frame_len, b->max_frag);
	uint32_t frame_id = slot->next_frame_id++;

	if (!count || b->n_frag + count > b->frag_slots || b->n_out + count > b->out_max)
		return; /* larger than the MTU allows for: dropped like an MTU overrun */
	for (uint32_t k = 0; k < count; k++) {
		uint8_t *pkt = b->frag_scratch + (size_t)b->n_frag++ * b->dev->max_packet_size;
		size_t off, n = ws_fragment_span(frame_len, b->max_frag, (uint16_t)k, &off);
		size_t plain = ws_fragment_write(pkt + WS_SIZE_DATA_HEADER, frame_id, (uint16_t)k,
						 (uint16_t)count, frame + off, n);

		if (!tx_emit(b, peer, slot, WS_MSG_DATA_FRAGMENT, pkt, plain))
			return;
	}
}

/*
 * Frame the packets idx[0..n) of one peer: each frame starts in place in
 * front of its first packet, and following packets are appended to it while
 * the frame stays within maxFragPayload (coalescing never fragments).
 */
static void tx_frame_peer(struct tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			  const unsigned *idx, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		struct ws_iobuf *first = &b->io[idx[i]];
		size_t hl = ws_frame_event_header_len(first->len);
		uint8_t *frame = first->data - hl - WS_FRAME_CHANNEL_LEN;
		size_t len;

		frame[0] = WS_CHANNEL_DATA;
		ws_frame_write_event_header(frame + 1, WS_EVENT_IP_PACKET, first->len);
		len = 1 + hl + first->len;
		for (i++; i < n; i++) {
			struct ws_iobuf *next = &b->io[idx[i]];

			if (len + ws_frame_event_size(next->len) > b->max_frag)
				break;
			len += ws_frame_write_event_header(frame + len, WS_EVENT_IP_PACKET, next->len);
			memcpy(frame + len, next->data, next->len);
			len += next->len;
		}
		if (len > b->max_frag)
			tx_fragment(b, peer, slot, frame, len);
		else
			tx_emit(b, peer, slot, WS_MSG_DATA, frame - WS_SIZE_DATA_HEADER, len);
	}
}

/* All packets of one peer in this batch, in their order. */
static void tx_peer(struct tx_batch *b, struct ws_peer *peer, const unsigned *idx, unsigned n,
		    uint64_t now)
{
	struct ws_device *dev = b->dev;
	struct ws_slot *slot = peer->cur;
	unsigned first_out = b->n_out;
	bool wake = false;

	pthread_mutex_lock(&peer->lock);
	if (!slot || atomic_load(&slot->dead) || !ws_peer_may_send(peer, slot, now) ||
	    peer->endpoint.ss_family == AF_UNSPEC) {
		for (unsigned i = 0; i < n; i++)
			ws_peer_stage(peer, b->io[idx[i]].data, b->io[idx[i]].len);
		ws_peer_want_handshake(peer, now);
		wake = !peer->want_handshake;
		peer->want_handshake = true;
		pthread_mutex_unlock(&peer->lock);
		atomic_fetch_add(&dev->stats.tx_no_session, n);
		if (wake)
			ws_inbox_push(&dev->inbox, WS_INBOX_WAKE, peer, NULL, NULL, NULL, 0);
		return;
	}
	tx_frame_peer(b, peer, slot, idx, n);
	for (unsigned k = first_out; k < b->n_out; k++)
		b->msgs[k].addr = peer->endpoint;
	if (b->n_out > first_out)
		ws_peer_on_data_sent(peer, b->out[b->n_out - 1].counter, now);
	pthread_mutex_unlock(&peer->lock);
}

static void tx_seal(void *ctx, unsigned first, unsigned count)
{
	struct tx_batch *b = ctx;

	for (unsigned i = first; i < first + count; i++) {
		struct tx_out *o = &b->out[i];

		o->len = ws_session_seal(&o->slot->s, o->type, o->counter, o->pkt, o->plain_len);
	}
}

/* Send every sealed packet; wait for room when the socket is full. */
static void tx_send(struct tx_batch *b)
{
	struct ws_device *dev = b->dev;
	unsigned done = 0;

	for (unsigned i = 0; i < b->n_out; i++) {
		b->msgs[i].buf = b->out[i].pkt;
		b->msgs[i].len = (uint32_t)b->out[i].len;
		b->msgs[i].cap = (uint32_t)b->out[i].len;
		b->msgs[i].segment = 0;
		b->msgs[i].err = 0;
	}
	while (done < b->n_out && !atomic_load(&dev->stopping)) {
		int r = ws_udp_send_batch(&dev->udp, b->msgs + done, (int)(b->n_out - done));

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && r != -EAGAIN && r != -EINTR) {
			done++; /* this destination is unreachable now: skip it */
			continue;
		}
		struct pollfd p[2] = {{.fd = dev->udp.fd[0], .events = POLLOUT},
				      {.fd = dev->udp.fd[1], .events = POLLOUT}};
		poll(p, 2, 100);
	}
	for (unsigned i = 0; i < b->n_out; i++) {
		struct ws_peer *peer = b->out[i].peer;

		if (b->msgs[i].err)
			continue;
		atomic_fetch_add_explicit(&peer->stats.tx_bytes, b->out[i].len, memory_order_relaxed);
		atomic_fetch_add_explicit(&peer->stats.tx_packets, 1, memory_order_relaxed);
	}
}

static void tx_process(struct tx_batch *b, uint64_t now)
{
	struct ws_device *dev = b->dev;
	unsigned idx[WS_BATCH];
	bool done[WS_BATCH] = {false};

	b->n_out = b->n_frag = 0;
	pthread_rwlock_rdlock(&dev->lock);
	for (unsigned i = 0; i < b->n_in; i++) {
		b->route[i] = ws_allowedips_lookup_packet_dst(&dev->aips, b->io[i].data, b->io[i].len);
		if (!b->route[i]) {
			done[i] = true;
			atomic_fetch_add_explicit(&dev->stats.tx_no_route, 1, memory_order_relaxed);
		}
	}
	/* Group by peer, keeping each peer's packets in TUN order. */
	for (unsigned i = 0; i < b->n_in; i++) {
		unsigned n = 0;

		if (done[i])
			continue;
		for (unsigned j = i; j < b->n_in; j++)
			if (!done[j] && b->route[j] == b->route[i]) {
				idx[n++] = j;
				done[j] = true;
			}
		tx_peer(b, b->route[i], idx, n, now);
	}
	ws_workers_run(&dev->tx_workers, tx_seal, b, b->n_out, 16);
	tx_send(b);
	pthread_rwlock_unlock(&dev->lock);
}

void *ws_tx_thread(void *arg)
{
	struct ws_device *dev = arg;
	struct tx_batch *b = tx_batch_new(dev);

	if (!b) {
		ws_err("tx: out of memory");
		return NULL;
	}
	while (!atomic_load(&dev->stopping)) {
		int n;

		for (unsigned i = 0; i < WS_BATCH; i++)
			b->io[i].len = 0;
		n = ws_tun_read_batch(dev->tun_fd, b->io, WS_BATCH);
		if (n <= 0) {
			struct pollfd p[2] = {{.fd = dev->tun_fd, .events = POLLIN},
					      {.fd = dev->stop_efd, .events = POLLIN}};

			if (n < 0 && n != -EAGAIN && n != -EINTR) {
				ws_err("tun read: %s", strerror(-n));
				break;
			}
			poll(p, 2, -1);
			continue;
		}
		b->n_in = (unsigned)n;
		tx_process(b, ws_now_ns());
	}
	tx_batch_free(b);
	return NULL;
}
