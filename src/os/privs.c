/* SPDX-License-Identifier: MIT */
#include "os/privs.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { KEEP_CAP = CAP_NET_ADMIN };

int ws_privs_lookup(struct ws_privs_user *u, const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int ret;

	memset(u, 0, sizeof(*u));
	if (!name) {
		ret = ws_privs_lookup(u, WS_PRIVS_USER);
		return ret == -ENOENT ? ws_privs_lookup(u, WS_PRIVS_FALLBACK_USER) : ret;
	}
	if (strlen(name) >= sizeof(u->name))
		return -EINVAL;
	ret = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (ret)
		return -ret;
	if (!res)
		return -ENOENT;
	strcpy(u->name, name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	u->stay_root = pw.pw_uid == 0;
	return 0;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

/* Permitted = effective = {KEEP_CAP}, inheritable empty. */
static int caps_set_only_kept(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[KEEP_CAP / 32].effective = data[KEEP_CAP / 32].permitted = 1u << (KEEP_CAP % 32);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int bounding_set_drop(void)
{
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != KEEP_CAP && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

static int switch_user(const struct ws_privs_user *u)
{
	/* Keep the permitted set across setresuid; capset trims it right after. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* The drop took: ids are u's everywhere, no way back to root, one capability. */
static int check_dropped(const struct ws_privs_user *u)
{
	struct __user_cap_data_struct data[2];
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int ret;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != u->uid || e != u->uid || s != u->uid || rg != u->gid || eg != u->gid ||
	    sg != u->gid || getgroups(0, NULL) != 0)
		return -EPERM;
	if (!u->stay_root && (setuid(0) == 0 || setgid(0) == 0))
		return -EPERM;
	ret = caps_get(data);
	if (ret)
		return ret;
	for (int i = 0; i < 2; i++) {
		uint32_t want = i == KEEP_CAP / 32 ? 1u << (KEEP_CAP % 32) : 0;

		if (data[i].permitted != want || data[i].effective != want || data[i].inheritable)
			return -EPERM;
	}
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : -EPERM;
}

int ws_privs_drop(const struct ws_privs_user *u, bool keep_dumpable)
{
	int ret;

	/* Dropping from the bounding set needs CAP_SETPCAP: before the switch. */
	ret = bounding_set_drop();
	if (!ret)
		ret = switch_user(u); /* with stay_root: only the groups change */
	if (!ret)
		ret = caps_set_only_kept();
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, keep_dumpable ? 1 : 0, 0, 0, 0) < 0)
		return -errno;
	return check_dropped(u);
}
