/* SPDX-License-Identifier: MIT */
/* IP/TCP/UDP header lengths (core/ip.h): bounds on short buffers, bad IHL,
 * bad TCP data offset, IPv6. */
#include <string.h>

#include "core/ip.h"
#include "test.h"

/* An IPv4 header of ihl 32-bit words, total length total, protocol proto. */
static void v4(uint8_t *p, unsigned ihl, uint16_t total, uint8_t proto)
{
	memset(p, 0, 60);
	p[0] = (uint8_t)(0x40 | ihl);
	ws_put_be16(p + 2, total);
	p[9] = proto;
}

static void v6(uint8_t *p, uint16_t payload, uint8_t next)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	ws_put_be16(p + 4, payload);
	p[6] = next;
}

static void test_version(void)
{
	uint8_t p[1] = { 0x45 };

	CU_ASSERT_EQUAL(ws_ip_version(p, 0), 0);
	CU_ASSERT_EQUAL(ws_ip_version(p, 1), 4);
	p[0] = 0x60;
	CU_ASSERT_EQUAL(ws_ip_version(p, 1), 6);
}

static void test_v4_header_len(void)
{
	uint8_t p[80];

	v4(p, 5, 20, WS_PROTO_UDP);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 20), 20);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 19), 0);     /* short buffer */
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 1), 0);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 0), 0);
	v4(p, 15, 60, WS_PROTO_UDP);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 60), 60);    /* options */
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 59), 0);     /* options past the end */
	for (unsigned ihl = 0; ihl < 5; ihl++) {         /* bad IHL */
		v4(p, ihl, 40, WS_PROTO_UDP);
		CU_ASSERT_EQUAL(ws_ip_header_len(p, 40), 0);
	}
	p[0] = 0x55;                                     /* version 5 */
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 40), 0);
}

static void test_v6_header_len(void)
{
	uint8_t p[80];

	v6(p, 8, WS_PROTO_UDP);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 48), 40);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 40), 40);
	CU_ASSERT_EQUAL(ws_ip_header_len(p, 39), 0);
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 48), 48);
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 47), 0);     /* stated length past the end */
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 80), 48);
}

static void test_v4_packet_len(void)
{
	uint8_t p[80];

	v4(p, 6, 30, WS_PROTO_TCP);
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 30), 30);
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 80), 30);
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 29), 0);
	v4(p, 6, 23, WS_PROTO_TCP);                      /* total < header */
	CU_ASSERT_EQUAL(ws_ip_packet_len(p, 30), 0);
}

static void test_l4(void)
{
	uint8_t p[80], proto = 0;
	size_t off = 0;

	v4(p, 7, 36, WS_PROTO_UDP);
	CU_ASSERT_EQUAL(ws_ip_l4(p, 36, &proto, &off), 0);
	CU_ASSERT_EQUAL(proto, WS_PROTO_UDP);
	CU_ASSERT_EQUAL(off, 28);
	CU_ASSERT_EQUAL(ws_l4_header_len(p, 36, proto, off), 8);
	CU_ASSERT_EQUAL(ws_l4_header_len(p, 35, proto, off), 0);
	CU_ASSERT_EQUAL(ws_ip_l4(p, 27, &proto, &off), -EINVAL);
	v6(p, 20, WS_PROTO_TCP);
	CU_ASSERT_EQUAL(ws_ip_l4(p, 60, &proto, &off), 0);
	CU_ASSERT_EQUAL(proto, WS_PROTO_TCP);
	CU_ASSERT_EQUAL(off, 40);
	v6(p, 8, 44);                                    /* a fragment header first */
	CU_ASSERT_EQUAL(ws_ip_l4(p, 48, &proto, &off), 0);
	CU_ASSERT_EQUAL(proto, 44);
	CU_ASSERT_EQUAL(ws_l4_header_len(p, 48, proto, off), 0);
	CU_ASSERT_EQUAL(ws_ip_l4(p, 39, &proto, &off), -EINVAL);
}

static void test_tcp_header_len(void)
{
	uint8_t p[120];

	v4(p, 5, 100, WS_PROTO_TCP);
	p[20 + 12] = 5 << 4;
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 40, 20), 20);
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 39, 20), 0);  /* short */
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 20, 20), 0);  /* none at all */
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 10, 20), 0);  /* off past len */
	p[20 + 12] = 15 << 4;
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 80, 20), 60); /* options */
	CU_ASSERT_EQUAL(ws_tcp_header_len(p, 79, 20), 0);  /* options past the end */
	for (unsigned doff = 0; doff < 5; doff++) {        /* bad data offset */
		p[20 + 12] = (uint8_t)(doff << 4);
		CU_ASSERT_EQUAL(ws_tcp_header_len(p, 80, 20), 0);
	}
	CU_ASSERT_EQUAL(ws_l4_header_len(p, 80, 1 /* ICMP */, 20), 0);
}

static void test_fragment(void)
{
	uint8_t p[60];

	v4(p, 5, 40, WS_PROTO_UDP);
	CU_ASSERT_FALSE(ws_ip4_is_fragment(p, 0));
	p[6] = 0x20;                                      /* MF: the first fragment */
	CU_ASSERT_TRUE(ws_ip4_is_fragment(p, 0));
	CU_ASSERT_FALSE(ws_ip4_is_fragment(p, 1));
	p[6] = 0, p[7] = 1;                               /* an offset: a later one */
	CU_ASSERT_TRUE(ws_ip4_is_fragment(p, 1));
	p[6] = 0x40, p[7] = 0;                            /* DF only */
	CU_ASSERT_FALSE(ws_ip4_is_fragment(p, 0));
}

WS_SUITE(ip)
{
	WS_ADD(suite, test_version);
	WS_ADD(suite, test_v4_header_len);
	WS_ADD(suite, test_v6_header_len);
	WS_ADD(suite, test_v4_packet_len);
	WS_ADD(suite, test_l4);
	WS_ADD(suite, test_tcp_header_len);
	WS_ADD(suite, test_fragment);
}
