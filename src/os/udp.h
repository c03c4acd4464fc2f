/* SPDX-License-Identifier: MIT */
/*
 * The daemon's UDP endpoint: one dual-stack IPv6 socket (IPV6_V6ONLY=0)
 * bound to the wildcard address, or, where dual-stack is unavailable (or
 * WS_UDP_SPLIT is asked for), an IPv6-only and an IPv4 socket on the same
 * port, or only an IPv4 socket when the host has no IPv6. Sockets are
 * non-blocking and close-on-exec; buffers are raised to WS_UDP_BUF_BYTES
 * (SO_*BUFFORCE when permitted, else SO_*BUF up to the sysctl limit).
 *
 * Batches go through recvmmsg/sendmmsg with vectors preallocated in
 * struct ws_udp: nothing is allocated per packet. One thread may receive
 * while another sends on the same struct ws_udp (rx and tx use separate
 * vectors); two concurrent receivers (or senders) need two structs.
 *
 * Addresses given to and reported by this module are AF_INET for IPv4
 * (v4-mapped IPv6 sources are normalised) and AF_INET6 otherwise.
 */
#ifndef WS_UDP_H
#define WS_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

enum ws_udp_limits {
	WS_UDP_BATCH = 128,		/* most messages per batch call */
	WS_UDP_BUF_BYTES = 4 << 20,	/* asked-for SO_RCVBUF / SO_SNDBUF */
	WS_UDP_CTRL_BYTES = 64,		/* room for UDP_SEGMENT / UDP_GRO cmsgs */
	WS_UDP_PORT_TRIES = 16,		/* random port tries in split mode */
};

enum ws_udp_open_flags {
	WS_UDP_SPLIT = 1 << 0,	/* two sockets even if dual-stack works */
	WS_UDP_GRO = 1 << 1,	/* enable UDP_GRO: a received msg may hold several
				 * datagrams of `segment` bytes (the last may be
				 * shorter) */
};

/*
 * One datagram (or, with segment != 0, a run of equal-size datagrams).
 *  buf/cap: caller-owned storage (recv: capacity; send: unused).
 *  len:     recv: bytes received; send: bytes to send.
 *  segment: send: 0 for one datagram, else UDP_SEGMENT (GSO) size, the
 *           kernel splits buf into len/segment datagrams; recv: the UDP_GRO
 *           segment size, 0 when buf holds one datagram.
 *  addr:    recv: source; send: destination (AF_INET or AF_INET6).
 *  err:     0, or -errno for this message only (recv: -EMSGSIZE when the
 *           datagram was truncated; send: the error that dropped it).
 */
struct ws_udp_msg {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;
	uint16_t segment;
	int err;
	struct sockaddr_storage addr;
};

/* Kernel-facing scratch for one batch (one per direction). */
struct ws_udp_vec {
	struct mmsghdr hdr[WS_UDP_BATCH];
	struct iovec iov[WS_UDP_BATCH];
	struct sockaddr_in6 name[WS_UDP_BATCH];
	int8_t sock[WS_UDP_BATCH];	/* tx: enum ws_udp_sock, or -1 */
	union {
		struct cmsghdr align;
		uint8_t buf[WS_UDP_CTRL_BYTES];
	} ctrl[WS_UDP_BATCH];
};

enum ws_udp_sock { WS_UDP_SOCK6 = 0, WS_UDP_SOCK4 = 1, WS_UDP_NSOCK = 2 };

/* About 45 KB with its two vectors: embed it in a long-lived struct or
 * allocate it once, not on a small stack. */
struct ws_udp {
	int fd[WS_UDP_NSOCK];	/* fd[SOCK6] dual-stack or v6-only; fd[SOCK4]
				 * v4-only (split mode); -1 when absent */
	bool dual;		/* fd[SOCK6] also carries IPv4 */
	uint16_t port;		/* bound port, host order */
	uint32_t fwmark;	/* SO_MARK, 0 = none */
	int rcvbuf, sndbuf;	/* effective sizes reported by the kernel */
	unsigned int flags;	/* enum ws_udp_open_flags as opened */
	unsigned int rx_next;	/* split mode: which socket to read first */
	struct ws_udp_vec rx, tx;
};

/*
 * Open the endpoint on `port` (host order; 0 picks a random port, then
 * reported in u->port). fwmark != 0 sets SO_MARK (needs CAP_NET_ADMIN).
 * On failure nothing is left open. Returns 0 or -errno.
 */
int ws_udp_open(struct ws_udp *u, uint16_t port, uint32_t fwmark, unsigned int flags);

/*
 * The socket for a destination and the kernel's name for it, for every send
 * (batch and single): IPv6 on fd[SOCK6]; IPv4 v4-mapped (::ffff:a.b.c.d) on a
 * dual-stack fd[SOCK6], else on fd[SOCK4]; a v4-mapped IPv6 destination
 * without a dual-stack socket goes as plain IPv4 on fd[SOCK4] (a v6-only
 * socket cannot reach it). Returns the slot (WS_UDP_SOCK4/6) or
 * -EAFNOSUPPORT when u has no socket for it.
 */
int ws_udp_dest(const struct ws_udp *u, const struct sockaddr_storage *dst,
		struct sockaddr_in6 *name, socklen_t *namelen);

/* Set (or with 0 clear) SO_MARK on every socket of u. Returns 0 or -errno. */
int ws_udp_set_mark(struct ws_udp *u, uint32_t fwmark);

/*
 * Receive up to n (<= WS_UDP_BATCH) datagrams without blocking. Fills
 * msgs[i].len, .addr, .segment and .err for i < return value. Returns the
 * count (0 when nothing is queued) or -errno on a socket error with nothing
 * received. In split mode both sockets are read, starting alternately.
 */
int ws_udp_recv_batch(struct ws_udp *u, struct ws_udp_msg *msgs, int n);

/*
 * Send msgs[0..n-1] (n <= WS_UDP_BATCH) in order without blocking. A message
 * the kernel refuses on its own merits (no route, bad address, too big,
 * permission, queue drop) gets .err set and counts as consumed. Stops when
 * the socket buffer is full (EAGAIN). Returns the number consumed (sent or
 * failed; 0 when the buffer was already full), so the caller retries from
 * that index once the socket is writable, or -errno (-EBADF, -EFAULT, ...)
 * when nothing was consumed because of a socket-wide error.
 */
int ws_udp_send_batch(struct ws_udp *u, struct ws_udp_msg *msgs, int n);

/* Close every socket (idempotent). */
void ws_udp_close(struct ws_udp *u);

#endif
