/* SPDX-License-Identifier: MIT */
/*
 * The bounded queue from the rx thread to the ctl thread: handshake messages,
 * control-channel frames and session events. When it is full new messages are
 * dropped and counted; its depth is the daemon's "under load" signal.
 * Threads and locks: rx (and tx, to wake a peer) push, ctl pops; in->lock
 * (a mutex) guards the ring, in->efd wakes ctl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/frame.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/slots.h"

int ws_inbox_init(struct ws_inbox *in)
{
	memset(in, 0, sizeof(*in));
	in->msgs = calloc(WS_INBOX_SLOTS, sizeof(*in->msgs));
	if (!in->msgs)
		return -ENOMEM;
	in->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (in->efd < 0) {
		free(in->msgs);
		return -errno;
	}
	pthread_mutex_init(&in->lock, NULL);
	return 0;
}

void ws_inbox_destroy(struct ws_inbox *in)
{
	if (!in->msgs)
		return;
	close(in->efd);
	/* Handshake messages carry no secrets, but control frames are plaintext. */
	explicit_bzero(in->msgs, WS_INBOX_SLOTS * sizeof(*in->msgs));
	free(in->msgs);
	in->msgs = NULL;
	pthread_mutex_destroy(&in->lock);
}

bool ws_inbox_push(struct ws_inbox *in, uint8_t kind, struct ws_peer *peer, struct ws_slot *slot,
		   const struct sockaddr_storage *addr, const void *data, size_t len)
{
	struct ws_inbox_msg *m;
	uint64_t one = 1;
	bool wake;

	if (len > WS_INBOX_DATA) {
		atomic_fetch_add(&in->dropped, 1);
		return false;
	}
	pthread_mutex_lock(&in->lock);
	if (in->count == WS_INBOX_SLOTS) {
		pthread_mutex_unlock(&in->lock);
		atomic_fetch_add(&in->dropped, 1);
		return false;
	}
	m = &in->msgs[(in->head + in->count) % WS_INBOX_SLOTS];
	m->kind = kind;
	m->peer = peer;
	m->slot = slot;
	m->len = (uint16_t)len;
	if (addr)
		m->addr = *addr;
	else
		m->addr.ss_family = AF_UNSPEC;
	if (len)
		memcpy(m->data, data, len);
	wake = in->count++ == 0;
	pthread_mutex_unlock(&in->lock);
	if (wake && write(in->efd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: ctl will wake anyway. */
	}
	return true;
}

/*
 * Every reliable frame accepted into the window is ACKed (docs/control-channel.md),
 * so a frame too long for an inbox message keeps its Seq and ACK fields and
 * loses its events (no control message of ours comes near that size).
 */
bool ws_inbox_push_control(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot,
			   const uint8_t *frame, size_t len, const struct ws_frame_info *info)
{
	uint8_t trailer[WS_FRAME_CHANNEL_LEN + WS_FRAME_MAX_TRAILER];
	struct ws_frame_writer w;

	if (len <= WS_INBOX_DATA)
		return ws_inbox_push(in, WS_INBOX_CONTROL, peer, slot, NULL, frame, len);
	atomic_fetch_add_explicit(&peer->stats.rx_dropped, 1, memory_order_relaxed);
	if (!info->seq && !info->ack_seq)
		return true; /* nothing left for ctl */
	ws_frame_writer_init(&w, trailer, sizeof(trailer), info->channel);
	if (!ws_frame_writer_finish(&w, info->seq, info->ack_seq, info->ack_bitmap, info->window_size))
		return false;
	return ws_inbox_push(in, WS_INBOX_CONTROL, peer, slot, NULL, trailer, ws_frame_writer_len(&w));
}

/*
 * A session confirmation must not be lost: without it the responder keeps
 * sending on the old session until that one expires. When the inbox is full
 * the event is kept on the slot itself (with the session's index, so a slot
 * reused meanwhile is not confirmed by mistake) and ctl is woken: after
 * draining it ticks every peer, and ws_schedule_tick() picks the flag up.
 */
bool ws_inbox_push_confirm(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot)
{
	uint32_t index = slot->entry.index;
	uint64_t one = 1;

	if (ws_inbox_push(in, WS_INBOX_CONFIRM, peer, slot, NULL, &index, sizeof(index)))
		return true;
	atomic_store(&slot->confirm_lost, 1ULL << 32 | index);
	if (write(in->efd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: ctl will wake anyway. */
	}
	return false;
}

bool ws_inbox_pop(struct ws_inbox *in, struct ws_inbox_msg *out)
{
	bool got = false;

	pthread_mutex_lock(&in->lock);
	while (in->count) {
		struct ws_inbox_msg *m = &in->msgs[in->head];

		in->head = (in->head + 1) % WS_INBOX_SLOTS;
		in->count--;
		if (m->kind == WS_INBOX_NONE)
			continue; /* forgotten */
		memcpy(out, m, offsetof(struct ws_inbox_msg, data) + m->len);
		got = true;
		break;
	}
	pthread_mutex_unlock(&in->lock);
	return got;
}

unsigned ws_inbox_count(struct ws_inbox *in)
{
	unsigned n;

	pthread_mutex_lock(&in->lock);
	n = in->count;
	pthread_mutex_unlock(&in->lock);
	return n;
}

void ws_inbox_forget_peer(struct ws_inbox *in, struct ws_peer *peer)
{
	pthread_mutex_lock(&in->lock);
	for (unsigned i = 0; i < in->count; i++) {
		struct ws_inbox_msg *m = &in->msgs[(in->head + i) % WS_INBOX_SLOTS];

		if (m->peer == peer)
			m->kind = WS_INBOX_NONE;
	}
	pthread_mutex_unlock(&in->lock);
}
