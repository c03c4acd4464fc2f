/* SPDX-License-Identifier: MIT */
/*
 * Two daemon devices in one process, wired together without root: their UDP
 * endpoints on loopback (ephemeral ports, each the other's Endpoint
 * 127.0.0.1:PORT) and, in place of each TUN fd, one end of an AF_UNIX
 * SOCK_DGRAM socketpair, which keeps packet boundaries as a TUN does (each
 * packet behind a virtio-net header when that side has offloads). The test
 * holds the other end: what it writes there the device reads from "its TUN",
 * and what the device writes to its TUN the test reads.
 *
 * Two ways to run a pipe:
 *  - threaded: each device runs its tx and rx threads and a ctl thread
 *    (ws_ctl_run) with its control socket under a temporary directory, as
 *    wsd does; the test waits with timeouts;
 *  - synchronous: no threads at all; ws_pipe_pump() runs each device's rx
 *    batch, inbox (the ctl thread's work) and tx batch in turn until nothing
 *    moves, so a fuzzer gets deterministic, fast iterations.
 *
 * Overlay addresses (tests/RULES: 198.19.0.0/16, fd19::/48): side A owns
 * 198.19.1.0/24 and fd19:0:0:1::/64, side B 198.19.2.0/24 and fd19:0:0:2::/64,
 * and each device has the other as its one peer with those AllowedIPs.
 *
 * Also "an independent peer": ws_pipe_seal()/ws_pipe_send_sealed() seal any
 * plaintext on one side's current session (a valid tag and counter) and send
 * it to the other side, bypassing that side's own framing.
 */
#ifndef WS_PIPE_HARNESS_H
#define WS_PIPE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/device.h"
#include "daemon/peer.h"
#include "daemon/rx.h"
#include "daemon/tx.h"

struct ws_pipe_end {
	struct ws_device dev;
	int tun;                       /* the test's end of this device's TUN */
	struct ws_peer *peer;          /* the other side, as this device's peer */
	struct ws_pipe_end *other;
	int side;                      /* 0: A, 1: B */
	int listen_fd;                 /* control socket (threaded mode) */
	char sock_path[108];
	pthread_t ctl;
	bool started, ctl_running;
	struct ws_tx_batch *txb;          /* synchronous mode */
	struct rx_batch *rxb;
};

struct ws_pipe_opts {
	unsigned flags_a, flags_b;     /* WS_DEVICE_TUN_VNET, WS_DEVICE_TUN_USO */
	uint16_t mtu;                  /* 0: 1400 */
	uint16_t max_packet_size;      /* 0: the default for the MTU */
	unsigned workers;              /* per direction; 0: 1 */
	bool threads;                  /* threaded mode (else synchronous) */
};

struct ws_pipe {
	struct ws_pipe_end a, b;
	bool threads;
	char dir[64];                  /* temporary directory of the control sockets */
};

/* Set up both devices and peers (no session yet). 0 or -errno; *out freed by ws_pipe_close. */
int ws_pipe_open(struct ws_pipe **out, const struct ws_pipe_opts *o);
void ws_pipe_close(struct ws_pipe *p);

/* Overlay address `host` of side (0 A, 1 B): 4 or 16 bytes. */
void ws_pipe_addr(int side, int family, uint8_t host, uint8_t *out);

/*
 * Write one packet to side e's TUN (as the kernel would hand it to the
 * daemon): with offloads on, vnet (10 bytes; NULL: an all-zero header, i.e. a
 * plain packet) goes in front. 0 or -errno.
 */
int ws_pipe_tun_write(struct ws_pipe_end *e, const void *vnet, const void *pkt, size_t len);
/* Raw bytes (a whole TUN read: header included when e has offloads). */
int ws_pipe_tun_write_raw(struct ws_pipe_end *e, const void *buf, size_t len);
/*
 * Read one packet the device wrote to its TUN, waiting up to timeout_ms
 * (0: only what is queued; synchronous mode pumps meanwhile). Returns its
 * length (the vnet header, when e has offloads, included in buf), or
 * -ETIMEDOUT / -errno.
 */
ssize_t ws_pipe_tun_read(struct ws_pipe *p, struct ws_pipe_end *e, void *buf, size_t cap, int timeout_ms);
/* Read and discard whatever the device wrote; calls check(ctx, buf, len) on each (may be NULL). */
unsigned ws_pipe_tun_drain(struct ws_pipe_end *e, void (*check)(void *ctx, const uint8_t *buf, size_t len),
			   void *ctx);

/*
 * Synchronous mode: run rx batch, inbox and tx batch of both sides in turn
 * until a round moves nothing or max_rounds pass (then the peers' timers run
 * once too when tick is set). Returns the number of rounds that did work.
 */
unsigned ws_pipe_pump(struct ws_pipe *p, unsigned max_rounds, bool tick);

/*
 * A handshake that `from` initiates. Threaded: a UDP packet from `from`'s
 * TUN starts it as traffic would and must come out of the other TUN;
 * synchronous: a HandshakeInit is sent at once and the pipe is pumped.
 * Then both sides must hold a current session. 0 or -ETIMEDOUT.
 */
int ws_pipe_handshake(struct ws_pipe *p, struct ws_pipe_end *from, int timeout_ms);
/* Both sides hold a current session for each other (read under dev->lock). */
bool ws_pipe_connected(struct ws_pipe *p);

/*
 * The control socket: send req (a whole message, "get=1\n\n"), return the
 * reply (malloc'd, NUL-terminated) in *reply. Threaded: over e's socket;
 * synchronous: ws_ipc_requests_exec on the request. 0 or -errno.
 */
int ws_pipe_request(struct ws_pipe *p, struct ws_pipe_end *e, const char *req, char **reply);
/* In a `get` reply: the value of key in the block of the peer with public key `peer` (NULL: the interface). */
bool ws_pipe_reply_u64(const char *reply, const uint8_t *peer, const char *key, uint64_t *out);

/*
 * Seal plain[0, len) as a transport packet of `type` (WS_MSG_DATA ...) with
 * `counter` (UINT64_MAX: the session's next) on from's current session, into
 * out (cap >= len + 32). Returns the packet length, or -ENOTCONN (no current
 * session), -EINVAL (what ws_session_seal refuses), -ENOSPC.
 */
ssize_t ws_pipe_seal(struct ws_pipe_end *from, uint8_t type, uint64_t counter, const void *plain,
		     size_t len, uint8_t *out, size_t cap, uint64_t *counter_used);
/* ws_pipe_seal with the next counter, then sent from from's UDP socket to the other side. */
int ws_pipe_send_sealed(struct ws_pipe_end *from, uint8_t type, const void *plain, size_t len);
/* Any datagram, from from's UDP socket to the other side's port. 0 or -errno. */
int ws_pipe_send_raw(struct ws_pipe_end *from, const void *buf, size_t len);
/*
 * The independent peer's ears (synchronous mode): take the next datagram
 * addressed to e before e's rx sees it, waiting up to timeout_ms, and open it
 * with e's session for its receiver_index (replay window updated). Returns
 * the plaintext length with *type and *plain (into buf) set; -EAGAIN when
 * none came, -ENOENT for a handshake message or an unknown index (still
 * consumed), -EINVAL / -EBADMSG / -EALREADY as ws_session_open, -EOPNOTSUPP
 * in threaded mode.
 */
ssize_t ws_pipe_recv_open(struct ws_pipe *p, struct ws_pipe_end *e, uint8_t *buf, size_t cap, uint8_t *type,
			  uint8_t **plain, int timeout_ms);
/* Synchronous mode: rx batch, inbox and tx batch of e alone, until quiet (the other side sleeps). */
unsigned ws_pipe_pump_end(struct ws_pipe *p, struct ws_pipe_end *e, unsigned max_rounds);

/* --- packets for tests and seeds (complete checksums) --------------------------- */

/* IPv4/IPv6 UDP from side `from` host 1 to side `to` host 1. Returns the length or 0 when cap is short. */
size_t ws_pipe_build_udp(uint8_t *out, size_t cap, int family, int from, int to, uint16_t sport,
			 uint16_t dport, const uint8_t *payload, size_t len);
/* IPv4/IPv6 TCP (20-byte header, ACK|flags). */
size_t ws_pipe_build_tcp(uint8_t *out, size_t cap, int family, int from, int to, uint32_t seq,
			 uint8_t flags, const uint8_t *payload, size_t len);
/*
 * Turn a TCP packet built above into a super-packet as the kernel hands it
 * over with TSO: vnet header (NEEDS_CSUM, gso_type TCPV4/TCPV6, gso_size) in
 * vnet[10], and the TCP checksum field replaced by the folded pseudo-header sum.
 */
void ws_pipe_make_tso(uint8_t *pkt, size_t len, uint16_t gso_size, uint8_t vnet[10]);

#endif
