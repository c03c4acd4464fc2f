/* SPDX-License-Identifier: MIT */
/* Receiver-index table: uniqueness, lookups, removal, growth, rigged collisions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/index.h"
#include "test.h"

static uint32_t prng32(void *ctx)
{
	return (uint32_t)(ws_test_rand(ctx) >> 32);
}

/* A rigged generator: returns the scripted values in turn, then repeats the last. */
struct script {
	const uint32_t *v;
	int n, pos, calls;
};

static uint32_t scripted(void *ctx)
{
	struct script *s = ctx;
	uint32_t x = s->v[s->pos < s->n ? s->pos : s->n - 1];

	s->pos++;
	s->calls++;
	return x;
}

/* Generator over a small range, so probe runs collide and wrap. */
static uint32_t small32(void *ctx)
{
	return (uint32_t)(ws_test_rand(ctx) % 300);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void test_index_insert_lookup_unique(void)
{
	enum { N = 5000 };
	static int entries[N];
	static uint32_t idx[N], sorted[N];
	struct ws_index t;
	uint64_t rs = 0x1d3e;
	int dup = 0, bad = 0;

	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(ws_index_insert_random(&t, &entries[i], prng32, &rs, &idx[i]), 0);
		CU_ASSERT_NOT_EQUAL(idx[i], 0);
	}
	CU_ASSERT_EQUAL(t.count, N);
	for (int i = 0; i < N; i++)
		bad += ws_index_lookup(&t, idx[i]) != &entries[i];
	memcpy(sorted, idx, sizeof(sorted));
	qsort(sorted, N, sizeof(sorted[0]), cmp_u32);
	for (int i = 1; i < N; i++)
		dup += sorted[i] == sorted[i - 1];
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(dup, 0);
	CU_ASSERT_PTR_NULL(ws_index_lookup(&t, 0));
	/* Unused random indices miss. */
	for (int i = 0; i < 1000; i++) {
		uint32_t x = prng32(&rs);
		int used = 0;

		for (int j = 0; j < N; j++)
			used |= idx[j] == x;
		if (!used)
			bad += ws_index_lookup(&t, x) != NULL;
	}
	CU_ASSERT_EQUAL(bad, 0);
	ws_index_free(&t);
}

static void test_index_rigged_collisions(void)
{
	static const uint32_t seq[] = { 0, 5, 5, 0, 7, 5, 7, 9 };
	struct script s = { seq, 8, 0, 0 };
	struct ws_index t;
	int a, b, c;
	uint32_t i1, i2, i3;

	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, scripted, &s, &i1), 0);
	CU_ASSERT_EQUAL(i1, 5);           /* 0 is never handed out */
	CU_ASSERT_EQUAL(s.calls, 2);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &b, scripted, &s, &i2), 0);
	CU_ASSERT_EQUAL(i2, 7);           /* 5 in use, 0 skipped */
	CU_ASSERT_EQUAL(s.calls, 5);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &c, scripted, &s, &i3), 0);
	CU_ASSERT_EQUAL(i3, 9);
	CU_ASSERT_EQUAL(s.calls, 8);
	/* The generator now repeats 9 (in use): give up after the bound. */
	s.calls = 0;
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &c, scripted, &s, &i3), -EAGAIN);
	CU_ASSERT_EQUAL(s.calls, WS_INDEX_RANDOM_TRIES);
	CU_ASSERT_EQUAL(i3, 9);           /* untouched on failure */
	CU_ASSERT_EQUAL(t.count, 3);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 5), &a);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 7), &b);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 9), &c);
	/* A generator stuck at 0 never yields an index. */
	{
		static const uint32_t zero[] = { 0 };
		struct script z = { zero, 1, 0, 0 };

		CU_ASSERT_EQUAL(ws_index_insert_random(&t, &c, scripted, &z, &i3), -EAGAIN);
		CU_ASSERT_EQUAL(z.calls, WS_INDEX_RANDOM_TRIES);
	}
	/* After removal the index may be handed out again. */
	CU_ASSERT_EQUAL(ws_index_remove(&t, 9), 0);
	s.calls = 0;
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, scripted, &s, &i3), 0);
	CU_ASSERT_EQUAL(i3, 9);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 9), &a);
	ws_index_free(&t);
}

static void test_index_remove_replace(void)
{
	static const uint32_t seq[] = { 11, 22, 33 };
	struct script s = { seq, 3, 0, 0 };
	struct ws_index t;
	int a, b, c, d;
	uint32_t i;

	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, scripted, &s, &i), 0);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &b, scripted, &s, &i), 0);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &c, scripted, &s, &i), 0);
	CU_ASSERT_EQUAL(ws_index_remove(&t, 22), 0);
	CU_ASSERT_EQUAL(ws_index_remove(&t, 22), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_remove(&t, 0), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_remove(&t, 44), -ENOENT);
	CU_ASSERT_PTR_NULL(ws_index_lookup(&t, 22));
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 11), &a);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 33), &c);
	CU_ASSERT_EQUAL(t.count, 2);
	/* Replace: a handshake becoming a session keeps its index. */
	CU_ASSERT_EQUAL(ws_index_replace(&t, 11, &a, &d), 0);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 11), &d);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 11, &a, &b), -ENOENT);   /* no longer a */
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 11), &d);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 11, NULL, &b), 0);       /* unconditional */
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&t, 11), &b);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 22, NULL, &b), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 0, NULL, &b), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 11, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(t.count, 2);
	ws_index_free(&t);
}

static void test_index_bad_args_and_bound(void)
{
	uint64_t rs = 1;
	struct ws_index t;
	int a;
	uint32_t i = 0;

	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, NULL, prng32, &rs, &i), -EINVAL);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, NULL, &rs, &i), -EINVAL);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, prng32, &rs, NULL), -EINVAL);
	/* The bound, without filling 2^20 entries: pretend the table is full. */
	t.count = WS_INDEX_MAX_ENTRIES;
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, prng32, &rs, &i), -ENOSPC);
	t.count = 0;
	CU_ASSERT_EQUAL(ws_index_memory(&t), WS_INDEX_MIN_CAPACITY * sizeof(struct ws_index_slot));
	ws_index_free(&t);
	CU_ASSERT_PTR_NULL(ws_index_lookup(&t, 5));
	CU_ASSERT_EQUAL(ws_index_remove(&t, 5), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_replace(&t, 5, NULL, &a), -ENOENT);
	CU_ASSERT_EQUAL(ws_index_insert_random(&t, &a, prng32, &rs, &i), -EINVAL);
	CU_ASSERT_EQUAL(ws_index_memory(&t), 0);
}

static void test_index_growth(void)
{
	enum { N = 100000 };
	static uint32_t idx[N];
	static char entries[N];
	struct ws_index t;
	uint64_t rs = 0x6e0;
	int bad = 0, load_bad = 0;

	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(ws_index_insert_random(&t, &entries[i], prng32, &rs, &idx[i]), 0);
		load_bad += 2 * t.count > t.mask + 1;
	}
	CU_ASSERT_EQUAL(load_bad, 0);
	CU_ASSERT_EQUAL(t.mask + 1, 262144);   /* smallest power of two >= 2 N */
	CU_ASSERT_EQUAL(ws_index_memory(&t), 262144 * sizeof(struct ws_index_slot));
	for (int i = 0; i < N; i++)
		bad += ws_index_lookup(&t, idx[i]) != &entries[i];
	for (int i = 0; i < N; i += 2)
		bad += ws_index_remove(&t, idx[i]) != 0;
	for (int i = 0; i < N; i++)
		bad += ws_index_lookup(&t, idx[i]) != (i % 2 ? &entries[i] : NULL);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(t.count, N / 2);
	ws_index_free(&t);
}

/* Randomized differential against a plain array, with indices from a range of
 * 300 values so probe runs are long, wrap around and get shifted back. */
static void test_index_random_differential(void)
{
	enum { RANGE = 300 };
	static int entries[RANGE];
	void *model[RANGE];
	struct ws_index t;
	uint64_t rs = 0xd1ff, gen = 0x9e3;
	int bad = 0;

	memset(model, 0, sizeof(model));
	CU_ASSERT_EQUAL_FATAL(ws_index_init(&t), 0);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = ws_test_rand(&rs);
		uint32_t x = (uint32_t)((r >> 8) % RANGE), got;
		int ret;

		if (r % 3) {
			ret = ws_index_insert_random(&t, &entries[x], small32, &gen, &got);
			if (ret == 0) {
				bad += got == 0 || got >= RANGE || model[got] != NULL;
				model[got < RANGE ? got : 0] = &entries[x];
			} else {
				bad += ret != -EAGAIN;
			}
		} else {
			ret = ws_index_remove(&t, x);
			bad += ret != (model[x] ? 0 : -ENOENT);
			model[x] = NULL;
		}
		if (step % 64 == 0) {
			uint32_t n = 0;

			for (uint32_t k = 0; k < RANGE; k++) {
				bad += ws_index_lookup(&t, k) != model[k];
				n += model[k] != NULL;
			}
			bad += n != t.count;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(t.count > 100);
	ws_index_free(&t);
}

WS_SUITE(index)
{
	WS_ADD(suite, test_index_insert_lookup_unique);
	WS_ADD(suite, test_index_rigged_collisions);
	WS_ADD(suite, test_index_remove_replace);
	WS_ADD(suite, test_index_bad_args_and_bound);
	WS_ADD(suite, test_index_growth);
	WS_ADD(suite, test_index_random_differential);
}
