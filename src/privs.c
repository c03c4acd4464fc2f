/* SPDX-License-Identifier: MIT */
#include "privs.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int ws_privs_drop(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	const unsigned keep = CAP_NET_ADMIN;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	memset(data, 0, sizeof(data));
	data[keep / 32].effective = data[keep / 32].permitted = 1u << (keep % 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
