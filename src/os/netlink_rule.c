/* SPDX-License-Identifier: MIT */
/* Policy routing rules (FIB rules): add, delete, list. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "os/netlink_priv.h"

static int rule_modify(uint16_t type, uint16_t flags, const struct ws_nl_rule *r)
{
	char buf[WS_NL_REQ_BYTES];
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh = ws_nl_msg(buf, type, flags, (void **)&frh, sizeof(*frh));
	uint32_t table;

	if (!r || !ws_nl_family_len(r->family) || r->suppress_prefixlen < -1 ||
	    r->suppress_prefixlen > 128)
		return -EINVAL;
	table = r->table ? r->table : WS_NL_TABLE_MAIN;
	frh->family = (uint8_t)r->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	frh->flags = r->invert ? FIB_RULE_INVERT : 0;
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (r->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->fwmark || r->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask ? r->fwmask : UINT32_MAX);
	}
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen);
	return ws_nl_run(nlh, NULL, NULL);
}

int ws_nl_rule_add(const struct ws_nl_rule *r)
{
	return rule_modify(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int ws_nl_rule_del(const struct ws_nl_rule *r)
{
	return rule_modify(RTM_DELRULE, 0, r);
}

struct rule_dump {
	struct ws_nl_rule *out;
	int max, count;
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct rule_dump *d = data;
	struct ws_nl_rule r;

	if (nlh->nlmsg_type != RTM_NEWRULE || ws_nl_parse(nlh, sizeof(*frh), tb, FRA_MAX) < 0)
		return MNL_CB_OK;
	memset(&r, 0, sizeof(r));
	r.family = frh->family;
	r.priority = ws_nl_attr_u32(tb[FRA_PRIORITY], 0);
	r.table = ws_nl_attr_u32(tb[FRA_TABLE], frh->table);
	r.fwmark = ws_nl_attr_u32(tb[FRA_FWMARK], 0);
	r.fwmask = ws_nl_attr_u32(tb[FRA_FWMASK], 0);
	r.invert = frh->flags & FIB_RULE_INVERT;
	r.suppress_prefixlen = (int)ws_nl_attr_u32(tb[FRA_SUPPRESS_PREFIXLEN], UINT32_MAX);
	if (d->count < d->max)
		d->out[d->count] = r;
	d->count++;
	return MNL_CB_OK;
}

int ws_nl_rule_list(int family, struct ws_nl_rule *out, int max)
{
	char buf[WS_NL_REQ_BYTES];
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh = ws_nl_msg(buf, RTM_GETRULE, NLM_F_DUMP, (void **)&frh,
					 sizeof(*frh));
	struct rule_dump d = { out, max, 0 };
	int ret;

	if (!ws_nl_family_len(family))
		return -EAFNOSUPPORT;
	frh->family = (uint8_t)family;
	ret = ws_nl_run(nlh, rule_cb, &d);
	return ret < 0 ? ret : d.count;
}
