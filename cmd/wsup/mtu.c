/* SPDX-License-Identifier: MIT */
/*
 * The interface MTU (DECISIONS 31): MTU from the config, else the smallest
 * MTU of the routes to the peers' endpoints minus 100, 1400 when no route is
 * known, never below 1280. A DNS name is resolved for this only; one that
 * does not resolve is skipped (the daemon keeps trying on its own).
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "wsup.h"

/* MTU of the route to one endpoint (the first of its addresses that has a
 * route), 0 when unknown. */
static unsigned endpoint_mtu(const struct ws_conf_endpoint *e, uint32_t fwmark)
{
	struct addrinfo hints, *res = NULL;
	unsigned mtu = 0;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = e->family == AF_UNSPEC ? 0 : AI_NUMERICHOST;
	rc = getaddrinfo(e->host, NULL, &hints, &res);
	if (rc) {
		wsup_warn("cannot resolve '%s' to find the path MTU: %s", e->host, gai_strerror(rc));
		return 0;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (ws_nl_route_mtu(ai->ai_addr, fwmark, &mtu) == 0)
			break;
	freeaddrinfo(res);
	return mtu;
}

unsigned wsup_mtu(const struct ws_conf *c)
{
	unsigned min = 0;

	if (c->mtu)
		return c->mtu;
	for (size_t i = 0; i < c->n_peers; i++) {
		unsigned m;

		if (!c->peers[i].has_endpoint)
			continue;
		m = endpoint_mtu(&c->peers[i].endpoint, c->fwmark);
		if (m && (!min || m < min))
			min = m;
	}
	return ws_conf_mtu(c, min);
}
