/* SPDX-License-Identifier: MIT */
/*
 * A peer's three session slots (previous, current, next) and the index-table
 * entries that lead rx from a receiver index to a slot or a handshake.
 * slots.c is their only writer: peer->prev/cur/next, a slot's `used` and its
 * entry change nowhere else, and the timer hooks that move core/timers.c's
 * model of the slots are called from there only.
 * Threads and locks: slots change on the ctl thread under dev->lock held for
 * writing (each function below takes it, unless it says it is held; peer->lock
 * inside it where the timers are told); tx and rx read them under dev->lock
 * held for reading (rx sets confirm_sent, confirm_lost and dead, which are
 * atomic).
 */
#ifndef WS_SLOTS_H
#define WS_SLOTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/fragment.h"
#include "core/session.h"

enum ws_index_kind { WS_IDX_HANDSHAKE = 1, WS_IDX_SESSION = 2 };

struct sockaddr_storage;
struct ws_device;
struct ws_noise_keys;
struct ws_peer;
struct ws_slot;

struct ws_index_entry {
	enum ws_index_kind kind;
	struct ws_peer *peer;
	struct ws_slot *slot;          /* WS_IDX_SESSION only */
	uint32_t index;
	bool registered;
};

/* One of a peer's three session slots. */
struct ws_slot {
	struct ws_session s;
	struct ws_reassembler reasm;
	struct ws_index_entry entry;
	bool used;
	uint32_t next_frame_id;        /* tx thread: DataFragment frame ids */
	_Atomic bool confirm_sent;     /* rx thread told ctl about the first packet on "next" */
	_Atomic uint64_t confirm_lost; /* ... but the inbox was full: 1 << 32 | index, for ctl's tick */
	_Atomic bool dead;             /* a Disconnect arrived or it expired: no longer sent on */
};

/* Initiator: the index the HandshakeInit names, registered on the first
 * attempt and kept for its retries (DECISIONS 20). 0 or -errno. */
int ws_slots_handshake_index(struct ws_device *dev, struct ws_peer *peer, uint32_t *index);
/* Responder: a slot for the session its HandshakeResp will name, registered
 * under a fresh random index (slot->entry.index). NULL when the index table
 * has no room. All three in use: the previous session goes first, then the
 * unconfirmed next, then current. */
struct ws_slot *ws_slots_reserve(struct ws_device *dev, struct ws_peer *peer);
/* Responder: no HandshakeResp could be made: the reserved slot goes. */
void ws_slots_unreserve(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot);
/*
 * A handshake completed (keys): its session goes into slot (the responder's
 * reserved one; NULL for the initiator: a slot is taken here and the
 * handshake's index now names the session), prev/cur/next move as timers.c
 * says (initiator: current at once; responder: current only when the peer has
 * no live session, else next until confirmed) and the endpoint becomes from.
 * *had_live: the peer had a live session before. Returns the slot.
 */
struct ws_slot *ws_slots_install(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot,
				 const struct ws_noise_keys *keys, const struct sockaddr_storage *from,
				 uint64_t now, bool *had_live);
/* The first packet arrived on slot: if it is still next it becomes current
 * (current becomes previous) and true is returned. */
bool ws_slots_confirm(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
/* A Disconnect arrived on slot: it is emptied (next becomes current if current went). */
void ws_slots_close(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
/* timers.c expired sessions: drop the slots it no longer reports; with wipe,
 * every slot and the handshake state (720 s without new key material). */
void ws_slots_expire(struct ws_device *dev, struct ws_peer *peer, bool wipe);
/* The peer goes: every slot and the handshake's index. dev->lock held for writing. */
void ws_slots_drop_all(struct ws_device *dev, struct ws_peer *peer);

#endif
