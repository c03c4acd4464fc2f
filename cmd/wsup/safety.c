/* SPDX-License-Identifier: MIT */
/*
 * Checks that keep an ordinary config mistake from sending traffic where
 * the user did not mean it (wsup(8), SAFETY CHECKS):
 *
 *   before anything is done
 *     the config is writable by group or others      refused (hooks run as root)
 *     DNS is set but resolvconf is missing           refused, as wg-quick does
 *     an Address is an underlay address              refused
 *     an Address is inside an underlay subnet        warned
 *   once the routes are in
 *     an Endpoint is routed through the tunnel       refused (a routing loop)
 *   at the end
 *     a peer that can never connect                  warned
 *
 * A refusal prints why and what to change; wsup then rolls back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/crypto.h"
#include "wsup.h"

enum { ADDR_LIST_FIRST = 256, NL_BUF = 8192 };

/* ---- the config file ---- */

int wsup_check_config_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	wsup_err("%s is writable by %s (mode %04o): whoever can write it can run commands as "
		 "root through its hooks and redirect the tunnel; refusing to use it (chmod go-w %s)",
		 path, st.st_mode & S_IWOTH ? "others" : "its group",
		 (unsigned)(st.st_mode & 07777), path);
	return -1;
}

/* ---- DNS ---- */

static bool has_default_route(const struct ws_conf *c)
{
	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].n_allowed_ips; j++)
			if (c->peers[i].allowed_ips[j].cidr == 0)
				return true;
	return false;
}

int wsup_check_dns(const struct wsup *w)
{
	const struct ws_conf *c = &w->conf;

	if (c->n_dns_servers + c->n_dns_search == 0 || wsup_have_program("resolvconf"))
		return 0;
	wsup_err("DNS is set but resolvconf is not installed (install openresolv or resolvconf, "
		 "or remove DNS from %s)%s", w->config,
		 has_default_route(c) ? ": without it every DNS query would leave through the "
					"underlay, outside the full tunnel" : "");
	return -1;
}

/* ---- Address against the underlay's addresses ---- */

static bool contains(const uint8_t *net, unsigned plen, const uint8_t *addr)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (memcmp(net, addr, bytes))
		return false;
	return !bits || !((net[bytes] ^ addr[bytes]) & (uint8_t)(0xff << (8 - bits)));
}

static bool link_local(int family, const uint8_t *a)
{
	return family == AF_INET6 ? a[0] == 0xfe && (a[1] & 0xc0) == 0x80
				  : a[0] == 169 && a[1] == 254;
}

static bool loopback(int family, const uint8_t *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	return family == AF_INET ? a[0] == 127 : !memcmp(a, one, 16);
}

/* Every address of this namespace; *out malloc'd. Count or -errno. */
static int list_addrs(struct ws_nl_addr **out)
{
	int cap = ADDR_LIST_FIRST, n;

	for (;;) {
		*out = calloc((size_t)cap, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		n = ws_nl_addr_list(0, AF_UNSPEC, *out, cap);
		if (n < 0 || n <= cap)
			return n;
		free(*out);
		cap = 2 * n;
	}
}

/* 1: refused, 0: fine (maybe warned). */
static int check_address(const struct wsup *w, const struct ws_conf_prefix *a,
			 const struct ws_nl_addr *u, int n)
{
	char p[WS_CONF_PREFIX_STRLEN], q[WS_CONF_PREFIX_STRLEN], dev[IF_NAMESIZE];
	struct ws_conf_prefix up;

	for (int i = 0; i < n; i++) {
		if (u[i].prefix.family != a->family || link_local(a->family, u[i].prefix.addr))
			continue;
		memset(&up, 0, sizeof(up));
		up.family = a->family;
		up.cidr = u[i].prefix.plen;
		memcpy(up.addr, u[i].prefix.addr, sizeof(up.addr));
		if (!if_indextoname((unsigned)u[i].ifindex, dev))
			snprintf(dev, sizeof(dev), "#%d", u[i].ifindex);
		if (!memcmp(a->addr, up.addr, 16)) {
			wsup_err("Address %s is already the address of %s (%s): the tunnel would share "
				 "its source address with the underlay and the peer would drop what "
				 "it sends; give the tunnel an address of its own",
				 ws_conf_format_prefix(p, a), dev, ws_conf_format_prefix(q, &up));
			return 1;
		}
		if (!loopback(a->family, up.addr) && contains(up.addr, up.cidr, a->addr))
			wsup_warn("Address %s is inside the subnet of %s (%s): replies to it may be "
				  "routed through %s instead of %s; use an address outside the "
				  "underlay's subnets", ws_conf_format_prefix(p, a), dev,
				  ws_conf_format_prefix(q, &up), dev, w->ifname);
	}
	return 0;
}

int wsup_check_addresses(const struct wsup *w)
{
	const struct ws_conf *c = &w->conf;
	struct ws_nl_addr *u = NULL;
	int n, bad = 0;

	if (!c->n_addresses)
		return 0;
	n = list_addrs(&u);
	if (n < 0) {
		free(u);
		wsup_err("cannot list this namespace's addresses: %s", strerror(-n));
		return -1;
	}
	for (size_t i = 0; i < c->n_addresses && !bad; i++)
		if (!link_local(c->addresses[i].family, c->addresses[i].addr))
			bad = check_address(w, &c->addresses[i], u, n);
	free(u);
	return bad ? -1 : 0;
}

/* ---- routing loops: an endpoint routed through the tunnel itself ---- */

static int oif_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*(int *)data = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE)
		mnl_attr_parse(nlh, sizeof(struct rtmsg), oif_attr, data);
	return MNL_CB_OK;
}

/* The output device the kernel picks for dst with mark: ifindex, 0 when
 * there is no route, or -errno. */
static int route_oif(int family, const uint8_t *addr, uint32_t mark)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen = family == AF_INET6 ? 16 : 4;
	int oif = 0, rc;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, addr);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	rc = ws_nl_run(nlh, route_cb, &oif);
	if (rc == -ENETUNREACH || rc == -EHOSTUNREACH || rc == -ESRCH)
		return 0;
	return rc < 0 ? rc : oif;
}

/* The longest AllowedIPs prefix (of any peer) holding addr, for the message. */
static const struct ws_conf_prefix *covering(const struct ws_conf *c, int family,
					     const uint8_t *addr, size_t *peer)
{
	const struct ws_conf_prefix *best = NULL;

	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].n_allowed_ips; j++) {
			const struct ws_conf_prefix *p = &c->peers[i].allowed_ips[j];

			if (p->family == family && contains(p->addr, p->cidr, addr) &&
			    (!best || p->cidr > best->cidr)) {
				best = p;
				*peer = i;
			}
		}
	return best;
}

static int loop_error(const struct wsup *w, size_t i, int family, const uint8_t *addr)
{
	const struct ws_conf *c = &w->conf;
	const struct ws_conf_peer *pe = &c->peers[i];
	char key[WS_KEY_B64_LEN + 1], a[INET6_ADDRSTRLEN], p[WS_CONF_PREFIX_STRLEN], via[160];
	size_t owner = 0;
	const struct ws_conf_prefix *cov = covering(c, family, addr, &owner);

	ws_key_to_base64(key, pe->public_key);
	inet_ntop(family, addr, a, sizeof(a));
	if (cov)
		snprintf(via, sizeof(via), " by AllowedIPs %s of the peer on line %u",
			 ws_conf_format_prefix(p, cov), c->peers[owner].line);
	else
		via[0] = '\0';
	wsup_err("routing loop: the Endpoint %s (%s) of peer %s (line %u) would be routed "
		 "through %s itself%s, so the daemon's own packets would go back into the tunnel. "
		 "Leave the endpoint's address out of AllowedIPs (a full tunnel, 0.0.0.0/0 or ::/0, "
		 "is routed around the tunnel by wsup)", pe->endpoint.host, a, key, pe->line,
		 w->ifname, via);
	return -1;
}

/* Each address the endpoint stands for (a name: every address it resolves to). */
static int check_endpoint(const struct wsup *w, size_t i, int ifindex, uint32_t mark)
{
	const struct ws_conf_endpoint *e = &w->conf.peers[i].endpoint;
	struct addrinfo hints, *res = NULL;
	int rc = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = e->family == AF_UNSPEC ? 0 : AI_NUMERICHOST;
	if (getaddrinfo(e->host, NULL, &hints, &res))
		return 0;   /* unresolved: mtu.c has warned; the daemon retries */
	for (const struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next) {
		const uint8_t *addr;
		int family = ai->ai_family;

		if (family == AF_INET)
			addr = (const uint8_t *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (family == AF_INET6)
			addr = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr;
		else
			continue;
		if (link_local(family, addr))
			continue;   /* scoped to a link: not routed */
		if (route_oif(family, addr, mark) == ifindex)
			rc = loop_error(w, i, family, addr);
	}
	freeaddrinfo(res);
	return rc;
}

/* The mark the daemon's UDP carries: FwMark, or the one wsup set for a full tunnel. */
static uint32_t daemon_mark(const struct wsup *w)
{
	if (w->conf.fwmark)
		return w->conf.fwmark;
	for (size_t i = 0; i < w->st.n_recs; i++)
		if (w->st.recs[i].kind == WSUP_REC_FWMARK)
			return w->st.recs[i].value;
	return 0;
}

int wsup_check_loops(const struct wsup *w, int ifindex)
{
	uint32_t mark = daemon_mark(w);

	for (size_t i = 0; i < w->conf.n_peers; i++)
		if (w->conf.peers[i].has_endpoint && check_endpoint(w, i, ifindex, mark) < 0)
			return -1;
	return 0;
}

/* ---- peers that can never connect ---- */

void wsup_check_reach(const struct wsup *w)
{
	const struct ws_conf *c = &w->conf;
	char key[WS_KEY_B64_LEN + 1];

	if (c->listen_port)
		return;   /* the other side may know where we are and start */
	for (size_t i = 0; i < c->n_peers; i++) {
		if (c->peers[i].has_endpoint)
			continue;
		ws_key_to_base64(key, c->peers[i].public_key);
		wsup_warn("peer %s (line %u) can never connect: it has no Endpoint here, and %s "
			  "has no ListenPort, so its side cannot know where to send either. Give it "
			  "an Endpoint, or set ListenPort here and this host's address as Endpoint "
			  "on its side", key, c->peers[i].line, w->ifname);
	}
}
