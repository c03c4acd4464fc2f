/* SPDX-License-Identifier: MIT */
/* Control channel 0 on the ctl thread (ctlchan.c): hello, ping/pong, goodbye, ACKs. */
#ifndef WS_CTLCHAN_H
#define WS_CTLCHAN_H

#include <stddef.h>
#include <stdint.h>

struct ws_device;
struct ws_peer;

void ws_ctlchan_reset(struct ws_peer *peer);
void ws_ctlchan_session_up(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
void ws_ctlchan_receive(struct ws_device *dev, struct ws_peer *peer, const uint8_t *frame,
			size_t len, uint64_t now);
void ws_ctlchan_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
uint64_t ws_ctlchan_deadline(struct ws_peer *peer);
void ws_ctlchan_goodbye(struct ws_device *dev, struct ws_peer *peer, uint8_t reason);
/* A new responder's hello and staged packets, held back until the initiator's
 * first control frame or WS_ANNOUNCE_DELAY_NS: sent now, if still pending. */
void ws_ctlchan_announce(struct ws_device *dev, struct ws_peer *peer, uint64_t now);

#endif
