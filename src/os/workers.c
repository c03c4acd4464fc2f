/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "os/workers.h"

/* Claim chunks until none is left. */
static void drain(struct ws_workers *w, ws_work_fn fn, void *ctx, unsigned n, unsigned chunk)
{
	for (;;) {
		unsigned first = atomic_fetch_add_explicit(&w->next, chunk, memory_order_relaxed);

		if (first >= n)
			return;
		fn(ctx, first, n - first < chunk ? n - first : chunk);
	}
}

static void *worker_main(void *arg)
{
	struct ws_workers *w = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && w->generation == seen)
			pthread_cond_wait(&w->start, &w->lock);
		if (w->stop)
			break;
		seen = w->generation;
		ws_work_fn fn = w->fn;
		void *ctx = w->ctx;
		unsigned n = w->n_items, chunk = w->chunk;

		pthread_mutex_unlock(&w->lock);
		drain(w, fn, ctx, n, chunk);
		pthread_mutex_lock(&w->lock);
		if (atomic_fetch_sub(&w->busy, 1) == 1)
			pthread_cond_signal(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int ws_workers_init(struct ws_workers *w, unsigned n_threads)
{
	*w = (struct ws_workers){.n_threads = 0};
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->start, NULL);
	pthread_cond_init(&w->done, NULL);
	if (!n_threads)
		return 0;
	w->threads = calloc(n_threads, sizeof(*w->threads));
	if (!w->threads)
		return -ENOMEM;
	for (unsigned i = 0; i < n_threads; i++) {
		if (pthread_create(&w->threads[i], NULL, worker_main, w)) {
			ws_workers_destroy(w);
			return -EAGAIN;
		}
		w->n_threads++;
	}
	return 0;
}

void ws_workers_destroy(struct ws_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->start);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
	w->threads = NULL;
	w->n_threads = 0;
	pthread_cond_destroy(&w->start);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->lock);
}

void ws_workers_run(struct ws_workers *w, ws_work_fn fn, void *ctx, unsigned n, unsigned min_parallel)
{
	unsigned parts = w->n_threads + 1;

	if (!n)
		return;
	if (!w->n_threads || n < min_parallel) {
		fn(ctx, 0, n);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->fn = fn;
	w->ctx = ctx;
	w->n_items = n;
	/* A few chunks per worker balances uneven packet sizes. */
	w->chunk = (n + 2 * parts - 1) / (2 * parts);
	atomic_store(&w->next, 0);
	atomic_store(&w->busy, w->n_threads);
	w->generation++;
	pthread_cond_broadcast(&w->start);
	pthread_mutex_unlock(&w->lock);

	drain(w, fn, ctx, n, w->chunk);

	pthread_mutex_lock(&w->lock);
	while (atomic_load(&w->busy))
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}
