/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <string.h>

#include "os/workers.h"
#include "test.h"

enum { N = 1000 };

struct job {
	atomic_uint hits[N];
};

static void mark(void *ctx, unsigned first, unsigned count)
{
	struct job *j = ctx;

	for (unsigned i = first; i < first + count; i++)
		atomic_fetch_add(&j->hits[i], 1);
}

static void run_pool(unsigned threads)
{
	static struct job j;
	struct ws_workers w;

	CU_ASSERT_EQUAL_FATAL(ws_workers_init(&w, threads), 0);
	for (unsigned round = 0; round < 200; round++) {
		unsigned n = 1 + (round * 37) % N;

		memset(&j, 0, sizeof(j));
		ws_workers_run(&w, mark, &j, n, 4);
		for (unsigned i = 0; i < N; i++)
			if (atomic_load(&j.hits[i]) != (i < n ? 1u : 0u)) {
				CU_FAIL("item processed a wrong number of times");
				break;
			}
	}
	ws_workers_destroy(&w);
}

static void test_inline(void)
{
	run_pool(0);
}

static void test_threads(void)
{
	run_pool(1);
	run_pool(3);
}

WS_SUITE(workers)
{
	WS_ADD(suite, test_inline);
	WS_ADD(suite, test_threads);
}
