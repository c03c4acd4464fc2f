/* SPDX-License-Identifier: MIT */
/* Receiver-index table: linear probing, backward-shift deletion. */
#include <errno.h>
#include <stdlib.h>

#include "core/index.h"

/* Fibonacci hashing: the top bits of index * 2^32/phi. Our indices are random
 * already; this keeps a rigged or poor generator from clustering. */
static uint32_t home(const struct ws_index *t, uint32_t index)
{
	return (uint32_t)(index * 0x9E3779B1u) >> t->shift;
}

static unsigned log2u(uint32_t pow2)
{
	return 31u - (unsigned)__builtin_clz(pow2);
}

static int alloc_slots(struct ws_index *t, uint32_t capacity)
{
	struct ws_index_slot *s = calloc(capacity, sizeof(*s));

	if (!s)
		return -ENOMEM;
	t->slots = s;
	t->mask = capacity - 1;
	t->shift = 32u - log2u(capacity);
	return 0;
}

int ws_index_init(struct ws_index *t)
{
	t->count = 0;
	return alloc_slots(t, WS_INDEX_MIN_CAPACITY);
}

void ws_index_free(struct ws_index *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->shift = 0;
	t->count = 0;
}

/* The slot holding index, or the empty slot that ends its probe run. */
static uint32_t probe(const struct ws_index *t, uint32_t index)
{
	uint32_t i = home(t, index);

	while (t->slots[i].entry && t->slots[i].index != index)
		i = (i + 1) & t->mask;
	return i;
}

static void place(struct ws_index *t, uint32_t index, void *entry)
{
	uint32_t i = probe(t, index);

	t->slots[i].index = index;
	t->slots[i].entry = entry;
}

/* Double the slots so that one more entry keeps the load at most 1/2. */
static int grow(struct ws_index *t)
{
	struct ws_index_slot *old = t->slots;
	uint32_t n = t->mask + 1;

	if (alloc_slots(t, n * 2) < 0) {
		t->slots = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		if (old[i].entry)
			place(t, old[i].index, old[i].entry);
	free(old);
	return 0;
}

int ws_index_insert_random(struct ws_index *t, void *entry, uint32_t (*rand32)(void *),
			   void *rctx, uint32_t *out_index)
{
	if (!entry || !rand32 || !out_index || !t->slots)
		return -EINVAL;
	if (t->count >= WS_INDEX_MAX_ENTRIES)
		return -ENOSPC;
	if (2 * (t->count + 1) > t->mask + 1 && grow(t) < 0)
		return -ENOMEM;
	for (int tries = 0; tries < WS_INDEX_RANDOM_TRIES; tries++) {
		uint32_t index = rand32(rctx), i;

		if (index == 0)
			continue;
		i = probe(t, index);
		if (t->slots[i].entry)
			continue;
		t->slots[i].index = index;
		t->slots[i].entry = entry;
		t->count++;
		*out_index = index;
		return 0;
	}
	return -EAGAIN;
}

void *ws_index_lookup(const struct ws_index *t, uint32_t index)
{
	if (index == 0 || !t->slots)
		return NULL;
	return t->slots[probe(t, index)].entry;
}

int ws_index_remove(struct ws_index *t, uint32_t index)
{
	uint32_t gap, j;

	if (index == 0 || !t->slots)
		return -ENOENT;
	gap = probe(t, index);
	if (!t->slots[gap].entry)
		return -ENOENT;
	/* Backward shift: pull later members of the run into the gap when
	 * their home is at or before it (cyclically). */
	for (j = (gap + 1) & t->mask; t->slots[j].entry; j = (j + 1) & t->mask) {
		uint32_t from_home = (j - home(t, t->slots[j].index)) & t->mask;

		if (from_home >= ((j - gap) & t->mask)) {
			t->slots[gap] = t->slots[j];
			gap = j;
		}
	}
	t->slots[gap].entry = NULL;
	t->slots[gap].index = 0;
	t->count--;
	return 0;
}

int ws_index_replace(struct ws_index *t, uint32_t index, const void *old_entry, void *new_entry)
{
	uint32_t i;

	if (!new_entry)
		return -EINVAL;
	if (index == 0 || !t->slots)
		return -ENOENT;
	i = probe(t, index);
	if (!t->slots[i].entry || (old_entry && t->slots[i].entry != old_entry))
		return -ENOENT;
	t->slots[i].entry = new_entry;
	return 0;
}

size_t ws_index_memory(const struct ws_index *t)
{
	return t->slots ? ((size_t)t->mask + 1) * sizeof(struct ws_index_slot) : 0;
}
