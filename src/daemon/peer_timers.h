/* SPDX-License-Identifier: MIT */
/*
 * The daemon side of core/timers.c (peer_timers.c): hooks called by the
 * pipeline threads and the ctl thread with peer->lock held. What timers.c
 * asks for is carried out by schedule.c.
 */
#ifndef WS_PEER_TIMERS_H
#define WS_PEER_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct ws_peer;
struct ws_slot;

void ws_peer_timers_init(struct ws_peer *peer);
void ws_peer_on_data_sent(struct ws_peer *peer, uint64_t counter, uint64_t now);
void ws_peer_on_data_received(struct ws_peer *peer, uint64_t now);
void ws_peer_on_auth_received(struct ws_peer *peer, uint64_t now);
void ws_peer_on_auth_sent(struct ws_peer *peer, uint64_t counter, uint64_t now);
void ws_peer_want_handshake(struct ws_peer *peer, uint64_t now);
bool ws_peer_may_send(struct ws_peer *peer, const struct ws_slot *slot, uint64_t now);
void ws_peer_on_handshake_sent(struct ws_peer *peer, uint64_t now);
bool ws_peer_connected(struct ws_peer *peer, uint64_t now);                          /* peer->lock */
void ws_peer_set_keepalive(struct ws_peer *peer, uint16_t seconds, uint64_t now);

#endif
