/* SPDX-License-Identifier: MIT */
/*
 * The transmit pipeline's batch (tx.c). The tx thread loops over
 * ws_tx_batch_run(); tests call it directly with a socket or pipe as the
 * device's TUN fd.
 */
#ifndef WS_TX_H
#define WS_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ws_device;
struct ws_tx_batch;

/* The tx thread: ws_tx_batch_run() until the device stops. */
void *ws_tx_thread(void *dev);

/* Everything one batch needs, allocated once for dev (dev->vnet, mtu and
 * max_packet_size must be set). NULL when out of memory. */
struct ws_tx_batch *ws_tx_batch_new(struct ws_device *dev);
void ws_tx_batch_free(struct ws_tx_batch *b);

/*
 * One batch: read what dev->tun_fd has (up to a batch), route, frame, seal
 * and send it. Returns the number of reads taken (> 0), -EAGAIN when there
 * was nothing to read, or another -errno from the read. A super-packet that
 * does not fit the batch is carried over: the next call sends the rest first.
 */
int ws_tx_batch_run(struct ws_tx_batch *b, uint64_t now);

/*
 * Is pkt (an IP packet read from the TUN) one of the daemon's own sealed
 * packets routed back into the TUN: a UDP datagram (IPv4, not a later
 * fragment, or IPv6 with UDP as the first next header) from listen_port to
 * exactly endpoint's address and port? The tx thread drops those (a routing
 * loop) for the peer the packet routes to. Reads only pkt[0, len).
 */
bool ws_tx_is_own_packet(const uint8_t *pkt, size_t len, uint16_t listen_port,
			 const struct sockaddr_storage *endpoint);

#endif
