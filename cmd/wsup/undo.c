/* SPDX-License-Identifier: MIT */
/*
 * Undo a journal, newest record first: routes and rules are deleted (a
 * route only through the interface of that name, a rule by all its fields
 * and its priority), DNS removed, and the daemon, which wsup started first,
 * stopped last. Something already gone counts as undone. Addresses, MTU and
 * the link state need nothing: they go with the TUN device.
 */
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "wsup.h"

static bool absent(int rc)
{
	return rc == -ENOENT || rc == -ESRCH || rc == -ENODEV || rc == -EADDRNOTAVAIL;
}

static int undo_route(const char *ifname, const struct wsup_rec *r)
{
	struct ws_nl_route route = r->route;
	char s[128];
	int rc, ifindex = ws_nl_link_index(ifname);

	if (ifindex <= 0)
		return 0;   /* the device is gone, and its routes with it */
	route.ifindex = ifindex;
	wsup_echo("ip %s route delete %s", wsup_family_opt(route.dst.family),
		  wsup_route_str(s, sizeof(s), &route, ifname));
	rc = ws_nl_route_del(&route);
	if (rc < 0 && !absent(rc)) {
		wsup_err("cannot delete route %s: %s", s, strerror(-rc));
		return -1;
	}
	return 0;
}

static int undo_rule(const struct wsup_rec *r)
{
	char s[160];
	int rc;

	wsup_echo("ip %s rule delete %s", wsup_family_opt(r->rule.family),
		  wsup_rule_str(s, sizeof(s), &r->rule));
	rc = ws_nl_rule_del(&r->rule);
	if (rc < 0 && !absent(rc)) {
		wsup_err("cannot delete rule '%s': %s", s, strerror(-rc));
		return -1;
	}
	return 0;
}

static int undo_one(const char *ifname, const struct wsup_rec *r)
{
	switch (r->kind) {
	case WSUP_REC_ROUTE: return undo_route(ifname, r);
	case WSUP_REC_RULE: return undo_rule(r);
	case WSUP_REC_DNS: return wsup_dns_down(ifname);
	case WSUP_REC_DAEMON: return wsup_daemon_stop(ifname, (pid_t)r->value);
	case WSUP_REC_FWMARK:  /* the daemon's: goes with it */
	case WSUP_REC_TABLE:   /* emptied by the route deletes */
	case WSUP_REC_SYSCTL:  /* left set, as wg-quick does: others may rely on it */
		return 0;
	}
	return 0;
}

int wsup_undo(const char *ifname, const struct wsup_state *st)
{
	int rc = 0;

	for (size_t i = st->n_recs; i-- > 0;)
		if (undo_one(ifname, &st->recs[i]) < 0)
			rc = -1;
	return rc;
}
