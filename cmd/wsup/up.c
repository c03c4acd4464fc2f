/* SPDX-License-Identifier: MIT */
/*
 * wsup: PreUp hooks, MTU, start wsd (it creates the TUN device), addresses,
 * MTU, link up, DNS, routes, PostUp hooks. Each step echoes "[#] ..." and
 * what it adds is journaled at once in /run/wiresocket/IFNAME.wsup; when a
 * step fails (or a signal arrives) the journal is undone newest first, the
 * daemon last, and wsup exits 1 leaving nothing behind.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "wsup.h"

/* Nothing of IFNAME may exist yet. */
static int preflight(const struct wsup *w)
{
	char path[WSUP_PATH_MAX];

	if (ws_nl_link_index(w->ifname) > 0) {
		wsup_err("'%s' already exists", w->ifname);
		return -1;
	}
	if (wsup_daemon_running(w->ifname)) {
		wsup_err("a daemon already serves '%s'", w->ifname);
		return -1;
	}
	if (!ws_ipc_path(path, sizeof(path), w->ifname, "wsup") && access(path, F_OK) == 0) {
		wsup_err("'%s' is already up or was not taken down (%s exists): run wsdown %s",
			 w->ifname, path, w->ifname);
		return -1;
	}
	if (wsup_check_dns(w) < 0 || wsup_check_addresses(w) < 0)
		return -1;
	return 0;
}

static int start_daemon(struct wsup *w, unsigned mtu)
{
	struct wsup_rec rec = { .kind = WSUP_REC_DAEMON };
	char config[PATH_MAX];
	pid_t pid = 0;

	/* wsd gets an absolute path: it may read the file again later. */
	if (!realpath(w->config, config)) {
		wsup_err("%s: %s", w->config, strerror(errno));
		return -1;
	}
	if (wsup_daemon_start(w->ifname, config, mtu, &pid) < 0) {
		/* A signal may have stopped wsd's parent after its daemon forked. */
		if (wsup_interrupted())
			wsup_daemon_stop(w->ifname, 0);
		return -1;
	}
	rec.value = (uint32_t)pid;
	if (wsup_state_add(&w->st, &rec) < 0) {
		wsup_daemon_stop(w->ifname, pid);
		return -1;
	}
	return 0;
}

static int check_interrupt(void)
{
	if (!wsup_interrupted())
		return 0;
	wsup_err("interrupted");
	return -1;
}

static int steps(struct wsup *w)
{
	const struct ws_conf *c = &w->conf;
	unsigned mtu;
	int ifindex;

	if (wsup_hooks("PreUp", c->hooks[WS_CONF_PRE_UP], c->n_hooks[WS_CONF_PRE_UP], w->ifname) ||
	    check_interrupt())
		return -1;
	mtu = wsup_mtu(c);
	if (start_daemon(w, mtu) < 0 || check_interrupt())
		return -1;
	ifindex = ws_nl_link_index(w->ifname);
	if (ifindex <= 0) {
		wsup_err("wsd started but '%s' does not exist: %s", w->ifname, strerror(-ifindex));
		return -1;
	}
	if (wsup_link_setup(w, ifindex, mtu) < 0 || check_interrupt() ||
	    wsup_dns_up(w) < 0 || check_interrupt() ||
	    wsup_routes_up(w, ifindex) < 0 || wsup_check_loops(w, ifindex) < 0 ||
	    check_interrupt())
		return -1;
	if (wsup_hooks("PostUp", c->hooks[WS_CONF_POST_UP], c->n_hooks[WS_CONF_POST_UP],
		       w->ifname) ||
	    check_interrupt())
		return -1;
	return wsup_state_finish(&w->st);
}

int wsup_up(struct wsup *w)
{
	int rc;

	if (preflight(w) < 0)
		return -1;
	rc = wsup_state_create(&w->st, w->ifname, &w->conf);
	if (rc < 0) {
		wsup_err("cannot create %s: %s", w->st.path, strerror(-rc));
		if (rc != -EEXIST)
			wsup_state_remove(&w->st);
		return -1;
	}
	if (steps(w) == 0) {
		wsup_check_reach(w);
		return 0;
	}
	fprintf(stderr, "%s: rolling back\n", wsup_prog);
	wsup_undo(w->ifname, &w->st);
	wsup_state_remove(&w->st);
	return -1;
}
