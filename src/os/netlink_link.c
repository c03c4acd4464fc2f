/* SPDX-License-Identifier: MIT */
/* Links: look up, list, up/down, MTU, delete, veth pairs. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>

#include "os/netlink_priv.h"

/* Names are checked before they go on the wire: IFNAMSIZ-1 characters at most. */
static int link_name_ok(const char *name)
{
	return name && name[0] && strnlen(name, IFNAMSIZ) < IFNAMSIZ;
}

struct link_dump {
	struct ws_nl_link *out;
	int max, count;
};

static int link_parse(const struct nlmsghdr *nlh, struct ws_nl_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const char *name;

	if (ws_nl_parse(nlh, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->mtu = ws_nl_attr_u32(tb[IFLA_MTU], 0);
	if (tb[IFLA_IFNAME] && mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > 0) {
		name = mnl_attr_get_payload(tb[IFLA_IFNAME]);
		memcpy(l->name, name, strnlen(name, IFNAMSIZ - 1));
	}
	return 0;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump *d = data;
	struct ws_nl_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK || link_parse(nlh, &l) < 0)
		return MNL_CB_OK;
	if (d->count < d->max)
		d->out[d->count] = l;
	d->count++;
	return MNL_CB_OK;
}

int ws_nl_link_get(const char *name, int ifindex, struct ws_nl_link *out)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETLINK, 0, (void **)&ifi, sizeof(*ifi));
	struct link_dump d = { out, 1, 0 };
	int ret;

	ifi->ifi_family = AF_UNSPEC;
	if (name) {
		if (!link_name_ok(name))
			return -EINVAL;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	} else if (ifindex > 0) {
		ifi->ifi_index = ifindex;
	} else {
		return -EINVAL;
	}
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	ret = ws_nl_run(nlh, link_cb, &d);
	if (ret < 0)
		return ret;
	return d.count ? 0 : -ENODEV;
}

int ws_nl_link_index(const char *name)
{
	struct ws_nl_link l;
	int ret = ws_nl_link_get(name, 0, &l);

	return ret < 0 ? ret : l.ifindex;
}

int ws_nl_link_list(struct ws_nl_link *out, int max)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETLINK, NLM_F_DUMP, (void **)&ifi,
					 sizeof(*ifi));
	struct link_dump d = { out, max, 0 };
	int ret;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	ret = ws_nl_run(nlh, link_cb, &d);
	return ret < 0 ? ret : d.count;
}

/* RTM_NEWLINK on an existing link: change flags under `change`, and MTU. */
static int link_modify(int ifindex, unsigned int flags, unsigned int change,
		       unsigned int mtu)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_NEWLINK, 0, (void **)&ifi, sizeof(*ifi));

	if (ifindex <= 0)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return ws_nl_run(nlh, NULL, NULL);
}

int ws_nl_link_set_up(int ifindex, bool up)
{
	return link_modify(ifindex, up ? IFF_UP : 0, IFF_UP, 0);
}

int ws_nl_link_set_mtu(int ifindex, unsigned int mtu)
{
	if (!mtu)
		return -EINVAL;
	return link_modify(ifindex, 0, 0, mtu);
}

int ws_nl_link_del(const char *name)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_DELLINK, 0, (void **)&ifi, sizeof(*ifi));

	if (!link_name_ok(name))
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return ws_nl_run(nlh, NULL, NULL);
}

int ws_nl_veth_add(const char *name, const char *peer)
{
	char buf[WS_NL_REQ_BYTES];
	struct ifinfomsg *ifi, *pifi;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
					 (void **)&ifi, sizeof(*ifi));
	struct nlattr *info, *idata, *pinfo;

	if (!link_name_ok(name) || !link_name_ok(peer))
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	idata = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow its own ifinfomsg inside the nest. */
	pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, idata);
	mnl_attr_nest_end(nlh, info);
	return ws_nl_run(nlh, NULL, NULL);
}
