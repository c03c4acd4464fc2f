/* SPDX-License-Identifier: MIT */
/* Shared plumbing of netlink*.c (not part of the public API). */
#ifndef WS_NETLINK_PRIV_H
#define WS_NETLINK_PRIV_H

#include <libmnl/libmnl.h>
#include <stddef.h>

#include "os/netlink.h"

enum ws_nl_priv_consts {
	WS_NL_REQ_BYTES = 1024,		/* every request we build fits */
	WS_NL_RECV_BYTES = 32768,	/* a dump message never exceeds this */
	WS_NL_MAX_RECVS = 1 << 20,	/* bound on reads for one exchange */
};

/* Start a request in buf (WS_NL_REQ_BYTES): header of `type` with NLM_F_REQUEST
 * | NLM_F_ACK | flags, and a zeroed family header of hdr_len bytes at *hdr. */
struct nlmsghdr *ws_nl_msg(char *buf, uint16_t type, uint16_t flags, void **hdr,
			   size_t hdr_len);

/* Collect the attributes after a family header of hdr_len bytes into
 * tb[0..max] (later duplicates win). -EINVAL when nlh is too short. */
int ws_nl_parse(const struct nlmsghdr *nlh, size_t hdr_len,
		const struct nlattr **tb, uint16_t max);

/* u32 attribute value, or def when absent or too short. */
uint32_t ws_nl_attr_u32(const struct nlattr *a, uint32_t def);

/* 4 or 16 for AF_INET / AF_INET6, else 0. */
size_t ws_nl_family_len(int family);

/* Family known, prefix length in range. 0 or -EINVAL. */
int ws_nl_prefix_check(const struct ws_nl_prefix *p);

/* Copy an address attribute of the family's exact size; false otherwise. */
bool ws_nl_attr_addr(const struct nlattr *a, int family, uint8_t out[16]);

#endif
