/* SPDX-License-Identifier: MIT */
/* Replay window with exact-bit clearing (DECISIONS 16). See replay.h. */
#include "core/replay.h"

#include <stddef.h>

#define RELAXED memory_order_relaxed

static unsigned word_of(uint64_t c)
{
	return (unsigned)((c >> 6) % WS_REPLAY_WINDOW_WORDS);
}

static uint64_t bit_of(uint64_t c)
{
	return 1ULL << (c & 63);
}

void ws_replay_init(struct ws_replay *r)
{
	atomic_init(&r->head, 0);
	for (size_t i = 0; i < WS_REPLAY_WINDOW_WORDS; i++)
		atomic_init(&r->bitmap[i], 0);
}

/* Below the window: head - c >= 4096 (c <= head). */
static bool too_old(uint64_t head, uint64_t c)
{
	return head - c >= WS_REPLAY_WINDOW;
}

bool ws_replay_check(const struct ws_replay *r, uint64_t c)
{
	/* Acquire pairs with the release in update: a head we see comes with the
	 * bits cleared for it, so the check never refuses a fresh counter. */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (c >= UINT64_MAX)
		return false;
	if (c > head)
		return true;
	if (too_old(head, c))
		return false;
	return !(atomic_load_explicit(&r->bitmap[word_of(c)], RELAXED) & bit_of(c));
}

/*
 * Clear the bits of counters from..to inclusive, to - from < 4096, a word at
 * a time. The only writer is the serialised update, so load/store suffices.
 */
static void clear_counters(struct ws_replay *r, uint64_t from, uint64_t to)
{
	for (;;) {
		unsigned w = word_of(from), lo = (unsigned)(from & 63);
		uint64_t left = to - from;                   /* counters after from */
		unsigned hi = left >= 63 - lo ? 63 : lo + (unsigned)left;
		uint64_t mask = (~0ULL >> (63 - hi)) & (~0ULL << lo);
		uint64_t v = atomic_load_explicit(&r->bitmap[w], RELAXED);

		atomic_store_explicit(&r->bitmap[w], v & ~mask, RELAXED);
		if (left <= 63 - lo)
			return;
		from += 64 - lo;                             /* <= to: no overflow */
	}
}

static void advance(struct ws_replay *r, uint64_t head, uint64_t c)
{
	if (c - head >= WS_REPLAY_WINDOW) {
		for (size_t i = 0; i < WS_REPLAY_WINDOW_WORDS; i++)
			atomic_store_explicit(&r->bitmap[i], 0, RELAXED);
	} else {
		clear_counters(r, head + 1, c);
	}
	atomic_fetch_or_explicit(&r->bitmap[word_of(c)], bit_of(c), RELAXED);
	atomic_store_explicit(&r->head, c, memory_order_release);
}

bool ws_replay_update(struct ws_replay *r, uint64_t c)
{
	uint64_t head = atomic_load_explicit(&r->head, RELAXED);
	uint64_t v;

	if (c >= UINT64_MAX)
		return false;
	if (c > head) {
		advance(r, head, c);
		return true;
	}
	if (too_old(head, c))
		return false;
	v = atomic_load_explicit(&r->bitmap[word_of(c)], RELAXED);
	if (v & bit_of(c))
		return false;
	atomic_store_explicit(&r->bitmap[word_of(c)], v | bit_of(c), RELAXED);
	return true;
}
