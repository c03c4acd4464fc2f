/* SPDX-License-Identifier: MIT */
/*
 * Routes for the peers' AllowedIPs (Table = auto | N | off), most specific
 * first, and the full tunnel for a /0 under Table = auto, as wg-quick does:
 *
 *   table T = 51821 or the first free one above; mark M = FwMark, or T (set
 *   through the control socket when the config has no FwMark);
 *   for each family with a /0:
 *     ip rule add not fwmark M table T           unmarked traffic: table T
 *     ip rule add table main suppress_prefixlength 0
 *                                                main's routes except its default
 *     ip route add 0.0.0.0/0 dev IFNAME table T
 *   sysctl net.ipv4.conf.all.src_valid_mark=1   (IPv4: rp_filter sees the mark)
 *
 * The daemon's own UDP carries mark M, skips table T and leaves through the
 * underlay: no routing loop. Every route and rule is journaled as it is
 * added, rules with the priority the kernel chose, so wsdown deletes exactly
 * those.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "wsup.h"

enum { ROUTE_LIST_FIRST = 256 };

const char *wsup_family_opt(int family)
{
	return family == AF_INET6 ? "-6" : "-4";
}

static const char *table_str(char *buf, size_t cap, uint32_t table)
{
	if (table == 0 || table == WS_NL_TABLE_MAIN)
		snprintf(buf, cap, "main");
	else
		snprintf(buf, cap, "%u", table);
	return buf;
}

const char *wsup_rule_str(char *buf, size_t cap, const struct ws_nl_rule *r)
{
	char t[16];
	size_t n = (size_t)snprintf(buf, cap, "%s", r->invert ? "not " : "");

	if (n < cap && (r->fwmark || r->fwmask)) {
		n += (size_t)snprintf(buf + n, cap - n, "fwmark %u", r->fwmark);
		if (n < cap && r->fwmask && r->fwmask != UINT32_MAX)
			n += (size_t)snprintf(buf + n, cap - n, "/0x%x", r->fwmask);
		if (n < cap)
			n += (size_t)snprintf(buf + n, cap - n, " ");
	}
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "table %s", table_str(t, sizeof(t), r->table));
	if (n < cap && r->suppress_prefixlen >= 0)
		n += (size_t)snprintf(buf + n, cap - n, " suppress_prefixlength %d",
				      r->suppress_prefixlen);
	if (n < cap && r->priority)
		snprintf(buf + n, cap - n, " priority %u", r->priority);
	return buf;
}

static void to_conf(struct ws_conf_prefix *cp, const struct ws_nl_prefix *p)
{
	memset(cp, 0, sizeof(*cp));
	cp->family = p->family;
	cp->cidr = p->plen;
	memcpy(cp->addr, p->addr, sizeof(cp->addr));
}

const char *wsup_route_str(char *buf, size_t cap, const struct ws_nl_route *r,
			   const char *ifname)
{
	char p[WS_CONF_PREFIX_STRLEN], t[16];
	struct ws_conf_prefix cp;

	to_conf(&cp, &r->dst);
	if (r->table == 0 || r->table == WS_NL_TABLE_MAIN)
		snprintf(buf, cap, "%s dev %s", ws_conf_format_prefix(p, &cp), ifname);
	else
		snprintf(buf, cap, "%s dev %s table %s", ws_conf_format_prefix(p, &cp), ifname,
			 table_str(t, sizeof(t), r->table));
	return buf;
}

/* ---- the prefixes: every peer's AllowedIPs, most specific first, once ---- */

static int prefix_cmp(const void *a, const void *b)
{
	const struct ws_conf_prefix *x = a, *y = b;

	if (x->cidr != y->cidr)
		return x->cidr > y->cidr ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static struct ws_conf_prefix *collect(const struct ws_conf *c, size_t *n)
{
	struct ws_conf_prefix *all;
	size_t total = 0, k = 0;

	for (size_t i = 0; i < c->n_peers; i++)
		total += c->peers[i].n_allowed_ips;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return NULL;
	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].n_allowed_ips; j++)
			all[k++] = c->peers[i].allowed_ips[j];
	qsort(all, total, sizeof(*all), prefix_cmp);
	*n = 0;
	for (size_t i = 0; i < total; i++)
		if (*n == 0 || prefix_cmp(&all[*n - 1], &all[i]))
			all[(*n)++] = all[i];
	return all;
}

/* ---- routes ---- */

/* The routes already in place, through any device: those through the
 * interface (e.g. an Address's prefix route) are not ours to add; one for
 * the same prefix through another device would win over ours or make our
 * add fail, and that prefix's traffic would leave unencrypted. */
struct existing {
	struct ws_nl_route *r;
	int n;
};

static int list_existing(struct existing *e, int ifindex)
{
	int cap = ROUTE_LIST_FIRST, n4, n6;

	for (;;) {
		free(e->r);
		e->r = calloc((size_t)cap, sizeof(*e->r));
		if (!e->r)
			return -ENOMEM;
		n4 = ws_nl_route_list(AF_INET, 0, ifindex, e->r, cap);
		if (n4 < 0)
			return n4;
		n6 = n4 <= cap ? ws_nl_route_list(AF_INET6, 0, ifindex, e->r + n4, cap - n4) : 0;
		if (n6 < 0)
			return n6;
		if (n4 + n6 <= cap) {
			e->n = n4 + n6;
			return 0;
		}
		cap = 2 * (n4 + n6);
	}
}

static bool same_dst(const struct ws_nl_route *a, const struct ws_nl_route *b)
{
	return a->table == b->table && a->dst.family == b->dst.family &&
	       a->dst.plen == b->dst.plen && !memcmp(a->dst.addr, b->dst.addr, 16);
}

static bool present(const struct existing *e, const struct ws_nl_route *r)
{
	for (int i = 0; i < e->n; i++)
		if (same_dst(&e->r[i], r) && e->r[i].type == RTN_UNICAST &&
		    e->r[i].ifindex == r->ifindex)
			return true;
	return false;
}

/* A route for the same prefix in the same table, not ours: NULL if none. */
static const struct ws_nl_route *conflict(const struct existing *e, const struct ws_nl_route *r)
{
	for (int i = 0; i < e->n; i++)
		if (same_dst(&e->r[i], r) &&
		    (e->r[i].type != RTN_UNICAST || e->r[i].ifindex != r->ifindex))
			return &e->r[i];
	return NULL;
}

static int conflict_error(const struct ws_nl_route *r, const struct ws_nl_route *other)
{
	static const char *const types[] = { [RTN_BLACKHOLE] = "blackhole",
					     [RTN_UNREACHABLE] = "unreachable",
					     [RTN_PROHIBIT] = "prohibit", [RTN_THROW] = "throw" };
	char dst[WS_CONF_PREFIX_STRLEN], t[16], dev[IF_NAMESIZE], how[WS_CONF_PREFIX_STRLEN + 32];
	struct ws_conf_prefix cp;

	to_conf(&cp, &r->dst);
	ws_conf_format_prefix(dst, &cp);
	if (other->type != RTN_UNICAST && other->type < sizeof(types) / sizeof(types[0]) &&
	    types[other->type])
		snprintf(how, sizeof(how), "%s %s", types[other->type], dst);
	else if (other->ifindex > 0 && if_indextoname((unsigned)other->ifindex, dev))
		snprintf(how, sizeof(how), "%s dev %s", dst, dev);
	else
		snprintf(how, sizeof(how), "%s (type %u)", dst, other->type);
	wsup_err("AllowedIPs %s: table %s already has the route '%s', which would carry that "
		 "traffic outside the tunnel (unencrypted). Remove that route, or take %s out of "
		 "AllowedIPs, or set Table = off and route it yourself", dst,
		 table_str(t, sizeof(t), r->table), how, dst);
	return -EEXIST;
}

static int add_route(struct wsup *w, const struct existing *e, int ifindex,
		     const struct ws_conf_prefix *p, uint32_t table)
{
	struct wsup_rec rec = { .kind = WSUP_REC_ROUTE };
	char s[128];
	int rc;

	rec.route.dst.family = p->family;
	rec.route.dst.plen = p->cidr;
	memcpy(rec.route.dst.addr, p->addr, sizeof(p->addr));
	rec.route.ifindex = ifindex;
	rec.route.table = table ? table : WS_NL_TABLE_MAIN;
	if (present(e, &rec.route))
		return 0;   /* e.g. the prefix route of an Address: not ours to add */
	if (conflict(e, &rec.route))
		return conflict_error(&rec.route, conflict(e, &rec.route));
	wsup_route_str(s, sizeof(s), &rec.route, w->ifname);
	wsup_echo("ip %s route add %s", wsup_family_opt(p->family), s);
	rc = ws_nl_route_add(&rec.route);
	if (rc < 0) {
		wsup_err("cannot add route %s: %s", s, strerror(-rc));
		return rc;
	}
	return wsup_state_add(&w->st, &rec);
}

/* ---- rules ---- */

static bool rule_eq(const struct ws_nl_rule *a, const struct ws_nl_rule *b)
{
	uint32_t ma = a->fwmark && !a->fwmask ? UINT32_MAX : a->fwmask;
	uint32_t mb = b->fwmark && !b->fwmask ? UINT32_MAX : b->fwmask;

	return a->family == b->family && a->table == b->table && a->fwmark == b->fwmark &&
	       ma == mb && a->invert == b->invert && a->suppress_prefixlen == b->suppress_prefixlen;
}

/* Rules of a family; *out malloc'd. Count or -errno. */
static int list_rules(int family, struct ws_nl_rule **out)
{
	int cap = 64, n;

	for (;;) {
		*out = calloc((size_t)cap, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		n = ws_nl_rule_list(family, *out, cap);
		if (n < 0 || n <= cap)
			return n;
		free(*out);
		cap = 2 * n;
	}
}

/* The priority of the rule like r that is in after[] but not in before[]. */
static uint32_t new_priority(const struct ws_nl_rule *r, const struct ws_nl_rule *before, int nb,
			     const struct ws_nl_rule *after, int na)
{
	for (int i = 0; i < na; i++) {
		bool old = false;

		if (!rule_eq(&after[i], r))
			continue;
		for (int j = 0; j < nb && !old; j++)
			old = rule_eq(&before[j], r) && before[j].priority == after[i].priority;
		if (!old)
			return after[i].priority;
	}
	return 0;   /* not found: deleting by the other fields still works */
}

static int add_rule(struct wsup *w, const struct ws_nl_rule *r)
{
	struct wsup_rec rec = { .kind = WSUP_REC_RULE, .rule = *r };
	struct ws_nl_rule *before = NULL, *after = NULL;
	char s[160];
	int nb, na, rc;

	wsup_echo("ip %s rule add %s", wsup_family_opt(r->family), wsup_rule_str(s, sizeof(s), r));
	nb = list_rules(r->family, &before);
	rc = nb < 0 ? nb : ws_nl_rule_add(r);
	if (rc == 0) {
		na = list_rules(r->family, &after);
		rec.rule.priority = na < 0 ? 0 : new_priority(r, before, nb, after, na);
		rc = wsup_state_add(&w->st, &rec);
	} else {
		wsup_err("cannot add rule '%s': %s", s, strerror(-rc));
	}
	free(before);
	free(after);
	return rc;
}

/* ---- the full tunnel ---- */

static int set_fwmark(struct wsup *w, uint32_t mark)
{
	struct wsup_rec rec = { .kind = WSUP_REC_FWMARK, .value = mark };
	char req[64], *reply = NULL;
	size_t reply_len = 0;
	int rc, n = snprintf(req, sizeof(req), "set=1\nfwmark=%u\n\n", mark);

	wsup_echo("wsd %s: set fwmark=%u (control socket)", w->ifname, mark);
	rc = ws_ipc_call(w->ifname, req, (size_t)n, &reply, &reply_len);
	free(reply);
	if (rc < 0) {
		wsup_err("cannot set fwmark %u on %s: %s", mark, w->ifname, strerror(-rc));
		return rc;
	}
	return wsup_state_add(&w->st, &rec);
}

static int src_valid_mark(struct wsup *w)
{
	static const char path[] = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
	struct wsup_rec rec = { .kind = WSUP_REC_SYSCTL };
	int fd, rc = 0;

	wsup_echo("sysctl -q net.ipv4.conf.all.src_valid_mark=1");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		wsup_err("cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	return wsup_state_add(&w->st, &rec);
}

/* Choose the table and mark (once, for both families). */
static int full_tunnel_prepare(struct wsup *w, uint32_t *table, uint32_t *mark)
{
	struct wsup_rec rec = { .kind = WSUP_REC_TABLE };
	int rc = ws_nl_table_find_free(WSUP_FULL_TUNNEL_TABLE, table);

	if (rc < 0) {
		wsup_err("no free routing table from %u on: %s", WSUP_FULL_TUNNEL_TABLE,
			 strerror(-rc));
		return rc;
	}
	rec.value = *table;
	if ((rc = wsup_state_add(&w->st, &rec)) < 0)
		return rc;
	*mark = w->conf.fwmark ? w->conf.fwmark : *table;
	return w->conf.fwmark ? 0 : set_fwmark(w, *mark);
}

static int full_tunnel_family(struct wsup *w, const struct existing *e, int ifindex,
			      const struct ws_conf_prefix *p, uint32_t table, uint32_t mark)
{
	struct ws_nl_rule to_table = { .family = p->family, .table = table, .fwmark = mark,
				       .fwmask = UINT32_MAX, .invert = true,
				       .suppress_prefixlen = -1 };
	struct ws_nl_rule suppress = { .family = p->family, .table = WS_NL_TABLE_MAIN,
				       .suppress_prefixlen = 0 };
	int rc;

	if ((rc = add_rule(w, &to_table)) < 0 || (rc = add_rule(w, &suppress)) < 0 ||
	    (rc = add_route(w, e, ifindex, p, table)) < 0)
		return rc;
	return p->family == AF_INET ? src_valid_mark(w) : 0;
}

int wsup_routes_up(struct wsup *w, int ifindex)
{
	const struct ws_conf *c = &w->conf;
	struct existing e = { NULL, 0 };
	struct ws_conf_prefix *all;
	uint32_t table = 0, mark = 0;
	size_t n = 0;
	int rc;

	if (c->table_mode == WS_CONF_TABLE_OFF)
		return 0;
	all = collect(c, &n);
	if (!all) {
		wsup_err("out of memory");
		return -ENOMEM;
	}
	rc = list_existing(&e, 0);
	if (rc < 0)
		wsup_err("cannot list the routes of %s: %s", w->ifname, strerror(-rc));
	for (size_t i = 0; i < n && rc == 0 && !wsup_interrupted(); i++) {
		if (c->table_mode == WS_CONF_TABLE_ID)
			rc = add_route(w, &e, ifindex, &all[i], c->table);
		else if (all[i].cidr != 0)
			rc = add_route(w, &e, ifindex, &all[i], WS_NL_TABLE_MAIN);
		else if (table || (rc = full_tunnel_prepare(w, &table, &mark)) == 0)
			rc = full_tunnel_family(w, &e, ifindex, &all[i], table, mark);
	}
	if (rc == 0 && wsup_interrupted()) {
		wsup_err("interrupted");
		rc = -EINTR;
	}
	free(e.r);
	free(all);
	return rc;
}
