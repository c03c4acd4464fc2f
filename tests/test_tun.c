/* SPDX-License-Identifier: MIT */
/*
 * tun: a TUN device in a private network namespace, answered by the kernel:
 * ICMP (v4 and v6) echo requests from a fake peer written into the fd must
 * come back out of it as echo replies, singly and in batches; queues, vnet
 * headers, errors. Overlay addresses: 198.19.0.0/24 and fd19::/64.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <linux/if_addr.h>
#include <unistd.h>

#include "os/netlink.h"
#include "os/tun.h"
#include "netns_private.h"
#include "test.h"

enum {
	PKT_MAX = 2048,
	PAYLOAD = 56,
	BATCH = 8,
	POLL_MS = 100,
	POLL_ROUNDS = 30,	/* bounded: at most 3 s of waiting per test */
	ECHO_ID = 0x5753,	/* "WS" */
	VNET_HDR_LEN = 12,	/* struct virtio_net_hdr_mrg_rxbuf */
};

static const uint8_t us4[4] = { 198, 19, 0, 1 }, peer4[4] = { 198, 19, 0, 2 };
static uint8_t us6[16], peer6[16];

/* ---- packets ----------------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ICMP(v6) echo body at p: type, code 0, checksum 0, id, seq, payload. */
static void echo_body(uint8_t *p, uint8_t type, uint16_t seq)
{
	p[0] = type;
	p[1] = 0;
	put16(p + 2, 0);
	put16(p + 4, ECHO_ID);
	put16(p + 6, seq);
	for (int i = 0; i < PAYLOAD; i++)
		p[8 + i] = (uint8_t)(seq + i);
}

/* ICMPv6 checksum: pseudo-header (src, dst, length, next header 58) + body. */
static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, size_t len)
{
	uint32_t sum = sum16(src, 16, 0);

	sum = sum16(dst, 16, sum);
	return sum + (uint32_t)len + 58;
}

static size_t echo4(uint8_t *pkt, uint16_t seq)
{
	size_t icmp_len = 8 + PAYLOAD, len = 20 + icmp_len;

	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	put16(pkt + 2, (uint16_t)len);
	put16(pkt + 4, seq);
	put16(pkt + 6, 0x4000);	/* DF */
	pkt[8] = 64;
	pkt[9] = 1;	/* ICMP */
	memcpy(pkt + 12, peer4, 4);
	memcpy(pkt + 16, us4, 4);
	put16(pkt + 10, fold(sum16(pkt, 20, 0)));
	echo_body(pkt + 20, 8, seq);
	put16(pkt + 22, fold(sum16(pkt + 20, icmp_len, 0)));
	return len;
}

static size_t echo6(uint8_t *pkt, uint16_t seq)
{
	size_t icmp_len = 8 + PAYLOAD;

	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	put16(pkt + 4, (uint16_t)icmp_len);
	pkt[6] = 58;	/* ICMPv6 */
	pkt[7] = 64;
	memcpy(pkt + 8, peer6, 16);
	memcpy(pkt + 24, us6, 16);
	echo_body(pkt + 40, 128, seq);
	put16(pkt + 42, fold(sum16(pkt + 40, icmp_len, pseudo6(peer6, us6, icmp_len))));
	return 40 + icmp_len;
}

/* The kernel's echo reply to seq: addresses swapped, checksums valid, same
 * id/seq/payload. Other packets (MLD, router solicitations) return -1. */
static int reply4_seq(const uint8_t *p, size_t len)
{
	if (len != 20 + 8 + PAYLOAD || p[0] != 0x45 || p[9] != 1 || p[20] != 0)
		return -1;
	CU_ASSERT_EQUAL(fold(sum16(p, 20, 0)), 0);
	CU_ASSERT_EQUAL(get16(p + 2), len);
	CU_ASSERT(!memcmp(p + 12, us4, 4) && !memcmp(p + 16, peer4, 4));
	CU_ASSERT_EQUAL(fold(sum16(p + 20, len - 20, 0)), 0);
	CU_ASSERT_EQUAL(get16(p + 24), ECHO_ID);
	for (int i = 0; i < PAYLOAD; i++)
		CU_ASSERT_EQUAL(p[28 + i], (uint8_t)(get16(p + 26) + i));
	return get16(p + 26);
}

static int reply6_seq(const uint8_t *p, size_t len)
{
	if (len != 40 + 8 + PAYLOAD || (p[0] >> 4) != 6 || p[6] != 58 || p[40] != 129)
		return -1;
	CU_ASSERT(!memcmp(p + 8, us6, 16) && !memcmp(p + 24, peer6, 16));
	CU_ASSERT_EQUAL(get16(p + 4), len - 40);
	CU_ASSERT_EQUAL(fold(sum16(p + 40, len - 40, pseudo6(us6, peer6, len - 40))), 0);
	CU_ASSERT_EQUAL(get16(p + 44), ECHO_ID);
	for (int i = 0; i < PAYLOAD; i++)
		CU_ASSERT_EQUAL(p[48 + i], (uint8_t)(get16(p + 46) + i));
	return get16(p + 46);
}

/* ---- device setup ------------------------------------------------------------------ */

/* A new IPv6 address drops packets until the kernel's DAD work has run
 * (immediately for a TUN, which does no DAD, but asynchronously). */
static void wait_not_tentative(int ifindex)
{
	struct ws_nl_addr as[8];
	bool tentative = true;

	for (int round = 0; round < POLL_ROUNDS * 10 && tentative; round++) {
		int n = ws_nl_addr_list(ifindex, AF_INET6, as, 8);

		CU_ASSERT_FATAL(n > 0 && n <= 8);
		tentative = false;
		for (int i = 0; i < n; i++)
			tentative |= !!(as[i].flags & IFA_F_TENTATIVE);
		if (tentative)
			usleep(POLL_MS * 100);
	}
	CU_ASSERT_FALSE(tentative);
}

/* Open NAME, bring it up with 198.19.0.1/24 and fd19::1/64; returns the fd. */
static int tun_setup(const char *name, int flags)
{
	struct ws_nl_prefix a4 = { .family = AF_INET, .plen = 24 };
	struct ws_nl_prefix a6 = { .family = AF_INET6, .plen = 64 };
	char ifname[IFNAMSIZ];
	int fd, idx;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(inet_pton(AF_INET6, "fd19::1", us6) == 1);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, "fd19::2", peer6) == 1);
	memcpy(a4.addr, us4, 4);
	memcpy(a6.addr, us6, 16);
	fd = ws_tun_open(name, ifname, flags);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_STRING_EQUAL(ifname, name);
	idx = ws_nl_link_index(name);
	CU_ASSERT_FATAL(idx > 0);
	CU_ASSERT(ws_nl_link_set_up(idx, true) == 0);
	CU_ASSERT(ws_nl_addr_add(idx, &a4, 0) == 0);
	CU_ASSERT(ws_nl_addr_add(idx, &a6, 0) == 0);
	wait_not_tentative(idx);
	return fd;
}

static bool wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, POLL_MS) == 1 && (p.revents & POLLIN);
}

/* Read (batched) until every seq in [0, n) has been answered once; bounded. */
static void collect_replies(int fd, int n, bool v6, size_t hdr)
{
	static uint8_t store[BATCH * 2][PKT_MAX];
	struct ws_iobuf bufs[BATCH * 2];
	int seen[BATCH] = { 0 }, got = 0;

	CU_ASSERT_FATAL(n <= BATCH);
	for (int i = 0; i < BATCH * 2; i++)
		bufs[i] = (struct ws_iobuf){ .data = store[i], .cap = PKT_MAX };
	for (int round = 0; round < POLL_ROUNDS && got < n; round++) {
		int r;

		if (!wait_readable(fd))
			continue;
		r = ws_tun_read_batch(fd, bufs, BATCH * 2);
		CU_ASSERT_FATAL(r > 0);
		for (int i = 0; i < r; i++) {
			const uint8_t *p = bufs[i].data + hdr;
			size_t len = bufs[i].len - hdr;
			int seq = v6 ? reply6_seq(p, len) : reply4_seq(p, len);

			if (hdr)	/* no offload in play: flags and gso_type 0 */
				CU_ASSERT(bufs[i].data[0] == 0 && bufs[i].data[1] == 0);
			if (seq < 0)
				continue;
			CU_ASSERT_FATAL(seq < n);
			seen[seq]++;
			got++;
		}
	}
	CU_ASSERT_EQUAL(got, n);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_tun_open(void)
{
	char ifname[IFNAMSIZ];
	uint8_t buf[64];
	struct ws_iobuf b = { .data = buf, .cap = sizeof(buf) };
	int fd;

	WS_NETNS_REQUIRE();
	CU_ASSERT(ws_tun_open("wstun-name-too-long", ifname, 0) == -EINVAL);
	CU_ASSERT(ws_tun_open("wsut0", ifname, IFF_TAP) == -EINVAL);
	fd = ws_tun_open(NULL, ifname, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(!strncmp(ifname, "tun", 3));
	CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT(ws_nl_link_index(ifname) > 0);
	CU_ASSERT(ws_tun_read(fd, buf, sizeof(buf)) == -EAGAIN);
	CU_ASSERT(ws_tun_read_batch(fd, &b, 1) == 0);
	ws_tun_close(fd);
	ws_tun_close(-1);
	CU_ASSERT(ws_nl_link_index(ifname) == -ENODEV);	/* gone with its fd */
	ws_test_netns_assert_clean();
}

static void test_tun_echo(void)
{
	uint8_t pkt[PKT_MAX];
	int fd = tun_setup("wsut1", 0);
	size_t len = echo4(pkt, 0);

	CU_ASSERT(ws_tun_write(fd, pkt, len) == (ssize_t)len);
	collect_replies(fd, 1, false, 0);
	len = echo6(pkt, 0);
	CU_ASSERT(ws_tun_write(fd, pkt, len) == (ssize_t)len);
	collect_replies(fd, 1, true, 0);
	pkt[0] = 0x10;	/* neither IPv4 nor IPv6 */
	CU_ASSERT(ws_tun_write(fd, pkt, len) == -EINVAL);
	ws_tun_close(fd);
	ws_test_netns_assert_clean();
}

static void test_tun_batch(void)
{
	static uint8_t pkts[BATCH + 1][PKT_MAX];
	struct ws_iobuf bufs[BATCH + 1];
	unsigned int dropped = 0;
	int fd = tun_setup("wsut2", 0);

	for (int f = 0; f < 2; f++) {
		/* BATCH requests and one junk packet in the middle */
		for (int i = 0, seq = 0; i < BATCH + 1; i++) {
			size_t len = i == BATCH / 2 ? 40 : f ? echo6(pkts[i], (uint16_t)seq++)
							     : echo4(pkts[i], (uint16_t)seq++);

			if (i == BATCH / 2)
				memset(pkts[i], 0xff, len);
			bufs[i] = (struct ws_iobuf){ .data = pkts[i], .len = (uint32_t)len };
		}
		dropped = 0;
		CU_ASSERT_EQUAL(ws_tun_write_batch(fd, bufs, BATCH + 1, &dropped), BATCH + 1);
		CU_ASSERT_EQUAL(dropped, 1);
		collect_replies(fd, BATCH, f == 1, 0);
	}
	ws_tun_close(fd);
	ws_test_netns_assert_clean();
}

static void test_tun_down(void)
{
	uint8_t pkt[PKT_MAX];
	struct ws_iobuf b = { .data = pkt };
	int fd = tun_setup("wsut3", 0), idx = ws_nl_link_index("wsut3");

	CU_ASSERT(ws_nl_link_set_up(idx, false) == 0);
	b.len = (uint32_t)echo4(pkt, 0);
	CU_ASSERT(ws_tun_write(fd, pkt, b.len) == -EIO);
	CU_ASSERT(ws_tun_write_batch(fd, &b, 1, NULL) == -EIO);
	/* Whatever the kernel queued while up (IPv6 MLD, ...) drains, then
	 * reads say -EAGAIN again. */
	for (int i = 0; i < BATCH && ws_tun_read(fd, pkt, sizeof(pkt)) > 0; i++)
		;
	CU_ASSERT(ws_tun_read(fd, pkt, sizeof(pkt)) == -EAGAIN);
	ws_tun_close(fd);
	ws_test_netns_assert_clean();
}

static void test_tun_queues(void)
{
	uint8_t pkt[PKT_MAX];
	char ifname[IFNAMSIZ];
	int fds[4], got = 0;
	size_t len;

	WS_NETNS_REQUIRE();
	CU_ASSERT(ws_tun_open_queues("wsut4", ifname, 0, fds, 0) == -EINVAL);
	CU_ASSERT_FATAL(ws_tun_open_queues("wsut4", ifname, 0, fds, 4) == 0);
	CU_ASSERT_STRING_EQUAL(ifname, "wsut4");
	for (int i = 0; i < 4; i++) {
		CU_ASSERT(fds[i] >= 0);
		CU_ASSERT(i == 0 || fds[i] != fds[i - 1]);
	}
	/* A single-queue open of the same name does not attach. */
	CU_ASSERT(ws_tun_open("wsut4", NULL, 0) < 0);
	ws_tun_close(fds[0]);
	ws_tun_close(fds[1]);
	ws_tun_close(fds[2]);
	/* Remaining queue still carries the interface's traffic both ways. */
	{
		struct ws_nl_prefix a4 = { .family = AF_INET, .plen = 24 };
		int idx = ws_nl_link_index("wsut4");

		memcpy(a4.addr, us4, 4);
		CU_ASSERT_FATAL(idx > 0);
		CU_ASSERT(ws_nl_link_set_up(idx, true) == 0);
		CU_ASSERT(ws_nl_addr_add(idx, &a4, 0) == 0);
	}
	len = echo4(pkt, 0);
	CU_ASSERT(ws_tun_write(fds[3], pkt, len) == (ssize_t)len);
	for (int round = 0; round < POLL_ROUNDS && !got; round++) {
		ssize_t r;

		if (!wait_readable(fds[3]))
			continue;
		r = ws_tun_read(fds[3], pkt, sizeof(pkt));
		got = r > 0 && reply4_seq(pkt, (size_t)r) == 0;
	}
	CU_ASSERT(got);
	ws_tun_close(fds[3]);
	CU_ASSERT(ws_nl_link_index("wsut4") == -ENODEV);
	ws_test_netns_assert_clean();
}

static void test_tun_vnet_hdr(void)
{
	uint8_t pkt[PKT_MAX];
	int fd = tun_setup("wsut5", WS_TUN_VNET_HDR);
	size_t len;

	CU_ASSERT(ws_tun_set_offload(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
				     VNET_HDR_LEN) == 0);
	memset(pkt, 0, VNET_HDR_LEN);	/* no offload asked for this packet */
	len = VNET_HDR_LEN + echo4(pkt + VNET_HDR_LEN, 0);
	CU_ASSERT(ws_tun_write(fd, pkt, len) == (ssize_t)len);
	collect_replies(fd, 1, false, VNET_HDR_LEN);
	ws_tun_close(fd);
	fd = ws_tun_open("wsut6", NULL, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(ws_tun_set_offload(fd, 0x80000000u, 0) == -EINVAL); /* unknown offload */
	ws_tun_close(fd);
	ws_test_netns_assert_clean();
}

WS_SUITE(tun)
{
	WS_ADD(suite, test_tun_open);
	WS_ADD(suite, test_tun_echo);
	WS_ADD(suite, test_tun_batch);
	WS_ADD(suite, test_tun_down);
	WS_ADD(suite, test_tun_queues);
	WS_ADD(suite, test_tun_vnet_hdr);
}
