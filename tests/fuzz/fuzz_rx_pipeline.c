/* SPDX-License-Identifier: MIT */
/*
 * The receive pipeline of a live device, end to end, with authenticated but
 * hostile traffic: device B (tests/pipe_harness.h, driven synchronously, no
 * threads) holds a session with A; the input's records are mostly plaintexts
 * that the harness seals on A's current session with a valid tag and counter
 * ("an independent peer"), so B's rx batch gets past the AEAD into replay,
 * roaming, frame decoding, AllowedIPs, reassembly, GRO and TUN writes, and
 * channel-0 frames reach the control channel (reliable delivery, ACKs,
 * hello/ping/goodbye, channel close) on B's inbox, whose answers A handles.
 *
 * Input: byte 0: bits 0-1 B's TUN: 0 or 3 plain, 1 offloads (TCP), 2 with USO.
 * Then records: a flag byte, a little-endian 16-bit length, the bytes:
 *   flag bits 0-2  0-2 Data (bytes: the frame), 3 DataFragment (bytes: the
 *                  fragment plaintext: sub-header and data), 4 Keepalive,
 *                  5 Disconnect if bytes[0] is 'D' (else Keepalive),
 *                  6 raw datagram (bytes as they are),
 *                  7 forged: a transport header with B's valid index and the
 *                  next counter (type 4 + bytes[0] % 4), then bytes[1..]
 *   bit 3          reuse the counter of this input's previous sealed or forged
 *                  packet (a replay) instead of the next
 *   bit 4          let B receive what was sent so far (a batch boundary)
 *   bits 5-6       skip 0, 31, 2047 or 100000 counters first
 *   bit 7          also run B's inbox (the ctl thread) now
 * Each input starts from a live session, empty reassembly and fresh control
 * channels on both sides, so it replays alone.
 *
 * Checked: no sanitizer report; B writes only packets whose source lies in
 * A's AllowedIPs; B counts as received exactly the sealed packets with a
 * fresh counter (replays and forgeries none) until its inbox first runs;
 * its reassemblers stay consistent.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"
#include "core/ctlmsg.h"
#include "core/frame.h"
#include "core/offload.h"
#include "daemon/ctl_loop.h"
#include "daemon/ctlchan.h"
#include "os/clock.h"
#include "os/log.h"
#include "pipe_harness.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum {
	MAX_RECORDS = 256,
	N_CONFIGS = 3,
	FUZZ_MAX_LEN = 16384,
	PKT_MAX = 65536 + 64,
};

#define REFRESH_NS (60 * WS_NSEC_PER_SEC)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ws_pipe *pipes[N_CONFIGS];
static uint64_t next_fresh[N_CONFIGS]; /* lowest counter of A's current session B has not seen */
static uint64_t sent_on[N_CONFIGS];   /* that session (birth time; a slot is reused) */
static uint8_t sealed[PKT_MAX];
static bool verbose;               /* WS_FUZZ_VERBOSE: one line per input */

/* ---- the pipes --------------------------------------------------------------------- */

/* B still holds A's current session, unclosed. */
static bool b_has_session(struct ws_pipe *p)
{
	struct ws_slot *s = p->a.peer->cur;
	struct ws_index_entry *e;

	if (!s || atomic_load(&s->dead))
		return false;
	e = ws_index_lookup(&p->b.dev.index, s->s.remote_index);
	return e && e->kind == WS_IDX_SESSION && e->slot->used && !atomic_load(&e->slot->dead);
}

static struct ws_pipe *pipe_for(unsigned key)
{
	struct ws_pipe *p;

	if (!pipes[key]) {
		struct ws_pipe_opts o = {
			.flags_b = key == 0 ? 0 : key == 1 ? WS_DEVICE_TUN_VNET : WS_DEVICE_TUN_VNET | WS_DEVICE_TUN_USO,
		};

		CHECK(ws_pipe_open(&pipes[key], &o) == 0);
	}
	p = pipes[key];
	if (!ws_pipe_connected(p) || !b_has_session(p) ||
	    ws_now_ns() - p->a.peer->cur->s.birth_ns > REFRESH_NS) {
		CHECK(ws_pipe_handshake(p, &p->a, 2000) == 0);
		ws_pipe_pump(p, 64, false);
		CHECK(b_has_session(p));
	}
	/* A's own sends (control frames) used counters too: B has seen those. */
	if (sent_on[key] != p->a.peer->cur->s.birth_ns ||
	    next_fresh[key] < atomic_load(&p->a.peer->cur->s.send_counter)) {
		sent_on[key] = p->a.peer->cur->s.birth_ns;
		next_fresh[key] = atomic_load(&p->a.peer->cur->s.send_counter);
	}
	return p;
}

/* Per input: no partial frames, channel 0 restarted on both sides. */
static void reset_state(struct ws_pipe *p)
{
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
		if (p->b.peer->slots[i].used)
			ws_reassembler_free(&p->b.peer->slots[i].reasm);
	ws_ctlchan_reset(p->a.peer);
	ws_ctlchan_reset(p->b.peer);
}

/* ---- what B may write ------------------------------------------------------------------ */

static bool in_side(const uint8_t *a, int family, int side)
{
	uint8_t net[16];

	ws_pipe_addr(side, family, 0, net);
	return !memcmp(a, net, family == AF_INET ? 3 : 8);
}

static void check_out(void *ctx, const uint8_t *buf, size_t len)
{
	const struct ws_pipe_end *to = ctx;
	size_t voff = to->dev.vnet ? WS_VNET_HDR_LEN : 0;
	const uint8_t *ip = buf + voff;
	int family;

	CHECK(len > voff);
	if (voff) {
		struct ws_vnet_hdr h;
		uint8_t gso;

		ws_vnet_hdr_decode(buf, &h);
		gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
		CHECK(gso == VIRTIO_NET_HDR_GSO_NONE || gso == VIRTIO_NET_HDR_GSO_TCPV4 ||
		      gso == VIRTIO_NET_HDR_GSO_TCPV6 || (gso == VIRTIO_NET_HDR_GSO_UDP_L4 && to->dev.uso));
	}
	CHECK(ip[0] >> 4 == 4 || ip[0] >> 4 == 6);
	family = ip[0] >> 4 == 4 ? AF_INET : AF_INET6;
	CHECK(len - voff >= (family == AF_INET ? 20u : 40u));
	CHECK(in_side(ip + (family == AF_INET ? 12 : 8), family, 1 - to->side));
}

static void b_receive(struct ws_pipe *p)
{
	for (int k = 0; k < 64 && ws_rx_batch_run(p->b.rxb, ws_now_ns()) > 0; k++)
		;
}

/* ---- one input -------------------------------------------------------------------------- */

struct run {
	struct ws_pipe *p;
	unsigned key;
	uint64_t last_counter, expected;
	bool oracle;                   /* B's inbox has not run yet */
};

static void skip_counters(struct ws_slot *s, unsigned bits)
{
	static const uint64_t skip[4] = {0, 31, 2047, 100000};

	atomic_fetch_add(&s->s.send_counter, skip[bits & 3]);
}

static void one_record(struct run *r, uint8_t flag, const uint8_t *b, size_t len)
{
	static const uint8_t types[4] = {WS_MSG_DATA, WS_MSG_DISCONNECT, WS_MSG_KEEPALIVE, WS_MSG_DATA_FRAGMENT};
	struct ws_pipe_end *a = &r->p->a;
	unsigned kind = flag & 7;
	uint64_t counter = flag & 8 ? r->last_counter : UINT64_MAX, used;
	uint8_t type;
	ssize_t n;

	skip_counters(a->peer->cur, flag >> 5);
	if (kind == 6) {
		ws_pipe_send_raw(a, b, len);
		return;
	}
	if (kind == 7) {
		uint8_t *pkt = sealed;

		if (!len || len + WS_SIZE_DATA_HEADER > sizeof(sealed))
			return;
		/* A valid header for B (a header for A's sealing): the bytes after it are no ciphertext. */
		n = ws_pipe_seal(a, WS_MSG_KEEPALIVE, counter, NULL, 0, pkt, sizeof(sealed), &used);
		if (n < 0)
			return;
		pkt[0] = types[b[0] & 3];
		memcpy(pkt + WS_SIZE_DATA_HEADER, b + 1, len - 1);
		ws_pipe_send_raw(a, pkt, WS_SIZE_DATA_HEADER + len - 1);
		r->last_counter = used;
		return;
	}
	type = kind <= 2 ? WS_MSG_DATA : kind == 3 ? WS_MSG_DATA_FRAGMENT
		: kind == 5 && len && b[0] == 'D' ? WS_MSG_DISCONNECT : WS_MSG_KEEPALIVE;
	if (type == WS_MSG_DISCONNECT || type == WS_MSG_KEEPALIVE)
		len = 0;
	n = ws_pipe_seal(a, type, counter, b, len, sealed, sizeof(sealed), &used);
	if (n < 0)
		return;
	if (ws_pipe_send_raw(a, sealed, (size_t)n))
		return; /* too big for UDP: B never sees it */
	r->last_counter = used;
	/* A counter B has not seen (even after a forgery that carried it) is fresh: B must take it. */
	if (used >= next_fresh[r->key]) {
		r->expected++;
		next_fresh[r->key] = used + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = {0};
	uint64_t b_rx;
	size_t pos = 1;
	unsigned n_rec = 0;

	if (size < 1)
		return 0;
	r.key = (data[0] & 3) == 3 ? 0 : data[0] & 3;
	r.p = pipe_for(r.key);
	r.oracle = true;
	r.last_counter = UINT64_MAX; /* nothing sent yet: a "replay" takes the next counter */
	reset_state(r.p);
	b_rx = atomic_load(&r.p->b.peer->stats.rx_packets);
	while (pos + 3 <= size && n_rec++ < MAX_RECORDS) {
		uint8_t flag = data[pos];
		size_t len = (size_t)(data[pos + 1] | data[pos + 2] << 8);

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		one_record(&r, flag, data + pos, len);
		pos += len;
		if (flag & 0x10)
			b_receive(r.p);
		if (flag & 0x80) {
			b_receive(r.p);
			if (r.oracle)
				CHECK(atomic_load(&r.p->b.peer->stats.rx_packets) - b_rx == r.expected);
			r.oracle = false;
			ws_ctl_drain_inbox(&r.p->b.dev);
		}
		if (!b_has_session(r.p))
			break; /* closed by a Disconnect the inbox took: the rest would be unknown */
	}
	b_receive(r.p);
	if (r.oracle)
		CHECK(atomic_load(&r.p->b.peer->stats.rx_packets) - b_rx == r.expected);
	ws_pipe_pump(r.p, 32, false);
	if (verbose)
		fprintf(stderr, "rx_pipeline: %u records, %llu fresh sealed, B: rx %llu dropped %llu, ctl rx %llu, "
			"resets %llu; A: ctl rx %llu; B wrote %u to its TUN\n", n_rec,
			(unsigned long long)r.expected,
			(unsigned long long)(atomic_load(&r.p->b.peer->stats.rx_packets) - b_rx),
			(unsigned long long)atomic_load(&r.p->b.peer->stats.rx_dropped),
			(unsigned long long)r.p->b.peer->ctl_rx_count, (unsigned long long)r.p->b.peer->ctl_resets,
			(unsigned long long)r.p->a.peer->ctl_rx_count, ws_pipe_tun_drain(&r.p->b, NULL, NULL));
	ws_pipe_tun_drain(&r.p->b, check_out, &r.p->b);
	ws_pipe_tun_drain(&r.p->a, check_out, &r.p->a);
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
		CHECK(ws_reassembler_consistent(&r.p->b.peer->slots[i].reasm));
	return 0;
}

/* ---- seeds: WS_FUZZ_WRITE_SEEDS=DIR writes the seed corpus there and exits ------------------- */

static uint8_t seed[FUZZ_MAX_LEN], sframe[8192], sip[4096];
static size_t seed_len;

static void seed_start(unsigned cfg)
{
	seed[0] = (uint8_t)cfg;
	seed_len = 1;
}

static void seed_add(uint8_t flag, const uint8_t *b, size_t len)
{
	CHECK(seed_len + 3 + len <= sizeof(seed));
	seed[seed_len++] = flag;
	seed[seed_len++] = (uint8_t)len;
	seed[seed_len++] = (uint8_t)(len >> 8);
	if (len)
		memcpy(seed + seed_len, b, len);
	seed_len += len;
}

static void seed_write(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f && fwrite(seed, 1, seed_len, f) == seed_len);
	fclose(f);
}

/* A sframe on channel with events (type, payload) and a trailer. */
struct ev {
	uint8_t type;
	const uint8_t *p;
	size_t len;
};

static size_t make_frame(uint8_t channel, const struct ev *evs, size_t n, uint32_t seq, uint32_t ack)
{
	struct ws_frame_writer w;

	ws_frame_writer_init(&w, sframe, sizeof(sframe), channel);
	for (size_t i = 0; i < n; i++)
		CHECK(ws_frame_writer_add(&w, evs[i].type, evs[i].p, evs[i].len));
	CHECK(ws_frame_writer_finish(&w, seq, ack, ack ? 1 : 0, ack ? 64 : 0));
	return ws_frame_writer_len(&w);
}

/* A sframe cut into DataFragment plaintexts of at most max payload bytes, in the given order. */
static void add_fragments(const uint8_t *f, size_t len, size_t max, uint32_t id, bool reverse)
{
	uint8_t frag[2048];
	uint32_t count = ws_fragment_count(len, max);

	for (uint32_t k = 0; k < count; k++) {
		uint16_t i = (uint16_t)(reverse ? count - 1 - k : k);
		size_t off, n = ws_fragment_span(len, max, i, &off);

		seed_add(3, frag, ws_fragment_write(frag, id, i, (uint16_t)count, f + off, n));
	}
}

static size_t udp_pkt(uint8_t *out, size_t cap, int family, size_t n, unsigned salt)
{
	uint8_t pay[1400];

	for (size_t i = 0; i < n; i++)
		pay[i] = (uint8_t)(i + salt);
	return ws_pipe_build_udp(out, cap, family, 0, 1, 1234, (uint16_t)(4321 + salt), pay, n);
}

static void write_seeds(const char *dir)
{
	uint8_t p2[1500], big[2000], ctl[WS_CTL_MAX_PAYLOAD];
	struct ws_ctl_hello hello = {.version = WS_CTL_VERSION, .mtu = 1400, .max_packet_size = 1445,
				     .caps = WS_CTL_CAP_COALESCE};
	struct ws_ctl_ping ping = {.id = 7, .timestamp = 123456789};
	struct ev evs[8];
	size_t n, m;

	seed_start(0);
	n = udp_pkt(sip, sizeof(sip), AF_INET, 64, 1);
	evs[0] = (struct ev){WS_EVENT_IP_PACKET, sip, n};
	seed_add(0, sframe, make_frame(WS_CHANNEL_DATA, evs, 1, 0, 0));
	seed_write(dir, "data-one-packet");

	seed_start(0);
	for (int i = 0; i < 6; i++) {
		static uint8_t pk[6][256];

		n = udp_pkt(pk[i], sizeof(pk[i]), i & 1 ? AF_INET6 : AF_INET, (size_t)(20 + 30 * i), (unsigned)i);
		evs[i] = (struct ev){WS_EVENT_IP_PACKET, pk[i], n};
	}
	seed_add(0, sframe, make_frame(WS_CHANNEL_DATA, evs, 6, 0, 0));
	seed_write(dir, "data-coalesced-v4-v6");

	seed_start(1); /* B coalesces TCP segments of one flow */
	for (int i = 0; i < 4; i++) {
		static uint8_t pk[4][400];
		uint8_t pay[300];

		memset(pay, 'a' + i, sizeof(pay));
		n = ws_pipe_build_tcp(pk[i], sizeof(pk[i]), AF_INET, 0, 1, 1000 + 300 * (uint32_t)i, 0, pay, 300);
		evs[0] = (struct ev){WS_EVENT_IP_PACKET, pk[i], n};
		seed_add(0, sframe, make_frame(WS_CHANNEL_DATA, evs, 1, 0, 0));
	}
	seed_write(dir, "data-tcp-flow-gro");

	seed_start(2); /* B coalesces UDP datagrams (USO) */
	for (int i = 0; i < 5; i++) {
		static uint8_t pk[5][300];
		uint8_t pay[200];

		memset(pay, 'A' + i, sizeof(pay));
		n = ws_pipe_build_udp(pk[i], sizeof(pk[i]), AF_INET6, 0, 1, 53, 5353, pay, sizeof(pay));
		evs[i] = (struct ev){WS_EVENT_IP_PACKET, pk[i], n};
	}
	seed_add(0, sframe, make_frame(WS_CHANNEL_DATA, evs, 5, 0, 0));
	seed_write(dir, "data-udp-flow-uso");

	seed_start(0);
	n = udp_pkt(sip, sizeof(sip), AF_INET, 30, 2);
	ws_pipe_addr(1, AF_INET, 5, sip + 12); /* B's own prefix as source: not A's to send */
	evs[0] = (struct ev){WS_EVENT_IP_PACKET, sip, n};
	evs[1] = (struct ev){42, sip, 10}; /* an unknown event type */
	seed_add(0, sframe, make_frame(WS_CHANNEL_DATA, evs, 2, 0, 0));
	evs[0] = (struct ev){WS_EVENT_IP_PACKET, sip, n};
	seed_add(1, sframe, make_frame(7, evs, 1, 0, 0)); /* an unknown channel */
	seed_write(dir, "data-spoofed-unknown");

	seed_start(0);
	m = 0;
	for (int i = 0; i < 3; i++) {
		static uint8_t pk[3][1400];

		n = udp_pkt(pk[i], sizeof(pk[i]), AF_INET, 1300, (unsigned)(10 + i));
		evs[i] = (struct ev){WS_EVENT_IP_PACKET, pk[i], n};
		m += n;
	}
	n = make_frame(WS_CHANNEL_DATA, evs, 3, 0, 0);
	add_fragments(sframe, n, 1405, 1, false);
	add_fragments(sframe, n, 1000, 2, true);
	seed_write(dir, "fragments-in-order-and-reversed");

	seed_start(0);
	evs[0] = (struct ev){WS_CTL_HELLO, ctl, ws_ctl_hello_encode(ctl, &hello)};
	seed_add(0x10, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 1, 0));
	evs[0] = (struct ev){WS_CTL_PING, p2, ws_ctl_ping_encode(p2, &ping)};
	seed_add(0x10, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 2, 1));
	seed_add(0x90, sframe, make_frame(WS_CHANNEL_CONTROL, NULL, 0, 0, 1)); /* a bare ACK */
	evs[0] = (struct ev){WS_CTL_GOODBYE, ctl, ws_ctl_goodbye_encode(ctl, 0, "bye")};
	seed_add(0, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 3, 1));
	seed_write(dir, "control-hello-ping-ack-goodbye");

	seed_start(0);
	evs[0] = (struct ev){WS_EVENT_CHANNEL_CLOSE, NULL, 0};
	seed_add(0x90, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 1, 0)); /* reliable channel close */
	seed_add(0x88, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 1, 0)); /* and its retransmission */
	seed_add(0x80, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 0, 0)); /* unreliable */
	seed_add(0x80, sframe, make_frame(WS_CHANNEL_CONTROL, NULL, 0, 2, 0)); /* a Seq, no events */
	seed_write(dir, "control-channel-close");

	seed_start(0);
	memset(big, 'x', sizeof(big));
	evs[0] = (struct ev){200, big, 1200}; /* an unknown control message of 1200 bytes */
	seed_add(0x80, sframe, make_frame(WS_CHANNEL_CONTROL, evs, 1, 1, 0));
	evs[0] = (struct ev){201, big, 2000};
	n = make_frame(WS_CHANNEL_CONTROL, evs, 1, 2, 0);
	add_fragments(sframe, n, 600, 9, false);
	seed_write(dir, "control-oversized-events");

	seed_start(0);
	n = udp_pkt(sip, sizeof(sip), AF_INET6, 100, 3);
	evs[0] = (struct ev){WS_EVENT_IP_PACKET, sip, n};
	m = make_frame(WS_CHANNEL_DATA, evs, 1, 0, 0);
	seed_add(0x00, sframe, m);
	seed_add(0x08, sframe, m);           /* the same counter again: a replay */
	seed_add(0x40, sframe, m);           /* 2047 counters on */
	seed_add(0x60, sframe, m);           /* 100000 on */
	seed_add(0x08 | 0x10, sframe, m);    /* replay of that, in its own batch */
	seed_add(4, NULL, 0);               /* keepalive */
	seed_write(dir, "replay-and-counter-jumps");

	seed_start(0);
	memset(big, 0, 200);
	big[0] = WS_MSG_HANDSHAKE_INIT;
	seed_add(6, big, WS_SIZE_HANDSHAKE_INIT); /* a handshake message that fails its MAC */
	seed_add(6, big, 3);                      /* garbage */
	big[0] = 4;
	seed_add(7, big, 60);                     /* B's index, a forged tag */
	seed_add(5, (const uint8_t *)"D", 1);     /* Disconnect */
	seed_add(0x80, sframe, m);                 /* after it: unknown */
	seed_write(dir, "raw-forged-disconnect");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *args[256];
	bool has = false;
	int n = *argc;

	for (int i = 0; i < n; i++)
		has |= !strncmp((*argv)[i], "-max_len=", 9);
	if (!has && n < 255) {
		memcpy(args, *argv, (size_t)n * sizeof(char *));
		args[n++] = (char *)"-max_len=16384";
		args[n] = NULL;
		*argc = n;
		*argv = args;
	}
	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("WS_FUZZ_VERBOSE") != NULL;
	ws_log_open("fuzz_rx_pipeline", true, verbose ? WS_LOG_DEBUG : WS_LOG_ERR);
	if (ws_crypto_init())
		return -1;
	if (getenv("WS_FUZZ_WRITE_SEEDS")) {
		write_seeds(getenv("WS_FUZZ_WRITE_SEEDS"));
		exit(0);
	}
	return 0;
}
