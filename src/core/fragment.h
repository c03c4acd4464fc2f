/* SPDX-License-Identifier: MIT */
/*
 * Fragmentation and reassembly of frames (spec 4.7, 9; DECISIONS 22, 23).
 * Frame bytes are opaque here.
 *
 * A DataFragment plaintext is an 8-byte sub-header (frame_id LE32,
 * frag_index LE16, frag_count LE16) and the fragment's bytes. A sender
 * fragments a frame iff it is longer than maxFragPayload = MaxPacketSize - 40,
 * fills the fragments in order to maxFragPayload bytes, and the last carries
 * the rest; frag_count <= 65535.
 */
#ifndef WS_FRAGMENT_H
#define WS_FRAGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

/* ---- sender ------------------------------------------------------------------- */

/* maxFragPayload for a MaxPacketSize (MaxPacketSize - 40), 0 when it is <= 40. */
size_t ws_fragment_max_payload(size_t max_packet_size);

/*
 * Packets a frame of frame_len bytes takes: 1 when it fits one Data packet
 * (frame_len <= max_frag_payload), else the number of DataFragments. 0 when
 * it cannot be sent: more than 65535 fragments, frame_len 0, or
 * max_frag_payload 0.
 */
uint32_t ws_fragment_count(size_t frame_len, size_t max_frag_payload);

/*
 * Where fragment `index` of a frame lies: sets *offset and returns its
 * length; 0 when index is beyond ws_fragment_count().
 */
size_t ws_fragment_span(size_t frame_len, size_t max_frag_payload, uint16_t index,
			size_t *offset);

/*
 * Write one fragment plaintext at dst (a packet's pkt + 16): the sub-header,
 * then len bytes of data (which may not overlap dst). Returns 8 + len, the
 * plain_len to pass to ws_session_seal(), or 0 when count is 0 or
 * index >= count.
 */
size_t ws_fragment_write(uint8_t *dst, uint32_t frame_id, uint16_t index, uint16_t count,
			 const uint8_t *data, size_t len);

/* ---- receiver ----------------------------------------------------------------- */

/*
 * Memory for reassembly that all sessions of a daemon share (64 MiB, DECISIONS
 * 23). `used` is charged and released atomically by every reassembler.
 */
struct ws_frag_budget {
	_Atomic size_t used;
	size_t limit;
};

void ws_frag_budget_init(struct ws_frag_budget *b, size_t limit);

struct ws_partial_frame;   /* private to fragment.c */

/*
 * Reassembly state of one session's receive side. Idle it is a few words and
 * owns no memory; memory is allocated only for frames that arrive in several
 * fragments, and is bounded (DECISIONS 23):
 *  - frag_count 0 or frag_index >= frag_count: dropped (-EINVAL);
 *  - frag_count 1: delivered at once, nothing stored;
 *  - a frag_count that differs from the one recorded for the frame_id, or a
 *    fragment whose size does not fit the frame (non-last fragments must all
 *    have one size, the last at most that): dropped (-EPROTO);
 *  - a duplicate fragment is ignored (returns 0), the first copy kept;
 *  - at most 64 partial frames; a fragment of a new id beyond that: -ENOSPC;
 *  - a partial frame with no new fragment for 20 s is discarded;
 *  - a completed frame_id is forgotten (a late copy starts a new partial);
 *  - a frame is dropped (-EMSGSIZE; the fragment and whatever was held of
 *    the frame) when frag_count x the size of its non-last fragments, or the
 *    bytes received, exceed 256 KiB;
 *  - the bytes charged (the frame buffers, a presence bitmap and record per
 *    partial frame, and the last completed frame until the next call) stay
 *    within 1 MiB per session and within the shared budget. When a fragment
 *    needs memory beyond either, this session's partial frames that least
 *    recently received a new fragment are discarded first (never the frame
 *    the fragment belongs to); if that is not enough the fragment is dropped
 *    (-ENOBUFS). Another session's memory is never taken: each session
 *    reclaims only its own, so no peer can evict another peer's frames.
 * Buffers are sized when the first non-last fragment arrives (frag_count x its
 * size); a last fragment that arrives first is held on its own until then.
 *
 * Not thread-safe: the caller serialises calls per reassembler (e.g. the
 * per-peer ordered receive stage). Only the budget is shared.
 */
struct ws_reassembler {
	struct ws_partial_frame *oldest;   /* least recent new fragment first */
	struct ws_partial_frame *newest;
	struct ws_frag_budget *budget;     /* shared; NULL: no daemon bound */
	uint8_t *done;                     /* frame returned by the last add */
	size_t done_charge;
	size_t bytes;                      /* charged here, done included */
	uint32_t partials;
};

/* An empty reassembler charging budget (NULL allowed, e.g. in tests). */
void ws_reassembler_init(struct ws_reassembler *r, struct ws_frag_budget *budget);

/* Free everything and return its bytes to the budget; r is then empty. */
void ws_reassembler_free(struct ws_reassembler *r);

/*
 * Feed one decrypted DataFragment plaintext (sub-header + data), received at
 * now_ns. Returns 1 when a frame completed: *frame and *frame_len describe it,
 * valid until the next add, expire or free on r (for frag_count 1 it points
 * into frag_plain instead, and lives as long as that).
 * Returns 0 when the fragment was stored or was a duplicate, and -errno when
 * it was dropped (see above; also -ENOMEM). Partial frames past their 20 s
 * are discarded first.
 */
int ws_reassembler_add(struct ws_reassembler *r, const uint8_t *frag_plain, size_t len,
		       uint64_t now_ns, const uint8_t **frame, size_t *frame_len);

/*
 * Discard partial frames with no new fragment for 20 s, and the last
 * completed frame (for a periodic timer: an idle session then holds nothing).
 * Returns how many partial frames were discarded.
 */
unsigned ws_reassembler_expire(struct ws_reassembler *r, uint64_t now_ns);

/*
 * The earliest time ws_reassembler_expire(r, t) discards something: 0 while
 * a completed frame is held, the first partial frame's last new fragment +
 * 20 s, or UINT64_MAX when r holds nothing. For the receiver's periodic
 * sweep, so that idle sessions cannot keep the shared budget.
 */
uint64_t ws_reassembler_next_expiry(const struct ws_reassembler *r);

/*
 * Self-check of r's invariants and bounds (list links, counts, charges,
 * limits), for tests and fuzzing. True when consistent.
 */
bool ws_reassembler_consistent(const struct ws_reassembler *r);

#endif
