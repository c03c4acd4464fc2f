/* SPDX-License-Identifier: MIT */
/*
 * Network safety for the I/O suites (tun, udp, netlink): before a test
 * creates any device, address, route or rule it calls WS_NETNS_REQUIRE(),
 * which moves the whole (single-threaded) test process into a brand-new
 * private network namespace once, brings its loopback up and records what
 * the namespace holds. It never touches the host namespace. When not root
 * or unshare(CLONE_NEWNET) fails, the test fails loudly: it never skips.
 */
#ifndef WS_NETNS_PRIVATE_H
#define WS_NETNS_PRIVATE_H

#include <CUnit/CUnit.h>

/* 0 once inside the private namespace, else -errno (every later call too). */
int ws_test_netns_enter(void);

/* Assert (CUnit) that links, addresses, routes and rules are exactly those
 * recorded right after entering: every test cleans up after itself. */
void ws_test_netns_assert_clean(void);

#define WS_NETNS_REQUIRE() CU_ASSERT_FATAL(ws_test_netns_enter() == 0)

#endif
