/* SPDX-License-Identifier: MIT */
/*
 * wsinject: a transparent UDP relay for one client that records what the
 * client sends and, on command, sends it again, verbatim or with one bit
 * flipped, from the relay's own outbound socket (test tool for replay and
 * forgery: the server cannot tell an injected datagram from the client's).
 *
 *   wsinject -l LISTEN:PORT -s SERVER:PORT [-b OUTBOUND_BIND_ADDR]
 *            [-S SEED] [-t SECONDS]
 *
 * The first client (in the test ranges) that sends to LISTEN is the client;
 * datagrams from any other source are dropped. Client datagrams go to SERVER
 * from one outbound socket (bound to -b if given, connected to SERVER), and
 * the server's replies go back to the client from LISTEN; nothing is
 * impaired. HandshakeInits (type 1) from the client are always kept (up to
 * MAX_INITS); transport datagrams (types 4..7) are kept while capture is on
 * (up to MAX_CAPTURE, at most CAP_LEN bytes each).
 *
 * Commands on standard input, one a line; each is answered with one line on
 * standard output:
 *   stats            "stats c2s N c2s_transport N c2s_transport_bytes N
 *                    c2s_inits N s2c N s2c_resps N s2c_cookies N captured N
 *                    inits N injected N other N errors N": genuine
 *                    datagrams forwarded (injected ones are never counted
 *                    as c2s), datagrams kept, injected, dropped from other
 *                    sources, send errors.
 *   capture on|off   "capture on|off"
 *   replay [ROUNDS]  every kept transport datagram again, verbatim, ROUNDS
 *                    times (default 1, at most 100): "replayed N"
 *   replay-init      every kept HandshakeInit again, verbatim: "replayed N"
 *   forge [PER]      PER (default 16, at most 256) copies of every kept
 *                    datagram (transport and HandshakeInit), each with one
 *                    bit flipped: first the type byte, a reserved byte, the
 *                    receiver index, counter bit 0, counter bit 62 (a counter
 *                    far ahead), the first ciphertext byte and the last tag
 *                    byte, then bits drawn from -S (default 1): "forged N"
 *   quit             exit
 * Injected datagrams leave in groups of 32 with 200 us between groups (the
 * server's socket buffer is not the thing under test). The tool also ends on
 * end of input, on SIGTERM/SIGINT (default action) and after -t seconds
 * (default 60, at most 3600). It prints "ready" once its sockets are bound,
 * and a last stats line when it ends.
 *
 * Safety: LISTEN, SERVER and -b must lie in 127.0.0.0/8, ::1,
 * 198.18.0.0/15, fd18::/16 or fd19::/16 (else exit 2), and so must the client.
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

#define TOOL_NAME "wsinject"
#include "toolnet.h"

enum {
	MAX_DGRAM = 65535,
	CAP_LEN = 2048,
	MAX_CAPTURE = 1024,
	MAX_INITS = 16,
	INIT_LEN = 148,
	TRANSPORT_HDR = 16,          /* type, 3 reserved, receiver index, counter */
	TAG_LEN = 16,
	GROUP = 32,
	GROUP_PAUSE_NS = 200000,
	MAX_ROUNDS = 100,
	MAX_PER = 256,
	DEFAULT_PER = 16,
	DEFAULT_SECONDS = 60,
	MAX_SECONDS = 3600,
	LINE_MAX_LEN = 256,
};

struct dgram {
	uint32_t len;
	uint8_t buf[CAP_LEN];
};

static struct {
	struct addr listen, server, bind;
	bool have_bind;
	uint64_t seed;
	unsigned seconds;
} o = { .seed = 1, .seconds = DEFAULT_SECONDS };

static struct {
	uint64_t c2s, c2s_transport, c2s_transport_bytes, c2s_inits;
	uint64_t s2c, s2c_resps, s2c_cookies, injected, other, errors;
} st;

static struct dgram captured[MAX_CAPTURE], inits[MAX_INITS];
static unsigned n_captured, n_inits;
static bool capturing, have_client;
static struct addr client;
static int listen_fd = -1, out_fd = -1;
static uint64_t rng_state;
static uint8_t rxbuf[MAX_DGRAM + 1];
static char line[LINE_MAX_LEN];
static size_t line_len;

/* --- forwarding and capture ------------------------------------------------------ */

static void keep(struct dgram *d, const uint8_t *data, size_t len)
{
	d->len = (uint32_t)len;
	memcpy(d->buf, data, len);
}

/* Client -> server: count, keep, forward. */
static void read_listen(void)
{
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(listen_fd, rxbuf, sizeof(rxbuf), MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);
		uint8_t type;

		if (n < 0)
			return;
		if (n > MAX_DGRAM || !addr_allowed(&from) || (have_client && !addr_eq(&client, &from))) {
			st.other++;
			continue;
		}
		if (!have_client) {
			memcpy(&client.ss, &from, flen);
			client.len = flen;
			have_client = true;
		}
		type = n ? rxbuf[0] : 0;
		if (type == 1 && n == INIT_LEN) {
			st.c2s_inits++;
			if (n_inits < MAX_INITS)
				keep(&inits[n_inits++], rxbuf, (size_t)n);
		} else if (type >= 4 && type <= 7) {
			st.c2s_transport++;
			st.c2s_transport_bytes += (uint64_t)n;
			if (capturing && n_captured < MAX_CAPTURE && n <= CAP_LEN)
				keep(&captured[n_captured++], rxbuf, (size_t)n);
		}
		if (send(out_fd, rxbuf, (size_t)n, 0) < 0)
			st.errors++;
		else
			st.c2s++;
	}
}

/* Server -> client. */
static void read_out(void)
{
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(out_fd, rxbuf, sizeof(rxbuf), MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* ECONNREFUSED: the server's port was closed */
		}
		if (n > MAX_DGRAM || !have_client)
			continue;
		if (n && rxbuf[0] == 2)
			st.s2c_resps++;
		if (n && rxbuf[0] == 3)
			st.s2c_cookies++;
		if (sendto(listen_fd, rxbuf, (size_t)n, 0, (const struct sockaddr *)&client.ss,
			   client.len) < 0)
			st.errors++;
		else
			st.s2c++;
	}
}

/* --- injection ------------------------------------------------------------------- */

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Sends one injected datagram to the server, pacing every GROUP sends. */
static void inject(const uint8_t *data, size_t len)
{
	if (send(out_fd, data, len, 0) < 0)
		st.errors++;
	else
		st.injected++;
	if (st.injected % GROUP == 0) {
		struct timespec ts = { .tv_nsec = GROUP_PAUSE_NS };

		nanosleep(&ts, NULL);
	}
}

/*
 * The bit flipped in copy k of a datagram of len bytes (len >= 1): fixed
 * places of the transport header and the tag first, then random bits.
 */
static size_t flip_bit(size_t k, size_t len)
{
	static const size_t fixed_bytes[] = { 0, 1, 4, 8, 15, TRANSPORT_HDR };
	static const unsigned fixed_bits[] = { 0, 0, 3, 0, 6, 0 };
	size_t nfixed = sizeof(fixed_bytes) / sizeof(fixed_bytes[0]);

	if (k < nfixed && fixed_bytes[k] < len)
		return fixed_bytes[k] * 8 + fixed_bits[k];
	if (k == nfixed)
		return (len - 1) * 8 + 7; /* the last byte: the tag (or MAC2) */
	return (size_t)(rng_next() % (len * 8));
}

static unsigned forge_one(const struct dgram *d, unsigned per)
{
	uint8_t buf[CAP_LEN];
	unsigned sent = 0;

	for (unsigned k = 0; k < per && d->len; k++) {
		size_t bit = flip_bit(k, d->len);

		memcpy(buf, d->buf, d->len);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		inject(buf, d->len);
		sent++;
	}
	return sent;
}

/* --- commands -------------------------------------------------------------------- */

/* The optional numeric argument of a command, or dflt; -1 when out of 1..max. */
static long cmd_arg(const char *arg, long dflt, long max)
{
	char *end;
	long v;

	if (!arg || !*arg)
		return dflt;
	errno = 0;
	v = strtol(arg, &end, 10);
	return (*end || errno || v < 1 || v > max) ? -1 : v;
}

static void cmd_stats(void)
{
	printf("stats c2s %llu c2s_transport %llu c2s_transport_bytes %llu c2s_inits %llu s2c %llu "
	       "s2c_resps %llu s2c_cookies %llu captured %u inits %u injected %llu other %llu "
	       "errors %llu\n",
	       (unsigned long long)st.c2s, (unsigned long long)st.c2s_transport,
	       (unsigned long long)st.c2s_transport_bytes, (unsigned long long)st.c2s_inits,
	       (unsigned long long)st.s2c, (unsigned long long)st.s2c_resps,
	       (unsigned long long)st.s2c_cookies, n_captured, n_inits,
	       (unsigned long long)st.injected, (unsigned long long)st.other,
	       (unsigned long long)st.errors);
}

/* Returns false on quit. */
static bool command(char *cmd)
{
	char *arg = strchr(cmd, ' ');
	unsigned sent = 0;
	long v;

	if (arg)
		*arg++ = '\0';
	if (!strcmp(cmd, "stats")) {
		cmd_stats();
	} else if (!strcmp(cmd, "capture") && arg && (!strcmp(arg, "on") || !strcmp(arg, "off"))) {
		capturing = !strcmp(arg, "on");
		printf("capture %s\n", arg);
	} else if (!strcmp(cmd, "replay") && (v = cmd_arg(arg, 1, MAX_ROUNDS)) > 0) {
		for (long r = 0; r < v; r++)
			for (unsigned i = 0; i < n_captured; i++, sent++)
				inject(captured[i].buf, captured[i].len);
		printf("replayed %u\n", sent);
	} else if (!strcmp(cmd, "replay-init") && !arg) {
		for (unsigned i = 0; i < n_inits; i++, sent++)
			inject(inits[i].buf, inits[i].len);
		printf("replayed %u\n", sent);
	} else if (!strcmp(cmd, "forge") && (v = cmd_arg(arg, DEFAULT_PER, MAX_PER)) > 0) {
		for (unsigned i = 0; i < n_captured; i++)
			sent += forge_one(&captured[i], (unsigned)v);
		for (unsigned i = 0; i < n_inits; i++)
			sent += forge_one(&inits[i], (unsigned)v);
		printf("forged %u\n", sent);
	} else if (!strcmp(cmd, "quit")) {
		return false;
	} else {
		printf("error unknown command\n");
	}
	return true;
}

/* Reads what standard input has; returns false on quit or end of input. */
static bool read_commands(void)
{
	char buf[LINE_MAX_LEN];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (line_len < sizeof(line) - 1)
				line[line_len++] = buf[i];
			continue;
		}
		line[line_len] = '\0';
		line_len = 0;
		if (!command(line))
			return false;
	}
	return true;
}

/* --- setup and main loop --------------------------------------------------------- */

static int setup(void)
{
	int one = 1;

	listen_fd = socket(o.listen.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	out_fd = socket(o.server.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || out_fd < 0)
		return -1;
	if (o.listen.ss.ss_family == AF_INET6)
		setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	sock_buffers(listen_fd);
	sock_buffers(out_fd);
	if (bind(listen_fd, (const struct sockaddr *)&o.listen.ss, o.listen.len) < 0)
		return -1;
	if (o.have_bind && bind(out_fd, (const struct sockaddr *)&o.bind.ss, o.bind.len) < 0)
		return -1;
	return connect(out_fd, (const struct sockaddr *)&o.server.ss, o.server.len);
}

static void run(void)
{
	uint64_t deadline = now_ns() + (uint64_t)o.seconds * NSEC;
	bool go_on = true;

	while (go_on) {
		struct pollfd p[3] = { { .fd = STDIN_FILENO, .events = POLLIN },
				       { .fd = listen_fd, .events = POLLIN },
				       { .fd = out_fd, .events = POLLIN } };
		uint64_t now = now_ns();
		uint64_t left_ms = (deadline - now + 999999) / 1000000;

		if (now >= deadline)
			break;
		if (poll(p, 3, left_ms > 1000 ? 1000 : (int)left_ms) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			read_listen();
		if (p[2].revents & POLLIN)
			read_out();
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			go_on = read_commands();
	}
}

/* --- options ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: wsinject -l LISTEN_ADDR:PORT -s SERVER_ADDR:PORT [-b OUTBOUND_BIND_ADDR]\n"
		"                [-S SEED] [-t SECONDS]\n"
		"commands on stdin: stats | capture on|off | replay [ROUNDS] | replay-init |\n"
		"                   forge [PER] | quit\n"
		"addresses: a.b.c.d:port or [v6]:port, in 127/8, ::1, 198.18/15, fd18::/16, fd19::/16\n");
	exit(2);
}

static unsigned long opt_num(const char *name, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max) {
		fprintf(stderr, "wsinject: bad %s '%s' (0..%lu)\n", name, s, max);
		exit(2);
	}
	return v;
}

static void parse_opts(int argc, char **argv)
{
	bool have_l = false, have_s = false;
	int c;

	while ((c = getopt(argc, argv, "l:s:b:S:t:h")) != -1) {
		switch (c) {
		case 'l': opt_addr(&o.listen, "listen", optarg, PORT_REQUIRED); have_l = true; break;
		case 's': opt_addr(&o.server, "server", optarg, PORT_REQUIRED); have_s = true; break;
		case 'b': opt_addr(&o.bind, "bind", optarg, PORT_NONE); o.have_bind = true; break;
		case 'S': o.seed = opt_num("seed", optarg, ~0UL); break;
		case 't': o.seconds = (unsigned)opt_num("seconds", optarg, MAX_SECONDS); break;
		default: usage();
		}
	}
	if (optind != argc || !have_l || !have_s || o.seconds == 0)
		usage();
	require_same_family(&o.bind, o.have_bind, &o.server);
}

int main(int argc, char **argv)
{
	parse_opts(argc, argv);
	rng_state = o.seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (setup() < 0) {
		fprintf(stderr, "wsinject: setup: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	run();
	cmd_stats();
	close(out_fd);
	close(listen_fd);
	return 0;
}
