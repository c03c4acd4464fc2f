/* SPDX-License-Identifier: MIT */
/*
 * The single-packet path: one datagram (handshakes, cookie replies; also tx's
 * one-by-one fallback after a refused GSO send) or one frame sealed on the
 * current session (keepalives, control frames, staged packets, disconnects).
 * The batch paths are tx.c and rx.c.
 * Threads and locks: ctl thread (ws_device_send_one also on tx); callers of
 * ws_send_one_frame hold dev->lock for reading; it takes peer->lock for the
 * counter, endpoint and timers.
 */
#include <errno.h>
#include <string.h>

#include "core/crypto.h"
#include "core/frame.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "os/clock.h"

int ws_device_send_one(struct ws_device *dev, const void *buf, size_t len,
		       const struct sockaddr_storage *to)
{
	struct sockaddr_in6 name;
	socklen_t name_len;
	int s = ws_udp_dest(&dev->udp, to, &name, &name_len);

	if (s < 0)
		return s;
	if (sendto(dev->udp.fd[s], buf, len, MSG_DONTWAIT, (struct sockaddr *)&name, name_len) < 0)
		return -errno;
	return 0;
}

/*
 * Seal frame (or nothing, for a Keepalive/Disconnect) on peer's current
 * session and send it to the peer's endpoint. dev->lock held for reading or
 * writing by the caller (the session must not be wiped meanwhile).
 */
int ws_send_one_frame(struct ws_device *dev, struct ws_peer *peer, uint8_t type, const uint8_t *frame,
		  size_t len)
{
	uint8_t pkt[WS_SIZE_DATA_HEADER + WS_INBOX_DATA + WS_AEAD_TAG_LEN];
	struct ws_slot *slot = peer->cur;
	struct sockaddr_storage to;
	struct ws_frame_info info;
	uint64_t counter;
	bool has_events;
	size_t n;
	int ret;

	if (len > WS_INBOX_DATA)
		return -EMSGSIZE;
	has_events = type == WS_MSG_DATA && ws_frame_parse(frame, len, &info) == 0 && info.n_events;
	if (!slot || atomic_load(&slot->dead))
		return -ENOTCONN;
	pthread_mutex_lock(&peer->lock);
	to = peer->endpoint;
	pthread_mutex_unlock(&peer->lock);
	if (to.ss_family == AF_UNSPEC)
		return -EDESTADDRREQ;
	ret = ws_session_next_counter(&slot->s, &counter);
	if (ret < 0)
		return ret;
	if (len)
		memcpy(pkt + WS_SIZE_DATA_HEADER, frame, len);
	n = ws_session_seal(&slot->s, type, counter, pkt, len);
	ret = ws_device_send_one(dev, pkt, n, &to);
	if (!ret) {
		atomic_fetch_add_explicit(&peer->stats.tx_bytes, n, memory_order_relaxed);
		atomic_fetch_add_explicit(&peer->stats.tx_packets, 1, memory_order_relaxed);
		pthread_mutex_lock(&peer->lock);
		/*
		 * A frame with events (control messages, staged packets) is data: it
		 * expects an authenticated answer, so a dead path is noticed within
		 * 15 s even on an otherwise idle tunnel (DECISIONS 29). Keepalives,
		 * Disconnects and bare ACKs are not.
		 */
		if (has_events)
			ws_peer_on_data_sent(peer, counter, ws_now_ns());
		else
			ws_peer_on_auth_sent(peer, counter, ws_now_ns());
		pthread_mutex_unlock(&peer->lock);
	}
	ws_wipe(pkt + WS_SIZE_DATA_HEADER, len);
	return ret;
}
