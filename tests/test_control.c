/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "core/ctlmsg.h"
#include "test.h"

static void test_hello(void)
{
	uint8_t buf[WS_CTL_MAX_PAYLOAD + 4];
	struct ws_ctl_hello h = {.version = 1, .mtu = 1420, .max_packet_size = 1465,
				 .caps = WS_CTL_CAP_COALESCE}, back;
	size_t n = ws_ctl_hello_encode(buf, &h);
	static const uint8_t want[] = {1, 0x8c, 0x05, 0xb9, 0x05, 1, 0, 0, 0};

	CU_ASSERT_EQUAL(n, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, n), 0);
	CU_ASSERT_TRUE(ws_ctl_hello_decode(buf, n, &back));
	CU_ASSERT_EQUAL(back.mtu, 1420);
	CU_ASSERT_EQUAL(back.max_packet_size, 1465);
	CU_ASSERT_EQUAL(back.caps, WS_CTL_CAP_COALESCE);
	/* Longer payloads (a later version) decode; shorter ones do not. */
	CU_ASSERT_TRUE(ws_ctl_hello_decode(buf, n + 4, &back));
	CU_ASSERT_FALSE(ws_ctl_hello_decode(buf, n - 1, &back));
}

static void test_ping(void)
{
	uint8_t buf[WS_CTL_MAX_PAYLOAD];
	struct ws_ctl_ping p = {.id = 0xdeadbeef, .timestamp = 0x0102030405060708ULL}, back;
	size_t n = ws_ctl_ping_encode(buf, &p);

	CU_ASSERT_EQUAL(n, WS_CTL_PING_LEN);
	CU_ASSERT_EQUAL(buf[0], 0xef);
	CU_ASSERT_EQUAL(buf[4], 0x08);
	CU_ASSERT_TRUE(ws_ctl_ping_decode(buf, n, &back));
	CU_ASSERT_EQUAL(back.id, p.id);
	CU_ASSERT_EQUAL(back.timestamp, p.timestamp);
	CU_ASSERT_FALSE(ws_ctl_ping_decode(buf, n - 1, &back));
}

static void test_goodbye(void)
{
	uint8_t buf[WS_CTL_MAX_PAYLOAD], raw[] = {1, 'a', '\n', 'b'};
	struct ws_ctl_goodbye g;
	char longtext[300];
	size_t n = ws_ctl_goodbye_encode(buf, WS_CTL_BYE_SHUTDOWN, "stopping");

	CU_ASSERT_EQUAL(n, 9);
	CU_ASSERT_TRUE(ws_ctl_goodbye_decode(buf, n, &g));
	CU_ASSERT_EQUAL(g.reason, WS_CTL_BYE_SHUTDOWN);
	CU_ASSERT_STRING_EQUAL(g.text, "stopping");
	CU_ASSERT_TRUE(ws_ctl_goodbye_decode(raw, sizeof(raw), &g));
	CU_ASSERT_STRING_EQUAL(g.text, "a?b"); /* control characters never reach a log */
	CU_ASSERT_FALSE(ws_ctl_goodbye_decode(raw, 0, &g));
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	n = ws_ctl_goodbye_encode(buf, 1, longtext);
	CU_ASSERT_EQUAL(n, 1 + WS_CTL_GOODBYE_TEXT_MAX);
	CU_ASSERT_TRUE(ws_ctl_goodbye_decode(buf, n, &g));
	CU_ASSERT_EQUAL(strlen(g.text), WS_CTL_GOODBYE_TEXT_MAX);
}

WS_SUITE(control)
{
	WS_ADD(suite, test_hello);
	WS_ADD(suite, test_ping);
	WS_ADD(suite, test_goodbye);
}
