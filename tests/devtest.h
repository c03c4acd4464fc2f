/* SPDX-License-Identifier: MIT */
/*
 * A daemon device for unit tests (tables only, no TUN or threads) whose
 * single sends go out on a UDP socket on 127.0.0.1, and a remote side that
 * receives them: its own keys, a handshake and cookie maker towards the
 * device, and (once wt_session_up ran) the session paired with the peer's.
 */
#ifndef WS_DEVTEST_H
#define WS_DEVTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/handshake.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/rx.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "daemon/ipc_requests.h"

struct wt_remote {
	struct ws_noise_local local;
	struct ws_handshake hs;           /* towards the device */
	struct ws_cookie_maker cookie;    /* MACs of messages to the device */
	struct ws_session s;              /* paired with the peer's current session */
	int fd;
	struct sockaddr_storage addr;     /* where fd is bound */
	struct ws_peer *peer;             /* the device's peer for this remote */
};

/* dev: tables, and udp.fd[SOCK4] on 127.0.0.1 (its address in *addr, may be NULL). */
void wt_dev_up(struct ws_device *dev, struct sockaddr_storage *addr);
void wt_dev_down(struct ws_device *dev);
/* A remote with fresh keys and a socket, known to dev as a peer whose endpoint is that socket. */
void wt_remote_up(struct ws_device *dev, struct wt_remote *r);
void wt_remote_down(struct wt_remote *r);
/* A session between the two, installed as the peer's current one (responder side). */
void wt_session_up(struct ws_device *dev, struct wt_remote *r, uint64_t now);
/* The next datagram to the remote within timeout_ms: its length, or -1. */
ssize_t wt_recv(struct wt_remote *r, uint8_t *buf, size_t cap, int timeout_ms);
/* The next Data packet on the session, decrypted: the frame's length (in frame), or -1. */
ssize_t wt_recv_frame(struct wt_remote *r, uint8_t *frame, size_t cap, int timeout_ms);
/* A handshake message as rx queues it, from the remote's address. */
void wt_inbox_msg(struct ws_inbox_msg *m, const struct wt_remote *r, const void *data, size_t len);
/* Queue n filler messages so the inbox is deep ("under load"). */
void wt_fill_inbox(struct ws_device *dev, unsigned n);
void wt_drain_inbox(struct ws_device *dev);

#endif
