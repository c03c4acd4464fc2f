/* SPDX-License-Identifier: MIT */
/*
 * TUN offloads (a TUN opened with WS_TUN_VNET_HDR): every packet read from or
 * written to the TUN starts with a 10-byte struct virtio_net_hdr.
 *
 *  - TX (TUN read -> tunnel): the kernel hands us GSO super-packets (TCP up to
 *    64 KiB with gso_size = MSS, or UDP with USO) whose transport checksum is
 *    only partial (NEEDS_CSUM). ws_offload_segment() cuts one into complete
 *    IP packets, each with its own headers and checksums, exactly as the
 *    kernel's own software GSO would.
 *  - RX (tunnel -> TUN write): struct ws_gro coalesces in-sequence TCP
 *    segments of one flow into one super-packet with a GSO vnet header, so
 *    the kernel's TCP stack receives one skb instead of dozens; optionally
 *    (ws_gro_set_udp, for a TUN that accepted TUN_F_USO4/6, Linux >= 6.2)
 *    also equal-sized UDP datagrams of one flow into one UDP_L4 (USO)
 *    super-packet.
 *  - Internet checksums (RFC 1071) with 64-bit accumulation.
 *
 * Pure: no syscalls, no allocation; callers provide every buffer. All byte
 * offsets and lengths are bounded by the lengths passed in.
 *
 * Wire byte order: IP/TCP/UDP fields are big-endian; the vnet header fields
 * are little-endian (a TUN on a little-endian host; on a big-endian host the
 * caller sets TUNSETVNETLE). ws_vnet_hdr_decode/encode do the conversion, the
 * struct itself holds host-order values.
 */
#ifndef WS_OFFLOAD_H
#define WS_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* Linux 6.2 uapi; older headers lack it */
#endif

enum ws_offload_limits {
	WS_VNET_HDR_LEN = 10,          /* sizeof(struct virtio_net_hdr) */
	WS_OFFLOAD_MAX_PKT = 65535,    /* largest IP packet handled (16-bit lengths) */
	WS_GRO_MAX_ITEMS = 256,        /* items (packets to write) per batch */
	WS_GRO_BUCKETS = 512,          /* flow table size (power of two, >= 2 x items) */
	WS_GRO_HEADROOM = 16,          /* writable bytes before a coalesced packet */
	WS_GRO_SLOT = WS_GRO_HEADROOM + 65536, /* scratch per coalesced item */
	WS_GRO_UDP_MAX_SEGS = 64,      /* datagrams per UDP item (the kernel's
					  UDP_MAX_SEGMENTS: 64 before 6.9, 128 since) */
};

enum ws_tcp_flags {
	WS_TCP_FIN = 0x01,
	WS_TCP_SYN = 0x02,
	WS_TCP_RST = 0x04,
	WS_TCP_PSH = 0x08,
	WS_TCP_ACK = 0x10,
	WS_TCP_URG = 0x20,
	WS_TCP_ECE = 0x40,
	WS_TCP_CWR = 0x80,
};

/* struct virtio_net_hdr with host-order fields (layout identical on LE). */
struct ws_vnet_hdr {
	uint8_t flags;        /* VIRTIO_NET_HDR_F_NEEDS_CSUM / _DATA_VALID */
	uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_*, optionally | _ECN */
	uint16_t hdr_len;     /* IP + transport header bytes (a hint on read) */
	uint16_t gso_size;    /* payload bytes per segment */
	uint16_t csum_start;  /* where the partial checksum starts (IP header length) */
	uint16_t csum_offset; /* checksum field offset from csum_start (16 TCP, 6 UDP) */
};
_Static_assert(sizeof(struct ws_vnet_hdr) == WS_VNET_HDR_LEN, "virtio_net_hdr layout");

/* ---- vnet header ------------------------------------------------------------ */

/* Read the 10 little-endian header bytes at in (caller holds >= 10 bytes). */
void ws_vnet_hdr_decode(const uint8_t *in, struct ws_vnet_hdr *h);

/* Write h as 10 little-endian bytes at out (caller holds >= 10 bytes). */
void ws_vnet_hdr_encode(const struct ws_vnet_hdr *h, uint8_t *out);

/* ---- checksums (offload_csum.c) ----------------------------------------------
 * A partial sum is a uint64_t kept in memory byte order (like the kernel's
 * __wsum): the 16-bit words are added as they lie in memory, so the folded
 * result is stored back with memcpy (ws_csum_put), never byte-swapped. A
 * region added on its own must start at an even offset of the checksummed
 * data (only the last region may have an odd length). Any uint64_t is a valid
 * partial sum; 0 starts one.
 */

/* Add n bytes at p (any alignment) to sum; an odd last byte is zero-padded. */
uint64_t ws_csum_add(const void *p, size_t n, uint64_t sum);

/* memcpy(dst, src, n) and ws_csum_add(src, n, sum) in one pass. dst and src
 * must not overlap. */
uint64_t ws_csum_copy(void *dst, const void *src, size_t n, uint64_t sum);

/* Partial sum of the TCP/UDP pseudo-header: addresses of alen (4 or 16)
 * bytes each, protocol, and l4_len (transport header + payload bytes). */
uint64_t ws_csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen,
			uint8_t proto, uint32_t l4_len);

/* Fold to 16 bits, not complemented (what CHECKSUM_PARTIAL wants in the
 * checksum field). Memory order. */
uint16_t ws_csum_fold(uint64_t sum);

/* The Internet checksum: ~fold. Memory order. */
static inline uint16_t ws_csum_finish(uint64_t sum)
{
	return (uint16_t)~ws_csum_fold(sum);
}

/* Store a memory-order 16-bit checksum value at p (any alignment). */
static inline void ws_csum_put(uint8_t *p, uint16_t v)
{
	__builtin_memcpy(p, &v, 2);
}

/* ---- TX: TUN read -> segments (offload_tso.c) ------------------------------ */

/*
 * Complete the partial checksum of a NEEDS_CSUM packet in place: the sum of
 * pkt[csum_start, len) (its checksum field holds the pseudo-header sum the
 * kernel left there) is folded, complemented and stored at
 * csum_start + csum_offset. Without NEEDS_CSUM nothing is done. A result of
 * 0 is stored as 0xffff (the same value in one's complement; UDP needs it),
 * as the kernel's skb_checksum_help does. Returns 0, or -EINVAL when
 * csum_start or csum_start + csum_offset + 2 lie beyond len.
 */
int ws_offload_complete_csum(uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h);

/*
 * Turn one packet read from the TUN (pkt/len: the bytes after the vnet
 * header h) into complete IP packets. Segment i is written at
 * out + i * out_stride and its length stored in seg_len[i]; at most
 * out_cap_segments segments of at most max_seg_len bytes each
 * (max_seg_len <= out_stride). Bytes of out outside the segments are not
 * touched, so the caller may keep headroom and tag room in each stride by
 * passing out = buffer + headroom. pkt is never written and must not overlap
 * the output.
 *
 * gso_type NONE: one segment, a copy of pkt with a NEEDS_CSUM checksum
 * completed (see ws_offload_complete_csum; a caller that wants no copy calls
 * that in place instead).
 * TCPV4 / TCPV6 (optionally | ECN): payload cut in gso_size pieces. Each
 * segment gets: IPv4 total length, ID + i, header checksum / IPv6 payload
 * length; TCP sequence number + i * gso_size; FIN and PSH only on the last
 * segment, CWR only on the first; a full TCP checksum over the pseudo-header.
 * UDP_L4 (USO, IPv4 or IPv6): likewise, each datagram with its own UDP length
 * and checksum (0 sent as 0xffff).
 *
 * Header lengths come from the packet: csum_start must equal the IP header
 * length and csum_offset 16 (TCP) / 6 (UDP) when NEEDS_CSUM is set; hdr_len
 * is ignored (the kernel reports skb_headlen() there, which on the forwarding
 * path can be the whole first segment). IPv4 options are carried into every
 * segment; IPv6 extension headers and IPv4 fragments are refused.
 *
 * Returns the number of segments (>= 1), or
 *   -EINVAL    malformed or inconsistent (len 0, bad version, IP lengths
 *              that disagree with len, headers beyond len, gso_size 0, no
 *              payload, unknown gso_type, ECN on UDP, a NEEDS_CSUM range
 *              beyond len, ...): drop it; also max_seg_len > out_stride;
 *   -EMSGSIZE  a segment would exceed max_seg_len;
 *   -ENOSPC    more than out_cap_segments segments.
 * On error seg_len is unspecified and out may have been written.
 */
int ws_offload_segment(const uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h,
		       uint8_t *out, size_t out_stride, size_t out_cap_segments,
		       size_t *seg_len, size_t max_seg_len);

/* ---- RX: decrypted packets -> TUN writes (offload_gro.c) ------------------- */

struct ws_gro_flow {
	uint8_t addr[32];      /* source then destination (4 or 16 bytes each) */
	uint8_t ports[4];
	uint8_t family;        /* 4 or 6 */
	uint8_t proto;         /* WS_PROTO_TCP or WS_PROTO_UDP */
};

struct ws_gro_item {
	const uint8_t *pkt;    /* the caller's packet, or the scratch slot once coalesced */
	uint8_t *slot;         /* scratch slot (NULL until a second segment joins) */
	uint32_t len;
	uint32_t next_seq;     /* TCP: sequence number the next segment must carry */
	uint16_t gso_size;     /* TCP/UDP payload bytes of the first segment */
	uint16_t nseg;
	uint8_t iph_len, l4h_len; /* IP header, TCP header (or 8 for UDP) */
	uint8_t kind;          /* enum in offload_gro.c: other / TCP / UDP candidate */
	uint8_t open;          /* more segments may still be appended */
	uint8_t ecn;           /* first segment carried CWR */
	struct ws_gro_flow flow;
};

struct ws_gro {
	uint8_t *scratch;
	size_t n_slots, slots_used;
	size_t n;                              /* items so far */
	bool udp;                              /* coalesce UDP too (ws_gro_set_udp) */
	uint16_t bucket[WS_GRO_BUCKETS];       /* flow -> latest item + 1 (0: empty) */
	struct ws_gro_item items[WS_GRO_MAX_ITEMS];
};

/*
 * One struct ws_gro per thread (about 20 KiB: allocate it once, with the
 * scratch). Starts an empty batch. scratch holds scratch_cap / WS_GRO_SLOT
 * slots, one per item that coalesces two or more segments; with none left,
 * a packet that could have joined an item starts its own instead (nothing is
 * lost). n / 2 slots cover any n packets (32 slots, 2 MiB, for a batch of
 * 64). scratch may be NULL with scratch_cap 0 (no coalescing). UDP
 * coalescing starts off.
 */
void ws_gro_init(struct ws_gro *g, uint8_t *scratch, size_t scratch_cap);

/*
 * Coalesce UDP datagrams too (on) or not (off, the default). Turn it on only
 * when the TUN accepted TUN_F_USO4 | TUN_F_USO6 in TUNSETOFFLOAD (Linux >=
 * 6.2): an older kernel refuses a UDP_L4 write. Kept across ws_gro_reset;
 * call it between batches (before the first ws_gro_add after a reset).
 */
void ws_gro_set_udp(struct ws_gro *g, bool on);

/* Empty the batch (keeps the scratch). Items from before are invalid after. */
void ws_gro_reset(struct ws_gro *g);

/*
 * Add one IP packet (the caller's bytes stay valid and unchanged until
 * ws_gro_reset: single-packet items point into them). A TCP segment (IPv4
 * without options and with a good header checksum, or IPv6 without
 * extension headers; IP length = len; ACK set, no SYN, FIN,
 * RST or URG; payload >= 1) joins its flow's latest item when it continues
 * it exactly: same addresses and ports, sequence number = the item's next,
 * same ACK number, window and TCP options bytes, the same flags but PSH, no
 * CWR, payload <= the item's segment size (a smaller one, or PSH, closes the
 * item), same TOS/TTL/DF (IPv4) or first word/hop limit (IPv6), total length
 * <= 65535, and a correct TCP checksum (both the item's first segment and
 * this one: a coalesced item gets a fresh partial checksum, so a corrupt
 * segment must never be merged; one that is not merged is written alone and
 * the kernel drops it). Anything else starts a new item, which becomes its
 * flow's latest, so one flow's packets keep their order; items are ordered
 * by their first packet. IPv4 IDs are not compared (as wireguard-go; the
 * kernel's GRO wants them consecutive): should the kernel segment the item
 * again (forwarding), the segments get the first's ID + i.
 *
 * With ws_gro_set_udp on, a UDP datagram (IPv4 without options, not a
 * fragment, with a good header checksum, or IPv6 without extension headers;
 * IP length = len; UDP length = the rest; payload >= 1; a UDP checksum that
 * is present, i.e. not 0, and correct) joins its flow's latest item when:
 * same addresses and ports, that item is a UDP item still open, payload <=
 * the item's first datagram's payload (a smaller one closes the item), same
 * TOS/TTL/DF (IPv4) or first word/hop limit (IPv6), fewer than
 * WS_GRO_UDP_MAX_SEGS datagrams in the item so far, and total length <=
 * 65535. The first datagram's checksum is verified too before anything
 * joins it. TCP and UDP of the same addresses and ports are separate flows.
 * With it off, UDP datagrams are written as they came (as before).
 *
 * Returns 1 when merged, 0 when a new item was started, -ENOSPC when
 * WS_GRO_MAX_ITEMS items exist (nothing done: write the items, reset, add
 * again), -EINVAL for len 0 or len > WS_OFFLOAD_MAX_PKT (drop it).
 */
int ws_gro_add(struct ws_gro *g, const uint8_t *ip_pkt, size_t len);

/* Number of items to write. */
size_t ws_gro_count(const struct ws_gro *g);

/*
 * Item i (0 <= i < count) in order: its vnet header and packet bytes.
 * A single packet: gso NONE, flags 0 (the kernel verifies its checksum; it
 * ignores DATA_VALID on TUN writes), the caller's own bytes.
 * A coalesced item (in scratch, WS_GRO_HEADROOM writable bytes before *pkt):
 * gso TCPV4/TCPV6 (| ECN when the first segment had CWR), gso_size = the
 * first segment's payload, hdr_len = IP + TCP header, NEEDS_CSUM with
 * csum_start = IP header length, csum_offset = 16, the TCP checksum field
 * holding the folded pseudo-header sum, IPv4 total length and header checksum
 * or IPv6 payload length updated, PSH set when the last segment had it.
 * A coalesced UDP item likewise: gso UDP_L4, gso_size = the first
 * datagram's payload, hdr_len = IP header + 8, NEEDS_CSUM with csum_start =
 * IP header length, csum_offset = 6, UDP length = len - IP header, the UDP
 * checksum field holding the folded pseudo-header sum.
 * Returns 0, or -EINVAL when i is out of range.
 */
int ws_gro_item(const struct ws_gro *g, size_t i, struct ws_vnet_hdr *h,
		const uint8_t **pkt, size_t *len);

#endif
