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

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/allowedips.h"
#include "core/cookie.h"
#include "core/fragment.h"
#include "core/index.h"
#include "core/noise.h"
#include "core/ratelimit.h"
#include "core/reliable.h"
#include "core/session.h"
#include "core/timers.h"
#include "daemon/hslog.h"
#include "os/udp.h"
#include "os/workers.h"

enum ws_device_limits {
	WS_BATCH = 64,                 /* packets per TUN or UDP batch */
	WS_HEADROOM = 32,              /* room before a TUN packet for transport + frame headers */
	WS_BUF_SIZE = 65536 + 128,     /* one packet buffer */
	WS_STAGED_MAX = 32,            /* packets kept per peer while a handshake runs */
	WS_INBOX_SLOTS = 1024,         /* messages from rx to ctl */
	WS_INBOX_DATA = 1536,          /* bytes kept per inbox message */
	WS_UNDER_LOAD = WS_INBOX_SLOTS / 8, /* cookie replies above this many queued */
};

/* How long a new responder waits for the initiator's first frame before it speaks. */
#define WS_ANNOUNCE_DELAY_NS (20 * WS_NSEC_PER_MSEC)

enum ws_index_kind { WS_IDX_HANDSHAKE = 1, WS_IDX_SESSION = 2 };

struct ws_peer;
struct ws_resolver;
struct ws_resolver_answer;

struct ws_index_entry {
	enum ws_index_kind kind;
	struct ws_peer *peer;
	struct ws_slot *slot;          /* WS_IDX_SESSION only */
	uint32_t index;
	bool registered;
};

/* One of a peer's three session slots. */
struct ws_slot {
	struct ws_session s;
	struct ws_reassembler reasm;
	struct ws_index_entry entry;
	bool used;
	uint32_t next_frame_id;        /* tx thread: DataFragment frame ids */
	_Atomic bool confirm_sent;     /* rx thread told ctl about the first packet on "next" */
	_Atomic uint64_t confirm_lost; /* ... but the inbox was full: 1 << 32 | index, for ctl's tick */
	_Atomic bool dead;             /* a Disconnect arrived or it expired: no longer sent on */
};

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

struct ws_device_stats {
	_Atomic uint64_t cookie_replies_sent, handshakes_rate_limited, inbox_dropped;
	_Atomic uint64_t tx_no_route, tx_no_session, rx_unknown_index, rx_bad_packet;
	_Atomic uint64_t tx_loop_dropped;  /* own packets routed back into the TUN */
};

struct ws_device {
	char ifname[16];
	int tun_fd;
	bool vnet;                     /* TUN with virtio-net headers: TSO reads, GRO writes */
	bool uso;                      /* ... and UDP segmentation: UDP is coalesced too */
	struct ws_udp udp;
	int send_fd4, send_fd6;        /* for ctl's single sends */
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

uint64_t ws_now_ns(void);
uint64_t ws_unix_ns(void);

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
int ws_device_send_one(struct ws_device *dev, const void *buf, size_t len,
		       const struct sockaddr_storage *to);

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
/* An answer from dev->resolver: applied if still wanted, else dropped. */
void ws_peer_resolved(struct ws_device *dev, const struct ws_resolver_answer *a, uint64_t now);
void ws_peer_set_keepalive(struct ws_peer *peer, uint16_t seconds, uint64_t now);
struct ws_slot *ws_peer_slot_alloc(struct ws_peer *peer);                             /* write lock */
void ws_peer_slot_free(struct ws_peer *peer, struct ws_slot *slot);                  /* write lock */
void ws_peer_stage(struct ws_peer *peer, const uint8_t *pkt, size_t len);           /* peer->lock */
bool ws_peer_connected(struct ws_peer *peer, uint64_t now);                          /* peer->lock */
/* Run the peer's due timers (handshake, keepalive, expiry, control channel); next deadline. */
uint64_t ws_peer_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
/* peer_timers.c: timer hooks (peer->lock held) and the per-peer tick (ctl). */
void ws_peer_timers_init(struct ws_peer *peer);
void ws_peer_on_data_sent(struct ws_peer *peer, uint64_t counter, uint64_t now);
void ws_peer_on_data_received(struct ws_peer *peer, uint64_t now);
void ws_peer_on_auth_received(struct ws_peer *peer, uint64_t now);
void ws_peer_on_auth_sent(struct ws_peer *peer, uint64_t counter, uint64_t now);
void ws_peer_want_handshake(struct ws_peer *peer, uint64_t now);
bool ws_peer_may_send(struct ws_peer *peer, const struct ws_slot *slot, uint64_t now);
void ws_peer_on_handshake_sent(struct ws_peer *peer, uint64_t now);
/* dev->lock held for writing as well: */
bool ws_peer_on_session_up(struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
void ws_peer_on_session_confirmed(struct ws_peer *peer, uint64_t now);
void ws_peer_on_disconnect(struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
void ws_peer_sync_slots(struct ws_peer *peer);

/* inbox.c */
int ws_inbox_init(struct ws_inbox *in);
void ws_inbox_destroy(struct ws_inbox *in);
bool ws_inbox_push(struct ws_inbox *in, uint8_t kind, struct ws_peer *peer, struct ws_slot *slot,
		   const struct sockaddr_storage *addr, const void *data, size_t len);
/*
 * A channel-0 frame (info: its ws_frame_parse) for ctl. One longer than
 * WS_INBOX_DATA goes with its reliability fields only, its events dropped
 * and counted in rx_dropped, so ctl still ACKs its Seq.
 */
struct ws_frame_info;
bool ws_inbox_push_control(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot,
			   const uint8_t *frame, size_t len, const struct ws_frame_info *info);
/* The first packet on peer's next slot: queued, or kept on the slot when the inbox is full (never lost). */
bool ws_inbox_push_confirm(struct ws_inbox *in, struct ws_peer *peer, struct ws_slot *slot);
bool ws_inbox_pop(struct ws_inbox *in, struct ws_inbox_msg *out);
unsigned ws_inbox_count(struct ws_inbox *in);
void ws_inbox_forget_peer(struct ws_inbox *in, struct ws_peer *peer);

/* tx.c, rx.c */
void *ws_tx_thread(void *dev);
void *ws_rx_thread(void *dev);
/* rx thread: drop partial frames 20 s old and completed ones still held (DECISIONS 23). */
void ws_rx_expire_fragments(struct ws_device *dev, uint64_t now);
/* rx.c: one batch of the rx loop, for callers that drive a device without its threads (tests, fuzzing). */
struct rx_batch *ws_rx_batch_new(struct ws_device *dev);
void ws_rx_batch_free(struct rx_batch *b);
int ws_rx_batch_run(struct rx_batch *b, uint64_t now);

/* handshake.c (ctl thread) */
/* What became of the message; a drop is logged (hslog.h: rate-limited, info). */
enum ws_hs_verdict ws_handshake_receive(struct ws_device *dev, const struct ws_inbox_msg *msg,
					uint64_t now);
void ws_handshake_send_init(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
/* The responder's deferred hello and staged packets: now, if still pending. */
void ws_session_announce(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
void ws_session_confirm(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);
void ws_session_close(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now);

/* ctlchan.c (ctl thread): control channel 0 */
void ws_ctlchan_reset(struct ws_peer *peer);
void ws_ctlchan_session_up(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
void ws_ctlchan_receive(struct ws_device *dev, struct ws_peer *peer, const uint8_t *frame,
			size_t len, uint64_t now);
void ws_ctlchan_tick(struct ws_device *dev, struct ws_peer *peer, uint64_t now);
uint64_t ws_ctlchan_deadline(struct ws_peer *peer);
void ws_ctlchan_goodbye(struct ws_device *dev, struct ws_peer *peer, uint8_t reason);

/* send.c: sealing one packet outside the batch path (ctl thread) */
int ws_send_frame(struct ws_device *dev, struct ws_peer *peer, uint8_t type, const uint8_t *frame,
		  size_t len);

/* uapi.c: the control socket requests. Run one whole request req[0..n)
 * (n < 0: it could not be read, -errno) and build its reply, ending in
 * errno=N, in *out (initialised here; free it with ws_ipc_buf_free). */
struct ws_ipc_buf;
void ws_uapi_exec(struct ws_device *dev, char *req, ssize_t n, struct ws_ipc_buf *out);

#endif
