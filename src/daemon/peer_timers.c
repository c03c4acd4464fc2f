/* SPDX-License-Identifier: MIT */
/*
 * The daemon side of timers.c: hooks called by the pipeline threads and the
 * ctl thread, and the per-peer tick that carries out what timers.c asks for.
 * The peer's slots (prev, cur, next) are moved by slots.c, which tells
 * timers.c about every change of them.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/handshake.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send.h"
#include "daemon/slots.h"
#include "os/log.h"
#include "os/sockaddr.h"

void ws_peer_timers_init(struct ws_peer *peer)
{
	ws_timers_init(&peer->timers);
}

void ws_peer_on_data_sent(struct ws_peer *peer, uint64_t counter, uint64_t now)
{
	ws_timers_data_sent(&peer->timers, counter, now);
}

void ws_peer_on_data_received(struct ws_peer *peer, uint64_t now)
{
	ws_timers_data_received(&peer->timers, now);
}

void ws_peer_on_auth_received(struct ws_peer *peer, uint64_t now)
{
	ws_timers_packet_received(&peer->timers, now);
}

void ws_peer_on_auth_sent(struct ws_peer *peer, uint64_t counter, uint64_t now)
{
	ws_timers_packet_sent(&peer->timers, counter, now);
}

void ws_peer_want_handshake(struct ws_peer *peer, uint64_t now)
{
	ws_timers_want_handshake(&peer->timers, now);
}

bool ws_peer_may_send(struct ws_peer *peer, const struct ws_slot *slot, uint64_t now)
{
	return ws_timers_may_send(&peer->timers, slot->s.birth_ns, now);
}

void ws_peer_on_handshake_sent(struct ws_peer *peer, uint64_t now)
{
	ws_timers_handshake_initiated(&peer->timers, ws_random_uniform(WS_REKEY_JITTER_NS + 1), now);
}

bool ws_peer_connected(struct ws_peer *peer, uint64_t now)
{
	return ws_timers_connected(&peer->timers, now);
}

void ws_peer_set_keepalive(struct ws_peer *peer, uint16_t seconds, uint64_t now)
{
	peer->keepalive_interval = seconds;
	ws_timers_persistent_keepalive_set(&peer->timers, seconds, now);
}

static void drop_staged(struct ws_peer *peer)
{
	for (unsigned i = 0; i < WS_STAGED_MAX; i++) {
		free(peer->staged.data[i]);
		peer->staged.data[i] = NULL;
	}
	peer->staged.head = peer->staged.count = 0;
	peer->want_handshake = false;
}

/* A confirmation the rx thread could not queue (ws_inbox_push_confirm): carried out now. */
static void confirm_lost(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++) {
		struct ws_slot *slot = &peer->slots[i];
		uint64_t lost = atomic_exchange(&slot->confirm_lost, 0);

		/* ctl is the only writer of the slots: reading them needs no lock. */
		if (lost && slot->used && slot == peer->next && (uint32_t)lost == slot->entry.index)
			ws_session_confirm(dev, peer, slot, now);
	}
}

uint64_t ws_peer_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	char name[WS_KEY_B64_LEN + 1], ep[80] = "";
	uint32_t act;
	uint64_t next, ctl;

	confirm_lost(dev, peer, now);
	pthread_mutex_lock(&peer->lock);
	act = ws_timers_tick(&peer->timers, now);
	if (peer->roamed)
		ws_sockaddr_format(ep, sizeof(ep), &peer->endpoint);
	peer->roamed = false;
	if (act & WS_TIMERS_GIVE_UP)
		drop_staged(peer);
	pthread_mutex_unlock(&peer->lock);

	ws_key_to_base64(name, peer->public_key);
	if (ep[0])
		ws_info("peer %s: endpoint is now %s", name, ep);
	if (act & (WS_TIMERS_EXPIRE_SESSIONS | WS_TIMERS_WIPE)) {
		bool had = peer->cur != NULL;

		ws_slots_expire(dev, peer, act & WS_TIMERS_WIPE);
		if (had && !peer->cur)
			ws_info("peer %s: session expired", name);
	}
	if (act & WS_TIMERS_SEND_HANDSHAKE_INIT) {
		if (act & WS_TIMERS_RESOLVE_ENDPOINT)
			ws_peer_resolve(dev, peer, true);
		ws_handshake_send_init(dev, peer, now);
	}
	if (act & WS_TIMERS_SEND_KEEPALIVE) {
		pthread_rwlock_rdlock(&dev->lock);
		ws_send_frame(dev, peer, WS_MSG_KEEPALIVE, NULL, 0);
		pthread_rwlock_unlock(&dev->lock);
	}
	if (peer->announce_pending && now >= peer->announce_at)
		ws_session_announce(dev, peer, now);
	ws_ctlchan_tick(dev, peer, now);
	pthread_mutex_lock(&peer->lock);
	next = ws_timers_next_deadline(&peer->timers);
	pthread_mutex_unlock(&peer->lock);
	ctl = ws_ctlchan_deadline(peer);
	if (peer->announce_pending && peer->announce_at < ctl)
		ctl = peer->announce_at;
	return ctl < next ? ctl : next;
}
