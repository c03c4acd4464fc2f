/* SPDX-License-Identifier: MIT */
/*
 * The interface itself: addresses, MTU, up; and a link's kind. None of this
 * is journaled: it all disappears with the TUN device.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wsup.h"

enum { NL_BUF = 8192 };

/* An IPv6 address is added with IFA_F_NODAD, so it is usable at once. */
static int addr_add(int ifindex, const struct ws_conf_prefix *p)
{
	struct ws_nl_prefix np = { .family = p->family, .plen = p->cidr };

	memcpy(np.addr, p->addr, p->family == AF_INET6 ? 16 : 4);
	return ws_nl_addr_add(ifindex, &np, p->family == AF_INET6 ? IFA_F_NODAD : 0);
}

int wsup_link_setup(const struct wsup *w, int ifindex, unsigned mtu)
{
	const struct ws_conf *c = &w->conf;
	char p[WS_CONF_PREFIX_STRLEN];
	int rc;

	for (size_t i = 0; i < c->n_addresses; i++) {
		const struct ws_conf_prefix *a = &c->addresses[i];

		wsup_echo("ip %s address add %s dev %s%s", wsup_family_opt(a->family),
			  ws_conf_format_prefix(p, a), w->ifname, a->family == AF_INET6 ? " nodad" : "");
		rc = addr_add(ifindex, a);
		if (rc == -EEXIST)
			continue;   /* the config names it twice */
		if (rc < 0) {
			wsup_err("cannot add address %s to %s: %s", p, w->ifname, strerror(-rc));
			return rc;
		}
	}
	wsup_echo("ip link set mtu %u dev %s", mtu, w->ifname);
	if ((rc = ws_nl_link_set_mtu(ifindex, mtu)) < 0) {
		wsup_err("cannot set the MTU of %s to %u: %s", w->ifname, mtu, strerror(-rc));
		return rc;
	}
	wsup_echo("ip link set up dev %s", w->ifname);
	if ((rc = ws_nl_link_set_up(ifindex, true)) < 0) {
		wsup_err("cannot set %s up: %s", w->ifname, strerror(-rc));
		return rc;
	}
	return 0;
}

struct kind_query {
	char *kind;
	size_t cap;
};

static int kind_attr(const struct nlattr *a, void *data)
{
	struct kind_query *q = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(q->kind, q->cap, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(a, kind_attr, data);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr, data);
	return MNL_CB_OK;
}

int wsup_link_kind(const char *ifname, char *kind, size_t cap)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct kind_query q = { kind, cap };

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	kind[0] = '\0';
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;   /* the ack ends the exchange */
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return ws_nl_run(nlh, link_cb, &q);
}
