/* SPDX-License-Identifier: MIT */
/*
 * Replay window of one session's receive direction (spec 8, DECISIONS 15-16):
 * 4096 counters, [head-4095, head], as 64 words of 64 bits.
 *
 * Exact bits: a fresh window has head = 0 and an empty bitmap, so counter 0 is
 * accepted once. Counter c lives in word (c >> 6) % 64, bit c & 63. When head
 * advances, the bits of exactly the counters head+1 .. new_head are cleared
 * (all of them when the jump is >= 4096), never whole words, so no counter
 * still inside the window is reopened. Counters >= 2^64-1 are never accepted
 * (the last usable counter is 2^64-2).
 *
 * Concurrency: ws_replay_check() reads only and may run on any thread at any
 * time, concurrently with everything (it is the cheap reject before the
 * AEAD). ws_replay_update() is the authoritative test-and-set after the tag
 * verified; the caller serialises it per session (the session's lock, or a
 * single per-peer consumer stage). Two copies of one packet decrypted at once
 * both pass the check; the second update returns false.
 */
#ifndef WS_REPLAY_H
#define WS_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

struct ws_replay {
	_Atomic uint64_t head;
	_Atomic uint64_t bitmap[WS_REPLAY_WINDOW_WORDS];
};

/* Fresh window: head 0, nothing seen. Not concurrent with other calls. */
void ws_replay_init(struct ws_replay *r);

/*
 * Would counter c be accepted now? Changes nothing; lock-free (an acquire load
 * of head, a relaxed load of one word). A true answer may still be refused by
 * ws_replay_update(); a false answer is final.
 */
bool ws_replay_check(const struct ws_replay *r, uint64_t c);

/*
 * Accept c and mark it seen, or refuse it (duplicate, too old, >= 2^64-1).
 * Caller serialises calls per window (see above). Returns true when accepted.
 */
bool ws_replay_update(struct ws_replay *r, uint64_t c);

#endif
