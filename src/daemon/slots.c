/* SPDX-License-Identifier: MIT */
/*
 * A peer's session slots (previous, current, next) and their index-table
 * entries, kept by this file alone (WireGuard's add_new_keypair, OpenBSD's
 * noise_remote_begin_session): install a new session as initiator or
 * responder, confirm next -> current, close on Disconnect, expire, wipe.
 * Nothing else assigns peer->prev/cur/next, a slot's `used` or its entry.
 * The slots move exactly as core/timers.c mirrors them; the timer hooks that
 * change its model of the slots are called from here only.
 *
 * Threads and locks: ctl thread. Slots change under dev->lock held for
 * writing (taken here unless a function says it is held) and, where the
 * timers are told, peer->lock inside it. tx and rx read slots under
 * dev->lock held for reading.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/crypto.h"
#include "daemon/device.h"
#include "daemon/peer.h"
#include "daemon/slots.h"

static uint32_t rand32(void *ctx)
{
	(void)ctx;
	return ws_random_u32();
}

/* dev->lock held for writing. */
static void slot_free(struct ws_peer *peer, struct ws_slot *slot)
{
	if (slot->entry.registered)
		ws_index_remove(&peer->dev->index, slot->entry.index);
	slot->entry.registered = false;
	ws_reassembler_free(&slot->reasm);
	ws_session_wipe(&slot->s);
	if (peer->prev == slot)
		peer->prev = NULL;
	if (peer->cur == slot)
		peer->cur = NULL;
	if (peer->next == slot)
		peer->next = NULL;
	slot->used = false;
	atomic_store(&slot->dead, false);
}

/* A free slot, or (all three in use) the previous session's, then the unconfirmed next's. dev->lock held for writing. */
static struct ws_slot *slot_alloc(struct ws_peer *peer)
{
	struct ws_slot *slot = NULL;

	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER && !slot; i++)
		if (!peer->slots[i].used)
			slot = &peer->slots[i];
	if (!slot) {
		slot = peer->prev ? peer->prev : peer->next ? peer->next : peer->cur;
		slot_free(peer, slot);
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	return slot;
}

static enum ws_timers_slot slot_kind(const struct ws_peer *peer, const struct ws_slot *slot)
{
	return slot == peer->prev ? WS_TIMERS_PREV : slot == peer->cur ? WS_TIMERS_CUR : WS_TIMERS_NEXT;
}

/*
 * Drop the slots timers.c no longer reports and promote next to current as it
 * does. dev->lock held for writing, peer->lock held.
 */
static void sync_slots(struct ws_peer *peer)
{
	struct ws_slot **slots[WS_TIMERS_SLOTS] = {&peer->prev, &peer->cur, &peer->next};
	uint64_t birth;

	if (!peer->cur && peer->next && ws_timers_session(&peer->timers, WS_TIMERS_CUR, &birth) &&
	    birth == peer->next->s.birth_ns) {
		peer->cur = peer->next;
		peer->next = NULL;
	}
	for (int k = 0; k < WS_TIMERS_SLOTS; k++)
		if (*slots[k] && !ws_timers_session(&peer->timers, (enum ws_timers_slot)k, NULL))
			slot_free(peer, *slots[k]);
}

/*
 * A session was born in slot: tell the timers and move the slots the way
 * timers.c does. Returns whether the peer had a live session before.
 * dev->lock held for writing, peer->lock held.
 */
static bool rotate_in(struct ws_peer *peer, struct ws_slot *slot, uint64_t now)
{
	bool had_live = ws_timers_live(&peer->timers, now);
	struct ws_slot *old_prev = peer->prev, *old_cur = peer->cur, *old_next = peer->next;

	if (slot->s.initiator) {
		ws_timers_handshake_complete(&peer->timers, now);
		peer->prev = old_next ? old_next : old_cur;
		peer->cur = slot;
		peer->next = NULL;
		if (old_next && old_cur && old_cur != slot)
			slot_free(peer, old_cur);
	} else if (ws_timers_session_created_responder(&peer->timers, now)) {
		peer->prev = peer->next = NULL;
		peer->cur = slot;
		if (old_cur && old_cur != slot)
			slot_free(peer, old_cur);
		if (old_next && old_next != slot)
			slot_free(peer, old_next);
	} else {
		peer->prev = NULL;
		peer->next = slot;
		if (old_next && old_next != slot)
			slot_free(peer, old_next);
	}
	if (old_prev && old_prev != slot && old_prev != peer->prev && old_prev->used)
		slot_free(peer, old_prev);
	return had_live;
}

int ws_slots_handshake_index(struct ws_device *dev, struct ws_peer *peer, uint32_t *index)
{
	int ret = 0;

	if (!peer->hs_entry.registered) {
		pthread_rwlock_wrlock(&dev->lock);
		peer->hs_entry.kind = WS_IDX_HANDSHAKE;
		peer->hs_entry.peer = peer;
		ret = ws_index_insert_random(&dev->index, &peer->hs_entry, rand32, NULL, index);
		peer->hs_entry.registered = ret == 0;
		peer->hs_entry.index = *index;
		pthread_rwlock_unlock(&dev->lock);
	}
	*index = peer->hs_entry.index;
	return ret;
}

struct ws_slot *ws_slots_reserve(struct ws_device *dev, struct ws_peer *peer)
{
	struct ws_slot *slot;
	int ret;

	pthread_rwlock_wrlock(&dev->lock);
	slot = slot_alloc(peer);
	slot->entry.kind = WS_IDX_SESSION;
	slot->entry.peer = peer;
	slot->entry.slot = slot;
	ret = ws_index_insert_random(&dev->index, &slot->entry, rand32, NULL, &slot->entry.index);
	slot->entry.registered = ret == 0;
	if (ret) {
		slot_free(peer, slot);
		slot = NULL;
	}
	pthread_rwlock_unlock(&dev->lock);
	return slot;
}

void ws_slots_unreserve(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot)
{
	pthread_rwlock_wrlock(&dev->lock);
	slot_free(peer, slot);
	pthread_rwlock_unlock(&dev->lock);
}

struct ws_slot *ws_slots_install(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot,
				 const struct ws_noise_keys *keys, const struct sockaddr_storage *from,
				 uint64_t now, bool *had_live)
{
	pthread_rwlock_wrlock(&dev->lock);
	if (!slot)
		slot = slot_alloc(peer);
	ws_session_init(&slot->s, keys->send, keys->recv, keys->local_index, keys->remote_index,
			keys->initiator, now);
	ws_reassembler_init(&slot->reasm, &dev->frag_budget);
	slot->entry.kind = WS_IDX_SESSION;
	slot->entry.peer = peer;
	slot->entry.slot = slot;
	slot->entry.index = keys->local_index;
	if (keys->initiator) {
		/* The handshake's index now names the session. */
		ws_index_replace(&dev->index, keys->local_index, &peer->hs_entry, &slot->entry);
		peer->hs_entry.registered = false;
	}
	slot->entry.registered = true;
	pthread_mutex_lock(&peer->lock);
	*had_live = rotate_in(peer, slot, now);
	peer->endpoint = *from;
	pthread_mutex_unlock(&peer->lock);
	pthread_rwlock_unlock(&dev->lock);
	return slot;
}

bool ws_slots_confirm(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now)
{
	bool moved = false;

	pthread_rwlock_wrlock(&dev->lock);
	if (peer->next == slot) {
		struct ws_slot *old_prev = peer->prev;

		peer->prev = peer->cur;
		peer->cur = slot;
		peer->next = NULL;
		if (old_prev && old_prev != peer->prev)
			slot_free(peer, old_prev);
		pthread_mutex_lock(&peer->lock);
		ws_timers_next_confirmed(&peer->timers, now);
		pthread_mutex_unlock(&peer->lock);
		moved = true;
	}
	pthread_rwlock_unlock(&dev->lock);
	return moved;
}

void ws_slots_close(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now)
{
	pthread_rwlock_wrlock(&dev->lock);
	if (slot->used && (slot == peer->prev || slot == peer->cur || slot == peer->next)) {
		/* Emptied before the others are synced, so that a next which
		 * timers.c promotes to current is promoted here too. */
		pthread_mutex_lock(&peer->lock);
		ws_timers_disconnect_received(&peer->timers, slot_kind(peer, slot), now);
		slot_free(peer, slot);
		sync_slots(peer);
		pthread_mutex_unlock(&peer->lock);
	}
	pthread_rwlock_unlock(&dev->lock);
}

void ws_slots_expire(struct ws_device *dev, struct ws_peer *peer, bool wipe)
{
	pthread_rwlock_wrlock(&dev->lock);
	pthread_mutex_lock(&peer->lock);
	sync_slots(peer);
	if (wipe) {
		for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
			if (peer->slots[i].used)
				slot_free(peer, &peer->slots[i]);
		ws_handshake_clear(&peer->hs);
	}
	pthread_mutex_unlock(&peer->lock);
	pthread_rwlock_unlock(&dev->lock);
}

void ws_slots_drop_all(struct ws_device *dev, struct ws_peer *peer)
{
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
		if (peer->slots[i].used)
			slot_free(peer, &peer->slots[i]);
	if (peer->hs_entry.registered)
		ws_index_remove(&dev->index, peer->hs_entry.index);
}
