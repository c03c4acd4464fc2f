/* SPDX-License-Identifier: MIT */
/*
 * Reliable delivery on one channel in one direction (spec 11, DECISIONS 25,
 * 33): a pure state machine. It knows sequence numbers, the three ACK fields
 * and opaque payload bytes (the already-encoded events part of a frame); the
 * caller encodes frames, owns the clock and the timers, and sends.
 *
 * One struct ws_reliable_tx and one struct ws_reliable_rx per (peer, channel).
 * Neither is thread-safe: the caller serialises calls per struct.
 *
 * Caller's loop, sender side:
 *   ws_reliable_tx_queue() a message, then
 *   while (ws_reliable_tx_next(tx, now, &out)) { encode channel, out.events,
 *       Seq = out.seq and ws_reliable_rx_ack_fields() of the same channel;
 *       send; ws_reliable_rx_ack_sent(); }
 *   if (ws_reliable_tx_failed(tx)) reset the channel (channel 0, DECISIONS 33)
 *   or close it; re-arm a timer for ws_reliable_tx_deadline().
 * Receiver side, for every frame of the channel:
 *   if AckSeq != 0: ws_reliable_tx_on_ack() (it ignores AckSeq 0 itself);
 *   if Seq != 0: ws_reliable_rx_on_frame(), then ws_reliable_rx_pop() until
 *   it returns false; when ws_reliable_rx_ack_due() send a standalone ACK
 *   (no events, Seq 0) and call ws_reliable_rx_ack_sent().
 *
 * Sequence numbers run 1, 2, ..., 2^32-1, 1, 2, ... (0 means "unreliable" and
 * is never used), a cycle of WS_RELIABLE_SEQ_CYCLE values. Every comparison
 * here is wrap-aware: it is a forward distance along that cycle from a base
 * the state knows (the oldest pending Seq on the sender, the expected Seq on
 * the receiver), never a plain '<' on the raw numbers. A value whose distance
 * from the base is larger than the window it must fall in (64 or 65 frames)
 * is "elsewhere" (a duplicate, stale or bogus) whatever its raw value.
 *
 * Memory: each queued or received frame is one heap block of its own size,
 * at most WS_RELIABLE_MAX_PAYLOAD bytes of payload; a sender holds at most
 * WS_RELIABLE_TX_MAX_PENDING of them and a receiver WS_RELIABLE_RX_SLOTS (plus
 * the one last popped), about 75 KiB each in the worst case. An idle channel
 * (nothing pending, everything popped) holds no heap block, and each struct
 * is about 560 bytes.
 */
#ifndef WS_RELIABLE_H
#define WS_RELIABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

enum ws_reliable_limits {
	/*
	 * Largest frame overhead around the events: channel byte (1), Seq,
	 * AckSeq and WindowSize (1 + 5-byte varint each), AckBitmap (1 + 8).
	 */
	WS_RELIABLE_FRAME_OVERHEAD = 1 + 6 + 6 + 9 + 6,
	/*
	 * Largest events part of a reliable frame (1164 bytes): the frame then
	 * fits one Data packet at the default MaxPacketSize (1232) or above,
	 * so reliable frames never need fragmenting. Both directions enforce it.
	 */
	WS_RELIABLE_MAX_PAYLOAD = WS_DEFAULT_MAX_FRAG_PAYLOAD - WS_RELIABLE_FRAME_OVERHEAD,
	/*
	 * Hard cap on frames from the oldest pending to the newest queued:
	 * a receiver drops anything more than 64 past its expected Seq, so a
	 * wider span could not be delivered anyway.
	 */
	WS_RELIABLE_TX_MAX_PENDING = WS_RELIABLE_OOO_WINDOW,
	/* Receiver slots: the expected frame plus the 64 after it. */
	WS_RELIABLE_RX_SLOTS = WS_RELIABLE_OOO_WINDOW + 1,
};

#define WS_RELIABLE_SEQ_CYCLE 0xffffffffULL /* 2^32 - 1 usable Seq values */

/* seq advanced by n steps (n < 2^32-1) along the cycle; seq must be != 0. */
static inline uint32_t ws_reliable_seq_add(uint32_t seq, uint32_t n)
{
	return (uint32_t)(((uint64_t)seq - 1 + n) % WS_RELIABLE_SEQ_CYCLE + 1);
}

/* Forward distance from 'from' to 'to' (both != 0): 0 .. 2^32-2. */
static inline uint32_t ws_reliable_seq_dist(uint32_t from, uint32_t to)
{
	return (uint32_t)(((uint64_t)to + WS_RELIABLE_SEQ_CYCLE - from) % WS_RELIABLE_SEQ_CYCLE);
}

/* ---------------------------------------------------------------- sender */

struct ws_reliable_pending; /* one queued frame (reliable.c) */

struct ws_reliable_tx {
	/*
	 * ring[(head + i) % WS_RELIABLE_TX_MAX_PENDING], i < span, holds Seq
	 * base_seq + i, or NULL once selectively acknowledged. ring[head] is
	 * never NULL while span > 0. Entries i < sent went out at least once.
	 */
	struct ws_reliable_pending *ring[WS_RELIABLE_TX_MAX_PENDING];
	uint32_t base_seq;     /* Seq of ring[head]; the next Seq when span == 0 */
	uint32_t head;
	uint32_t span;
	uint32_t sent;
	uint32_t live;         /* pending: queued and not acknowledged */
	uint32_t peer_window;  /* last non-zero WindowSize from the peer */
	uint32_t init_window;  /* configured peer window, restored by reset */
	uint32_t retries;      /* retransmissions since the last progress */
	uint64_t rto_ns;       /* current retransmit timeout */
	uint64_t timer_ns;     /* retransmit deadline; UINT64_MAX when disarmed */
	bool failed;           /* 10 retries without progress; sticky until reset */
};

/* A frame to send now. events stays valid until the next on_ack/reset/destroy. */
struct ws_reliable_out {
	uint32_t seq;
	const uint8_t *events;
	size_t len;
	uint32_t retransmits;  /* 0 on the first send */
	uint64_t queued_ns;    /* when it was queued, for logs */
	uint64_t first_sent_ns;
};

/* window: initial peer window (0 = WS_RELIABLE_WINDOW). No heap is used yet. */
void ws_reliable_tx_init(struct ws_reliable_tx *tx, uint32_t window);

/*
 * Copy a message (len <= WS_RELIABLE_MAX_PAYLOAD; events may be NULL when
 * len is 0) and give it the next Seq (*seq_out, may be NULL). Returns 0,
 * -EAGAIN when pending >= peer window or the span is at its hard cap (try
 * again after an ACK), -EMSGSIZE, -EPIPE once the channel failed, -ENOMEM.
 */
int ws_reliable_tx_queue(struct ws_reliable_tx *tx, const uint8_t *events, size_t len,
			 uint64_t now_ns, uint32_t *seq_out);

/*
 * The next frame due at now_ns, if any: first the retransmission of the
 * oldest pending frame when the channel's single timer expired (same Seq;
 * RTO doubles, capped at 30 s), else each queued frame once, in Seq order.
 * The caller adds fresh ACK fields. Returns false when nothing is due; it is
 * also where failure is detected: when the timer expires after 10
 * retransmissions without progress, it returns false and
 * ws_reliable_tx_failed() becomes true.
 */
bool ws_reliable_tx_next(struct ws_reliable_tx *tx, uint64_t now_ns, struct ws_reliable_out *out);

/*
 * Process a received ACK (ignored entirely when ack_seq is 0): WindowSize
 * window, when non-zero, becomes the peer window; frames before ack_seq and
 * those whose bit is set in ack_bitmap (bit i = ack_seq + i + 1) are freed if
 * they were sent and are still pending; values outside the sent range are
 * ignored. Freeing at least one frame resets the RTO to 200 ms and the retry
 * count, and restarts the timer (or disarms it when nothing sent remains).
 */
void ws_reliable_tx_on_ack(struct ws_reliable_tx *tx, uint32_t ack_seq, uint64_t ack_bitmap,
			   uint32_t window, uint64_t now_ns);

/*
 * When ws_reliable_tx_next() next has something to do: 0 when a queued
 * frame has not been sent yet, the retransmit deadline when frames are in
 * flight, UINT64_MAX when nothing is pending or the channel failed.
 */
uint64_t ws_reliable_tx_deadline(const struct ws_reliable_tx *tx);

bool ws_reliable_tx_failed(const struct ws_reliable_tx *tx);
uint32_t ws_reliable_tx_pending(const struct ws_reliable_tx *tx);

/*
 * Spec 11.7: drop every pending frame, next Seq 1, peer window back to the
 * configured one, RTO 200 ms, no retries, not failed, timer disarmed.
 * Frees all heap; also what destroy does.
 */
void ws_reliable_tx_reset(struct ws_reliable_tx *tx);
/* The same with the next Seq first_seq (0 means 1); tests cross the wrap with it. */
void ws_reliable_tx_reset_at(struct ws_reliable_tx *tx, uint32_t first_seq);
void ws_reliable_tx_destroy(struct ws_reliable_tx *tx);

/* -------------------------------------------------------------- receiver */

struct ws_reliable_slot; /* one received frame (reliable.c) */

enum ws_reliable_rx_result {
	WS_RELIABLE_DELIVER = 1,  /* in order: pop now */
	WS_RELIABLE_BUFFERED = 2, /* out of order, kept */
	WS_RELIABLE_DROPPED = 3,  /* duplicate, too far ahead or no room; still ACKed */
};

struct ws_reliable_rx {
	/*
	 * slot[(head + i) % WS_RELIABLE_RX_SLOTS] holds Seq pop_seq + i or NULL.
	 * pop_seq .. expected-1 are delivered and not yet popped ("ready"),
	 * the frames after expected are buffered out of order.
	 */
	struct ws_reliable_slot *slot[WS_RELIABLE_RX_SLOTS];
	struct ws_reliable_slot *popped; /* last popped, freed by the next pop */
	uint32_t expected;  /* AckSeq: next Seq to deliver */
	uint32_t pop_seq;   /* next Seq ws_reliable_rx_pop() hands out */
	uint32_t head;
	uint32_t held;      /* occupied slots: ready + buffered */
	uint32_t window;    /* configured receive window */
	uint64_t ack_ns;    /* standalone ACK deadline; UINT64_MAX when none owed */
};

/* window: advertised receive window (0 = WS_RELIABLE_WINDOW). No heap yet. */
void ws_reliable_rx_init(struct ws_reliable_rx *rx, uint32_t window);

/*
 * A reliable frame (seq != 0) arrived. Seq == expected: kept and delivered
 * with any buffered successors (WS_RELIABLE_DELIVER). expected+1 ..
 * expected+64: kept (WS_RELIABLE_BUFFERED). Anything else: WS_RELIABLE_DROPPED.
 * A frame is also dropped when its slot is still taken by a frame that was
 * delivered but not popped, so a consumer that lags shrinks the acceptance
 * range instead of growing memory. Every classification owes an ACK (due 20
 * ms after the first unacknowledged frame). Errors, nothing changed and no
 * ACK owed: -EINVAL (seq 0, or events NULL with len > 0), -EMSGSIZE (len >
 * WS_RELIABLE_MAX_PAYLOAD), -ENOMEM. The bytes are copied.
 */
int ws_reliable_rx_on_frame(struct ws_reliable_rx *rx, uint32_t seq, const uint8_t *events,
			    size_t len, uint64_t now_ns);

/*
 * The next delivered frame in Seq order, if any. *events stays valid until
 * the next pop/reset/destroy; a pop that returns false frees the last one,
 * so popping until false leaves no heap behind.
 */
bool ws_reliable_rx_pop(struct ws_reliable_rx *rx, const uint8_t **events, size_t *len);

/*
 * ACK fields for any outgoing frame of this channel: AckSeq = expected
 * (never 0), bit i of the bitmap = expected + i + 1 is buffered, WindowSize
 * = window - frames held (buffered or not yet popped), at least 1.
 */
void ws_reliable_rx_ack_fields(const struct ws_reliable_rx *rx, uint32_t *ack_seq,
			       uint64_t *bitmap, uint32_t *window);

/* Standalone ACK deadline: UINT64_MAX when no ACK is owed. */
uint64_t ws_reliable_rx_ack_deadline(const struct ws_reliable_rx *rx);
bool ws_reliable_rx_ack_due(const struct ws_reliable_rx *rx, uint64_t now_ns);
/* ACK fields went out (piggybacked or standalone): nothing owed any more. */
void ws_reliable_rx_ack_sent(struct ws_reliable_rx *rx);

/* Spec 11.7: expected Seq 1, every held frame freed, no ACK owed. */
void ws_reliable_rx_reset(struct ws_reliable_rx *rx);
/* The same expecting first_seq (0 means 1); tests cross the wrap with it. */
void ws_reliable_rx_reset_at(struct ws_reliable_rx *rx, uint32_t first_seq);
void ws_reliable_rx_destroy(struct ws_reliable_rx *rx);

#endif
