/* SPDX-License-Identifier: MIT */
/*
 * The daemon's device: one TUN interface, one UDP socket, its peers, and the
 * threads that move packets between them (docs/architecture.md).
 *
 * Threads and locks:
 *  - tx thread:  TUN read batch -> route -> frame -> counters -> encrypt (workers) -> sendmmsg
 *  - rx thread:  recvmmsg -> index lookup -> decrypt (workers) -> replay commit -> TUN write
 *  - ctl thread: handshakes, timers, control channel, control socket, signals
 *  dev->lock (rwlock, writer-preferring): tx and rx hold it for reading for a
 *  whole batch (never while sleeping: tx drops it to wait for room); ctl takes it for writing to add/remove peers, install, rotate
 *  or wipe sessions. So a session a batch uses cannot vanish mid-batch, and
 *  the hot path takes no lock per packet.
 *  peer->lock (mutex): endpoint, timers, staged packets; taken once per peer
 *  per batch.
 *  The noise handshake, cookies and reliable state are touched by ctl only.
 */
#ifndef WS_DEVICE_H
#define WS_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/allowedips.h"
#include "core/cookie.h"
#include "core/fragment.h"
#include "core/index.h"
#include "core/noise.h"
#include "core/ratelimit.h"
#include "daemon/hslog.h"
#include "daemon/inbox.h"
#include "os/udp.h"
#include "os/workers.h"

enum ws_device_limits {
	WS_BATCH = 64,                 /* packets per TUN or UDP batch */
	WS_HEADROOM = 32,              /* room before a TUN packet for transport + frame headers */
	WS_BUF_SIZE = 65536 + 128,     /* one packet buffer */
};

struct ws_peer;
struct ws_resolver;

struct ws_device_stats {
	_Atomic uint64_t cookie_replies_sent, handshakes_rate_limited, inbox_dropped;
	_Atomic uint64_t tx_no_route, tx_no_session, rx_unknown_index, rx_bad_packet;
	_Atomic uint64_t tx_loop_dropped;  /* own packets routed back into the TUN */
	/* Named drops, one counter per exit of the pipelines (docs/control-socket.md) */
	_Atomic uint64_t drop_rx_replay, drop_rx_decrypt, drop_rx_bad_frame, drop_rx_unknown_channel;
	_Atomic uint64_t drop_rx_unknown_event, drop_rx_source, drop_rx_reassembly, drop_rx_tun_refused;
	_Atomic uint64_t drop_tx_bad_packet, drop_tx_too_big, drop_tx_staging_full, drop_tx_send_failed;
};

/* Count one drop (or n) of a named kind: relaxed, no lock. */
#define WS_DROP(dev, name) atomic_fetch_add_explicit(&(dev)->stats.name, 1, memory_order_relaxed)
#define WS_DROP_N(dev, name, n) atomic_fetch_add_explicit(&(dev)->stats.name, (n), memory_order_relaxed)

struct ws_device {
	char ifname[16];
	int tun_fd;
	bool vnet;                     /* TUN with virtio-net headers: TSO reads, GRO writes */
	bool uso;                      /* ... and UDP segmentation: UDP is coalesced too */
	struct ws_udp udp;
	uint16_t listen_port;
	uint32_t fwmark;
	uint16_t mtu, max_packet_size;
	unsigned n_workers;

	pthread_rwlock_t lock;
	struct ws_noise_local local;
	struct ws_cookie_checker cookie_checker;
	struct ws_ratelimit ratelimit;
	struct ws_load load;           /* ctl only: "under load" and its 1 s hold */
	struct ws_hslog hslog;         /* ctl only: dropped handshake messages, logged rate-limited */
	struct ws_allowedips aips;
	struct ws_index index;
	struct ws_peer *peers;         /* list, in the order peers were created */
	struct ws_peer *peers_last;    /* its tail (NULL when empty) */
	struct ws_peer **peer_hash;    /* by public key */
	unsigned n_peers, peer_hash_size;
	struct ws_frag_budget frag_budget;
	struct ws_resolver *resolver;  /* ctl: DNS names resolved off its thread (while ctl runs) */
	uint64_t resolve_gen;          /* ctl: last lookup submitted */

	struct ws_inbox inbox;
	struct ws_workers tx_workers, rx_workers;
	pthread_t tx_thread, rx_thread;
	int stop_efd;
	_Atomic bool stopping;
	struct ws_device_stats stats;
};

/* device.c */
/* Keys, tables and queues only (no TUN, socket or threads): ws_device_init's first step, and the unit tests'. */
int ws_device_init_tables(struct ws_device *dev, const uint8_t private_key[32]);
int ws_device_init(struct ws_device *dev, const char *ifname, const uint8_t private_key[32],
		   uint16_t listen_port, uint32_t fwmark, uint16_t mtu, uint16_t max_packet_size,
		   unsigned n_workers, bool offloads);
/*
 * The same with a TUN the caller opened (a test's socketpair end, which keeps
 * packet boundaries like a TUN fd: non-blocking, one packet per read and
 * write, each behind a virtio-net header with WS_DEVICE_TUN_VNET). dev owns
 * tun_fd from the call on (ws_device_destroy closes it, also after a failure).
 * name is only a label (logs, `get`); no link is touched, no fwmark set.
 */
enum ws_device_tun_flags { WS_DEVICE_TUN_VNET = 1, WS_DEVICE_TUN_USO = 2 };
int ws_device_init_fd(struct ws_device *dev, const char *name, int tun_fd, unsigned tun_flags,
		      const uint8_t private_key[32], uint16_t listen_port, uint16_t mtu,
		      uint16_t max_packet_size, unsigned n_workers);
int ws_device_start(struct ws_device *dev);
void ws_device_stop(struct ws_device *dev);
void ws_device_destroy(struct ws_device *dev);
int ws_device_set_fwmark(struct ws_device *dev, uint32_t fwmark);

#endif
