/* SPDX-License-Identifier: MIT */
/* Routes: add, delete, list, free table search, MTU towards a destination. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>

#include "os/netlink_priv.h"

static uint32_t route_table(uint32_t table)
{
	return table ? table : WS_NL_TABLE_MAIN;
}

/* Header fields and attributes shared by add and delete. */
static int route_fill(struct nlmsghdr *nlh, struct rtmsg *rtm, const struct ws_nl_route *r)
{
	uint32_t table = route_table(r->table);

	if (ws_nl_prefix_check(&r->dst) < 0 || r->ifindex < 0)
		return -EINVAL;
	rtm->rtm_family = (uint8_t)r->dst.family;
	rtm->rtm_dst_len = r->dst.plen;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put(nlh, RTA_DST, ws_nl_family_len(r->dst.family), r->dst.addr);
	if (r->ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)r->ifindex);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return 0;
}

int ws_nl_route_add(const struct ws_nl_route *r)
{
	char buf[WS_NL_REQ_BYTES];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&rtm, sizeof(*rtm));
	struct nlattr *metrics;

	if (!r || r->ifindex <= 0 || route_fill(nlh, rtm, r) < 0)
		return -EINVAL;
	/* A device route without gateway, as `ip route add P dev D` makes it. */
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (r->mtu) {
		metrics = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, metrics);
	}
	return ws_nl_run(nlh, NULL, NULL);
}

int ws_nl_route_del(const struct ws_nl_route *r)
{
	char buf[WS_NL_REQ_BYTES];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_DELROUTE, 0, (void **)&rtm, sizeof(*rtm));

	if (!r || route_fill(nlh, rtm, r) < 0)
		return -EINVAL;
	rtm->rtm_scope = RT_SCOPE_NOWHERE;	/* match any scope and type */
	return ws_nl_run(nlh, NULL, NULL);
}

static uint32_t route_metric_mtu(const struct nlattr *metrics)
{
	const struct nlattr *a;

	if (!metrics)
		return 0;
	mnl_attr_for_each_nested(a, metrics) {
		if (mnl_attr_get_type(a) == RTAX_MTU)
			return ws_nl_attr_u32(a, 0);
	}
	return 0;
}

/* Parse one RTM_NEWROUTE of family AF_INET or AF_INET6. */
static int route_parse(const struct nlmsghdr *nlh, struct ws_nl_route *r)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE || ws_nl_parse(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return -EINVAL;
	if (!ws_nl_family_len(rtm->rtm_family) ||
	    rtm->rtm_dst_len > ws_nl_family_len(rtm->rtm_family) * 8)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->dst.family = rtm->rtm_family;
	r->dst.plen = rtm->rtm_dst_len;
	if (tb[RTA_DST] && !ws_nl_attr_addr(tb[RTA_DST], r->dst.family, r->dst.addr))
		return -EINVAL;
	r->ifindex = (int)ws_nl_attr_u32(tb[RTA_OIF], 0);
	r->table = ws_nl_attr_u32(tb[RTA_TABLE], rtm->rtm_table);
	r->metric = ws_nl_attr_u32(tb[RTA_PRIORITY], 0);
	r->mtu = route_metric_mtu(tb[RTA_METRICS]);
	r->type = rtm->rtm_type;
	return 0;
}

struct route_dump {
	uint32_t table;
	int ifindex;
	struct ws_nl_route *out;
	int max, count;
	/* ws_nl_table_find_free: tables [base, base + WS_NL_TABLE_SEARCH) in use */
	uint8_t *used;
	uint32_t base;
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_dump *d = data;
	struct ws_nl_route r;

	if (route_parse(nlh, &r) < 0)
		return MNL_CB_OK;
	if (d->used) {
		if (r.table >= d->base && r.table - d->base < WS_NL_TABLE_SEARCH)
			d->used[(r.table - d->base) / 8] |= (uint8_t)(1u << ((r.table - d->base) % 8));
		return MNL_CB_OK;
	}
	if ((d->table && r.table != d->table) || (d->ifindex && r.ifindex != d->ifindex))
		return MNL_CB_OK;
	if (d->count < d->max)
		d->out[d->count] = r;
	d->count++;
	return MNL_CB_OK;
}

static int route_dump(int family, struct route_dump *d)
{
	char buf[WS_NL_REQ_BYTES];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETROUTE, NLM_F_DUMP, (void **)&rtm,
					 sizeof(*rtm));

	if (!ws_nl_family_len(family))
		return -EAFNOSUPPORT;
	rtm->rtm_family = (uint8_t)family;
	return ws_nl_run(nlh, route_cb, d);
}

int ws_nl_route_list(int family, uint32_t table, int ifindex,
		     struct ws_nl_route *out, int max)
{
	struct route_dump d = { .table = table, .ifindex = ifindex, .out = out, .max = max };
	int ret = route_dump(family, &d);

	return ret < 0 ? ret : d.count;
}

int ws_nl_table_find_free(uint32_t start, uint32_t *table)
{
	uint8_t used[WS_NL_TABLE_SEARCH / 8];
	struct route_dump d = { .used = used, .base = start };
	int ret;

	if (!start)
		return -EINVAL;
	memset(used, 0, sizeof(used));
	ret = route_dump(AF_INET, &d);
	if (ret == 0)
		ret = route_dump(AF_INET6, &d);
	if (ret == -EAFNOSUPPORT)	/* a kernel without IPv6 */
		ret = 0;
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < WS_NL_TABLE_SEARCH && start + i >= start; i++) {
		if (!(used[i / 8] & (1u << (i % 8)))) {
			*table = start + i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* ---- MTU of the route to a destination -------------------------------------- */

struct route_get {
	bool found;
	struct ws_nl_route r;
};

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_get *g = data;

	if (!g->found && route_parse(nlh, &g->r) == 0)
		g->found = true;
	return MNL_CB_OK;
}

/* Destination as (family, bytes); v4-mapped IPv6 becomes IPv4. */
static int route_dst(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	if (sa && sa->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(addr, &s4->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*family = AF_INET;
		memcpy(addr, &s6->sin6_addr.s6_addr[12], 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		*family = AF_INET6;
		memcpy(addr, &s6->sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int ws_nl_route_mtu(const struct sockaddr *dst, uint32_t fwmark, unsigned int *mtu)
{
	char buf[WS_NL_REQ_BYTES];
	struct rtmsg *rtm;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETROUTE, 0, (void **)&rtm, sizeof(*rtm));
	struct route_get g = { .found = false };
	struct ws_nl_link l;
	uint8_t addr[16];
	int family, ret = route_dst(dst, &family, addr);

	if (ret < 0)
		return ret;
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(ws_nl_family_len(family) * 8);
	mnl_attr_put(nlh, RTA_DST, ws_nl_family_len(family), addr);
	if (fwmark)
		mnl_attr_put_u32(nlh, RTA_MARK, fwmark);
	ret = ws_nl_run(nlh, route_get_cb, &g);
	if (ret < 0)
		return ret;
	if (!g.found)
		return -ENETUNREACH;
	if (g.r.mtu) {
		*mtu = g.r.mtu;
		return 0;
	}
	ret = ws_nl_link_get(NULL, g.r.ifindex, &l);
	if (ret < 0)
		return ret;
	*mtu = l.mtu;
	return 0;
}
