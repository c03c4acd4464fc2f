/* SPDX-License-Identifier: MIT */
/*
 * The transmit pipeline of a live device, end to end: arbitrary TUN reads
 * into device A (with or without TUN offloads, so any virtio-net header:
 * every gso_type, any gso_size, csum_start/offset, hdr_len), through A's tx
 * batch (routing, segmentation, framing, coalescing, fragmentation, sealing,
 * sendmmsg) to device B, whose rx batch opens, reassembles, checks AllowedIPs
 * and writes to its TUN (coalescing again when B has offloads). Both devices
 * live in this process (tests/pipe_harness.h), driven synchronously: no
 * threads, no sleeps; a session is set up once per configuration and renewed
 * every minute.
 *
 * Input: byte 0 is the configuration:
 *   bit 0     A reads with virtio-net headers (offloads on)
 *   bits 1-2  B: 0 or 3 plain TUN, 1 offloads (TCP), 2 offloads with USO
 *   bit 3     MaxPacketSize 1000 (every full-size packet fragmented), else the default
 *   bit 4     fix IPv4 header and TCP/UDP checksums of each read first
 *   bits 5-6  each read goes to the TUN 1, 2, 4 or 8 times (a stream of alike super-packets)
 * Reads stop at 128 KiB or 2048 segments (len / gso_size) per input, so that
 * an input costs tens of milliseconds at most.
 * then TUN reads, each two little-endian 16-bit numbers, len and pad, and len
 * bytes (the last one cut at the end of the input): the read is those bytes
 * and pad more of a fixed pattern (so a 64 KB super-packet takes a few dozen
 * input bytes, and mutations land on its headers); with offloads on a read
 * starts with its 10-byte virtio-net header.
 *
 * Checked: no sanitizer report; B writes only packets whose source lies in
 * A's AllowedIPs (and with offloads, only the GSO types it may); every
 * datagram one side counts as sent the other counts as received; and with
 * both sides plain (and reads within the MTU) every read that A routes to B
 * and whose source B accepts comes out of B's TUN byte-identical and in
 * order, nothing else.
 *
 * -max_len defaults to 65600 here (a 64 KB super-packet and its header, also
 * without padding).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"
#include "core/offload.h"
#include "os/clock.h"
#include "os/log.h"
#include "pipe_harness.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum {
	MAX_RECORDS = 256,
	N_CONFIGS = 12,
	FUZZ_MAX_LEN = 65600,
	READ_MAX = WS_VNET_HDR_LEN + 65535, /* the largest TUN read */
	MAX_INPUT_BYTES = 2 * READ_MAX,     /* TUN bytes per input */
	MAX_INPUT_SEGS = 2048,              /* segments (estimated) per input: 2 full batches */
};

/* The bytes a record's padding stands for (seeds build their payloads from them too). */
static uint8_t pad_byte(size_t k)
{
	return (uint8_t)(k * 7 + 1);
}

#define REFRESH_NS (60 * WS_NSEC_PER_SEC)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ws_pipe *pipes[N_CONFIGS];
static size_t udp_room[N_CONFIGS], tun_room[N_CONFIGS]; /* B's receive queues */
static uint8_t pad_bytes[READ_MAX];                      /* pad_byte(0), pad_byte(1), ... */

/* Reads A takes, kept to check B's output against (plain/plain only). */
static struct {
	const uint8_t *pkt;
	size_t len;
} expect[MAX_RECORDS];
static unsigned n_expect, n_seen;
static size_t out_bytes;
static bool verbose;               /* WS_FUZZ_VERBOSE: one line per input */
static bool exact;
static uint8_t expect_buf[MAX_RECORDS * 2048 + 2 * READ_MAX];

/* ---- seeds: WS_FUZZ_WRITE_SEEDS=DIR writes the seed corpus there and exits ---------------- */

static uint8_t seed[FUZZ_MAX_LEN + 1024], spkt[FUZZ_MAX_LEN];
static size_t seed_len;

static void seed_start(unsigned cfg)
{
	seed[0] = (uint8_t)cfg;
	seed_len = 1;
}

/* One read: its first keep bytes given, the rest (which must be the pad pattern) as padding. */
static void seed_add_pad(const uint8_t *vnet, const uint8_t *p, size_t len, size_t keep)
{
	size_t pad = len > keep ? len - keep : 0, n;

	len -= pad;
	for (size_t k = 0; k < pad; k++)
		CHECK(p[len + k] == pad_byte(k));
	n = len + (vnet ? WS_VNET_HDR_LEN : 0);
	CHECK(seed_len + 4 + n <= sizeof(seed));
	seed[seed_len++] = (uint8_t)n;
	seed[seed_len++] = (uint8_t)(n >> 8);
	seed[seed_len++] = (uint8_t)pad;
	seed[seed_len++] = (uint8_t)(pad >> 8);
	if (vnet) {
		memcpy(seed + seed_len, vnet, WS_VNET_HDR_LEN);
		seed_len += WS_VNET_HDR_LEN;
	}
	memcpy(seed + seed_len, p, len);
	seed_len += len;
}

static void seed_add(const uint8_t *vnet, const uint8_t *p, size_t len)
{
	size_t hl = len >= 20 && p[0] >> 4 == 4 ? 20 : len >= 40 && p[0] >> 4 == 6 ? 40 : len;

	/* Big packets: headers given, payload as padding. */
	if (len > 256 && hl < len)
		hl += p[hl - (hl == 20 ? 11 : 34)] == WS_PROTO_TCP ? 20 : 8;
	seed_add_pad(vnet, p, len, len > 256 ? hl : len);
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


static size_t udp(int family, int from, int to, size_t n, unsigned salt)
{
	static uint8_t pay[FUZZ_MAX_LEN];

	for (size_t i = 0; i < n; i++)
		pay[i] = pad_byte(i);
	return ws_pipe_build_udp(spkt, sizeof(spkt), family, from, to, 4000, (uint16_t)(5000 + salt), pay, n);
}

static size_t tcp(int family, size_t n, uint32_t seq, uint8_t flags)
{
	static uint8_t pay[FUZZ_MAX_LEN];

	for (size_t i = 0; i < n; i++)
		pay[i] = pad_byte(i);
	return ws_pipe_build_tcp(spkt, sizeof(spkt), family, 0, 1, seq, flags, pay, n);
}

/* A UDP super-packet as the kernel hands it over with USO. */
static void make_uso(uint8_t *p, size_t len, uint16_t gso_size, uint8_t vnet[WS_VNET_HDR_LEN])
{
	bool v4 = p[0] >> 4 == 4;
	size_t ihl = v4 ? 20 : 40, alen = v4 ? 4 : 16;
	const uint8_t *src = p + (v4 ? 12 : 8);
	struct ws_vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
				.hdr_len = (uint16_t)(ihl + 8), .gso_size = gso_size,
				.csum_start = (uint16_t)ihl, .csum_offset = WS_UDP_CSUM_OFF};

	ws_csum_put(p + ihl + WS_UDP_CSUM_OFF,
		    ws_csum_fold(ws_csum_pseudo(src, src + alen, alen, WS_PROTO_UDP, (uint32_t)(len - ihl))));
	ws_vnet_hdr_encode(&h, vnet);
}

static void write_seeds(const char *dir)
{
	static const uint8_t plain_hdr[WS_VNET_HDR_LEN];
	uint8_t vnet[WS_VNET_HDR_LEN];
	struct ws_vnet_hdr h;
	size_t n;

	seed_start(0);
	seed_add(NULL, spkt, udp(AF_INET, 0, 1, 100, 1));
	seed_write(dir, "plain-udp4");

	seed_start(0);
	seed_add(NULL, spkt, udp(AF_INET, 0, 1, 1, 2));
	seed_add(NULL, spkt, udp(AF_INET6, 0, 1, 1352, 3));
	seed_add(NULL, spkt, tcp(AF_INET, 500, 1000, WS_TCP_PSH));
	seed_add(NULL, spkt, tcp(AF_INET6, 0, 2000, 0));
	n = udp(AF_INET, 0, 1, 20, 4);
	ws_pipe_addr(5, AF_INET, 9, spkt + 12); /* source outside A's prefix: B drops it */
	seed_add(NULL, spkt, n);
	seed_add(NULL, spkt, udp(AF_INET, 0, 7, 20, 5)); /* no route */
	n = udp(AF_INET6, 0, 1, 64, 6);
	seed_add(NULL, spkt, n - 30); /* truncated */
	seed_add(NULL, spkt, 0);
	seed_write(dir, "plain-mixed");

	seed_start(8);
	seed_add(NULL, spkt, udp(AF_INET, 0, 1, 1372, 7));
	seed_add(NULL, spkt, udp(AF_INET6, 0, 1, 9000, 8)); /* beyond the MTU: fragmented */
	seed_add(NULL, spkt, udp(AF_INET, 0, 1, 100, 9));
	seed_write(dir, "plain-fragments");

	seed_start(1 | 16);
	n = udp(AF_INET, 0, 1, 300, 10);
	h = (struct ws_vnet_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
				 .csum_offset = WS_UDP_CSUM_OFF};
	ws_vnet_hdr_encode(&h, vnet);
	seed_add(vnet, spkt, n);
	n = tcp(AF_INET6, 700, 3000, WS_TCP_PSH);
	h = (struct ws_vnet_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40,
				 .csum_offset = WS_TCP_CSUM_OFF};
	ws_vnet_hdr_encode(&h, vnet);
	seed_add(vnet, spkt, n);
	seed_add(plain_hdr, spkt, udp(AF_INET6, 0, 1, 50, 11));
	seed_write(dir, "vnet-none-needs-csum");

	seed_start(1 | 2);
	n = tcp(AF_INET, 64000, 0x10000000, WS_TCP_PSH);
	ws_pipe_make_tso(spkt, n, 1400, vnet);
	seed_add(vnet, spkt, n);
	seed_write(dir, "tso4-64k-mss1400-gro");

	/* Small MSS, as a path MTU of 576 or a peer's TCP_MAXSEG gives (many segments per read). */
	seed_start(1);
	n = tcp(AF_INET, 64000, 0x20000000, WS_TCP_PSH);
	ws_pipe_make_tso(spkt, n, 536, vnet);
	seed_add(vnet, spkt, n);
	seed_write(dir, "tso4-64k-mss536");

	seed_start(1 | 2);
	n = tcp(AF_INET6, 32000, 0x30000000, 0);
	ws_pipe_make_tso(spkt, n, 88, vnet);
	seed_add(vnet, spkt, n);
	seed_write(dir, "tso6-32k-mss88");

	seed_start(1);
	n = tcp(AF_INET6, 30000, 0xfffff000, 0);
	ws_pipe_make_tso(spkt, n, 1340, vnet);
	seed_add(vnet, spkt, n);
	seed_write(dir, "tso6-30k-seqwrap");

	seed_start(1 | 2 | 8);
	for (int i = 0; i < 3; i++) {
		n = tcp(AF_INET, 9000, 5000 + 9000 * (uint32_t)i, i == 2 ? WS_TCP_PSH : 0);
		ws_pipe_make_tso(spkt, n, 1000, vnet);
		seed_add(vnet, spkt, n);
	}
	seed_write(dir, "tso4-three-reads-fragmented");

	seed_start(1 | 4);
	n = tcp(AF_INET, 5000, 77, WS_TCP_CWR);
	ws_pipe_make_tso(spkt, n, 536, vnet);
	vnet[1] |= VIRTIO_NET_HDR_GSO_ECN;
	seed_add(vnet, spkt, n);
	n = udp(AF_INET, 0, 1, 8000, 12);
	make_uso(spkt, n, 1000, vnet);
	seed_add(vnet, spkt, n);
	n = udp(AF_INET6, 0, 1, 4000, 13);
	make_uso(spkt, n, 1200, vnet);
	seed_add(vnet, spkt, n);
	seed_write(dir, "ecn-and-uso");
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
		args[n++] = (char *)"-max_len=65600";
		args[n] = NULL;
		*argc = n;
		*argv = args;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t k = 0; k < sizeof(pad_bytes); k++)
		pad_bytes[k] = pad_byte(k);
	verbose = getenv("WS_FUZZ_VERBOSE") != NULL;
	ws_log_open("fuzz_tx_pipeline", true, verbose ? WS_LOG_DEBUG : WS_LOG_ERR);
	if (ws_crypto_init())
		return -1;
	if (getenv("WS_FUZZ_WRITE_SEEDS")) {
		write_seeds(getenv("WS_FUZZ_WRITE_SEEDS"));
		exit(0);
	}
	return 0;
}

/* What the kernel lets queue on a socket (B's TUN end, B's UDP socket) before it drops. */
static size_t sock_room(int fd, int opt)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, opt, &v, &l) == 0 && v > 0 ? (size_t)v : 0;
}

static struct ws_pipe *pipe_for(unsigned cfg, unsigned *key_out)
{
	unsigned b_mode = (cfg >> 1) & 3, key;
	struct ws_pipe *p;

	if (b_mode == 3)
		b_mode = 0;
	key = (cfg & 1) | b_mode << 1;
	key += (cfg & 8) ? 6 : 0;
	*key_out = key;
	if (!pipes[key]) {
		struct ws_pipe_opts o = {
			.flags_a = cfg & 1 ? WS_DEVICE_TUN_VNET : 0,
			.flags_b = b_mode == 0 ? 0 : b_mode == 1 ? WS_DEVICE_TUN_VNET
								 : WS_DEVICE_TUN_VNET | WS_DEVICE_TUN_USO,
			.max_packet_size = (cfg & 8) ? 1000 : 0,
		};

		CHECK(ws_pipe_open(&pipes[key], &o) == 0);
		udp_room[key] = sock_room(pipes[key]->b.dev.udp.fd[0], SO_RCVBUF);
		tun_room[key] = sock_room(pipes[key]->b.dev.tun_fd, SO_SNDBUF);
	}
	p = pipes[key];
	if (!ws_pipe_connected(p) || ws_now_ns() - p->a.peer->cur->s.birth_ns > REFRESH_NS) {
		CHECK(ws_pipe_handshake(p, &p->a, 2000) == 0);
		ws_pipe_pump(p, 64, false);
	}
	return p;
}

/* ---- checksum fix-ups (bit 4) ------------------------------------------------------ */

static void fix_csums(uint8_t *pkt, size_t len, const struct ws_vnet_hdr *h)
{
	size_t ihl, total, l4_len, off, alen;
	const uint8_t *src;
	uint8_t proto;
	uint64_t ps;

	if (len < 20)
		return;
	/* The IP length fields say what was read (so a padded read is a whole packet). */
	if (pkt[0] >> 4 == 4 && len <= 65535)
		ws_put_be16(pkt + 2, (uint16_t)len);
	else if (pkt[0] >> 4 == 6 && len >= 40 && len - 40 <= 65535)
		ws_put_be16(pkt + 4, (uint16_t)(len - 40));
	if (pkt[0] >> 4 == 4) {
		ihl = (size_t)(pkt[0] & 15) * 4;
		total = ws_be16(pkt + 2);
		if (ihl < 20 || ihl > len || total < ihl || total > len)
			return;
		pkt[10] = pkt[11] = 0;
		ws_csum_put(pkt + 10, ws_csum_finish(ws_csum_add(pkt, ihl, 0)));
		proto = pkt[9];
		src = pkt + 12;
		alen = 4;
	} else if (pkt[0] >> 4 == 6 && len >= 40) {
		ihl = 40;
		total = 40 + (size_t)ws_be16(pkt + 4);
		if (total > len)
			return;
		proto = pkt[6];
		src = pkt + 8;
		alen = 16;
	} else {
		return;
	}
	if (proto != WS_PROTO_TCP && proto != WS_PROTO_UDP)
		return;
	off = proto == WS_PROTO_TCP ? WS_TCP_CSUM_OFF : WS_UDP_CSUM_OFF;
	l4_len = total - ihl;
	if (l4_len < off + 2)
		return;
	ps = ws_csum_pseudo(src, src + alen, alen, proto, (uint32_t)l4_len);
	pkt[ihl + off] = pkt[ihl + off + 1] = 0;
	if (h && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) /* the kernel leaves the pseudo-header sum */
		ws_csum_put(pkt + ihl + off, ws_csum_fold(ps));
	else
		ws_csum_put(pkt + ihl + off, ws_csum_finish(ws_csum_add(pkt + ihl, l4_len, ps)));
}

/* ---- what B may write ---------------------------------------------------------------- */

/* packet_addr of allowedips.c: the address a route or source check reads, or NULL. */
static const uint8_t *addr_of(const uint8_t *p, size_t len, bool dst, int *family)
{
	size_t ihl, total;

	if (len < 1)
		return NULL;
	if (p[0] >> 4 == 4) {
		if (len < 20)
			return NULL;
		ihl = (size_t)(p[0] & 15) * 4;
		total = ws_be16(p + 2);
		if (ihl < 20 || ihl > len || total < ihl || total > len)
			return NULL;
		*family = AF_INET;
		return p + (dst ? 16 : 12);
	}
	if (p[0] >> 4 == 6) {
		if (len < 40 || 40 + (size_t)ws_be16(p + 4) > len)
			return NULL;
		*family = AF_INET6;
		return p + (dst ? 24 : 8);
	}
	return NULL;
}

/* Inside side's prefix (198.19.S.0/24, fd19:0:0:S::/64). */
static bool in_side(const uint8_t *a, int family, int side)
{
	uint8_t net[16];

	ws_pipe_addr(side, family, 0, net);
	return !memcmp(a, net, family == AF_INET ? 3 : 8);
}

struct out_ctx {
	struct ws_pipe_end *to;
	int from_side;
};

static void check_out(void *ctx, const uint8_t *buf, size_t len)
{
	const struct out_ctx *c = ctx;
	size_t voff = c->to->dev.vnet ? WS_VNET_HDR_LEN : 0;
	const uint8_t *ip = buf + voff, *src;
	int family = 0;

	CHECK(len > voff);
	if (voff) {
		struct ws_vnet_hdr h;
		uint8_t gso;

		ws_vnet_hdr_decode(buf, &h);
		gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
		CHECK(gso == VIRTIO_NET_HDR_GSO_NONE || gso == VIRTIO_NET_HDR_GSO_TCPV4 ||
		      gso == VIRTIO_NET_HDR_GSO_TCPV6 || (gso == VIRTIO_NET_HDR_GSO_UDP_L4 && c->to->dev.uso));
	}
	/* Coalesced items carry their first packet's header: the source must still be the peer's. */
	CHECK(ip[0] >> 4 == 4 || ip[0] >> 4 == 6);
	src = ip + (ip[0] >> 4 == 4 ? 12 : 8);
	family = ip[0] >> 4 == 4 ? AF_INET : AF_INET6;
	CHECK(len - voff >= (family == AF_INET ? 20u : 40u));
	CHECK(in_side(src, family, c->from_side));
	out_bytes += len;
	if (exact) {
		CHECK(n_seen < n_expect);
		CHECK(expect[n_seen].len == len && !memcmp(expect[n_seen].pkt, buf, len));
	}
	n_seen++;
}

static uint64_t pkt_count(struct ws_pipe_end *e, bool tx)
{
	return tx ? atomic_load(&e->peer->stats.tx_packets) : atomic_load(&e->peer->stats.rx_packets);
}

/* One TUN read into A; when A's TUN queue is full, A's tx runs first. False if it never fit. */
static bool tun_put(struct ws_pipe *p, const uint8_t *r, size_t len)
{
	for (int tries = 0; tries < 4; tries++) {
		if (send(p->a.tun, r, len, MSG_DONTWAIT) >= 0)
			return true;
		CHECK(errno == EAGAIN || errno == ENOBUFS || errno == EMSGSIZE);
		if (errno == EMSGSIZE)
			return false;
		ws_pipe_pump(p, 4, false);
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[READ_MAX + 16];
	struct out_ctx to_b, to_a;
	uint64_t a_tx, b_rx, b_tx, a_rx, sent;
	struct ws_pipe *p;
	unsigned cfg, key, n_rec = 0, rounds, repeat;
	size_t pos = 1, bytes = 0, exp_bytes = 0; /* bytes: kept in expect_buf */
	size_t total = 0, segs = 0;

	if (size < 1)
		return 0;
	cfg = data[0];
	repeat = 1u << ((cfg >> 5) & 3);
	p = pipe_for(cfg, &key);
	exact = !p->a.dev.vnet && !p->b.dev.vnet;
	n_expect = n_seen = 0;
	a_tx = pkt_count(&p->a, true), b_rx = pkt_count(&p->b, false);
	b_tx = pkt_count(&p->b, true), a_rx = pkt_count(&p->a, false);
	while (pos + 4 <= size && n_rec < MAX_RECORDS) {
		size_t len = (size_t)(data[pos] | data[pos + 1] << 8), voff, given;
		size_t pad = (size_t)(data[pos + 2] | data[pos + 3] << 8);
		uint8_t *r = buf;
		struct ws_vnet_hdr h;
		const uint8_t *dst, *src;
		int fd = 0, fs = 0;
		bool want;

		pos += 4;
		if (len > size - pos)
			len = size - pos;
		given = len;
		if (pad > READ_MAX - len)
			pad = READ_MAX - len;
		memcpy(r, data + pos, given);
		pos += given;
		memcpy(r + given, pad_bytes, pad);
		len = given + pad;
		voff = p->a.dev.vnet && len >= WS_VNET_HDR_LEN ? WS_VNET_HDR_LEN : 0;
		if (voff)
			ws_vnet_hdr_decode(r, &h);
		if (cfg & 16)
			fix_csums(r + voff, len - voff, voff ? &h : NULL);
		n_rec++;
		/* With both sides plain: routed to B with a source B accepts means delivered as is. */
		dst = addr_of(r, len, true, &fd);
		src = addr_of(r, len, false, &fs);
		want = exact && dst && in_side(dst, fd, 1) && in_side(src, fs, 0);
		/* Beyond the MTU (a plain TUN never reads that much) the batch's fragment scratch may run out. */
		if (want && (bytes + len > sizeof(expect_buf) || len > p->a.dev.mtu))
			want = exact = false;
		if (want)
			memcpy(expect_buf + bytes, r, len);
		for (unsigned k = 0; k < repeat && n_expect < MAX_RECORDS; k++) {
			/* Bounded work per input: so many bytes, so many segments at most. */
			total += len;
			if (voff && h.gso_type != VIRTIO_NET_HDR_GSO_NONE && h.gso_size)
				segs += len / h.gso_size;
			if (total > MAX_INPUT_BYTES || segs > MAX_INPUT_SEGS) {
				exact = false;
				break;
			}
			if (!tun_put(p, r, len)) {
				exact = false; /* nothing lost by the daemon, but the check cannot tell */
				break;
			}
			if (want) {
				expect[n_expect].pkt = expect_buf + bytes;
				expect[n_expect++].len = len;
				exp_bytes += len;
			}
		}
		if (want)
			bytes += len;
	}
	rounds = ws_pipe_pump(p, 32, false);
	sent = pkt_count(&p->a, true) - a_tx;
	/* Loopback loses nothing while the receive queues have room: then every check holds. */
	if (rounds >= 32 || sent * 2048 > udp_room[key] || (exp_bytes + 1024 * n_expect) * 2 > tun_room[key])
		exact = false;
	to_b = (struct out_ctx){.to = &p->b, .from_side = 0};
	to_a = (struct out_ctx){.to = &p->a, .from_side = 1};
	out_bytes = 0;
	ws_pipe_tun_drain(&p->b, check_out, &to_b);
	if (verbose)
		fprintf(stderr, "tx_pipeline: cfg %#x, %u reads, A sent %llu (no route %llu), B: rx %llu dropped %llu, "
			"wrote %u packets (%zu bytes), exact %d\n", cfg, n_rec, (unsigned long long)sent,
			(unsigned long long)atomic_load(&p->a.dev.stats.tx_no_route),
			(unsigned long long)(pkt_count(&p->b, false) - b_rx),
			(unsigned long long)atomic_load(&p->b.peer->stats.rx_dropped), n_seen, out_bytes, exact);
	if (exact)
		CHECK(n_seen == n_expect);
	if (rounds < 32 && sent * 2048 <= udp_room[key]) {
		CHECK(sent == pkt_count(&p->b, false) - b_rx);
		CHECK(pkt_count(&p->b, true) - b_tx == pkt_count(&p->a, false) - a_rx);
	}
	exact = false;
	ws_pipe_tun_drain(&p->a, check_out, &to_a);
	return 0;
}
