/* SPDX-License-Identifier: MIT */
/*
 * IPv4/IPv6/TCP/UDP header lengths: the one place that reads them. Every
 * reader of an inner packet (the routing-loop check, the TX segment-size
 * guesses, the offloads, AllowedIPs) asks here, so each bound is checked once
 * and the same way.
 *
 * Pure and inline (the hot path calls these per packet): no syscalls, no
 * allocation. Every function is bounded by the len passed in and returns 0
 * (or -EINVAL) for anything it cannot read; it never reads past len.
 *
 * IPv6: the transport header is taken to follow the fixed 40-byte header
 * directly (next header = TCP/UDP); a packet with extension headers reports
 * the first extension header as its protocol, which callers refuse.
 */
#ifndef WS_IP_H
#define WS_IP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Header sizes and fields. */
enum ws_ip_proto {
	WS_IP4_HDR_MIN = 20,
	WS_IP6_HDR_LEN = 40,
	WS_TCP_HDR_MIN = 20,
	WS_UDP_HDR_LEN = 8,
	WS_TCP_CSUM_OFF = 16,
	WS_UDP_CSUM_OFF = 6,
	WS_PROTO_TCP = 6,
	WS_PROTO_UDP = 17,
};

static inline uint16_t ws_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t ws_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void ws_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ws_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* 4 or 6 from the first nibble; 0 for an empty buffer (or whatever else the
 * nibble says: callers accept only 4 and 6). */
static inline unsigned ws_ip_version(const uint8_t *pkt, size_t len)
{
	return len ? (unsigned)(pkt[0] >> 4) : 0;
}

/* IP header bytes: the IPv4 IHL (20..60, within len) or 40 for IPv6 (len >=
 * 40); 0 when it cannot be read. */
static inline size_t ws_ip_header_len(const uint8_t *pkt, size_t len)
{
	size_t ihl;

	switch (ws_ip_version(pkt, len)) {
	case 4:
		if (len < WS_IP4_HDR_MIN)
			return 0;
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		return ihl >= WS_IP4_HDR_MIN && ihl <= len ? ihl : 0;
	case 6:
		return len >= WS_IP6_HDR_LEN ? WS_IP6_HDR_LEN : 0;
	default:
		return 0;
	}
}

/* The packet's length as its IP header states it (IPv4 total length, IPv6
 * 40 + payload length), when the header reads and that length is neither
 * shorter than the header nor longer than len; else 0. */
static inline size_t ws_ip_packet_len(const uint8_t *pkt, size_t len)
{
	size_t hl = ws_ip_header_len(pkt, len), total;

	if (!hl)
		return 0;
	total = pkt[0] >> 4 == 4 ? ws_be16(pkt + 2) : WS_IP6_HDR_LEN + (size_t)ws_be16(pkt + 4);
	return total >= hl && total <= len ? total : 0;
}

/* An IPv4 fragment (MF set or an offset); later_only: only one past the
 * first (offset != 0: no transport header in it). IPv6 fragments carry an
 * extension header, so ws_ip_l4 never reports TCP/UDP for them. */
static inline int ws_ip4_is_fragment(const uint8_t *pkt, int later_only)
{
	return (ws_be16(pkt + 6) & (later_only ? 0x1fff : 0x3fff)) != 0;
}

/* Transport protocol and the offset of its header: 0, or -EINVAL when the IP
 * header cannot be read. *off may equal len (no transport bytes). */
static inline int ws_ip_l4(const uint8_t *pkt, size_t len, uint8_t *proto, size_t *off)
{
	size_t hl = ws_ip_header_len(pkt, len);

	if (!hl)
		return -EINVAL;
	*proto = pkt[0] >> 4 == 4 ? pkt[9] : pkt[6];
	*off = hl;
	return 0;
}

/* TCP header bytes (data offset, 20..60) of the header at off, when all of it
 * lies within len; else 0. */
static inline size_t ws_tcp_header_len(const uint8_t *pkt, size_t len, size_t off)
{
	size_t thl;

	if (off > len || len - off < WS_TCP_HDR_MIN)
		return 0;
	thl = (size_t)(pkt[off + 12] >> 4) * 4;
	return thl >= WS_TCP_HDR_MIN && thl <= len - off ? thl : 0;
}

/* Transport header bytes at off for proto: TCP's data offset, UDP's 8; 0
 * for another protocol or when it does not fit in len. */
static inline size_t ws_l4_header_len(const uint8_t *pkt, size_t len, uint8_t proto, size_t off)
{
	if (proto == WS_PROTO_TCP)
		return ws_tcp_header_len(pkt, len, off);
	if (proto == WS_PROTO_UDP)
		return off <= len && len - off >= WS_UDP_HDR_LEN ? WS_UDP_HDR_LEN : 0;
	return 0;
}

#endif
