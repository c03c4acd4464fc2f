/* SPDX-License-Identifier: MIT */
/*
 * Where the daemon's secrets live: the private key and the cookie secret of
 * a device, and every peer's keys, are on pages locked in memory (mlock)
 * while they exist; a peer that goes unlocks exactly its own pages.
 * Lock state is read per page from /proc/self/pagemap and /proc/kpageflags
 * (root), so a page that is only locked by accident does not count.
 * AddressSanitizer turns mlock into a no-op, so its build checks only the
 * wiping; the locks are checked by the optimised suite.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "netns_private.h"
#include "test.h"

enum { KPF_MLOCKED_BIT = 33 };

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifdef ASAN_BUILD
static const bool asan = true;
#else
static const bool asan = false;
#endif

/* 1 when the page holding addr is resident and mlocked, 0 when not, -1 when unreadable. */
static int page_locked(const void *addr)
{
	uint64_t entry = 0, flags = 0;
	long page = sysconf(_SC_PAGESIZE);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	int ret = -1;

	if (pm >= 0 && kf >= 0 &&
	    pread(pm, &entry, 8, (off_t)((uintptr_t)addr / (uintptr_t)page * 8)) == 8) {
		if (!(entry >> 63))
			ret = 0; /* not resident: certainly not locked */
		else if (pread(kf, &flags, 8, (off_t)((entry & ((1ull << 55) - 1)) * 8)) == 8)
			ret = (int)((flags >> KPF_MLOCKED_BIT) & 1);
	}
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return ret;
}

/* Every page of [p, p + len) is locked (always true under ASan: see above). */
static bool range_locked(const void *p, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p / (uintptr_t)page * (uintptr_t)page;

	if (asan)
		return true;
	for (; a < (uintptr_t)p + len; a += (uintptr_t)page)
		if (page_locked((const void *)a) != 1)
			return false;
	return true;
}

/* VmLck of this process, in kB. */
static long vm_locked_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static struct ws_device dev;

static struct ws_peer *new_peer(void)
{
	uint8_t priv[32], pub[32];

	ws_x25519_genkey(priv);
	CU_ASSERT_TRUE(ws_x25519_pubkey(pub, priv));
	ws_wipe(priv, sizeof(priv));
	return ws_peer_create(&dev, pub);
}

/* Peers: locked while they live; removing one unlocks its pages and only those. */
static void test_peer_locked_and_unlocked(void)
{
	uint8_t priv[32];
	struct ws_peer *a, *b;
	long before, with_two;

	memset(&dev, 0, sizeof(dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(&dev, priv), 0);
	ws_wipe(priv, sizeof(priv));
	before = vm_locked_kb();
	CU_ASSERT_FATAL(before >= 0);
	a = new_peer();
	b = new_peer();
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(range_locked(a, sizeof(*a)));
	CU_ASSERT_TRUE(range_locked(b, sizeof(*b)));
	with_two = vm_locked_kb();
	CU_ASSERT(with_two > before || asan);
	ws_peer_remove(&dev, a);
	CU_ASSERT_TRUE(range_locked(b, sizeof(*b))); /* b's keys stay locked */
	ws_peer_remove(&dev, b);
	CU_ASSERT_EQUAL(vm_locked_kb(), before);      /* nothing left locked */
	free(dev.peer_hash);
	ws_allowedips_free(&dev.aips);
	ws_index_free(&dev.index);
	ws_ratelimit_free(&dev.ratelimit);
	ws_inbox_destroy(&dev.inbox);
	pthread_rwlock_destroy(&dev.lock);
	ws_wipe(&dev, sizeof(dev));
}

/* A device: the private key and the cookie secret are locked, and unlocked when it goes. */
static void test_device_keys_locked(void)
{
	uint8_t priv[32];
	char ifname[16];
	long before;

	WS_NETNS_REQUIRE();
	snprintf(ifname, sizeof(ifname), "wsl%d", (int)getpid() % 100000);
	ws_x25519_genkey(priv);
	before = vm_locked_kb();
	CU_ASSERT_EQUAL_FATAL(ws_device_init(&dev, ifname, priv, 0, 0, 1420, 1465, 1, false), 0);
	ws_wipe(priv, sizeof(priv));
	CU_ASSERT_TRUE(range_locked(&dev.local, sizeof(dev.local)));
	CU_ASSERT_TRUE(range_locked(&dev.cookie_checker, sizeof(dev.cookie_checker)));
	ws_device_destroy(&dev);
	CU_ASSERT_TRUE(ws_is_zero(&dev.local, sizeof(dev.local)));
	CU_ASSERT_TRUE(ws_is_zero(&dev.cookie_checker, sizeof(dev.cookie_checker)));
	CU_ASSERT_EQUAL(vm_locked_kb(), before);
	ws_test_netns_assert_clean();
}

WS_SUITE(secrets)
{
	WS_ADD(suite, test_peer_locked_and_unlocked);
	WS_ADD(suite, test_device_keys_locked);
}
