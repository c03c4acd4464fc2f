/* SPDX-License-Identifier: MIT */
/* The ctl thread's per-peer scheduler (schedule.c), driven by the ctl loop. */
#ifndef WS_SCHEDULE_H
#define WS_SCHEDULE_H

#include <stdint.h>

struct ws_device;
struct ws_peer;
struct ws_resolver_answer;

/* Run the peer's due timers (handshake, keepalive, expiry, announcement,
 * control channel); returns its next deadline. */
uint64_t ws_schedule_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
/* An answer from dev->resolver: applied if still wanted (ws_peer_resolved),
 * and a handshake that waited for it sent at once. */
void ws_schedule_resolved(struct ws_device *dev, const struct ws_resolver_answer *a, uint64_t now);

#endif
