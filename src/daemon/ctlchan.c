/* SPDX-License-Identifier: MIT */
/*
 * Channel 0, the control channel (docs/control-channel.md), on the ctl
 * thread: hello when a session comes up with a peer that had none, ping every
 * 5 s for the RTT, pong in answer, goodbye on shutdown. Delivery is reliable
 * (reliable.c); ACKs ride on control frames or go alone after 20 ms. Also the
 * new responder's deferred announcement (hello and staged packets).
 * Threads and locks: ctl thread; the channel's state in the peer is ctl's
 * alone; frames are sealed with dev->lock held for reading.
 */
#include <string.h>

#include "core/crypto.h"
#include "core/ctlmsg.h"
#include "core/frame.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/send_one.h"
#include "os/clock.h"
#include "os/log.h"

#define PING_INTERVAL_NS (5 * WS_NSEC_PER_SEC)

enum { CTL_FRAME_MAX = 1 + WS_CTL_MAX_PAYLOAD + 16 + WS_FRAME_MAX_TRAILER };

/*
 * A session with a peer that had none: the channel starts again at Seq 1
 * (DECISIONS 25). Counted as a reset only when the channel was used before;
 * a daemon's first session with a peer starts it, resets nothing.
 */
void ws_ctlchan_reset(struct ws_peer *peer)
{
	ws_reliable_tx_reset(&peer->ctl_tx);
	ws_reliable_rx_reset(&peer->ctl_rx);
	peer->ping_sent_ns = 0;
	if (peer->ctl_tx_count || peer->ctl_rx_count)
		peer->ctl_resets++;
}

/* Encode one event (without channel byte or trailer) and queue it reliably; its Seq or 0. */
static uint32_t queue_msg(struct ws_peer *peer, uint8_t type, const uint8_t *payload, size_t len,
			  uint64_t now)
{
	uint8_t buf[CTL_FRAME_MAX];
	struct ws_frame_writer w;
	uint32_t seq;

	ws_frame_writer_init(&w, buf, sizeof(buf), WS_CHANNEL_CONTROL);
	if (!ws_frame_writer_add(&w, type, payload, len) || !ws_frame_writer_finish(&w, 0, 0, 0, 0))
		return 0;
	if (ws_reliable_tx_queue(&peer->ctl_tx, buf + 1, ws_frame_writer_len(&w) - 1, now, &seq))
		return 0;
	peer->ctl_tx_count++;
	return seq;
}

/* Send channel-0 frame: events (may be empty) with seq and our current ACK fields. */
static void send_ctl_frame(struct ws_device *dev, struct ws_peer *peer, uint32_t seq,
			   const uint8_t *events, size_t len)
{
	uint8_t frame[WS_INBOX_DATA];
	struct ws_frame_writer w;
	uint32_t ack_seq, window;
	uint64_t bitmap;
	size_t n;

	ws_reliable_rx_ack_fields(&peer->ctl_rx, &ack_seq, &bitmap, &window);
	if (1 + len + ws_frame_trailer_size(seq, ack_seq, bitmap, window) > sizeof(frame))
		return;
	ws_frame_writer_init(&w, frame, sizeof(frame), WS_CHANNEL_CONTROL);
	if ((len && !ws_frame_writer_add_encoded(&w, events, len)) ||
	    !ws_frame_writer_finish(&w, seq, ack_seq, bitmap, window))
		return;
	n = ws_frame_writer_len(&w);
	pthread_rwlock_rdlock(&dev->lock);
	if (ws_send_one_frame(dev, peer, WS_MSG_DATA, frame, n) == 0)
		ws_reliable_rx_ack_sent(&peer->ctl_rx);
	pthread_rwlock_unlock(&dev->lock);
}

void ws_ctlchan_session_up(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	uint8_t p[WS_CTL_MAX_PAYLOAD];
	struct ws_ctl_hello h = {.version = WS_CTL_VERSION, .mtu = dev->mtu,
				 .max_packet_size = dev->max_packet_size,
				 .caps = WS_CTL_CAP_COALESCE};

	queue_msg(peer, WS_CTL_HELLO, p, ws_ctl_hello_encode(p, &h), now);
	ws_ctlchan_tick(dev, peer, now);
}

void ws_ctlchan_goodbye(struct ws_device *dev, struct ws_peer *peer, uint8_t reason)
{
	uint8_t p[WS_CTL_MAX_PAYLOAD];
	uint64_t now = ws_now_ns();

	queue_msg(peer, WS_CTL_GOODBYE, p, ws_ctl_goodbye_encode(p, reason, "interface going down"), now);
	ws_ctlchan_tick(dev, peer, now);
}

/* Control messages received and discarded (too long, unknown, undecodable) count as dropped. */
static void discard(struct ws_peer *peer, unsigned n)
{
	if (n)
		atomic_fetch_add_explicit(&peer->stats.rx_dropped, n, memory_order_relaxed);
}

/*
 * One control message; true for a channel-close, which the caller carries
 * out. fresh: the frame is handled as it arrived (not held back waiting for
 * an earlier one), so a pong in it measures the round trip alone.
 */
static bool handle_event(struct ws_device *dev, struct ws_peer *peer, const struct ws_event *ev,
			 bool fresh, uint64_t now)
{
	struct ws_ctl_hello hello;
	struct ws_ctl_ping ping;
	struct ws_ctl_goodbye bye;
	char name[WS_KEY_B64_LEN + 1];

	(void)dev;
	ws_key_to_base64(name, peer->public_key);
	switch (ev->type) {
	case WS_CTL_HELLO:
		if (ws_ctl_hello_decode(ev->payload, ev->len, &hello))
			ws_debug("peer %s: hello version %u mtu %u max packet %u", name, hello.version,
				 hello.mtu, hello.max_packet_size);
		else
			discard(peer, 1);
		break;
	case WS_CTL_PING:
		if (ws_ctl_ping_decode(ev->payload, ev->len, &ping))
			queue_msg(peer, WS_CTL_PONG, ev->payload, WS_CTL_PING_LEN, now);
		else
			discard(peer, 1);
		break;
	case WS_CTL_PONG:
		/* A ping that needed a retransmission would overstate the RTT: no sample. */
		if (fresh && ws_ctl_ping_decode(ev->payload, ev->len, &ping) && ping.id == peer->ping_id &&
		    !peer->ping_retransmitted && ping.timestamp <= now) {
			uint64_t sample = now - ping.timestamp;

			peer->rtt_ns = peer->rtt_ns ? (7 * peer->rtt_ns + sample) / 8 : sample;
		}
		break;
	case WS_CTL_GOODBYE:
		if (ws_ctl_goodbye_decode(ev->payload, ev->len, &bye))
			ws_info("peer %s: goodbye (reason %u: %s)", name, bye.reason, bye.text);
		else
			discard(peer, 1);
		break;
	case WS_EVENT_CHANNEL_CLOSE:
		return true;
	default: /* unknown control messages are ignored (DECISIONS 27), and counted */
		discard(peer, 1);
		break;
	}
	return false;
}

/* DECISIONS 33: channel 0 is never closed; a channel-close restarts its reliable state. */
static void close_received(struct ws_peer *peer)
{
	char name[WS_KEY_B64_LEN + 1];

	ws_key_to_base64(name, peer->public_key);
	ws_info("peer %s: channel-close received on channel 0: resetting it", name);
	ws_reliable_tx_reset(&peer->ctl_tx);
	ws_reliable_rx_reset(&peer->ctl_rx);
	peer->ctl_resets++;
}

/* The events of one frame, in order; true when one was a channel-close (the rest still handled). */
static bool handle_events(struct ws_device *dev, struct ws_peer *peer, const uint8_t *events,
			  size_t len, bool fresh, uint64_t now)
{
	uint8_t frame[1 + WS_RELIABLE_MAX_PAYLOAD];
	struct ws_frame_info info;
	struct ws_frame_iter it;
	struct ws_event ev;
	bool close = false;

	if (len > WS_RELIABLE_MAX_PAYLOAD)
		return false;
	frame[0] = WS_CHANNEL_CONTROL;
	memcpy(frame + 1, events, len);
	if (ws_frame_parse(frame, len + 1, &info) < 0)
		return false;
	ws_frame_iter_init(&it, &info);
	while (ws_frame_iter_next(&it, &ev))
		close |= handle_event(dev, peer, &ev, fresh, now);
	peer->ctl_rx_count++;
	return close;
}

/*
 * Re-encode a received frame's events canonically (what reliable.c stores):
 * at most WS_RELIABLE_MAX_PAYLOAD bytes. An event that does not fit is left
 * out and counted (no control message of ours comes near that size), so the
 * frame itself is still accepted and ACKed.
 */
static size_t events_of(struct ws_peer *peer, const struct ws_frame_info *info, uint8_t *out,
			bool *hello)
{
	uint8_t buf[1 + WS_RELIABLE_MAX_PAYLOAD];
	struct ws_frame_writer w;
	struct ws_frame_iter it;
	struct ws_event ev;
	unsigned dropped = 0;

	*hello = false;
	ws_frame_writer_init(&w, buf, sizeof(buf), WS_CHANNEL_CONTROL);
	ws_frame_iter_init(&it, info);
	while (ws_frame_iter_next(&it, &ev)) {
		if (!ws_frame_writer_add(&w, ev.type, ev.payload, ev.len)) {
			dropped++;
			continue;
		}
		*hello |= ev.type == WS_CTL_HELLO;
	}
	discard(peer, dropped);
	memcpy(out, buf + 1, ws_frame_writer_len(&w) - 1);
	return ws_frame_writer_len(&w) - 1;
}

/* The responder's deferred hello and staged packets (handshake.c set them pending). */
void ws_ctlchan_announce(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	if (!peer->announce_pending)
		return;
	peer->announce_pending = false;
	if (peer->announce_hello)
		ws_ctlchan_session_up(dev, peer, now);
	if (peer->cur)
		ws_peer_flush_staged(dev, peer);
}

/*
 * Every reliable frame accepted into the window is ACKed, whatever its
 * payload: none (a Seq and no events), oversized (its events left out by rx
 * or events_of), unknown messages, or a channel-close. A channel-close in a
 * reliable frame is ACKed at once, before the reset forgets that an ACK was
 * owed; otherwise the peer would retransmit it and each copy reset us again.
 */
void ws_ctlchan_receive(struct ws_device *dev, struct ws_peer *peer, const uint8_t *frame,
			size_t len, uint64_t now)
{
	struct ws_frame_info info;
	uint8_t events[WS_RELIABLE_MAX_PAYLOAD];
	const uint8_t *ready;
	size_t n, ready_len;
	bool hello, fresh, close = false;
	int r;

	if (ws_frame_parse(frame, len, &info) < 0)
		return;
	/* The initiator speaks on the session: a waiting responder may speak too. */
	ws_ctlchan_announce(dev, peer, now);
	if (info.ack_seq)
		ws_reliable_tx_on_ack(&peer->ctl_tx, info.ack_seq, info.ack_bitmap, info.window_size, now);
	if (!info.seq && !info.n_events)
		return; /* a standalone ACK */
	n = events_of(peer, &info, events, &hello);
	if (!info.seq) { /* unreliable control events: handle as they come */
		if (handle_events(dev, peer, events, n, true, now))
			close_received(peer);
		return;
	}
	/* A hello with Seq 1 while we expect more: the peer restarted its channel. */
	if (hello && info.seq == 1 && peer->ctl_rx.expected != 1) {
		ws_reliable_rx_reset(&peer->ctl_rx);
		ws_reliable_tx_reset(&peer->ctl_tx);
		peer->ctl_resets++;
	}
	r = ws_reliable_rx_on_frame(&peer->ctl_rx, info.seq, n ? events : NULL, n, now);
	if (r < 0)
		return; /* out of memory: not accepted, the peer retransmits */
	/* Only the first frame popped after an in-order arrival is the one that just came. */
	fresh = r == WS_RELIABLE_DELIVER;
	while (!close && ws_reliable_rx_pop(&peer->ctl_rx, &ready, &ready_len)) {
		close = handle_events(dev, peer, ready, ready_len, fresh, now);
		fresh = false;
	}
	if (close) {
		if (peer->cur)
			send_ctl_frame(dev, peer, 0, NULL, 0); /* the ACK that was due */
		close_received(peer);
		return;
	}
	ws_ctlchan_tick(dev, peer, now);
}

void ws_ctlchan_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	struct ws_reliable_out out;
	char name[WS_KEY_B64_LEN + 1];

	/*
	 * A new responder says nothing, not even a ping, until the initiator
	 * has shown it installed the session (ws_ctlchan_announce): sent
	 * earlier, a frame can beat the initiator's bookkeeping, be dropped as
	 * unknown and cost a retransmission (and the RTT sample of that ping).
	 */
	if (!peer->cur || peer->announce_pending)
		return;
	if (ws_reliable_tx_failed(&peer->ctl_tx)) {
		/*
		 * DECISIONS 33: channel 0 is reset, never closed. Both directions
		 * restart at Seq 1, and an unreliable channel-close tells the peer
		 * to do the same, so the two sides cannot stay out of step.
		 */
		uint8_t close_frame[8];
		struct ws_frame_writer w;

		ws_key_to_base64(name, peer->public_key);
		ws_info("peer %s: control channel reset after %d retries", name, WS_RELIABLE_MAX_RETRIES);
		ws_reliable_tx_reset(&peer->ctl_tx);
		ws_reliable_rx_reset(&peer->ctl_rx);
		peer->ctl_resets++;
		ws_frame_writer_init(&w, close_frame, sizeof(close_frame), WS_CHANNEL_CONTROL);
		if (ws_frame_writer_add(&w, WS_EVENT_CHANNEL_CLOSE, NULL, 0) &&
		    ws_frame_writer_finish(&w, 0, 0, 0, 0)) {
			pthread_rwlock_rdlock(&dev->lock);
			ws_send_one_frame(dev, peer, WS_MSG_DATA, close_frame, ws_frame_writer_len(&w));
			pthread_rwlock_unlock(&dev->lock);
		}
	}
	if (now - peer->ping_sent_ns >= PING_INTERVAL_NS && !ws_reliable_tx_pending(&peer->ctl_tx)) {
		uint8_t p[WS_CTL_MAX_PAYLOAD];
		struct ws_ctl_ping ping = {.id = ++peer->ping_id, .timestamp = now};

		peer->ping_sent_ns = now;
		peer->ping_seq = queue_msg(peer, WS_CTL_PING, p, ws_ctl_ping_encode(p, &ping), now);
		peer->ping_retransmitted = false;
	}
	while (ws_reliable_tx_next(&peer->ctl_tx, now, &out)) {
		if (out.retransmits) {
			peer->ctl_retransmits++;
			peer->ping_retransmitted |= out.seq == peer->ping_seq;
		}
		send_ctl_frame(dev, peer, out.seq, out.events, out.len);
	}
	if (ws_reliable_rx_ack_due(&peer->ctl_rx, now))
		send_ctl_frame(dev, peer, 0, NULL, 0);
}

uint64_t ws_ctlchan_deadline(struct ws_peer *peer)
{
	uint64_t d, a;

	if (peer->announce_pending)
		return UINT64_MAX; /* ws_schedule_tick waits for announce_at instead */
	d = ws_reliable_tx_deadline(&peer->ctl_tx);
	a = ws_reliable_rx_ack_deadline(&peer->ctl_rx);
	if (a < d)
		d = a;
	/* A ping waits for the channel to drain; then its deadline counts (not before, or the loop would spin). */
	if (peer->cur && !ws_reliable_tx_pending(&peer->ctl_tx) && peer->ping_sent_ns + PING_INTERVAL_NS < d)
		d = peer->ping_sent_ns + PING_INTERVAL_NS;
	return d;
}
