/* SPDX-License-Identifier: MIT */
/*
 * Fork-join crypto workers. A pipeline thread (TX or RX) hands a batch of n
 * independent items to ws_workers_run(); the items are split into chunks that
 * the pool's threads and the calling thread process in parallel, and the call
 * returns once every item is done, so the batch keeps its order for the
 * sequential stage that follows (sendmmsg, replay commit, TUN write). One pool
 * serves one calling thread at a time; the daemon gives TX and RX a pool each.
 */
#ifndef WS_WORKERS_H
#define WS_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*ws_work_fn)(void *ctx, unsigned first, unsigned count);

struct ws_workers {
	unsigned n_threads;          /* extra threads; the caller is one more worker */
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t start, done;
	uint64_t generation;         /* bumped per job, under lock */
	bool stop;
	/* The job in flight. */
	ws_work_fn fn;
	void *ctx;
	unsigned n_items, chunk;
	atomic_uint next;            /* next unclaimed item */
	atomic_uint busy;            /* threads still working on this job */
};

/* Start a pool of n_threads extra threads (0 = run everything in the caller). */
int ws_workers_init(struct ws_workers *w, unsigned n_threads);
void ws_workers_destroy(struct ws_workers *w);
/* Run fn over items [0, n) and return when all are done. Batches smaller than min_parallel run inline. */
void ws_workers_run(struct ws_workers *w, ws_work_fn fn, void *ctx, unsigned n, unsigned min_parallel);

#endif
