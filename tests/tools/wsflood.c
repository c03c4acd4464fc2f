/* SPDX-License-Identifier: MIT */
/*
 * wsflood: a paced UDP sender for the flood, replay and relay tests.
 *
 *   wsflood -s SERVER:PORT [-k SERVER_PUBKEY_B64] [-r RATE_PPS] [-n COUNT]
 *           [-t SECONDS] [-m random|replay|seq] [-f REPLAY_FILE]
 *           [-b BIND_ADDR[:PORT]] [-c COOKIE_REPLIES_EXPECTED] [-l LEN]
 *           [-B BURST] [-w LINGER_MS]
 *
 * Modes:
 *   random  (default) HandshakeInits (148 bytes, type 1, zero reserved
 *           bytes) with a random sender_index, ephemeral and encrypted
 *           fields that look random (keyed BLAKE2s of a per-run secret and
 *           the sender_index, so replies can be checked statelessly), a
 *           valid MAC1 for -k (ws_cookie_add_macs) and a zero MAC2: the
 *           server must take each one up to its Noise step.
 *   replay  the bytes of REPLAY_FILE (one datagram, 1..65507 bytes), again
 *           and again.
 *   seq     numbered probes of LEN bytes (default 16) for an echo server,
 *           e.g. through wsrelay: each holds "WSQ1", a run id and a 64-bit
 *           sequence number; replies are parsed in LEN-sized records (an
 *           echo may merge datagrams) and summarised as
 *           "seq: echoes E unique U missing M duplicates D reordered O foreign F".
 *   echo    the other end of seq: `wsflood -m echo -b ADDR:PORT [-t SECONDS]`
 *           sends every datagram (up to 2048 bytes) back to its source, in
 *           arrival order, from one socket, until SECONDS (default 10) or
 *           SIGTERM; prints "echoed N". (socat's UDP-LISTEN,fork loses and
 *           reorders datagrams while it forks for a new peer.)
 *
 * Pacing: packet i is due at start + i / RATE; due packets leave in
 * sendmmsg batches of up to 64 as soon as BURST (default 1, at most 4096)
 * of them are due, back to back (a burst larger than 128 fills wsd's
 * handshake queue past its under-load mark whatever its CPU). Sending stops after COUNT packets (default 100000) or
 * SECONDS (default 10), whichever comes first; replies are read all along
 * and for LINGER_MS (default 500) after the last send. Prints
 * "sent N cookie_replies M other K" (CookieReply = type 3, 64 bytes) and
 * a second line with the achieved rate, replies whose source was not the
 * server, and the cookie replies that decrypt under the MAC1 of a
 * HandshakeInit we sent (random mode). Exit 0, or 1 when -c N was given and
 * fewer than N cookie replies came; 2 on a usage or safety error.
 *
 * Safety: the destination and the bind address must lie in 127.0.0.0/8,
 * ::1, 198.18.0.0/15, fd18::/16 or fd19::/16 (else exit 2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/messages.h"

#define TOOL_NAME "wsflood"
#include "toolnet.h"

enum {
	BATCH = 64,
	MAX_DGRAM = 65507,
	SEQ_RECORD = 16,           /* "WSQ1" | run id (4) | seq (8, LE) */
	SEQ_MAX_LEN = 1472,
	MAX_COUNT = 100000000,
	MAX_SECONDS = 3600,
	MAX_LINGER_MS = 60000,
	MAX_BURST = 4096,
};

enum mode { MODE_RANDOM, MODE_REPLAY, MODE_SEQ, MODE_ECHO };

struct opts {
	struct addr server, bind;
	bool have_bind, have_key;
	uint8_t server_pub[WS_KEY_LEN];
	double rate;
	uint64_t count, expect_cookies;
	unsigned seconds, linger_ms, burst;
	enum mode mode;
	const char *replay_file;
	size_t len;
};

struct counts {
	uint64_t sent, cookies, cookies_valid, other, foreign, send_blocked, echoed;
	/* seq mode */
	uint64_t echoes, unique, duplicates, reordered, seq_foreign, max_seq;
	bool any_seq;
};

static struct opts o = {
	.rate = 10000, .count = 100000, .seconds = 10, .linger_ms = 500, .burst = 1,
	.mode = MODE_RANDOM, .len = SEQ_RECORD,
};
static struct counts cnt;
static struct ws_cookie_maker maker, verify_maker;
static uint8_t flood_secret[WS_KEY_LEN]; /* derives an init's body from its sender_index */
static uint8_t *seen;              /* seq mode: one bit per sequence number */
static uint8_t run_id[4];
static uint8_t *replay_buf;
static uint8_t *txbufs;            /* BATCH buffers of o.len bytes */
static uint8_t rxbuf[MAX_DGRAM + 1];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* --- packets ------------------------------------------------------------------ */

/*
 * The HandshakeInit with this sender_index: ephemeral and encrypted fields
 * are MAC(flood_secret, index || block) bytes (random-looking, yet
 * recomputable, so a CookieReply to any init we sent can be checked without
 * remembering it), MAC1 for the server's key, MAC2 zero. Nobody can complete
 * it, but the server must take it up to its Noise step.
 */
static void make_init_for(uint8_t *buf, uint32_t index, struct ws_cookie_maker *mk)
{
	struct ws_msg_init *m = (struct ws_msg_init *)buf;
	uint8_t *body = m->ephemeral, block[WS_HASH_LEN];
	size_t left = WS_INIT_MAC1_OFF - 8;

	memset(m, 0, sizeof(*m));
	m->type = WS_MSG_HANDSHAKE_INIT;
	ws_put_le32(m->sender_index, index);
	for (uint8_t b = 0; left; b++) {
		size_t n = left < sizeof(block) ? left : sizeof(block);

		ws_mac(block, flood_secret, m->sender_index, 4, &b, 1);
		memcpy(body, block, n);
		body += n;
		left -= n;
	}
	ws_cookie_add_macs(mk, buf, WS_SIZE_HANDSHAKE_INIT, now_ns());
}

static void make_init(uint8_t *buf)
{
	make_init_for(buf, ws_random_u32(), &maker);
}

static void make_seq(uint8_t *buf, uint64_t seq)
{
	memset(buf, 0, o.len);
	memcpy(buf, "WSQ1", 4);
	memcpy(buf + 4, run_id, 4);
	ws_put_le64(buf + 8, seq);
}

static size_t make_packet(uint8_t *buf, uint64_t seq)
{
	switch (o.mode) {
	case MODE_RANDOM:
		make_init(buf);
		return WS_SIZE_HANDSHAKE_INIT;
	case MODE_SEQ:
		make_seq(buf, seq);
		return o.len;
	case MODE_REPLAY:
	case MODE_ECHO:
		break;
	}
	return o.len; /* replay: every iovec points at replay_buf */
}

/* --- receiving ---------------------------------------------------------------- */

/* A CookieReply to one of our inits decrypts under that init's mac1 || zeros. */
static bool cookie_valid(const struct ws_msg_cookie *c)
{
	uint8_t init[WS_SIZE_HANDSHAKE_INIT], key[WS_KEY_LEN] = { 0 }, cookie[WS_COOKIE_LEN];
	bool ok;

	make_init_for(init, ws_le32(c->receiver_index), &verify_maker);
	memcpy(key, init + WS_INIT_MAC1_OFF, WS_MAC_LEN);
	ok = ws_xaead_open(cookie, c->encrypted_cookie, sizeof(c->encrypted_cookie), NULL, 0,
			   c->nonce, key);
	ws_wipe(cookie, sizeof(cookie));
	return ok;
}

static void seq_record(const uint8_t *r)
{
	uint64_t seq;

	if (memcmp(r, "WSQ1", 4) || memcmp(r + 4, run_id, 4)) {
		cnt.seq_foreign++;
		return;
	}
	seq = ws_le64(r + 8);
	if (seq >= o.count) {
		cnt.seq_foreign++;
		return;
	}
	cnt.echoes++;
	if (seen[seq / 8] & (1u << (seq % 8))) {
		cnt.duplicates++;
		return;
	}
	seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	cnt.unique++;
	if (cnt.any_seq && seq < cnt.max_seq)
		cnt.reordered++;
	if (!cnt.any_seq || seq > cnt.max_seq)
		cnt.max_seq = seq;
	cnt.any_seq = true;
}

static void classify(const uint8_t *p, size_t n, const struct sockaddr_storage *from)
{
	if (!addr_eq(&o.server, from))
		cnt.foreign++;
	if (n == WS_SIZE_COOKIE_REPLY && p[0] == WS_MSG_COOKIE_REPLY) {
		cnt.cookies++;
		if (o.mode == MODE_RANDOM && cookie_valid((const struct ws_msg_cookie *)p))
			cnt.cookies_valid++;
		return;
	}
	cnt.other++;
	if (o.mode == MODE_SEQ && n % o.len == 0)
		for (size_t off = 0; off < n; off += o.len)
			seq_record(p + off);
	else if (o.mode == MODE_SEQ)
		cnt.seq_foreign++;
}

static void drain(int fd)
{
	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, rxbuf, sizeof(rxbuf), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;
		classify(rxbuf, n > MAX_DGRAM ? MAX_DGRAM : (size_t)n, &from);
	}
}

/* Waits for a reply or until the monotonic time `until`. */
static void wait_until(int fd, uint64_t until)
{
	uint64_t now = now_ns();
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec ts;

	if (until <= now)
		return;
	ts.tv_sec = (time_t)((until - now) / NSEC);
	ts.tv_nsec = (long)((until - now) % NSEC);
	if (ppoll(&pfd, 1, &ts, NULL) > 0)
		drain(fd);
}

/* --- sending ------------------------------------------------------------------ */

/* Sends up to n packets in one sendmmsg; returns how many left. */
static unsigned send_batch(int fd, unsigned n)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int r;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *buf = o.mode == MODE_REPLAY ? replay_buf : txbufs + (size_t)i * o.len;

		iov[i].iov_base = buf;
		iov[i].iov_len = make_packet(buf, cnt.sent + i);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &o.server.ss;
		msgs[i].msg_hdr.msg_namelen = o.server.len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR &&
		    errno != ECONNREFUSED)
			fprintf(stderr, "wsflood: sendmmsg: %s\n", strerror(errno));
		cnt.send_blocked++;
		return 0;
	}
	if ((unsigned)r < n)
		cnt.send_blocked++;
	return (unsigned)r;
}

/* Packets due at time t (ns since start), capped at COUNT. */
static uint64_t due_at(uint64_t t)
{
	double due = o.rate * (double)t / (double)NSEC + 1.0;

	return due >= (double)o.count ? o.count : (uint64_t)due;
}

/* Sends every packet due by now (never those due after end); false when the socket buffer is full. */
static bool send_due(int fd, uint64_t start, uint64_t end)
{
	uint64_t due, now;

	while (!stop && (now = now_ns()) < end && (due = due_at(now - start)) > cnt.sent) {
		uint64_t n = due - cnt.sent;
		unsigned want = n > BATCH ? BATCH : (unsigned)n, got = send_batch(fd, want);

		cnt.sent += got;
		drain(fd);
		if (got < want)
			return false;
	}
	return true;
}

static uint64_t flood(int fd)
{
	uint64_t start = now_ns(), end = start + (uint64_t)o.seconds * NSEC, now;

	while (!stop && cnt.sent < o.count && (now = now_ns()) < end) {
		uint64_t due = due_at(now - start), next;

		if (due > cnt.sent && (due - cnt.sent >= o.burst || due == o.count) &&
		    !send_due(fd, start, end)) {
			/* The socket buffer is full: give the kernel 100 us. */
			wait_until(fd, now_ns() + 100000);
			continue;
		}
		/* Sleep until BURST more packets are due (or the end). */
		next = start + (uint64_t)((double)(cnt.sent + o.burst - 1) * (double)NSEC / o.rate);
		wait_until(fd, next < end ? next : end);
	}
	return now_ns() - start;
}

/* --- echo mode ---------------------------------------------------------------- */

/*
 * Reflects every datagram to its source, in arrival order, until SECONDS or
 * a signal; sources outside the test ranges are ignored.
 */
static void echo(int fd)
{
	static uint8_t bufs[BATCH][2048];
	uint64_t end = now_ns() + (uint64_t)o.seconds * NSEC;
	struct sockaddr_storage from[BATCH];
	struct mmsghdr msgs[BATCH], out[BATCH];
	struct iovec iov[BATCH];

	while (!stop && now_ns() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n, k = 0;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			if (!addr_allowed(&from[i]) || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
				continue;
			iov[i].iov_len = msgs[i].msg_len;
			out[k++] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &from[i], .msg_namelen = msgs[i].msg_hdr.msg_namelen,
				.msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		for (int done = 0, r; done < k; done += r) {
			r = sendmmsg(fd, out + done, (unsigned)(k - done), 0);
			if (r <= 0)
				break;
			cnt.echoed += (uint64_t)r;
		}
	}
	printf("echoed %llu\n", (unsigned long long)cnt.echoed);
	fflush(stdout);
}

/* --- setup -------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: wsflood -s SERVER_ADDR:PORT [-k SERVER_PUBKEY_B64] [-r RATE_PPS] [-n COUNT]\n"
		"               [-t SECONDS] [-m random|replay|seq] [-f REPLAY_FILE]\n"
		"               [-b BIND_ADDR[:PORT]] [-c COOKIE_REPLIES_EXPECTED] [-l LEN]\n"
		"               [-B BURST] [-w LINGER_MS]\n"
		"       wsflood -m echo -b ADDR:PORT [-t SECONDS]\n"
		"addresses: a.b.c.d:port or [v6]:port, in 127/8, ::1, 198.18/15, fd18::/16, fd19::/16\n");
	exit(2);
}

static double opt_num(const char *name, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= min && v <= max)) {
		fprintf(stderr, "wsflood: bad %s '%s' (%g..%g)\n", name, s, min, max);
		exit(2);
	}
	return v;
}

static enum mode opt_mode(const char *s)
{
	if (!strcmp(s, "random"))
		return MODE_RANDOM;
	if (!strcmp(s, "replay"))
		return MODE_REPLAY;
	if (!strcmp(s, "seq"))
		return MODE_SEQ;
	if (!strcmp(s, "echo"))
		return MODE_ECHO;
	fprintf(stderr, "wsflood: bad mode '%s' (random, replay, seq or echo)\n", s);
	exit(2);
}

static void parse_opts(int argc, char **argv)
{
	bool have_s = false;
	int c;

	while ((c = getopt(argc, argv, "s:k:r:n:t:m:f:b:c:l:B:w:h")) != -1) {
		switch (c) {
		case 's': opt_addr(&o.server, "server", optarg, PORT_REQUIRED); have_s = true; break;
		case 'b': opt_addr(&o.bind, "bind", optarg, PORT_OPTIONAL); o.have_bind = true; break;
		case 'k':
			if (ws_key_from_base64(o.server_pub, optarg) < 0) {
				fprintf(stderr, "wsflood: bad public key '%s'\n", optarg);
				exit(2);
			}
			o.have_key = true;
			break;
		case 'r': o.rate = opt_num("rate", optarg, 1, 10e6); break;
		case 'n': o.count = (uint64_t)opt_num("count", optarg, 1, MAX_COUNT); break;
		case 't': o.seconds = (unsigned)opt_num("seconds", optarg, 1, MAX_SECONDS); break;
		case 'm': o.mode = opt_mode(optarg); break;
		case 'f': o.replay_file = optarg; break;
		case 'c': o.expect_cookies = (uint64_t)opt_num("cookie count", optarg, 0, 1e12); break;
		case 'l': o.len = (size_t)opt_num("length", optarg, SEQ_RECORD, SEQ_MAX_LEN); break;
		case 'B': o.burst = (unsigned)opt_num("burst", optarg, 1, MAX_BURST); break;
		case 'w': o.linger_ms = (unsigned)opt_num("linger", optarg, 0, MAX_LINGER_MS); break;
		default: usage();
		}
	}
	if (o.mode == MODE_ECHO) {
		if (optind != argc || have_s || !o.have_bind || addr_port(&o.bind) == 0)
			usage();
		o.server.ss.ss_family = o.bind.ss.ss_family;
		return;
	}
	if (optind != argc || !have_s)
		usage();
	require_same_family(&o.bind, o.have_bind, &o.server);
	if (o.mode == MODE_RANDOM && !o.have_key) {
		fprintf(stderr, "wsflood: random mode needs -k SERVER_PUBKEY_B64\n");
		exit(2);
	}
	if (o.mode == MODE_REPLAY && !o.replay_file) {
		fprintf(stderr, "wsflood: replay mode needs -f REPLAY_FILE\n");
		exit(2);
	}
}

/* Reads the one datagram of the replay file into replay_buf; sets o.len. */
static int load_replay(void)
{
	int fd = open(o.replay_file, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	ssize_t n;

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < 1 || sb.st_size > MAX_DGRAM) {
		fprintf(stderr, "wsflood: %s: not a datagram of 1..%d bytes\n", o.replay_file,
			MAX_DGRAM);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	o.len = (size_t)sb.st_size;
	replay_buf = malloc(o.len);
	n = replay_buf ? read(fd, replay_buf, o.len) : -1;
	close(fd);
	if (n != (ssize_t)o.len) {
		fprintf(stderr, "wsflood: %s: short read\n", o.replay_file);
		return -1;
	}
	return 0;
}

static int prepare(void)
{
	if (ws_crypto_init() < 0)
		return -1;
	switch (o.mode) {
	case MODE_RANDOM:
		ws_cookie_maker_init(&maker, o.server_pub);
		ws_cookie_maker_init(&verify_maker, o.server_pub);
		ws_random(flood_secret, sizeof(flood_secret));
		o.len = WS_SIZE_HANDSHAKE_INIT;
		break;
	case MODE_REPLAY:
		return load_replay();
	case MODE_SEQ:
		ws_random(run_id, sizeof(run_id));
		seen = calloc((size_t)(o.count + 7) / 8, 1);
		if (!seen)
			return -1;
		break;
	case MODE_ECHO:
		return 0;
	}
	txbufs = malloc((size_t)BATCH * o.len);
	return txbufs ? 0 : -1;
}

static int open_socket(void)
{
	int fd = socket(o.server.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sock_buffers(fd);
	if (o.have_bind && bind(fd, (const struct sockaddr *)&o.bind.ss, o.bind.len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void report(uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / (double)NSEC;

	printf("sent %llu cookie_replies %llu other %llu\n", (unsigned long long)cnt.sent,
	       (unsigned long long)cnt.cookies, (unsigned long long)cnt.other);
	printf("elapsed %.3f s rate %.0f pps cookie_valid %llu foreign %llu send_blocked %llu\n",
	       secs, secs > 0 ? (double)cnt.sent / secs : 0.0, (unsigned long long)cnt.cookies_valid,
	       (unsigned long long)cnt.foreign, (unsigned long long)cnt.send_blocked);
	if (o.mode == MODE_SEQ)
		printf("seq: echoes %llu unique %llu missing %llu duplicates %llu reordered %llu "
		       "foreign %llu\n",
		       (unsigned long long)cnt.echoes, (unsigned long long)cnt.unique,
		       (unsigned long long)(cnt.sent - cnt.unique), (unsigned long long)cnt.duplicates,
		       (unsigned long long)cnt.reordered, (unsigned long long)cnt.seq_foreign);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t elapsed, linger_end;
	int fd;

	parse_opts(argc, argv);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (prepare() < 0 || (fd = open_socket()) < 0) {
		fprintf(stderr, "wsflood: setup: %s\n", strerror(errno));
		return 2;
	}
	if (o.mode == MODE_ECHO) {
		echo(fd);
		close(fd);
		return 0;
	}
	elapsed = flood(fd);
	linger_end = now_ns() + (uint64_t)o.linger_ms * 1000000ULL;
	drain(fd);
	while (!stop && now_ns() < linger_end)
		wait_until(fd, linger_end);
	close(fd);
	report(elapsed);
	ws_wipe(&maker, sizeof(maker));
	ws_wipe(&verify_maker, sizeof(verify_maker));
	ws_wipe(flood_secret, sizeof(flood_secret));
	free(txbufs);
	free(replay_buf);
	free(seen);
	return o.expect_cookies && cnt.cookies < o.expect_cookies ? 1 : 0;
}
