/* SPDX-License-Identifier: MIT */
/*
 * Channel 0 as an independent Wiresocket peer may drive it: every reliable
 * frame accepted into the window is ACKed, whatever its payload (none, too
 * long, unknown, a channel-close). Frames go into the ctl thread's receive
 * path of a test device (devtest.h); the ACKs come out on its socket.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/ctlmsg.h"
#include "core/frame.h"
#include "os/clock.h"
#include "devtest.h"
#include "test.h"

#define MS (1000 * 1000ULL)

static struct ws_device dev;
static struct wt_remote rem;
static uint64_t t0;

static void up(void)
{
	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	t0 = ws_now_ns();
	wt_session_up(&dev, &rem, t0);
	rem.peer->ping_sent_ns = t0; /* no ping of ours in the way for 5 s */
}

static void down(void)
{
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/* A channel-0 frame with Seq seq and one event (type, len bytes of payload; none when len < 0). */
static size_t frame1(uint8_t *buf, size_t cap, uint32_t seq, uint8_t type, int len)
{
	static uint8_t payload[4096];
	struct ws_frame_writer w;

	ws_frame_writer_init(&w, buf, cap, WS_CHANNEL_CONTROL);
	if (len >= 0)
		CU_ASSERT_FATAL(ws_frame_writer_add(&w, type, payload, (size_t)len));
	CU_ASSERT_FATAL(ws_frame_writer_finish(&w, seq, 0, 0, 0));
	return ws_frame_writer_len(&w);
}

/* Let the ACK timer run out, then the highest AckSeq that reached the remote (0: none). */
static uint32_t acked(uint64_t now)
{
	uint8_t f[2048];
	struct ws_frame_info info;
	uint32_t best = 0;
	ssize_t n;

	ws_ctlchan_tick(&dev, rem.peer, now + 30 * MS);
	while ((n = wt_recv_frame(&rem, f, sizeof(f), 50)) > 0)
		if (ws_frame_parse(f, (size_t)n, &info) == 0 && info.channel == WS_CHANNEL_CONTROL &&
		    info.ack_seq > best)
			best = info.ack_seq;
	return best;
}

static uint64_t dropped(void)
{
	return atomic_load(&rem.peer->stats.rx_dropped);
}

/* A reliable frame carrying a channel-close: ACKed, then the channel restarts (DECISIONS 33). */
static void test_close_reliable_acked(void)
{
	uint8_t f[64];
	uint64_t resets;

	up();
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, WS_CTL_PING, WS_CTL_PING_LEN), t0);
	CU_ASSERT_EQUAL(acked(t0), 2);
	resets = rem.peer->ctl_resets;
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 2, WS_EVENT_CHANNEL_CLOSE, 0), t0 + 100 * MS);
	CU_ASSERT_EQUAL(acked(t0 + 100 * MS), 3);
	CU_ASSERT_EQUAL(rem.peer->ctl_resets, resets + 1);
	CU_ASSERT_EQUAL(rem.peer->ctl_rx.expected, 1);
	CU_ASSERT_EQUAL(ws_reliable_tx_pending(&rem.peer->ctl_tx), 0);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rem.peer->ctl_rx), UINT64_MAX);
	/* The restarted channel works: the peer's next frame is Seq 1 again. */
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, 77, 3), t0 + 200 * MS);
	CU_ASSERT_EQUAL(acked(t0 + 200 * MS), 2);
	CU_ASSERT_EQUAL(rem.peer->ctl_resets, resets + 1);
	down();
}

/* An unreliable channel-close (ours after 10 retries) still resets, owing nothing. */
static void test_close_unreliable_resets(void)
{
	uint8_t f[64];
	uint64_t resets;

	up();
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, WS_CTL_PING, WS_CTL_PING_LEN), t0);
	resets = rem.peer->ctl_resets;
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 0, WS_EVENT_CHANNEL_CLOSE, 0), t0 + 1 * MS);
	CU_ASSERT_EQUAL(rem.peer->ctl_resets, resets + 1);
	CU_ASSERT_EQUAL(rem.peer->ctl_rx.expected, 1);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rem.peer->ctl_rx), UINT64_MAX);
	down();
}

/* A 1200-byte control event (the peer fragments it; within the spec): ACKed, discarded, counted. */
static void test_long_event_acked(void)
{
	uint8_t f[2048];
	uint64_t d;

	up();
	d = dropped();
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, 200, 1200), t0);
	CU_ASSERT_EQUAL(rem.peer->ctl_rx.expected, 2);
	CU_ASSERT_EQUAL(acked(t0), 2);
	CU_ASSERT_EQUAL(dropped(), d + 1);
	down();
}

/* A ping next to a long event: the ping is still answered. */
static void test_long_event_beside_ping(void)
{
	static uint8_t payload[1200];
	uint8_t f[2048], p[WS_CTL_MAX_PAYLOAD];
	struct ws_ctl_ping ping = {.id = 9, .timestamp = 1};
	struct ws_frame_writer w;

	up();
	ws_frame_writer_init(&w, f, sizeof(f), WS_CHANNEL_CONTROL);
	CU_ASSERT_FATAL(ws_frame_writer_add(&w, 200, payload, sizeof(payload)));
	CU_ASSERT_FATAL(ws_frame_writer_add(&w, WS_CTL_PING, p, ws_ctl_ping_encode(p, &ping)));
	CU_ASSERT_FATAL(ws_frame_writer_finish(&w, 1, 0, 0, 0));
	ws_ctlchan_receive(&dev, rem.peer, f, ws_frame_writer_len(&w), t0);
	CU_ASSERT_EQUAL(acked(t0), 2);
	CU_ASSERT_EQUAL(rem.peer->ctl_tx_count, 1); /* the pong */
	down();
}

/* A frame longer than an inbox message: rx passes its Seq on, and it is ACKed. */
static void test_frame_over_inbox_acked(void)
{
	static struct ws_inbox_msg m;
	static uint8_t f[4096];
	struct ws_frame_info info;
	size_t n;
	uint64_t d;

	up();
	d = dropped();
	n = frame1(f, sizeof(f), 1, 200, 3000);
	CU_ASSERT_FATAL(n > WS_INBOX_DATA);
	CU_ASSERT_EQUAL_FATAL(ws_frame_parse(f, n, &info), 0);
	CU_ASSERT_TRUE(ws_inbox_push_control(&dev.inbox, rem.peer, rem.peer->cur, f, n, &info));
	CU_ASSERT_TRUE_FATAL(ws_inbox_pop(&dev.inbox, &m));
	CU_ASSERT_EQUAL(m.kind, WS_INBOX_CONTROL);
	ws_ctlchan_receive(&dev, m.peer, m.data, m.len, t0);
	CU_ASSERT_EQUAL(acked(t0), 2);
	CU_ASSERT_EQUAL(dropped(), d + 1);
	down();
}

/* A reliable frame with a Seq and no events: ACKed. */
static void test_empty_reliable_acked(void)
{
	uint8_t f[64];

	up();
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, 0, -1), t0);
	CU_ASSERT_EQUAL(rem.peer->ctl_rx.expected, 2);
	CU_ASSERT_EQUAL(acked(t0), 2);
	/* A standalone ACK (no Seq, no events) owes nothing back. */
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 0, 0, -1), t0 + 100 * MS);
	CU_ASSERT_EQUAL(ws_reliable_rx_ack_deadline(&rem.peer->ctl_rx), UINT64_MAX);
	CU_ASSERT_EQUAL(acked(t0 + 100 * MS), 0);
	down();
}

/* Unknown control messages: ACKed, ignored (DECISIONS 27), counted. */
static void test_unknown_acked_counted(void)
{
	uint8_t f[64];
	uint64_t d;

	up();
	d = dropped();
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 1, 77, 5), t0);
	ws_ctlchan_receive(&dev, rem.peer, f, frame1(f, sizeof(f), 2, WS_CTL_HELLO, 2), t0); /* too short */
	CU_ASSERT_EQUAL(acked(t0), 3);
	CU_ASSERT_EQUAL(dropped(), d + 2);
	down();
}

WS_SUITE(ctlchan)
{
	WS_ADD(suite, test_close_reliable_acked);
	WS_ADD(suite, test_close_unreliable_resets);
	WS_ADD(suite, test_long_event_acked);
	WS_ADD(suite, test_long_event_beside_ping);
	WS_ADD(suite, test_frame_over_inbox_acked);
	WS_ADD(suite, test_empty_reliable_acked);
	WS_ADD(suite, test_unknown_acked_counted);
}
