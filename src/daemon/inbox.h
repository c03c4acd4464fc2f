/* SPDX-License-Identifier: MIT */
/*
 * The bounded queue from the rx thread to the ctl thread (inbox.c).
 * Threads and locks: rx pushes, ctl pops; in->lock (mutex) guards the ring,
 * in->efd wakes ctl.
 */
#ifndef WS_INBOX_H
#define WS_INBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum ws_inbox_limits {
	WS_INBOX_SLOTS = 1024,         /* messages from rx to ctl */
	WS_INBOX_DATA = 1536,          /* bytes kept per inbox message */
};

struct ws_peer;
struct ws_slot;
struct ws_frame_info;

struct ws_inbox_msg {
	uint8_t kind;                  /* enum ws_inbox_kind */
	uint16_t len;
	struct ws_peer *peer;
	struct ws_slot *slot;
	struct sockaddr_storage addr;
	uint8_t data[WS_INBOX_DATA];
};

enum ws_inbox_kind {
	WS_INBOX_NONE = 0,
	WS_INBOX_HANDSHAKE,            /* a handshake message from addr */
	WS_INBOX_CONTROL,              /* a channel-0 frame from peer on slot */
	WS_INBOX_DISCONNECT,           /* peer closed slot */
	WS_INBOX_CONFIRM,              /* first packet on peer's next slot */
	WS_INBOX_WAKE,                 /* a peer wants a handshake */
};

struct ws_inbox {
	pthread_mutex_t lock;
	struct ws_inbox_msg *msgs;
	unsigned head, count;
	int efd;                       /* eventfd that wakes ctl */
	_Atomic uint64_t dropped;
};

int ws_inbox_init(struct ws_inbox *in);
void ws_inbox_destroy(struct ws_inbox *in);
bool ws_inbox_push(struct ws_inbox *in, uint8_t kind, struct ws_peer *peer, struct ws_slot *slot,
		   const struct sockaddr_storage *addr, const void *data, size_t len);
/*
 * A channel-0 frame (info: its ws_frame_parse) for ctl. One longer than
 * WS_INBOX_DATA goes with its reliability fields only, its events dropped
 * and counted in rx_dropped, so ctl still ACKs its Seq.
 */
bool ws_inbox_push_control(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot,
			   const uint8_t *frame, size_t len, const struct ws_frame_info *info);
/* The first packet on peer's next slot: queued, or kept on the slot when the inbox is full (never lost). */
bool ws_inbox_push_confirm(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot);
bool ws_inbox_pop(struct ws_inbox *in, struct ws_inbox_msg *out);
unsigned ws_inbox_count(struct ws_inbox *in);
void ws_inbox_forget_peer(struct ws_inbox *in, struct ws_peer *peer);

#endif
