/* SPDX-License-Identifier: MIT */
/*
 * wsclients: many lightweight Wiresocket v1 clients in one process, for the
 * scale scenario (one wsd per client would be 100 daemons on 2 cores).
 *
 *   wsclients -G COUNT
 *   wsclients -s SERVER:PORT -k SERVER_PUBKEY_B64 -f CLIENTS_FILE -d DST_IPV4
 *             [-b BIND_ADDR] [-n COUNT] [-t SECONDS] [-v]
 *
 * -G prints COUNT new key pairs, "PRIVATE PUBLIC" (base64) a line.
 *
 * Otherwise CLIENTS_FILE has one client a line, "PRIVATE_B64 OVERLAY_IPV4"
 * (the first COUNT lines are used, default all, at most 4096). Each client
 * has its own UDP socket (bound to BIND_ADDR, an ephemeral port, connected
 * to SERVER), so the server sees COUNT endpoints. Every HandshakeInit is
 * built first, then all leave back to back. On its HandshakeResp (MAC1
 * checked, Noise consumed, keys split) a client sends one Data packet: a
 * frame on channel 1 with one type-1 event holding an ICMP echo request from
 * its overlay address to DST_IPV4 (DECISIONS 26), and waits for the echo
 * reply in a Data packet on the same session (decrypted, replay-checked,
 * source DST_IPV4, destination its overlay address, id, sequence and
 * payload echoed). Channel-0 frames from the server are counted and not
 * answered (a peer that sends no control messages, DECISIONS 34). A
 * CookieReply is consumed and the init re-sent with MAC2 at once; an init
 * without answer is re-sent (new ephemeral) after 1 s, an echo request
 * without reply after 1 s.
 *
 * Output (stdout), with -v first one line per client:
 *   client I port P pub PUBLIC handshake_ms H reply_ms R inits N pings M
 * then:
 *   clients N handshakes H replies R cookies C inits I pings P ctl_frames F stale S bad B
 *   elapsed_ms E first_handshake_ms F last_handshake_ms L handshake_rate X last_reply_ms R
 * "stale" counts HandshakeResps to an init since replaced; "bad" what fails
 * a check (MAC1, Noise, AEAD, replay, frame, echo reply). Times are ms since
 * the first init was sent; a handshake's time is the kernel's arrival time
 * of its HandshakeResp (SO_TIMESTAMPNS), so handshake_rate,
 * (handshakes - 1) / (last - first), is the rate at which the server
 * answered a queue of COUNT inits, whatever this process was busy with.
 * Exit 0 when every client got its reply within -t (default 30 s), 1
 * otherwise, 2 on a usage, setup or address-range error.
 *
 * Safety: SERVER and BIND_ADDR must lie in 127.0.0.0/8, ::1,
 * 198.18.0.0/15, fd18::/16 or fd19::/16, and overlay addresses and DST in
 * 198.18.0.0/15 (else exit 2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/frame.h"
#include "core/messages.h"
#include "core/noise.h"
#include "core/session.h"

#define TOOL_NAME "wsclients"
#include "toolnet.h"

enum {
	MAX_CLIENTS = 4096,
	MAX_SECONDS = 3600,
	IP_HDR = 20,
	ICMP_HDR = 8,
	ICMP_DATA = 32,
	ECHO_LEN = IP_HDR + ICMP_HDR + ICMP_DATA,
	RX_MAX = 2048,
};

#define RETRY_NS (1000 * MSEC)

struct client {
	int fd;
	uint16_t port;
	uint32_t overlay;                 /* host order */
	struct ws_noise_local local;
	struct ws_handshake hs;
	struct ws_cookie_maker maker;
	struct ws_cookie_checker checker; /* MAC1 of messages to us */
	struct ws_session sess;
	struct ws_msg_init init;          /* the latest HandshakeInit */
	uint32_t sender_index;
	bool have_session, replied;
	uint64_t init_ns, data_ns, reply_ns;   /* monotonic */
	uint64_t hs_rt;                   /* arrival of the HandshakeResp (kernel timestamp, realtime) */
	unsigned inits, pings;
};

static struct {
	struct addr server, bind;
	bool have_bind, verbose;
	uint8_t server_pub[WS_KEY_LEN];
	uint32_t dst;                     /* host order */
	const char *file;
	unsigned count, seconds;
} o = { .count = MAX_CLIENTS, .seconds = 30 };

static struct {
	uint64_t handshakes, replies, cookies, inits, pings, ctl_frames, stale, bad;
} cnt;

static struct client *cl;
static unsigned n_cl;
static char server_str[64];
static size_t server_str_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static _Noreturn void die(const char *what, const char *arg)
{
	fprintf(stderr, "wsclients: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
	exit(2);
}

/* --- addresses (ranges and parser in toolnet.h) ---------------------------------- */

/*
 * -s (port_needed) or -b: exits 2 on a bad or refused address. Messages
 * quote a bracketed address from after its '[' unless its brackets are
 * malformed (as they always have).
 */
static void parse_addr_or_die(struct addr *out, const char *s, bool port_needed, const char *name)
{
	const char *rb = strchr(s, ']');
	const char *shown = s[0] == '[' && rb && (!rb[1] || rb[1] == ':') ? s + 1 : s;
	int r = addr_parse(out, s, port_needed ? PORT_REQUIRED : PORT_OPTIONAL_NONZERO);

	if (r == -ERANGE)
		die("bad port in", shown);
	if (r < 0)
		die("bad address", shown);
	if (!addr_allowed(&out->ss)) {
		fprintf(stderr, "wsclients: refusing %s address '%s': outside " TEST_RANGES "\n",
			name, shown);
		exit(2);
	}
}

/* An overlay IPv4 address (host order), only in 198.18.0.0/15. */
static uint32_t overlay_parse(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("bad overlay IPv4 address", s);
	if (!v4_in_test_range(ntohl(a.s_addr))) {
		fprintf(stderr, "wsclients: refusing overlay address '%s': outside 198.18.0.0/15\n", s);
		exit(2);
	}
	return ntohl(a.s_addr);
}

/* --- ICMP in IPv4 ---------------------------------------------------------------- */

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ICMP payload of client i's echo number seq. */
static void echo_data(uint8_t *d, unsigned i, unsigned seq)
{
	for (unsigned k = 0; k < ICMP_DATA; k++)
		d[k] = (uint8_t)(i * 7 + seq * 13 + k);
	memcpy(d, "WSC1", 4);
}

static void make_echo(uint8_t ip[ECHO_LEN], unsigned i, unsigned seq)
{
	uint8_t *icmp = ip + IP_HDR;

	memset(ip, 0, ECHO_LEN);
	ip[0] = 0x45;
	put_be16(ip + 2, ECHO_LEN);
	put_be16(ip + 4, (uint16_t)(i + seq));
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	put_be32(ip + 12, cl[i].overlay);
	put_be32(ip + 16, o.dst);
	put_be16(ip + 10, csum(ip, IP_HDR));
	icmp[0] = 8; /* echo request */
	put_be16(icmp + 4, (uint16_t)i);
	put_be16(icmp + 6, (uint16_t)seq);
	echo_data(icmp + ICMP_HDR, i, seq);
	put_be16(icmp + 2, csum(icmp, ICMP_HDR + ICMP_DATA));
}

/* Client i's echo reply to any of its requests (seq 1..pings)? */
static bool is_reply(const uint8_t *ip, size_t len, unsigned i)
{
	const uint8_t *icmp = ip + IP_HDR;
	uint8_t want[ICMP_DATA];
	unsigned seq;

	if (len != ECHO_LEN || ip[0] != 0x45 || ip[9] != 1 || csum(ip, IP_HDR) != 0 ||
	    be32(ip + 12) != o.dst || be32(ip + 16) != cl[i].overlay)
		return false;
	if (icmp[0] != 0 || icmp[1] != 0 || csum(icmp, ICMP_HDR + ICMP_DATA) != 0 ||
	    (unsigned)(icmp[4] << 8 | icmp[5]) != (i & 0xffff))
		return false;
	seq = (unsigned)(icmp[6] << 8 | icmp[7]);
	if (seq == 0 || seq > cl[i].pings)
		return false;
	echo_data(want, i, seq);
	return !memcmp(icmp + ICMP_HDR, want, ICMP_DATA);
}

/* --- one client ----------------------------------------------------------------- */

/* Builds a fresh HandshakeInit (new ephemeral, index and timestamp) into c->init. */
static void make_init(struct client *c, uint64_t now)
{
	uint8_t e[WS_KEY_LEN];

	ws_x25519_genkey(e);
	c->sender_index = ws_random_u32();
	if (!ws_noise_create_init(&c->hs, &c->local, &c->init, e, c->sender_index,
				  clock_ns(CLOCK_REALTIME)))
		die("cannot make a HandshakeInit", NULL);
	ws_wipe(e, sizeof(e));
	ws_cookie_add_macs(&c->maker, (uint8_t *)&c->init, sizeof(c->init), now);
}

static void send_init(struct client *c, uint64_t now)
{
	if (send(c->fd, &c->init, sizeof(c->init), 0) < 0 && errno != ECONNREFUSED)
		fprintf(stderr, "wsclients: send: %s\n", strerror(errno));
	c->init_ns = now;
	c->inits++;
	cnt.inits++;
}

static void send_echo(struct client *c, unsigned i, uint64_t now)
{
	uint8_t pkt[WS_SIZE_DATA_HEADER + 1 + WS_FRAME_IP_EVENT_HEADER + ECHO_LEN +
		    WS_FRAME_MAX_TRAILER + WS_AEAD_TAG_LEN];
	uint8_t ip[ECHO_LEN];
	struct ws_frame_writer w;
	uint64_t counter = 0;
	size_t len;

	make_echo(ip, i, ++c->pings);
	ws_frame_writer_init(&w, pkt + WS_SIZE_DATA_HEADER,
			     sizeof(pkt) - WS_SIZE_DATA_HEADER - WS_AEAD_TAG_LEN, WS_CHANNEL_DATA);
	if (!ws_frame_writer_add(&w, WS_EVENT_IP_PACKET, ip, sizeof(ip)) ||
	    !ws_frame_writer_finish(&w, 0, 0, 0, 0) ||
	    ws_session_next_counter(&c->sess, &counter) < 0)
		die("cannot frame an echo request", NULL);
	len = ws_session_seal(&c->sess, WS_MSG_DATA, counter, pkt, ws_frame_writer_len(&w));
	if (!len)
		die("cannot seal an echo request", NULL);
	if (send(c->fd, pkt, len, 0) < 0 && errno != ECONNREFUSED)
		fprintf(stderr, "wsclients: send: %s\n", strerror(errno));
	c->data_ns = now;
	cnt.pings++;
}

static void on_resp(struct client *c, unsigned i, uint8_t *buf, uint64_t rx_rt, uint64_t now)
{
	const struct ws_msg_resp *r = (const struct ws_msg_resp *)buf;
	struct ws_noise_keys keys;

	if (c->have_session || ws_le32(r->receiver_index) != c->sender_index) {
		cnt.stale++; /* the answer to an init we have since replaced */
		return;
	}
	if (ws_cookie_validate(&c->checker, buf, WS_SIZE_HANDSHAKE_RESP, server_str,
			       server_str_len, false, now) == WS_COOKIE_INVALID ||
	    !ws_noise_consume_resp(&c->hs, &c->local, r) || !ws_noise_derive_keys(&c->hs, &keys)) {
		cnt.bad++;
		return;
	}
	ws_session_init(&c->sess, keys.send, keys.recv, keys.local_index, keys.remote_index, true, now);
	ws_wipe(&keys, sizeof(keys));
	c->have_session = true;
	c->hs_rt = rx_rt;
	cnt.handshakes++;
	send_echo(c, i, now);
}

static void on_transport(struct client *c, unsigned i, uint8_t *buf, size_t len, uint64_t now)
{
	struct ws_transport_hdr hdr;
	struct ws_frame_info info;
	struct ws_frame_iter it;
	struct ws_event ev;
	uint8_t *plain;
	size_t plain_len;

	if (!c->have_session || ws_transport_parse(buf, len, &hdr) < 0 || hdr.type != WS_MSG_DATA ||
	    ws_session_open(&c->sess, buf, len, &hdr, &plain, &plain_len) < 0 ||
	    ws_frame_parse(plain, plain_len, &info) < 0) {
		if (!(c->have_session && len > 0 && buf[0] == WS_MSG_KEEPALIVE))
			cnt.bad++;
		return;
	}
	if (info.channel == WS_CHANNEL_CONTROL) {
		cnt.ctl_frames++;
		return;
	}
	ws_frame_iter_init(&it, &info);
	while (ws_frame_iter_next(&it, &ev)) {
		if (info.channel == WS_CHANNEL_DATA && ev.type == WS_EVENT_IP_PACKET &&
		    is_reply(ev.payload, ev.len, i)) {
			if (!c->replied) {
				c->replied = true;
				c->reply_ns = now;
				cnt.replies++;
			}
		} else {
			cnt.bad++;
		}
	}
}

static void on_datagram(unsigned i, uint8_t *buf, size_t len, uint64_t rx_rt, uint64_t now)
{
	struct client *c = &cl[i];

	if (len == WS_SIZE_HANDSHAKE_RESP && buf[0] == WS_MSG_HANDSHAKE_RESP) {
		on_resp(c, i, buf, rx_rt, now);
	} else if (len == WS_SIZE_COOKIE_REPLY && buf[0] == WS_MSG_COOKIE_REPLY) {
		if (!c->have_session &&
		    ws_cookie_consume_reply(&c->maker, (const struct ws_msg_cookie *)buf,
					    c->sender_index, now)) {
			cnt.cookies++;
			make_init(c, now);
			send_init(c, now);
		} else {
			cnt.bad++;
		}
	} else {
		on_transport(c, i, buf, len, now);
	}
}

/* --- setup and loop --------------------------------------------------------------- */

static void load_clients(void)
{
	FILE *f = fopen(o.file, "r");
	char line[512], key[128], ip[64];
	uint8_t priv[WS_KEY_LEN];

	if (!f)
		die("cannot open", o.file);
	cl = calloc(MAX_CLIENTS, sizeof(*cl));
	if (!cl)
		die("out of memory", NULL);
	while (n_cl < o.count && fgets(line, sizeof(line), f)) {
		struct client *c = &cl[n_cl];

		if (sscanf(line, "%127s %63s", key, ip) != 2 || ws_key_from_base64(priv, key) < 0)
			die("bad line in", o.file);
		c->overlay = overlay_parse(ip);
		if (!ws_noise_local_init(&c->local, priv) ||
		    !ws_handshake_init(&c->hs, &c->local, o.server_pub))
			die("unusable key in", o.file);
		ws_wipe(priv, sizeof(priv));
		ws_cookie_maker_init(&c->maker, o.server_pub);
		ws_cookie_checker_init(&c->checker, c->local.public_key, now_ns());
		n_cl++;
	}
	fclose(f);
	if (!n_cl || (o.count != MAX_CLIENTS && n_cl != o.count))
		die("not enough clients in", o.file);
}

static void open_sockets(void)
{
	for (unsigned i = 0; i < n_cl; i++) {
		struct client *c = &cl[i];
		struct sockaddr_storage me;
		socklen_t mlen = sizeof(me);

		c->fd = socket(o.server.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0 ||
		    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int)) < 0 ||
		    (o.have_bind && bind(c->fd, (const struct sockaddr *)&o.bind.ss, o.bind.len) < 0) ||
		    connect(c->fd, (const struct sockaddr *)&o.server.ss, o.server.len) < 0 ||
		    getsockname(c->fd, (struct sockaddr *)&me, &mlen) < 0)
			die("socket setup failed:", strerror(errno));
		c->port = ntohs(me.ss_family == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
							: ((struct sockaddr_in6 *)&me)->sin6_port);
	}
}

/* Re-sends what went unanswered for RETRY_NS. */
static void retry(uint64_t now)
{
	for (unsigned i = 0; i < n_cl; i++) {
		struct client *c = &cl[i];

		if (!c->have_session && now - c->init_ns >= RETRY_NS) {
			make_init(c, now);
			send_init(c, now);
		}
		else if (c->have_session && !c->replied && now - c->data_ns >= RETRY_NS)
			send_echo(c, i, now);
	}
}

/* One datagram into buf; its kernel arrival time (realtime ns) in *rt. */
static ssize_t recv_ts(int fd, uint8_t *buf, size_t cap, uint64_t *rt)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_TRUNC);

	*rt = clock_ns(CLOCK_REALTIME);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			*rt = (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
		}
	}
	return n;
}

/* Every init is built first, then all leave back to back. */
static void run(struct pollfd *pfd, uint64_t *start, uint64_t *start_rt)
{
	static uint8_t buf[RX_MAX];
	uint64_t end, rt;

	for (unsigned i = 0; i < n_cl; i++)
		make_init(&cl[i], now_ns());
	*start = now_ns();
	*start_rt = clock_ns(CLOCK_REALTIME);
	end = *start + (uint64_t)o.seconds * NSEC;
	for (unsigned i = 0; i < n_cl; i++)
		send_init(&cl[i], *start);
	while (!stop && cnt.replies < n_cl && now_ns() < end) {
		int r = poll(pfd, n_cl, 50);

		for (unsigned i = 0; r > 0 && i < n_cl; i++) {
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((n = recv_ts(pfd[i].fd, buf, sizeof(buf), &rt)) >= 0)
				on_datagram(i, buf, (size_t)n > sizeof(buf) ? 0 : (size_t)n, rt, now_ns());
		}
		retry(now_ns());
	}
}

static double ms(uint64_t t, uint64_t start)
{
	return t ? ((double)t - (double)start) / (double)MSEC : -1.0;
}

static void report(uint64_t start, uint64_t start_rt, uint64_t end)
{
	uint64_t first = 0, last = 0, last_reply = 0;

	for (unsigned i = 0; i < n_cl; i++) {
		struct client *c = &cl[i];
		char pub[WS_KEY_B64_LEN + 1];

		if (c->hs_rt && (!first || c->hs_rt < first))
			first = c->hs_rt;
		if (c->hs_rt > last)
			last = c->hs_rt;
		if (c->reply_ns > last_reply)
			last_reply = c->reply_ns;
		if (!o.verbose)
			continue;
		ws_key_to_base64(pub, c->local.public_key);
		printf("client %u port %u pub %s handshake_ms %.3f reply_ms %.3f inits %u pings %u\n", i,
		       c->port, pub, ms(c->hs_rt, start_rt), ms(c->reply_ns, start), c->inits, c->pings);
	}
	printf("clients %u handshakes %llu replies %llu cookies %llu inits %llu pings %llu "
	       "ctl_frames %llu stale %llu bad %llu\n", n_cl, (unsigned long long)cnt.handshakes,
	       (unsigned long long)cnt.replies, (unsigned long long)cnt.cookies,
	       (unsigned long long)cnt.inits, (unsigned long long)cnt.pings,
	       (unsigned long long)cnt.ctl_frames, (unsigned long long)cnt.stale,
	       (unsigned long long)cnt.bad);
	printf("elapsed_ms %.3f first_handshake_ms %.3f last_handshake_ms %.3f handshake_rate %.0f "
	       "last_reply_ms %.3f\n", ms(end, start), ms(first, start_rt), ms(last, start_rt),
	       cnt.handshakes > 1 && last > first
		       ? (double)(cnt.handshakes - 1) * (double)NSEC / (double)(last - first) : 0.0,
	       ms(last_reply, start));
	fflush(stdout);
}

static void genkeys(const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || n < 1 || n > 1000000)
		die("bad key count", s);
	for (unsigned long i = 0; i < n; i++) {
		uint8_t priv[WS_KEY_LEN], pub[WS_KEY_LEN];
		char a[WS_KEY_B64_LEN + 1], b[WS_KEY_B64_LEN + 1];

		ws_x25519_genkey(priv);
		if (!ws_x25519_pubkey(pub, priv))
			die("key generation failed", NULL);
		ws_key_to_base64(a, priv);
		ws_key_to_base64(b, pub);
		printf("%s %s\n", a, b);
		ws_wipe(priv, sizeof(priv));
		ws_wipe(a, sizeof(a));
	}
	if (fflush(stdout) != 0)
		die("write error", NULL);
}

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: wsclients -G COUNT\n"
		"       wsclients -s SERVER:PORT -k SERVER_PUBKEY_B64 -f CLIENTS_FILE -d DST_IPV4\n"
		"                 [-b BIND_ADDR] [-n COUNT] [-t SECONDS] [-v]\n"
		"CLIENTS_FILE: \"PRIVATE_B64 OVERLAY_IPV4\" a line; addresses in 127/8, ::1, "
		"198.18/15, fd18::/16, fd19::/16\n");
	exit(2);
}

static unsigned opt_uint(const char *name, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < 1 || v > max)
		die(name, s);
	return (unsigned)v;
}

static void parse_opts(int argc, char **argv)
{
	bool have_s = false, have_k = false, have_d = false;
	int c;

	while ((c = getopt(argc, argv, "G:s:k:f:d:b:n:t:vh")) != -1) {
		switch (c) {
		case 'G':
			if (ws_crypto_init() < 0)
				die("crypto init failed", NULL);
			genkeys(optarg);
			exit(0);
		case 's': parse_addr_or_die(&o.server, optarg, true, "server"); have_s = true; break;
		case 'b': parse_addr_or_die(&o.bind, optarg, false, "bind"); o.have_bind = true; break;
		case 'k':
			if (ws_key_from_base64(o.server_pub, optarg) < 0)
				die("bad public key", optarg);
			have_k = true;
			break;
		case 'f': o.file = optarg; break;
		case 'd': o.dst = overlay_parse(optarg); have_d = true; break;
		case 'n': o.count = opt_uint("bad count", optarg, MAX_CLIENTS); break;
		case 't': o.seconds = opt_uint("bad seconds", optarg, MAX_SECONDS); break;
		case 'v': o.verbose = true; break;
		default: usage();
		}
	}
	if (optind != argc || !have_s || !have_k || !have_d || !o.file)
		usage();
	require_same_family(&o.bind, o.have_bind, &o.server);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd *pfd;
	uint64_t start, start_rt, end;

	parse_opts(argc, argv);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ws_crypto_init() < 0)
		die("crypto init failed", NULL);
	server_str_len = ws_cookie_addr_string(server_str, sizeof(server_str),
					       (const struct sockaddr *)&o.server.ss);
	load_clients();
	open_sockets();
	pfd = calloc(n_cl, sizeof(*pfd));
	if (!pfd)
		die("out of memory", NULL);
	for (unsigned i = 0; i < n_cl; i++)
		pfd[i] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
	run(pfd, &start, &start_rt);
	end = now_ns();
	report(start, start_rt, end);
	for (unsigned i = 0; i < n_cl; i++) {
		close(cl[i].fd);
		ws_session_wipe(&cl[i].sess);
	}
	ws_wipe(cl, (size_t)MAX_CLIENTS * sizeof(*cl));
	free(cl);
	free(pfd);
	return cnt.replies == n_cl ? 0 : 1;
}
