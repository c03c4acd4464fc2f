/* SPDX-License-Identifier: MIT */
/*
 * wsup / wsdown (wsup(8)): bring a wiresocket interface up and down, like
 * wg-quick. One program; the name it runs as picks the command.
 *
 *   main.c     arguments, NAME|FILE -> interface name and config path
 *   up.c       the up sequence: every step echoed "[#] ...", journaled,
 *              and rolled back in reverse order when a later step fails
 *   down.c     wsdown: PreDown, undo the journal, PostDown
 *   undo.c     undo of journal records (shared by rollback and wsdown)
 *   state.c    the journal /run/wiresocket/IFNAME.wsup, appended as we go
 *   link.c     addresses (IPv6 with IFA_F_NODAD), MTU, link up, link kind
 *   mtu.c      the default MTU from the routes to the endpoints
 *   routes.c   AllowedIPs routes; the full-tunnel table, fwmark and rules
 *   daemon.c   start wsd; stop it (only a wsd serving this interface)
 *   dns.c      resolvconf
 *   run.c      messages, running programs and hooks, the signal flag
 *   safety.c   checks against mistakes that misroute traffic (wsup(8))
 *
 * Errors are printed where they are found ("wsup: ..." on stderr); the
 * functions return 0 or a negative value and the caller rolls back.
 */
#ifndef WSUP_H
#define WSUP_H

#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "os/netlink.h"

enum wsup_consts {
	WSUP_PATH_MAX = 108,             /* a /run/wiresocket path (sun_path size) */
	WSUP_STATE_LINE_MAX = 512,       /* longest journal line we write or read */
	WSUP_STATE_MAX_RECS = 1 << 22,   /* bound on journal records read back */
	WSUP_FULL_TUNNEL_TABLE = 51821,  /* first table tried for a /0 (wsup(8)) */
	WSUP_STOP_WAIT_MS = 5000,        /* wait for a stopped daemon to go */
	WSUP_KILL_WAIT_MS = 1000,        /* after SIGKILL */
};

/* One thing wsup did that wsdown must undo (or knows about). */
enum wsup_rec_kind {
	WSUP_REC_DAEMON,   /* value: pid of the wsd we started */
	WSUP_REC_FWMARK,   /* value: mark set through the control socket */
	WSUP_REC_TABLE,    /* value: the full-tunnel table */
	WSUP_REC_DNS,      /* resolvconf -a IFNAME */
	WSUP_REC_SYSCTL,   /* src_valid_mark set (left set, as wg-quick does) */
	WSUP_REC_ROUTE,    /* route: dst and table (the device is IFNAME) */
	WSUP_REC_RULE,     /* rule, with the priority the kernel gave it */
};

struct wsup_rec {
	enum wsup_rec_kind kind;
	uint32_t value;
	struct ws_nl_route route;
	struct ws_nl_rule rule;
};

enum wsup_down_hook { WSUP_PRE_DOWN, WSUP_POST_DOWN, WSUP_DOWN_HOOKS };

/* The journal, in memory; mirrored line by line in the state file. */
struct wsup_state {
	int fd;                          /* open for appending while wsup runs, else -1 */
	char path[WSUP_PATH_MAX];
	char netns[64];                  /* "dev:inode" of the namespace it was made in */
	struct wsup_rec *recs;
	size_t n_recs;
	char **hooks[WSUP_DOWN_HOOKS];   /* PreDown/PostDown as the config had them at up */
	size_t n_hooks[WSUP_DOWN_HOOKS];
	bool complete;                   /* the final "up" line is there */
};

struct wsup {
	char ifname[IFNAMSIZ];
	char config[4096];
	struct ws_conf conf;             /* loaded by wsup only */
	struct wsup_state st;
};

/* run.c */
extern const char *wsup_prog;                  /* "wsup" or "wsdown" */
void wsup_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wsup_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wsup_echo(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* SIGINT/SIGTERM/SIGHUP only set a flag, checked between steps. */
void wsup_signals_init(void);
bool wsup_interrupted(void);
/* Run argv (execvp) with input (may be NULL) on its stdin and wait. Returns
 * the exit status, 128 + signal, or -errno when it could not run. */
int wsup_run(char *const argv[], const char *input);
/* Is name an executable in PATH? */
bool wsup_have_program(const char *name);
/* Run each command with `sh -c`, %i replaced by ifname, echoing it. The first
 * failure stops: -1 with a message naming `what` (e.g. "PostUp"). */
int wsup_hooks(const char *what, char *const *cmds, size_t n, const char *ifname);

/* state.c */
int wsup_netns_id(char out[64]);
/* A namespace by its `ip netns` name when it has one ("'NAME' (ID)"), "the
 * initial namespace (ID)", else "namespace ID"; returns out. */
const char *wsup_netns_name(char *out, size_t cap, const char *id);
void wsup_state_init(struct wsup_state *st);
/* Create IFNAME's state file (it must not exist: -EEXIST) with the header. */
int wsup_state_create(struct wsup_state *st, const char *ifname, const struct ws_conf *c);
/* Append one record to the file and to st->recs. */
int wsup_state_add(struct wsup_state *st, const struct wsup_rec *r);
/* Append the final "up" line and close the file. */
int wsup_state_finish(struct wsup_state *st);
/* Read IFNAME's state file: 0, -ENOENT when there is none, -EINVAL (message
 * printed) when it is damaged. */
int wsup_state_load(struct wsup_state *st, const char *ifname);
void wsup_state_remove(struct wsup_state *st);
void wsup_state_free(struct wsup_state *st);

/* undo.c: undo st's records newest first; 0, or -1 if any step failed
 * (every step is tried). The daemon is stopped in its turn. */
int wsup_undo(const char *ifname, const struct wsup_state *st);

/* link.c */
int wsup_link_setup(const struct wsup *w, int ifindex, unsigned mtu);
/* IFLA_INFO_KIND of the link ("tun", "veth", ...), "" when it has none. */
int wsup_link_kind(const char *ifname, char *kind, size_t cap);

/* mtu.c: the configured MTU, or (min route MTU to the endpoints) - 100. */
unsigned wsup_mtu(const struct ws_conf *c);

/* routes.c */
int wsup_routes_up(struct wsup *w, int ifindex);
const char *wsup_family_opt(int family);       /* "-4" / "-6" */
const char *wsup_rule_str(char *buf, size_t cap, const struct ws_nl_rule *r);
const char *wsup_route_str(char *buf, size_t cap, const struct ws_nl_route *r,
			   const char *ifname);

/* daemon.c */
int wsup_daemon_start(const char *ifname, const char *config, unsigned mtu, pid_t *pid);
/* Stop IFNAME's wsd (pid file, else recorded): SIGTERM, wait, then remove a
 * leftover TUN link and stale run files. 0 or -1. */
int wsup_daemon_stop(const char *ifname, pid_t recorded);
/* A live wsd serving ifname (its control socket answers). */
bool wsup_daemon_running(const char *ifname);

/* dns.c */
int wsup_dns_up(struct wsup *w);
int wsup_dns_down(const char *ifname);

/* safety.c: each 0, or -1 after printing why and what to change. */
int wsup_check_config_file(const char *path);     /* writable by group/others */
int wsup_check_dns(const struct wsup *w);         /* DNS set, no resolvconf */
int wsup_check_addresses(const struct wsup *w);   /* Address vs the underlay's */
/* An Endpoint the kernel routes (with the daemon's mark) through ifindex. */
int wsup_check_loops(const struct wsup *w, int ifindex);
/* Warn about each peer that can never connect (no Endpoint, no ListenPort). */
void wsup_check_reach(const struct wsup *w);

/* up.c, down.c */
int wsup_up(struct wsup *w);
int wsup_down(struct wsup *w);

#endif
