/* SPDX-License-Identifier: MIT */
/*
 * Handshakes on the ctl thread (handshake.c): consuming the messages rx
 * queued, sending HandshakeInit, and installing, confirming and closing
 * sessions (dev->lock taken for writing where slots change).
 */
#ifndef WS_HANDSHAKE_H
#define WS_HANDSHAKE_H

#include <stdint.h>

#include "core/messages.h"
#include "daemon/hslog.h"
#include "daemon/inbox.h"

/* Handshake messages get cookie replies above this many queued in the inbox. */
enum { WS_UNDER_LOAD = WS_INBOX_SLOTS / 8 };

/* How long a new responder waits for the initiator's first frame before it speaks. */
#define WS_ANNOUNCE_DELAY_NS (20 * WS_NSEC_PER_MSEC)

struct ws_device;
struct ws_peer;
struct ws_slot;

/* What became of the message; a drop is logged (hslog.h: rate-limited, info). */
enum ws_hs_verdict ws_handshake_receive(struct ws_device *dev, const struct ws_inbox_msg *msg,
					uint64_t now);
void ws_handshake_send_init(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
void ws_session_confirm(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
void ws_session_close(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);

#endif
