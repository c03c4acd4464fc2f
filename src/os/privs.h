/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges once the TUN device, sockets and files are open: an
 * unprivileged user, CAP_NET_ADMIN only, no_new_privs, then the seccomp
 * allow-list (sandbox.h).
 */
#ifndef WS_PRIVS_H
#define WS_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

/* The dedicated system user a package creates; "nobody" when it does not exist. */
#define WS_PRIVS_USER "_wiresocket"
#define WS_PRIVS_FALLBACK_USER "nobody"

struct ws_privs_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	bool stay_root; /* uid 0: only capabilities and seccomp are dropped */
};

/*
 * Look the user up (before the drop: it may read /etc/passwd). name NULL:
 * WS_PRIVS_USER, else WS_PRIVS_FALLBACK_USER. "root" or a uid-0 user means
 * stay root. 0, -ENOENT (no such user), -EINVAL (name too long) or -errno.
 */
int ws_privs_lookup(struct ws_privs_user *u, const char *name);

/*
 * From root, in the only thread of the process: empty the supplementary
 * groups, switch real, effective and saved gid and uid to u's (unless
 * stay_root), keep CAP_NET_ADMIN (SO_MARK changes at run time) as the only
 * capability in the permitted and effective sets and the bounding set (no
 * inheritable or ambient ones), set no_new_privs and make the process
 * undumpable (keep_dumpable: stay dumpable, for LeakSanitizer's tracer).
 * Then checks the result: no way back to uid 0, only that capability.
 * Threads created afterwards inherit all of it. 0 or -errno.
 */
int ws_privs_drop(const struct ws_privs_user *u, bool keep_dumpable);

#endif
