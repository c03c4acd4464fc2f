/* SPDX-License-Identifier: MIT */
/*
 * The ctl thread's scheduler for each peer: it runs what core/timers.c says
 * is due (handshake, keepalive, expiry, give-up, wipe), the responder's
 * deferred announcement and the control channel's retransmits, and applies
 * DNS answers. It sits above the modules it drives (handshake, slots,
 * ctlchan, send, peer); the ctl loop (ctl_loop.c) calls it.
 * Threads and locks: ctl thread; takes peer->lock around the timers and lets
 * the modules it calls take dev->lock as they need.
 */
#include <stdlib.h>

#include "core/crypto.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/handshake.h"
#include "daemon/peer.h"
#include "daemon/schedule.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "os/log.h"
#include "os/resolver.h"
#include "os/sockaddr.h"

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

uint64_t ws_schedule_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
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
		ws_send_one_frame(dev, peer, WS_MSG_KEEPALIVE, NULL, 0);
		pthread_rwlock_unlock(&dev->lock);
	}
	if (peer->announce_pending && now >= peer->announce_at)
		ws_ctlchan_announce(dev, peer, now);
	ws_ctlchan_tick(dev, peer, now);
	pthread_mutex_lock(&peer->lock);
	next = ws_timers_next_deadline(&peer->timers);
	pthread_mutex_unlock(&peer->lock);
	ctl = ws_ctlchan_deadline(peer);
	if (peer->announce_pending && peer->announce_at < ctl)
		ctl = peer->announce_at;
	return ctl < next ? ctl : next;
}

void ws_schedule_resolved(struct ws_device *dev, const struct ws_resolver_answer *a, uint64_t now)
{
	struct ws_peer *kick = ws_peer_resolved(dev, a, now);

	/* A handshake waits for this address (the one just sent went to the old
	 * one, as it was unanswered): send it there now, not at the next retry. */
	if (kick)
		ws_handshake_send_init(dev, kick, now);
}
