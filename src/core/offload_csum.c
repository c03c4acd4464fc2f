/* SPDX-License-Identifier: MIT */
/*
 * Internet checksum (RFC 1071) with 64-bit accumulation.
 *
 * Eight bytes are loaded at a time; their two 32-bit halves go into separate
 * 64-bit accumulators, so no carry is lost below 64 GiB per call and the
 * loop has no carry chain (the compiler may vectorise it). Since
 * 2^64 - 1, 2^32 - 1 and 2^16 - 1 are multiples of 0xffff, the end-around
 * carry sums at every width fold to the same 16-bit one's complement sum,
 * and since that sum does not depend on byte order (RFC 1071 2.(B)), words
 * are added as they lie in memory and the result is stored the same way.
 */
#include <string.h>

#include "core/offload.h"

/* One's complement addition on 64 bits (end-around carry). */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;

	return r + (r < a);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A zero-padded lone last byte, as the 16-bit word it starts in memory. */
static inline uint64_t odd_byte(uint8_t b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return b;
#else
	return (uint64_t)b << 8;
#endif
}

/* The 0..7 bytes after the last whole word. */
static uint64_t tail_sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	uint32_t w32;
	uint16_t w16;

	if (n & 4) {
		memcpy(&w32, p, 4);
		s += w32;
		p += 4;
	}
	if (n & 2) {
		memcpy(&w16, p, 2);
		s += w16;
		p += 2;
	}
	if (n & 1)
		s += odd_byte(*p);
	return s;
}

uint64_t ws_csum_add(const void *data, size_t n, uint64_t sum)
{
	const uint8_t *p = data;
	uint64_t lo = 0, hi = 0, lo2 = 0, hi2 = 0;

	for (; n >= 32; n -= 32, p += 32) {
		uint64_t a = load64(p), b = load64(p + 8), c = load64(p + 16), d = load64(p + 24);

		lo += (uint32_t)a + (uint64_t)(uint32_t)b;
		hi += (a >> 32) + (b >> 32);
		lo2 += (uint32_t)c + (uint64_t)(uint32_t)d;
		hi2 += (c >> 32) + (d >> 32);
	}
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t a = load64(p);

		lo += (uint32_t)a;
		hi += a >> 32;
	}
	lo += tail_sum(p, n);
	return add64(sum, add64(add64(lo, hi), add64(lo2, hi2)));
}

uint64_t ws_csum_copy(void *dst, const void *src, size_t n, uint64_t sum)
{
	const uint8_t *p = src;
	uint8_t *q = dst;
	uint64_t lo = 0, hi = 0, lo2 = 0, hi2 = 0;

	for (; n >= 32; n -= 32, p += 32, q += 32) {
		uint64_t a = load64(p), b = load64(p + 8), c = load64(p + 16), d = load64(p + 24);

		memcpy(q, &a, 8);
		memcpy(q + 8, &b, 8);
		memcpy(q + 16, &c, 8);
		memcpy(q + 24, &d, 8);
		lo += (uint32_t)a + (uint64_t)(uint32_t)b;
		hi += (a >> 32) + (b >> 32);
		lo2 += (uint32_t)c + (uint64_t)(uint32_t)d;
		hi2 += (c >> 32) + (d >> 32);
	}
	for (; n >= 8; n -= 8, p += 8, q += 8) {
		uint64_t a = load64(p);

		memcpy(q, &a, 8);
		lo += (uint32_t)a;
		hi += a >> 32;
	}
	memcpy(q, p, n);
	lo += tail_sum(p, n);
	return add64(sum, add64(add64(lo, hi), add64(lo2, hi2)));
}

uint64_t ws_csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen,
			uint8_t proto, uint32_t l4_len)
{
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three zero
	 * bytes, next header. Both sum to the same words. */
	uint8_t t[8] = {(uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16),
			(uint8_t)(l4_len >> 8), (uint8_t)l4_len, 0, 0, 0, proto};
	uint64_t s = ws_csum_add(src, alen, 0);

	s = ws_csum_add(dst, alen, s);
	return ws_csum_add(t, sizeof(t), s);
}

uint16_t ws_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}
