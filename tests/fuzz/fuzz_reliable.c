/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the reliable-delivery state machines: the input is a script of
 * operations (queue, send, arbitrary and looped-back ACKs, frames with
 * arbitrary Seq, time jumps, pops, resets) against one sender and one
 * receiver. After every step the structural invariants are checked, and the
 * receiver must hand out frames strictly in Seq order, each exactly once,
 * with the bytes that were sent for that Seq.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/reliable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

struct script {
	const uint8_t *p;
	size_t n;
};

static uint8_t get8(struct script *s)
{
	if (!s->n)
		return 0;
	s->n--;
	return *s->p++;
}

static uint32_t get32(struct script *s)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | get8(s);
	return v;
}

static uint64_t get64(struct script *s)
{
	return (uint64_t)get32(s) << 32 | get32(s);
}

struct state {
	struct ws_reliable_tx tx;
	struct ws_reliable_rx rx;
	uint64_t now;
	uint32_t pop_expect; /* next Seq the receiver may hand out */
};

/* The bytes every frame with this Seq carries, on both sides. */
static size_t payload(uint8_t *buf, uint32_t seq)
{
	size_t len = 4 + seq % 29;

	ws_put_le32(buf, seq);
	for (size_t k = 4; k < len; k++)
		buf[k] = (uint8_t)(seq * 13 + k);
	return len;
}

static bool payload_ok(const uint8_t *ev, size_t len, uint32_t seq)
{
	uint8_t want[64];

	return len == payload(want, seq) && memcmp(ev, want, len) == 0;
}

static void check_tx(const struct ws_reliable_tx *tx)
{
	uint32_t live = 0;

	CHECK(tx->live <= tx->span && tx->span <= WS_RELIABLE_TX_MAX_PENDING);
	CHECK(tx->sent <= tx->span && tx->base_seq != 0);
	for (uint32_t i = 0; i < WS_RELIABLE_TX_MAX_PENDING; i++) {
		const void *e = tx->ring[(tx->head + i) % WS_RELIABLE_TX_MAX_PENDING];

		if (i >= tx->span)
			CHECK(!e);
		else if (i == 0 || i >= tx->sent)
			CHECK(e); /* the oldest and every unsent frame are live */
		live += e != NULL;
	}
	CHECK(live == tx->live && live == ws_reliable_tx_pending(tx));
	CHECK(tx->peer_window >= 1 && tx->retries <= WS_RELIABLE_MAX_RETRIES);
	CHECK(tx->rto_ns >= WS_RELIABLE_BASE_RTO_NS && tx->rto_ns <= WS_RELIABLE_MAX_RTO_NS);
	if (tx->failed)
		CHECK(ws_reliable_tx_deadline(tx) == UINT64_MAX);
	else
		CHECK((tx->sent > 0) == (tx->timer_ns != UINT64_MAX));
}

static void check_rx(const struct ws_reliable_rx *rx)
{
	uint32_t ready = ws_reliable_seq_dist(rx->pop_seq, rx->expected), held = 0, ack, win;
	uint64_t bm;

	CHECK(rx->expected != 0 && rx->pop_seq != 0);
	CHECK(ready <= WS_RELIABLE_RX_SLOTS && rx->held <= WS_RELIABLE_RX_SLOTS);
	for (uint32_t i = 0; i < WS_RELIABLE_RX_SLOTS; i++) {
		const void *e = rx->slot[(rx->head + i) % WS_RELIABLE_RX_SLOTS];

		if (i < ready)
			CHECK(e);
		else if (i == ready)
			CHECK(!e);
		held += e != NULL;
	}
	CHECK(held == rx->held && held - ready <= WS_RELIABLE_OOO_WINDOW);
	ws_reliable_rx_ack_fields(rx, &ack, &bm, &win);
	CHECK(ack == rx->expected && win >= 1);
	CHECK((uint32_t)__builtin_popcountll(bm) == held - ready);
}

static void op_queue(struct state *st, struct script *s)
{
	uint8_t buf[WS_RELIABLE_MAX_PAYLOAD + 1];
	uint32_t want = ws_reliable_seq_add(st->tx.base_seq, st->tx.span), seq = 0;
	bool room = st->tx.live < st->tx.peer_window && st->tx.span < WS_RELIABLE_TX_MAX_PENDING;
	int r;

	if (get8(s) == 0xff) {
		memset(buf, 0, sizeof(buf));
		r = ws_reliable_tx_queue(&st->tx, buf, sizeof(buf), st->now, &seq);
		CHECK(r == (st->tx.failed ? -EPIPE : -EMSGSIZE));
		return;
	}
	r = ws_reliable_tx_queue(&st->tx, buf, payload(buf, want), st->now, &seq);
	if (st->tx.failed)
		CHECK(r == -EPIPE);
	else if (!room)
		CHECK(r == -EAGAIN);
	else
		CHECK(r == 0 && seq == want);
}

static void rx_frame(struct state *st, uint32_t seq)
{
	uint8_t buf[64];
	uint32_t expected = st->rx.expected;
	uint32_t ahead = ws_reliable_seq_dist(expected, seq);
	int r;

	if (seq == 0) {
		CHECK(ws_reliable_rx_on_frame(&st->rx, 0, buf, 4, st->now) == -EINVAL);
		return;
	}
	r = ws_reliable_rx_on_frame(&st->rx, seq, buf, payload(buf, seq), st->now);
	CHECK(r == WS_RELIABLE_DELIVER || r == WS_RELIABLE_BUFFERED || r == WS_RELIABLE_DROPPED);
	CHECK((r == WS_RELIABLE_DELIVER) == (ahead == 0 && st->rx.expected != expected));
	if (ahead > WS_RELIABLE_OOO_WINDOW)
		CHECK(r == WS_RELIABLE_DROPPED);
	CHECK(ws_reliable_rx_ack_deadline(&st->rx) != UINT64_MAX);
}

/* Send what is due; each frame reaches the receiver unless the script drops it. */
static void op_send(struct state *st, struct script *s, unsigned max)
{
	struct ws_reliable_out out;

	for (unsigned i = 0; i < max && ws_reliable_tx_next(&st->tx, st->now, &out); i++) {
		uint32_t off = ws_reliable_seq_dist(st->tx.base_seq, out.seq);

		CHECK(off < st->tx.sent && payload_ok(out.events, out.len, out.seq));
		if (out.retransmits)
			CHECK(off == 0);
		if (get8(s) & 1)
			rx_frame(st, out.seq);
	}
}

static uint32_t pick_seq(struct script *s, uint32_t base)
{
	switch (get8(s) & 3) {
	case 0:
		return get32(s);
	case 1:
		return ws_reliable_seq_add(base, get8(s) % 70);
	case 2:
		return ws_reliable_seq_add(base, (uint32_t)(WS_RELIABLE_SEQ_CYCLE - 1 - get8(s) % 70));
	default:
		return 0;
	}
}

static void op_ack(struct state *st, struct script *s)
{
	uint32_t ack = pick_seq(s, st->tx.base_seq), old_live = st->tx.live;
	uint64_t bm = get64(s);
	uint8_t w = get8(s);
	uint32_t win = w & 0x80 ? get32(s) : w & 3;
	uint32_t old_window = st->tx.peer_window;

	ws_reliable_tx_on_ack(&st->tx, ack, bm, win, st->now);
	CHECK(st->tx.live <= old_live);
	if (ack == 0)
		CHECK(st->tx.live == old_live && st->tx.peer_window == old_window);
	else
		CHECK(st->tx.peer_window == (win ? win : old_window));
	if (st->tx.live < old_live)
		CHECK(st->tx.retries == 0 && st->tx.rto_ns == WS_RELIABLE_BASE_RTO_NS);
}

static void op_loop_ack(struct state *st)
{
	uint32_t ack, win;
	uint64_t bm;

	ws_reliable_rx_ack_fields(&st->rx, &ack, &bm, &win);
	ws_reliable_rx_ack_sent(&st->rx);
	CHECK(ws_reliable_rx_ack_deadline(&st->rx) == UINT64_MAX);
	ws_reliable_tx_on_ack(&st->tx, ack, bm, win, st->now);
}

static void op_pop(struct state *st, bool all)
{
	const uint8_t *ev;
	size_t len;

	while (ws_reliable_rx_pop(&st->rx, &ev, &len)) {
		CHECK(len >= 4 && ws_le32(ev) == st->pop_expect);
		CHECK(payload_ok(ev, len, st->pop_expect));
		st->pop_expect = ws_reliable_seq_add(st->pop_expect, 1);
		if (!all)
			return;
	}
	CHECK(st->rx.popped == NULL && st->pop_expect == st->rx.expected);
}

static void op_time(struct state *st, struct script *s)
{
	uint8_t m = get8(s);
	uint64_t d = m & 0x80 ? get64(s) : (uint64_t)(m & 0x7f) * 5 * WS_NSEC_PER_MSEC;

	st->now = d > UINT64_MAX - st->now ? UINT64_MAX : st->now + d;
	CHECK(ws_reliable_rx_ack_due(&st->rx, st->now) ==
	      (st->now >= ws_reliable_rx_ack_deadline(&st->rx) &&
	       ws_reliable_rx_ack_deadline(&st->rx) != UINT64_MAX));
}

static void op_deadline(struct state *st, struct script *s)
{
	uint64_t t = ws_reliable_tx_deadline(&st->tx);

	if (t != UINT64_MAX && t > st->now)
		st->now = t;
	op_send(st, s, 2);
}

static void op_reset(struct state *st, struct script *s, unsigned which)
{
	uint32_t at = which & 4 ? (uint32_t)(WS_RELIABLE_SEQ_CYCLE - get8(s)) : 1;

	if (which & 1)
		ws_reliable_tx_reset_at(&st->tx, at);
	if (which & 2) {
		ws_reliable_rx_reset_at(&st->rx, at);
		st->pop_expect = at;
	}
	if (which & 1)
		CHECK(ws_reliable_tx_pending(&st->tx) == 0 && !ws_reliable_tx_failed(&st->tx) &&
		      st->tx.base_seq == at && st->tx.peer_window == st->tx.init_window);
	if (which & 2)
		CHECK(st->rx.held == 0 && st->rx.expected == at &&
		      ws_reliable_rx_ack_deadline(&st->rx) == UINT64_MAX);
}

static void step(struct state *st, struct script *s)
{
	uint8_t op = get8(s);

	switch (op % 14) {
	case 0: op_queue(st, s); break;
	case 1: op_send(st, s, 1); break;
	case 2: op_send(st, s, 70); break;
	case 3: op_ack(st, s); break;
	case 4: rx_frame(st, pick_seq(s, st->rx.expected)); break;
	case 5: op_time(st, s); break;
	case 6: op_deadline(st, s); break;
	case 7: op_pop(st, true); break;
	case 8: op_pop(st, false); break;
	case 9: op_loop_ack(st); break;
	case 10: op_reset(st, s, 1); break;
	case 11: op_reset(st, s, 2); break;
	case 12: op_reset(st, s, 7); break;
	default: /* window from the script for the next run of operations */
		ws_reliable_tx_on_ack(&st->tx, st->tx.base_seq, 0, get8(s) % 8, st->now);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data, size };
	struct state st = { .pop_expect = 1 };
	uint8_t w = get8(&s);

	ws_reliable_tx_init(&st.tx, w & 0xf);
	ws_reliable_rx_init(&st.rx, w >> 4);
	while (s.n) {
		step(&st, &s);
		check_tx(&st.tx);
		check_rx(&st.rx);
	}
	ws_reliable_tx_destroy(&st.tx);
	ws_reliable_rx_destroy(&st.rx);
	return 0;
}
