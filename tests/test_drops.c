/* SPDX-License-Identifier: MIT */
/*
 * Every named drop of the pipelines: a packet of each kind, sent by the
 * harness as an independent peer would (pipe_harness.h, synchronous mode),
 * raises its own counter by one and no other, and `get` reports it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/messages.h"
#include "core/offload.h"
#include "os/log.h"
#include "pipe_harness.h"
#include "test.h"

enum { WAIT_MS = 5000 };

#define C(name) { #name, offsetof(struct ws_device_stats, name) }
static const struct {
	const char *key;
	size_t off;
} counters[] = {
	C(rx_bad_packet), C(rx_unknown_index), C(tx_no_route), C(tx_loop_dropped),
	C(drop_rx_replay), C(drop_rx_decrypt), C(drop_rx_bad_frame), C(drop_rx_unknown_channel),
	C(drop_rx_unknown_event), C(drop_rx_source), C(drop_rx_reassembly), C(drop_rx_tun_refused),
	C(drop_tx_bad_packet), C(drop_tx_too_big), C(drop_tx_staging_full), C(drop_tx_send_failed),
};
#undef C
enum { N_COUNTERS = sizeof(counters) / sizeof(counters[0]) };

static uint8_t pkt[2048], frame[2048], sealed[4096], got[70000];

static uint64_t counter(struct ws_device *dev, size_t i)
{
	return atomic_load((_Atomic uint64_t *)((char *)&dev->stats + counters[i].off));
}

static void snapshot(struct ws_device *dev, uint64_t *v)
{
	for (size_t i = 0; i < N_COUNTERS; i++)
		v[i] = counter(dev, i);
}

/* Since the snapshot: key rose by want, every other counter stayed. */
static void expect_only(struct ws_device *dev, const uint64_t *before, const char *key, uint64_t want)
{
	bool found = false;

	for (size_t i = 0; i < N_COUNTERS; i++) {
		uint64_t d = counter(dev, i) - before[i];

		if (!strcmp(counters[i].key, key)) {
			found = true;
			CU_ASSERT_EQUAL(d, want);
			if (d != want)
				fprintf(stderr, "\n  %s: +%llu, want +%llu", key, (unsigned long long)d,
					(unsigned long long)want);
		} else if (d) {
			CU_FAIL("another counter moved");
			fprintf(stderr, "\n  %s moved by %llu (expected only %s)", counters[i].key,
				(unsigned long long)d, key);
		}
	}
	CU_ASSERT(found);
}

static struct ws_pipe *open_sync(unsigned flags_a, bool connect)
{
	struct ws_pipe_opts o = {.flags_a = flags_a, .threads = false};
	struct ws_pipe *p;

	ws_log_open("drops", true, WS_LOG_ERR);
	if (ws_pipe_open(&p, &o)) {
		CU_FAIL("pipe");
		ws_pipe_close(p);
		return NULL;
	}
	if (connect && ws_pipe_handshake(p, &p->a, WAIT_MS)) {
		CU_FAIL("no handshake");
		ws_pipe_close(p);
		return NULL;
	}
	return p;
}

/* Deliver what A sent, and read off whatever B wrote to its TUN. */
static void settle(struct ws_pipe *p)
{
	ws_pipe_pump(p, 16, false);
	while (ws_pipe_tun_read(p, &p->b, got, sizeof(got), 1) > 0)
		;
}

/* One event (type, payload) on channel ch, as a frame of len bytes at frame. */
static size_t one_event(uint8_t ch, uint8_t type, const uint8_t *payload, size_t len)
{
	size_t hl = ws_frame_head_len(len);

	memcpy(frame + hl, payload, len);
	ws_frame_write_head(frame + hl, ch, type, len);
	return hl + len;
}

/* Seal plain as A's next packet of type and send it to B; the counter used. */
static uint64_t send_sealed(struct ws_pipe *p, uint8_t type, const uint8_t *plain, size_t len, bool flip)
{
	uint64_t c = 0;
	ssize_t n = ws_pipe_seal(&p->a, type, UINT64_MAX, plain, len, sealed, sizeof(sealed), &c);

	CU_ASSERT_FATAL(n > 0);
	if (flip)
		sealed[20] ^= 1;
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, sealed, (size_t)n), 0);
	settle(p);
	return c;
}

static void test_rx_drops(void)
{
	struct ws_pipe *p = open_sync(0, true);
	struct ws_device *b;
	uint64_t before[N_COUNTERS], c, v;
	uint8_t raw[64];
	char *reply = NULL;
	size_t len, flen;
	ssize_t n;

	if (!p)
		return;
	b = &p->b.dev;
	settle(p);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 1, 9, 9, (const uint8_t *)"drop", 4);

	/* A good packet first: delivered, nothing counted. */
	snapshot(b, before);
	flen = one_event(WS_CHANNEL_DATA, WS_EVENT_IP_PACKET, pkt, len);
	c = send_sealed(p, WS_MSG_DATA, frame, flen, false);
	expect_only(b, before, "drop_rx_replay", 0);

	/* replay: the same counter again, with a valid tag */
	snapshot(b, before);
	n = ws_pipe_seal(&p->a, WS_MSG_DATA, c, frame, flen, sealed, sizeof(sealed), NULL);
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, sealed, (size_t)n), 0);
	settle(p);
	expect_only(b, before, "drop_rx_replay", 1);

	/* decryption failed: a flipped bit */
	snapshot(b, before);
	send_sealed(p, WS_MSG_DATA, frame, flen, true);
	expect_only(b, before, "drop_rx_decrypt", 1);

	/* bad frame: an event that claims more bytes than the frame holds */
	snapshot(b, before);
	frame[0] = WS_CHANNEL_DATA;
	flen = 1 + ws_frame_write_event_header(frame + 1, WS_EVENT_IP_PACKET, 100);
	memcpy(frame + flen, pkt, 5);
	send_sealed(p, WS_MSG_DATA, frame, flen + 5, false);
	expect_only(b, before, "drop_rx_bad_frame", 1);

	/* unknown channel */
	snapshot(b, before);
	flen = one_event(7, WS_EVENT_IP_PACKET, pkt, len);
	send_sealed(p, WS_MSG_DATA, frame, flen, false);
	expect_only(b, before, "drop_rx_unknown_channel", 1);

	/* an event other than an IP packet on the data channel */
	snapshot(b, before);
	flen = one_event(WS_CHANNEL_DATA, 2, pkt, len);
	send_sealed(p, WS_MSG_DATA, frame, flen, false);
	expect_only(b, before, "drop_rx_unknown_event", 1);

	/* source outside the peer's AllowedIPs (B's own range) */
	snapshot(b, before);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 1, 1, 9, 9, (const uint8_t *)"spoof", 5);
	flen = one_event(WS_CHANNEL_DATA, WS_EVENT_IP_PACKET, pkt, len);
	send_sealed(p, WS_MSG_DATA, frame, flen, false);
	expect_only(b, before, "drop_rx_source", 1);

	/* a fragment the reassembler refuses: frag_count 0 */
	snapshot(b, before);
	memset(frame, 0, 8);
	memcpy(frame + 8, pkt, 16);
	send_sealed(p, WS_MSG_DATA_FRAGMENT, frame, 24, false);
	expect_only(b, before, "drop_rx_reassembly", 1);

	/* a handshake message of the wrong size */
	snapshot(b, before);
	memset(raw, 0, sizeof(raw));
	raw[0] = WS_MSG_HANDSHAKE_INIT;
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, raw, 40), 0);
	settle(p);
	expect_only(b, before, "rx_bad_packet", 1);

	/* a transport packet for no session */
	snapshot(b, before);
	memset(raw, 0, sizeof(raw));
	raw[0] = WS_MSG_DATA;
	raw[4] = 0xef, raw[5] = 0xbe, raw[6] = 0xad, raw[7] = 0xde;
	CU_ASSERT_EQUAL(ws_pipe_send_raw(&p->a, raw, 48), 0);
	settle(p);
	expect_only(b, before, "rx_unknown_index", 1);

	/* `get` says the same */
	CU_ASSERT_EQUAL(ws_pipe_request(p, &p->b, "get=1\n\n", &reply), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	for (size_t i = 0; i < N_COUNTERS; i++) {
		CU_ASSERT(ws_pipe_reply_u64(reply, NULL, counters[i].key, &v));
		CU_ASSERT_EQUAL(v, counter(b, i));
	}
	free(reply);
	ws_pipe_close(p);
}

/* Packets staged while no session exists: beyond WS_STAGED_MAX the oldest go, counted. */
static void test_tx_staging_full(void)
{
	enum { N = WS_STAGED_MAX + 8 };
	struct ws_pipe *p = open_sync(0, false);
	uint64_t before[N_COUNTERS];
	size_t len;

	if (!p)
		return;
	snapshot(&p->a.dev, before);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 1, 9, 9, (const uint8_t *)"stage", 5);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, NULL, pkt, len), 0);
	ws_pipe_pump_end(p, &p->a, 8);   /* B sleeps: no handshake completes */
	expect_only(&p->a.dev, before, "drop_tx_staging_full", N - WS_STAGED_MAX);
	ws_pipe_close(p);
}

/* A super-packet the segmenter refuses (TSO claimed for a UDP packet). */
static void test_tx_bad_packet(void)
{
	struct ws_pipe *p = open_sync(WS_DEVICE_TUN_VNET, true);
	uint8_t vnet[10] = { 0, VIRTIO_NET_HDR_GSO_TCPV4, 0, 0, 100, 0, 0, 0, 0, 0 };
	uint64_t before[N_COUNTERS];
	uint8_t payload[400];
	size_t len;

	if (!p)
		return;
	settle(p);
	memset(payload, 0x5a, sizeof(payload));
	snapshot(&p->a.dev, before);
	len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, 0, 1, 9, 9, payload, sizeof(payload));
	CU_ASSERT_EQUAL_FATAL(ws_pipe_tun_write(&p->a, vnet, pkt, len), 0);
	settle(p);
	expect_only(&p->a.dev, before, "drop_tx_bad_packet", 1);
	ws_pipe_close(p);
}

WS_SUITE(drops)
{
	WS_ADD(suite, test_rx_drops);
	WS_ADD(suite, test_tx_staging_full);
	WS_ADD(suite, test_tx_bad_packet);
}
