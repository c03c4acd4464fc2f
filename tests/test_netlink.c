/* SPDX-License-Identifier: MIT */
/*
 * netlink: links, veth, addresses, routes (main and custom tables), rules
 * (wg-quick's full-tunnel pair), free table search and route MTU, all inside
 * a private network namespace (also defined here: ws_test_netns_enter).
 * Only 198.18.0.0/16, 198.19.0.0/16, fd18::/48 and fd19::/48 are used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_addr.h>

#include "os/netlink.h"
#include "netns_private.h"
#include "test.h"

enum { SNAP_MAX = 64, TABLE = 51821 };

/* ---- the private namespace ---------------------------------------------------- */

struct ns_snap {
	int nlinks, naddrs, nroutes[2], nrules[2];
	struct ws_nl_link links[SNAP_MAX];
	struct ws_nl_addr addrs[SNAP_MAX];
	struct ws_nl_route routes[2][SNAP_MAX];
	struct ws_nl_rule rules[2][SNAP_MAX];
};

static struct ns_snap baseline;

static int snap_take(struct ns_snap *s)
{
	static const int fam[2] = { AF_INET, AF_INET6 };

	memset(s, 0, sizeof(*s));
	s->nlinks = ws_nl_link_list(s->links, SNAP_MAX);
	s->naddrs = ws_nl_addr_list(0, AF_UNSPEC, s->addrs, SNAP_MAX);
	if (s->nlinks < 0 || s->nlinks > SNAP_MAX || s->naddrs < 0 || s->naddrs > SNAP_MAX)
		return -1;
	for (int f = 0; f < 2; f++) {
		s->nroutes[f] = ws_nl_route_list(fam[f], 0, 0, s->routes[f], SNAP_MAX);
		s->nrules[f] = ws_nl_rule_list(fam[f], s->rules[f], SNAP_MAX);
		if (s->nroutes[f] < 0 || s->nroutes[f] > SNAP_MAX || s->nrules[f] < 0 ||
		    s->nrules[f] > SNAP_MAX)
			return -1;
	}
	return 0;
}

static int netns_ino(ino_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

static int netns_enter_once(void)
{
	ino_t before, after;
	int lo;

	if (netns_ino(&before) < 0)
		return -ENOENT;
	if (unshare(CLONE_NEWNET) < 0) {
		int e = errno;

		fprintf(stderr, "\n*** I/O tests need root: unshare(CLONE_NEWNET) failed: %s\n",
			strerror(e));
		return -e;
	}
	if (netns_ino(&after) < 0 || after == before) {
		fprintf(stderr, "\n*** not in a new network namespace; refusing to go on\n");
		return -EPERM;
	}
	lo = ws_nl_link_index("lo");
	if (lo <= 0 || ws_nl_link_set_up(lo, true) < 0 || snap_take(&baseline) < 0 ||
	    baseline.nlinks != 1) {
		fprintf(stderr, "\n*** new network namespace is not as expected\n");
		return -EPROTO;
	}
	return 0;
}

int ws_test_netns_enter(void)
{
	static int state = 1;	/* 1: not tried; else the result, kept */

	if (state == 1)
		state = netns_enter_once();
	return state;
}

static bool prefix_eq(const struct ws_nl_prefix *a, const struct ws_nl_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool route_eq(const struct ws_nl_route *a, const struct ws_nl_route *b)
{
	return prefix_eq(&a->dst, &b->dst) && a->ifindex == b->ifindex &&
	       a->table == b->table && a->metric == b->metric && a->mtu == b->mtu &&
	       a->type == b->type;
}

static bool rule_eq(const struct ws_nl_rule *a, const struct ws_nl_rule *b)
{
	return a->family == b->family && a->priority == b->priority &&
	       a->table == b->table && a->fwmark == b->fwmark && a->fwmask == b->fwmask &&
	       a->invert == b->invert && a->suppress_prefixlen == b->suppress_prefixlen;
}

static bool addr_eq(const struct ws_nl_addr *a, const struct ws_nl_addr *b)
{
	return a->ifindex == b->ifindex && prefix_eq(&a->prefix, &b->prefix);
}

static bool link_eq(const struct ws_nl_link *a, const struct ws_nl_link *b)
{
	return a->ifindex == b->ifindex && !strcmp(a->name, b->name) && a->mtu == b->mtu;
}

/* Same multiset of items, in any order. */
#define SAME_SET(eq, a, na, b, nb)                                                  \
	({                                                                          \
		bool ok_ = (na) == (nb);                                            \
		for (int i_ = 0; ok_ && i_ < (na); i_++) {                          \
			int hits_a_ = 0, hits_b_ = 0;                               \
			for (int j_ = 0; j_ < (na); j_++)                           \
				hits_a_ += eq(&(a)[i_], &(a)[j_]);                  \
			for (int j_ = 0; j_ < (nb); j_++)                           \
				hits_b_ += eq(&(a)[i_], &(b)[j_]);                  \
			ok_ = hits_a_ == hits_b_;                                   \
		}                                                                   \
		ok_;                                                                \
	})

void ws_test_netns_assert_clean(void)
{
	static struct ns_snap now;

	CU_ASSERT_FATAL(snap_take(&now) == 0);
	CU_ASSERT(SAME_SET(link_eq, now.links, now.nlinks, baseline.links, baseline.nlinks));
	CU_ASSERT(SAME_SET(addr_eq, now.addrs, now.naddrs, baseline.addrs, baseline.naddrs));
	for (int f = 0; f < 2; f++) {
		CU_ASSERT(SAME_SET(route_eq, now.routes[f], now.nroutes[f],
				   baseline.routes[f], baseline.nroutes[f]));
		CU_ASSERT(SAME_SET(rule_eq, now.rules[f], now.nrules[f],
				   baseline.rules[f], baseline.nrules[f]));
	}
}

/* ---- helpers -------------------------------------------------------------------- */

static struct ws_nl_prefix pfx(const char *s)
{
	struct ws_nl_prefix p = { 0 };
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	CU_ASSERT_FATAL(n < sizeof(addr));
	memcpy(addr, s, n);
	addr[n] = '\0';
	p.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	CU_ASSERT_FATAL(inet_pton(p.family, addr, p.addr) == 1);
	p.plen = (uint8_t)(slash ? atoi(slash + 1) : (p.family == AF_INET ? 32 : 128));
	return p;
}

static struct ws_nl_route route(const char *dst, int ifindex, uint32_t table)
{
	struct ws_nl_route r = { .dst = pfx(dst), .ifindex = ifindex, .table = table };

	return r;
}

/* veth pair a <-> b with both ends up at mtu (0: keep 1500); returns a's index. */
static int veth_up(const char *a, const char *b, unsigned int mtu)
{
	int ia, ib;

	CU_ASSERT_FATAL(ws_nl_veth_add(a, b) == 0);
	ia = ws_nl_link_index(a);
	ib = ws_nl_link_index(b);
	CU_ASSERT_FATAL(ia > 0 && ib > 0);
	if (mtu) {
		CU_ASSERT(ws_nl_link_set_mtu(ia, mtu) == 0);
		CU_ASSERT(ws_nl_link_set_mtu(ib, mtu) == 0);
	}
	CU_ASSERT(ws_nl_link_set_up(ia, true) == 0);
	CU_ASSERT(ws_nl_link_set_up(ib, true) == 0);
	return ia;
}

static int count_routes(int family, uint32_t table, int ifindex, const struct ws_nl_route *want)
{
	struct ws_nl_route rs[SNAP_MAX];
	int n = ws_nl_route_list(family, table, ifindex, rs, SNAP_MAX), hits = 0;

	CU_ASSERT_FATAL(n >= 0 && n <= SNAP_MAX);
	for (int i = 0; i < n; i++)
		if (!want || (prefix_eq(&rs[i].dst, &want->dst) &&
			      rs[i].ifindex == want->ifindex && rs[i].mtu == want->mtu))
			hits++;
	return hits;
}

static unsigned int mtu_to(const char *addr, uint32_t mark, int *err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned int mtu = 0;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		CU_ASSERT_FATAL(inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1);
		s6->sin6_family = AF_INET6;
	}
	*err = ws_nl_route_mtu((struct sockaddr *)&ss, mark, &mtu);
	return mtu;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_netns_private(void)
{
	struct ws_nl_link l;

	WS_NETNS_REQUIRE();
	CU_ASSERT(ws_test_netns_enter() == 0);	/* idempotent */
	CU_ASSERT_EQUAL(baseline.nlinks, 1);
	CU_ASSERT_STRING_EQUAL(baseline.links[0].name, "lo");
	CU_ASSERT(ws_nl_link_get("lo", 0, &l) == 0);
	CU_ASSERT(l.flags & IFF_UP);
	CU_ASSERT(baseline.nrules[0] >= 3 && baseline.nrules[1] >= 2);
	ws_test_netns_assert_clean();
}

static void test_link(void)
{
	struct ws_nl_link l, list[8];
	int ia, ib;

	WS_NETNS_REQUIRE();
	CU_ASSERT(ws_nl_veth_add("wsnl0a", "wsnl0b") == 0);
	CU_ASSERT(ws_nl_veth_add("wsnl0a", "wsnl0c") == -EEXIST);
	CU_ASSERT(ws_nl_veth_add("wsnl0-name-too-long", "x") == -EINVAL);
	ia = ws_nl_link_index("wsnl0a");
	ib = ws_nl_link_index("wsnl0b");
	CU_ASSERT_FATAL(ia > 0 && ib > 0 && ia != ib);
	CU_ASSERT(ws_nl_link_index("wsnl0zz") == -ENODEV);
	CU_ASSERT(ws_nl_link_index("") == -EINVAL);
	CU_ASSERT(ws_nl_link_get(NULL, ia, &l) == 0);
	CU_ASSERT_STRING_EQUAL(l.name, "wsnl0a");
	CU_ASSERT_EQUAL(l.mtu, 1500);
	CU_ASSERT_FALSE(l.flags & IFF_UP);
	CU_ASSERT(ws_nl_link_set_mtu(ia, 1400) == 0);
	CU_ASSERT(ws_nl_link_set_mtu(ia, 1) == -EINVAL);	/* below the minimum */
	CU_ASSERT(ws_nl_link_set_up(ia, true) == 0);
	CU_ASSERT(ws_nl_link_get("wsnl0a", 0, &l) == 0);
	CU_ASSERT_EQUAL(l.mtu, 1400);
	CU_ASSERT(l.flags & IFF_UP);
	CU_ASSERT(ws_nl_link_set_up(ia, false) == 0);
	CU_ASSERT(ws_nl_link_get(NULL, ia, &l) == 0);
	CU_ASSERT_FALSE(l.flags & IFF_UP);
	CU_ASSERT(ws_nl_link_set_up(99999, true) == -ENODEV);
	CU_ASSERT_EQUAL(ws_nl_link_list(list, 8), 3);
	CU_ASSERT_EQUAL(ws_nl_link_list(list, 1), 3);	/* cut, count still exact */
	CU_ASSERT(ws_nl_link_del("wsnl0a") == 0);	/* takes its peer along */
	CU_ASSERT(ws_nl_link_index("wsnl0b") == -ENODEV);
	CU_ASSERT(ws_nl_link_del("wsnl0a") == -ENODEV);
	ws_test_netns_assert_clean();
}

static bool has_addr(int ifindex, const char *s)
{
	struct ws_nl_addr as[SNAP_MAX];
	struct ws_nl_prefix p = pfx(s);
	int n = ws_nl_addr_list(ifindex, p.family, as, SNAP_MAX);

	CU_ASSERT_FATAL(n >= 0 && n <= SNAP_MAX);
	for (int i = 0; i < n; i++)
		if (as[i].ifindex == ifindex && prefix_eq(&as[i].prefix, &p))
			return true;
	return false;
}

static void test_addr(void)
{
	static const char *const addrs[] = { "198.18.0.1/24", "198.18.1.1/32",
					     "fd18::1/64", "fd18:0:0:1::1/128" };
	struct ws_nl_prefix bad = pfx("198.18.0.1/24");
	int ia;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_nl_veth_add("wsnl1a", "wsnl1b") == 0);
	ia = ws_nl_link_index("wsnl1a");
	CU_ASSERT_FATAL(ia > 0);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct ws_nl_prefix p = pfx(addrs[i]);

		CU_ASSERT(ws_nl_addr_add(ia, &p, 0) == 0);
		CU_ASSERT(ws_nl_addr_add(ia, &p, 0) == -EEXIST);
		CU_ASSERT(has_addr(ia, addrs[i]));
	}
	CU_ASSERT_EQUAL(ws_nl_addr_list(ia, AF_INET, NULL, 0), 2);
	bad.plen = 33;
	CU_ASSERT(ws_nl_addr_add(ia, &bad, 0) == -EINVAL);
	bad.family = AF_UNIX;
	CU_ASSERT(ws_nl_addr_add(ia, &bad, 0) == -EINVAL);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct ws_nl_prefix p = pfx(addrs[i]);

		CU_ASSERT(ws_nl_addr_del(ia, &p) == 0);
		CU_ASSERT(ws_nl_addr_del(ia, &p) == -EADDRNOTAVAIL);
		CU_ASSERT_FALSE(has_addr(ia, addrs[i]));
	}
	CU_ASSERT_EQUAL(ws_nl_addr_list(ia, AF_INET, NULL, 0), 0);
	CU_ASSERT(ws_nl_link_del("wsnl1a") == 0);
	ws_test_netns_assert_clean();
}

/* Flags of the one address of ifindex, or ~0u. */
static uint32_t addr_flags(int ifindex, int family)
{
	struct ws_nl_addr as[SNAP_MAX];
	int n = ws_nl_addr_list(ifindex, family, as, SNAP_MAX);

	for (int i = 0; i < n && i < SNAP_MAX; i++)
		if (as[i].ifindex == ifindex && as[i].prefix.plen == 64)
			return as[i].flags;
	return ~0u;
}

/* IFA_F_NODAD reaches the kernel: the IPv6 address is usable at once, not
 * tentative while the link comes up; without it, it is tentative. */
static void test_addr_flags(void)
{
	struct ws_nl_prefix a = pfx("fd18::1/64"), b = pfx("fd18:0:0:2::1/64");
	uint32_t f;
	int ia, ib;

	WS_NETNS_REQUIRE();
	CU_ASSERT_FATAL(ws_nl_veth_add("wsnl4a", "wsnl4b") == 0);
	ia = ws_nl_link_index("wsnl4a");
	ib = ws_nl_link_index("wsnl4b");
	CU_ASSERT_FATAL(ia > 0 && ib > 0);
	CU_ASSERT(ws_nl_link_set_up(ib, true) == 0);
	CU_ASSERT(ws_nl_link_set_up(ia, true) == 0);
	CU_ASSERT(ws_nl_addr_add(ia, &a, IFA_F_NODAD) == 0);
	CU_ASSERT(ws_nl_addr_add(ib, &b, 0) == 0);
	f = addr_flags(ia, AF_INET6);
	CU_ASSERT(f != ~0u && (f & IFA_F_NODAD) && !(f & IFA_F_TENTATIVE));
	f = addr_flags(ib, AF_INET6);
	CU_ASSERT(f != ~0u && !(f & IFA_F_NODAD) && (f & IFA_F_TENTATIVE));
	CU_ASSERT(ws_nl_link_del("wsnl4a") == 0);
	ws_test_netns_assert_clean();
}

static void test_route(void)
{
	const char *dsts[] = { "198.19.5.0/24", "fd19:5::/64", "0.0.0.0/0", "::/0" };
	struct ws_nl_route r, main4, mtu4;
	uint32_t t = 0;
	int ia;

	WS_NETNS_REQUIRE();
	ia = veth_up("wsnl2a", "wsnl2b", 0);
	CU_ASSERT(ws_nl_table_find_free(TABLE, &t) == 0);
	CU_ASSERT_EQUAL(t, TABLE);
	for (int i = 0; i < 4; i++) {
		r = route(dsts[i], ia, TABLE);
		CU_ASSERT(ws_nl_route_add(&r) == 0);
		CU_ASSERT(ws_nl_route_add(&r) == -EEXIST);
	}
	CU_ASSERT_EQUAL(count_routes(AF_INET, TABLE, 0, NULL), 2);
	CU_ASSERT_EQUAL(count_routes(AF_INET6, TABLE, 0, NULL), 2);
	r = route("fd19:5::/64", ia, TABLE);
	CU_ASSERT_EQUAL(count_routes(AF_INET6, TABLE, ia, &r), 1);
	CU_ASSERT(ws_nl_table_find_free(TABLE, &t) == 0);
	CU_ASSERT_EQUAL(t, TABLE + 1);
	/* Only IPv6 routes in the next table: still taken. */
	r = route("fd19:6::/64", ia, TABLE + 1);
	CU_ASSERT(ws_nl_route_add(&r) == 0);
	CU_ASSERT(ws_nl_table_find_free(TABLE, &t) == 0);
	CU_ASSERT_EQUAL(t, TABLE + 2);
	CU_ASSERT(ws_nl_route_del(&r) == 0);
	/* main (table 0) and an MTU metric */
	main4 = route("198.19.6.0/24", ia, 0);
	mtu4 = route("198.19.7.0/24", ia, 0);
	mtu4.mtu = 1300;
	CU_ASSERT(ws_nl_route_add(&main4) == 0);
	CU_ASSERT(ws_nl_route_add(&mtu4) == 0);
	CU_ASSERT_EQUAL(count_routes(AF_INET, WS_NL_TABLE_MAIN, ia, &main4), 1);
	CU_ASSERT_EQUAL(count_routes(AF_INET, WS_NL_TABLE_MAIN, ia, &mtu4), 1);
	CU_ASSERT(ws_nl_route_del(&main4) == 0);
	CU_ASSERT(ws_nl_route_del(&main4) == -ESRCH);
	CU_ASSERT(ws_nl_route_del(&mtu4) == 0);
	r = route("198.19.5.1/24", ia, TABLE);	/* host bits set */
	CU_ASSERT(ws_nl_route_add(&r) == -EINVAL);
	for (int i = 0; i < 4; i++) {
		r = route(dsts[i], ia, TABLE);
		CU_ASSERT(ws_nl_route_del(&r) == 0);
		CU_ASSERT(ws_nl_route_del(&r) == -ESRCH);
	}
	CU_ASSERT_EQUAL(count_routes(AF_INET, TABLE, 0, NULL), 0);
	CU_ASSERT_EQUAL(count_routes(AF_INET6, TABLE, 0, NULL), 0);
	CU_ASSERT(ws_nl_table_find_free(TABLE, &t) == 0);
	CU_ASSERT_EQUAL(t, TABLE);
	CU_ASSERT(ws_nl_link_del("wsnl2a") == 0);
	ws_test_netns_assert_clean();
}

/* wg-quick's full-tunnel pair for one family, with explicit priorities. */
static void full_tunnel_rules(int family, struct ws_nl_rule *notmark, struct ws_nl_rule *suppress)
{
	struct ws_nl_rule a = { .family = family, .priority = 32765, .table = TABLE,
				.fwmark = TABLE, .invert = true, .suppress_prefixlen = -1 };
	struct ws_nl_rule b = { .family = family, .priority = 32764,
				.table = WS_NL_TABLE_MAIN, .suppress_prefixlen = 0 };

	*notmark = a;
	*suppress = b;
}

static int count_rules(int family, const struct ws_nl_rule *want)
{
	struct ws_nl_rule rs[SNAP_MAX];
	int n = ws_nl_rule_list(family, rs, SNAP_MAX), hits = 0;

	CU_ASSERT_FATAL(n >= 0 && n <= SNAP_MAX);
	for (int i = 0; i < n; i++) {
		struct ws_nl_rule w = *want;

		if (w.fwmark && !w.fwmask)
			w.fwmask = UINT32_MAX;	/* the kernel reports the mask */
		hits += rule_eq(&rs[i], &w);
	}
	return hits;
}

static void test_rules(void)
{
	static const int fam[2] = { AF_INET, AF_INET6 };

	WS_NETNS_REQUIRE();
	for (int f = 0; f < 2; f++) {
		struct ws_nl_rule notmark, suppress, bad;

		full_tunnel_rules(fam[f], &notmark, &suppress);
		CU_ASSERT(ws_nl_rule_add(&notmark) == 0);
		CU_ASSERT(ws_nl_rule_add(&suppress) == 0);
		CU_ASSERT(ws_nl_rule_add(&notmark) == -EEXIST);
		CU_ASSERT(ws_nl_rule_add(&suppress) == -EEXIST);
		CU_ASSERT_EQUAL(count_rules(fam[f], &notmark), 1);
		CU_ASSERT_EQUAL(count_rules(fam[f], &suppress), 1);
		CU_ASSERT_EQUAL(ws_nl_rule_list(fam[f], NULL, 0), baseline.nrules[f] + 2);
		bad = suppress;
		bad.suppress_prefixlen = -2;
		CU_ASSERT(ws_nl_rule_add(&bad) == -EINVAL);
		CU_ASSERT(ws_nl_rule_del(&notmark) == 0);
		CU_ASSERT(ws_nl_rule_del(&notmark) == -ENOENT);
		CU_ASSERT(ws_nl_rule_del(&suppress) == 0);
		CU_ASSERT_EQUAL(count_rules(fam[f], &notmark), 0);
	}
	ws_test_netns_assert_clean();
}

static void test_route_mtu(void)
{
	struct ws_nl_prefix a4 = pfx("198.18.0.1/24"), a6 = pfx("fd18::1/64");
	struct ws_nl_route r;
	int ia, err = 0;

	WS_NETNS_REQUIRE();
	ia = veth_up("wsnl3a", "wsnl3b", 1400);
	CU_ASSERT(ws_nl_addr_add(ia, &a4, 0) == 0);
	CU_ASSERT(ws_nl_addr_add(ia, &a6, 0) == 0);
	CU_ASSERT_EQUAL(mtu_to("198.18.0.2", 0, &err), 1400);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT_EQUAL(mtu_to("fd18::2", 0, &err), 1400);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT_EQUAL(mtu_to("::ffff:198.18.0.2", 0, &err), 1400);
	CU_ASSERT_EQUAL(err, 0);
	/* the route's own MTU metric wins over the device's */
	r = route("198.18.9.0/24", ia, 0);
	r.mtu = 1300;
	CU_ASSERT(ws_nl_route_add(&r) == 0);
	CU_ASSERT_EQUAL(mtu_to("198.18.9.7", 0, &err), 1300);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT(ws_nl_route_del(&r) == 0);
	mtu_to("198.18.200.1", 0, &err);
	CU_ASSERT_EQUAL(err, -ENETUNREACH);
	mtu_to("fd18:0:0:200::1", 0, &err);
	CU_ASSERT_EQUAL(err, -ENETUNREACH);
	CU_ASSERT(ws_nl_route_mtu(NULL, 0, NULL) == -EAFNOSUPPORT);
	CU_ASSERT(ws_nl_link_del("wsnl3a") == 0);
	ws_test_netns_assert_clean();
}

/* Full tunnel as wg-quick does it: main's default route via the underlay,
 * the tunnel's default route in TABLE, rules "table main
 * suppress_prefixlength 0" and "not fwmark TABLE table TABLE". Unmarked
 * traffic goes into the tunnel; the daemon's marked traffic does not. */
static void test_full_tunnel_lookup(void)
{
	static const int fam[2] = { AF_INET, AF_INET6 };
	static const char *const dst[2] = { "198.18.50.1", "fd18:50::1" };
	static const char *const any[2] = { "0.0.0.0/0", "::/0" };
	struct ws_nl_rule notmark[2], suppress[2];
	struct ws_nl_route under[2], tun[2];
	int iu, it, err = 0;

	WS_NETNS_REQUIRE();
	iu = veth_up("wsnl4a", "wsnl4b", 1400);	/* underlay */
	it = veth_up("wsnl5a", "wsnl5b", 1380);	/* stands in for the tunnel */
	for (int f = 0; f < 2; f++) {
		under[f] = route(any[f], iu, 0);
		tun[f] = route(any[f], it, TABLE);
		full_tunnel_rules(fam[f], &notmark[f], &suppress[f]);
		CU_ASSERT(ws_nl_route_add(&under[f]) == 0);
		CU_ASSERT_EQUAL(mtu_to(dst[f], 0, &err), 1400);
		CU_ASSERT(ws_nl_route_add(&tun[f]) == 0);
		CU_ASSERT(ws_nl_rule_add(&notmark[f]) == 0);
		CU_ASSERT(ws_nl_rule_add(&suppress[f]) == 0);
		CU_ASSERT_EQUAL(mtu_to(dst[f], 0, &err), 1380);
		CU_ASSERT_EQUAL(err, 0);
		CU_ASSERT_EQUAL(mtu_to(dst[f], TABLE, &err), 1400);
		CU_ASSERT_EQUAL(err, 0);
	}
	for (int f = 0; f < 2; f++) {
		CU_ASSERT(ws_nl_rule_del(&suppress[f]) == 0);
		CU_ASSERT(ws_nl_rule_del(&notmark[f]) == 0);
		CU_ASSERT(ws_nl_route_del(&tun[f]) == 0);
		CU_ASSERT(ws_nl_route_del(&under[f]) == 0);
	}
	CU_ASSERT(ws_nl_link_del("wsnl4a") == 0);
	CU_ASSERT(ws_nl_link_del("wsnl5b") == 0);	/* either end works */
	ws_test_netns_assert_clean();
}

WS_SUITE(netlink)
{
	WS_ADD(suite, test_netns_private);
	WS_ADD(suite, test_link);
	WS_ADD(suite, test_addr);
	WS_ADD(suite, test_addr_flags);
	WS_ADD(suite, test_route);
	WS_ADD(suite, test_rules);
	WS_ADD(suite, test_route_mtu);
	WS_ADD(suite, test_full_tunnel_lookup);
}
