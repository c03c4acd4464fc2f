/* SPDX-License-Identifier: MIT */
/* Replay window (DECISIONS 15, 16) against the vectors and a naive model. */
#include <stdlib.h>
#include <string.h>

#include "core/replay.h"
#include "test.h"
#include "vectors.h"

/* check, then update; both must agree with `want`; a refusal changes nothing. */
static void step(struct ws_replay *r, uint64_t c, bool want)
{
	struct ws_replay before;

	memcpy(&before, r, sizeof(before));
	CU_ASSERT_EQUAL(ws_replay_check(r, c), want);
	CU_ASSERT_EQUAL(memcmp(&before, r, sizeof(before)), 0);   /* check is read-only */
	CU_ASSERT_EQUAL(ws_replay_update(r, c), want);
	if (!want)
		CU_ASSERT_EQUAL(memcmp(&before, r, sizeof(before)), 0);
}

static void test_vector_sequence(void)
{
	json_t *seq = ws_vec_get(NULL, "replay_window.sequence"), *v;
	struct ws_replay r;
	size_t i;

	CU_ASSERT_EQUAL(ws_vec_u64(NULL, "replay_window.window_size"), WS_REPLAY_WINDOW);
	CU_ASSERT_EQUAL(ws_vec_u64(NULL, "replay_window.initial_head"), 0);
	CU_ASSERT_TRUE_FATAL(json_array_size(seq) > 0);
	ws_replay_init(&r);
	json_array_foreach(seq, i, v) {
		CU_ASSERT_TRUE_FATAL(json_array_size(v) == 2);
		step(&r, (uint64_t)json_integer_value(json_array_get(v, 0)),
		     json_is_true(json_array_get(v, 1)));
	}
}

static void test_fresh_and_duplicate(void)
{
	struct ws_replay r;

	ws_replay_init(&r);
	step(&r, 0, true);
	step(&r, 0, false);
	step(&r, 7, true);
	step(&r, 7, false);
	step(&r, 6, true);
	step(&r, 6, false);
	step(&r, 0, false);
	CU_ASSERT_EQUAL(r.head, 7);
}

static void test_too_old_boundary(void)
{
	struct ws_replay r;
	const uint64_t h = 100000;

	ws_replay_init(&r);
	step(&r, h, true);
	step(&r, h - 4096, false);   /* just below the window */
	step(&r, h - 4095, true);    /* oldest counter inside */
	step(&r, h - 4095, false);
	step(&r, h - 1, true);
	step(&r, h + 1, true);       /* window moved by one: h-4095 now too old */
	step(&r, h - 4095, false);
	step(&r, h - 4094, true);
}

/* The vector's case: whole-word clearing would reopen counter 1 here. */
static void test_head_4096_counter_1(void)
{
	struct ws_replay r;

	ws_replay_init(&r);
	step(&r, 1, true);
	step(&r, 2, true);
	step(&r, 4096, true);   /* word 0 again: bit 0 is 4096's, bits 1, 2 stay */
	step(&r, 0, false);     /* too old */
	step(&r, 1, false);     /* in the window and seen */
	step(&r, 2, false);
	step(&r, 3, true);      /* in the window, never seen */
	step(&r, 4097, true);   /* clears counter 1's bit only; 1 is now too old */
	step(&r, 1, false);
	step(&r, 2, false);
}

static void test_far_jumps(void)
{
	struct ws_replay r;

	ws_replay_init(&r);
	for (uint64_t c = 0; c < 200; c++)
		step(&r, c, true);
	/* Jump of exactly 4096: every old counter is out, every bit cleared. */
	step(&r, 199 + 4096, true);
	for (uint64_t c = 200; c < 199 + 4096; c++)
		CU_ASSERT_TRUE(ws_replay_check(&r, c));
	CU_ASSERT_FALSE(ws_replay_check(&r, 199));
	/* Jump of 4095: the previous head stays inside and stays seen. */
	step(&r, 199 + 4096 + 4095, true);
	step(&r, 199 + 4096, false);
	step(&r, 199 + 4096 + 1, true);
	/* A huge jump. */
	step(&r, 1ULL << 62, true);
	step(&r, (1ULL << 62) - 4095, true);
	step(&r, (1ULL << 62) - 4096, false);
	step(&r, 199 + 4096 + 1, false);
}

static void test_counter_limit(void)
{
	struct ws_replay r;

	ws_replay_init(&r);
	step(&r, UINT64_MAX, false);            /* 2^64-1 is never a counter */
	step(&r, UINT64_MAX - 1, true);         /* the last usable one */
	step(&r, UINT64_MAX - 1, false);
	step(&r, UINT64_MAX, false);
	step(&r, UINT64_MAX - 4096, true);
	step(&r, UINT64_MAX - 4097, false);
}

/* Differential test against a plain set of seen counters. */
static void test_random_vs_model(void)
{
	enum { SPAN = 1 << 22, ITER = 200000 };
	uint8_t *seen = calloc(SPAN, 1);
	uint64_t seed = 0x5eed1234, head = 0;
	struct ws_replay r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(seen);
	ws_replay_init(&r);
	for (int i = 0; i < ITER; i++) {
		uint64_t x = ws_test_rand(&seed), c;
		bool want;

		if (x % 1000 < 2)
			c = head + 1 + (x >> 8) % 9000;          /* big jump, sometimes >= 4096 */
		else
			c = head + 8 - (x >> 8) % 4200;          /* near the head, some too old */
		if (c >= SPAN || c > head + 9000)
			c = head;                                /* wrapped below 0 or out */
		if (c >= SPAN)
			break;
		want = c > head || (head - c < WS_REPLAY_WINDOW && !seen[c]);
		if (ws_replay_check(&r, c) != want || ws_replay_update(&r, c) != want) {
			CU_FAIL("replay window differs from the model");
			break;
		}
		if (want) {
			seen[c] = 1;
			head = c > head ? c : head;
		}
	}
	CU_ASSERT_EQUAL(r.head, head);
	CU_ASSERT_TRUE(head > 100000);   /* the walk went far */
	free(seen);
}

WS_SUITE(replay)
{
	WS_ADD(suite, test_vector_sequence);
	WS_ADD(suite, test_fresh_and_duplicate);
	WS_ADD(suite, test_too_old_boundary);
	WS_ADD(suite, test_head_4096_counter_1);
	WS_ADD(suite, test_far_jumps);
	WS_ADD(suite, test_counter_limit);
	WS_ADD(suite, test_random_vs_model);
}
