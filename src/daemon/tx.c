/* SPDX-License-Identifier: MIT */
/*
 * The transmit pipeline (one thread). The functions in this file occur in
 * the order in which the packets are processed:
 *   1. TUN read batch (tx_read_plain; with offloads tx_read_offload, which
 *      cuts super-packets into segments in the arena: tx_take_*, tx_cut_front)
 *   2. cryptokey routing, destination -> peer, and grouping by peer
 *      (tx_route, tx_route_peers)
 *   3. per peer, in order [peer->lock]: routing loops dropped
 *      (tx_drop_loops), no session: staged for the handshake; else framed
 *      (type-1 events on channel 1, small packets coalesced: tx_frame_peer,
 *      tx_fragment), counters assigned and endpoint snapshot (tx_emit)
 *   4. encryption in place on the crypto workers, parallel (tx_seal)
 *   5. sendmmsg batch, waiting for room when the socket is full (tx_send)
 * tx_process drives one batch through them; ws_tx_thread loops.
 * dev->lock is held for reading for the whole batch, but never while waiting
 * for room in a full socket (the sealed packets are the batch's own; peers
 * are looked up again after the wait). Nothing is allocated per
 * packet: TUN packets are read into fixed buffers after WS_HEADROOM bytes, so
 * the frame and transport headers are written in front of them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/ip.h"
#include "core/offload.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "daemon/tx.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/tun.h"

enum {
	TX_PKTS_MAX = 1024,            /* IP packets per batch once super-packets are segmented */
	TX_ARENA_RESERVE = 128,        /* free arena slots needed to read another super-packet */
};

struct tx_pkt {
	uint8_t *data;                 /* an IP packet with WS_HEADROOM writable bytes before it */
	uint32_t len;
	bool tail_room;                /* later packets may be appended to its frame */
};

struct tx_out {
	uint8_t *pkt;                  /* transport header; plaintext at +16 */
	size_t plain_len, len;
	struct ws_slot *slot;
	struct ws_peer *peer;
	uint64_t counter;
	uint8_t type;
};

struct ws_tx_batch {
	struct ws_device *dev;
	struct ws_iobuf io[WS_BATCH];  /* TUN reads */
	struct tx_pkt pkts[TX_PKTS_MAX];
	struct ws_peer *route[TX_PKTS_MAX];
	unsigned group[TX_PKTS_MAX];   /* one peer's packets, in TUN order */
	bool grouped[TX_PKTS_MAX];
	uint8_t *arena;                /* segments of super-packets (offloads only) */
	size_t arena_stride, arena_size, arena_used, seg_len[TX_PKTS_MAX];
	unsigned n_pkts, *group_first;
	struct tx_out *out;            /* out_max sealed packets, fragments included */
	struct sockaddr_storage *dest; /* each one's endpoint */
	struct ws_udp_msg *msgs;       /* sends: one per packet, or one per GSO run */
	uint8_t (*keys)[32];           /* each send's peer, while waiting unlocked */
	uint8_t *frag_scratch;         /* frag_slots DataFragment packets */
	unsigned n_out, n_frag, out_max, frag_slots;
	size_t max_frag;
	/* A super-packet only partly cut (the batch was full): the rest, with its
	 * headers, in io[carry_io]; the next batch takes it first. */
	uint8_t *carry;
	size_t carry_len;
	unsigned carry_io;
	struct ws_vnet_hdr carry_h;
};

/* The stages, defined below in packet order. */
static unsigned tx_take_carry(struct ws_tx_batch *b);
static void tx_take_offload(struct ws_tx_batch *b, unsigned io, uint8_t *pkt, size_t len);
static void tx_fit_gso(const struct ws_tx_batch *b, const uint8_t *pkt, size_t len, struct ws_vnet_hdr *h);
static void tx_take_super(struct ws_tx_batch *b, unsigned io, uint8_t *pkt, size_t len,
			  const struct ws_vnet_hdr *h);
static size_t tx_sealed_stride(const struct ws_tx_batch *b, const uint8_t *pkt, size_t len,
			       const struct ws_vnet_hdr *h, size_t *lead);
static size_t tx_gso_headers(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h, size_t *iph);
static int tx_cut_front(struct ws_tx_batch *b, uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
			size_t hdrs, size_t iph, unsigned k, uint8_t *out, size_t stride, size_t max_seg);
static void tx_gso_set_len(uint8_t *pkt, size_t len, size_t iph, const struct ws_vnet_hdr *h);
static void tx_peer(struct ws_tx_batch *b, struct ws_peer *peer, unsigned *idx, unsigned n,
		    uint64_t now);
static unsigned tx_drop_loops(struct ws_tx_batch *b, struct ws_peer *peer, unsigned *idx, unsigned n);
static void tx_frame_peer(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			  const unsigned *idx, unsigned n);
static void tx_fragment(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			const uint8_t *frame, size_t frame_len);
static struct tx_out *tx_emit(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			      uint8_t type, uint8_t *pkt, size_t plain_len);
static unsigned tx_group(struct ws_tx_batch *b);
static bool tx_joins(const struct ws_tx_batch *b, unsigned g, const struct tx_out *o, unsigned n_in_group);
static void tx_wait_room(struct ws_tx_batch *b, unsigned first, unsigned n);
static void tx_resend_singly(struct ws_tx_batch *b, unsigned g);

void ws_tx_batch_free(struct ws_tx_batch *b)
{
	for (unsigned i = 0; i < WS_BATCH; i++)
		if (b->io[i].data)
			free(b->io[i].data - WS_HEADROOM);
	free(b->frag_scratch);
	free(b->keys);
	free(b->arena);
	free(b->group_first);
	free(b->dest);
	free(b->out);
	free(b->msgs);
	free(b);
}

/*
 * Everything a batch needs, allocated once. When MTU + 45 > MaxPacketSize
 * every full-size packet is fragmented, so there are scratch packets for a
 * whole batch of them.
 */
struct ws_tx_batch *ws_tx_batch_new(struct ws_device *dev)
{
	struct ws_tx_batch *b = calloc(1, sizeof(*b));
	uint32_t per_packet;

	if (!b)
		return NULL;
	b->dev = dev;
	b->max_frag = ws_fragment_max_payload(dev->max_packet_size);
	per_packet = ws_fragment_count((size_t)dev->mtu + WS_FRAME_CHANNEL_LEN + WS_FRAME_IP_EVENT_HEADER,
				       b->max_frag);
	if (per_packet < 2)
		per_packet = 0; /* the configured MTU never fragments */
	b->frag_slots = TX_PKTS_MAX * per_packet;
	b->out_max = TX_PKTS_MAX + b->frag_slots;
	if (dev->vnet) {
		size_t room = b->max_frag > (size_t)dev->mtu + 8 ? b->max_frag : (size_t)dev->mtu + 8;

		b->arena_stride = (WS_HEADROOM + room + 2 * WS_AEAD_TAG_LEN + 63) & ~(size_t)63;
		b->arena_size = TX_PKTS_MAX * b->arena_stride;
		b->arena = malloc(b->arena_size);
		if (!b->arena)
			goto fail;
	}
	b->out = calloc(b->out_max, sizeof(*b->out));
	b->msgs = calloc(b->out_max, sizeof(*b->msgs));
	b->dest = calloc(b->out_max, sizeof(*b->dest));
	if (!b->dest)
		goto fail;
	b->group_first = calloc(b->out_max + 1, sizeof(*b->group_first));
	if (!b->group_first)
		goto fail;
	b->frag_scratch = malloc(((size_t)b->frag_slots + 1) * dev->max_packet_size);
	b->keys = calloc(b->out_max, sizeof(*b->keys));
	if (!b->out || !b->msgs || !b->frag_scratch || !b->keys)
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
	ws_tx_batch_free(b);
	return NULL;
}

/* One batch of plain TUN reads: each read is one IP packet. */
static int tx_read_plain(struct ws_tx_batch *b)
{
	int n;

	for (unsigned i = 0; i < WS_BATCH; i++)
		b->io[i].len = 0;
	n = ws_tun_read_batch(b->dev->tun_fd, b->io, WS_BATCH);
	for (int i = 0; i < n; i++)
		b->pkts[i] = (struct tx_pkt){.data = b->io[i].data, .len = b->io[i].len, .tail_room = true};
	b->n_pkts = n > 0 ? (unsigned)n : 0;
	return n;
}

/*
 * Offloads on: each read is a virtio-net header and a packet, maybe a TCP
 * super-packet of up to 64 KB, cut into MTU-sized segments in the arena.
 * Reads stop while the arena could not take another super-packet, or once
 * one is carried over to the next batch.
 */
static int tx_read_offload(struct ws_tx_batch *b)
{
	unsigned i;

	b->n_pkts = 0;
	b->arena_used = 0;
	for (i = tx_take_carry(b); i < WS_BATCH && !b->carry; i++) {
		uint8_t *at = b->io[i].data - WS_VNET_HDR_LEN;
		ssize_t r;

		if (b->arena_size - b->arena_used < TX_ARENA_RESERVE * b->arena_stride ||
		    b->n_pkts > TX_PKTS_MAX - TX_ARENA_RESERVE)
			break;
		r = ws_tun_read(b->dev->tun_fd, at, b->io[i].cap + WS_VNET_HDR_LEN);
		if (r < 0) {
			if (i == 0)
				return (int)r;
			break;
		}
		if (r > WS_VNET_HDR_LEN)
			tx_take_offload(b, i, b->io[i].data, (size_t)r - WS_VNET_HDR_LEN);
	}
	return i ? (int)i : -EAGAIN;
}

/*
 * The rest of a super-packet carried over from the last batch goes first; its
 * buffer becomes io[0], so this batch's reads do not overwrite it.
 */
static unsigned tx_take_carry(struct ws_tx_batch *b)
{
	struct ws_iobuf tmp = b->io[0];
	uint8_t *pkt = b->carry;

	if (!pkt)
		return 0;
	b->io[0] = b->io[b->carry_io];
	b->io[b->carry_io] = tmp;
	b->carry = NULL;
	tx_take_super(b, 0, pkt, b->carry_len, &b->carry_h);
	return 1;
}

/* A packet read with its virtio-net header: a plain packet, or a super-packet to segment. */
static void tx_take_offload(struct ws_tx_batch *b, unsigned io, uint8_t *pkt, size_t len)
{
	struct ws_vnet_hdr h;

	ws_vnet_hdr_decode(pkt - WS_VNET_HDR_LEN, &h);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (ws_offload_complete_csum(pkt, len, &h) == 0)
			b->pkts[b->n_pkts++] = (struct tx_pkt){.data = pkt, .len = (uint32_t)len, .tail_room = true};
		else
			WS_DROP(b->dev, drop_tx_bad_packet);
		return;
	}
	tx_fit_gso(b, pkt, len, &h);
	tx_take_super(b, io, pkt, len, &h);
}

/*
 * The arena has room for segments of the device's MTU. When the TUN's own MTU
 * was set higher, TCP super-packets carry larger segments: cut them smaller
 * instead (a smaller TCP segment is always valid). UDP datagrams cannot be
 * resized; those that do not fit are dropped by the segmenter.
 */
static void tx_fit_gso(const struct ws_tx_batch *b, const uint8_t *pkt, size_t len, struct ws_vnet_hdr *h)
{
	size_t room = b->arena_stride - WS_HEADROOM - 2 * WS_AEAD_TAG_LEN, hdrs, iph, tcp;
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return;
	iph = ws_ip_header_len(pkt, len);
	tcp = iph ? ws_tcp_header_len(pkt, len, iph) : 0;
	if (!tcp)
		return;
	hdrs = iph + tcp;
	if (hdrs < room && hdrs + h->gso_size > room)
		h->gso_size = (uint16_t)(room - hdrs);
}

/*
 * A super-packet in io[io]: cut into segments in the arena, as many as both
 * the arena and pkts[] still hold; a rest that does not fit is carried over.
 */
static void tx_take_super(struct ws_tx_batch *b, unsigned io, uint8_t *pkt, size_t len,
			  const struct ws_vnet_hdr *h)
{
	size_t stride, lead, fit, iph = 0, hdrs = tx_gso_headers(pkt, len, h, &iph);
	uint8_t *out;
	int n;

	stride = tx_sealed_stride(b, pkt, len, h, &lead);
	out = b->arena + b->arena_used + lead;
	fit = (b->arena_size - b->arena_used) / stride;
	fit = fit ? fit - 1 : 0;
	if (fit > TX_PKTS_MAX - b->n_pkts)
		fit = TX_PKTS_MAX - b->n_pkts;
	if (hdrs && h->gso_size && (len - hdrs + h->gso_size - 1) / h->gso_size > fit) {
		n = fit ? tx_cut_front(b, pkt, len, h, hdrs, iph, (unsigned)fit, out, stride,
				       stride - lead - WS_AEAD_TAG_LEN) : 0;
		if (n < 0) {
			WS_DROP(b->dev, drop_tx_bad_packet); /* malformed */
			return;
		}
		b->carry = pkt + (size_t)n * h->gso_size;
		b->carry_len = len - (size_t)n * h->gso_size;
		b->carry_io = io;
		b->carry_h = *h;
	} else {
		n = ws_offload_segment(pkt, len, h, out, stride, fit, b->seg_len,
				       stride - lead - WS_AEAD_TAG_LEN);
		if (n <= 0) {
			WS_DROP(b->dev, drop_tx_bad_packet); /* malformed */
			return;
		}
	}
	for (int k = 0; k < n; k++)
		b->pkts[b->n_pkts++] = (struct tx_pkt){.data = out + (size_t)k * stride,
							.len = (uint32_t)b->seg_len[k]};
	b->arena_used += (size_t)n * stride;
}

/*
 * Where a super-packet's segments go in the arena: segment k at
 * lead + k * stride, where stride is the sealed size of a full segment and
 * lead the transport header, channel byte and event header in front of it.
 * Then the sealed packets of the full segments are back to back, so they
 * leave in one UDP GSO send. When the segment size cannot be read here, the
 * arena's fixed stride is used (correct, just not contiguous).
 */
static size_t tx_sealed_stride(const struct ws_tx_batch *b, const uint8_t *pkt, size_t len,
			       const struct ws_vnet_hdr *h, size_t *lead)
{
	size_t ip_len, l4_len, full, hl;
	uint8_t proto;

	*lead = WS_HEADROOM;
	if (ws_ip_l4(pkt, len, &proto, &ip_len))
		return b->arena_stride;
	proto = (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_UDP_L4 ? WS_PROTO_UDP : WS_PROTO_TCP;
	l4_len = ws_l4_header_len(pkt, len, proto, ip_len);
	if (!l4_len)
		return b->arena_stride;
	full = ip_len + l4_len + h->gso_size;
	hl = ws_frame_head_len(full);
	if (full > b->dev->mtu || WS_SIZE_DATA_HEADER + hl + full + WS_AEAD_TAG_LEN > b->arena_stride)
		return b->arena_stride;
	*lead = WS_SIZE_DATA_HEADER + hl;
	return *lead + full + WS_AEAD_TAG_LEN;
}

/*
 * Header bytes (IP + TCP/UDP) of a super-packet, and the IP header's in
 * *iph; 0 when they cannot be read (the segmenter then refuses it).
 */
static size_t tx_gso_headers(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h, size_t *iph)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	size_t l4;

	*iph = ws_ip_header_len(pkt, len);
	if (!*iph)
		return 0;
	if (gso == VIRTIO_NET_HDR_GSO_UDP_L4)
		l4 = WS_UDP_HDR_LEN;
	else if (gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6)
		l4 = ws_tcp_header_len(pkt, len, *iph);
	else
		return 0;
	return l4 && *iph + l4 < len ? *iph + l4 : 0;
}

/*
 * Cut the first k segments of a super-packet into the arena at out and turn
 * what is left into a super-packet of its own, in place, starting k * gso_size
 * bytes further on: the headers moved up, lengths set, the IPv4 ID and TCP
 * sequence number advanced, CWR (first segment only) cleared; FIN and PSH
 * stay for the rest's last segment. Returns the segments cut (k), or < 0.
 */
static int tx_cut_front(struct ws_tx_batch *b, uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
			size_t hdrs, size_t iph, unsigned k, uint8_t *out, size_t stride, size_t max_seg)
{
	bool tcp = (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_UDP_L4;
	size_t cut = (size_t)k * h->gso_size;
	uint8_t flags = tcp ? pkt[iph + 13] : 0, *rest = pkt + cut;
	int n;

	tx_gso_set_len(pkt, hdrs + cut, iph, h);
	if (tcp)
		pkt[iph + 13] &= (uint8_t)~(WS_TCP_FIN | WS_TCP_PSH);
	n = ws_offload_segment(pkt, hdrs + cut, h, out, stride, k, b->seg_len, max_seg);
	if (n <= 0)
		return n < 0 ? n : -EINVAL;
	memmove(rest, pkt, hdrs);
	tx_gso_set_len(rest, len - cut, iph, h);
	if (ws_ip_version(rest, len - cut) == 4)
		ws_put_be16(rest + 4, (uint16_t)(ws_be16(rest + 4) + k));
	if (tcp) {
		ws_put_be32(rest + iph + 4, ws_be32(rest + iph + 4) + (uint32_t)cut);
		rest[iph + 13] = flags & (uint8_t)~WS_TCP_CWR;
	}
	return n;
}

/* Set the IP (and UDP) length fields of a super-packet to len. */
static void tx_gso_set_len(uint8_t *pkt, size_t len, size_t iph, const struct ws_vnet_hdr *h)
{
	if (ws_ip_version(pkt, len) == 4)
		ws_put_be16(pkt + 2, (uint16_t)len);
	else
		ws_put_be16(pkt + 4, (uint16_t)(len - WS_IP6_HDR_LEN));
	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_UDP_L4)
		ws_put_be16(pkt + iph + 4, (uint16_t)(len - iph));
}

/* Cryptokey routing: each packet's peer by destination; unrouted ones are done (counted). */
static void tx_route(struct ws_tx_batch *b)
{
	struct ws_device *dev = b->dev;
	bool *done = b->grouped;

	memset(done, 0, b->n_pkts * sizeof(done[0]));
	for (unsigned i = 0; i < b->n_pkts; i++) {
		b->route[i] = ws_allowedips_lookup_packet_dst(&dev->aips, b->pkts[i].data, b->pkts[i].len);
		if (!b->route[i]) {
			done[i] = true;
			atomic_fetch_add_explicit(&dev->stats.tx_no_route, 1, memory_order_relaxed);
		}
	}
}

/* Group by peer, keeping each peer's packets in TUN order; each group to tx_peer. */
static void tx_route_peers(struct ws_tx_batch *b, uint64_t now)
{
	unsigned *idx = b->group;
	bool *done = b->grouped;

	for (unsigned i = 0; i < b->n_pkts; i++) {
		unsigned n = 0;

		if (done[i])
			continue;
		for (unsigned j = i; j < b->n_pkts; j++)
			if (!done[j] && b->route[j] == b->route[i]) {
				idx[n++] = j;
				done[j] = true;
			}
		tx_peer(b, b->route[i], idx, n, now);
	}
}

/* All packets of one peer in this batch, in their order. */
static void tx_peer(struct ws_tx_batch *b, struct ws_peer *peer, unsigned *idx, unsigned n,
		    uint64_t now)
{
	struct ws_device *dev = b->dev;
	struct ws_slot *slot = peer->cur;
	unsigned first_out = b->n_out;
	bool wake = false;

	pthread_mutex_lock(&peer->lock);
	n = tx_drop_loops(b, peer, idx, n);
	if (!n) {
		pthread_mutex_unlock(&peer->lock);
		return;
	}
	if (!slot || atomic_load(&slot->dead) || !ws_peer_may_send(peer, slot, now) ||
	    peer->endpoint.ss_family == AF_UNSPEC) {
		for (unsigned i = 0; i < n; i++) {
			if (peer->staged.count == WS_STAGED_MAX) /* the oldest goes */
				WS_DROP(dev, drop_tx_staging_full);
			ws_peer_stage(peer, b->pkts[idx[i]].data, b->pkts[idx[i]].len);
		}
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
		b->dest[k] = peer->endpoint;
	if (b->n_out > first_out)
		ws_peer_on_data_sent(peer, b->out[b->n_out - 1].counter, now);
	pthread_mutex_unlock(&peer->lock);
}

/*
 * The daemon's own packets to this peer, routed back into the TUN (an
 * AllowedIPs holds the peer's endpoint), are dropped and counted, never sent
 * again: that would loop. idx keeps the others, in order; their number.
 * peer->lock held (the endpoint).
 */
static unsigned tx_drop_loops(struct ws_tx_batch *b, struct ws_peer *peer, unsigned *idx, unsigned n)
{
	struct ws_device *dev = b->dev;
	uint16_t port = dev->listen_port;
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct tx_pkt *p = &b->pkts[idx[i]];

		if (!ws_tx_is_own_packet(p->data, p->len, port, &peer->endpoint)) {
			idx[k++] = idx[i];
			continue;
		}
		if (atomic_fetch_add_explicit(&dev->stats.tx_loop_dropped, 1, memory_order_relaxed) == 0)
			ws_warn("%s: dropping the daemon's own UDP packets routed back into the tunnel "
				"(an AllowedIPs contains a peer's endpoint address): a routing loop", dev->ifname);
	}
	return k;
}

bool ws_tx_is_own_packet(const uint8_t *pkt, size_t len, uint16_t listen_port,
			 const struct sockaddr_storage *endpoint)
{
	const struct sockaddr_in *e4 = (const struct sockaddr_in *)endpoint;
	const struct sockaddr_in6 *e6 = (const struct sockaddr_in6 *)endpoint;
	uint8_t proto;
	size_t off;

	/* UDP, and not a fragment past the first (no UDP header there) */
	if (ws_ip_l4(pkt, len, &proto, &off) || proto != WS_PROTO_UDP ||
	    !ws_l4_header_len(pkt, len, proto, off))
		return false;
	if (ws_ip_version(pkt, len) == 4)
		return !ws_ip4_is_fragment(pkt, 1) && ws_be16(pkt + off) == listen_port &&
		       endpoint->ss_family == AF_INET && ws_be16(pkt + off + 2) == ntohs(e4->sin_port) &&
		       !memcmp(pkt + 16, &e4->sin_addr, 4);
	return ws_be16(pkt + off) == listen_port && endpoint->ss_family == AF_INET6 &&
	       ws_be16(pkt + off + 2) == ntohs(e6->sin6_port) && !memcmp(pkt + 24, &e6->sin6_addr, 16);
}

/*
 * Frame the packets idx[0..n) of one peer: each frame starts in place in
 * front of its first packet, and following packets are appended to it while
 * the frame stays within maxFragPayload (coalescing never fragments).
 */
static void tx_frame_peer(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			  const unsigned *idx, unsigned n)
{
	for (unsigned i = 0; i < n;) {
		struct tx_pkt *first = &b->pkts[idx[i]];
		uint8_t *frame = ws_frame_write_head(first->data, WS_CHANNEL_DATA, WS_EVENT_IP_PACKET, first->len);
		size_t len = ws_frame_head_len(first->len) + first->len;
		for (i++; i < n && first->tail_room; i++) {
			struct tx_pkt *next = &b->pkts[idx[i]];

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

/* A frame longer than maxFragPayload: DataFragment packets from the scratch area. */
static void tx_fragment(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
			const uint8_t *frame, size_t frame_len)
{
	uint32_t count = ws_fragment_count(frame_len, b->max_frag);
	uint32_t frame_id = slot->next_frame_id++;

	if (!count || b->n_frag + count > b->frag_slots || b->n_out + count > b->out_max) {
		WS_DROP(b->dev, drop_tx_too_big); /* larger than the MTU allows for: an MTU overrun */
		return;
	}
	for (uint32_t k = 0; k < count; k++) {
		uint8_t *pkt = b->frag_scratch + (size_t)b->n_frag++ * b->dev->max_packet_size;
		size_t off, n = ws_fragment_span(frame_len, b->max_frag, (uint16_t)k, &off);
		size_t plain = ws_fragment_write(pkt + WS_SIZE_DATA_HEADER, frame_id, (uint16_t)k,
						 (uint16_t)count, frame + off, n);

		if (!tx_emit(b, peer, slot, WS_MSG_DATA_FRAGMENT, pkt, plain))
			return;
	}
}

static struct tx_out *tx_emit(struct ws_tx_batch *b, struct ws_peer *peer, struct ws_slot *slot,
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

static void tx_seal(void *ctx, unsigned first, unsigned count)
{
	struct ws_tx_batch *b = ctx;

	for (unsigned i = first; i < first + count; i++) {
		struct tx_out *o = &b->out[i];

		o->len = ws_session_seal(&o->slot->s, o->type, o->counter, o->pkt, o->plain_len);
	}
}

/*
 * Send every sealed packet; wait for room when the socket is full. Called
 * with dev->lock held for reading; drops it while waiting.
 */
static void tx_send(struct ws_tx_batch *b)
{
	struct ws_device *dev = b->dev;
	unsigned done = 0, n = tx_group(b);

	while (done < n && !atomic_load(&dev->stopping)) {
		int r = ws_udp_send_batch(&dev->udp, b->msgs + done, (int)(n - done));

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && r != -EAGAIN && r != -EINTR) {
			done++; /* this destination is unreachable now: skip it */
			continue;
		}
		tx_wait_room(b, done, n);
	}
	for (unsigned g = done; g < n; g++)
		b->msgs[g].err = -ECANCELED; /* stopping: not sent */
	for (unsigned g = 0; g < n; g++) {
		struct ws_peer *peer = b->out[b->group_first[g]].peer;

		if (!peer)
			continue; /* removed while we waited */
		if (b->msgs[g].err && b->msgs[g].segment)
			tx_resend_singly(b, g);
		if (b->msgs[g].err) {
			WS_DROP_N(dev, drop_tx_send_failed, b->group_first[g + 1] - b->group_first[g]);
			continue;
		}
		atomic_fetch_add_explicit(&peer->stats.tx_bytes, b->msgs[g].len, memory_order_relaxed);
		atomic_fetch_add_explicit(&peer->stats.tx_packets, b->group_first[g + 1] - b->group_first[g],
					  memory_order_relaxed);
	}
}

static unsigned tx_group(struct ws_tx_batch *b)
{
	unsigned g = 0;

	for (unsigned i = 0; i < b->n_out; i++) {
		struct tx_out *o = &b->out[i];

		if (g && tx_joins(b, g - 1, o, i - b->group_first[g - 1])) {
			b->msgs[g - 1].len += (uint32_t)o->len;
			b->msgs[g - 1].cap = b->msgs[g - 1].len;
			b->msgs[g - 1].segment = (uint16_t)b->out[b->group_first[g - 1]].len;
			continue;
		}
		b->group_first[g] = i;
		b->msgs[g].buf = o->pkt;
		b->msgs[g].len = b->msgs[g].cap = (uint32_t)o->len;
		b->msgs[g].segment = 0;
		b->msgs[g].err = 0;
		b->msgs[g].addr = b->dest[i];
		g++;
	}
	b->group_first[g] = b->n_out;
	return g;
}

/*
 * Consecutive sealed packets to one peer that lie back to back in memory,
 * all of one size but the last (which may be shorter), leave as one UDP GSO
 * message (at most 64 segments, 64 KB).
 */
static bool tx_joins(const struct ws_tx_batch *b, unsigned g, const struct tx_out *o, unsigned n_in_group)
{
	const struct ws_udp_msg *m = &b->msgs[g];
	const struct tx_out *first = &b->out[b->group_first[g]];
	const struct tx_out *last = o - 1;

	return b->dev->vnet && o->type == WS_MSG_DATA && first->type == WS_MSG_DATA &&
	       !atomic_load_explicit(&o->peer->no_gso, memory_order_relaxed) &&
	       o->peer == first->peer && m->buf + m->len == o->pkt &&
	       last->len == first->len && o->len <= first->len && n_in_group < 64 &&
	       m->len + o->len <= 65000;
}

/*
 * Wait for room in a full socket without dev->lock: a writer (ctl) would
 * wait behind a sleeping reader, and rx and ctl behind that writer. Sends
 * g >= first of peers removed meanwhile are then no longer counted.
 */
static void tx_wait_room(struct ws_tx_batch *b, unsigned first, unsigned n)
{
	struct ws_device *dev = b->dev;
	struct pollfd p[2] = {{.fd = dev->udp.fd[0], .events = POLLOUT},
			      {.fd = dev->udp.fd[1], .events = POLLOUT}};

	for (unsigned g = first; g < n; g++)
		if (b->out[b->group_first[g]].peer)
			memcpy(b->keys[g], b->out[b->group_first[g]].peer->public_key, 32);
	pthread_rwlock_unlock(&dev->lock);
	poll(p, 2, 100);
	pthread_rwlock_rdlock(&dev->lock);
	for (unsigned g = first; g < n; g++) {
		struct tx_out *o = &b->out[b->group_first[g]];

		if (o->peer && ws_peer_lookup(dev, b->keys[g]) != o->peer)
			for (unsigned i = b->group_first[g]; i < b->group_first[g + 1]; i++)
				b->out[i].peer = NULL;
	}
}

/*
 * The kernel refused a GSO send (a segment plus headers larger than the
 * path's MTU, which it would fragment for a plain send): send that run's
 * packets one by one, and merge no more for this peer.
 */
static void tx_resend_singly(struct ws_tx_batch *b, unsigned g)
{
	struct ws_peer *peer = b->out[b->group_first[g]].peer;

	atomic_store(&peer->no_gso, true);
	b->msgs[g].err = 0;
	for (unsigned i = b->group_first[g]; i < b->group_first[g + 1]; i++)
		if (ws_device_send_one(b->dev, b->out[i].pkt, b->out[i].len, &b->dest[i]))
			b->msgs[g].err = -EIO;
}

/* The batch through the stages: routes, per peer, seal, send. */
static void tx_process(struct ws_tx_batch *b, uint64_t now)
{
	struct ws_device *dev = b->dev;

	b->n_out = b->n_frag = 0;
	pthread_rwlock_rdlock(&dev->lock);
	tx_route(b);
	tx_route_peers(b, now);
	ws_workers_run(&dev->tx_workers, tx_seal, b, b->n_out, 16);
	tx_send(b);
	pthread_rwlock_unlock(&dev->lock);
}

int ws_tx_batch_run(struct ws_tx_batch *b, uint64_t now)
{
	int n = b->dev->vnet ? tx_read_offload(b) : tx_read_plain(b);

	if (n > 0)
		tx_process(b, now);
	return n ? n : -EAGAIN;
}

void *ws_tx_thread(void *arg)
{
	struct ws_device *dev = arg;
	struct ws_tx_batch *b = ws_tx_batch_new(dev);

	if (!b) {
		ws_err("tx: out of memory");
		return NULL;
	}
	while (!atomic_load(&dev->stopping)) {
		int n = ws_tx_batch_run(b, ws_now_ns());

		if (n <= 0) {
			struct pollfd p[2] = {{.fd = dev->tun_fd, .events = POLLIN},
					      {.fd = dev->stop_efd, .events = POLLIN}};

			if (n != -EAGAIN && n != -EINTR) {
				ws_err("tun read: %s", strerror(-n));
				break;
			}
			poll(p, 2, -1);
		}
	}
	ws_tx_batch_free(b);
	return NULL;
}
