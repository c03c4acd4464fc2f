/* SPDX-License-Identifier: MIT */
/* The daemon's clocks (clock.h): any thread, no lock. */
#include <time.h>

#include "core/messages.h"
#include "os/clock.h"

uint64_t ws_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * WS_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t ws_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * WS_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}
