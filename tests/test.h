/* SPDX-License-Identifier: MIT */
/*
 * Unit test harness. Each tests/test_<module>.c declares its suite with
 * WS_SUITE(name) { WS_ADD(suite, test_fn); ... } and is picked up by the
 * Makefile and by main.c without being listed anywhere.
 */
#ifndef WS_TEST_H
#define WS_TEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

void ws_test_register(const char *name, void (*add)(CU_pSuite));

#define WS_SUITE(name)                                                        \
	static void name##_add_tests(CU_pSuite suite);                         \
	__attribute__((constructor)) static void name##_register(void)          \
	{                                                                      \
		ws_test_register(#name, name##_add_tests);                     \
	}                                                                      \
	static void name##_add_tests(CU_pSuite suite)

#define WS_ADD(suite, fn) CU_add_test((suite), #fn, (fn))

/* Deterministic, seedable PRNG for randomized tests (xorshift64*). */
static inline uint64_t ws_test_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
