/* SPDX-License-Identifier: MIT */
/*
 * TUN offloads: checksums against a naive RFC 1071 sum, segmentation of GSO
 * super-packets against packets built independently here (headers written
 * field by field, checksums by the naive sum over an explicit pseudo-header),
 * coalescing (round trips, every refusal), and malformed inputs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/offload.h"
#include "test.h"

enum { BIG = 70000, STRIDE = 4096, MAX_SEGS = 80, HEADROOM = 32 };

/* ---- naive checksum and an independent packet builder ------------------------ */

static uint32_t naive_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

static uint16_t naive_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Big-endian value of the checksum as it must appear in the packet. */
static uint16_t naive_csum(const uint8_t *p, size_t n)
{
	return (uint16_t)~naive_fold(naive_add(0, p, n));
}

struct spec {
	int v6, udp;
	size_t ip_opts;  /* IPv4 option bytes (NOPs), a multiple of 4 */
	size_t tcp_opts; /* 0 or 12 (NOP NOP timestamps) */
	uint32_t tsval, tsecr;
	uint8_t flags, tos, ttl, df;
	uint32_t seq, ack, flowlabel;
	uint16_t win, id, sport, dport;
	const uint8_t *pay;
	size_t pay_len;
};

static const uint8_t src4[4] = {10, 0, 0, 1}, dst4[4] = {10, 0, 0, 2};
static const uint8_t src6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t dst6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static uint8_t payload[BIG];

static size_t spec_iph(const struct spec *s)
{
	return s->v6 ? 40 : 20 + s->ip_opts;
}

static size_t spec_l4h(const struct spec *s)
{
	return s->udp ? 8 : 20 + s->tcp_opts;
}

/* Folded pseudo-header sum (big-endian value), built as bytes. */
static uint32_t naive_pseudo(const struct spec *s, size_t l4len)
{
	uint8_t ph[40] = {0};
	size_t n;

	if (s->v6) {
		memcpy(ph, src6, 16);
		memcpy(ph + 16, dst6, 16);
		ph[32] = (uint8_t)(l4len >> 24), ph[33] = (uint8_t)(l4len >> 16);
		ph[34] = (uint8_t)(l4len >> 8), ph[35] = (uint8_t)l4len;
		ph[39] = s->udp ? 17 : 6;
		n = 40;
	} else {
		memcpy(ph, src4, 4);
		memcpy(ph + 4, dst4, 4);
		ph[9] = s->udp ? 17 : 6;
		ph[10] = (uint8_t)(l4len >> 8), ph[11] = (uint8_t)l4len;
		n = 12;
	}
	return naive_add(0, ph, n);
}

enum csum_mode { CS_FULL, CS_PARTIAL };

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16), put16(p + 2, v & 0xffff);
}

static size_t build(uint8_t *out, const struct spec *s, enum csum_mode mode)
{
	size_t iph = spec_iph(s), l4h = spec_l4h(s), len = iph + l4h + s->pay_len;
	uint8_t *l4 = out + iph;
	size_t coff = s->udp ? 6 : 16;
	uint32_t sum;

	memset(out, 0, iph + l4h);
	if (s->v6) {
		out[0] = (uint8_t)(0x60 | s->tos >> 4);
		out[1] = (uint8_t)(s->tos << 4 | ((s->flowlabel >> 16) & 0xf));
		put16(out + 2, s->flowlabel & 0xffff);
		put16(out + 4, (unsigned)(len - 40));
		out[6] = s->udp ? 17 : 6;
		out[7] = s->ttl;
		memcpy(out + 8, src6, 16);
		memcpy(out + 24, dst6, 16);
	} else {
		out[0] = (uint8_t)(0x40 | iph / 4);
		out[1] = s->tos;
		put16(out + 2, (unsigned)len);
		put16(out + 4, s->id);
		out[6] = s->df ? 0x40 : 0;
		out[8] = s->ttl;
		out[9] = s->udp ? 17 : 6;
		memcpy(out + 12, src4, 4);
		memcpy(out + 16, dst4, 4);
		memset(out + 20, 1, s->ip_opts);
		put16(out + 10, naive_csum(out, iph));
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->udp) {
		put16(l4 + 4, (unsigned)(len - iph));
	} else {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(l4h / 4 << 4);
		l4[13] = s->flags;
		put16(l4 + 14, s->win);
		if (s->tcp_opts) {
			l4[20] = 1, l4[21] = 1, l4[22] = 8, l4[23] = 10;
			put32(l4 + 24, s->tsval);
			put32(l4 + 28, s->tsecr);
		}
	}
	memcpy(out + iph + l4h, s->pay, s->pay_len);
	sum = naive_pseudo(s, len - iph);
	if (mode == CS_PARTIAL) {
		put16(l4 + coff, naive_fold(sum));
	} else {
		uint16_t c = (uint16_t)~naive_fold(naive_add(sum, l4, len - iph));

		put16(l4 + coff, s->udp && c == 0 ? 0xffff : c);
	}
	return len;
}

static struct spec tcp4(size_t pay_len)
{
	struct spec s = {.flags = WS_TCP_ACK, .ttl = 64, .df = 1, .seq = 0x12345678,
			 .ack = 0xabcdef01, .win = 502, .id = 0x4242, .sport = 40000,
			 .dport = 5201, .pay = payload, .pay_len = pay_len};
	return s;
}

static struct spec tcp6(size_t pay_len)
{
	struct spec s = tcp4(pay_len);

	s.v6 = 1;
	s.flowlabel = 0x5a5a5;
	return s;
}

/* Does a built or produced packet carry correct checksums (naive check)? */
static int packet_valid(const struct spec *s, const uint8_t *p, size_t len)
{
	size_t iph = spec_iph(s);

	if (!s->v6 && naive_fold(naive_add(0, p, iph)) != 0xffff)
		return 0;
	return naive_fold(naive_add(naive_pseudo(s, len - iph), p + iph, len - iph)) == 0xffff;
}

static void fill_payload(void)
{
	uint64_t st = 0x0ff10adULL;

	for (size_t i = 0; i < BIG; i++)
		payload[i] = (uint8_t)ws_test_rand(&st);
}

/* ---- checksums --------------------------------------------------------------- */

static void test_csum_vs_naive(void)
{
	static uint8_t buf[4200], dst[4200];
	uint64_t st = 1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)ws_test_rand(&st);
	for (int it = 0; it < 3000; it++) {
		size_t off = ws_test_rand(&st) % 8, n = ws_test_rand(&st) % 4100;
		uint16_t got, want;
		uint8_t b[2];

		if (it < 64)
			n = (size_t)it; /* every short length */
		want = naive_csum(buf + off, n);
		ws_csum_put(b, ws_csum_finish(ws_csum_add(buf + off, n, 0)));
		got = (uint16_t)(b[0] << 8 | b[1]);
		CU_ASSERT_EQUAL(got, want);
		/* the copying variant: same sum, same bytes */
		memset(dst, 0, sizeof(dst));
		ws_csum_put(b, ws_csum_finish(ws_csum_copy(dst + off, buf + off, n, 0)));
		CU_ASSERT_EQUAL((uint16_t)(b[0] << 8 | b[1]), want);
		CU_ASSERT_EQUAL(memcmp(dst + off, buf + off, n), 0);
		/* split at an even point: partial sums add up */
		if (n >= 2) {
			size_t k = (ws_test_rand(&st) % n) & ~(size_t)1;
			uint64_t s = ws_csum_add(buf + off + k, n - k, ws_csum_add(buf + off, k, 0));

			ws_csum_put(b, ws_csum_finish(s));
			CU_ASSERT_EQUAL((uint16_t)(b[0] << 8 | b[1]), want);
		}
	}
}

static void test_csum_fold_edges(void)
{
	static const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static uint8_t ff[65536];
	uint8_t b[2];

	CU_ASSERT_EQUAL(ws_csum_fold(0), 0);
	CU_ASSERT_EQUAL(ws_csum_fold(0xffff), 0xffff);
	CU_ASSERT_EQUAL(ws_csum_fold(0x10000), 1);
	CU_ASSERT_EQUAL(ws_csum_fold(UINT64_MAX), 0xffff);
	CU_ASSERT_EQUAL(ws_csum_fold(0xffffffffull), 0xffff);
	CU_ASSERT_EQUAL(ws_csum_fold(0x1234567800000000ull), ws_csum_fold(0x12345678));
	/* a huge running sum still adds with end-around carry */
	CU_ASSERT_EQUAL(ws_csum_fold(ws_csum_add(ones, 8, UINT64_MAX)), 0xffff);
	CU_ASSERT_EQUAL(ws_csum_fold(ws_csum_add(b, 0, 0x1ffff)), 1);
	/* 64 KiB of 0xff: every accumulator near its largest value */
	memset(ff, 0xff, sizeof(ff));
	ws_csum_put(b, ws_csum_finish(ws_csum_add(ff, sizeof(ff), 0)));
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], naive_csum(ff, sizeof(ff)));
	ws_csum_put(b, ws_csum_finish(ws_csum_add(ff, sizeof(ff) - 1, 0)));
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], naive_csum(ff, sizeof(ff) - 1));
}

static void test_csum_pseudo(void)
{
	struct spec s4 = tcp4(0), s6 = tcp6(0);
	uint8_t b[2];

	ws_csum_put(b, ws_csum_fold(ws_csum_pseudo(src4, dst4, 4, 6, 1234)));
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], naive_fold(naive_pseudo(&s4, 1234)));
	ws_csum_put(b, ws_csum_fold(ws_csum_pseudo(src6, dst6, 16, 6, 65000)));
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], naive_fold(naive_pseudo(&s6, 65000)));
	s6.udp = 1;
	ws_csum_put(b, ws_csum_fold(ws_csum_pseudo(src6, dst6, 16, 17, 8)));
	CU_ASSERT_EQUAL(b[0] << 8 | b[1], naive_fold(naive_pseudo(&s6, 8)));
}

static void test_vnet_codec(void)
{
	const uint8_t wire[10] = {1, 0x81, 0x34, 0x12, 0xa8, 0x05, 0x14, 0, 0x10, 0};
	struct ws_vnet_hdr h;
	uint8_t out[10];

	ws_vnet_hdr_decode(wire, &h);
	CU_ASSERT_EQUAL(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	CU_ASSERT_EQUAL(h.hdr_len, 0x1234);
	CU_ASSERT_EQUAL(h.gso_size, 1448);
	CU_ASSERT_EQUAL(h.csum_start, 20);
	CU_ASSERT_EQUAL(h.csum_offset, 16);
	ws_vnet_hdr_encode(&h, out);
	CU_ASSERT_EQUAL(memcmp(out, wire, 10), 0);
	CU_ASSERT_EQUAL(sizeof(struct virtio_net_hdr), WS_VNET_HDR_LEN);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CU_ASSERT_EQUAL(memcmp(&h, wire, 10), 0); /* the kernel's layout */
#endif
}

/* ---- segmentation ------------------------------------------------------------ */

static uint8_t in_buf[BIG], out_buf[HEADROOM + MAX_SEGS * STRIDE], exp_buf[BIG];
static size_t seg_len[MAX_SEGS];

static struct ws_vnet_hdr gso_hdr(const struct spec *s, size_t mss, uint8_t type)
{
	struct ws_vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = type,
				.hdr_len = (uint16_t)(spec_iph(s) + spec_l4h(s)),
				.gso_size = (uint16_t)mss, .csum_start = (uint16_t)spec_iph(s),
				.csum_offset = s->udp ? 6 : 16};
	return h;
}

/* The i-th of n segments, as the kernel's GSO makes it, built from scratch. */
static size_t expect_segment(const struct spec *s, size_t mss, size_t i, size_t n, uint8_t *out)
{
	struct spec e = *s;
	size_t off = i * mss;

	e.pay = s->pay + off;
	e.pay_len = s->pay_len - off < mss ? s->pay_len - off : mss;
	if (!s->udp) {
		e.seq = s->seq + (uint32_t)off;
		if (i + 1 < n)
			e.flags &= (uint8_t)~(WS_TCP_FIN | WS_TCP_PSH);
		if (i > 0)
			e.flags &= (uint8_t)~WS_TCP_CWR;
	}
	if (!s->v6)
		e.id = (uint16_t)(s->id + i);
	return build(out, &e, CS_FULL);
}

/* Segment the super-packet of s; check every segment byte for byte and that
 * nothing outside the segments was written. Returns the segment count. */
static int check_tso(const struct spec *s, size_t mss, uint8_t type)
{
	struct ws_vnet_hdr h = gso_hdr(s, mss, type);
	size_t len = build(in_buf, s, CS_PARTIAL), want = (s->pay_len + mss - 1) / mss;
	size_t max_seg = spec_iph(s) + spec_l4h(s) + mss;
	int n;

	memset(out_buf, 0xa5, sizeof(out_buf));
	n = ws_offload_segment(in_buf, len, &h, out_buf + HEADROOM, STRIDE, MAX_SEGS, seg_len,
			       max_seg);
	CU_ASSERT_EQUAL_FATAL(n, (int)want);
	for (size_t i = 0; i < want; i++) {
		uint8_t *seg = out_buf + HEADROOM + i * STRIDE;
		size_t el = expect_segment(s, mss, i, want, exp_buf);

		CU_ASSERT_EQUAL(seg_len[i], el);
		CU_ASSERT_EQUAL(memcmp(seg, exp_buf, el), 0);
		CU_ASSERT_TRUE(packet_valid(s, seg, seg_len[i]));
		for (size_t k = seg_len[i]; k < STRIDE; k++)
			if (seg[k] != 0xa5) {
				CU_FAIL("byte written past a segment");
				break;
			}
	}
	for (size_t k = 0; k < HEADROOM; k++)
		CU_ASSERT_EQUAL(out_buf[k], 0xa5);
	return n;
}

static void test_tso_v4_plain(void)
{
	struct spec s = tcp4(10000);

	s.flags = WS_TCP_ACK | WS_TCP_PSH;
	CU_ASSERT_EQUAL(check_tso(&s, 1448, VIRTIO_NET_HDR_GSO_TCPV4), 7);
}

static void test_tso_v4_timestamps_fin_ipopts(void)
{
	struct spec s = tcp4(5000);

	s.tcp_opts = 12, s.tsval = 0x01020304, s.tsecr = 0x0a0b0c0d;
	s.ip_opts = 8;
	s.flags = WS_TCP_ACK | WS_TCP_PSH | WS_TCP_FIN;
	s.tos = 0x10;
	CU_ASSERT_EQUAL(check_tso(&s, 1200, VIRTIO_NET_HDR_GSO_TCPV4), 5);
}

static void test_tso_v4_ecn_cwr(void)
{
	struct spec s = tcp4(4000);

	s.flags = WS_TCP_ACK | WS_TCP_CWR | WS_TCP_ECE | WS_TCP_PSH;
	s.tos = 0x02; /* ECT(0) */
	CU_ASSERT_EQUAL(check_tso(&s, 1000, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN), 4);
}

static void test_tso_v6(void)
{
	struct spec s = tcp6(65000);

	s.flags = WS_TCP_ACK | WS_TCP_PSH;
	s.tcp_opts = 12, s.tsval = 77, s.tsecr = 88;
	CU_ASSERT_EQUAL(check_tso(&s, 1428, VIRTIO_NET_HDR_GSO_TCPV6), 46);
	s.flags |= WS_TCP_CWR | WS_TCP_FIN;
	s.pay_len = 3000;
	CU_ASSERT_EQUAL(check_tso(&s, 1000, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN), 3);
}

static void test_tso_sizes_and_wraps(void)
{
	struct spec s = tcp4(4 * 1448);

	CU_ASSERT_EQUAL(check_tso(&s, 1448, VIRTIO_NET_HDR_GSO_TCPV4), 4); /* exact multiple */
	s.pay_len = 100;
	CU_ASSERT_EQUAL(check_tso(&s, 1448, VIRTIO_NET_HDR_GSO_TCPV4), 1); /* one segment */
	s.pay_len = 1;
	CU_ASSERT_EQUAL(check_tso(&s, 1, VIRTIO_NET_HDR_GSO_TCPV4), 1);
	s.pay_len = 64;
	CU_ASSERT_EQUAL(check_tso(&s, 1, VIRTIO_NET_HDR_GSO_TCPV4), 64); /* tiny mss */
	s.pay_len = 9000;
	s.seq = 0xfffff000u; /* sequence numbers wrap */
	s.id = 0xfffe;       /* and IPv4 IDs */
	CU_ASSERT_EQUAL(check_tso(&s, 1448, VIRTIO_NET_HDR_GSO_TCPV4), 7);
	s.pay_len = 65535 - 40; /* the largest IPv4 packet */
	CU_ASSERT_EQUAL(check_tso(&s, 1460, VIRTIO_NET_HDR_GSO_TCPV4), 45);
}

static void test_uso(void)
{
	struct spec s = tcp4(3000);

	s.udp = 1;
	CU_ASSERT_EQUAL(check_tso(&s, 1200, VIRTIO_NET_HDR_GSO_UDP_L4), 3);
	s.v6 = 1;
	s.pay_len = 8000;
	CU_ASSERT_EQUAL(check_tso(&s, 1400, VIRTIO_NET_HDR_GSO_UDP_L4), 6);
}

/* A UDP datagram whose checksum comes out 0 must carry 0xffff (RFC 768). */
static void test_uso_zero_checksum(void)
{
	static uint8_t pay[64];
	struct spec s = tcp4(sizeof(pay));
	struct ws_vnet_hdr h;
	uint32_t sum;
	size_t len;

	s.udp = 1;
	s.pay = pay;
	memset(pay, 0x33, sizeof(pay));
	pay[62] = pay[63] = 0;
	len = build(in_buf, &s, CS_FULL);
	in_buf[20 + 6] = in_buf[20 + 7] = 0;
	/* make the sum over pseudo-header + datagram exactly 0xffff */
	sum = naive_fold(naive_add(naive_pseudo(&s, len - 20), in_buf + 20, len - 20));
	put16(pay + 62, (uint16_t)~sum);
	len = build(in_buf, &s, CS_PARTIAL);
	h = gso_hdr(&s, 1000, VIRTIO_NET_HDR_GSO_UDP_L4);
	CU_ASSERT_EQUAL_FATAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), 1);
	CU_ASSERT_EQUAL(out_buf[26], 0xff);
	CU_ASSERT_EQUAL(out_buf[27], 0xff);
	CU_ASSERT_TRUE(packet_valid(&s, out_buf, seg_len[0]));
	/* the same through NONE + NEEDS_CSUM */
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), 0);
	CU_ASSERT_EQUAL(in_buf[26], 0xff);
	CU_ASSERT_EQUAL(in_buf[27], 0xff);
}

/* The kernel's hdr_len is a hint (skb_headlen): any value gives the same result. */
static void test_tso_hdr_len_ignored(void)
{
	static uint8_t ref[4 * 2048];
	struct spec s = tcp4(4000);
	struct ws_vnet_hdr h = gso_hdr(&s, 1000, VIRTIO_NET_HDR_GSO_TCPV4);
	size_t len = build(in_buf, &s, CS_PARTIAL);
	const uint16_t hints[] = {0, 1, 54, 1054, (uint16_t)len, 65535};

	CU_ASSERT_EQUAL_FATAL(ws_offload_segment(in_buf, len, &h, ref, 2048, 4, seg_len, 2048), 4);
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		h.hdr_len = hints[i];
		memset(out_buf, 0, 4 * 2048);
		CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 2048, 4, seg_len, 2048), 4);
		CU_ASSERT_EQUAL(memcmp(out_buf, ref, sizeof(ref)), 0);
	}
	/* a GSO packet without NEEDS_CSUM (csum fields 0): headers come from the packet */
	h.flags = 0, h.csum_start = 0, h.csum_offset = 0;
	memset(out_buf, 0, 4 * 2048);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 2048, 4, seg_len, 2048), 4);
	CU_ASSERT_EQUAL(memcmp(out_buf, ref, sizeof(ref)), 0);
}

static void test_tso_output_limits(void)
{
	struct spec s = tcp4(10000);
	struct ws_vnet_hdr h = gso_hdr(&s, 1448, VIRTIO_NET_HDR_GSO_TCPV4);
	size_t len = build(in_buf, &s, CS_PARTIAL);

	memset(out_buf, 0xa5, 8 * 2048);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 2048, 6, seg_len, 2048), -ENOSPC);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 2048, 0, seg_len, 2048), -ENOSPC);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 2048, 7, seg_len, 1487), -EMSGSIZE);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 1000, 7, seg_len, 2048), -EINVAL);
	for (size_t k = 0; k < 8 * 2048; k++)
		if (out_buf[k] != 0xa5) {
			CU_FAIL("a refused call wrote output");
			break;
		}
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, 1488, 7, seg_len, 1488), 7);
	CU_ASSERT_EQUAL(seg_len[0], 1488);
	CU_ASSERT_EQUAL(seg_len[6], 40 + 10000 - 6 * 1448);
}

/* NEEDS_CSUM on a plain packet: completed in the copy (and in place). */
static void test_none_needs_csum(void)
{
	struct spec specs[3] = {tcp4(333), tcp6(1200), tcp4(77)};

	specs[2].udp = 1;
	specs[1].tcp_opts = 12;
	for (int i = 0; i < 3; i++) {
		struct spec *s = &specs[i];
		struct ws_vnet_hdr h = gso_hdr(s, 0, VIRTIO_NET_HDR_GSO_NONE);
		size_t want_len = build(exp_buf, s, CS_FULL), len = build(in_buf, s, CS_PARTIAL);

		CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), 1);
		CU_ASSERT_EQUAL(seg_len[0], want_len);
		CU_ASSERT_EQUAL(memcmp(out_buf, exp_buf, want_len), 0);
		CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), 0);
		CU_ASSERT_EQUAL(memcmp(in_buf, exp_buf, want_len), 0);
		/* without NEEDS_CSUM: an exact copy, nothing completed */
		len = build(in_buf, s, CS_PARTIAL);
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
		CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), 1);
		CU_ASSERT_EQUAL(memcmp(out_buf, in_buf, len), 0);
		CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), 0);
		CU_ASSERT_EQUAL(memcmp(out_buf, in_buf, len), 0);
	}
}

static void test_none_bounds(void)
{
	struct spec s = tcp4(10);
	struct ws_vnet_hdr h = gso_hdr(&s, 0, VIRTIO_NET_HDR_GSO_NONE);
	size_t len = build(in_buf, &s, CS_PARTIAL); /* 50 bytes */

	h.csum_start = (uint16_t)(len - 2), h.csum_offset = 0; /* the last two bytes: fine */
	CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), 0);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), 1);
	h.csum_offset = 1;
	CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), -EINVAL);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), -EINVAL);
	h.csum_start = (uint16_t)(len + 1), h.csum_offset = 0;
	CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), -EINVAL);
	h.csum_start = 20, h.csum_offset = 65535;
	CU_ASSERT_EQUAL(ws_offload_complete_csum(in_buf, len, &h), -EINVAL);
	h.csum_start = 65535, h.csum_offset = 65535;
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), -EINVAL);
	h.flags = 0;
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, STRIDE), 1);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 1, seg_len, len - 1),
			-EMSGSIZE);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, len, &h, out_buf, STRIDE, 0, seg_len, STRIDE), -ENOSPC);
	CU_ASSERT_EQUAL(ws_offload_segment(in_buf, 0, &h, out_buf, STRIDE, 1, seg_len, STRIDE), -EINVAL);
}

static int seg(const uint8_t *p, size_t len, const struct ws_vnet_hdr *h)
{
	return ws_offload_segment(p, len, h, out_buf, STRIDE, MAX_SEGS, seg_len, STRIDE);
}

/* Every truncation of valid GSO packets is refused, with the IP length left
 * as it was and with it rewritten to match the cut. */
static void test_tso_truncations(void)
{
	struct spec specs[4] = {tcp4(3000), tcp6(3000), tcp4(3000), tcp6(3000)};
	const uint8_t types[4] = {VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
				  VIRTIO_NET_HDR_GSO_UDP_L4, VIRTIO_NET_HDR_GSO_UDP_L4};

	specs[0].tcp_opts = 12, specs[0].ip_opts = 4;
	specs[2].udp = specs[3].udp = 1;
	for (int i = 0; i < 4; i++) {
		struct ws_vnet_hdr h = gso_hdr(&specs[i], 1000, types[i]);
		size_t len = build(in_buf, &specs[i], CS_PARTIAL);
		size_t iph = spec_iph(&specs[i]), hdr = iph + spec_l4h(&specs[i]);

		CU_ASSERT_EQUAL(seg(in_buf, len, &h), 3);
		for (size_t cut = 0; cut < len; cut++)
			if (seg(in_buf, cut, &h) != -EINVAL) {
				CU_FAIL("truncated GSO packet accepted");
				break;
			}
		/* consistent IP length, but the transport header or payload cut away */
		for (size_t cut = iph; cut <= hdr; cut++) {
			build(in_buf, &specs[i], CS_PARTIAL);
			if (specs[i].v6)
				put16(in_buf + 4, (unsigned)(cut - 40));
			else
				put16(in_buf + 2, (unsigned)cut);
			if (seg(in_buf, cut, &h) != -EINVAL) {
				CU_FAIL("GSO packet without payload or whole header accepted");
				break;
			}
		}
	}
}

static void test_tso_malformed(void)
{
	struct spec s = tcp4(3000), s6 = tcp6(3000), u = tcp4(3000);
	struct ws_vnet_hdr h = gso_hdr(&s, 1000, VIRTIO_NET_HDR_GSO_TCPV4), h2;
	size_t len = build(in_buf, &s, CS_PARTIAL);
	const uint8_t bad_types[] = {2, 3, 6, 0x7f, VIRTIO_NET_HDR_GSO_ECN};

	CU_ASSERT_EQUAL(seg(in_buf, len, &h), 3);
	h2 = h, h2.gso_size = 0;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.csum_start = 24;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.csum_start = 0;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.csum_offset = 6;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.csum_offset = 65535;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		h2 = h, h2.gso_type = bad_types[i];
		CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	}
	h2 = h, h2.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* version mismatch */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4; /* protocol mismatch */
	h2.csum_offset = 6;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	in_buf[6] |= 0x20; /* MF: a fragment */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	in_buf[6] &= 0xdf, in_buf[7] = 1; /* a fragment offset */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	len = build(in_buf, &s, CS_PARTIAL);
	in_buf[0] = 0x44; /* IHL 4 */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	in_buf[0] = 0x55; /* IHL 5, version 5 */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	len = build(in_buf, &s, CS_PARTIAL);
	in_buf[20 + 12] = 0x40; /* TCP data offset 4 */
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	in_buf[20 + 12] = 0xf0; /* 60 bytes: fine, options are then payload-less garbage */
	h2 = h, h2.gso_size = 1;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -ENOSPC); /* 2960 segments */
	/* IPv6: an extension header (hop-by-hop) is refused; lengths must agree */
	len = build(in_buf, &s6, CS_PARTIAL);
	h = gso_hdr(&s6, 1000, VIRTIO_NET_HDR_GSO_TCPV6);
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), 3);
	in_buf[6] = 0;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	in_buf[6] = 6, put16(in_buf + 4, (unsigned)(len - 39));
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
	/* UDP: ECN makes no sense; IPv4 total length must agree */
	u.udp = 1;
	len = build(in_buf, &u, CS_PARTIAL);
	h = gso_hdr(&u, 1000, VIRTIO_NET_HDR_GSO_UDP_L4);
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), 3);
	h2 = h, h2.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	h2 = h, h2.csum_offset = 16;
	CU_ASSERT_EQUAL(seg(in_buf, len, &h2), -EINVAL);
	put16(in_buf + 2, (unsigned)(len + 1));
	CU_ASSERT_EQUAL(seg(in_buf, len, &h), -EINVAL);
}

/* ---- coalescing -------------------------------------------------------------- */

static struct ws_gro gro;
static uint8_t *scratch;
enum { SCRATCH_SLOTS = 40, NPKT = 400 };
static uint8_t pkts[NPKT][2048];
static size_t pkt_len[NPKT];

static void gro_fresh(size_t slots)
{
	ws_gro_init(&gro, scratch, slots * WS_GRO_SLOT);
}

/* Segment s with mss into pkts[0..] (the packets a peer's kernel sends). */
static size_t make_segments(const struct spec *s, size_t mss, uint8_t type)
{
	struct ws_vnet_hdr h = gso_hdr(s, mss, type);
	size_t len = build(in_buf, s, CS_PARTIAL);
	int n = ws_offload_segment(in_buf, len, &h, pkts[0], sizeof(pkts[0]), NPKT, pkt_len, 2048);

	CU_ASSERT_FATAL(n > 0);
	return (size_t)n;
}

/* One item covering all of s: the vnet header and bytes the kernel expects. */
static void check_round_trip(const struct spec *s, size_t mss)
{
	uint8_t type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	size_t n = make_segments(s, mss, type), len, iph = spec_iph(s);
	struct ws_vnet_hdr h;
	const uint8_t *p;
	int r;

	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i > 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 1);
	CU_ASSERT_EQUAL(ws_gro_item(&gro, 0, &h, &p, &len), 0);
	CU_ASSERT_EQUAL(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CU_ASSERT_EQUAL(h.gso_type, type | (s->flags & WS_TCP_CWR ? VIRTIO_NET_HDR_GSO_ECN : 0));
	CU_ASSERT_EQUAL(h.gso_size, mss);
	CU_ASSERT_EQUAL(h.hdr_len, iph + spec_l4h(s));
	CU_ASSERT_EQUAL(h.csum_start, iph);
	CU_ASSERT_EQUAL(h.csum_offset, 16);
	/* the original super-packet exactly: lengths, IPv4 ID and header
	 * checksum, flags, and the pseudo-header sum in the TCP checksum field */
	CU_ASSERT_EQUAL_FATAL(len, build(exp_buf, s, CS_PARTIAL));
	CU_ASSERT_EQUAL(memcmp(p, exp_buf, len), 0);
	/* and segmenting it again gives the very same packets */
	r = ws_offload_segment(p, len, &h, out_buf, STRIDE, MAX_SEGS, seg_len, STRIDE);
	CU_ASSERT_EQUAL_FATAL(r, (int)n);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(seg_len[i], pkt_len[i]);
		CU_ASSERT_EQUAL(memcmp(out_buf + i * STRIDE, pkts[i], pkt_len[i]), 0);
	}
}

static void test_gro_round_trip(void)
{
	struct spec s = tcp4(20000), s6 = tcp6(30000);

	s.flags = WS_TCP_ACK | WS_TCP_PSH;
	check_round_trip(&s, 1448);
	s.tcp_opts = 12, s.tsval = 1000, s.tsecr = 2000;
	check_round_trip(&s, 1436);
	s.flags = WS_TCP_ACK | WS_TCP_CWR | WS_TCP_ECE;
	check_round_trip(&s, 1000);
	s.pay_len = 65535 - 20 - 32; /* the largest item */
	check_round_trip(&s, 1448);
	check_round_trip(&s6, 1428);
	s6.tcp_opts = 12, s6.flags = WS_TCP_ACK | WS_TCP_PSH | WS_TCP_CWR;
	check_round_trip(&s6, 1208);
	s6.pay_len = 1001; /* one full segment and a 1-byte tail */
	check_round_trip(&s6, 1000);
}

static void test_gro_single_and_other(void)
{
	struct spec s = tcp4(500), u = tcp4(100);
	size_t n1 = build(pkts[0], &s, CS_FULL), n2, n3;
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	u.udp = 1;
	n2 = build(pkts[1], &u, CS_FULL);
	n3 = 28;
	memcpy(pkts[2], pkts[1], 28);
	pkts[2][9] = 1; /* ICMP */
	gro_fresh(SCRATCH_SLOTS);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], n1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], n2), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[2], n3), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], n2), 0); /* the same UDP again */
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 4);
	for (size_t i = 0; i < 4; i++) {
		const uint8_t *want = pkts[i == 3 ? 1 : i];

		CU_ASSERT_EQUAL(ws_gro_item(&gro, i, &h, &p, &len), 0);
		CU_ASSERT_PTR_EQUAL(p, want); /* zero copy */
		CU_ASSERT_EQUAL(h.flags, 0);
		CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		CU_ASSERT_EQUAL(h.gso_size, 0);
		CU_ASSERT_EQUAL(h.hdr_len, 0);
	}
	CU_ASSERT_EQUAL(ws_gro_item(&gro, 4, &h, &p, &len), -EINVAL);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, in_buf, 65536), -EINVAL);
	ws_gro_reset(&gro);
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 0);
	CU_ASSERT_EQUAL(ws_gro_item(&gro, 0, &h, &p, &len), -EINVAL);
}

/* A pair of 1000-byte segments, the second changed by mut: merged or not? */
struct pair_case {
	const char *name;
	/* called twice: on the specs before building (p NULL), then on the
	 * built second packet (spec changes are then without effect) */
	void (*mut)(struct spec *first, struct spec *second, uint8_t *p2, size_t *len2);
	size_t items;
	int v4only;
};

static void m_none(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)b, (void)p, (void)l;
}
static void m_seq_gap(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->seq += 1;
}
static void m_seq_back(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->seq -= 1000; /* a retransmission */
}
static void m_port(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->sport++;
}
static void m_ack(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->ack++;
}
static void m_win(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->win++;
}
static void m_tsval(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)p, (void)l, a->tcp_opts = b->tcp_opts = 12, b->tsval++;
}
static void m_optlen(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->tcp_opts = 12;
}
static void m_ts_same(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)p, (void)l, a->tcp_opts = b->tcp_opts = 12, a->tsval = b->tsval = 5;
}
static void m_bigger(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->pay_len = 1001;
}
static void m_smaller(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->pay_len = 999;
}
static void m_first_psh(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)b, (void)p, (void)l, a->flags |= WS_TCP_PSH;
}
static void m_second_psh(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_PSH;
}
static void m_syn(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_SYN;
}
static void m_fin(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_FIN;
}
static void m_rst(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_RST;
}
static void m_urg(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_URG;
}
static void m_no_ack(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)p, (void)l, a->flags = b->flags = WS_TCP_PSH;
}
static void m_cwr_second(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_CWR;
}
static void m_cwr_first(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)b, (void)p, (void)l, a->flags |= WS_TCP_CWR;
}
static void m_ece(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flags |= WS_TCP_ECE;
}
static void m_ece_both(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)p, (void)l, a->flags |= WS_TCP_ECE, b->flags |= WS_TCP_ECE;
}
static void m_ttl(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->ttl--;
}
static void m_tos(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->tos = 3;
}
static void m_df(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->df = 0;
}
static void m_id(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->id = 7; /* not checked, as wireguard-go */
}
static void m_ipopts(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)p, (void)l, a->ip_opts = b->ip_opts = 4;
}
static void m_ipopts_second(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->ip_opts = 4;
}
static void m_bad_csum(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	if (!p)
		return;
	(void)a, (void)b, p[*l - 1] ^= 1;
}
static void m_bad_iphdr_csum(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	if (!p)
		return;
	(void)a, (void)b, (void)l, p[10] ^= 0x80;
}
static void m_ip_len_short(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	if (!p)
		return;
	(void)a, (void)b, p[*l] = 0, (*l)++; /* a trailing byte beyond the IP length */
}
static void m_empty(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->pay_len = 0; /* a pure ACK */
}

static const struct pair_case pair_cases[] = {
	{"in sequence", m_none, 1, 0},
	{"same timestamps", m_ts_same, 1, 0},
	{"smaller last", m_smaller, 1, 0},
	{"PSH on the last", m_second_psh, 1, 0},
	{"CWR on the first", m_cwr_first, 1, 0},
	{"ECE on both", m_ece_both, 1, 0},
	{"IPv4 ID jumps", m_id, 1, 0},
	{"sequence gap", m_seq_gap, 2, 0},
	{"retransmission", m_seq_back, 2, 0},
	{"other flow", m_port, 2, 0},
	{"other ack", m_ack, 2, 0},
	{"other window", m_win, 2, 0},
	{"timestamp changed", m_tsval, 2, 0},
	{"options added", m_optlen, 2, 0},
	{"bigger than the first", m_bigger, 2, 0},
	{"PSH on the first", m_first_psh, 2, 0},
	{"SYN", m_syn, 2, 0},
	{"FIN", m_fin, 2, 0},
	{"RST", m_rst, 2, 0},
	{"URG", m_urg, 2, 0},
	{"no ACK", m_no_ack, 2, 0},
	{"CWR on the second", m_cwr_second, 2, 0},
	{"ECE on the second only", m_ece, 2, 0},
	{"TTL / hop limit", m_ttl, 2, 0},
	{"TOS / traffic class", m_tos, 2, 0},
	{"bad TCP checksum", m_bad_csum, 2, 0},
	{"IP length != packet length", m_ip_len_short, 2, 0},
	{"no payload", m_empty, 2, 0},
	{"DF", m_df, 2, 1},
	{"IP options", m_ipopts, 2, 1},
	{"IP options on the second", m_ipopts_second, 2, 1},
	{"bad IPv4 header checksum", m_bad_iphdr_csum, 2, 1},
};

static void run_pair(const struct pair_case *c, int v6)
{
	struct spec a = v6 ? tcp6(1000) : tcp4(1000), b;
	size_t l1, l2;

	b = a;
	b.pay = payload + 1000, b.seq = a.seq + 1000, b.id = (uint16_t)(a.id + 1);
	c->mut(&a, &b, NULL, NULL);
	l1 = build(pkts[0], &a, CS_FULL);
	l2 = build(pkts[1], &b, CS_FULL);
	c->mut(&a, &b, pkts[1], &l2);
	gro_fresh(SCRATCH_SLOTS);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l2), c->items == 1);
	if (ws_gro_count(&gro) != c->items) {
		CU_FAIL(c->name);
		return;
	}
	if (c->items == 2) { /* both written as they came */
		struct ws_vnet_hdr h;
		const uint8_t *p;
		size_t len;

		ws_gro_item(&gro, 0, &h, &p, &len);
		CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && len == l1 && !memcmp(p, pkts[0], l1));
		ws_gro_item(&gro, 1, &h, &p, &len);
		CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && len == l2 && !memcmp(p, pkts[1], l2));
	}
}

static void test_gro_pairs(void)
{
	for (size_t i = 0; i < sizeof(pair_cases) / sizeof(pair_cases[0]); i++) {
		run_pair(&pair_cases[i], 0);
		if (!pair_cases[i].v4only)
			run_pair(&pair_cases[i], 1);
	}
}

static void m_flowlabel(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->flowlabel++;
}

static void test_gro_v6_fields(void)
{
	const struct pair_case c = {"flow label", m_flowlabel, 2, 0};

	run_pair(&c, 1);
}

/* A smaller segment or PSH closes the item: what follows starts a new one. */
static void test_gro_closing(void)
{
	struct spec s = tcp4(1000);
	const size_t sizes[] = {1000, 1000, 500, 1000, 1000};
	const uint8_t fl[] = {0, 0, 0, WS_TCP_PSH, 0};
	uint32_t seq = s.seq;

	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0, off = 0; i < 5; off += sizes[i], i++) {
		s.pay = payload + off, s.pay_len = sizes[i], s.seq = seq + (uint32_t)off;
		s.flags = WS_TCP_ACK | fl[i];
		pkt_len[i] = build(pkts[i], &s, CS_FULL);
		ws_gro_add(&gro, pkts[i], pkt_len[i]);
	}
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 3); /* [1000 1000 500] [1000+PSH] [1000] */
}

/* Two flows interleaved coalesce separately; a flow's packets stay in order. */
static void test_gro_interleaved_flows(void)
{
	struct spec a = tcp4(1000), b = tcp6(1000);
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0; i < 6; i++) {
		struct spec *s = i % 2 ? &b : &a;

		s->pay = payload + (i / 2) * 1000;
		s->seq = 1000 + (uint32_t)(i / 2) * 1000;
		s->id = (uint16_t)(i / 2);
		pkt_len[i] = build(pkts[i], s, CS_FULL);
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i >= 2);
	}
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 2);
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CU_ASSERT_EQUAL(len, 20 + 20 + 3000);
	ws_gro_item(&gro, 1, &h, &p, &len);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	CU_ASSERT_EQUAL(len, 40 + 20 + 3000);
	CU_ASSERT_EQUAL(memcmp(p + 60, payload, 3000), 0);
	/* a non-candidate of flow a (FIN) becomes a's latest item: the next
	 * in-sequence segment must not jump over it into the first item */
	a.flags = WS_TCP_ACK | WS_TCP_FIN, a.pay_len = 0, a.seq = 4000;
	pkt_len[6] = build(pkts[6], &a, CS_FULL);
	a.flags = WS_TCP_ACK, a.pay_len = 1000;
	pkt_len[7] = build(pkts[7], &a, CS_FULL);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[6], pkt_len[6]), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[7], pkt_len[7]), 0);
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 4);
}

/* A corrupt segment is never merged, nor is anything merged into it. */
static void test_gro_bad_checksums(void)
{
	struct spec s = tcp4(1000);
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0; i < 5; i++) {
		s.pay = payload + i * 1000, s.seq = (uint32_t)(i * 1000), s.id = (uint16_t)i;
		pkt_len[i] = build(pkts[i], &s, CS_FULL);
	}
	pkts[2][100] ^= 0xff; /* corrupt the third */
	for (size_t i = 0; i < 5; i++)
		ws_gro_add(&gro, pkts[i], pkt_len[i]);
	/* [0 1] [2] [3 4]: 3 could continue 2 but 2 is bad */
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 3);
	ws_gro_item(&gro, 1, &h, &p, &len);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CU_ASSERT_EQUAL(h.flags, 0);
	CU_ASSERT_EQUAL(memcmp(p, pkts[2], pkt_len[2]), 0);
	ws_gro_item(&gro, 2, &h, &p, &len);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CU_ASSERT_EQUAL(len, 40 + 2000);
	/* corrupt first segment: its item takes nothing */
	gro_fresh(SCRATCH_SLOTS);
	pkts[2][100] ^= 0xff, pkts[0][100] ^= 0xff;
	for (size_t i = 0; i < 5; i++)
		ws_gro_add(&gro, pkts[i], pkt_len[i]);
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 2);
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && len == pkt_len[0]);
	CU_ASSERT_EQUAL(memcmp(p, pkts[0], len), 0);
	pkts[0][100] ^= 0xff;
}

/* 64 KiB cap: the segment that would cross it starts a new item. */
static void test_gro_size_cap(void)
{
	struct spec s = tcp4(1448);
	size_t total = 0, len;
	struct ws_vnet_hdr h;
	const uint8_t *p;

	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0; i < 46; i++) {
		s.pay = payload + i * 1448, s.seq = 7 + (uint32_t)(i * 1448), s.id = (uint16_t)i;
		pkt_len[i] = build(pkts[i], &s, CS_FULL);
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i > 0 && i < 45);
	}
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 2);
	for (size_t i = 0; i < 2; i++) {
		ws_gro_item(&gro, i, &h, &p, &len);
		CU_ASSERT(len <= 65535);
		CU_ASSERT_EQUAL(memcmp(p + 40, payload + total, len - 40), 0);
		total += len - 40;
	}
	CU_ASSERT_EQUAL(total, 46 * 1448);
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT_EQUAL(len, 40 + 45 * 1448); /* 45 fit, the 46th would pass 65535 */
}

static void test_gro_capacity(void)
{
	struct spec u = tcp4(10), s = tcp4(1000);
	size_t lu, l1, l2;

	u.udp = 1;
	lu = build(pkts[0], &u, CS_FULL);
	l1 = build(pkts[1], &s, CS_FULL);
	s.pay = payload + 1000, s.seq += 1000, s.id++;
	l2 = build(pkts[2], &s, CS_FULL);
	gro_fresh(SCRATCH_SLOTS);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l1), 0);
	for (size_t i = 1; i < WS_GRO_MAX_ITEMS; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], lu), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], lu), -ENOSPC); /* a new item: full */
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[2], l2), 1);       /* a merge still fits */
	CU_ASSERT_EQUAL(ws_gro_count(&gro), WS_GRO_MAX_ITEMS);
	/* scratch: one slot for two flows; no scratch at all */
	struct spec b = tcp6(1000);
	size_t lb1 = build(pkts[3], &b, CS_FULL);
	b.pay = payload + 1000, b.seq += 1000;
	size_t lb2 = build(pkts[4], &b, CS_FULL);
	gro_fresh(1);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[3], lb1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[2], l2), 1);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[4], lb2), 0); /* no slot left */
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 3);
	ws_gro_init(&gro, NULL, 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[2], l2), 0);
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 2);
	/* slots are reused after a reset */
	gro_fresh(1);
	for (int round = 0; round < 3; round++) {
		ws_gro_reset(&gro);
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l1), 0);
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[2], l2), 1);
	}
}

/* ---- UDP coalescing ------------------------------------------------------------ */

static struct spec udp4(size_t pay_len)
{
	struct spec s = tcp4(pay_len);

	s.udp = 1;
	return s;
}

static struct spec udp6(size_t pay_len)
{
	struct spec s = tcp6(pay_len);

	s.udp = 1;
	return s;
}

/* n datagrams of s, payload size each (the last of size last), consecutive
 * IPv4 IDs: the datagrams a peer's kernel sends for one USO write. */
static void make_datagrams(const struct spec *s, size_t n, size_t size, size_t last)
{
	struct spec d = *s;

	for (size_t i = 0; i < n; i++) {
		d.pay = payload + i * size;
		d.pay_len = i + 1 < n ? size : last;
		d.id = (uint16_t)(s->id + i);
		pkt_len[i] = build(pkts[i], &d, CS_FULL);
	}
}

/* Coalesced UDP item i: the USO super-packet the kernel expects, byte for
 * byte, and segmenting it gives back input packets first.. exactly. */
static void check_udp_item(size_t i, const struct spec *s, size_t first, size_t nseg,
			   size_t size, size_t last)
{
	struct spec e = *s;
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len, iph = spec_iph(s);
	int r;

	CU_ASSERT_EQUAL_FATAL(ws_gro_item(&gro, i, &h, &p, &len), 0);
	CU_ASSERT_EQUAL(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	CU_ASSERT_EQUAL(h.gso_size, size);
	CU_ASSERT_EQUAL(h.hdr_len, iph + 8);
	CU_ASSERT_EQUAL(h.csum_start, iph);
	CU_ASSERT_EQUAL(h.csum_offset, 6);
	e.pay = payload + first * size;
	e.pay_len = (nseg - 1) * size + last;
	e.id = (uint16_t)(s->id + first);
	CU_ASSERT_EQUAL_FATAL(len, build(exp_buf, &e, CS_PARTIAL));
	CU_ASSERT_EQUAL(memcmp(p, exp_buf, len), 0);
	r = ws_offload_segment(p, len, &h, out_buf, STRIDE, MAX_SEGS, seg_len, STRIDE);
	CU_ASSERT_EQUAL_FATAL(r, (int)nseg);
	for (size_t k = 0; k < nseg; k++) {
		CU_ASSERT_EQUAL(seg_len[k], pkt_len[first + k]);
		CU_ASSERT_EQUAL(memcmp(out_buf + k * STRIDE, pkts[first + k], seg_len[k]), 0);
	}
}

static void udp_round_trip(const struct spec *s, size_t n, size_t size, size_t last)
{
	make_datagrams(s, n, size, last);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i > 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 1);
	check_udp_item(0, s, 0, n, size, last);
}

static void test_gro_udp_round_trip(void)
{
	struct spec s = udp4(0), s6 = udp6(0);

	udp_round_trip(&s, 20, 64, 64); /* iperf3 -u -l 64 */
	udp_round_trip(&s, 2, 1, 1);
	udp_round_trip(&s, 10, 1472, 100);
	s.tos = 0x2e << 2, s.ttl = 1, s.df = 0, s.id = 0xfff0; /* the ID wraps */
	udp_round_trip(&s, 40, 1000, 999);
	udp_round_trip(&s6, 20, 64, 64);
	udp_round_trip(&s6, 64, 1000, 24);
	s6.tos = 0xb8, s6.flowlabel = 0xfffff, s6.ttl = 255;
	udp_round_trip(&s6, 5, 1452, 1);
}

/* Off by default: every datagram is written as it came, and after a reset
 * the setting stays. */
static void test_gro_udp_off(void)
{
	struct spec s = udp4(0);
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	make_datagrams(&s, 8, 64, 64);
	gro_fresh(SCRATCH_SLOTS);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 8);
	for (size_t i = 0; i < 8; i++) {
		ws_gro_item(&gro, i, &h, &p, &len);
		CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && h.flags == 0);
		CU_ASSERT_PTR_EQUAL(p, pkts[i]);
	}
	ws_gro_set_udp(&gro, true);
	ws_gro_reset(&gro);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i > 0);
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 1);
	ws_gro_set_udp(&gro, false);
	ws_gro_reset(&gro);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), 0);
	/* init turns it off again */
	ws_gro_set_udp(&gro, true);
	gro_fresh(SCRATCH_SLOTS);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], pkt_len[0]), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], pkt_len[1]), 0);
}

static void u_udp_len(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	if (!p)
		return;
	(void)a, (void)b, (void)l;
	p[spec_iph(b) + 5]--; /* UDP length one short, checksum fixed */
	p[spec_iph(b) + 7]++;
}
static void u_zero_csum(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	if (!p)
		return;
	(void)a, (void)l, p[spec_iph(b) + 6] = p[spec_iph(b) + 7] = 0; /* "no checksum" */
}
static void u_tcp(struct spec *a, struct spec *b, uint8_t *p, size_t *l)
{
	(void)a, (void)p, (void)l, b->udp = 0; /* TCP, same addresses and ports */
}

static const struct pair_case udp_cases[] = {
	{"same size", m_none, 1, 0},
	{"smaller last", m_smaller, 1, 0},
	{"IPv4 ID jumps", m_id, 1, 0},
	{"other flow", m_port, 2, 0},
	{"bigger than the first", m_bigger, 2, 0},
	{"TTL / hop limit", m_ttl, 2, 0},
	{"TOS / traffic class", m_tos, 2, 0},
	{"bad UDP checksum", m_bad_csum, 2, 0},
	{"no UDP checksum", u_zero_csum, 2, 0},
	{"UDP length != IP payload", u_udp_len, 2, 0},
	{"IP length != packet length", m_ip_len_short, 2, 0},
	{"no payload", m_empty, 2, 0},
	{"TCP on the same ports", u_tcp, 2, 0},
	{"flow label", m_flowlabel, 2, 0},
	{"DF", m_df, 2, 1},
	{"IP options", m_ipopts, 2, 1},
	{"IP options on the second", m_ipopts_second, 2, 1},
	{"bad IPv4 header checksum", m_bad_iphdr_csum, 2, 1},
};

static void run_udp_pair(const struct pair_case *c, int v6)
{
	struct spec a = v6 ? udp6(1000) : udp4(1000), b;
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t l1, l2, len;

	b = a;
	b.pay = payload + 1000, b.id = (uint16_t)(a.id + 1);
	c->mut(&a, &b, NULL, NULL);
	l1 = build(pkts[0], &a, CS_FULL);
	l2 = build(pkts[1], &b, CS_FULL);
	c->mut(&a, &b, pkts[1], &l2);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l2), c->items == 1);
	if (ws_gro_count(&gro) != c->items) {
		CU_FAIL(c->name);
		return;
	}
	if (c->items == 1) {
		ws_gro_item(&gro, 0, &h, &p, &len);
		CU_ASSERT_EQUAL(len, l1 + l2 - spec_iph(&a) - 8);
		CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
		return;
	}
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && len == l1 && !memcmp(p, pkts[0], l1));
	ws_gro_item(&gro, 1, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && len == l2 && !memcmp(p, pkts[1], l2));
	/* the reverse: a bad (or different) first datagram takes nothing */
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l2), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], l1), c->mut == m_bigger);
}

static void test_gro_udp_pairs(void)
{
	for (size_t i = 0; i < sizeof(udp_cases) / sizeof(udp_cases[0]); i++) {
		if (udp_cases[i].mut != m_flowlabel)
			run_udp_pair(&udp_cases[i], 0);
		if (!udp_cases[i].v4only)
			run_udp_pair(&udp_cases[i], 1);
	}
}

/* "No checksum" (0, IPv4) is not merged even when the datagram's true
 * checksum would be 0 (sent as 0xffff), where a sum check alone passes. */
static void test_gro_udp_no_checksum(void)
{
	static uint8_t pay[1000];
	struct spec a = udp4(1000), b = udp4(1000);
	size_t l1, l2, off = 20 + 6;
	uint32_t sum;

	memcpy(pay, payload + 1000, sizeof(pay));
	pay[998] = pay[999] = 0;
	b.pay = pay, b.id = (uint16_t)(a.id + 1);
	l2 = build(pkts[1], &b, CS_FULL);
	pkts[1][off] = pkts[1][off + 1] = 0;
	sum = naive_fold(naive_add(naive_pseudo(&b, l2 - 20), pkts[1] + 20, l2 - 20));
	put16(pay + 998, (uint16_t)~sum); /* now the sum is 0xffff: checksum 0 */
	l1 = build(pkts[0], &a, CS_FULL);
	l2 = build(pkts[1], &b, CS_FULL);
	CU_ASSERT_EQUAL(pkts[1][off], 0xff);
	CU_ASSERT_EQUAL(pkts[1][off + 1], 0xff);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l2), 1); /* 0xffff: merged */
	pkts[1][off] = pkts[1][off + 1] = 0;
	CU_ASSERT(packet_valid(&b, pkts[1], l2)); /* the sum alone still checks out */
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[0], l1), 0);
	CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[1], l2), 0); /* 0: not merged */
	CU_ASSERT_EQUAL(ws_gro_count(&gro), 2);
}

/* A smaller datagram closes the item; a corrupt one is written alone. */
static void test_gro_udp_closing_and_corrupt(void)
{
	struct spec s = udp4(0);
	const size_t sizes[] = {64, 64, 32, 64, 64, 64, 64};
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	for (size_t i = 0; i < 7; i++) {
		s.pay = payload + i * 64, s.pay_len = sizes[i], s.id = (uint16_t)i;
		pkt_len[i] = build(pkts[i], &s, CS_FULL);
	}
	pkts[5][40] ^= 0x01; /* corrupt the sixth */
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < 7; i++)
		ws_gro_add(&gro, pkts[i], pkt_len[i]);
	/* [64 64 32] [64 64] [bad] [64] */
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 4);
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && len == 28 + 160);
	ws_gro_item(&gro, 1, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && len == 28 + 128);
	ws_gro_item(&gro, 2, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && p == pkts[5]);
	ws_gro_item(&gro, 3, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE && p == pkts[6]);
}

/* At most 64 datagrams, and at most 65535 bytes, per item. */
static void test_gro_udp_caps(void)
{
	struct spec s = udp4(0), s6 = udp6(0);

	make_datagrams(&s, 130, 64, 64);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < 130; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i % 64 != 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 3);
	check_udp_item(0, &s, 0, 64, 64, 64);
	check_udp_item(1, &s, 64, 64, 64, 64);
	check_udp_item(2, &s, 128, 2, 64, 64);
	/* 1472-byte payloads: 44 fit in 65535 bytes (28 + 44 * 1472 = 64796) */
	make_datagrams(&s, 47, 1472, 1472);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < 47; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i % 44 != 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 2);
	check_udp_item(0, &s, 0, 44, 1472, 1472);
	check_udp_item(1, &s, 44, 3, 1472, 1472);
	/* IPv6: 1345 * 48 + 48 = 64608 fits, one more datagram does not */
	make_datagrams(&s6, 49, 1345, 1345);
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < 49; i++)
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i % 48 != 0);
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 2);
	check_udp_item(0, &s6, 0, 48, 1345, 1345);
}

/* TCP and UDP flows interleaved, v4 and v6: each coalesces on its own. */
static void test_gro_udp_with_tcp(void)
{
	struct spec t = tcp4(1000), u = udp4(500), u6 = udp6(200);
	struct ws_vnet_hdr h;
	const uint8_t *p;
	size_t len;

	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, true);
	for (size_t i = 0; i < 12; i++) {
		struct spec *s = i % 3 == 0 ? &t : i % 3 == 1 ? &u : &u6;

		s->pay = payload + (i / 3) * 1000;
		s->seq = 1000 + (uint32_t)(i / 3) * 1000;
		s->id = (uint16_t)(i / 3);
		pkt_len[i] = build(pkts[i], s, CS_FULL);
		CU_ASSERT_EQUAL(ws_gro_add(&gro, pkts[i], pkt_len[i]), i >= 3);
	}
	CU_ASSERT_EQUAL_FATAL(ws_gro_count(&gro), 3);
	ws_gro_item(&gro, 0, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && len == 40 + 4000);
	ws_gro_item(&gro, 1, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && len == 28 + 2000 && h.gso_size == 500);
	ws_gro_item(&gro, 2, &h, &p, &len);
	CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 && len == 48 + 800 && h.hdr_len == 48);
}

/* ---- randomized: several flows interleaved, with noise ------------------------- */

struct rflow {
	struct spec s;
	size_t mss, off;
};

/* Where item packets land after re-segmentation, to compare with the input. */
static uint8_t outp[NPKT][2048];
static size_t outp_len[NPKT], item_first[NPKT], src_of[NPKT];

static size_t expand_items(void)
{
	size_t k = 0;

	for (size_t i = 0; i < ws_gro_count(&gro); i++) {
		struct ws_vnet_hdr h;
		const uint8_t *p;
		size_t len;
		int r;

		CU_ASSERT_EQUAL_FATAL(ws_gro_item(&gro, i, &h, &p, &len), 0);
		r = ws_offload_segment(p, len, &h, outp[k], sizeof(outp[0]), NPKT - k, outp_len + k,
				       sizeof(outp[0]));
		CU_ASSERT_FATAL(r >= 1);
		CU_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_NONE || r >= 2);
		item_first[i] = k;
		k += (size_t)r;
	}
	return k;
}

/* Which input packet output packet i is (each input used once); -1: none. */
static int match_input(size_t i, size_t n, uint8_t *used)
{
	for (size_t j = 0; j < n; j++)
		if (!used[j] && pkt_len[j] == outp_len[i] && !memcmp(pkts[j], outp[i], pkt_len[j])) {
			used[j] = 1;
			return (int)j;
		}
	return -1;
}

/* Every input packet comes back exactly once, byte for byte; a flow's
 * packets keep their order; items are in the order of their first packet. */
static void check_expansion(size_t n)
{
	static uint8_t used[NPKT];
	size_t k = expand_items(), last[11] = {0};

	CU_ASSERT_EQUAL_FATAL(k, n);
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < k; i++) {
		int j = match_input(i, n, used);
		size_t iph = outp[i][0] >> 4 == 4 ? 20 : 40;
		int udp = outp[i][iph == 20 ? 9 : 6] == 17;
		size_t f = (size_t)(ws_be16(outp[i] + iph) - 1000) + (udp ? 5 : 0);

		if (j < 0) {
			CU_FAIL("an output packet is not an input packet");
			return;
		}
		src_of[i] = (size_t)j;
		CU_ASSERT(last[f] == 0 || (size_t)j + 1 > last[f]);
		last[f] = (size_t)j + 1;
	}
	for (size_t i = 1; i < ws_gro_count(&gro); i++)
		CU_ASSERT(src_of[item_first[i]] > src_of[item_first[i - 1]]);
	CU_ASSERT(ws_gro_count(&gro) < n); /* and some coalescing did happen */
}

static size_t udp_items_seen;

static void count_udp_items(void)
{
	for (size_t i = 0; i < ws_gro_count(&gro); i++) {
		struct ws_vnet_hdr h;
		const uint8_t *p;
		size_t len;

		ws_gro_item(&gro, i, &h, &p, &len);
		udp_items_seen += h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4;
	}
}

/* udp: UDP coalescing on, with more UDP traffic (each flow's datagrams
 * numbered by its own IPv4 ID counter, sometimes short, sometimes corrupt). */
static void random_round(uint64_t *st, int udp)
{
	struct rflow fl[5];
	uint16_t uid[5];
	size_t n = 0;
	const unsigned u_end = udp ? 50 : 21;

	for (int f = 0; f < 5; f++) {
		fl[f].s = f % 2 ? tcp6(0) : tcp4(0);
		fl[f].s.sport = (uint16_t)(1000 + f);
		fl[f].s.seq = (uint32_t)ws_test_rand(st);
		fl[f].s.id = (uint16_t)ws_test_rand(st);
		fl[f].s.tcp_opts = f < 3 ? 12 : 0;
		fl[f].s.tsval = (uint32_t)f;
		fl[f].mss = 200 + ws_test_rand(st) % 1200;
		fl[f].off = 0;
		uid[f] = (uint16_t)ws_test_rand(st);
	}
	gro_fresh(SCRATCH_SLOTS);
	ws_gro_set_udp(&gro, udp);
	while (n < 200) {
		size_t fi = ws_test_rand(st) % 5;
		struct rflow *f = &fl[fi];
		struct spec s = f->s;
		unsigned r = (unsigned)(ws_test_rand(st) % 100);

		s.pay = payload + f->off;
		s.pay_len = f->mss;
		if (r < 10)
			s.pay_len = 1 + ws_test_rand(st) % f->mss; /* short */
		else if (r < 15)
			s.flags |= WS_TCP_PSH;
		else if (r < 18)
			s.seq -= (uint32_t)f->mss; /* retransmission */
		else if (r < u_end)
			s.udp = 1, s.id = (uint16_t)ws_test_rand(st); /* its own ID counter */
		else if (r < u_end + 2)
			s.tsval++; /* the clock ticks */
		if (udp && s.udp) {
			s.id = uid[fi]++;
			if (ws_test_rand(st) % 4 == 0)
				s.pay_len = 1 + ws_test_rand(st) % f->mss;
		}
		pkt_len[n] = build(pkts[n], &s, CS_FULL);
		if ((r >= u_end + 2 && r < u_end + 4) || (udp && s.udp && ws_test_rand(st) % 16 == 0))
			pkts[n][pkt_len[n] - 1] ^= 0x40; /* corrupt */
		/* a TCP socket numbers its packets: the kernel's GSO of a
		 * coalesced item gives first + i, as here (ws_gro_add does not
		 * check IDs, see offload.h) */
		f->s.id += !s.udp;
		if (!s.udp && !(r >= 15 && r < 18)) {
			f->off += s.pay_len, f->s.seq += (uint32_t)s.pay_len;
			f->s.tsval = s.tsval;
			if (f->off > BIG - 2000)
				f->off = 0;
		}
		CU_ASSERT_FATAL(ws_gro_add(&gro, pkts[n], pkt_len[n]) >= 0);
		n++;
	}
	check_expansion(n);
	count_udp_items();
}

static void test_gro_random_flows(void)
{
	uint64_t st = 0xc0a1e5ceULL;

	udp_items_seen = 0;
	for (int round = 0; round < 30; round++)
		random_round(&st, 0);
	CU_ASSERT_EQUAL(udp_items_seen, 0); /* UDP coalescing is off by default */
	for (int round = 0; round < 30; round++)
		random_round(&st, 1);
	CU_ASSERT(udp_items_seen > 30);
}

static int suite_setup(void)
{
	fill_payload();
	scratch = malloc(SCRATCH_SLOTS * (size_t)WS_GRO_SLOT);
	return scratch ? 0 : 1;
}

static int suite_teardown(void)
{
	free(scratch);
	return 0;
}

WS_SUITE(offload)
{
	CU_set_suite_initfunc(suite, suite_setup);
	CU_set_suite_cleanupfunc(suite, suite_teardown);
	WS_ADD(suite, test_csum_vs_naive);
	WS_ADD(suite, test_csum_fold_edges);
	WS_ADD(suite, test_csum_pseudo);
	WS_ADD(suite, test_vnet_codec);
	WS_ADD(suite, test_tso_v4_plain);
	WS_ADD(suite, test_tso_v4_timestamps_fin_ipopts);
	WS_ADD(suite, test_tso_v4_ecn_cwr);
	WS_ADD(suite, test_tso_v6);
	WS_ADD(suite, test_tso_sizes_and_wraps);
	WS_ADD(suite, test_uso);
	WS_ADD(suite, test_uso_zero_checksum);
	WS_ADD(suite, test_tso_hdr_len_ignored);
	WS_ADD(suite, test_tso_output_limits);
	WS_ADD(suite, test_none_needs_csum);
	WS_ADD(suite, test_none_bounds);
	WS_ADD(suite, test_tso_truncations);
	WS_ADD(suite, test_tso_malformed);
	WS_ADD(suite, test_gro_round_trip);
	WS_ADD(suite, test_gro_single_and_other);
	WS_ADD(suite, test_gro_pairs);
	WS_ADD(suite, test_gro_v6_fields);
	WS_ADD(suite, test_gro_closing);
	WS_ADD(suite, test_gro_interleaved_flows);
	WS_ADD(suite, test_gro_bad_checksums);
	WS_ADD(suite, test_gro_size_cap);
	WS_ADD(suite, test_gro_capacity);
	WS_ADD(suite, test_gro_udp_round_trip);
	WS_ADD(suite, test_gro_udp_off);
	WS_ADD(suite, test_gro_udp_pairs);
	WS_ADD(suite, test_gro_udp_no_checksum);
	WS_ADD(suite, test_gro_udp_closing_and_corrupt);
	WS_ADD(suite, test_gro_udp_caps);
	WS_ADD(suite, test_gro_udp_with_tcp);
	WS_ADD(suite, test_gro_random_flows);
}
