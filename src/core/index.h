/* SPDX-License-Identifier: MIT */
/*
 * Receiver-index table (spec 7.1): the 32-bit index we chose for a session
 * (or a pending handshake) -> that entry, for routing every received packet
 * by its receiver_index. Open addressing with linear probing over a power of
 * two of slots, load factor at most 1/2, deletion by backward shift (no
 * tombstones), so a lookup probes a short run and always ends at an empty slot.
 *
 * Bounds: at most WS_INDEX_MAX_ENTRIES entries (2^20), so at most 2^21 slots
 * of 16 bytes (32 MiB) in the worst case; 16 slots (256 bytes) when nearly
 * empty. The table grows (doubling, on insert only) and never shrinks below
 * its high-water mark until freed. Index 0 is never handed out, so callers
 * may use it as "no index"; ws_index_lookup(t, 0) is always NULL.
 *
 * Concurrency contract (no locks inside), as for allowedips: insert, remove,
 * replace and free are serialised by the caller and exclude readers (write
 * side of a pthread_rwlock_t); lookups run concurrently under the read side,
 * taken once per batch. Lookups never allocate. An entry returned by a lookup
 * is the caller's object; keep it alive until it has been removed from the
 * table under the write lock.
 */
#ifndef WS_INDEX_H
#define WS_INDEX_H

#include <stddef.h>
#include <stdint.h>

enum {
	WS_INDEX_MIN_CAPACITY = 16,         /* slots; a power of two */
	WS_INDEX_MAX_ENTRIES = 1 << 20,
	WS_INDEX_RANDOM_TRIES = 128,        /* draws before insert_random gives up */
};

struct ws_index_slot {
	uint32_t index;
	void *entry;                        /* NULL: slot empty */
};

struct ws_index {
	struct ws_index_slot *slots;
	uint32_t mask;                      /* slots - 1 */
	uint32_t shift;                     /* 32 - log2(slots) */
	uint32_t count;                     /* entries in use */
};

/* 0 or -ENOMEM. */
int ws_index_init(struct ws_index *t);
/* Frees the slots (not the entries); the table must be re-initialised to be used again. */
void ws_index_free(struct ws_index *t);

/*
 * Store entry (non-NULL) under a fresh random index: rand32(rctx) is drawn
 * until it yields a non-zero index not in use, at most WS_INDEX_RANDOM_TRIES
 * times. On success writes *out_index and returns 0. Errors (table unchanged):
 * -EINVAL (NULL entry/rand32/out_index, or a freed table), -ENOSPC (WS_INDEX_MAX_ENTRIES in use),
 * -ENOMEM (growth failed), -EAGAIN (every draw was 0 or in use).
 */
int ws_index_insert_random(struct ws_index *t, void *entry, uint32_t (*rand32)(void *),
			   void *rctx, uint32_t *out_index);

/* The entry stored under index, or NULL. Allocation-free, O(1) expected. */
void *ws_index_lookup(const struct ws_index *t, uint32_t index);

/* 0 or -ENOENT. Never allocates. */
int ws_index_remove(struct ws_index *t, uint32_t index);

/*
 * Point index at new_entry (non-NULL), keeping the index (a handshake becoming
 * a session, WireGuard's index_hashtable_replace). When old_entry is not NULL
 * the index must currently hold old_entry. 0, -ENOENT or -EINVAL.
 */
int ws_index_replace(struct ws_index *t, uint32_t index, const void *old_entry, void *new_entry);

/* Bytes held by the slot array. */
size_t ws_index_memory(const struct ws_index *t);

#endif
