/* SPDX-License-Identifier: MIT */
/*
 * Handshake rate limiter (the idea of WireGuard's ratelimiter.c): a token
 * bucket per source, WS_RATELIMIT_PER_SECOND handshake messages per second
 * with a burst of WS_RATELIMIT_BURST. A source is an IPv4 address or an IPv6
 * /64; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket
 * reports IPv4 senders) counts as its IPv4 address. Whether to consult the
 * limiter at all (e.g. only under load, after MAC2) is the daemon's decision.
 *
 * Tokens are nanoseconds of credit: each message costs PACKET_COST_NS, the
 * bucket holds at most TOKEN_MAX_NS and refills one token per nanosecond of
 * elapsed time. A source seen for the first time is allowed and starts with a
 * full bucket minus one message.
 *
 * Bounds: max_entries sources, all memory allocated by init (about 44 bytes
 * per entry); nothing is allocated afterwards. Garbage collection is lazy: on
 * the first call after now has advanced by more than WS_RATELIMIT_GC_NS since
 * the last collection, sources idle for more than WS_RATELIMIT_IDLE_NS are
 * forgotten (oldest first, O(number forgotten)); their buckets were full, so
 * forgetting them changes no decision. When the table is full, a new source
 * takes the least recently seen entry if that one's bucket is full again
 * (idle >= TOKEN_MAX_NS, also exact); otherwise the new source is refused
 * (as WireGuard does), so the limiter never admits more than its rate.
 *
 * Buckets are found through SipHash-2-4 keyed with the caller's random key, so
 * remote senders cannot aim at one hash chain.
 *
 * Concurrency: no locks inside; every call (allow included, it writes) must be
 * serialised by the caller, e.g. under one mutex.
 */
#ifndef WS_RATELIMIT_H
#define WS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

enum {
	WS_RATELIMIT_PER_SECOND = 20,
	WS_RATELIMIT_BURST = 5,
	WS_RATELIMIT_DEFAULT_ENTRIES = 8192,
	WS_RATELIMIT_MAX_ENTRIES = 1 << 20,
	WS_RATELIMIT_KEY_LEN = 16,
};

#define WS_RATELIMIT_PACKET_COST_NS (WS_NSEC_PER_SEC / WS_RATELIMIT_PER_SECOND)
#define WS_RATELIMIT_TOKEN_MAX_NS (WS_RATELIMIT_PACKET_COST_NS * WS_RATELIMIT_BURST)
#define WS_RATELIMIT_GC_NS WS_NSEC_PER_SEC
#define WS_RATELIMIT_IDLE_NS WS_NSEC_PER_SEC

struct ws_rl_entry;

struct ws_ratelimit {
	struct ws_rl_entry *entries;   /* max_entries, allocated by init */
	uint32_t *buckets;             /* hash chain heads (entry number or NIL) */
	uint32_t bucket_mask;
	uint32_t max_entries;
	uint32_t count;                /* sources tracked now */
	uint32_t free_head;            /* unused entries, chained */
	uint32_t lru_head, lru_tail;   /* least / most recently seen */
	uint64_t last_gc_ns;
	uint64_t key[2];
};

/*
 * max_entries: 0 for WS_RATELIMIT_DEFAULT_ENTRIES, else 1..WS_RATELIMIT_MAX_ENTRIES.
 * hash_key: WS_RATELIMIT_KEY_LEN random bytes (e.g. from ws_random).
 * Returns 0, -EINVAL or -ENOMEM.
 */
int ws_ratelimit_init(struct ws_ratelimit *rl, size_t max_entries,
		      const uint8_t hash_key[WS_RATELIMIT_KEY_LEN]);
void ws_ratelimit_free(struct ws_ratelimit *rl);

/*
 * May a handshake message from family/addr (AF_INET: 4 bytes, AF_INET6: 16,
 * network order) be processed at now_ns (monotonic)? Consumes a token when it
 * returns true. false also for an unknown family or a NULL addr.
 */
bool ws_ratelimit_allow(struct ws_ratelimit *rl, int family, const uint8_t *addr, uint64_t now_ns);

/* Bytes allocated by init. */
size_t ws_ratelimit_memory(const struct ws_ratelimit *rl);

/*
 * "Under load" with hysteresis (WireGuard's last_under_load): once the
 * handshake queue was deep, the daemon stays under load for WS_LOAD_HOLD_NS
 * after it was last seen deep, so a handshake message that arrives between
 * two bursts of a flood still needs MAC2 and passes the rate limit. Pure:
 * deep is the caller's queue test, now_ns its monotonic clock. A clock that
 * went backwards counts as within the hold (fail closed).
 */
#define WS_LOAD_HOLD_NS WS_NSEC_PER_SEC

struct ws_load {
	uint64_t last_deep_ns;
	bool seen;                     /* the queue has been deep at least once */
};

bool ws_load_under(struct ws_load *l, bool deep, uint64_t now_ns);

#endif
