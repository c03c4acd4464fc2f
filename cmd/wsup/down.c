/* SPDX-License-Identifier: MIT */
/*
 * wsdown: PreDown hooks, undo what the journal says wsup did (routes, rules,
 * DNS, then the daemon, whose TUN device goes with it), PostDown hooks,
 * remove the journal. The hooks are those the config had when wsup ran
 * (kept in the journal), so this works when the config has changed or is
 * gone, and when the daemon has died. A failing hook is reported and the
 * teardown goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "wsup.h"

static bool run_file(const char *ifname, const char *suffix)
{
	char path[WSUP_PATH_MAX];

	return !ws_ipc_path(path, sizeof(path), ifname, suffix) && access(path, F_OK) == 0;
}

/* No journal: a daemon wsup did not start, or one that left its files behind. */
static int down_without_state(const struct wsup *w)
{
	if (!wsup_daemon_running(w->ifname) && !run_file(w->ifname, "pid") &&
	    !run_file(w->ifname, "sock")) {
		wsup_err("'%s' is not up (no %s/%s.wsup)", w->ifname, WS_RUN_DIR, w->ifname);
		return -1;
	}
	wsup_warn("'%s' was not brought up by wsup: stopping its daemon only", w->ifname);
	return wsup_daemon_stop(w->ifname, 0);
}

static bool has_daemon(const struct wsup_state *st)
{
	for (size_t i = 0; i < st->n_recs; i++)
		if (st->recs[i].kind == WSUP_REC_DAEMON)
			return true;
	return false;
}

int wsup_down(struct wsup *w)
{
	struct wsup_state *st = &w->st;
	char ns[64], there[320], here[320];
	int rc = wsup_state_load(st, w->ifname);

	if (rc == -ENOENT)
		return down_without_state(w);
	if (rc < 0 && rc != -EINVAL) {
		wsup_err("cannot read %s: %s", st->path, strerror(-rc));
		return -1;
	}
	if (rc == -EINVAL)
		wsup_warn("undoing what could be read of %s", st->path);
	if (st->netns[0] && wsup_netns_id(ns) == 0 && strcmp(ns, st->netns)) {
		wsup_err("'%s' was brought up in another network namespace, %s (this is %s): run "
			 "wsdown there", w->ifname, wsup_netns_name(there, sizeof(there), st->netns),
			 wsup_netns_name(here, sizeof(here), ns));
		return -1;
	}
	if (!st->complete)
		wsup_warn("wsup did not finish bringing '%s' up; undoing what it did", w->ifname);
	if (wsup_hooks("PreDown", st->hooks[WSUP_PRE_DOWN], st->n_hooks[WSUP_PRE_DOWN], w->ifname))
		rc = -1;
	if (wsup_undo(w->ifname, st) < 0)
		rc = -1;
	if (!has_daemon(st) && wsup_daemon_stop(w->ifname, 0) < 0)
		rc = -1;
	if (wsup_hooks("PostDown", st->hooks[WSUP_POST_DOWN], st->n_hooks[WSUP_POST_DOWN],
		       w->ifname))
		rc = -1;
	wsup_state_remove(st);
	return rc < 0 ? -1 : 0;
}
