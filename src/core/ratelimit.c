/* SPDX-License-Identifier: MIT */
/*
 * Handshake rate limiter: a fixed pool of entries, a keyed hash with chains
 * through the pool, and an LRU list (least recently seen first) that makes
 * garbage collection and eviction O(1) per entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ratelimit.h"

enum { NIL = UINT32_MAX, FAM4 = 4, FAM6 = 6 };

struct ws_rl_entry {
	uint64_t key;          /* IPv4 address or IPv6 /64, host order */
	uint64_t last_ns;      /* last time this source was seen */
	uint64_t tokens;       /* ns of credit, <= TOKEN_MAX_NS */
	uint32_t hash_next;    /* chain (or free list) */
	uint32_t lru_prev, lru_next;
	uint8_t family;        /* FAM4, FAM6; 0 when free */
};

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

/* SipHash-2-4 of the 16 bytes LE(a) || LE(b). */
static uint64_t siphash_2u64(const uint64_t k[2], uint64_t a, uint64_t b)
{
	uint64_t v[4] = {
		k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
		k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL,
	};
	const uint64_t m[3] = { a, b, (uint64_t)16 << 56 };

	for (int i = 0; i < 3; i++) {
		v[3] ^= m[i];
		sipround(v);
		sipround(v);
		v[0] ^= m[i];
	}
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t be_bytes(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The source a sender belongs to; false for an unknown family. */
static bool source_of(int family, const uint8_t *addr, uint8_t *fam, uint64_t *key)
{
	if (!addr)
		return false;
	if (family == AF_INET) {
		*fam = FAM4;
		*key = be_bytes(addr, 4);
	} else if (family == AF_INET6 && !memcmp(addr, v4mapped_prefix, 12)) {
		*fam = FAM4;
		*key = be_bytes(addr + 12, 4);
	} else if (family == AF_INET6) {
		*fam = FAM6;
		*key = be_bytes(addr, 8);
	} else {
		return false;
	}
	return true;
}

int ws_ratelimit_init(struct ws_ratelimit *rl, size_t max_entries,
		      const uint8_t hash_key[WS_RATELIMIT_KEY_LEN])
{
	uint32_t nb = 1;

	memset(rl, 0, sizeof(*rl));
	if (max_entries == 0)
		max_entries = WS_RATELIMIT_DEFAULT_ENTRIES;
	if (max_entries > WS_RATELIMIT_MAX_ENTRIES || !hash_key)
		return -EINVAL;
	while (nb < max_entries)
		nb <<= 1;
	rl->entries = calloc(max_entries, sizeof(*rl->entries));
	rl->buckets = malloc(nb * sizeof(*rl->buckets));
	if (!rl->entries || !rl->buckets) {
		ws_ratelimit_free(rl);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nb; i++)
		rl->buckets[i] = NIL;
	for (uint32_t i = 0; i < max_entries; i++)
		rl->entries[i].hash_next = i + 1 < max_entries ? i + 1 : NIL;
	rl->bucket_mask = nb - 1;
	rl->max_entries = (uint32_t)max_entries;
	rl->free_head = 0;
	rl->lru_head = rl->lru_tail = NIL;
	rl->key[0] = ws_le64(hash_key);
	rl->key[1] = ws_le64(hash_key + 8);
	return 0;
}

void ws_ratelimit_free(struct ws_ratelimit *rl)
{
	free(rl->entries);
	free(rl->buckets);
	memset(rl, 0, sizeof(*rl));
}

static uint32_t bucket_of(const struct ws_ratelimit *rl, uint8_t fam, uint64_t key)
{
	return (uint32_t)siphash_2u64(rl->key, key, fam) & rl->bucket_mask;
}

static uint32_t find(const struct ws_ratelimit *rl, uint32_t b, uint8_t fam, uint64_t key)
{
	uint32_t i = rl->buckets[b];

	while (i != NIL && (rl->entries[i].family != fam || rl->entries[i].key != key))
		i = rl->entries[i].hash_next;
	return i;
}

static void lru_unlink(struct ws_ratelimit *rl, uint32_t i)
{
	struct ws_rl_entry *e = &rl->entries[i];

	if (e->lru_prev != NIL)
		rl->entries[e->lru_prev].lru_next = e->lru_next;
	else
		rl->lru_head = e->lru_next;
	if (e->lru_next != NIL)
		rl->entries[e->lru_next].lru_prev = e->lru_prev;
	else
		rl->lru_tail = e->lru_prev;
}

static void lru_append(struct ws_ratelimit *rl, uint32_t i)
{
	struct ws_rl_entry *e = &rl->entries[i];

	e->lru_prev = rl->lru_tail;
	e->lru_next = NIL;
	if (rl->lru_tail != NIL)
		rl->entries[rl->lru_tail].lru_next = i;
	else
		rl->lru_head = i;
	rl->lru_tail = i;
}

/* Unlink entry i from its chain and the LRU list; put it on the free list. */
static void forget(struct ws_ratelimit *rl, uint32_t i)
{
	struct ws_rl_entry *e = &rl->entries[i];
	uint32_t *link = &rl->buckets[bucket_of(rl, e->family, e->key)];

	while (*link != i)
		link = &rl->entries[*link].hash_next;
	*link = e->hash_next;
	lru_unlink(rl, i);
	e->family = 0;
	e->hash_next = rl->free_head;
	rl->free_head = i;
	rl->count--;
}

static uint64_t idle_ns(const struct ws_rl_entry *e, uint64_t now_ns)
{
	return now_ns > e->last_ns ? now_ns - e->last_ns : 0;
}

static void gc(struct ws_ratelimit *rl, uint64_t now_ns)
{
	if (now_ns <= rl->last_gc_ns + WS_RATELIMIT_GC_NS)
		return;
	rl->last_gc_ns = now_ns;
	while (rl->lru_head != NIL &&
	       idle_ns(&rl->entries[rl->lru_head], now_ns) > WS_RATELIMIT_IDLE_NS)
		forget(rl, rl->lru_head);
}

/* A free entry for a new source, or NIL when the table is full of sources
 * whose buckets are not yet full again. */
static uint32_t take_entry(struct ws_ratelimit *rl, uint64_t now_ns)
{
	uint32_t i;

	if (rl->free_head == NIL && rl->lru_head != NIL &&
	    idle_ns(&rl->entries[rl->lru_head], now_ns) >= WS_RATELIMIT_TOKEN_MAX_NS)
		forget(rl, rl->lru_head);
	i = rl->free_head;
	if (i != NIL)
		rl->free_head = rl->entries[i].hash_next;
	return i;
}

static bool add_source(struct ws_ratelimit *rl, uint8_t fam, uint64_t key, uint64_t now_ns)
{
	uint32_t i = take_entry(rl, now_ns), b;
	struct ws_rl_entry *e;

	if (i == NIL)
		return false;
	b = bucket_of(rl, fam, key);
	e = &rl->entries[i];
	e->family = fam;
	e->key = key;
	e->last_ns = now_ns;
	e->tokens = WS_RATELIMIT_TOKEN_MAX_NS - WS_RATELIMIT_PACKET_COST_NS;
	e->hash_next = rl->buckets[b];
	rl->buckets[b] = i;
	lru_append(rl, i);
	rl->count++;
	return true;
}

/* Refill by the time elapsed, then spend one message's cost if there is enough. */
static bool spend(struct ws_ratelimit *rl, uint32_t i, uint64_t now_ns)
{
	struct ws_rl_entry *e = &rl->entries[i];
	uint64_t idle = idle_ns(e, now_ns);

	if (idle >= WS_RATELIMIT_TOKEN_MAX_NS - e->tokens)
		e->tokens = WS_RATELIMIT_TOKEN_MAX_NS;
	else
		e->tokens += idle;
	if (now_ns > e->last_ns)
		e->last_ns = now_ns;
	lru_unlink(rl, i);
	lru_append(rl, i);
	if (e->tokens < WS_RATELIMIT_PACKET_COST_NS)
		return false;
	e->tokens -= WS_RATELIMIT_PACKET_COST_NS;
	return true;
}

bool ws_ratelimit_allow(struct ws_ratelimit *rl, int family, const uint8_t *addr, uint64_t now_ns)
{
	uint8_t fam;
	uint64_t key;
	uint32_t i;

	if (!rl->entries || !source_of(family, addr, &fam, &key))
		return false;
	gc(rl, now_ns);
	i = find(rl, bucket_of(rl, fam, key), fam, key);
	if (i != NIL)
		return spend(rl, i, now_ns);
	return add_source(rl, fam, key, now_ns);
}

size_t ws_ratelimit_memory(const struct ws_ratelimit *rl)
{
	return rl->entries ? rl->max_entries * sizeof(struct ws_rl_entry) +
				     ((size_t)rl->bucket_mask + 1) * sizeof(uint32_t)
			   : 0;
}

bool ws_load_under(struct ws_load *l, bool deep, uint64_t now_ns)
{
	if (deep) {
		l->last_deep_ns = now_ns;
		l->seen = true;
		return true;
	}
	return l->seen && (now_ns < l->last_deep_ns || now_ns - l->last_deep_ns < WS_LOAD_HOLD_NS);
}
