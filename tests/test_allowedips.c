/* SPDX-License-Identifier: MIT */
/*
 * AllowedIPs: exact longest-prefix-match cases, packet helpers, and a
 * randomized differential test against a deliberately naive linear list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/allowedips.h"
#include "test.h"

static int peers[64];
#define P(i) ((void *)&peers[i])

/* "a.b.c.d/n" or "x::y/n" (no "/n": a host route). Returns the family. */
static int parse(const char *s, uint8_t addr[16], uint8_t *cidr)
{
	char buf[64];
	char *slash;
	int family;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	CU_ASSERT_FATAL(inet_pton(family, buf, addr) == 1);
	*cidr = slash ? (uint8_t)atoi(slash + 1) : (family == AF_INET ? 32 : 128);
	return family;
}

static int ins(struct ws_allowedips *t, const char *s, void *peer)
{
	uint8_t a[16], c;
	int f = parse(s, a, &c);

	return ws_allowedips_insert(t, f, a, c, peer);
}

static int rem(struct ws_allowedips *t, const char *s)
{
	uint8_t a[16], c;
	int f = parse(s, a, &c);

	return ws_allowedips_remove(t, f, a, c);
}

static void *look(const struct ws_allowedips *t, const char *s)
{
	uint8_t a[16], c;
	int f = parse(s, a, &c);

	return ws_allowedips_lookup(t, f, a);
}

static void test_aip_v4_exact(void)
{
	struct ws_allowedips t;

	ws_allowedips_init(&t);
	CU_ASSERT_PTR_NULL(look(&t, "10.1.1.1"));
	CU_ASSERT_EQUAL(ins(&t, "10.0.0.0/8", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.0.0/16", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.1.0/24", P(3)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.1.1/32", P(4)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.1.128/25", P(5)), 0);
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.0/16", P(6)), 0);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.1"), P(4));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.2"), P(3));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.127"), P(3));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.128"), P(5));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.255"), P(5));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.2.1"), P(2));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.2.0.0"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.255.255.255"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.200.1"), P(6));
	CU_ASSERT_PTR_NULL(look(&t, "11.0.0.0"));
	CU_ASSERT_PTR_NULL(look(&t, "9.255.255.255"));
	CU_ASSERT_PTR_NULL(look(&t, "198.18.0.1"));
	/* /0 catches everything else, and nothing of IPv6. */
	CU_ASSERT_EQUAL(ins(&t, "0.0.0.0/0", P(7)), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "11.0.0.0"), P(7));
	CU_ASSERT_PTR_EQUAL(look(&t, "255.255.255.255"), P(7));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.1"), P(4));
	CU_ASSERT_PTR_NULL(look(&t, "::"));
	CU_ASSERT_PTR_NULL(look(&t, "fd19::1"));
	CU_ASSERT_EQUAL(t.prefixes, 7);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	ws_allowedips_free(&t);
	CU_ASSERT_EQUAL(t.nodes, 0);
}

static void test_aip_v6_exact(void)
{
	struct ws_allowedips t;

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "fd19::/48", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19:0:0:1::/64", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19:0:0:1::5/128", P(3)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19:0:0:1:8000::/65", P(4)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd18::/16", P(5)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19:0:0:1::4/127", P(6)), 0);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1::5"), P(3));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1::4"), P(6));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1::6"), P(2));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1:7fff:ffff:ffff:ffff"), P(2));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1:8000::"), P(4));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:1:ffff:ffff:ffff:ffff"), P(4));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19:0:0:2::1"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd18:1234::1"), P(5));
	CU_ASSERT_PTR_NULL(look(&t, "fd1a::1"));
	CU_ASSERT_PTR_NULL(look(&t, "fd19:1::1"));
	CU_ASSERT_PTR_NULL(look(&t, "198.19.0.1"));
	CU_ASSERT_EQUAL(ins(&t, "::/0", P(7)), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "fd1a::1"), P(7));
	CU_ASSERT_PTR_EQUAL(look(&t, "::"), P(7));
	CU_ASSERT_PTR_EQUAL(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), P(7));
	CU_ASSERT_PTR_NULL(look(&t, "0.0.0.0"));
	CU_ASSERT_EQUAL(ins(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", P(8)), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), P(8));
	CU_ASSERT_PTR_EQUAL(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), P(7));
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	ws_allowedips_free(&t);
}

static void test_aip_host_bits_masked(void)
{
	struct ws_allowedips t;

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "192.168.1.77/24", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19::1:2:3:4/64", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "255.255.255.255/0", P(3)), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "192.168.1.1"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "192.168.1.255"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19::ffff"), P(2));
	CU_ASSERT_PTR_EQUAL(look(&t, "1.2.3.4"), P(3));
	/* The same prefixes written with other host bits. */
	CU_ASSERT_EQUAL(ins(&t, "192.168.1.0/24", P(4)), 0);
	CU_ASSERT_EQUAL(t.prefixes, 3);
	CU_ASSERT_PTR_EQUAL(look(&t, "192.168.1.77"), P(4));
	CU_ASSERT_EQUAL(rem(&t, "192.168.1.200/24"), 0);
	CU_ASSERT_EQUAL(rem(&t, "fd19::9/64"), 0);
	CU_ASSERT_EQUAL(rem(&t, "1.1.1.1/0"), 0);
	CU_ASSERT_EQUAL(t.prefixes, 0);
	CU_ASSERT_EQUAL(t.nodes, 0);
	ws_allowedips_free(&t);
}

static void test_aip_reinsert_moves(void)
{
	struct ws_allowedips t;

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.0/24", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.7/32", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.0/24", P(2)), 0);
	CU_ASSERT_EQUAL(t.prefixes, 2);
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.0.1"), P(2));
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.0.7"), P(1));
	/* Removing the old owner leaves the moved prefix alone. */
	ws_allowedips_remove_by_peer(&t, P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.0.7"), P(2));
	CU_ASSERT_EQUAL(t.prefixes, 1);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	ws_allowedips_free(&t);
}

static void test_aip_remove(void)
{
	struct ws_allowedips t;

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "10.0.0.0/8", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.0.0/16", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.2.0.0/16", P(3)), 0);  /* glue 10.0.0.0/14 */
	CU_ASSERT_EQUAL(ins(&t, "10.1.1.0/24", P(4)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.2.0/24", P(5)), 0);
	CU_ASSERT_EQUAL(rem(&t, "10.1.0.0/16"), 0);         /* two children: kept as glue */
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.3.1"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.1"), P(4));
	CU_ASSERT_EQUAL(rem(&t, "10.1.0.0/16"), -ENOENT);
	CU_ASSERT_EQUAL(rem(&t, "10.0.0.0/14"), -ENOENT);   /* glue is not a prefix */
	CU_ASSERT_EQUAL(rem(&t, "10.1.0.0/17"), -ENOENT);
	CU_ASSERT_EQUAL(rem(&t, "10.1.1.0/25"), -ENOENT);
	CU_ASSERT_EQUAL(rem(&t, "fd19::/48"), -ENOENT);
	CU_ASSERT_EQUAL(rem(&t, "10.1.1.0/24"), 0);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.1.1"), P(1));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.1.2.1"), P(5));
	CU_ASSERT_EQUAL(rem(&t, "10.0.0.0/8"), 0);
	CU_ASSERT_PTR_NULL(look(&t, "10.9.0.0"));
	CU_ASSERT_PTR_EQUAL(look(&t, "10.2.0.1"), P(3));
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_EQUAL(rem(&t, "10.2.0.0/16"), 0);
	CU_ASSERT_EQUAL(rem(&t, "10.1.2.0/24"), 0);
	CU_ASSERT_EQUAL(t.nodes, 0);
	CU_ASSERT_EQUAL(t.prefixes, 0);
	CU_ASSERT_PTR_NULL(t.root4);
	ws_allowedips_free(&t);
}

static void test_aip_remove_by_peer(void)
{
	struct ws_allowedips t;
	char buf[64];

	ws_allowedips_init(&t);
	for (int i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf), "198.19.%d.%d/32", i / 10, i % 50);
		CU_ASSERT_EQUAL(ins(&t, buf, P(i % 4)), 0);
		snprintf(buf, sizeof(buf), "fd19::%x/128", i);
		CU_ASSERT_EQUAL(ins(&t, buf, P(i % 4)), 0);
	}
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.0/16", P(4)), 0);
	CU_ASSERT_EQUAL(ins(&t, "0.0.0.0/0", P(1)), 0);
	ws_allowedips_remove_by_peer(&t, P(1));
	ws_allowedips_remove_by_peer(&t, P(9));   /* unknown: nothing changes */
	ws_allowedips_remove_by_peer(&t, NULL);
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_EQUAL(t.prefixes, 301);
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.0.1"), P(4));   /* was peer 1's /32 */
	CU_ASSERT_PTR_EQUAL(look(&t, "198.19.0.2"), P(2));
	CU_ASSERT_PTR_NULL(look(&t, "8.8.8.8"));
	CU_ASSERT_PTR_NULL(look(&t, "fd19::1"));
	CU_ASSERT_PTR_EQUAL(look(&t, "fd19::2"), P(2));
	for (int p = 0; p <= 4; p++)
		ws_allowedips_remove_by_peer(&t, P(p));
	CU_ASSERT_EQUAL(t.nodes, 0);
	CU_ASSERT_EQUAL(t.prefixes, 0);
	CU_ASSERT_PTR_NULL(t.root4);
	CU_ASSERT_PTR_NULL(t.root6);
	ws_allowedips_free(&t);
}

struct walk_log {
	int n, stop_at;
	char got[16][64];
};

static int walk_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_log *w = ctx;
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, s, sizeof(s));
	if (w->n < 16)
		snprintf(w->got[w->n], sizeof(w->got[0]), "%s/%u", s, cidr);
	w->n++;
	return w->n == w->stop_at ? 42 : 0;
}

static void test_aip_walk(void)
{
	static const char *const want[] = {
		"10.0.0.0/8", "10.0.0.0/16", "10.1.0.0/16", "198.19.0.7/32",
		"::/0", "fd19::/48", "fd19::1/128",
	};
	struct ws_allowedips t;
	struct walk_log w = { 0, 0, { { 0 } } };

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "fd19::1/128", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "198.19.0.7/32", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.1.0.9/16", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.0.0.0/8", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19::/48", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "::/0", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.0.0.0/16", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "10.0.0.0/24", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19::2/128", P(2)), 0);
	CU_ASSERT_EQUAL(ws_allowedips_walk_peer(&t, P(1), walk_cb, &w), 0);
	CU_ASSERT_EQUAL_FATAL(w.n, 7);
	for (int i = 0; i < 7; i++)
		CU_ASSERT_STRING_EQUAL(w.got[i], want[i]);
	w.n = 0;
	w.stop_at = 3;
	CU_ASSERT_EQUAL(ws_allowedips_walk_peer(&t, P(1), walk_cb, &w), 42);
	CU_ASSERT_EQUAL(w.n, 3);
	w.n = 0;
	w.stop_at = 0;
	CU_ASSERT_EQUAL(ws_allowedips_walk_peer(&t, P(3), walk_cb, &w), 0);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ws_allowedips_walk_peer(&t, NULL, walk_cb, &w), 0);
	CU_ASSERT_EQUAL(w.n, 0);
	ws_allowedips_free(&t);
}

static void test_aip_bad_args(void)
{
	struct ws_allowedips t;
	uint8_t a[16] = { 10 };

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_UNIX, a, 8, P(1)), -EAFNOSUPPORT);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET, a, 33, P(1)), -EINVAL);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET6, a, 129, P(1)), -EINVAL);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET, a, 8, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET, NULL, 8, P(1)), -EINVAL);
	CU_ASSERT_EQUAL(ws_allowedips_remove(&t, AF_UNIX, a, 8), -EAFNOSUPPORT);
	CU_ASSERT_EQUAL(ws_allowedips_remove(&t, AF_INET, a, 33), -EINVAL);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET, a, 32, P(1)), 0);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET6, a, 128, P(1)), 0);
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup(&t, AF_UNIX, a));
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup(&t, AF_INET, NULL));
	CU_ASSERT_EQUAL(t.prefixes, 2);
	CU_ASSERT_EQUAL(t.nodes, 2);
	CU_ASSERT_EQUAL(ws_allowedips_memory(&t), 2 * ws_allowedips_node_size());
	ws_allowedips_free(&t);
}

/* Minimal IPv4 (IHL 5) and IPv6 headers: version, lengths, addresses. */
static size_t make_v4(uint8_t *p, size_t total, const char *src, const char *dst)
{
	memset(p, 0, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	CU_ASSERT_FATAL(inet_pton(AF_INET, src, p + 12) == 1);
	CU_ASSERT_FATAL(inet_pton(AF_INET, dst, p + 16) == 1);
	return total;
}

static size_t make_v6(uint8_t *p, size_t total, const char *src, const char *dst)
{
	memset(p, 0, total);
	p[0] = 0x60;
	p[4] = (uint8_t)((total - 40) >> 8);
	p[5] = (uint8_t)(total - 40);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, src, p + 8) == 1);
	CU_ASSERT_FATAL(inet_pton(AF_INET6, dst, p + 24) == 1);
	return total;
}

static void test_aip_packet_helpers(void)
{
	struct ws_allowedips t;
	uint8_t pkt[128];
	size_t n;

	ws_allowedips_init(&t);
	CU_ASSERT_EQUAL(ins(&t, "198.19.1.0/24", P(1)), 0);
	CU_ASSERT_EQUAL(ins(&t, "198.19.2.0/24", P(2)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19::1:0/112", P(3)), 0);
	CU_ASSERT_EQUAL(ins(&t, "fd19::2:0/112", P(4)), 0);

	n = make_v4(pkt, 60, "198.19.1.5", "198.19.2.5");
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_src(&t, pkt, n), P(1));
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_dst(&t, pkt, n), P(2));
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_src(&t, pkt, n + 8), P(1)); /* padding */
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, pkt, n - 1));  /* tot_len > len */
	n = make_v4(pkt, 20, "198.19.1.5", "198.19.2.5");
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_dst(&t, pkt, 20), P(2));
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, 19));
	pkt[0] = 0x44;                                                    /* IHL 4 */
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, 20));
	n = make_v4(pkt, 24, "198.19.1.5", "198.19.2.5");
	pkt[0] = 0x47;                                                    /* IHL 28 > 24 */
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, 24));
	pkt[0] = 0x46;
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_dst(&t, pkt, 24), P(2));
	pkt[3] = 22;                                                      /* tot_len < IHL */
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, 24));

	n = make_v6(pkt, 48, "fd19::1:9", "fd19::2:9");
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_src(&t, pkt, n), P(3));
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_dst(&t, pkt, n), P(4));
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, n - 1));
	n = make_v6(pkt, 40, "fd19::1:9", "fd19::3:9");
	CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup_packet_src(&t, pkt, 40), P(3));
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_dst(&t, pkt, 40));   /* no route */
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, pkt, 39));
	/* A v4 source in a v6 table and the reverse never match. */
	n = make_v6(pkt, 40, "::ffff:198.19.1.5", "fd19::2:9");
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, pkt, n));

	for (int v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		make_v4(pkt, 60, "198.19.1.5", "198.19.2.5");
		pkt[0] = (uint8_t)(v << 4 | 5);
		CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, pkt, 60));
	}
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, pkt, 0));
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup_packet_src(&t, NULL, 60));
	ws_allowedips_free(&t);
}

/* ---- the naive model: a linear list, longest match wins ---------------- */

enum { MODEL_MAX = 4096, N_PEERS = 50 };

struct model_entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	void *peer;
};

struct model {
	struct model_entry e[MODEL_MAX];
	int n;
};

static unsigned fam_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask_bytes(uint8_t *a, unsigned bits, unsigned cidr)
{
	for (unsigned i = 0; i < bits / 8; i++) {
		unsigned keep = cidr > 8 * i ? cidr - 8 * i : 0;

		a[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);
	}
}

/* Do the first e->cidr bits of a equal e's prefix? Bytes first, then the rest. */
static int prefix_has(const struct model_entry *e, int family, const uint8_t *a)
{
	unsigned full = e->cidr / 8, rest = e->cidr % 8;

	if (e->family != family)
		return 0;
	for (unsigned i = 0; i < full; i++)
		if (e->addr[i] != a[i])
			return 0;
	return !rest || !((e->addr[full] ^ a[full]) & (uint8_t)(0xff00 >> rest));
}

static int model_find(const struct model *m, int family, const uint8_t *a, uint8_t cidr)
{
	for (int i = 0; i < m->n; i++)
		if (m->e[i].family == family && m->e[i].cidr == cidr &&
		    !memcmp(m->e[i].addr, a, fam_bits(family) / 8))
			return i;
	return -1;
}

static void model_insert(struct model *m, int family, const uint8_t *addr, uint8_t cidr, void *p)
{
	uint8_t a[16] = { 0 };
	int i;

	memcpy(a, addr, fam_bits(family) / 8);
	mask_bytes(a, fam_bits(family), cidr);
	i = model_find(m, family, a, cidr);
	if (i < 0) {
		CU_ASSERT_FATAL(m->n < MODEL_MAX);
		i = m->n++;
		m->e[i].family = family;
		memcpy(m->e[i].addr, a, 16);
		m->e[i].cidr = cidr;
	}
	m->e[i].peer = p;
}

static int model_remove(struct model *m, int family, const uint8_t *addr, uint8_t cidr)
{
	uint8_t a[16] = { 0 };
	int i;

	memcpy(a, addr, fam_bits(family) / 8);
	mask_bytes(a, fam_bits(family), cidr);
	i = model_find(m, family, a, cidr);
	if (i < 0)
		return -ENOENT;
	m->e[i] = m->e[--m->n];
	return 0;
}

static void model_remove_peer(struct model *m, const void *p)
{
	for (int i = 0; i < m->n;)
		if (m->e[i].peer == p)
			m->e[i] = m->e[--m->n];
		else
			i++;
}

static void *model_lookup(const struct model *m, int family, const uint8_t *a)
{
	int best = -1;

	for (int i = 0; i < m->n; i++)
		if (prefix_has(&m->e[i], family, a) && (best < 0 || m->e[i].cidr > m->e[best].cidr))
			best = i;
	return best < 0 ? NULL : m->e[best].peer;
}

/* Random address: fresh bits (1 in 4), or an existing prefix followed by
 * random bits: kept for a random length (new prefixes nest and overlap), kept
 * whole (a lookup lands inside it), or kept whole but its last bit flipped (a
 * near miss that must fall back to a shorter prefix). */
static int rand_addr(const struct model *m, uint64_t *rs, uint8_t a[16])
{
	uint64_t r = ws_test_rand(rs);
	int family = (r & 1) ? AF_INET6 : AF_INET;

	for (int i = 0; i < 16; i += 8) {
		uint64_t x = ws_test_rand(rs);

		memcpy(a + i, &x, 8);
	}
	if (m->n && (r >> 1) % 4 != 0) {
		const struct model_entry *e = &m->e[(r >> 8) % (uint64_t)m->n];
		unsigned mode = (r >> 1) % 4, keep = e->cidr;

		if (mode == 1)
			keep = (unsigned)((r >> 40) % (e->cidr + 1u));
		family = e->family;
		for (unsigned b = 0; b < keep; b++) {
			uint8_t bit = (uint8_t)(0x80 >> (b % 8));

			a[b / 8] = (uint8_t)((a[b / 8] & ~bit) | (e->addr[b / 8] & bit));
		}
		if (mode == 3 && keep > 0)
			a[(keep - 1) / 8] ^= (uint8_t)(0x80 >> ((keep - 1) % 8));
	}
	if (family == AF_INET)
		memset(a + 4, 0, 12);
	return family;
}

static uint8_t rand_cidr(uint64_t *rs, int family)
{
	uint64_t r = ws_test_rand(rs);
	unsigned bits = fam_bits(family);

	/* Mostly long prefixes, as real configurations have, some short. */
	if (r % 8 == 0)
		return (uint8_t)((r >> 8) % (bits + 1));
	return (uint8_t)(bits - (r >> 8) % (bits / 4 + 1));
}

static long lookups_found, lookups_done;

static int compare_lookups(const struct ws_allowedips *t, const struct model *m, uint64_t *rs,
			   int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		uint8_t a[16];
		int family = rand_addr(m, rs, a);
		void *want = model_lookup(m, family, a);

		bad += ws_allowedips_lookup(t, family, a) != want;
		lookups_found += want != NULL;
		lookups_done++;
	}
	return bad;
}

struct collect {
	struct model_entry e[MODEL_MAX];
	int n;
};

static int collect_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct collect *c = ctx;

	if (c->n == MODEL_MAX)
		return -1;
	memset(&c->e[c->n], 0, sizeof(c->e[0]));
	c->e[c->n].family = family;
	memcpy(c->e[c->n].addr, addr, fam_bits(family) / 8);
	c->e[c->n].cidr = cidr;
	c->n++;
	return 0;
}

/* The walk's order: IPv4 first, then address, then shorter prefix first. */
static int walk_order(const void *x, const void *y)
{
	const struct model_entry *a = x, *b = y;
	int c;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	return c ? c : (int)a->cidr - (int)b->cidr;
}

static int compare_walks(const struct ws_allowedips *t, const struct model *m)
{
	static struct collect got, want;
	int bad = 0;

	for (int p = 0; p < N_PEERS; p++) {
		got.n = want.n = 0;
		for (int i = 0; i < m->n; i++)
			if (m->e[i].peer == P(p))
				want.e[want.n++] = m->e[i];
		qsort(want.e, (size_t)want.n, sizeof(want.e[0]), walk_order);
		if (ws_allowedips_walk_peer(t, P(p), collect_cb, &got) != 0 || got.n != want.n) {
			bad++;
			continue;
		}
		for (int i = 0; i < got.n; i++)
			bad += walk_order(&got.e[i], &want.e[i]) != 0;
	}
	return bad;
}

static void test_aip_random_differential(void)
{
	static struct model m;
	struct ws_allowedips t;
	uint64_t rs = 0x5eed0a11ed1b5ULL;
	int bad = 0, rc_bad = 0;

	m.n = 0;
	lookups_found = lookups_done = 0;
	ws_allowedips_init(&t);
	for (int i = 0; i < 2000; i++) {
		uint8_t a[16];
		int family = rand_addr(&m, &rs, a);
		uint8_t cidr = rand_cidr(&rs, family);
		void *p = P(ws_test_rand(&rs) % N_PEERS);

		CU_ASSERT_EQUAL_FATAL(ws_allowedips_insert(&t, family, a, cidr, p), 0);
		model_insert(&m, family, a, cidr, p);
		if (i % 100 == 99) {
			bad += compare_lookups(&t, &m, &rs, 1000);
			CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
			CU_ASSERT_EQUAL(t.prefixes, (size_t)m.n);
		}
	}
	bad += compare_lookups(&t, &m, &rs, 100000);
	bad += compare_walks(&t, &m);
	for (int i = 0; i < 1500; i++) {
		uint8_t a[16], cidr;
		int family;

		if (ws_test_rand(&rs) % 4 && m.n) {   /* an existing prefix */
			const struct model_entry *e = &m.e[ws_test_rand(&rs) % (uint64_t)m.n];

			family = e->family;
			memcpy(a, e->addr, 16);
			cidr = e->cidr;
		} else {
			family = rand_addr(&m, &rs, a);
			cidr = rand_cidr(&rs, family);
		}
		rc_bad += ws_allowedips_remove(&t, family, a, cidr) != model_remove(&m, family, a, cidr);
		bad += compare_lookups(&t, &m, &rs, 20);
	}
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_EQUAL(t.prefixes, (size_t)m.n);
	bad += compare_walks(&t, &m);
	for (int p = 0; p < N_PEERS; p += 7) {
		ws_allowedips_remove_by_peer(&t, P(p));
		model_remove_peer(&m, P(p));
		bad += compare_lookups(&t, &m, &rs, 1000);
	}
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	CU_ASSERT_EQUAL(t.prefixes, (size_t)m.n);
	bad += compare_walks(&t, &m);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(rc_bad, 0);
	CU_ASSERT_TRUE(m.n > 100);    /* the removals left something to test */
	/* The generator makes most lookups land inside some prefix. */
	CU_ASSERT_TRUE(lookups_done > 150000);
	CU_ASSERT_TRUE(lookups_found > lookups_done / 2);
	printf("\n    differential: %ld lookups, %ld matched, %d prefixes left\n", lookups_done,
	       lookups_found, m.n);
	ws_allowedips_free(&t);
	CU_ASSERT_EQUAL(t.nodes, 0);
}

/* Hub scenario: 1000 peers with one overlay address each. Prints the figures. */
static void test_aip_memory_1000_peers(void)
{
	static int hub_peers[1000];
	struct ws_allowedips t;
	uint8_t a4[4] = { 198, 19, 0, 0 }, a6[16] = { 0xfd, 0x19 };
	size_t v4_nodes, v4_bytes;

	ws_allowedips_init(&t);
	for (int i = 0; i < 1000; i++) {
		a4[2] = (uint8_t)((i + 2) >> 8);
		a4[3] = (uint8_t)(i + 2);
		CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET, a4, 32, &hub_peers[i]), 0);
	}
	v4_nodes = t.nodes;
	v4_bytes = ws_allowedips_memory(&t);
	for (int i = 0; i < 1000; i++) {
		a6[14] = (uint8_t)((i + 2) >> 8);
		a6[15] = (uint8_t)(i + 2);
		CU_ASSERT_EQUAL(ws_allowedips_insert(&t, AF_INET6, a6, 128, &hub_peers[i]), 0);
	}
	CU_ASSERT_EQUAL(ws_allowedips_check(&t), 0);
	/* A trie with n leaves has at most n - 1 glue nodes. */
	CU_ASSERT_TRUE(v4_nodes < 2000);
	CU_ASSERT_TRUE(t.nodes < 4000);
	for (int i = 0; i < 1000; i++) {
		a4[2] = (uint8_t)((i + 2) >> 8);
		a4[3] = (uint8_t)(i + 2);
		CU_ASSERT_PTR_EQUAL(ws_allowedips_lookup(&t, AF_INET, a4), &hub_peers[i]);
	}
	printf("\n    allowedips: %zu bytes/node; 1000 peers x 1 IPv4 /32: %zu nodes, %zu bytes; "
	       "+ 1 IPv6 /128 each: %zu nodes, %zu bytes\n",
	       ws_allowedips_node_size(), v4_nodes, v4_bytes, t.nodes, ws_allowedips_memory(&t));
	ws_allowedips_free(&t);
}

WS_SUITE(allowedips)
{
	WS_ADD(suite, test_aip_v4_exact);
	WS_ADD(suite, test_aip_v6_exact);
	WS_ADD(suite, test_aip_host_bits_masked);
	WS_ADD(suite, test_aip_reinsert_moves);
	WS_ADD(suite, test_aip_remove);
	WS_ADD(suite, test_aip_remove_by_peer);
	WS_ADD(suite, test_aip_walk);
	WS_ADD(suite, test_aip_bad_args);
	WS_ADD(suite, test_aip_packet_helpers);
	WS_ADD(suite, test_aip_random_differential);
	WS_ADD(suite, test_aip_memory_1000_peers);
}
