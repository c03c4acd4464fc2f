/* SPDX-License-Identifier: MIT */
/* Handshake rate limiter with a fake clock: burst, refill, grouping, bound, GC. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ratelimit.h"
#include "test.h"

static const uint8_t hkey[WS_RATELIMIT_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

#define SEC WS_NSEC_PER_SEC
#define MS WS_NSEC_PER_MSEC
#define COST WS_RATELIMIT_PACKET_COST_NS
#define T0 (1000 * SEC)

static bool allow(struct ws_ratelimit *rl, const char *ip, uint64_t now)
{
	uint8_t a[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	CU_ASSERT_FATAL(inet_pton(family, ip, a) == 1);
	return ws_ratelimit_allow(rl, family, a, now);
}

/* How many of n messages at one instant get through. */
static int burst(struct ws_ratelimit *rl, const char *ip, uint64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += allow(rl, ip, now);
	return ok;
}

static void test_rl_constants(void)
{
	CU_ASSERT_EQUAL(COST, 50 * MS);
	CU_ASSERT_EQUAL(WS_RATELIMIT_TOKEN_MAX_NS, 250 * MS);
}

static void test_rl_burst_then_refill(void)
{
	struct ws_ratelimit rl;

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 0, hkey), 0);
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", T0, 10), WS_RATELIMIT_BURST);
	/* One message's worth of tokens comes back after exactly 50 ms. */
	CU_ASSERT_FALSE(allow(&rl, "198.18.0.1", T0 + COST - 1));
	CU_ASSERT_TRUE(allow(&rl, "198.18.0.1", T0 + COST));
	CU_ASSERT_FALSE(allow(&rl, "198.18.0.1", T0 + COST));
	/* A denied attempt does not lose the partial credit. */
	CU_ASSERT_FALSE(allow(&rl, "198.18.0.1", T0 + COST + 30 * MS));
	CU_ASSERT_TRUE(allow(&rl, "198.18.0.1", T0 + 2 * COST));
	/* Steady 20/s is allowed, anything faster is cut to 20/s. */
	for (int i = 3; i < 100; i++) {
		CU_ASSERT_FALSE(allow(&rl, "198.18.0.1", T0 + i * COST - COST / 2));
		CU_ASSERT_TRUE(allow(&rl, "198.18.0.1", T0 + i * COST));
	}
	/* Idle long enough to refill fully: a burst of exactly 5 again, never more. */
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", T0 + 99 * COST + 250 * MS - 1, 10), 4);
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", T0 + 200 * SEC, 10), WS_RATELIMIT_BURST);
	/* Other sources are independent. */
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.2", T0 + 200 * SEC, 10), WS_RATELIMIT_BURST);
	CU_ASSERT_EQUAL(burst(&rl, "fd18::1", T0 + 200 * SEC, 10), WS_RATELIMIT_BURST);
	ws_ratelimit_free(&rl);
}

static void test_rl_clock_backwards(void)
{
	struct ws_ratelimit rl;

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 0, hkey), 0);
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", T0, 10), WS_RATELIMIT_BURST);
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", T0 - SEC, 10), 0);   /* no credit */
	CU_ASSERT_FALSE(allow(&rl, "198.18.0.1", T0 + COST - 1));    /* measured from T0 */
	CU_ASSERT_TRUE(allow(&rl, "198.18.0.1", T0 + COST));
	ws_ratelimit_free(&rl);
}

static void test_rl_grouping(void)
{
	struct ws_ratelimit rl;
	uint64_t t = T0;

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 0, hkey), 0);
	/* One /64 shares one bucket. */
	CU_ASSERT_EQUAL(burst(&rl, "fd18:0:0:1::1", t, 3), 3);
	CU_ASSERT_EQUAL(burst(&rl, "fd18:0:0:1:ffff:ffff:ffff:ffff", t, 3), 2);
	CU_ASSERT_FALSE(allow(&rl, "fd18:0:0:1:1234::", t));
	CU_ASSERT_EQUAL(burst(&rl, "fd18:0:0:2::1", t, 10), 5);         /* next /64 */
	CU_ASSERT_EQUAL(burst(&rl, "fd18:0:1:1::1", t, 10), 5);
	CU_ASSERT_EQUAL(burst(&rl, "fe18:0:0:1::1", t, 10), 5);
	/* IPv4 addresses are sources of their own... */
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.1", t, 3), 3);
	CU_ASSERT_EQUAL(burst(&rl, "198.18.0.2", t, 10), 5);
	/* ...and an IPv4-mapped IPv6 sender is the same IPv4 source. */
	CU_ASSERT_EQUAL(burst(&rl, "::ffff:198.18.0.1", t, 10), 2);
	CU_ASSERT_EQUAL(burst(&rl, "::ffff:198.18.0.3", t, 10), 5);
	CU_ASSERT_FALSE(allow(&rl, "198.18.0.3", t));
	/* ::/64 (v4-mapped lives there) is not merged with the mapped sources. */
	CU_ASSERT_EQUAL(burst(&rl, "::1", t, 10), 5);
	CU_ASSERT_EQUAL(rl.count, 8);
	ws_ratelimit_free(&rl);
}

static void test_rl_bad_args(void)
{
	struct ws_ratelimit rl;
	uint8_t a[16] = { 198, 18, 0, 1 };

	CU_ASSERT_EQUAL(ws_ratelimit_init(&rl, WS_RATELIMIT_MAX_ENTRIES + 1, hkey), -EINVAL);
	CU_ASSERT_EQUAL(ws_ratelimit_init(&rl, 4, NULL), -EINVAL);
	CU_ASSERT_FALSE(ws_ratelimit_allow(&rl, AF_INET, a, T0));   /* failed init: refuses */
	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 4, hkey), 0);
	CU_ASSERT_FALSE(ws_ratelimit_allow(&rl, AF_UNIX, a, T0));
	CU_ASSERT_FALSE(ws_ratelimit_allow(&rl, AF_INET, NULL, T0));
	CU_ASSERT_TRUE(ws_ratelimit_allow(&rl, AF_INET, a, T0));
	CU_ASSERT_EQUAL(rl.count, 1);
	ws_ratelimit_free(&rl);
	CU_ASSERT_EQUAL(ws_ratelimit_memory(&rl), 0);
}

static void test_rl_table_bound(void)
{
	struct ws_ratelimit rl;
	char ip[32];

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 4, hkey), 0);
	for (int i = 1; i <= 4; i++) {
		snprintf(ip, sizeof(ip), "198.18.1.%d", i);
		CU_ASSERT_TRUE(allow(&rl, ip, T0 + (uint64_t)i * MS));
	}
	CU_ASSERT_EQUAL(rl.count, 4);
	/* Full of sources whose buckets are not full again: a new one is refused. */
	CU_ASSERT_FALSE(allow(&rl, "198.18.2.1", T0 + 10 * MS));
	CU_ASSERT_FALSE(allow(&rl, "198.18.2.1", T0 + 1 * MS + 250 * MS - 1));
	CU_ASSERT_EQUAL(rl.count, 4);
	/* The least recently seen (198.18.1.1) has a full bucket again: it makes room. */
	CU_ASSERT_TRUE(allow(&rl, "198.18.2.1", T0 + 1 * MS + 250 * MS));
	CU_ASSERT_EQUAL(rl.count, 4);
	/* 198.18.1.2 was touched, so 198.18.1.3 is now the oldest and still refilling. */
	CU_ASSERT_TRUE(allow(&rl, "198.18.1.2", T0 + 252 * MS));
	CU_ASSERT_FALSE(allow(&rl, "198.18.2.2", T0 + 252 * MS));
	CU_ASSERT_TRUE(allow(&rl, "198.18.2.2", T0 + 253 * MS));
	/* Existing sources keep working while the table is full. */
	CU_ASSERT_EQUAL(burst(&rl, "198.18.2.1", T0 + 253 * MS, 10), 4);
	CU_ASSERT_EQUAL(rl.count, 4);
	CU_ASSERT_EQUAL(ws_ratelimit_memory(&rl), 4 * 40 + 4 * sizeof(uint32_t));
	ws_ratelimit_free(&rl);
}

static void test_rl_gc(void)
{
	struct ws_ratelimit rl;
	char ip[32];

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 100, hkey), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "198.18.3.%d", i);
		CU_ASSERT_TRUE(allow(&rl, ip, T0));   /* the first call collects (nothing) */
	}
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "198.18.3.%d", i);
		CU_ASSERT_TRUE(allow(&rl, ip, T0 + 500 * MS));
	}
	/* No collection until now has moved more than 1 s past the last one. */
	CU_ASSERT_TRUE(allow(&rl, "198.18.4.1", T0 + SEC));
	CU_ASSERT_EQUAL(rl.count, 51);
	/* Now it runs: the 40 idle for more than 1 s go, the rest stay. */
	CU_ASSERT_TRUE(allow(&rl, "198.18.4.2", T0 + SEC + 1));
	CU_ASSERT_EQUAL(rl.count, 12);
	/* A collected source starts over with a full burst. */
	CU_ASSERT_EQUAL(burst(&rl, "198.18.3.20", T0 + SEC + 1, 10), 5);
	/* The next collection waits for now > T0 + 2 s + 1 (the last one + 1 s)... */
	CU_ASSERT_TRUE(allow(&rl, "198.18.4.3", T0 + 2 * SEC + 1));
	CU_ASSERT_EQUAL(rl.count, 14);
	/* ...then takes everything idle for more than 1 s: all but 4.3. */
	CU_ASSERT_TRUE(allow(&rl, "198.18.4.4", T0 + 2 * SEC + 2));
	CU_ASSERT_EQUAL(rl.count, 2);
	CU_ASSERT_TRUE(allow(&rl, "198.18.4.5", T0 + 10 * SEC));
	CU_ASSERT_EQUAL(rl.count, 1);
	ws_ratelimit_free(&rl);
}

/* A spray of distinct sources: memory and count stay within the bound, and
 * once the spray stops and time passes, the table empties. */
static void test_rl_spray_bounded(void)
{
	struct ws_ratelimit rl;
	uint64_t rs = 0x5b4a7;
	size_t mem;
	int allowed = 0;

	CU_ASSERT_EQUAL_FATAL(ws_ratelimit_init(&rl, 1000, hkey), 0);
	mem = ws_ratelimit_memory(&rl);
	for (int i = 0; i < 100000; i++) {
		uint8_t a[16];
		uint64_t r = ws_test_rand(&rs);
		int family = r & 1 ? AF_INET6 : AF_INET;

		memcpy(a, &r, 8);
		r = ws_test_rand(&rs);
		memcpy(a + 8, &r, 8);
		allowed += ws_ratelimit_allow(&rl, family, a, T0 + (uint64_t)i * 10000);
		if (rl.count > 1000)
			break;
	}
	CU_ASSERT_TRUE(rl.count <= 1000);
	CU_ASSERT_TRUE(allowed >= 1000);
	CU_ASSERT_EQUAL(ws_ratelimit_memory(&rl), mem);
	CU_ASSERT_TRUE(allow(&rl, "198.18.9.9", T0 + 100 * SEC));
	CU_ASSERT_EQUAL(rl.count, 1);
	ws_ratelimit_free(&rl);
}

/* Under load stays on for 1 s after the queue was last deep (WireGuard's last_under_load). */
static void test_load_hysteresis(void)
{
	struct ws_load l = {0};
	uint64_t t = 5 * WS_NSEC_PER_SEC;

	CU_ASSERT_FALSE(ws_load_under(&l, false, t));         /* never deep */
	CU_ASSERT_TRUE(ws_load_under(&l, true, t));
	CU_ASSERT_TRUE(ws_load_under(&l, false, t + 1));
	CU_ASSERT_TRUE(ws_load_under(&l, false, t + WS_LOAD_HOLD_NS - 1));
	CU_ASSERT_FALSE(ws_load_under(&l, false, t + WS_LOAD_HOLD_NS));
	/* Deep again: the hold restarts from the last deep moment, not the first. */
	CU_ASSERT_TRUE(ws_load_under(&l, true, t + 2 * WS_NSEC_PER_SEC));
	CU_ASSERT_TRUE(ws_load_under(&l, true, t + 2 * WS_NSEC_PER_SEC + WS_LOAD_HOLD_NS / 2));
	CU_ASSERT_TRUE(ws_load_under(&l, false, t + 2 * WS_NSEC_PER_SEC + WS_LOAD_HOLD_NS));
	CU_ASSERT_FALSE(ws_load_under(&l, false, t + 2 * WS_NSEC_PER_SEC + 3 * WS_LOAD_HOLD_NS / 2));
	/* A clock that went backwards fails closed. */
	CU_ASSERT_TRUE(ws_load_under(&l, false, t));
}

WS_SUITE(ratelimit)
{
	WS_ADD(suite, test_rl_constants);
	WS_ADD(suite, test_rl_burst_then_refill);
	WS_ADD(suite, test_rl_clock_backwards);
	WS_ADD(suite, test_rl_grouping);
	WS_ADD(suite, test_rl_bad_args);
	WS_ADD(suite, test_rl_table_bound);
	WS_ADD(suite, test_rl_gc);
	WS_ADD(suite, test_rl_spray_bounded);
	WS_ADD(suite, test_load_hysteresis);
}
