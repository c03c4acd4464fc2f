/* SPDX-License-Identifier: MIT */
/*
 * The daemon's pipelines end to end: two devices in this process (see
 * pipe_harness.h), each with its tx, rx and ctl threads and control socket,
 * joined by loopback UDP, with socketpairs in place of their TUN fds. What
 * is written to one TUN end must come out of the other as the kernel would
 * see it; checksums and TCP streams are checked here independently of the
 * offload code (a naive RFC 1071 sum).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"
#include "core/ctlmsg.h"
#include "core/frame.h"
#include "core/offload.h"
#include "daemon/peer_timers.h"
#include "daemon/schedule.h"
#include "os/clock.h"
#include "os/log.h"
#include "pipe_harness.h"
#include "test.h"

enum { WAIT_MS = 5000, BUF = 70000, STREAM = 64000 };

static uint8_t pkt[BUF], got[BUF], stream[STREAM], seen[STREAM];

static struct ws_pipe *open_pipe(unsigned flags_a, unsigned flags_b, uint16_t mtu, bool threads)
{
	struct ws_pipe_opts o = {.flags_a = flags_a, .flags_b = flags_b, .mtu = mtu, .threads = threads};
	struct ws_pipe *p;
	int ret;

	ws_log_open("pipeline", true, WS_LOG_WARN);
	ret = ws_pipe_open(&p, &o);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret) {
		ws_pipe_close(p);
		return NULL;
	}
	return p;
}

static struct ws_pipe *open_connected(unsigned flags_a, unsigned flags_b, uint16_t mtu)
{
	struct ws_pipe *p = open_pipe(flags_a, flags_b, mtu, true);

	if (p && ws_pipe_handshake(p, &p->a, WAIT_MS)) {
		CU_FAIL("no handshake");
		ws_pipe_close(p);
		return NULL;
	}
	return p;
}

static uint64_t peer_value(struct ws_pipe *p, struct ws_pipe_end *e, const char *key)
{
	char *reply = NULL;
	uint64_t v = UINT64_MAX;

	CU_ASSERT_EQUAL(ws_pipe_request(p, e, "get=1\n\n", &reply), 0);
	if (reply)
		CU_ASSERT(ws_pipe_reply_u64(reply, e->other->dev.local.public_key, key, &v));
	free(reply);
	return v;
}

static uint64_t dev_value(struct ws_pipe *p, struct ws_pipe_end *e, const char *key)
{
	char *reply = NULL;
	uint64_t v = UINT64_MAX;

	CU_ASSERT_EQUAL(ws_pipe_request(p, e, "get=1\n\n", &reply), 0);
	if (reply)
		CU_ASSERT(ws_pipe_reply_u64(reply, NULL, key, &v));
	free(reply);
	return v;
}

/* A counter that is bumped after the send it counts: wait (bounded) until it reaches min. */
static uint64_t peer_value_at_least(struct ws_pipe *p, struct ws_pipe_end *e, const char *key, uint64_t min)
{
	uint64_t v = 0;

	for (int i = 0; i < 500; i++) {
		v = peer_value(p, e, key);
		if (v >= min && v != UINT64_MAX)
			break;
		ws_pipe_tun_read(p, e, got, sizeof(got), 2);
	}
	return v;
}

/* ---- naive checksums ------------------------------------------------------------ */

static uint32_t naive_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

/* The pseudo-header sum (not complemented) of an IPv4/IPv6 packet's L4 part. */
static uint32_t naive_pseudo(const uint8_t *ip, size_t l4_len, uint8_t proto)
{
	bool v4 = ip[0] >> 4 == 4;
	uint8_t tail[4] = {0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len};
	uint32_t s = naive_add(0, ip + (v4 ? 12 : 8), v4 ? 8 : 32);

	return naive_add(s, tail, 4);
}

static size_t ip_hlen(const uint8_t *ip)
{
	return ip[0] >> 4 == 4 ? (size_t)(ip[0] & 15) * 4 : 40;
}

/* A complete IPv4/IPv6 TCP packet of exactly len bytes with both checksums right. */
static bool tcp_packet_ok(const uint8_t *ip, size_t len)
{
	size_t hl = ip_hlen(ip);

	if (len < hl + 20)
		return false;
	if (ip[0] >> 4 == 4) {
		if (ws_be16(ip + 2) != len || naive_add(0, ip, hl) != 0xffff || ip[9] != WS_PROTO_TCP)
			return false;
	} else if (ws_be16(ip + 4) != len - 40 || ip[6] != WS_PROTO_TCP) {
		return false;
	}
	return naive_add(naive_pseudo(ip, len - hl, WS_PROTO_TCP), ip + hl, len - hl) == 0xffff;
}

/* ---- handshakes ------------------------------------------------------------------ */

static void check_handshake(bool b_initiates)
{
	struct ws_pipe *p = open_pipe(0, 0, 0, true);
	struct ws_pipe_end *i, *r;
	size_t len;
	ssize_t n;

	if (!p)
		return;
	i = b_initiates ? &p->b : &p->a;
	r = i->other;
	CU_ASSERT_FALSE(ws_pipe_connected(p));
	CU_ASSERT_EQUAL_FATAL(ws_pipe_handshake(p, i, WAIT_MS), 0);
	CU_ASSERT(ws_pipe_connected(p));
	CU_ASSERT_EQUAL(peer_value(p, i, "handshakes_initiated"), 1);
	CU_ASSERT_EQUAL(peer_value(p, i, "handshakes_completed"), 1);
	CU_ASSERT_EQUAL(peer_value(p, r, "handshakes_initiated"), 0);
	CU_ASSERT_EQUAL(peer_value(p, r, "handshakes_completed"), 1);
	CU_ASSERT_EQUAL(peer_value(p, i, "sessions"), 1);
	CU_ASSERT_EQUAL(peer_value(p, r, "sessions"), 1);
	CU_ASSERT(peer_value(p, i, "last_handshake_time_sec") > 0);
	/* The responder answers on the new session. */
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET6, r->side, i->side, 9, 9, (const uint8_t *)"back", 4);
	CU_ASSERT_EQUAL(ws_pipe_tun_write(r, NULL, pkt, len), 0);
	n = ws_pipe_tun_read(p, i, got, sizeof(got), WAIT_MS);
	CU_ASSERT_EQUAL(n, (ssize_t)len);
	CU_ASSERT(n == (ssize_t)len && !memcmp(got, pkt, len));
	ws_pipe_close(p);
}

static void test_handshake_a_initiates(void)
{
	check_handshake(false);
}

static void test_handshake_b_initiates(void)
{
	check_handshake(true);
}

/* ---- plain packets, both ways ----------------------------------------------------- */

/* Packets of every family and several sizes, from one side to the other: byte-identical. */
static void send_identical(struct ws_pipe *p, struct ws_pipe_end *from, struct ws_pipe_end *to)
{
	static const size_t sizes[] = {0, 1, 100, 576, 1000};
	size_t voff = to->dev.vnet ? WS_VNET_HDR_LEN : 0;

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		size_t max = from->dev.mtu - (family == AF_INET ? 28 : 48);

		for (size_t k = 0; k <= sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t plen = k < sizeof(sizes) / sizeof(sizes[0]) ? sizes[k] : max, len;
			ssize_t n;

			for (size_t i = 0; i < plen; i++)
				stream[i] = (uint8_t)(i * 7 + k + (size_t)f);
			len = ws_pipe_build_udp(pkt, sizeof(pkt), family, from->side, to->side, 1000, (uint16_t)(2000 + k),
						stream, plen);
			CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(from, NULL, pkt, len), 0);
			n = ws_pipe_tun_read(p, to, got, sizeof(got), WAIT_MS);
			CU_ASSERT_EQUAL(n, (ssize_t)(voff + len));
			if (n != (ssize_t)(voff + len))
				continue;
			CU_ASSERT(!memcmp(got + voff, pkt, len));
			if (voff) { /* a single packet: no GSO, and no checksum left to the kernel */
				struct ws_vnet_hdr h;

				ws_vnet_hdr_decode(got, &h);
				CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
				CU_ASSERT_EQUAL(h.flags, 0);
			}
		}
	}
}

/* A burst (coalesced into shared frames on the way): all arrive, in order, unchanged. */
static void send_burst(struct ws_pipe *p, struct ws_pipe_end *from, struct ws_pipe_end *to)
{
	enum { N = 48 };
	size_t voff = to->dev.vnet ? WS_VNET_HDR_LEN : 0;

	for (unsigned i = 0; i < N; i++) {
		uint8_t b[4] = {(uint8_t)i, 0xa5, (uint8_t)~i, 0x5a};
		size_t len = ws_pipe_build_udp(pkt, sizeof(pkt), i & 1 ? AF_INET6 : AF_INET, from->side, to->side,
					       3000, (uint16_t)(4000 + i), b, sizeof(b));

		CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(from, NULL, pkt, len), 0);
	}
	for (unsigned i = 0; i < N; i++) {
		ssize_t n = ws_pipe_tun_read(p, to, got, sizeof(got), WAIT_MS);
		uint8_t b[4] = {(uint8_t)i, 0xa5, (uint8_t)~i, 0x5a};
		size_t len = ws_pipe_build_udp(pkt, sizeof(pkt), i & 1 ? AF_INET6 : AF_INET, from->side, to->side,
					       3000, (uint16_t)(4000 + i), b, sizeof(b));

		CU_ASSERT_EQUAL(n, (ssize_t)(voff + len));
		if (n != (ssize_t)(voff + len))
			return;
		CU_ASSERT(!memcmp(got + voff, pkt, len));
	}
}

static void check_identical(unsigned flags)
{
	struct ws_pipe *p = open_connected(flags, flags, 0);

	if (!p)
		return;
	send_identical(p, &p->a, &p->b);
	send_identical(p, &p->b, &p->a);
	send_burst(p, &p->a, &p->b);
	send_burst(p, &p->b, &p->a);
	ws_pipe_close(p);
}

static void test_packets_identical_plain(void)
{
	check_identical(0);
}

static void test_packets_identical_offloads(void)
{
	check_identical(WS_DEVICE_TUN_VNET);
}

/* ---- TCP super-packets ------------------------------------------------------------- */

/* One TCP packet (or coalesced item) at to's TUN: its payload goes into seen[] by sequence number. */
static size_t take_tcp(const uint8_t *buf, size_t n, bool vnet, uint32_t seq0, size_t mtu, size_t *count)
{
	const uint8_t *ip = buf + (vnet ? WS_VNET_HDR_LEN : 0);
	size_t len = n - (vnet ? WS_VNET_HDR_LEN : 0), hl = ip_hlen(ip), off;
	struct ws_vnet_hdr h = {0};

	if (vnet)
		ws_vnet_hdr_decode(buf, &h);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* a complete packet that fits the MTU */
		CU_ASSERT(tcp_packet_ok(ip, len));
		CU_ASSERT(len <= mtu);
		*count += 1;
	} else {
		/* coalesced: partial checksum for the kernel, lengths and IPv4 header checksum complete */
		uint16_t field = ws_be16(ip + hl + WS_TCP_CSUM_OFF);
		uint32_t ps = naive_pseudo(ip, len - hl, WS_PROTO_TCP);

		CU_ASSERT_EQUAL(h.gso_type, ip[0] >> 4 == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
		CU_ASSERT_EQUAL(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		CU_ASSERT_EQUAL(h.csum_start, hl);
		CU_ASSERT_EQUAL(h.csum_offset, WS_TCP_CSUM_OFF);
		CU_ASSERT_EQUAL(h.hdr_len, hl + 20);
		CU_ASSERT_EQUAL(field, (uint16_t)ps);
		if (ip[0] >> 4 == 4) {
			CU_ASSERT(ws_be16(ip + 2) == len && naive_add(0, ip, hl) == 0xffff);
		} else {
			CU_ASSERT(ws_be16(ip + 4) == len - 40);
		}
		CU_ASSERT(h.gso_size > 0 && hl + 20 + h.gso_size <= mtu);
		*count += (len - hl - 20 + h.gso_size - 1) / h.gso_size;
	}
	off = ws_be32(ip + hl + 4) - seq0;
	CU_ASSERT(off + (len - hl - 20) <= STREAM);
	if (off + (len - hl - 20) > STREAM)
		return 0;
	memcpy(seen + off, ip + hl + 20, len - hl - 20);
	return len - hl - 20;
}

/* A 64000-byte TSO read at A (gso_size 1400) must arrive at B as the same byte stream. */
static void check_tso(int family, unsigned flags_b, uint16_t mtu)
{
	struct ws_pipe *p = open_connected(WS_DEVICE_TUN_VNET, flags_b, mtu);
	const uint32_t seq0 = 0x10000000;
	bool fits = mtu >= 1440 + (family == AF_INET6 ? 20 : 0);
	uint8_t vnet[WS_VNET_HDR_LEN];
	size_t len, bytes = 0, segs = 0;

	if (!p)
		return;
	for (size_t i = 0; i < STREAM; i++)
		stream[i] = (uint8_t)(i * 131 + (i >> 8));
	memset(seen, 0, sizeof(seen));
	len = ws_pipe_build_tcp(pkt, sizeof(pkt), family, 0, 1, seq0, WS_TCP_PSH, stream, STREAM);
	CU_ASSERT_FATAL(len > STREAM);
	ws_pipe_make_tso(pkt, len, 1400, vnet);
	CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, vnet, pkt, len), 0);
	while (bytes < STREAM) {
		ssize_t n = ws_pipe_tun_read(p, &p->b, got, sizeof(got), WAIT_MS);
		size_t took;

		CU_ASSERT(n > 0);
		if (n <= 0)
			break;
		took = take_tcp(got, (size_t)n, p->b.dev.vnet, seq0, fits ? mtu : SIZE_MAX, &segs);
		if (!took)
			break;
		bytes += took;
	}
	CU_ASSERT_EQUAL(bytes, STREAM);
	CU_ASSERT(!memcmp(seen, stream, STREAM));
	/* With room for the 1400-byte MSS the cut is the kernel's: 46 segments, each within the MTU. */
	if (fits)
		CU_ASSERT_EQUAL(segs, (STREAM + 1399) / 1400);
	CU_ASSERT(segs >= (STREAM + 1399) / 1400);
	CU_ASSERT_EQUAL(peer_value(p, &p->b, "rx_dropped"), 0);
	ws_pipe_close(p);
}

static void test_tso_segmented_v4(void)
{
	check_tso(AF_INET, 0, 1500);
}

static void test_tso_segmented_v6(void)
{
	check_tso(AF_INET6, 0, 1500);
}

static void test_tso_coalesced_v4(void)
{
	check_tso(AF_INET, WS_DEVICE_TUN_VNET, 1500);
}

static void test_tso_coalesced_v6(void)
{
	check_tso(AF_INET6, WS_DEVICE_TUN_VNET | WS_DEVICE_TUN_USO, 1500);
}

/*
 * The MSS does not fit the device's MTU (the TUN's own MTU set higher): re-cut
 * smaller, the stream intact. (The cut is sized by the segment arena, which
 * has 8 bytes more room than the MTU: segments of MTU + 8, each sent as two
 * DataFragments. Not asserted here either way.)
 */
static void test_tso_recut_to_mtu(void)
{
	check_tso(AF_INET, 0, 1400);
}

/* ---- AllowedIPs on receive ----------------------------------------------------------- */

static void test_spoofed_source_dropped(void)
{
	struct ws_pipe *p = open_connected(0, 0, 0);
	uint8_t c_priv[32], c_pub[32];
	char req[256], key[WS_KEY_B64_LEN + 1], *reply = NULL;
	uint64_t before;
	size_t len;
	ssize_t n;

	if (!p)
		return;
	/* B gets a third peer C (over its control socket) owning 198.19.3.0/24 and fd19:0:0:3::/64. */
	ws_x25519_genkey(c_priv);
	CU_ASSERT_FATAL(ws_x25519_pubkey(c_pub, c_priv));
	ws_key_to_base64(key, c_pub);
	snprintf(req, sizeof(req), "set=1\npublic_key=%s\nallowed_ip=198.19.3.0/24\nallowed_ip=fd19:0:0:3::/64\n\n", key);
	CU_ASSERT_EQUAL(ws_pipe_request(p, &p->b, req, &reply), 0);
	free(reply);
	before = peer_value(p, &p->b, "rx_dropped");
	for (int k = 0; k < 4; k++) {
		int family = k & 1 ? AF_INET6 : AF_INET;
		size_t ao = family == AF_INET ? 12 : 8;

		/* A routes it to B by destination; B must refuse its source: another peer's, or no one's. */
		len = ws_pipe_build_udp(pkt, sizeof(pkt), family, 0, 1, 5, 5, (const uint8_t *)"spoof", 5);
		ws_pipe_addr(k < 2 ? 2 : 8, family, 9, pkt + ao);
		CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, NULL, pkt, len), 0);
		len = ws_pipe_build_udp(pkt, sizeof(pkt), family, 0, 1, 6, 6, (const uint8_t *)"legit", 5);
		CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, NULL, pkt, len), 0);
		n = ws_pipe_tun_read(p, &p->b, got, sizeof(got), WAIT_MS);
		CU_ASSERT_EQUAL(n, (ssize_t)len);
		CU_ASSERT(n == (ssize_t)len && !memcmp(got, pkt, len));
	}
	CU_ASSERT_EQUAL(peer_value(p, &p->b, "rx_dropped"), before + 4);
	CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), 50), -ETIMEDOUT);
	ws_pipe_close(p);
}

/* ---- the control socket ----------------------------------------------------------------- */

static void test_get_counters(void)
{
	enum { N = 20, PAY = 200 };
	struct ws_pipe *p = open_connected(0, 0, 0);
	uint64_t a_tx0, a_txb0, b_rx0, b_rxb0, v;
	char *reply = NULL;
	size_t len = 0;

	if (!p)
		return;
	a_tx0 = peer_value(p, &p->a, "tx_packets");
	a_txb0 = peer_value(p, &p->a, "tx_bytes");
	b_rx0 = peer_value(p, &p->b, "rx_packets");
	b_rxb0 = peer_value(p, &p->b, "rx_bytes");
	CU_ASSERT(a_tx0 >= 1 && b_rx0 >= 1); /* the packet that started the handshake */
	memset(stream, 0x42, PAY);
	for (int i = 0; i < N; i++) {
		len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 1, 11, 11, stream, PAY);
		CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, NULL, pkt, len), 0);
		CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), WAIT_MS), (ssize_t)len);
	}
	/* One datagram per packet at least (sent one at a time), each with its 32 bytes of overhead. */
	CU_ASSERT(peer_value_at_least(p, &p->a, "tx_packets", a_tx0 + N) >= a_tx0 + N);
	CU_ASSERT(peer_value_at_least(p, &p->a, "tx_bytes", a_txb0 + N * (len + 32)) >= a_txb0 + N * (len + 32));
	CU_ASSERT(peer_value_at_least(p, &p->b, "rx_packets", b_rx0 + N) >= b_rx0 + N);
	CU_ASSERT(peer_value_at_least(p, &p->b, "rx_bytes", b_rxb0 + N * (len + 32)) >= b_rxb0 + N * (len + 32));
	CU_ASSERT_EQUAL(peer_value(p, &p->b, "rx_dropped"), 0);
	/* An unrouted destination is counted by the device. */
	CU_ASSERT_EQUAL(dev_value(p, &p->a, "tx_no_route"), 0);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 6, 1, 1, stream, 8);
	CU_ASSERT_EQUAL(ws_pipe_tun_write(&p->a, NULL, pkt, len), 0);
	for (int i = 0; i < 200 && (v = dev_value(p, &p->a, "tx_no_route")) == 0; i++)
		ws_pipe_tun_read(p, &p->b, got, sizeof(got), 5);
	CU_ASSERT_EQUAL(v, 1);
	/* The rest of the reply: who and where. */
	CU_ASSERT_EQUAL(ws_pipe_request(p, &p->a, "get=1\n\n", &reply), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	CU_ASSERT(ws_pipe_reply_u64(reply, NULL, "listen_port", &v) && v == p->a.dev.listen_port);
	CU_ASSERT(ws_pipe_reply_u64(reply, p->b.dev.local.public_key, "sessions", &v) && v == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, "connected=true\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, "allowed_ip=198.19.2.0/24\n"));
	free(reply);
	/* And a malformed request gets an error, not a dump. */
	CU_ASSERT_EQUAL(ws_pipe_request(p, &p->a, "get=2\n\n", &reply), -EPROTO);
	free(reply);
	ws_pipe_close(p);
}

/* ---- the independent peer, synchronously ------------------------------------------------ */

/* A frame sealed by the harness on A's session (not by A's tx) is delivered by B; a replay is not. */
static void test_sealed_frame_sync(void)
{
	struct ws_pipe *p = open_pipe(0, 0, 0, false);
	uint8_t frame[256], sealed[512];
	uint64_t counter;
	size_t len, hl;
	ssize_t n;

	if (!p)
		return;
	CU_ASSERT_EQUAL_FATAL(ws_pipe_handshake(p, &p->a, WAIT_MS), 0);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 1, 77, 77, (const uint8_t *)"sealed", 6);
	hl = ws_frame_event_header_len(len);
	frame[0] = WS_CHANNEL_DATA;
	ws_frame_write_event_header(frame + 1, WS_EVENT_IP_PACKET, len);
	memcpy(frame + 1 + hl, pkt, len);
	n = ws_pipe_seal(&p->a, WS_MSG_DATA, UINT64_MAX, frame, 1 + hl + len, sealed, sizeof(sealed), &counter);
	CU_ASSERT_EQUAL_FATAL(n, (ssize_t)(1 + hl + len + 32));
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, sealed, (size_t)n), 0);
	CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), WAIT_MS), (ssize_t)len);
	CU_ASSERT(!memcmp(got, pkt, len));
	/* The same counter again (a fresh seal of it, so a valid tag): refused by the replay window. */
	n = ws_pipe_seal(&p->a, WS_MSG_DATA, counter, frame, 1 + hl + len, sealed, sizeof(sealed), NULL);
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, sealed, (size_t)n), 0);
	CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), 50), -ETIMEDOUT);
	/* A fresh counter again: delivered. */
	CU_ASSERT_EQUAL(ws_pipe_send_sealed(&p->a, WS_MSG_DATA, frame, 1 + hl + len), 0);
	CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), WAIT_MS), (ssize_t)len);
	/* A flipped bit: refused, and counted as nothing delivered. */
	n = ws_pipe_seal(&p->a, WS_MSG_DATA, UINT64_MAX, frame, 1 + hl + len, sealed, sizeof(sealed), NULL);
	sealed[20] ^= 1;
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, sealed, (size_t)n), 0);
	CU_ASSERT_EQUAL(ws_pipe_tun_read(p, &p->b, got, sizeof(got), 50), -ETIMEDOUT);
	/* B authenticated all of A's own packets and the two harness-sealed ones, nothing else. */
	CU_ASSERT_EQUAL(peer_value(p, &p->b, "rx_packets"), peer_value(p, &p->a, "tx_packets") + 2);
	ws_pipe_close(p);
}

/* The next channel-0 frame B sends to A, opened by the harness on A's keys (B's timers run meanwhile). */
static bool next_control_frame(struct ws_pipe *p, uint8_t *buf, size_t cap, struct ws_frame_info *info)
{
	for (int i = 0; i < 200; i++) {
		uint8_t type, *plain;
		ssize_t n;

		ws_schedule_tick(&p->b.dev, p->b.peer, ws_now_ns());
		ws_pipe_pump_end(p, &p->b, 8);
		n = ws_pipe_recv_open(p, &p->a, buf, cap, &type, &plain, 5);
		if (n > 0 && type == WS_MSG_DATA && ws_frame_parse(plain, (size_t)n, info) == 0 &&
		    info->channel == WS_CHANNEL_CONTROL)
			return true;
	}
	return false;
}

/* Channel 0 against a peer the harness plays: B ACKs its reliable frames and answers a ping. */
static void test_control_channel_peer_sync(void)
{
	struct ws_pipe *p = open_pipe(0, 0, 0, false);
	uint8_t frame[128], pay[WS_CTL_MAX_PAYLOAD], buf[2048];
	struct ws_ctl_hello hello = {.version = WS_CTL_VERSION, .mtu = 1400, .max_packet_size = 1445};
	struct ws_ctl_ping ping = {.id = 99, .timestamp = 12345}, pong;
	struct ws_frame_writer w;
	struct ws_frame_info info;
	struct ws_frame_iter it;
	struct ws_event ev;
	bool ponged = false;

	if (!p)
		return;
	CU_ASSERT_EQUAL_FATAL(ws_pipe_handshake(p, &p->a, WAIT_MS), 0);
	ws_pipe_pump(p, 64, false);
	while (ws_pipe_recv_open(p, &p->a, buf, sizeof(buf), &(uint8_t){0}, &(uint8_t *){NULL}, 0) != -EAGAIN)
		;
	/* A hello on Seq 1: a peer that (re)starts its channel. B must ACK it. */
	ws_frame_writer_init(&w, frame, sizeof(frame), WS_CHANNEL_CONTROL);
	CU_ASSERT_FATAL(ws_frame_writer_add(&w, WS_CTL_HELLO, pay, ws_ctl_hello_encode(pay, &hello)));
	CU_ASSERT_FATAL(ws_frame_writer_finish(&w, 1, 0, 0, 0));
	CU_ASSERT_EQUAL(ws_pipe_send_sealed(&p->a, WS_MSG_DATA, frame, ws_frame_writer_len(&w)), 0);
	CU_ASSERT_FATAL(next_control_frame(p, buf, sizeof(buf), &info));
	CU_ASSERT_EQUAL(info.ack_seq, 2); /* AckSeq: the next Seq expected, all before it received */
	/* A ping on Seq 2: the pong comes with its ACK. */
	ws_frame_writer_init(&w, frame, sizeof(frame), WS_CHANNEL_CONTROL);
	CU_ASSERT_FATAL(ws_frame_writer_add(&w, WS_CTL_PING, pay, ws_ctl_ping_encode(pay, &ping)));
	CU_ASSERT_FATAL(ws_frame_writer_finish(&w, 2, 0, 0, 0));
	CU_ASSERT_EQUAL(ws_pipe_send_sealed(&p->a, WS_MSG_DATA, frame, ws_frame_writer_len(&w)), 0);
	for (int i = 0; i < 4 && !ponged && next_control_frame(p, buf, sizeof(buf), &info); i++) {
		ws_frame_iter_init(&it, &info);
		while (ws_frame_iter_next(&it, &ev))
			if (ev.type == WS_CTL_PONG && ws_ctl_ping_decode(ev.payload, ev.len, &pong)) {
				CU_ASSERT_EQUAL(pong.id, 99);
				CU_ASSERT_EQUAL(pong.timestamp, 12345);
				CU_ASSERT(info.seq != 0);
				CU_ASSERT_EQUAL(info.ack_seq, 3);
				ponged = true;
			}
	}
	CU_ASSERT(ponged);
	ws_pipe_close(p);
}

WS_SUITE(pipeline)
{
	WS_ADD(suite, test_handshake_a_initiates);
	WS_ADD(suite, test_handshake_b_initiates);
	WS_ADD(suite, test_packets_identical_plain);
	WS_ADD(suite, test_packets_identical_offloads);
	WS_ADD(suite, test_tso_segmented_v4);
	WS_ADD(suite, test_tso_segmented_v6);
	WS_ADD(suite, test_tso_coalesced_v4);
	WS_ADD(suite, test_tso_coalesced_v6);
	WS_ADD(suite, test_tso_recut_to_mtu);
	WS_ADD(suite, test_spoofed_source_dropped);
	WS_ADD(suite, test_get_counters);
	WS_ADD(suite, test_sealed_frame_sync);
	WS_ADD(suite, test_control_channel_peer_sync);
}
