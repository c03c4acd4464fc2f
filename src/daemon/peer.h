/* SPDX-License-Identifier: MIT */
/*
 * A peer of the device (peer.c): its keys, endpoint, session slots, timers,
 * control channel and the packets staged while a handshake runs.
 * Threads and locks: the fields marked "ctl only" are the ctl thread's; the
 * slots change under dev->lock held for writing; endpoint, timers and staged
 * packets are under peer->lock, taken once per peer per batch by tx and rx.
 */
#ifndef WS_PEER_H
#define WS_PEER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/cookie.h"
#include "core/noise.h"
#include "core/reliable.h"
#include "core/timers.h"
#include "daemon/slots.h"

enum { WS_STAGED_MAX = 32 };       /* packets kept per peer while a handshake runs */

struct ws_device;
struct ws_resolver_answer;

struct ws_peer_stats {
	_Atomic uint64_t rx_bytes, rx_packets, rx_dropped;
	_Alignas(64) _Atomic uint64_t tx_bytes, tx_packets;
};

struct ws_staged {
	uint8_t *data[WS_STAGED_MAX];
	uint16_t len[WS_STAGED_MAX];
	unsigned head, count;
};

struct ws_peer {
	struct ws_device *dev;
	uint8_t public_key[32];
	char endpoint_config[280];     /* as configured: host:port (may be a DNS name) */
	uint16_t keepalive_interval;   /* PersistentKeepalive, seconds */

	/* ctl only */
	struct ws_handshake hs;
	struct ws_cookie_maker cookie;
	struct ws_index_entry hs_entry;
	struct ws_reliable_tx ctl_tx;
	struct ws_reliable_rx ctl_rx;
	uint32_t ping_id, ping_seq;
	bool ping_retransmitted;       /* the ping in flight was sent twice: its pong gives no RTT */
	uint64_t ping_sent_ns;
	uint64_t last_handshake_unix_ns;
	bool announce_pending, announce_hello; /* responder: hello and staged packets wait */
	uint64_t announce_at;
	uint64_t rtt_ns;               /* smoothed; 0 = unknown */
	uint64_t handshakes_initiated, handshakes_completed;
	uint64_t ctl_tx_count, ctl_rx_count, ctl_retransmits, ctl_resets;
	uint64_t resolve_gen;          /* lookup of endpoint_config in flight (0: none) */
	bool resolve_kick;             /* ... for a handshake: send one when it answers */

	/* slots change under dev->lock held for writing */
	struct ws_slot slots[WS_MAX_SESSIONS_PER_PEER];
	struct ws_slot *prev, *cur, *next;

	/* peer->lock */
	pthread_mutex_t lock;
	struct sockaddr_storage endpoint; /* ss_family 0 = unknown */
	struct ws_timers timers;
	struct ws_staged staged;
	bool want_handshake;
	bool roamed;                   /* endpoint changed since ctl last looked */
	_Atomic bool no_gso;           /* a GSO send to it was refused: one datagram per send */

	struct ws_peer_stats stats;
	struct ws_peer *hash_next;     /* by public key */
	struct ws_peer *list_next;
};

/* peer.c (ctl thread; dev->lock held for writing where it says so) */
struct ws_peer *ws_peer_lookup(struct ws_device *dev, const uint8_t public_key[32]);
struct ws_peer *ws_peer_create(struct ws_device *dev, const uint8_t public_key[32]);  /* write lock */
void ws_peer_remove(struct ws_device *dev, struct ws_peer *peer);                      /* write lock */
/* Configure host:port (-EINVAL if malformed). With resolve, an address is
 * used at once and a DNS name is looked up off the ctl thread. */
int ws_peer_set_endpoint(struct ws_peer *peer, const char *hostport, bool resolve);
/* Look endpoint_config up again (kick: a handshake waits for the answer).
 * 0, or -EAGAIN when the resolver's table is full (try again later). */
int ws_peer_resolve(struct ws_device *dev, struct ws_peer *peer, bool kick);
/* Look up every DNS Endpoint that has no address yet and no lookup in
 * flight (ctl starting, or after answers freed room): true if some did not fit. */
bool ws_peer_resolve_all(struct ws_device *dev);
/* An answer from dev->resolver: applied if still wanted, else dropped. Returns
 * the peer when a handshake waits for the new address (send it now), else NULL. */
struct ws_peer *ws_peer_resolved(struct ws_device *dev, const struct ws_resolver_answer *a,
				 uint64_t now);
void ws_peer_stage(struct ws_peer *peer, const uint8_t *pkt, size_t len);           /* peer->lock */
/* Send the packets staged while there was no session, as single-event frames
 * on the current one (ctl thread; takes peer->lock, and dev->lock for reading). */
void ws_peer_flush_staged(struct ws_device *dev, struct ws_peer *peer);

#endif
