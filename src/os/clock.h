/* SPDX-License-Identifier: MIT */
/* The daemon's clocks (any thread, no lock): monotonic for timers, wall clock for handshake timestamps. */
#ifndef WS_CLOCK_H
#define WS_CLOCK_H

#include <stdint.h>

uint64_t ws_now_ns(void);   /* CLOCK_MONOTONIC, ns */
uint64_t ws_unix_ns(void);  /* CLOCK_REALTIME, ns since 1970 */

#endif
