/* SPDX-License-Identifier: MIT */
/* Interface addresses: add, delete, list. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "os/netlink_priv.h"

/* ip(8) puts the address in both IFA_LOCAL and IFA_ADDRESS: on a
 * point-to-point link (TUN) that makes a plain prefix route, no peer. */
static int addr_modify(uint16_t type, uint16_t flags, int ifindex,
		       const struct ws_nl_prefix *p, uint32_t ifa_flags)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = ws_nl_msg(buf, type, flags, (void **)&ifa, sizeof(*ifa));
	size_t len;

	if (ifindex <= 0 || ws_nl_prefix_check(p) < 0)
		return -EINVAL;
	len = ws_nl_family_len(p->family);
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->plen;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_flags = (uint8_t)ifa_flags;
	mnl_attr_put(nlh, IFA_LOCAL, len, p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, p->addr);
	if (ifa_flags)	/* the 32-bit flags: ifa_flags holds only the low 8 */
		mnl_attr_put_u32(nlh, IFA_FLAGS, ifa_flags);
	return ws_nl_run(nlh, NULL, NULL);
}

int ws_nl_addr_add(int ifindex, const struct ws_nl_prefix *p, uint32_t flags)
{
	return addr_modify(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p, flags);
}

int ws_nl_addr_del(int ifindex, const struct ws_nl_prefix *p)
{
	return addr_modify(RTM_DELADDR, 0, ifindex, p, 0);
}

struct addr_dump {
	int ifindex, family;
	struct ws_nl_addr *out;
	int max, count;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_dump *d = data;
	struct ws_nl_addr a;

	if (nlh->nlmsg_type != RTM_NEWADDR || ws_nl_parse(nlh, sizeof(*ifa), tb, IFA_MAX) < 0)
		return MNL_CB_OK;
	if ((d->ifindex && (int)ifa->ifa_index != d->ifindex) ||
	    (d->family != AF_UNSPEC && ifa->ifa_family != d->family))
		return MNL_CB_OK;
	memset(&a, 0, sizeof(a));
	a.ifindex = (int)ifa->ifa_index;
	a.prefix.family = ifa->ifa_family;
	a.prefix.plen = ifa->ifa_prefixlen;
	a.flags = ws_nl_attr_u32(tb[IFA_FLAGS], ifa->ifa_flags);
	/* IFA_LOCAL is ours; IFA_ADDRESS is the peer on point-to-point links. */
	if (!ws_nl_attr_addr(tb[IFA_LOCAL], a.prefix.family, a.prefix.addr) &&
	    !ws_nl_attr_addr(tb[IFA_ADDRESS], a.prefix.family, a.prefix.addr))
		return MNL_CB_OK;
	if (d->count < d->max)
		d->out[d->count] = a;
	d->count++;
	return MNL_CB_OK;
}

int ws_nl_addr_list(int ifindex, int family, struct ws_nl_addr *out, int max)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETADDR, NLM_F_DUMP, (void **)&ifa,
					 sizeof(*ifa));
	struct addr_dump d = { ifindex, family, out, max, 0 };
	int ret;

	if (family != AF_UNSPEC && !ws_nl_family_len(family))
		return -EAFNOSUPPORT;
	ifa->ifa_family = (uint8_t)family;
	ret = ws_nl_run(nlh, addr_cb, &d);
	return ret < 0 ? ret : d.count;
}
