/* SPDX-License-Identifier: MIT */
/*
 * TX side of the TUN offloads: the vnet header codec, completion of a partial
 * checksum, and segmentation of GSO super-packets (TSO for TCP, USO for UDP)
 * into the packets the kernel's software GSO would have produced
 * (tcp_gso_segment / __udp_gso_segment / inet_gso_segment):
 *   - every segment copies the IP header and the transport header;
 *   - IPv4: total length, ID + i (a GSO packet's segments get consecutive
 *     IDs), header checksum; IPv6: payload length;
 *   - TCP: sequence number + i * gso_size; FIN and PSH kept only on the last
 *     segment, CWR only on the first; UDP: length;
 *   - a full transport checksum over the pseudo-header, computed while the
 *     payload is copied.
 * Nothing is trusted: every length in the headers is checked against len
 * before any byte is read, and every segment is checked against the output
 * bounds before any byte is written.
 */
#include <errno.h>
#include <string.h>

#include "core/ip.h"
#include "core/offload.h"

void ws_vnet_hdr_decode(const uint8_t *in, struct ws_vnet_hdr *h)
{
	h->flags = in[0];
	h->gso_type = in[1];
	h->hdr_len = (uint16_t)(in[2] | in[3] << 8);
	h->gso_size = (uint16_t)(in[4] | in[5] << 8);
	h->csum_start = (uint16_t)(in[6] | in[7] << 8);
	h->csum_offset = (uint16_t)(in[8] | in[9] << 8);
}

void ws_vnet_hdr_encode(const struct ws_vnet_hdr *h, uint8_t *out)
{
	const uint16_t v[4] = {h->hdr_len, h->gso_size, h->csum_start, h->csum_offset};

	out[0] = h->flags;
	out[1] = h->gso_type;
	for (int i = 0; i < 4; i++) {
		out[2 + 2 * i] = (uint8_t)v[i];
		out[3 + 2 * i] = (uint8_t)(v[i] >> 8);
	}
}

int ws_offload_complete_csum(uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h)
{
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t c;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (start > len || at + 2 > len)
		return -EINVAL;
	/* The field holds the pseudo-header sum: summing over it adds it in. */
	c = ws_csum_finish(ws_csum_add(pkt + start, len - start, 0));
	/* 0 and 0xffff are the same one's complement value; as the kernel's
	 * skb_checksum_help, send 0xffff, which UDP requires (0 = no checksum). */
	ws_csum_put(pkt + at, c ? c : 0xffff);
	return 0;
}

/* Where the headers of a GSO packet are; filled by parse_gso. */
struct gso_layout {
	size_t iph;       /* IP header length (options included) */
	size_t hdr;       /* iph + transport header */
	size_t saddr;     /* offset of the source address (destination follows) */
	size_t alen;      /* 4 or 16 */
	uint8_t proto;    /* WS_PROTO_TCP or WS_PROTO_UDP */
	uint8_t v6;
};

static int parse_ip(const uint8_t *pkt, size_t len, struct gso_layout *l)
{
	if (ws_ip_l4(pkt, len, &l->proto, &l->iph) || ws_ip_packet_len(pkt, len) != len)
		return -EINVAL; /* IPv6: an extension header is refused below (proto) */
	l->v6 = ws_ip_version(pkt, len) == 6;
	if (!l->v6 && ws_ip4_is_fragment(pkt, 0)) /* MF or a fragment offset */
		return -EINVAL;
	l->saddr = l->v6 ? 8 : 12;
	l->alen = l->v6 ? 16 : 4;
	return 0;
}

/* IP and transport headers of a TCPV4/TCPV6/UDP_L4 packet, checked against
 * the vnet header. */
static int parse_gso(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
		     struct gso_layout *l)
{
	uint8_t type = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	size_t csum_off;

	if (parse_ip(pkt, len, l))
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 || type == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (l->v6 != (type == VIRTIO_NET_HDR_GSO_TCPV6) || l->proto != WS_PROTO_TCP ||
		    !ws_tcp_header_len(pkt, len, l->iph))
			return -EINVAL;
		l->hdr = l->iph + ws_tcp_header_len(pkt, len, l->iph);
		csum_off = WS_TCP_CSUM_OFF;
	} else if (type == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) || l->proto != WS_PROTO_UDP)
			return -EINVAL;
		if (!ws_l4_header_len(pkt, len, WS_PROTO_UDP, l->iph))
			return -EINVAL;
		l->hdr = l->iph + WS_UDP_HDR_LEN;
		csum_off = WS_UDP_CSUM_OFF;
	} else {
		return -EINVAL;
	}
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (h->csum_start != l->iph || h->csum_offset != csum_off))
		return -EINVAL;
	if (h->gso_size == 0 || l->hdr == len)
		return -EINVAL;
	return 0;
}

/* Segment i of n: headers fixed up, payload copied and checksummed. */
static size_t write_segment(const uint8_t *pkt, size_t len, const struct gso_layout *l,
			    uint16_t gso, size_t i, size_t n, uint8_t *seg)
{
	size_t off = l->hdr + i * gso;
	size_t pay = len - off < gso ? len - off : gso;
	size_t sl = l->hdr + pay;
	uint8_t *t = seg + l->iph;
	uint64_t sum;
	uint16_t c;

	memcpy(seg, pkt, l->hdr);
	if (l->v6) {
		ws_put_be16(seg + 4, (uint16_t)(sl - l->iph));
	} else {
		ws_put_be16(seg + 2, (uint16_t)sl);
		ws_put_be16(seg + 4, (uint16_t)(ws_be16(pkt + 4) + i));
		seg[10] = seg[11] = 0;
		ws_csum_put(seg + 10, ws_csum_finish(ws_csum_add(seg, l->iph, 0)));
	}
	if (l->proto == WS_PROTO_TCP) {
		ws_put_be32(t + 4, ws_be32(pkt + l->iph + 4) + (uint32_t)(i * gso));
		if (i + 1 < n)
			t[13] &= (uint8_t)~(WS_TCP_FIN | WS_TCP_PSH);
		if (i > 0)
			t[13] &= (uint8_t)~WS_TCP_CWR;
		t[WS_TCP_CSUM_OFF] = t[WS_TCP_CSUM_OFF + 1] = 0;
	} else {
		ws_put_be16(t + 4, (uint16_t)(sl - l->iph));
		t[WS_UDP_CSUM_OFF] = t[WS_UDP_CSUM_OFF + 1] = 0;
	}
	sum = ws_csum_pseudo(pkt + l->saddr, pkt + l->saddr + l->alen, l->alen, l->proto,
			     (uint32_t)(sl - l->iph));
	sum = ws_csum_add(t, l->hdr - l->iph, sum);
	c = ws_csum_finish(ws_csum_copy(seg + l->hdr, pkt + off, pay, sum));
	if (l->proto == WS_PROTO_TCP)
		ws_csum_put(t + WS_TCP_CSUM_OFF, c);
	else
		ws_csum_put(t + WS_UDP_CSUM_OFF, c ? c : 0xffff);
	return sl;
}

static int segment_none(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
			uint8_t *out, size_t cap, size_t *seg_len, size_t max_seg_len)
{
	if (len > max_seg_len)
		return -EMSGSIZE;
	if (cap < 1)
		return -ENOSPC;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    ((size_t)h->csum_start + h->csum_offset + 2 > len))
		return -EINVAL; /* checked before the copy: out stays untouched */
	memcpy(out, pkt, len);
	seg_len[0] = len;
	return ws_offload_complete_csum(out, len, h) ? -EINVAL : 1;
}

int ws_offload_segment(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
		       uint8_t *out, size_t out_stride, size_t out_cap_segments,
		       size_t *seg_len, size_t max_seg_len)
{
	struct gso_layout l;
	size_t n, first;

	if (len == 0 || max_seg_len > out_stride)
		return -EINVAL;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return segment_none(pkt, len, h, out, out_cap_segments, seg_len, max_seg_len);
	if (parse_gso(pkt, len, h, &l))
		return -EINVAL;
	n = (len - l.hdr + h->gso_size - 1) / h->gso_size;
	first = l.hdr + (len - l.hdr < h->gso_size ? len - l.hdr : h->gso_size);
	if (first > max_seg_len)
		return -EMSGSIZE;
	if (n > out_cap_segments)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		seg_len[i] = write_segment(pkt, len, &l, h->gso_size, i, n, out + i * out_stride);
	return (int)n;
}
