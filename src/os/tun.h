/* SPDX-License-Identifier: MIT */
/*
 * TUN device: one layer-3 interface (IFF_TUN | IFF_NO_PI) whose file
 * descriptors carry raw IPv4/IPv6 packets. Every fd is non-blocking and
 * close-on-exec. The interface lives as long as one of its fds is open.
 *
 * Flags beyond the defaults are passed through to TUNSETIFF, so a later
 * performance step can ask for WS_TUN_VNET_HDR (every packet then starts
 * with a struct virtio_net_hdr, see ws_tun_set_offload) and
 * WS_TUN_MULTI_QUEUE (one fd per queue, see ws_tun_open_queues).
 *
 * Every function returns 0 (or a count) on success and -errno on failure.
 * Nothing here allocates; the batch helpers work on caller-owned buffers.
 */
#ifndef WS_TUN_H
#define WS_TUN_H

#include <linux/if_tun.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ws_tun_flags {
	WS_TUN_VNET_HDR = IFF_VNET_HDR,
	WS_TUN_MULTI_QUEUE = IFF_MULTI_QUEUE,
	WS_TUN_FLAGS_ALLOWED = WS_TUN_VNET_HDR | WS_TUN_MULTI_QUEUE,
};

enum ws_tun_limits {
	WS_TUN_MAX_QUEUES = 64,
};

/* One packet buffer. For reads, data/cap are the caller's storage and len is
 * set to the packet length; for writes, data/len describe the packet. */
struct ws_iobuf {
	uint8_t *data;
	uint32_t len;
	uint32_t cap;
};

/*
 * Create (or attach to) the TUN interface `name` (NULL or "" lets the kernel
 * pick "tunN"). `flags` is 0 or an OR of enum ws_tun_flags. On success returns
 * the fd and, when ifname_out is not NULL, writes the interface's actual name.
 * -EINVAL for a name of IFNAMSIZ or more characters or an unknown flag.
 */
int ws_tun_open(const char *name, char ifname_out[IFNAMSIZ], int flags);

/*
 * Open `n` queues (1..WS_TUN_MAX_QUEUES) of one multi-queue interface into
 * fds[0..n-1]. WS_TUN_MULTI_QUEUE is implied. On failure, every fd opened
 * so far is closed and -errno returned; on success returns 0.
 */
int ws_tun_open_queues(const char *name, char ifname_out[IFNAMSIZ], int flags,
		       int *fds, int n);

/* With WS_TUN_VNET_HDR: set the virtio header size and the TUN_F_* offloads
 * the reader accepts (TUNSETVNETHDRSZ + TUNSETOFFLOAD). hdr_len 0 keeps the
 * kernel's default. */
int ws_tun_set_offload(int fd, unsigned int offloads, int hdr_len);

/* One packet: length read, or -EAGAIN when none is queued (never blocks). */
ssize_t ws_tun_read(int fd, void *buf, size_t len);

/* One packet: length written, or -errno (-EINVAL for a packet whose first
 * nibble is neither 4 nor 6, -EIO while the interface is down). */
ssize_t ws_tun_write(int fd, const void *buf, size_t len);

/*
 * Read up to n packets into bufs[i].data (capacity bufs[i].cap), setting
 * bufs[i].len. Stops at the first -EAGAIN. Returns the number read (0 when
 * nothing was queued), or -errno when the very first read failed otherwise;
 * an error after some packets is left for the next call to report.
 */
int ws_tun_read_batch(int fd, struct ws_iobuf *bufs, int n);

/*
 * Write bufs[0..n-1] in order. A packet the kernel rejects on its own merits
 * (-EINVAL, -EMSGSIZE, -ENOBUFS, -ENOMEM) is dropped, counted in *dropped
 * (may be NULL) and skipped. Stops at -EAGAIN or at any other error.
 * Returns how many packets were consumed (written or dropped); the caller
 * retries from that index. Returns -errno only when nothing was consumed
 * because of an error other than -EAGAIN.
 */
int ws_tun_write_batch(int fd, const struct ws_iobuf *bufs, int n,
		       unsigned int *dropped);

/* Close one fd (the interface goes away with its last fd). fd < 0 is a no-op. */
void ws_tun_close(int fd);

#endif
