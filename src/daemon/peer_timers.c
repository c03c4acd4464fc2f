/* SPDX-License-Identifier: MIT */
/*
 * The daemon side of core/timers.c: the hooks the tx, rx and ctl threads call
 * with peer->lock held (schedule.c carries out what timers.c asks for; slots.c
 * tells it about every change of the slots).
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
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
