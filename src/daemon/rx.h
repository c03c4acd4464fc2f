/* SPDX-License-Identifier: MIT */
/*
 * The receive pipeline (rx.c). The rx thread loops over ws_rx_batch_run();
 * tests and fuzzers call it directly on a device without its threads.
 */
#ifndef WS_RX_H
#define WS_RX_H

#include <stdint.h>

struct ws_device;
struct rx_batch;

void *ws_rx_thread(void *dev);
/* rx thread: drop partial frames 20 s old and completed ones still held (DECISIONS 23). */
void ws_rx_expire_fragments(struct ws_device *dev, uint64_t now);
/* One batch of the rx loop, for callers that drive a device without its threads (tests, fuzzing). */
struct rx_batch *ws_rx_batch_new(struct ws_device *dev);
void ws_rx_batch_free(struct rx_batch *b);
int ws_rx_batch_run(struct rx_batch *b, uint64_t now);

#endif
