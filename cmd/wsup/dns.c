/* SPDX-License-Identifier: MIT */
/*
 * DNS through resolvconf(8), as wg-quick does: the servers and search
 * domains on stdin of `resolvconf -a IFNAME -m 0 -x` (metric 0, exclusive),
 * removed with `resolvconf -d IFNAME -f`. Without resolvconf wsup refuses
 * to start (wsup_check_dns): the queries would leak to the underlay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsup.h"

/* "nameserver A\n"... then "search D1 D2...\n"; malloc'd. */
static char *resolv_text(const struct ws_conf *c)
{
	size_t cap = (c->n_dns_servers + 1) * (WS_CONF_PREFIX_STRLEN + 12) + 8, n = 0;
	char *s, p[WS_CONF_PREFIX_STRLEN];

	for (size_t i = 0; i < c->n_dns_search; i++)
		cap += strlen(c->dns_search[i]) + 1;
	if (!(s = malloc(cap)))
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < c->n_dns_servers; i++)
		n += (size_t)snprintf(s + n, cap - n, "nameserver %s\n",
				      ws_conf_format_addr(p, &c->dns_servers[i]));
	if (c->n_dns_search) {
		n += (size_t)snprintf(s + n, cap - n, "search");
		for (size_t i = 0; i < c->n_dns_search; i++)
			n += (size_t)snprintf(s + n, cap - n, " %s", c->dns_search[i]);
		snprintf(s + n, cap - n, "\n");
	}
	return s;
}

int wsup_dns_up(struct wsup *w)
{
	const struct ws_conf *c = &w->conf;
	struct wsup_rec rec = { .kind = WSUP_REC_DNS };
	char *argv[] = { "resolvconf", "-a", w->ifname, "-m", "0", "-x", NULL };
	char *text;
	int rc;

	if (c->n_dns_servers + c->n_dns_search == 0)
		return 0;
	if (!(text = resolv_text(c))) {
		wsup_err("out of memory");
		return -1;
	}
	wsup_echo("resolvconf -a %s -m 0 -x", w->ifname);
	rc = wsup_run(argv, text);
	free(text);
	if (rc != 0) {
		wsup_err("resolvconf -a %s failed (%s %d)", w->ifname,
			 rc < 0 ? "error" : "exit status", rc < 0 ? -rc : rc);
		return -1;
	}
	return wsup_state_add(&w->st, &rec);
}

int wsup_dns_down(const char *ifname)
{
	char *argv[] = { "resolvconf", "-d", (char *)ifname, "-f", NULL };
	int rc;

	if (!wsup_have_program("resolvconf")) {
		wsup_warn("resolvconf is no longer installed: cannot remove the DNS settings of %s",
			  ifname);
		return -1;
	}
	wsup_echo("resolvconf -d %s -f", ifname);
	rc = wsup_run(argv, NULL);
	if (rc != 0) {
		wsup_warn("resolvconf -d %s failed (%s %d)", ifname, rc < 0 ? "error" : "exit status",
			  rc < 0 ? -rc : rc);
		return -1;
	}
	return 0;
}
