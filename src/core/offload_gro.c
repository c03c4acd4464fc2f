/* SPDX-License-Identifier: MIT */
/*
 * RX side of the TUN offloads: coalescing of TCP segments (what the kernel's
 * tcp_gro_receive does for a NIC), so that a batch of decrypted packets is
 * written to the TUN as few super-packets with a GSO vnet header.
 *
 * The batch is a list of items in the order of their first packet. A flow
 * table (open addressing, linear probing, never deleted from within a batch)
 * maps a flow (addresses and ports) to its latest item; a segment can only
 * ever be appended to that item, so one flow's packets are written in the
 * order they arrived. An item stays in the caller's packet until a second
 * segment joins; then it is copied into a scratch slot and grows there.
 *
 * UDP (when enabled): datagrams of one flow with the same payload size (the
 * last may be smaller) become one UDP_L4 item, what the kernel's
 * udp_gro_receive_segment does; it is segmented again by the kernel (into
 * the same datagrams) unless the receiving socket has UDP_GRO on.
 *
 * Checksums: a coalesced item is written with NEEDS_CSUM (CHECKSUM_PARTIAL),
 * which the kernel takes as "to be computed", i.e. valid. So both segments'
 * TCP (or UDP) checksums are verified before a merge (in the same pass as
 * the copy into the slot); a segment that fails is written alone and the
 * kernel drops it, as it would have without coalescing.
 */
#include <errno.h>
#include <string.h>

#include "core/ip.h"
#include "core/offload.h"

enum gro_kind {
	GRO_OTHER = 0, /* written as it came */
	GRO_TCP = 1,   /* a TCP segment that may take more segments */
	GRO_UDP = 2,   /* a UDP datagram that may take more datagrams */
};

/* What ws_gro_add needs to know about one packet. */
struct gro_view {
	struct ws_gro_flow flow;
	int has_flow;      /* a TCP (or UDP) packet whose addresses and ports are known */
	int candidate;     /* may start or join a coalesced item */
	size_t iph, thl, pay;
	uint32_t seq;
	uint8_t flags;
};

/* May packets of this protocol be coalesced? */
static int proto_ok(uint8_t proto, int udp)
{
	return proto == WS_PROTO_TCP || (udp && proto == WS_PROTO_UDP);
}

/* Addresses and ports of a TCP (or, when udp, UDP) packet that is not a
 * fragment. */
static void view_flow(const uint8_t *pkt, size_t len, int udp, struct gro_view *v)
{
	unsigned ver = ws_ip_version(pkt, len);
	size_t alen = ver == 4 ? 4 : 16;
	uint8_t proto;

	memset(&v->flow, 0, sizeof(v->flow));
	if (ws_ip_l4(pkt, len, &proto, &v->iph) || !proto_ok(proto, udp) ||
	    (ver == 4 && ws_ip4_is_fragment(pkt, 0)) || v->iph + 4 > len)
		return;
	memcpy(v->flow.addr, pkt + (ver == 4 ? 12 : 8), 2 * alen);
	memcpy(v->flow.ports, pkt + v->iph, 4);
	v->flow.family = (uint8_t)ver;
	v->flow.proto = proto;
	v->has_flow = 1;
}

/* A UDP datagram that may be coalesced: UDP length = the rest, some payload,
 * a checksum present (0 means none: nothing to verify, so not merged). */
static void view_udp(const uint8_t *pkt, size_t len, struct gro_view *v)
{
	const uint8_t *u = pkt + v->iph;

	if (v->iph + WS_UDP_HDR_LEN >= len || ws_be16(u + 4) != len - v->iph ||
	    (u[WS_UDP_CSUM_OFF] | u[WS_UDP_CSUM_OFF + 1]) == 0)
		return;
	v->thl = WS_UDP_HDR_LEN;
	v->pay = len - v->iph - WS_UDP_HDR_LEN;
	v->candidate = 1;
}

/* A segment that may be coalesced: no IP options, lengths exact, a good
 * IPv4 header checksum; TCP: ACK set, no SYN/FIN/RST/URG, some payload. */
static void view_candidate(const uint8_t *pkt, size_t len, struct gro_view *v)
{
	size_t ip_len;

	if (v->flow.family == 4)
		ip_len = v->iph == WS_IP4_HDR_MIN ? ws_be16(pkt + 2) : 0;
	else
		ip_len = (size_t)ws_be16(pkt + 4) + WS_IP6_HDR_LEN;
	if (ip_len != len)
		return;
	/* The kernel checks an IPv4 header checksum in ip_rcv; a merged item
	 * gets a fresh one, so a bad one must not be merged (as inet_gro_receive). */
	if (v->flow.family == 4 && ws_csum_finish(ws_csum_add(pkt, WS_IP4_HDR_MIN, 0)))
		return;
	if (v->flow.proto == WS_PROTO_UDP) {
		view_udp(pkt, len, v);
		return;
	}
	v->thl = ws_tcp_header_len(pkt, len, v->iph);
	if (!v->thl || v->iph + v->thl >= len)
		return;
	v->flags = pkt[v->iph + 13];
	if (!(v->flags & WS_TCP_ACK) ||
	    (v->flags & (WS_TCP_SYN | WS_TCP_FIN | WS_TCP_RST | WS_TCP_URG)))
		return;
	v->pay = len - v->iph - v->thl;
	v->seq = ws_be32(pkt + v->iph + 4);
	v->candidate = 1;
}

static void view(const uint8_t *pkt, size_t len, int udp, struct gro_view *v)
{
	v->has_flow = v->candidate = 0;
	view_flow(pkt, len, udp, v);
	if (v->has_flow)
		view_candidate(pkt, len, v);
}

static size_t flow_hash(const struct ws_gro_flow *f)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (f->family + ((uint64_t)f->proto << 8));
	uint32_t w;

	for (size_t i = 0; i < sizeof(f->addr); i += 4) {
		memcpy(&w, f->addr + i, 4);
		h = (h ^ w) * 0x100000001b3ull;
	}
	memcpy(&w, f->ports, 4);
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) & (WS_GRO_BUCKETS - 1);
}

/* The bucket holding f, or the empty one where it belongs. There are twice
 * as many buckets as items, so an empty one is always found. */
static size_t flow_bucket(const struct ws_gro *g, const struct ws_gro_flow *f)
{
	size_t b = flow_hash(f);

	while (g->bucket[b] && memcmp(&g->items[g->bucket[b] - 1].flow, f, sizeof(*f)))
		b = (b + 1) & (WS_GRO_BUCKETS - 1);
	return b;
}

void ws_gro_init(struct ws_gro *g, uint8_t *scratch, size_t scratch_cap)
{
	g->scratch = scratch;
	g->n_slots = scratch ? scratch_cap / WS_GRO_SLOT : 0;
	g->udp = false;
	ws_gro_reset(g);
}

void ws_gro_set_udp(struct ws_gro *g, bool on)
{
	g->udp = on;
}

void ws_gro_reset(struct ws_gro *g)
{
	g->n = 0;
	g->slots_used = 0;
	memset(g->bucket, 0, sizeof(g->bucket));
}

/* IP and TCP header fields that must be equal for v to continue it (for
 * UDP, the IP fields only: addresses and ports are the flow). */
static int headers_match(const struct ws_gro_item *it, const uint8_t *pkt,
			 const struct gro_view *v)
{
	const uint8_t *f = it->pkt, *t = pkt + v->iph, *ft = f + it->iph_len;

	if (v->iph != it->iph_len || v->thl != it->l4h_len)
		return 0;
	if (it->flow.family == 4) {
		if (pkt[1] != f[1] || pkt[8] != f[8] || ((pkt[6] ^ f[6]) & 0xe0)) /* TOS TTL DF */
			return 0;
	} else if (memcmp(pkt, f, 4) || pkt[7] != f[7]) { /* class, flow label, hops */
		return 0;
	}
	if (it->kind == GRO_UDP)
		return 1;
	return !memcmp(t + 8, ft + 8, 5) &&           /* ACK number, offset byte, */
	       (t[13] & ~WS_TCP_PSH) == (ft[13] & ~(WS_TCP_PSH | WS_TCP_CWR)) && /* flags, */
	       !memcmp(t + 14, ft + 14, 2) &&         /* window, */
	       !memcmp(t + 20, ft + 20, v->thl - 20); /* options */
}

static uint64_t pseudo(const uint8_t *pkt, size_t iph, const struct ws_gro_flow *f, size_t len)
{
	size_t alen = f->family == 4 ? 4 : 16;
	const uint8_t *src = pkt + (f->family == 4 ? 12 : 8);

	return ws_csum_pseudo(src, src + alen, alen, f->proto, (uint32_t)(len - iph));
}

/* Move the item's first segment into a scratch slot, checking its TCP/UDP
 * checksum on the way. On a bad checksum the item takes no more segments. */
static int item_to_slot(struct ws_gro *g, struct ws_gro_item *it)
{
	uint8_t *slot;
	uint64_t sum;

	if (it->slot)
		return 0;
	if (g->slots_used == g->n_slots)
		return -ENOSPC;
	slot = g->scratch + g->slots_used * WS_GRO_SLOT + WS_GRO_HEADROOM;
	memcpy(slot, it->pkt, it->iph_len);
	sum = pseudo(it->pkt, it->iph_len, &it->flow, it->len);
	sum = ws_csum_copy(slot + it->iph_len, it->pkt + it->iph_len, it->len - it->iph_len, sum);
	if (ws_csum_finish(sum)) {
		it->open = 0;
		return -EINVAL;
	}
	g->slots_used++;
	it->slot = slot;
	it->pkt = slot;
	return 0;
}

/* Lengths, IPv4 header checksum and the partial TCP/UDP checksum of a
 * grown item. */
static void item_fix_headers(struct ws_gro_item *it)
{
	uint8_t *p = it->slot;
	size_t coff = it->kind == GRO_UDP ? WS_UDP_CSUM_OFF : WS_TCP_CSUM_OFF;

	if (it->flow.family == 4) {
		ws_put_be16(p + 2, (uint16_t)it->len);
		p[10] = p[11] = 0;
		ws_csum_put(p + 10, ws_csum_finish(ws_csum_add(p, it->iph_len, 0)));
	} else {
		ws_put_be16(p + 4, (uint16_t)(it->len - WS_IP6_HDR_LEN));
	}
	if (it->kind == GRO_UDP)
		ws_put_be16(p + it->iph_len + 4, (uint16_t)(it->len - it->iph_len));
	ws_csum_put(p + it->iph_len + coff, ws_csum_fold(pseudo(p, it->iph_len, &it->flow, it->len)));
}

/* Can v be appended to it, as far as its kind's sequencing goes? */
static int continues(const struct ws_gro_item *it, const struct gro_view *v)
{
	if (it->flow.proto == WS_PROTO_UDP)
		return it->kind == GRO_UDP && it->nseg < WS_GRO_UDP_MAX_SEGS;
	return it->kind == GRO_TCP && v->seq == it->next_seq;
}

/* Append v to it when it continues it exactly; 1 when done. */
static int try_merge(struct ws_gro *g, struct ws_gro_item *it, const uint8_t *pkt, size_t len,
		     const struct gro_view *v)
{
	const uint8_t *t = pkt + v->iph;
	uint64_t sum;

	if (!it->open || !continues(it, v) ||
	    v->pay > it->gso_size || it->len + v->pay > WS_OFFLOAD_MAX_PKT ||
	    !headers_match(it, pkt, v) || item_to_slot(g, it))
		return 0;
	sum = ws_csum_add(t, v->thl, pseudo(pkt, v->iph, &it->flow, len));
	sum = ws_csum_copy(it->slot + it->len, t + v->thl, v->pay, sum);
	if (ws_csum_finish(sum))
		return 0; /* the copied bytes lie past it->len: ignored */
	it->len += (uint32_t)v->pay;
	it->nseg++;
	if (it->kind == GRO_UDP) {
		it->open = v->pay == it->gso_size;
		item_fix_headers(it);
		return 1;
	}
	it->next_seq += (uint32_t)v->pay;
	if (v->flags & WS_TCP_PSH)
		it->slot[it->iph_len + 13] |= WS_TCP_PSH;
	if (v->pay < it->gso_size || (v->flags & WS_TCP_PSH))
		it->open = 0;
	item_fix_headers(it);
	return 1;
}

static void item_start(struct ws_gro_item *it, const uint8_t *pkt, size_t len,
		       const struct gro_view *v)
{
	memset(it, 0, sizeof(*it));
	it->pkt = pkt;
	it->len = (uint32_t)len;
	it->nseg = 1;
	it->flow = v->flow;
	if (!v->candidate)
		return;
	it->iph_len = (uint8_t)v->iph;
	it->l4h_len = (uint8_t)v->thl;
	it->gso_size = (uint16_t)v->pay;
	if (v->flow.proto == WS_PROTO_UDP) {
		it->kind = GRO_UDP;
		it->open = 1;
		return;
	}
	it->kind = GRO_TCP;
	it->open = !(v->flags & WS_TCP_PSH);
	it->ecn = !!(v->flags & WS_TCP_CWR);
	it->next_seq = v->seq + (uint32_t)v->pay;
}

int ws_gro_add(struct ws_gro *g, const uint8_t *pkt, size_t len)
{
	struct gro_view v;
	size_t b = 0;

	if (len == 0 || len > WS_OFFLOAD_MAX_PKT)
		return -EINVAL;
	view(pkt, len, g->udp, &v);
	if (v.has_flow) {
		b = flow_bucket(g, &v.flow);
		if (g->bucket[b] && v.candidate &&
		    try_merge(g, &g->items[g->bucket[b] - 1], pkt, len, &v))
			return 1;
	}
	if (g->n == WS_GRO_MAX_ITEMS)
		return -ENOSPC;
	item_start(&g->items[g->n], pkt, len, &v);
	g->n++;
	if (v.has_flow)
		g->bucket[b] = (uint16_t)g->n; /* the flow's latest item */
	return 0;
}

size_t ws_gro_count(const struct ws_gro *g)
{
	return g->n;
}

int ws_gro_item(const struct ws_gro *g, size_t i, struct ws_vnet_hdr *h,
		const uint8_t **pkt, size_t *len)
{
	const struct ws_gro_item *it;

	if (i >= g->n)
		return -EINVAL;
	it = &g->items[i];
	memset(h, 0, sizeof(*h));
	*pkt = it->pkt;
	*len = it->len;
	if (it->nseg < 2)
		return 0;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->hdr_len = (uint16_t)(it->iph_len + it->l4h_len);
	h->gso_size = it->gso_size;
	h->csum_start = it->iph_len;
	if (it->kind == GRO_UDP) {
		h->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
		h->csum_offset = WS_UDP_CSUM_OFF;
		return 0;
	}
	h->gso_type = it->flow.family == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	if (it->ecn)
		h->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	h->csum_offset = WS_TCP_CSUM_OFF;
	return 0;
}
