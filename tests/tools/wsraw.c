/* SPDX-License-Identifier: MIT */
/*
 * wsraw: hand-made packets for the hostile-shapes scenario, written on a raw
 * socket (IPPROTO_RAW: our own IP header) so that they reach the tunnel as
 * built, and a UDP receiver that counts what arrives.
 *
 *   wsraw -m udp -s SRC -d DST:PORT [-p SPORT] [-n COUNT] [-l LEN] [-x LIST] [-e CHAIN]
 *   wsraw -m syn -s SRC -d DST:PORT [-p SPORT] [-n COUNT] [-x LIST]
 *   wsraw -m recv -b ADDR:PORT [-n COUNT] [-t SECONDS]
 *   wsraw -m echo -d DST -l MAX [-t SECONDS]
 *
 * udp: COUNT datagrams (default 1) of LEN payload bytes (default 64) of one
 * flow, back to back, IPv4 or IPv6 after the addresses. -x LIST (indexes
 * from 0, comma-separated) gets a wrong UDP checksum. -e CHAIN (IPv6 only)
 * puts extension headers between the IPv6 header and UDP, in that order:
 * h hop-by-hop options, o destination options (each with a PadN option),
 * f a fragment header of an atomic fragment (offset 0, no more fragments).
 * syn: COUNT TCP SYNs, the -x ones with a wrong TCP checksum.
 * recv: counts UDP datagrams on ADDR:PORT until COUNT arrived or SECONDS
 * (default 5) passed, then prints "received N bytes B" (exit 0).
 * echo: one ICMP (ICMPv6) echo request of each payload size 0..MAX, one at a
 * time; each reply must come within SECONDS (default 5) with the same
 * payload. Prints "answered N of M" (exit 0 when all were).
 * Every address must be in the test ranges (exit 2 otherwise).
 */
#define TOOL_NAME "wsraw"
#include "toolnet.h"

#include <netinet/ip.h>
#include <poll.h>
#include <unistd.h>

enum {
	MAX_PKT = 4096,
	MAX_COUNT = 100000,
	MAX_CHAIN = 16,
	EXT_LEN = 8,       /* each extension header we write */
	V4_HDR = 20,
	V6_HDR = 40,
	UDP_HDR = 8,
	TCP_HDR = 20,
};

struct opts {
	const char *mode, *bad, *chain;
	struct addr src, dst, bind;
	unsigned count, len, seconds;
	uint16_t sport;
};

static void usage(void)
{
	fprintf(stderr, "usage: wsraw -m udp|syn -s SRC -d DST:PORT [-p SPORT] [-n COUNT] [-l LEN]"
			" [-x LIST] [-e CHAIN]\n       wsraw -m recv -b ADDR:PORT [-n COUNT] [-t SECONDS]\n"
			"       wsraw -m echo -d DST -l MAX [-t SECONDS]\n");
	exit(2);
}

static unsigned opt_uint(const char *s, unsigned max)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 10);
	if (!*s || *e || errno || v > max) {
		fprintf(stderr, "wsraw: bad number '%s' (0..%u)\n", s, max);
		exit(2);
	}
	return (unsigned)v;
}

/* Is index i in the comma-separated LIST? */
static bool in_list(const char *list, unsigned i)
{
	while (list && *list) {
		char *e;
		unsigned long v = strtoul(list, &e, 10);

		if (e == list)
			return false;
		if (v == i)
			return true;
		list = *e == ',' ? e + 1 : e;
	}
	return false;
}

/* --- checksums --------------------------------------------------------------- */

static uint32_t sum_add(const void *data, size_t n, uint32_t s)
{
	const uint8_t *p = data;

	for (; n > 1; n -= 2, p += 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t sum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The L4 checksum over the pseudo header and l4[0..len); wrong when bad
 * (never 0, which would mean "no checksum" for UDP over IPv4). */
static uint16_t l4_csum(const struct opts *o, uint8_t proto, const uint8_t *l4, size_t len, bool bad)
{
	uint8_t t[8] = {0, 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			(uint8_t)len, 0, proto};
	uint32_t s = 0;
	uint16_t c;

	if (o->dst.ss.ss_family == AF_INET) {
		s = sum_add(&((const struct sockaddr_in *)&o->src.ss)->sin_addr, 4, s);
		s = sum_add(&((const struct sockaddr_in *)&o->dst.ss)->sin_addr, 4, s);
	} else {
		s = sum_add(&((const struct sockaddr_in6 *)&o->src.ss)->sin6_addr, 16, s);
		s = sum_add(&((const struct sockaddr_in6 *)&o->dst.ss)->sin6_addr, 16, s);
	}
	s = sum_add(t, sizeof(t), s);
	c = sum_fold(sum_add(l4, len, s));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	if (bad) {
		c ^= 0x0f0f;
		if (c == 0)
			c = 0x1234;
	}
	return c;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* --- packets ------------------------------------------------------------------ */

/* The IP header (and IPv6 extension headers) for an L4 part of l4len bytes
 * of protocol proto; returns the header length. */
static size_t ip_header(const struct opts *o, uint8_t *pkt, uint8_t proto, size_t l4len, unsigned idx)
{
	size_t n = o->chain ? strlen(o->chain) : 0, h = V6_HDR + n * EXT_LEN;

	if (o->dst.ss.ss_family == AF_INET) {
		size_t tot = V4_HDR + l4len;

		memset(pkt, 0, V4_HDR);
		pkt[0] = 0x45;
		put16(pkt + 2, (uint16_t)tot);
		put16(pkt + 4, (uint16_t)(idx + 1));
		pkt[6] = 0x40; /* DF */
		pkt[8] = 64;
		pkt[9] = proto;
		memcpy(pkt + 12, &((const struct sockaddr_in *)&o->src.ss)->sin_addr, 4);
		memcpy(pkt + 16, &((const struct sockaddr_in *)&o->dst.ss)->sin_addr, 4);
		return V4_HDR;
	}
	memset(pkt, 0, h);
	pkt[0] = 0x60;
	put16(pkt + 4, (uint16_t)(h - V6_HDR + l4len));
	pkt[7] = 64;
	memcpy(pkt + 8, &((const struct sockaddr_in6 *)&o->src.ss)->sin6_addr, 16);
	memcpy(pkt + 24, &((const struct sockaddr_in6 *)&o->dst.ss)->sin6_addr, 16);
	uint8_t *next = pkt + 6;
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = pkt + V6_HDR + i * EXT_LEN;

		if (o->chain[i] == 'f') {
			*next = IPPROTO_FRAGMENT;
			e[4] = (uint8_t)(idx >> 24); /* identification; offset 0, M = 0 */
			e[5] = (uint8_t)(idx >> 16);
			e[6] = (uint8_t)(idx >> 8);
			e[7] = (uint8_t)(idx + 1);
		} else {
			*next = o->chain[i] == 'h' ? IPPROTO_HOPOPTS : IPPROTO_DSTOPTS;
			e[1] = 0;    /* 8 bytes */
			e[2] = 1;    /* PadN */
			e[3] = 4;
		}
		next = e;
	}
	*next = proto;
	return h;
}

static size_t build_udp(const struct opts *o, uint8_t *pkt, unsigned idx)
{
	size_t l4len = UDP_HDR + o->len, h = ip_header(o, pkt, IPPROTO_UDP, l4len, idx);
	uint8_t *u = pkt + h;

	put16(u, o->sport);
	put16(u + 2, addr_port(&o->dst));
	put16(u + 4, (uint16_t)l4len);
	put16(u + 6, 0);
	for (unsigned i = 0; i < o->len; i++)
		u[UDP_HDR + i] = (uint8_t)(idx + i);
	put16(u + 6, l4_csum(o, IPPROTO_UDP, u, l4len, in_list(o->bad, idx)));
	return h + l4len;
}

static size_t build_syn(const struct opts *o, uint8_t *pkt, unsigned idx)
{
	size_t h = ip_header(o, pkt, IPPROTO_TCP, TCP_HDR, idx);
	uint8_t *t = pkt + h;

	memset(t, 0, TCP_HDR);
	put16(t, (uint16_t)(o->sport + idx));
	put16(t + 2, addr_port(&o->dst));
	put16(t + 4, (uint16_t)(0x1000 + idx)); /* sequence number */
	t[12] = 5 << 4;
	t[13] = 0x02; /* SYN */
	put16(t + 14, 64240);
	put16(t + 16, l4_csum(o, IPPROTO_TCP, t, TCP_HDR, in_list(o->bad, idx)));
	return h + TCP_HDR;
}

static int run_send(const struct opts *o)
{
	static uint8_t pkt[MAX_PKT];
	int fd = socket(o->dst.ss.ss_family, SOCK_RAW, IPPROTO_RAW);
	unsigned sent = 0;

	if (fd < 0) {
		perror("wsraw: raw socket");
		return 1;
	}
	for (unsigned i = 0; i < o->count; i++) {
		size_t n = !strcmp(o->mode, "syn") ? build_syn(o, pkt, i) : build_udp(o, pkt, i);
		struct addr d = o->dst;

		/* A raw socket's "port" is the protocol: leave it 0. */
		if (d.ss.ss_family == AF_INET)
			((struct sockaddr_in *)&d.ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&d.ss)->sin6_port = 0;
		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&d.ss, d.len) != (ssize_t)n) {
			perror("wsraw: sendto");
			break;
		}
		sent++;
	}
	close(fd);
	printf("sent %u\n", sent);
	return sent == o->count ? 0 : 1;
}

static int run_recv(const struct opts *o)
{
	static uint8_t buf[65536];
	int fd = socket(o->bind.ss.ss_family, SOCK_DGRAM, 0);
	uint64_t end = now_ns() + (uint64_t)o->seconds * NSEC, bytes = 0;
	unsigned got = 0;

	if (fd < 0 || bind(fd, (struct sockaddr *)&o->bind.ss, o->bind.len) < 0) {
		perror("wsraw: bind");
		return 1;
	}
	sock_buffers(fd);
	printf("ready\n");
	fflush(stdout);
	while ((!o->count || got < o->count) && now_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = (int)((end - now_ns()) / MSEC) + 1;
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0) {
			got++;
			bytes += (uint64_t)n;
		}
	}
	close(fd);
	printf("received %u bytes %llu\n", got, (unsigned long long)bytes);
	return 0;
}

/* --- echo -------------------------------------------------------------------- */

static void build_echo(uint8_t *pkt, bool v6, uint16_t id, unsigned size)
{
	pkt[0] = v6 ? 128 : 8; /* echo request */
	pkt[1] = 0;
	put16(pkt + 2, 0);
	put16(pkt + 4, id);
	put16(pkt + 6, (uint16_t)size);
	for (unsigned i = 0; i < size; i++)
		pkt[8 + i] = (uint8_t)(size + 7 * i);
	if (!v6) /* the kernel fills in ICMPv6 checksums itself */
		put16(pkt + 2, sum_fold(sum_add(pkt, 8 + size, 0)));
}

/* Wait for the reply to the echo of size bytes: 1 when it came (with the
 * same payload), 0 at the deadline, -1 when a reply's payload differs. */
static int await_echo(int fd, bool v6, const uint8_t *req, unsigned size, uint64_t deadline)
{
	static uint8_t buf[MAX_PKT + 128];

	while (now_ns() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		size_t h = 0;

		if (poll(&p, 1, (int)((deadline - now_ns()) / MSEC) + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		if (!v6) /* raw IPv4 sockets see the IP header */
			h = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n < h + 8 || buf[h] != (v6 ? 129 : 0) || memcmp(buf + h + 4, req + 4, 4))
			continue;
		return (size_t)n == h + 8 + size && !memcmp(buf + h + 8, req + 8, size) ? 1 : -1;
	}
	return 0;
}

static int run_echo(const struct opts *o)
{
	static uint8_t pkt[MAX_PKT];
	bool v6 = o->dst.ss.ss_family == AF_INET6;
	int fd = socket(o->dst.ss.ss_family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	uint16_t id = (uint16_t)getpid();
	unsigned size, answered = 0;
	int r = 1;

	if (fd < 0) {
		perror("wsraw: raw ICMP socket");
		return 1;
	}
	sock_buffers(fd);
	for (size = 0; size <= o->len && r == 1; size++) {
		build_echo(pkt, v6, id, size);
		if (sendto(fd, pkt, 8 + size, 0, (struct sockaddr *)&o->dst.ss, o->dst.len) !=
		    (ssize_t)(8 + size)) {
			perror("wsraw: sendto");
			break;
		}
		r = await_echo(fd, v6, pkt, size, now_ns() + (uint64_t)o->seconds * NSEC);
		if (r == 1)
			answered++;
		else
			printf("%s to the echo of %u bytes\n", r ? "wrong reply" : "no reply", size);
	}
	close(fd);
	printf("answered %u of %u\n", answered, o->len + 1);
	return answered == o->len + 1 ? 0 : 1;
}

static void check_opts(struct opts *o, bool have_src, bool have_dst, bool have_bind)
{
	bool recv_mode = !strcmp(o->mode, "recv"), syn = !strcmp(o->mode, "syn");

	if (recv_mode) {
		if (!have_bind)
			usage();
		return;
	}
	if (!strcmp(o->mode, "echo")) {
		if (!have_dst || o->len + 8 > MAX_PKT)
			usage();
		return;
	}
	if ((!syn && strcmp(o->mode, "udp")) || !have_src || !have_dst || !o->count ||
	    !addr_port(&o->dst))
		usage();
	if (o->src.ss.ss_family != o->dst.ss.ss_family) {
		fprintf(stderr, "wsraw: -s and -d must be of the same address family\n");
		exit(2);
	}
	if (o->chain && (o->dst.ss.ss_family != AF_INET6 || strlen(o->chain) > MAX_CHAIN ||
			 strspn(o->chain, "hof") != strlen(o->chain) ||
			 (strchr(o->chain, 'h') && o->chain[0] != 'h') ||
			 strchr(o->chain + 1, 'h'))) {
		fprintf(stderr, "wsraw: -e takes IPv6 only, at most %d of h, o, f, h only first\n",
			MAX_CHAIN);
		exit(2);
	}
	if (V6_HDR + MAX_CHAIN * EXT_LEN + UDP_HDR + o->len > MAX_PKT) {
		fprintf(stderr, "wsraw: -l at most %d\n", MAX_PKT - V6_HDR - MAX_CHAIN * EXT_LEN - UDP_HDR);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {.mode = "", .count = 1, .len = 64, .seconds = 5, .sport = 40000};
	bool have_src = false, have_dst = false, have_bind = false;
	int c;

	while ((c = getopt(argc, argv, "m:s:d:b:p:n:l:x:e:t:")) != -1) {
		switch (c) {
		case 'm': o.mode = optarg; break;
		case 's': opt_addr(&o.src, "source", optarg, PORT_NONE); have_src = true; break;
		case 'd': opt_addr(&o.dst, "destination", optarg, PORT_OPTIONAL); have_dst = true; break;
		case 'b': opt_addr(&o.bind, "bind", optarg, PORT_REQUIRED); have_bind = true; break;
		case 'p': o.sport = (uint16_t)opt_uint(optarg, 65535); break;
		case 'n': o.count = opt_uint(optarg, MAX_COUNT); break;
		case 'l': o.len = opt_uint(optarg, MAX_PKT); break;
		case 'x': o.bad = optarg; break;
		case 'e': o.chain = optarg; break;
		case 't': o.seconds = opt_uint(optarg, 600); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	check_opts(&o, have_src, have_dst, have_bind);
	if (!strcmp(o.mode, "recv"))
		return run_recv(&o);
	return !strcmp(o.mode, "echo") ? run_echo(&o) : run_send(&o);
}
