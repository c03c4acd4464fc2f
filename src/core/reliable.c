/* SPDX-License-Identifier: MIT */
/*
 * Reliable delivery (spec 11, DECISIONS 25, 33): sender and receiver state
 * machines. No clock, no I/O: time comes in as now_ns, frames go out through
 * ws_reliable_tx_next() and ACK fields through ws_reliable_rx_ack_fields().
 * Bounds: see reliable.h (at most 64 pending frames per sender, 65 held
 * frames per receiver, each at most WS_RELIABLE_MAX_PAYLOAD bytes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/reliable.h"

struct ws_reliable_pending {
	uint64_t queued_ns;
	uint64_t first_sent_ns;
	uint64_t last_sent_ns;
	uint32_t seq;
	uint32_t retransmits;
	size_t len;
	uint8_t data[];
};

struct ws_reliable_slot {
	size_t len;
	uint8_t data[];
};

enum { TX_CAP = WS_RELIABLE_TX_MAX_PENDING, RX_SLOTS = WS_RELIABLE_RX_SLOTS };

/* a + b, saturating below UINT64_MAX, which means "disarmed" for every timer here. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a >= UINT64_MAX - 1 - b ? UINT64_MAX - 1 : a + b;
}

/* ---------------------------------------------------------------- sender */

static struct ws_reliable_pending **tx_at(struct ws_reliable_tx *tx, uint32_t i)
{
	return &tx->ring[(tx->head + i) % TX_CAP];
}

void ws_reliable_tx_init(struct ws_reliable_tx *tx, uint32_t window)
{
	memset(tx, 0, sizeof(*tx));
	tx->init_window = window ? window : WS_RELIABLE_WINDOW;
	ws_reliable_tx_reset(tx);
}

void ws_reliable_tx_reset_at(struct ws_reliable_tx *tx, uint32_t first_seq)
{
	for (uint32_t i = 0; i < tx->span; i++) {
		free(*tx_at(tx, i));
		*tx_at(tx, i) = NULL;
	}
	tx->base_seq = first_seq ? first_seq : 1;
	tx->head = 0;
	tx->span = 0;
	tx->sent = 0;
	tx->live = 0;
	tx->peer_window = tx->init_window;
	tx->retries = 0;
	tx->rto_ns = WS_RELIABLE_BASE_RTO_NS;
	tx->timer_ns = UINT64_MAX;
	tx->failed = false;
}

void ws_reliable_tx_reset(struct ws_reliable_tx *tx)
{
	ws_reliable_tx_reset_at(tx, 1);
}

void ws_reliable_tx_destroy(struct ws_reliable_tx *tx)
{
	ws_reliable_tx_reset(tx);
}

int ws_reliable_tx_queue(struct ws_reliable_tx *tx, const uint8_t *events, size_t len,
			 uint64_t now_ns, uint32_t *seq_out)
{
	struct ws_reliable_pending *p;

	if (tx->failed)
		return -EPIPE;
	if (len > WS_RELIABLE_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!events && len)
		return -EINVAL;
	if (tx->live >= tx->peer_window || tx->span >= TX_CAP)
		return -EAGAIN;
	p = malloc(sizeof(*p) + len);
	if (!p)
		return -ENOMEM;
	p->queued_ns = now_ns;
	p->first_sent_ns = 0;
	p->last_sent_ns = 0;
	p->seq = ws_reliable_seq_add(tx->base_seq, tx->span);
	p->retransmits = 0;
	p->len = len;
	if (len)
		memcpy(p->data, events, len);
	*tx_at(tx, tx->span) = p;
	tx->span++;
	tx->live++;
	if (seq_out)
		*seq_out = p->seq;
	return 0;
}

static void tx_fill(struct ws_reliable_out *out, const struct ws_reliable_pending *p)
{
	out->seq = p->seq;
	out->events = p->data;
	out->len = p->len;
	out->retransmits = p->retransmits;
	out->queued_ns = p->queued_ns;
	out->first_sent_ns = p->first_sent_ns;
}

/* Timer expired: resend the oldest pending frame, or fail after 10 tries. */
static bool tx_retransmit(struct ws_reliable_tx *tx, uint64_t now_ns, struct ws_reliable_out *out)
{
	struct ws_reliable_pending *p = *tx_at(tx, 0); /* sent and live: timer armed */

	if (tx->retries >= WS_RELIABLE_MAX_RETRIES) {
		tx->failed = true;
		tx->timer_ns = UINT64_MAX;
		return false;
	}
	p->retransmits++;
	p->last_sent_ns = now_ns;
	tx->retries++;
	tx->rto_ns = tx->rto_ns > WS_RELIABLE_MAX_RTO_NS / 2 ? WS_RELIABLE_MAX_RTO_NS
							     : tx->rto_ns * 2;
	tx->timer_ns = add_sat(now_ns, tx->rto_ns);
	tx_fill(out, p);
	return true;
}

bool ws_reliable_tx_next(struct ws_reliable_tx *tx, uint64_t now_ns, struct ws_reliable_out *out)
{
	struct ws_reliable_pending *p;

	if (tx->failed)
		return false;
	if (tx->timer_ns != UINT64_MAX && now_ns >= tx->timer_ns)
		return tx_retransmit(tx, now_ns, out);
	if (tx->sent == tx->span)
		return false;
	p = *tx_at(tx, tx->sent);
	p->first_sent_ns = now_ns;
	p->last_sent_ns = now_ns;
	tx->sent++;
	/* One timer per channel, started by a send when it is not running. */
	if (tx->timer_ns == UINT64_MAX)
		tx->timer_ns = add_sat(now_ns, tx->rto_ns);
	tx_fill(out, p);
	return true;
}

/* Free the i-th entry from head if it was sent and is still pending. */
static unsigned tx_free(struct ws_reliable_tx *tx, uint32_t i)
{
	struct ws_reliable_pending **p = tx_at(tx, i);

	if (i >= tx->sent || !*p)
		return 0;
	free(*p);
	*p = NULL;
	tx->live--;
	return 1;
}

/* Drop freed entries from the head so ring[head] is live again. */
static void tx_trim(struct ws_reliable_tx *tx)
{
	while (tx->span && !*tx_at(tx, 0)) {
		tx->head = (tx->head + 1) % TX_CAP;
		tx->base_seq = ws_reliable_seq_add(tx->base_seq, 1);
		tx->span--;
		tx->sent--;
	}
}

void ws_reliable_tx_on_ack(struct ws_reliable_tx *tx, uint32_t ack_seq, uint64_t ack_bitmap,
			   uint32_t window, uint64_t now_ns)
{
	unsigned freed = 0;
	uint32_t cum;

	if (ack_seq == 0)
		return;
	if (window)
		tx->peer_window = window;
	/* Cumulative: every Seq before ack_seq, if ack_seq is within the sent range. */
	cum = ws_reliable_seq_dist(tx->base_seq, ack_seq);
	if (cum <= tx->sent)
		for (uint32_t i = 0; i < cum; i++)
			freed += tx_free(tx, i);
	/* Selective: positions relative to the same base, before trimming. */
	while (ack_bitmap) {
		uint32_t bit = (uint32_t)__builtin_ctzll(ack_bitmap);
		uint32_t seq = ws_reliable_seq_add(ack_seq, bit + 1);

		ack_bitmap &= ack_bitmap - 1;
		freed += tx_free(tx, ws_reliable_seq_dist(tx->base_seq, seq));
	}
	if (!freed)
		return;
	tx_trim(tx);
	tx->rto_ns = WS_RELIABLE_BASE_RTO_NS;
	tx->retries = 0;
	tx->timer_ns = tx->sent && !tx->failed ? add_sat(now_ns, tx->rto_ns) : UINT64_MAX;
}

uint64_t ws_reliable_tx_deadline(const struct ws_reliable_tx *tx)
{
	if (tx->failed)
		return UINT64_MAX;
	if (tx->sent < tx->span)
		return 0;
	return tx->timer_ns;
}

bool ws_reliable_tx_failed(const struct ws_reliable_tx *tx)
{
	return tx->failed;
}

uint32_t ws_reliable_tx_pending(const struct ws_reliable_tx *tx)
{
	return tx->live;
}

/* -------------------------------------------------------------- receiver */

static struct ws_reliable_slot **rx_at(struct ws_reliable_rx *rx, uint32_t i)
{
	return &rx->slot[(rx->head + i) % RX_SLOTS];
}

static const struct ws_reliable_slot *rx_get(const struct ws_reliable_rx *rx, uint32_t seq)
{
	uint32_t i = ws_reliable_seq_dist(rx->pop_seq, seq);

	return i < RX_SLOTS ? rx->slot[(rx->head + i) % RX_SLOTS] : NULL;
}

void ws_reliable_rx_init(struct ws_reliable_rx *rx, uint32_t window)
{
	memset(rx, 0, sizeof(*rx));
	rx->window = window ? window : WS_RELIABLE_WINDOW;
	ws_reliable_rx_reset(rx);
}

void ws_reliable_rx_reset_at(struct ws_reliable_rx *rx, uint32_t first_seq)
{
	for (uint32_t i = 0; i < RX_SLOTS; i++) {
		free(rx->slot[i]);
		rx->slot[i] = NULL;
	}
	free(rx->popped);
	rx->popped = NULL;
	rx->expected = first_seq ? first_seq : 1;
	rx->pop_seq = rx->expected;
	rx->head = 0;
	rx->held = 0;
	rx->ack_ns = UINT64_MAX;
}

void ws_reliable_rx_reset(struct ws_reliable_rx *rx)
{
	ws_reliable_rx_reset_at(rx, 1);
}

void ws_reliable_rx_destroy(struct ws_reliable_rx *rx)
{
	ws_reliable_rx_reset(rx);
}

/* Move expected past every frame held contiguously from it. */
static void rx_advance(struct ws_reliable_rx *rx)
{
	while (rx_get(rx, rx->expected))
		rx->expected = ws_reliable_seq_add(rx->expected, 1);
}

int ws_reliable_rx_on_frame(struct ws_reliable_rx *rx, uint32_t seq, const uint8_t *events,
			    size_t len, uint64_t now_ns)
{
	struct ws_reliable_slot **s;
	uint32_t ahead, i;

	if (seq == 0 || (!events && len))
		return -EINVAL;
	if (len > WS_RELIABLE_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (rx->ack_ns == UINT64_MAX)
		rx->ack_ns = add_sat(now_ns, WS_RELIABLE_ACK_DELAY_NS);
	ahead = ws_reliable_seq_dist(rx->expected, seq);
	i = ws_reliable_seq_dist(rx->pop_seq, seq);
	if (ahead > WS_RELIABLE_OOO_WINDOW || i >= RX_SLOTS)
		return WS_RELIABLE_DROPPED;
	s = rx_at(rx, i);
	if (*s)
		return WS_RELIABLE_DROPPED;
	*s = malloc(sizeof(**s) + len);
	if (!*s)
		return -ENOMEM;
	(*s)->len = len;
	if (len)
		memcpy((*s)->data, events, len);
	rx->held++;
	if (ahead)
		return WS_RELIABLE_BUFFERED;
	rx_advance(rx);
	return WS_RELIABLE_DELIVER;
}

bool ws_reliable_rx_pop(struct ws_reliable_rx *rx, const uint8_t **events, size_t *len)
{
	struct ws_reliable_slot **s = rx_at(rx, 0);

	free(rx->popped);
	rx->popped = NULL;
	if (rx->pop_seq == rx->expected)
		return false;
	rx->popped = *s;
	*s = NULL;
	rx->head = (rx->head + 1) % RX_SLOTS;
	rx->pop_seq = ws_reliable_seq_add(rx->pop_seq, 1);
	rx->held--;
	*events = rx->popped->data;
	*len = rx->popped->len;
	return true;
}

void ws_reliable_rx_ack_fields(const struct ws_reliable_rx *rx, uint32_t *ack_seq,
			       uint64_t *bitmap, uint32_t *window)
{
	uint32_t ready = ws_reliable_seq_dist(rx->pop_seq, rx->expected);
	uint64_t bits = 0;

	/* Slot ready holds expected (empty); ready + 1 + i holds expected + 1 + i. */
	for (uint32_t i = ready + 1; i < RX_SLOTS; i++)
		if (rx->slot[(rx->head + i) % RX_SLOTS])
			bits |= 1ULL << (i - ready - 1);
	*ack_seq = rx->expected;
	*bitmap = bits;
	*window = rx->held < rx->window ? rx->window - rx->held : 1;
}

uint64_t ws_reliable_rx_ack_deadline(const struct ws_reliable_rx *rx)
{
	return rx->ack_ns;
}

bool ws_reliable_rx_ack_due(const struct ws_reliable_rx *rx, uint64_t now_ns)
{
	return rx->ack_ns != UINT64_MAX && now_ns >= rx->ack_ns;
}

void ws_reliable_rx_ack_sent(struct ws_reliable_rx *rx)
{
	rx->ack_ns = UINT64_MAX;
}
