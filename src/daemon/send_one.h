/* SPDX-License-Identifier: MIT */
/* The single-packet path (send_one.c); the batch paths are tx.c and rx.c. */
#ifndef WS_SEND_H
#define WS_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ws_device;
struct ws_peer;

/* One datagram to `to` on the device's UDP socket. */
int ws_device_send_one(struct ws_device *dev, const void *buf, size_t len,
		       const struct sockaddr_storage *to);
/* Seal one frame on the peer's current session and send it (ctl thread). */
int ws_send_one_frame(struct ws_device *dev, struct ws_peer *peer, uint8_t type, const uint8_t *frame,
		  size_t len);

#endif
