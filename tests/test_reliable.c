/* SPDX-License-Identifier: MIT */
/*
 * Reliable delivery (spec 11, DECISIONS 25): receiver classification, SACK
 * bits, window field, ACK timing, sender window, RTO backoff and failure,
 * Seq wrap, reset, and a simulated lossy, reordering, duplicating link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/reliable.h"
#include "test.h"

#define MS WS_NSEC_PER_MSEC
#define SEC WS_NSEC_PER_SEC

/* A payload that names its Seq, so a pop can be checked. */
static size_t mk(uint8_t buf[8], uint32_t seq)
{
	ws_put_le32(buf, seq);
	ws_put_le32(buf + 4, ~seq);
	return 8;
}

static int rx_frame(struct ws_reliable_rx *rx, uint32_t seq, uint64_t now)
{
	uint8_t b[8];

	return ws_reliable_rx_on_frame(rx, seq, b, mk(b, seq), now);
}

/* Pop one frame and return the Seq it names (0 when nothing was popped). */
static uint32_t rx_pop_seq(struct ws_reliable_rx *rx)
{
	const uint8_t *ev;
	size_t len;

	if (!ws_reliable_rx_pop(rx, &ev, &len))
		return 0;
	CU_ASSERT_EQUAL_FATAL(len, 8);
	CU_ASSERT_EQUAL(ws_le32(ev + 4), ~ws_le32(ev));
	return ws_le32(ev);
}

static void ack_fields(const struct ws_reliable_rx *rx, uint32_t *seq, uint64_t *bm, uint32_t *w)
{
	ws_reliable_rx_ack_fields(rx, seq, bm, w);
}

static void test_seq_arith(void)
{
	CU_ASSERT_EQUAL(ws_reliable_seq_add(1, 1), 2);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(UINT32_MAX, 1), 1);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(UINT32_MAX - 1, 2), 1);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(UINT32_MAX - 1, 3), 2);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(UINT32_MAX - 1, 64), 63);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(5, UINT32_MAX - 1), 4); /* a whole cycle less one */
	CU_ASSERT_EQUAL(ws_reliable_seq_dist(7, 7), 0);
	CU_ASSERT_EQUAL(ws_reliable_seq_dist(UINT32_MAX, 1), 1);
	CU_ASSERT_EQUAL(ws_reliable_seq_dist(UINT32_MAX - 2, 2), 4);
	CU_ASSERT_EQUAL(ws_reliable_seq_dist(2, 1), UINT32_MAX - 1); /* behind = far ahead */
}

static void test_rx_in_order(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 0);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(bm, 0);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW);
	for (uint32_t s = 1; s <= 5; s++) {
		CU_ASSERT_EQUAL(rx_frame(&rx, s, 0), WS_RELIABLE_DELIVER);
		CU_ASSERT_EQUAL(rx_pop_seq(&rx), s);
		CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	}
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 6);
	CU_ASSERT_EQUAL(bm, 0);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW);
	/* An empty payload is a valid reliable frame. */
	CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 6, NULL, 0, 0), WS_RELIABLE_DELIVER);
	{
		const uint8_t *ev;
		size_t len = 99;

		CU_ASSERT_TRUE(ws_reliable_rx_pop(&rx, &ev, &len));
		CU_ASSERT_EQUAL(len, 0);
		CU_ASSERT_FALSE(ws_reliable_rx_pop(&rx, &ev, &len));
	}
	CU_ASSERT_EQUAL(rx.held, 0);
	CU_ASSERT_PTR_NULL(rx.popped);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_out_of_order(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 3, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 5, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 4, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(bm, 0xeULL); /* 3, 4, 5 = bits 1, 2, 3 */
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 3);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 2);
	CU_ASSERT_EQUAL(bm, 0x7ULL);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 4); /* 1 not yet popped */
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 0), WS_RELIABLE_DELIVER);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 6);
	CU_ASSERT_EQUAL(bm, 0);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 4); /* 2..5 delivered, not popped */
	/* A frame arriving before the ready ones are popped queues behind them. */
	CU_ASSERT_EQUAL(rx_frame(&rx, 6, 0), WS_RELIABLE_DELIVER);
	for (uint32_t s = 2; s <= 6; s++)
		CU_ASSERT_EQUAL(rx_pop_seq(&rx), s);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 7);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_duplicates(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DROPPED); /* before the pop */
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DROPPED); /* after it */
	CU_ASSERT_EQUAL(rx_frame(&rx, 3, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 3, 0), WS_RELIABLE_DROPPED);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	/* A duplicate alone still owes an ACK. */
	ws_reliable_rx_ack_sent(&rx);
	CU_ASSERT_FALSE(ws_reliable_rx_ack_due(&rx, 10 * SEC));
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 1 * SEC), WS_RELIABLE_DROPPED);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), 1 * SEC + 20 * MS);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 2);
	CU_ASSERT_EQUAL(bm, 0x1ULL);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 1);
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 2);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 3);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_too_far(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 66, 0), WS_RELIABLE_DROPPED);         /* expected + 65 */
	CU_ASSERT_EQUAL(rx_frame(&rx, 65, 0), WS_RELIABLE_BUFFERED);        /* expected + 64 */
	CU_ASSERT_EQUAL(rx_frame(&rx, UINT32_MAX, 0), WS_RELIABLE_DROPPED); /* just behind 1 */
	CU_ASSERT_EQUAL(rx_frame(&rx, 0x80000000u, 0), WS_RELIABLE_DROPPED);
	CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 0, NULL, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 2, NULL, 5, 0), -EINVAL);
	{
		static uint8_t big[WS_RELIABLE_MAX_PAYLOAD + 1];

		CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 2, big, sizeof(big), 0), -EMSGSIZE);
		CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 2, big, sizeof(big) - 1, 0),
				WS_RELIABLE_BUFFERED);
	}
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(bm, (1ULL << 63) | 1ULL);
	CU_ASSERT_EQUAL(rx.held, 2);
	ws_reliable_rx_destroy(&rx);
}

/* A consumer that does not pop shrinks the range instead of growing memory. */
static void test_rx_lagging_consumer(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 0);
	for (uint32_t s = 1; s <= 10; s++)
		CU_ASSERT_EQUAL(rx_frame(&rx, s, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_frame(&rx, 65, 0), WS_RELIABLE_BUFFERED); /* pop_seq 1 + 64 */
	CU_ASSERT_EQUAL(rx_frame(&rx, 66, 0), WS_RELIABLE_DROPPED);  /* no slot */
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 11);
	CU_ASSERT_EQUAL(bm, 1ULL << 53);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 11);
	for (uint32_t s = 1; s <= 10; s++)
		CU_ASSERT_EQUAL(rx_pop_seq(&rx), s);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 66, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 75, 0), WS_RELIABLE_BUFFERED); /* expected + 64 */
	CU_ASSERT_EQUAL(rx.held, 3);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_sack_bits(void)
{
	static const uint32_t got[] = { 2, 3, 10, 33, 64, 65 };
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm, want = 0;

	ws_reliable_rx_init(&rx, 0);
	for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++) {
		CU_ASSERT_EQUAL(rx_frame(&rx, got[i], 0), WS_RELIABLE_BUFFERED);
		want |= 1ULL << (got[i] - 2);
	}
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(bm, want);
	CU_ASSERT_EQUAL(bm, 0xc000000080000103ULL);
	/* After 1 the bitmap is relative to the new expected (4). */
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 4);
	CU_ASSERT_EQUAL(bm, want >> 3);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW - 7);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_window_field(void)
{
	struct ws_reliable_rx rx;
	uint32_t a, w;
	uint64_t bm;

	ws_reliable_rx_init(&rx, 4);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(w, 4);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER); /* not popped */
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(w, 3);
	CU_ASSERT_EQUAL(rx_frame(&rx, 3, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 4, 0), WS_RELIABLE_BUFFERED);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(w, 1);
	CU_ASSERT_EQUAL(rx_frame(&rx, 5, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 9, 0), WS_RELIABLE_BUFFERED);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(w, 1); /* 5 held, window 4: never 0 */
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(w, 1);
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 0), WS_RELIABLE_DELIVER);
	for (uint32_t s = 2; s <= 5; s++)
		CU_ASSERT_EQUAL(rx_pop_seq(&rx), s);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 6);
	CU_ASSERT_EQUAL(bm, 1ULL << 2);
	CU_ASSERT_EQUAL(w, 3);
	ws_reliable_rx_destroy(&rx);
}

static void test_rx_ack_timing(void)
{
	struct ws_reliable_rx rx;

	ws_reliable_rx_init(&rx, 0);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), UINT64_MAX);
	CU_ASSERT_FALSE(ws_reliable_rx_ack_due(&rx, UINT64_MAX - 1));
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 100 * MS), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), 120 * MS);
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 110 * MS), WS_RELIABLE_DELIVER); /* keeps the first */
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), 120 * MS);
	CU_ASSERT_FALSE(ws_reliable_rx_ack_due(&rx, 120 * MS - 1));
	CU_ASSERT_TRUE(ws_reliable_rx_ack_due(&rx, 120 * MS));
	ws_reliable_rx_ack_sent(&rx); /* standalone or piggybacked */
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), UINT64_MAX);
	CU_ASSERT_FALSE(ws_reliable_rx_ack_due(&rx, 10 * SEC));
	CU_ASSERT_EQUAL(rx_frame(&rx, 4, 130 * MS), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), 150 * MS);
	/* Errors owe nothing. */
	ws_reliable_rx_ack_sent(&rx);
	CU_ASSERT_EQUAL(ws_reliable_rx_on_frame(&rx, 0, NULL, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), UINT64_MAX);
	/* Saturates instead of wrapping, and stays a real deadline. */
	CU_ASSERT_EQUAL(rx_frame(&rx, 3, UINT64_MAX - 5), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), UINT64_MAX - 1);
	CU_ASSERT_TRUE(ws_reliable_rx_ack_due(&rx, UINT64_MAX - 1));
	ws_reliable_rx_destroy(&rx);
}

/* ---------------------------------------------------------------- sender */

static int tx_q(struct ws_reliable_tx *tx, uint32_t *seq)
{
	uint8_t b[8];

	return ws_reliable_tx_queue(tx, b, mk(b, ws_reliable_seq_add(tx->base_seq, tx->span)), 0,
				    seq);
}

/* Send everything queued at now; returns how many went out. */
static unsigned tx_drain(struct ws_reliable_tx *tx, uint64_t now)
{
	struct ws_reliable_out out;
	unsigned n = 0;

	while (ws_reliable_tx_next(tx, now, &out)) {
		CU_ASSERT_EQUAL(out.retransmits, 0);
		CU_ASSERT_EQUAL(out.len, 8);
		CU_ASSERT_EQUAL(ws_le32(out.events), out.seq);
		n++;
	}
	return n;
}

static void test_tx_basic(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;
	static uint8_t big[WS_RELIABLE_MAX_PAYLOAD + 1];

	ws_reliable_tx_init(&tx, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), UINT64_MAX);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, 0, &out));
	CU_ASSERT_EQUAL(ws_reliable_tx_queue(&tx, big, sizeof(big), 0, &seq), -EMSGSIZE);
	CU_ASSERT_EQUAL(ws_reliable_tx_queue(&tx, NULL, 3, 0, &seq), -EINVAL);
	CU_ASSERT_EQUAL(ws_reliable_tx_queue(&tx, big, sizeof(big) - 1, 5, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 2);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 0); /* unsent frames: due now */
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, 7 * MS, &out));
	CU_ASSERT_EQUAL(out.seq, 1);
	CU_ASSERT_EQUAL(out.len, WS_RELIABLE_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(out.queued_ns, 5);
	CU_ASSERT_EQUAL(out.first_sent_ns, 7 * MS);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 0);
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, 8 * MS, &out));
	CU_ASSERT_EQUAL(out.seq, 2);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, 8 * MS, &out)); /* each new frame once */
	/* The timer started with the first send and is not restarted by later ones. */
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 207 * MS);
	ws_reliable_tx_on_ack(&tx, 3, 0, 0, 50 * MS);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), UINT64_MAX);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 3);
	ws_reliable_tx_destroy(&tx);
}

static void test_tx_window_blocking(void)
{
	struct ws_reliable_tx tx;
	uint32_t seq;

	/* Hard cap with the default window of 256. */
	ws_reliable_tx_init(&tx, 0);
	for (unsigned i = 0; i < WS_RELIABLE_TX_MAX_PENDING; i++)
		CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), WS_RELIABLE_TX_MAX_PENDING);
	/* SACKed holes do not shorten the span: the oldest still blocks. */
	ws_reliable_tx_on_ack(&tx, 1, ~0ULL, 0, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 1);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	ws_reliable_tx_on_ack(&tx, 2, 0, 0, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 65);
	ws_reliable_tx_destroy(&tx);

	/* Peer window 3 from an ACK that frees nothing. */
	ws_reliable_tx_init(&tx, 0);
	ws_reliable_tx_on_ack(&tx, 1, 0, 3, 0);
	CU_ASSERT_EQUAL(tx.peer_window, 3);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 3);
	ws_reliable_tx_on_ack(&tx, 2, 0, 0, 0); /* frees 1; window 0 = absent: keep 3 */
	CU_ASSERT_EQUAL(tx.peer_window, 3);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 4);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	ws_reliable_tx_on_ack(&tx, 2, 0x1, 0, 0); /* SACK of 3 frees one more */
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 2);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	/* A smaller window blocks even with fewer pending; a larger one resumes. */
	ws_reliable_tx_on_ack(&tx, 2, 0, 1, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	ws_reliable_tx_on_ack(&tx, 2, 0, 10, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 6);
	ws_reliable_tx_destroy(&tx);

	/* The configured initial window. */
	ws_reliable_tx_init(&tx, 2);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EAGAIN);
	ws_reliable_tx_destroy(&tx);
}

static void test_tx_ack_zero_ignored(void)
{
	struct ws_reliable_tx tx;
	uint32_t seq;

	ws_reliable_tx_init(&tx, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 2);
	ws_reliable_tx_on_ack(&tx, 0, ~0ULL, 1, 10 * MS);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 2);
	CU_ASSERT_EQUAL(tx.peer_window, WS_RELIABLE_WINDOW);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 200 * MS);
	ws_reliable_tx_destroy(&tx);
}

/* ACKs for frames never queued or never sent free nothing. */
static void test_tx_bogus_acks(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;

	ws_reliable_tx_init(&tx, 0);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_TRUE(ws_reliable_tx_next(&tx, 0, &out)); /* only 1 sent */
	ws_reliable_tx_on_ack(&tx, 4, 0, 0, 0);             /* beyond the sent range */
	ws_reliable_tx_on_ack(&tx, 1000, ~0ULL, 0, 0);
	ws_reliable_tx_on_ack(&tx, UINT32_MAX, ~0ULL, 0, 0); /* behind: bit 0 is Seq 1 */
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 3);     /* only 1 was sent */
	CU_ASSERT_EQUAL(tx.base_seq, 2);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 0);     /* 2..4 still to send */
	CU_ASSERT_EQUAL(tx_drain(&tx, 1 * MS), 3);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 201 * MS);
	ws_reliable_tx_destroy(&tx);
}

static void test_tx_sack_and_retransmit_oldest(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;
	uint64_t t;

	ws_reliable_tx_init(&tx, 0);
	for (unsigned i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 5);
	ws_reliable_tx_on_ack(&tx, 1, 0x5, 0, 10 * MS); /* SACK 2 and 4 */
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 3);
	t = ws_reliable_tx_deadline(&tx);
	CU_ASSERT_EQUAL(t, 210 * MS); /* progress restarted the timer */
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, t - 1, &out));
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, t, &out));
	CU_ASSERT_EQUAL(out.seq, 1);
	CU_ASSERT_EQUAL(out.retransmits, 1);
	CU_ASSERT_EQUAL(ws_le32(out.events), 1);
	CU_ASSERT_EQUAL(out.first_sent_ns, 0);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, t, &out)); /* only the oldest */
	ws_reliable_tx_on_ack(&tx, 2, 0, 0, t + 5 * MS);      /* frees 1; 2 was SACKed */
	CU_ASSERT_EQUAL(tx.base_seq, 3);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 2);
	t = ws_reliable_tx_deadline(&tx);
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, t, &out));
	CU_ASSERT_EQUAL(out.seq, 3);
	ws_reliable_tx_on_ack(&tx, 6, 0, 0, t);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), UINT64_MAX);
	ws_reliable_tx_destroy(&tx);
}

/* Expire the timer once; returns the new deadline's distance from now. */
static uint64_t expire(struct ws_reliable_tx *tx, uint32_t want_seq)
{
	struct ws_reliable_out out;
	uint64_t t = ws_reliable_tx_deadline(tx);

	CU_ASSERT_FALSE(ws_reliable_tx_next(tx, t - 1, &out));
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(tx, t, &out));
	CU_ASSERT_EQUAL(out.seq, want_seq);
	return ws_reliable_tx_deadline(tx) - t;
}

static void test_tx_rto_backoff_and_failure(void)
{
	static const uint64_t want_ms[] = { 400, 800, 1600, 3200, 6400, 12800, 25600,
					    30000, 30000, 30000 };
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;
	uint64_t t;

	ws_reliable_tx_init(&tx, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 1 * SEC), 1);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 1 * SEC + 200 * MS);
	for (unsigned i = 0; i < WS_RELIABLE_MAX_RETRIES; i++) {
		CU_ASSERT_EQUAL(expire(&tx, 1), want_ms[i] * MS);
		CU_ASSERT_EQUAL(tx.retries, i + 1);
		CU_ASSERT_FALSE(ws_reliable_tx_failed(&tx));
	}
	/* 11th expiry: 10 retries without progress, the channel failed. */
	t = ws_reliable_tx_deadline(&tx);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, t, &out));
	CU_ASSERT_TRUE(ws_reliable_tx_failed(&tx));
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), UINT64_MAX);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, UINT64_MAX, &out));
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), -EPIPE);
	/* DECISIONS 33: channel 0 resets instead of closing. */
	ws_reliable_tx_reset(&tx);
	CU_ASSERT_FALSE(ws_reliable_tx_failed(&tx));
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	ws_reliable_tx_destroy(&tx);
}

static void test_tx_progress_resets_rto(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;
	uint64_t t;

	ws_reliable_tx_init(&tx, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 2);
	for (unsigned i = 0; i < 9; i++)
		expire(&tx, 1);
	CU_ASSERT_EQUAL(tx.retries, 9);
	CU_ASSERT_EQUAL(tx.rto_ns, WS_RELIABLE_MAX_RTO_NS);
	t = ws_reliable_tx_deadline(&tx) - 1;
	/* An ACK that frees nothing changes nothing. */
	ws_reliable_tx_on_ack(&tx, 1, 0, 0, t);
	CU_ASSERT_EQUAL(tx.retries, 9);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), t + 1);
	/* Freeing 1: RTO back to 200 ms from now, retry count 0. */
	ws_reliable_tx_on_ack(&tx, 2, 0, 0, t);
	CU_ASSERT_EQUAL(tx.retries, 0);
	CU_ASSERT_EQUAL(tx.rto_ns, WS_RELIABLE_BASE_RTO_NS);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), t + 200 * MS);
	/* Ten more retries are allowed for 2 before failing. */
	CU_ASSERT_EQUAL(expire(&tx, 2), 400 * MS);
	for (unsigned i = 1; i < WS_RELIABLE_MAX_RETRIES; i++)
		expire(&tx, 2);
	CU_ASSERT_FALSE(ws_reliable_tx_failed(&tx));
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, ws_reliable_tx_deadline(&tx), &out));
	CU_ASSERT_TRUE(ws_reliable_tx_failed(&tx));
	ws_reliable_tx_destroy(&tx);
}

/* Retransmission goes first; new frames follow in the same pull loop. */
static void test_tx_retransmit_then_new(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_out out;
	uint32_t seq;

	ws_reliable_tx_init(&tx, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 1);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, 300 * MS, &out));
	CU_ASSERT_EQUAL(out.seq, 1);
	CU_ASSERT_EQUAL(out.retransmits, 1);
	CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, 300 * MS, &out));
	CU_ASSERT_EQUAL(out.seq, 2);
	CU_ASSERT_EQUAL(out.retransmits, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), 700 * MS);
	ws_reliable_tx_destroy(&tx);
}

static void test_seq_wrap(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_rx rx;
	struct ws_reliable_out out;
	uint32_t seq, a, w, got[4];
	uint64_t bm;
	const uint32_t first = UINT32_MAX - 1;

	ws_reliable_tx_init(&tx, 0);
	ws_reliable_rx_init(&rx, 0);
	ws_reliable_tx_reset_at(&tx, first);
	ws_reliable_rx_reset_at(&rx, first);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(tx_q(&tx, &got[i]), 0);
		CU_ASSERT_TRUE_FATAL(ws_reliable_tx_next(&tx, 0, &out));
		CU_ASSERT_EQUAL(out.seq, got[i]);
	}
	CU_ASSERT_EQUAL(got[0], UINT32_MAX - 1);
	CU_ASSERT_EQUAL(got[1], UINT32_MAX);
	CU_ASSERT_EQUAL(got[2], 1); /* never 0 */
	CU_ASSERT_EQUAL(got[3], 2);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_BUFFERED);
	CU_ASSERT_EQUAL(rx_frame(&rx, 0x7fffffff, 0), WS_RELIABLE_DROPPED);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, UINT32_MAX - 1);
	CU_ASSERT_EQUAL(bm, 0x2ULL); /* 1 is expected + 2 */
	ws_reliable_tx_on_ack(&tx, a, bm, w, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 3);
	CU_ASSERT_EQUAL(rx_frame(&rx, UINT32_MAX - 1, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_frame(&rx, UINT32_MAX, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), UINT32_MAX - 1);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), UINT32_MAX);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 2);
	CU_ASSERT_EQUAL(bm, 0);
	ws_reliable_tx_on_ack(&tx, a, bm, w, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 1);
	CU_ASSERT_EQUAL(tx.base_seq, 2);
	CU_ASSERT_EQUAL(rx_frame(&rx, UINT32_MAX, 0), WS_RELIABLE_DROPPED); /* old */
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 2);
	ack_fields(&rx, &a, &bm, &w);
	ws_reliable_tx_on_ack(&tx, a, bm, w, 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 3);
	/* A full-width receive window across the wrap. */
	ws_reliable_rx_reset_at(&rx, UINT32_MAX - 10);
	CU_ASSERT_EQUAL(ws_reliable_seq_add(UINT32_MAX - 10, 64), 54);
	CU_ASSERT_EQUAL(rx_frame(&rx, 54, 0), WS_RELIABLE_BUFFERED); /* expected + 64 */
	CU_ASSERT_EQUAL(rx_frame(&rx, 55, 0), WS_RELIABLE_DROPPED);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(bm, 1ULL << 63);
	ws_reliable_tx_destroy(&tx);
	ws_reliable_rx_destroy(&rx);
}

static void test_reset(void)
{
	struct ws_reliable_tx tx;
	struct ws_reliable_rx rx;
	struct ws_reliable_out out;
	uint32_t seq, a, w;
	uint64_t bm;

	ws_reliable_tx_init(&tx, 100);
	ws_reliable_tx_on_ack(&tx, 1, 0, 2, 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_drain(&tx, 0), 2);
	expire(&tx, 1);
	expire(&tx, 1);
	ws_reliable_tx_reset(&tx);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&tx), 0);
	CU_ASSERT_EQUAL(ws_reliable_tx_deadline(&tx), UINT64_MAX);
	CU_ASSERT_EQUAL(tx.peer_window, 100); /* the configured one */
	CU_ASSERT_EQUAL(tx.rto_ns, WS_RELIABLE_BASE_RTO_NS);
	CU_ASSERT_EQUAL(tx.retries, 0);
	CU_ASSERT_FALSE(ws_reliable_tx_next(&tx, UINT64_MAX, &out));
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0);
	CU_ASSERT_EQUAL(tx_q(&tx, &seq), 0); /* window 100 again, not 2 */
	ws_reliable_tx_destroy(&tx);

	ws_reliable_rx_init(&rx, 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_frame(&rx, 2, 0), WS_RELIABLE_DELIVER);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	CU_ASSERT_EQUAL(rx_frame(&rx, 5, 0), WS_RELIABLE_BUFFERED);
	ws_reliable_rx_reset(&rx);
	ack_fields(&rx, &a, &bm, &w);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(bm, 0);
	CU_ASSERT_EQUAL(w, WS_RELIABLE_WINDOW);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rx), UINT64_MAX);
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 0);
	CU_ASSERT_EQUAL(rx.held, 0);
	CU_ASSERT_EQUAL(rx_frame(&rx, 1, 0), WS_RELIABLE_DELIVER); /* Seq 1 is new again */
	CU_ASSERT_EQUAL(rx_pop_seq(&rx), 1);
	ws_reliable_rx_destroy(&rx);
}

/* ------------------------------------------------------- simulated link */

enum {
	SIM_MSGS = 2000,        /* per direction */
	SIM_MAX_PKTS = 16384,   /* in flight at once */
	SIM_MAX_ITERS = 2000000,
};
#define SIM_MAX_TIME (3600 * SEC)

struct sim_pkt {
	uint64_t at;
	int to;
	uint32_t seq, ack_seq, window;
	uint64_t bitmap;
	size_t len;
	uint8_t *data;
};

struct sim_end {
	struct ws_reliable_tx tx;
	struct ws_reliable_rx rx;
	uint32_t queued, received;
	uint64_t next_app, next_pop;
	unsigned standalone_acks, piggybacked, retransmits;
};

struct sim {
	struct sim_end end[2];
	struct sim_pkt *pkt;
	size_t npkt;
	uint64_t now, rng;
	unsigned loss_pct, dup_pct, lag_pct;
	unsigned sent, lost, dups;
	bool overflow;
};

static uint64_t sim_rand(struct sim *s, uint64_t n)
{
	return ws_test_rand(&s->rng) % n;
}

/* Message i: its index, then bytes derived from it; 4 .. 403 bytes. */
static size_t sim_msg(uint8_t *buf, uint32_t i, int dir)
{
	size_t len = 4 + (i * 2654435761u + (uint32_t)dir * 977u) % 400;

	ws_put_le32(buf, i);
	for (size_t k = 4; k < len; k++)
		buf[k] = (uint8_t)(i * 31 + k + (size_t)dir);
	return len;
}

static void sim_push(struct sim *s, const struct sim_pkt *p, const uint8_t *data)
{
	struct sim_pkt *q;

	if (s->npkt == SIM_MAX_PKTS) {
		s->overflow = true;
		return;
	}
	q = &s->pkt[s->npkt++];
	*q = *p;
	/* 1-60 ms: plenty of reordering against a 20 ms ACK delay. */
	q->at = s->now + 1 * MS + sim_rand(s, 60 * MS);
	q->data = NULL;
	if (p->len) {
		q->data = malloc(p->len);
		memcpy(q->data, data, p->len);
	}
}

static void sim_send(struct sim *s, int from, uint32_t seq, const uint8_t *data, size_t len)
{
	struct sim_end *e = &s->end[from];
	struct sim_pkt p = { .to = !from, .seq = seq, .len = len };

	ws_reliable_rx_ack_fields(&e->rx, &p.ack_seq, &p.bitmap, &p.window);
	ws_reliable_rx_ack_sent(&e->rx);
	s->sent++;
	if (sim_rand(s, 100) < s->loss_pct) {
		s->lost++;
		return;
	}
	sim_push(s, &p, data);
	if (sim_rand(s, 100) < s->dup_pct) {
		s->dups++;
		sim_push(s, &p, data);
	}
}

static void sim_pop_all(struct sim *s, int who)
{
	struct sim_end *e = &s->end[who];
	const uint8_t *ev;
	size_t len;
	uint8_t want[512];

	while (ws_reliable_rx_pop(&e->rx, &ev, &len)) {
		size_t wlen = sim_msg(want, e->received, !who);

		CU_ASSERT_FATAL(len == wlen && memcmp(ev, want, len) == 0);
		e->received++;
	}
	e->next_pop = UINT64_MAX;
}

static void sim_deliver(struct sim *s, struct sim_pkt *p)
{
	struct sim_end *e = &s->end[p->to];

	ws_reliable_tx_on_ack(&e->tx, p->ack_seq, p->bitmap, p->window, s->now);
	if (p->seq) {
		int r = ws_reliable_rx_on_frame(&e->rx, p->seq, p->data, p->len, s->now);

		CU_ASSERT(r == WS_RELIABLE_DELIVER || r == WS_RELIABLE_BUFFERED ||
			  r == WS_RELIABLE_DROPPED);
		/* A lagging consumer sometimes: pops later. */
		if (sim_rand(s, 100) < s->lag_pct) {
			if (e->next_pop == UINT64_MAX)
				e->next_pop = s->now + sim_rand(s, 100 * MS);
		} else {
			sim_pop_all(s, p->to);
		}
	}
	free(p->data);
}

static void sim_app(struct sim *s, int who)
{
	struct sim_end *e = &s->end[who];
	uint8_t buf[512];
	int r;

	if (s->now >= e->next_pop)
		sim_pop_all(s, who);
	if (e->queued == SIM_MSGS || s->now < e->next_app)
		return;
	r = ws_reliable_tx_queue(&e->tx, buf, sim_msg(buf, e->queued, who), s->now, NULL);
	CU_ASSERT(r == 0 || r == -EAGAIN);
	if (r == 0) {
		e->queued++;
		e->next_app = s->now + sim_rand(s, 40 * MS);
	} else {
		e->next_app = s->now + 10 * MS;
	}
}

static void sim_pump(struct sim *s, int who)
{
	struct sim_end *e = &s->end[who];
	struct ws_reliable_out out;

	while (ws_reliable_tx_next(&e->tx, s->now, &out)) {
		e->piggybacked++;
		e->retransmits += out.retransmits ? 1 : 0;
		sim_send(s, who, out.seq, out.events, out.len);
	}
	if (ws_reliable_rx_ack_due(&e->rx, s->now)) {
		e->standalone_acks++;
		sim_send(s, who, 0, NULL, 0);
	}
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t sim_next_time(const struct sim *s)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < 2; i++) {
		const struct sim_end *e = &s->end[i];

		t = min64(t, ws_reliable_tx_deadline(&e->tx));
		t = min64(t, ws_reliable_rx_ack_deadline(&e->rx));
		t = min64(t, e->next_pop);
		if (e->queued < SIM_MSGS)
			t = min64(t, e->next_app);
	}
	for (size_t i = 0; i < s->npkt; i++)
		t = min64(t, s->pkt[i].at);
	return t;
}

static bool sim_done(const struct sim *s)
{
	for (int i = 0; i < 2; i++)
		if (s->end[i].received < SIM_MSGS || ws_reliable_tx_pending(&s->end[i].tx))
			return false;
	return true;
}

static void sim_step(struct sim *s)
{
	for (size_t i = 0; i < s->npkt;) {
		if (s->pkt[i].at <= s->now) {
			struct sim_pkt p = s->pkt[i];

			s->pkt[i] = s->pkt[--s->npkt]; /* swap-remove: more reordering */
			sim_deliver(s, &p);
		} else {
			i++;
		}
	}
	for (int who = 0; who < 2; who++) {
		sim_app(s, who);
		sim_pump(s, who);
	}
}

static void sim_run(uint64_t seed, unsigned loss, unsigned dup, unsigned lag, uint32_t rx_window,
		    uint32_t first_seq)
{
	struct sim s = { .rng = seed, .loss_pct = loss, .dup_pct = dup, .lag_pct = lag };
	unsigned iters = 0;

	s.pkt = calloc(SIM_MAX_PKTS, sizeof(*s.pkt));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.pkt);
	for (int i = 0; i < 2; i++) {
		ws_reliable_tx_init(&s.end[i].tx, 0);
		ws_reliable_rx_init(&s.end[i].rx, rx_window);
		ws_reliable_tx_reset_at(&s.end[i].tx, first_seq);
		ws_reliable_rx_reset_at(&s.end[i].rx, first_seq);
		s.end[i].next_pop = UINT64_MAX;
	}
	while (!sim_done(&s) && iters < SIM_MAX_ITERS && s.now < SIM_MAX_TIME && !s.overflow) {
		uint64_t t = sim_next_time(&s);

		if (t == UINT64_MAX)
			break;
		s.now = t > s.now ? t : s.now;
		sim_step(&s);
		iters++;
		if (ws_reliable_tx_failed(&s.end[0].tx) || ws_reliable_tx_failed(&s.end[1].tx))
			break;
	}
	CU_ASSERT_FALSE(s.overflow);
	CU_ASSERT_FALSE(ws_reliable_tx_failed(&s.end[0].tx));
	CU_ASSERT_FALSE(ws_reliable_tx_failed(&s.end[1].tx));
	CU_ASSERT_TRUE(sim_done(&s));
	CU_ASSERT(iters < SIM_MAX_ITERS);
	CU_ASSERT(s.now < SIM_MAX_TIME);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(s.end[i].received, SIM_MSGS);
		CU_ASSERT(s.end[i].standalone_acks > 0);
		if (loss)
			CU_ASSERT(s.end[i].retransmits > 0);
	}
	if (getenv("WS_SIM_VERBOSE"))
		fprintf(stderr, "\nsim seed %llu loss %u%%: %u iters, %.1f s, sent %u lost %u dup %u, "
			"retx %u/%u, standalone acks %u/%u\n",
			(unsigned long long)seed, loss, iters, (double)s.now / SEC, s.sent, s.lost,
			s.dups, s.end[0].retransmits, s.end[1].retransmits,
			s.end[0].standalone_acks, s.end[1].standalone_acks);
	for (size_t i = 0; i < s.npkt; i++)
		free(s.pkt[i].data);
	free(s.pkt);
	for (int i = 0; i < 2; i++) {
		ws_reliable_tx_destroy(&s.end[i].tx);
		ws_reliable_rx_destroy(&s.end[i].rx);
	}
}

static void test_sim_clean_link(void)
{
	sim_run(1, 0, 0, 0, 0, 1);
}

static void test_sim_lossy_link(void)
{
	static const struct {
		uint64_t seed;
		unsigned loss, dup, lag;
		uint32_t rx_window, first_seq;
	} runs[] = {
		{ 0x1234567ULL, 10, 5, 10, 0, 1 },
		{ 0xdeadbeefULL, 20, 5, 20, 0, 1 },
		{ 0x5eed0003ULL, 30, 10, 10, 0, 1 },
		{ 0x5eed0004ULL, 25, 10, 30, 8, 1 },          /* small receive window */
		{ 0x5eed0005ULL, 20, 5, 10, 0, UINT32_MAX - 1000 }, /* crosses the wrap */
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		sim_run(runs[i].seed, runs[i].loss, runs[i].dup, runs[i].lag, runs[i].rx_window,
			runs[i].first_seq);
}

WS_SUITE(reliable)
{
	WS_ADD(suite, test_seq_arith);
	WS_ADD(suite, test_rx_in_order);
	WS_ADD(suite, test_rx_out_of_order);
	WS_ADD(suite, test_rx_duplicates);
	WS_ADD(suite, test_rx_too_far);
	WS_ADD(suite, test_rx_lagging_consumer);
	WS_ADD(suite, test_rx_sack_bits);
	WS_ADD(suite, test_rx_window_field);
	WS_ADD(suite, test_rx_ack_timing);
	WS_ADD(suite, test_tx_basic);
	WS_ADD(suite, test_tx_window_blocking);
	WS_ADD(suite, test_tx_ack_zero_ignored);
	WS_ADD(suite, test_tx_bogus_acks);
	WS_ADD(suite, test_tx_sack_and_retransmit_oldest);
	WS_ADD(suite, test_tx_rto_backoff_and_failure);
	WS_ADD(suite, test_tx_progress_resets_rto);
	WS_ADD(suite, test_tx_retransmit_then_new);
	WS_ADD(suite, test_seq_wrap);
	WS_ADD(suite, test_reset);
	WS_ADD(suite, test_sim_clean_link);
	WS_ADD(suite, test_sim_lossy_link);
}
