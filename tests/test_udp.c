/* SPDX-License-Identifier: MIT */
/*
 * udp: endpoints on the loopback of a private network namespace exchange
 * batches through sendmmsg/recvmmsg over IPv4 (127.0.0.1) and IPv6 (::1);
 * sources, ports, buffer sizes, SO_MARK, split sockets, per-message errors,
 * truncation and UDP GSO/GRO.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "os/udp.h"
#include "netns_private.h"
#include "test.h"

enum {
	N = 64,
	CAP = 2048,
	POLL_MS = 100,
	POLL_ROUNDS = 30,	/* bounded waiting */
	MARK = 0x5753,
	GSO_SEG = 1000,
	GSO_N = 3,
};

static uint8_t txbuf[WS_UDP_BATCH][CAP], rxbuf[WS_UDP_BATCH][CAP];
static struct ws_udp_msg tx[WS_UDP_BATCH], rx[WS_UDP_BATCH];
/* struct ws_udp is large (two vectors of WS_UDP_BATCH); keep it off the stack */
static struct ws_udp ua, ub, uc;

static struct sockaddr_storage to(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		CU_ASSERT_FATAL(inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	return ss;
}

/* Same family, address and port (sockaddr_in / sockaddr_in6 fields only). */
static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

static void msgs_init(void)
{
	for (int i = 0; i < WS_UDP_BATCH; i++) {
		tx[i] = (struct ws_udp_msg){ .buf = txbuf[i], .cap = CAP };
		rx[i] = (struct ws_udp_msg){ .buf = rxbuf[i], .cap = CAP };
	}
}

/* Message i: 4 + i bytes, byte 0 = i, the rest a pattern of i. */
static void fill(struct ws_udp_msg *m, int i, struct sockaddr_storage dst)
{
	m->len = (uint32_t)(4 + i);
	for (uint32_t k = 0; k < m->len; k++)
		m->buf[k] = (uint8_t)(i + k * 7);
	m->addr = dst;
	m->segment = 0;
}

static bool readable(const struct ws_udp *u)
{
	struct pollfd p[WS_UDP_NSOCK];
	int n = 0;

	for (int i = 0; i < WS_UDP_NSOCK; i++)
		if (u->fd[i] >= 0)
			p[n++] = (struct pollfd){ .fd = u->fd[i], .events = POLLIN };
	return poll(p, (nfds_t)n, POLL_MS) > 0;
}

/* Receive until `want` messages are in rx[0..]; bounded. Returns the count. */
static int recv_all(struct ws_udp *u, int want)
{
	int got = 0;

	for (int round = 0; round < POLL_ROUNDS && got < want; round++) {
		int r;

		if (!readable(u))
			continue;
		r = ws_udp_recv_batch(u, rx + got, want - got);
		CU_ASSERT_FATAL(r >= 0);
		got += r;
	}
	return got;
}

/* Every rx message must be one of tx[0..n) (by content), from `from` for
 * even i and `from_odd` for odd i, each seen once. */
static void check_batch(int n, const struct sockaddr_storage *from,
			const struct sockaddr_storage *from_odd)
{
	int seen[WS_UDP_BATCH] = { 0 };

	for (int j = 0; j < n; j++) {
		int i = rx[j].buf[0];

		CU_ASSERT_FATAL(i < n);
		CU_ASSERT_EQUAL(rx[j].err, 0);
		CU_ASSERT_EQUAL(rx[j].segment, 0);
		CU_ASSERT_EQUAL(rx[j].len, tx[i].len);
		CU_ASSERT(!memcmp(rx[j].buf, tx[i].buf, tx[i].len));
		CU_ASSERT(addr_eq(&rx[j].addr, i % 2 ? from_odd : from));
		seen[i]++;
	}
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
}

static int sockopt(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	CU_ASSERT(getsockopt(fd, level, opt, &v, &len) == 0);
	return v;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_udp_open(void)
{
	int fd;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_udp_open(&ua, 0, MARK, 0) == 0);
	fd = ua.fd[WS_UDP_SOCK6];
	CU_ASSERT(ua.dual);
	CU_ASSERT(fd >= 0 && ua.fd[WS_UDP_SOCK4] == -1);
	CU_ASSERT(ua.port != 0);
	CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT_EQUAL(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	CU_ASSERT_EQUAL(sockopt(fd, SOL_SOCKET, SO_MARK), MARK);
	/* Forced past rmem_max/wmem_max: the kernel reports twice the request. */
	CU_ASSERT(sockopt(fd, SOL_SOCKET, SO_RCVBUF) >= WS_UDP_BUF_BYTES);
	CU_ASSERT(sockopt(fd, SOL_SOCKET, SO_SNDBUF) >= WS_UDP_BUF_BYTES);
	CU_ASSERT(ua.rcvbuf >= WS_UDP_BUF_BYTES && ua.sndbuf >= WS_UDP_BUF_BYTES);
	CU_ASSERT(ws_udp_set_mark(&ua, 0) == 0);
	CU_ASSERT_EQUAL(sockopt(fd, SOL_SOCKET, SO_MARK), 0);
	CU_ASSERT(ws_udp_set_mark(&ua, MARK + 1) == 0);
	CU_ASSERT_EQUAL(sockopt(fd, SOL_SOCKET, SO_MARK), MARK + 1);
	/* The port is taken, for IPv4 as well. */
	CU_ASSERT(ws_udp_open(&ub, ua.port, 0, 0) == -EADDRINUSE);
	CU_ASSERT(ub.fd[0] == -1 && ub.fd[1] == -1);
	CU_ASSERT(ws_udp_open(&ub, ua.port, 0, WS_UDP_SPLIT) == -EADDRINUSE);
	CU_ASSERT(ub.fd[0] == -1 && ub.fd[1] == -1);
	msgs_init();
	CU_ASSERT_EQUAL(ws_udp_recv_batch(&ua, rx, N), 0);	/* nothing queued */
	ws_udp_close(&ua);
	ws_udp_close(&ua);	/* idempotent */
	/* A fixed port. */
	CU_ASSERT_FATAL(ws_udp_open(&ua, 51820, 0, 0) == 0);
	CU_ASSERT_EQUAL(ua.port, 51820);
	CU_ASSERT_EQUAL(sockopt(ua.fd[WS_UDP_SOCK6], SOL_SOCKET, SO_MARK), 0);
	ws_udp_close(&ua);
}

/* a sends N datagrams to b, even ones to 127.0.0.1 and odd ones to ::1, in
 * one sendmmsg batch; b answers each to the source it saw. */
static void exchange(struct ws_udp *a, struct ws_udp *b)
{
	struct sockaddr_storage from4 = to("127.0.0.1", a->port), from6 = to("::1", a->port);
	struct sockaddr_storage b4 = to("127.0.0.1", b->port), b6 = to("::1", b->port);

	msgs_init();
	for (int i = 0; i < N; i++)
		fill(&tx[i], i, i % 2 ? b6 : b4);
	CU_ASSERT_EQUAL(ws_udp_send_batch(a, tx, N), N);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL(tx[i].err, 0);
	CU_ASSERT_EQUAL_FATAL(recv_all(b, N), N);
	check_batch(N, &from4, &from6);
	/* Echo each back to the (normalised) source address it came from. */
	for (int j = 0; j < N; j++)	/* tx[i] still holds content i */
		tx[rx[j].buf[0]].addr = rx[j].addr;
	CU_ASSERT_EQUAL(ws_udp_send_batch(b, tx, N), N);
	CU_ASSERT_EQUAL_FATAL(recv_all(a, N), N);
	check_batch(N, &b4, &b6);
}

static void test_udp_batch(void)
{
	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_udp_open(&ua, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(ws_udp_open(&ub, 0, 0, 0) == 0);
	CU_ASSERT(ua.port != ub.port);
	exchange(&ua, &ub);
	ws_udp_close(&ua);
	ws_udp_close(&ub);
}

static void test_udp_split(void)
{
	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_udp_open(&ua, 0, MARK, WS_UDP_SPLIT) == 0);
	CU_ASSERT_FALSE(ua.dual);
	CU_ASSERT(ua.fd[WS_UDP_SOCK6] >= 0 && ua.fd[WS_UDP_SOCK4] >= 0);
	CU_ASSERT_EQUAL(sockopt(ua.fd[WS_UDP_SOCK6], IPPROTO_IPV6, IPV6_V6ONLY), 1);
	for (int s = 0; s < WS_UDP_NSOCK; s++) {
		CU_ASSERT_EQUAL(sockopt(ua.fd[s], SOL_SOCKET, SO_MARK), MARK);
		CU_ASSERT(sockopt(ua.fd[s], SOL_SOCKET, SO_RCVBUF) >= WS_UDP_BUF_BYTES);
	}
	CU_ASSERT_FATAL(ws_udp_open(&ub, 0, 0, 0) == 0);
	exchange(&ua, &ub);	/* split sends and receives */
	exchange(&ub, &ua);
	/* A v4-mapped destination goes out of the IPv4 socket. */
	msgs_init();
	fill(&tx[0], 0, to("::ffff:127.0.0.1", ub.port));
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 1), 1);
	CU_ASSERT_EQUAL(tx[0].err, 0);
	CU_ASSERT_EQUAL_FATAL(recv_all(&ub, 1), 1);
	{
		struct sockaddr_storage from = to("127.0.0.1", ua.port);

		CU_ASSERT(addr_eq(&rx[0].addr, &from));
	}
	ws_udp_close(&ua);
	ws_udp_close(&ub);
}

static void test_udp_errors(void)
{
	struct sockaddr_storage bad;
	struct sockaddr_storage from;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_udp_open(&ua, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(ws_udp_open(&ub, 0, 0, 0) == 0);
	msgs_init();
	memset(&bad, 0, sizeof(bad));
	bad.ss_family = AF_UNIX;
	fill(&tx[0], 0, to("::1", ub.port));
	fill(&tx[1], 1, bad);				/* not an IP address */
	fill(&tx[2], 2, to("198.18.200.1", 9));		/* no route in this netns */
	fill(&tx[3], 3, to("fd18:200::1", 9));		/* no route either */
	fill(&tx[4], 4, to("127.0.0.1", ub.port));
	tx[5] = tx[4];
	tx[5].len = 70000;				/* bigger than any datagram */
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 6), 6);
	CU_ASSERT_EQUAL(tx[0].err, 0);
	CU_ASSERT_EQUAL(tx[1].err, -EAFNOSUPPORT);
	CU_ASSERT_EQUAL(tx[2].err, -ENETUNREACH);
	CU_ASSERT(tx[3].err < 0);
	CU_ASSERT_EQUAL(tx[4].err, 0);
	CU_ASSERT_EQUAL(tx[5].err, -EMSGSIZE);
	CU_ASSERT_EQUAL(recv_all(&ub, 2), 2);
	CU_ASSERT(rx[0].buf[0] + rx[1].buf[0] == 4);	/* messages 0 and 4 */
	/* Truncation is reported per message. */
	fill(&tx[0], 100, to("::1", ub.port));
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 1), 1);
	rx[0].cap = 10;
	CU_ASSERT_EQUAL_FATAL(recv_all(&ub, 1), 1);
	CU_ASSERT_EQUAL(rx[0].err, -EMSGSIZE);
	from = to("::1", ua.port);
	CU_ASSERT(addr_eq(&rx[0].addr, &from));
	/* Nothing to send is not an error; a closed socket is. */
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 0), 0);
	ws_udp_close(&ua);
	ua.fd[WS_UDP_SOCK6] = 1000;	/* surely not open */
	ua.dual = true;
	fill(&tx[0], 0, to("::1", ub.port));
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 1), -EBADF);
	CU_ASSERT_EQUAL(ws_udp_recv_batch(&ua, rx, 1), -EBADF);
	ua.fd[WS_UDP_SOCK6] = -1;
	ws_udp_close(&ub);
}

/* One GSO send of GSO_N segments: a plain receiver sees GSO_N datagrams, a
 * UDP_GRO receiver the same bytes with the segment size reported. */
static void test_udp_gso_gro(void)
{
	static uint8_t gsobuf[GSO_SEG * GSO_N], grobuf[GSO_N][GSO_SEG * GSO_N];
	struct sockaddr_storage from;
	int got, total = 0;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_udp_open(&ua, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(ws_udp_open(&ub, 0, 0, 0) == 0);
	CU_ASSERT_FATAL(ws_udp_open(&uc, 0, 0, WS_UDP_GRO) == 0);
	msgs_init();
	for (int i = 0; i < GSO_SEG * GSO_N; i++)
		gsobuf[i] = (uint8_t)(i / GSO_SEG + 1);
	tx[0].buf = gsobuf;
	tx[0].len = GSO_SEG * GSO_N;
	tx[0].segment = GSO_SEG;
	tx[0].addr = to("::1", ub.port);
	tx[1] = tx[0];
	tx[1].addr = to("127.0.0.1", uc.port);
	CU_ASSERT_EQUAL(ws_udp_send_batch(&ua, tx, 2), 2);
	CU_ASSERT(tx[0].err == 0 && tx[1].err == 0);
	CU_ASSERT_EQUAL_FATAL(recv_all(&ub, GSO_N), GSO_N);
	from = to("::1", ua.port);
	for (int j = 0; j < GSO_N; j++) {
		CU_ASSERT_EQUAL(rx[j].len, GSO_SEG);
		CU_ASSERT_EQUAL(rx[j].segment, 0);
		CU_ASSERT_EQUAL(rx[j].buf[0], j + 1);
		CU_ASSERT(addr_eq(&rx[j].addr, &from));
	}
	for (int j = 0; j < GSO_N; j++)	/* room for a coalesced run */
		rx[j] = (struct ws_udp_msg){ .buf = grobuf[j], .cap = sizeof(grobuf[j]) };
	got = recv_all(&uc, 1);
	CU_ASSERT_FATAL(got >= 1);
	for (int round = 0; round < GSO_N && got < GSO_N && total < GSO_SEG * GSO_N; round++)
		got += ws_udp_recv_batch(&uc, rx + got, GSO_N - got);
	for (int j = 0; j < got; j++) {
		total += (int)rx[j].len;
		CU_ASSERT(rx[j].segment == 0 || rx[j].segment == GSO_SEG);
		for (uint32_t k = 0; k < rx[j].len; k += GSO_SEG)
			CU_ASSERT_EQUAL(rx[j].buf[k], got == 1 ? k / GSO_SEG + 1 : (uint32_t)j + 1);
	}
	CU_ASSERT_EQUAL(total, GSO_SEG * GSO_N);
	if (got == 1)	/* coalesced: the segment size says how to split */
		CU_ASSERT_EQUAL(rx[0].segment, GSO_SEG);
	from = to("127.0.0.1", ua.port);
	CU_ASSERT(addr_eq(&rx[0].addr, &from));
	ws_udp_close(&ua);
	ws_udp_close(&ub);
	ws_udp_close(&uc);
}

/* ---- ws_udp_dest: which socket, which name (no sockets needed) ---- */

static struct sockaddr_storage dest(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		CU_ASSERT_FATAL(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	return ss;
}

/* ws_udp_dest(u, ip) picks socket want (or fails with it) and names
 * want_name (a v4 or v6 literal) on port 51820. */
static void check_dest(const struct ws_udp *u, const char *ip, int want, const char *want_name)
{
	struct sockaddr_storage to = dest(ip, 51820), exp;
	struct sockaddr_in6 name;
	socklen_t len = 0;
	int s = ws_udp_dest(u, &to, &name, &len);

	CU_ASSERT_EQUAL(s, want);
	if (s < 0 || !want_name)
		return;
	exp = dest(want_name, 51820);
	CU_ASSERT_EQUAL(((struct sockaddr *)&name)->sa_family, exp.ss_family);
	CU_ASSERT_EQUAL(len, exp.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						      : sizeof(struct sockaddr_in6));
	CU_ASSERT_EQUAL(memcmp(&name, &exp, len), 0);
}

static void test_udp_dest(void)
{
	struct ws_udp dual = { .fd = { [WS_UDP_SOCK6] = 10, [WS_UDP_SOCK4] = -1 }, .dual = true };
	struct ws_udp split = { .fd = { [WS_UDP_SOCK6] = 10, [WS_UDP_SOCK4] = 11 } };
	struct ws_udp v4only = { .fd = { [WS_UDP_SOCK6] = -1, [WS_UDP_SOCK4] = 11 } };
	struct ws_udp v6only = { .fd = { [WS_UDP_SOCK6] = 10, [WS_UDP_SOCK4] = -1 } };
	struct sockaddr_storage unix_to = { .ss_family = AF_UNIX };
	struct sockaddr_in6 name;
	socklen_t len;

	/* dual-stack: everything on the v6 socket, IPv4 v4-mapped */
	check_dest(&dual, "198.18.0.2", WS_UDP_SOCK6, "::ffff:198.18.0.2");
	check_dest(&dual, "fd18::2", WS_UDP_SOCK6, "fd18::2");
	check_dest(&dual, "::ffff:198.18.0.2", WS_UDP_SOCK6, "::ffff:198.18.0.2");
	/* split sockets: a v4-mapped destination goes as IPv4 on the v4 socket */
	check_dest(&split, "198.18.0.2", WS_UDP_SOCK4, "198.18.0.2");
	check_dest(&split, "fd18::2", WS_UDP_SOCK6, "fd18::2");
	check_dest(&split, "::ffff:198.18.0.2", WS_UDP_SOCK4, "198.18.0.2");
	/* one family only */
	check_dest(&v4only, "::ffff:198.18.0.2", WS_UDP_SOCK4, "198.18.0.2");
	check_dest(&v4only, "fd18::2", -EAFNOSUPPORT, NULL);
	check_dest(&v6only, "198.18.0.2", -EAFNOSUPPORT, NULL);
	check_dest(&v6only, "::ffff:198.18.0.2", -EAFNOSUPPORT, NULL);
	CU_ASSERT_EQUAL(ws_udp_dest(&dual, &unix_to, &name, &len), -EAFNOSUPPORT);
}

WS_SUITE(udp)
{
	WS_ADD(suite, test_udp_open);
	WS_ADD(suite, test_udp_batch);
	WS_ADD(suite, test_udp_split);
	WS_ADD(suite, test_udp_errors);
	WS_ADD(suite, test_udp_dest);
	WS_ADD(suite, test_udp_gso_gro);
}
