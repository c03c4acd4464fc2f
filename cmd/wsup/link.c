/* SPDX-License-Identifier: MIT */
/*
 * The interface itself: addresses, MTU, up; and a link's kind. Addresses go
 * through our own small RTM_NEWADDR here because ws_nl_addr_add() cannot
 * pass IFA_F_NODAD, which an IPv6 address needs to be usable at once. None
 * of this is journaled: it all disappears with the TUN device.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "wsup.h"

enum { NL_BUF = 8192 };

/* One request (with NLM_F_ACK) on a fresh socket, until its ack; cb (may be
 * NULL) sees the replies. 0 or -errno (-EAGAIN after WS_NL_TIMEOUT_MS). */
int wsup_nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct timeval tv = { .tv_sec = WS_NL_TIMEOUT_MS / 1000 };
	char buf[NL_BUF];
	unsigned portid;
	ssize_t n;
	int rc = 0;

	if (!nl)
		return -errno;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
	} while (rc > 0);
	if (rc < 0)
		rc = -errno;
out:
	mnl_socket_close(nl);
	return rc;
}

static int addr_add(int ifindex, const struct ws_conf_prefix *p)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = p->family == AF_INET6 ? 16 : 4;
	uint32_t flags = p->family == AF_INET6 ? IFA_F_NODAD : 0;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->cidr;
	ifa->ifa_flags = (uint8_t)flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* As ip(8): local and address the same, so a TUN gets a prefix route. */
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	return wsup_nl_talk(nlh, NULL, NULL);
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
	return wsup_nl_talk(nlh, link_cb, &q);
}
