/* SPDX-License-Identifier: MIT */
/*
 * A peer's three session slots (previous, current, next) and the index-table
 * entries that lead rx from a receiver index to a slot or a handshake.
 * Threads and locks: slots change on the ctl thread under dev->lock held for
 * writing; tx and rx read them under dev->lock held for reading (rx sets
 * confirm_sent, confirm_lost and dead, which are atomic).
 */
#ifndef WS_SLOTS_H
#define WS_SLOTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/fragment.h"
#include "core/session.h"

enum ws_index_kind { WS_IDX_HANDSHAKE = 1, WS_IDX_SESSION = 2 };

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

#endif
