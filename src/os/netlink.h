/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink through libmnl: links, addresses, routes, policy rules and the
 * MTU of the route to a destination, in the calling thread's network
 * namespace. Nothing shells out to `ip`.
 *
 * Every call opens its own netlink socket, so calls are independent and
 * thread-safe; none is on a data path. Each returns 0 (or a count / an
 * ifindex where stated) on success and -errno on failure, the errno being
 * the kernel's own from the NLMSG_ERROR acknowledgement (-EEXIST for an
 * add that would duplicate, -ENOENT / -ESRCH / -EADDRNOTAVAIL for a delete
 * of something absent, -ENODEV for an unknown link). A reply that does not
 * arrive within WS_NL_TIMEOUT_MS gives -ETIMEDOUT.
 *
 * The list functions fill at most `max` entries and return how many exist
 * (like snprintf): a return value above `max` means the output was cut.
 */
#ifndef WS_NETLINK_H
#define WS_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum ws_nl_consts {
	WS_NL_TIMEOUT_MS = 5000,
	WS_NL_TABLE_MAIN = 254,		/* RT_TABLE_MAIN */
	WS_NL_TABLE_SEARCH = 4096,	/* tables tried by ws_nl_table_find_free */
};

/* An IPv4 or IPv6 prefix: addr holds 4 or 16 bytes in network order. */
struct ws_nl_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t plen;		/* <= 32 or <= 128 */
};

struct ws_nl_link {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned int mtu;
	unsigned int flags;	/* IFF_* (IFF_UP, IFF_LOWER_UP, ...) */
};

struct ws_nl_addr {
	int ifindex;
	struct ws_nl_prefix prefix;
	uint32_t flags;		/* IFA_F_* (e.g. IFA_F_TENTATIVE while IPv6 DAD runs) */
};

/*
 * A route through a device (no gateway: the tunnel is point-to-point).
 * table 0 means main. metric (RTA_PRIORITY) and mtu (RTAX_MTU) 0 mean
 * unset. type is RTN_* as listed; adds always make RTN_UNICAST routes.
 */
struct ws_nl_route {
	struct ws_nl_prefix dst;
	int ifindex;
	uint32_t table;
	uint32_t metric;
	uint32_t mtu;
	uint8_t type;
};

/*
 * A policy rule "[not] [fwmark M/MASK] [table T] [suppress_prefixlength N]
 * [priority P]", e.g. wg-quick's full tunnel pair:
 *   { .invert = true, .fwmark = T, .table = T }            not fwmark T table T
 *   { .table = MAIN, .suppress_prefixlen = 0 }             table main suppress_prefixlength 0
 * priority 0: the kernel picks one on add, any matches on delete.
 * fwmark 0 with fwmask 0: no mark match; fwmask 0 with a mark means all ones.
 * suppress_prefixlen -1: none (a zero-initialised rule must set it).
 */
struct ws_nl_rule {
	int family;
	uint32_t priority;
	uint32_t table;
	uint32_t fwmark;
	uint32_t fwmask;
	bool invert;
	int suppress_prefixlen;
};

struct nlmsghdr;

/* Send a request built by the caller (NLM_F_REQUEST | NLM_F_ACK set) on a
 * fresh socket and read until the ack, the end of the dump or an error; cb
 * (may be NULL; libmnl's mnl_cb_t) sees every data message. 0 or -errno. */
int ws_nl_run(struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* --- links ------------------------------------------------------------------ */

/* Look a link up by name (when name != NULL) or else by ifindex. */
int ws_nl_link_get(const char *name, int ifindex, struct ws_nl_link *out);
/* ifindex (> 0) of the link called name, or -errno (-ENODEV). */
int ws_nl_link_index(const char *name);
int ws_nl_link_list(struct ws_nl_link *out, int max);
int ws_nl_link_set_up(int ifindex, bool up);
int ws_nl_link_set_mtu(int ifindex, unsigned int mtu);
int ws_nl_link_del(const char *name);
/* Create a veth pair name <-> peer (both down, in this namespace). */
int ws_nl_veth_add(const char *name, const char *peer);

/* --- addresses --------------------------------------------------------------- */

/* Add p (address with its prefix length) to the link with IFA_F_* flags
 * (e.g. IFA_F_NODAD: an IPv6 address usable at once, no duplicate address
 * detection; 0 for none); -EEXIST if present. */
int ws_nl_addr_add(int ifindex, const struct ws_nl_prefix *p, uint32_t flags);
int ws_nl_addr_del(int ifindex, const struct ws_nl_prefix *p);
/* Addresses of one link (ifindex 0: every link), family AF_UNSPEC for both. */
int ws_nl_addr_list(int ifindex, int family, struct ws_nl_addr *out, int max);

/* --- routes ------------------------------------------------------------------ */

/* Add with NLM_F_EXCL: an identical route gives -EEXIST. */
int ws_nl_route_add(const struct ws_nl_route *r);
/* Delete the route matching dst, table, ifindex (0: any) and metric (0: any). */
int ws_nl_route_del(const struct ws_nl_route *r);
/* Routes of one family (AF_INET or AF_INET6) whose table is `table` (0: all
 * tables) and whose output device is ifindex (0: any). */
int ws_nl_route_list(int family, uint32_t table, int ifindex,
		     struct ws_nl_route *out, int max);
/* First table id >= start holding no IPv4 and no IPv6 route, within
 * WS_NL_TABLE_SEARCH ids (else -ENOSPC). */
int ws_nl_table_find_free(uint32_t start, uint32_t *table);
/*
 * MTU of the route the kernel would use to reach dst (AF_INET or AF_INET6;
 * a v4-mapped IPv6 address is looked up as IPv4) for packets carrying
 * fwmark (0: none): the route's MTU metric (or cached path MTU) if any,
 * else the output device's MTU. -ENETUNREACH etc. when there is no route.
 */
int ws_nl_route_mtu(const struct sockaddr *dst, uint32_t fwmark, unsigned int *mtu);

/* --- policy rules -------------------------------------------------------------- */

/* Add with NLM_F_EXCL: an identical rule gives -EEXIST. */
int ws_nl_rule_add(const struct ws_nl_rule *r);
int ws_nl_rule_del(const struct ws_nl_rule *r);
/* Rules of one family (AF_INET or AF_INET6). */
int ws_nl_rule_list(int family, struct ws_nl_rule *out, int max);

#endif
