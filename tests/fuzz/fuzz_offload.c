/* SPDX-License-Identifier: MIT */
/*
 * TUN offload fuzzer. Byte 0 picks the mode and the output geometry.
 *
 * Mode TSO (bit 7 clear): bytes 1-10 are a vnet header, the rest the packet
 * read from the TUN. ws_offload_segment writes into a heap buffer of exactly
 * headroom + (cap - 1) * stride + max_seg_len bytes prefilled with a pattern;
 * afterwards the headroom and every byte of a stride past its segment must
 * still hold the pattern. A GSO result is checked here with a naive
 * checksum (IPv4 header, transport checksum over the pseudo-header). Then the
 * segments go through the coalescer (UDP coalescing on when bit 0 of the
 * ignored hdr_len is set), and its items, segmented again with the vnet
 * header it gives them, must reproduce the segments byte for byte and in
 * order.
 *
 * Mode GRO (bit 7 set; bits 0-2: scratch slots; bit 3: UDP coalescing on):
 * the rest is a list of packets, each a big-endian 16-bit length then the
 * bytes (cut at the input end). Unless bit 6 is set, TCP and UDP packets get
 * their IPv4 header and TCP/UDP checksums fixed here (so that merges are
 * reachable). All are added; every item must segment again into as many
 * packets, and as many bytes, as were added, each with a correct checksum; a
 * UDP item holds at most WS_GRO_UDP_MAX_SEGS datagrams, and none exists with
 * UDP coalescing off.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/offload.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum { OUT_HEADROOM = 16, MAX_OUT = 1 << 20, MAX_SEGS = 128, SLOTS = 8, PATTERN = 0xa5 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ws_gro gro;
static uint8_t *scratch;
static uint8_t *resegs;
static size_t seg_len[MAX_SEGS], reseg_len[MAX_SEGS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	scratch = malloc((size_t)SLOTS * WS_GRO_SLOT);
	resegs = malloc((size_t)MAX_SEGS * 65536);
	if (!scratch || !resegs)
		abort();
	return ws_crypto_init();
}

/* ---- naive checks ---------------------------------------------------------- */

static uint32_t naive_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

/* Sum over pseudo-header + transport bytes of a checked IP packet. */
static uint32_t naive_l4_sum(const uint8_t *p, size_t len, size_t iph, uint8_t proto)
{
	uint8_t ph[40] = {0};
	size_t l4 = len - iph, n;

	if (p[0] >> 4 == 4) {
		memcpy(ph, p + 12, 8);
		ph[9] = proto, ph[10] = (uint8_t)(l4 >> 8), ph[11] = (uint8_t)l4;
		n = 12;
	} else {
		memcpy(ph, p + 8, 32);
		ph[34] = (uint8_t)(l4 >> 8), ph[35] = (uint8_t)l4, ph[39] = proto;
		n = 40;
	}
	return naive_add(naive_add(0, ph, n), p + iph, l4);
}

static int fold_is_ones(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* A segment of a GSO packet: lengths agree, checksums hold. */
static void check_gso_segment(const uint8_t *p, size_t len, const struct ws_vnet_hdr *h)
{
	int udp = (h->gso_type & 0x7f) == VIRTIO_NET_HDR_GSO_UDP_L4;
	size_t iph;

	if (p[0] >> 4 == 4) {
		iph = (size_t)(p[0] & 15) * 4;
		CHECK(ws_be16(p + 2) == len);
		CHECK(fold_is_ones(naive_add(0, p, iph)));
	} else {
		CHECK(p[0] >> 4 == 6);
		iph = 40;
		CHECK(ws_be16(p + 4) + 40u == len);
	}
	if (udp)
		CHECK(ws_be16(p + iph + 4) == len - iph);
	CHECK(fold_is_ones(naive_l4_sum(p, len, iph, udp ? 17 : 6)));
}

/* ---- mode TSO ------------------------------------------------------------- */

static const size_t strides[8] = {64, 576, 1280, 1500, 2048, 9216, 16384, 65600};

/* Nothing but the segments was written (the last stride ends at max_seg). */
static void check_untouched(const uint8_t *buf, size_t cap, size_t stride, size_t max_seg,
			    size_t n)
{
	for (size_t k = 0; k < OUT_HEADROOM; k++)
		CHECK(buf[k] == PATTERN);
	for (size_t i = 0; i < cap; i++) {
		const uint8_t *s = buf + OUT_HEADROOM + i * stride;
		size_t end = i + 1 < cap ? stride : max_seg;

		for (size_t k = i < n ? seg_len[i] : 0; k < end; k++)
			CHECK(s[k] == PATTERN);
	}
}

/* Coalesce the segments, then expand every item again: the same packets. */
static void gro_round_trip(const uint8_t *out, size_t stride, size_t n, int udp)
{
	size_t k = 0;

	ws_gro_init(&gro, scratch, (size_t)SLOTS * WS_GRO_SLOT);
	ws_gro_set_udp(&gro, udp);
	for (size_t i = 0; i < n; i++)
		CHECK(ws_gro_add(&gro, out + i * stride, seg_len[i]) >= 0);
	for (size_t i = 0; i < ws_gro_count(&gro); i++) {
		struct ws_vnet_hdr h;
		const uint8_t *p;
		size_t len;
		int r;

		CHECK(ws_gro_item(&gro, i, &h, &p, &len) == 0);
		r = ws_offload_segment(p, len, &h, resegs, 65536, MAX_SEGS, reseg_len, 65536);
		CHECK(r >= 1 && k + (size_t)r <= n);
		for (int j = 0; j < r; j++, k++) {
			CHECK(reseg_len[j] == seg_len[k]);
			CHECK(!memcmp(resegs + (size_t)j * 65536, out + k * stride, seg_len[k]));
		}
	}
	CHECK(k == n);
}

static void mode_tso(uint8_t sel, const uint8_t *data, size_t size)
{
	size_t stride = strides[sel & 7], cap = 1 + ((sel >> 3) & 15) * 8;
	size_t max_seg = stride - (sel & 64 ? 0 : 8), total;
	struct ws_vnet_hdr h;
	uint8_t *buf;
	int n;

	if (size < WS_VNET_HDR_LEN)
		return;
	ws_vnet_hdr_decode(data, &h);
	data += WS_VNET_HDR_LEN, size -= WS_VNET_HDR_LEN;
	while (cap > 1 && cap * stride > MAX_OUT)
		cap--;
	total = OUT_HEADROOM + (cap - 1) * stride + max_seg;
	buf = malloc(total);
	CHECK(buf);
	memset(buf, PATTERN, total);
	n = ws_offload_segment(data, size, &h, buf + OUT_HEADROOM, stride, cap, seg_len, max_seg);
	CHECK(n > 0 || n == -EINVAL || n == -EMSGSIZE || n == -ENOSPC);
	if (n > 0) {
		CHECK((size_t)n <= cap);
		check_untouched(buf, cap, stride, max_seg, (size_t)n);
		for (int i = 0; i < n; i++) {
			CHECK(seg_len[i] >= 1 && seg_len[i] <= max_seg);
			if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
				check_gso_segment(buf + OUT_HEADROOM + (size_t)i * stride, seg_len[i], &h);
		}
		if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE && !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			CHECK(seg_len[0] == size && !memcmp(buf + OUT_HEADROOM, data, size));
		gro_round_trip(buf + OUT_HEADROOM, stride, (size_t)n, h.hdr_len & 1);
	}
	free(buf);
}

/* ---- mode GRO ------------------------------------------------------------- */

/* Give a TCP or UDP packet correct checksums, when its headers can be read
 * (UDP: 0 is sent as 0xffff). */
static void fix_l4(uint8_t *p, size_t len)
{
	size_t iph, coff;
	uint8_t proto;

	if (len < 20)
		return;
	if (p[0] >> 4 == 4) {
		iph = (size_t)(p[0] & 15) * 4;
		proto = p[9];
		if (iph < 20 || iph + 20 > len || ws_be16(p + 2) != len)
			return;
	} else if (p[0] >> 4 == 6) {
		iph = 40;
		proto = p[6];
		if (len < 60 || ws_be16(p + 4) + 40u != len)
			return;
	} else {
		return;
	}
	if (proto != 6 && proto != 17)
		return;
	if (p[0] >> 4 == 4) {
		p[10] = p[11] = 0;
		ws_put_be16(p + 10, (uint16_t)~naive_add(0, p, iph));
	}
	coff = iph + (proto == 6 ? 16 : 6);
	p[coff] = p[coff + 1] = 0;
	uint32_t s = naive_l4_sum(p, len, iph, proto);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ws_put_be16(p + coff, proto == 17 && s == 0xffff ? 0xffff : (uint16_t)~s);
}

static void mode_gro(uint8_t sel, const uint8_t *data, size_t size)
{
	static uint8_t pkts[300][2048];
	size_t n = 0, bytes = 0, segs = 0, out_bytes = 0;

	ws_gro_init(&gro, scratch, (size_t)(sel & 7) * WS_GRO_SLOT);
	ws_gro_set_udp(&gro, sel & 8);
	while (size >= 2 && n < 300) {
		size_t len = ws_be16(data);

		data += 2, size -= 2;
		if (len > size)
			len = size;
		if (len > sizeof(pkts[0]))
			len = sizeof(pkts[0]);
		memcpy(pkts[n], data, len);
		data += len, size -= len;
		if (!(sel & 0x40))
			fix_l4(pkts[n], len);
		int r = ws_gro_add(&gro, pkts[n], len);
		CHECK(r == 0 || r == 1 || (r == -EINVAL && len == 0) || r == -ENOSPC);
		if (r >= 0)
			bytes += len, segs++;
		n++;
	}
	for (size_t i = 0; i < ws_gro_count(&gro); i++) {
		struct ws_vnet_hdr h;
		const uint8_t *p;
		size_t len;
		int r;

		CHECK(ws_gro_item(&gro, i, &h, &p, &len) == 0);
		if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
			segs--, out_bytes += len;
			continue;
		}
		r = ws_offload_segment(p, len, &h, resegs, 65536, MAX_SEGS, reseg_len, 65536);
		CHECK(r >= 2);
		if (h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4)
			CHECK((sel & 8) && r <= WS_GRO_UDP_MAX_SEGS && h.csum_offset == 6 &&
			      h.hdr_len == h.csum_start + 8);
		for (int j = 0; j < r; j++) {
			check_gso_segment(resegs + (size_t)j * 65536, reseg_len[j], &h);
			out_bytes += reseg_len[j];
		}
		segs -= (size_t)r;
	}
	CHECK(segs == 0 && out_bytes == bytes);
	CHECK(ws_gro_item(&gro, ws_gro_count(&gro), &(struct ws_vnet_hdr){0}, &(const uint8_t *){0},
			  &(size_t){0}) == -EINVAL);
}

/* The checksum helpers against the naive sum, at any alignment and split. */
static void check_csum(const uint8_t *data, size_t size)
{
	static uint8_t copy[1 << 16];
	size_t n = size < sizeof(copy) ? size : sizeof(copy), k = (data[0] * n / 256) & ~(size_t)1;
	uint8_t b[2];

	for (size_t off = 0; off < 2 && off < n; off++) {
		uint32_t want = naive_add(0, data + off, n - off);

		while (want >> 16)
			want = (want & 0xffff) + (want >> 16);
		ws_csum_put(b, ws_csum_fold(ws_csum_add(data + off, n - off, 0)));
		CHECK(ws_be16(b) == want);
		ws_csum_put(b, ws_csum_fold(ws_csum_copy(copy, data + off, n - off, 0)));
		CHECK(ws_be16(b) == want && !memcmp(copy, data + off, n - off));
		if (off == 0) {
			ws_csum_put(b, ws_csum_fold(ws_csum_add(data + k, n - k, ws_csum_add(data, k, 0))));
			CHECK(ws_be16(b) == want);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	check_csum(data, size);
	if (data[0] & 0x80)
		mode_gro(data[0], data + 1, size - 1);
	else
		mode_tso(data[0], data + 1, size - 1);
	return 0;
}
