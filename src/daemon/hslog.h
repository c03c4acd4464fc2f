/* SPDX-License-Identifier: MIT */
/*
 * Why the handshake thread drops a handshake message, and the rate-limited
 * log line that says so: at most one line per reason every
 * WS_HSLOG_INTERVAL_NS, with a count of those left out meanwhile, so a
 * wrong key is diagnosable from the log and a flood costs no more than one
 * line per reason per interval (DECISIONS 18: nothing is logged per packet).
 * Pure: time comes from the caller. Not thread-safe (the ctl thread only).
 */
#ifndef WS_HSLOG_H
#define WS_HSLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

enum ws_hs_verdict {
	WS_HS_ACCEPTED = 0,      /* consumed: a session, or a cookie stored */
	WS_HS_BAD_MAC1,          /* not made for our public key */
	WS_HS_COOKIE_SENT,       /* under load without a valid MAC2: answered with a CookieReply */
	WS_HS_RATE_LIMITED,      /* under load, over its source's rate */
	WS_HS_MALFORMED,         /* reserved bytes not zero */
	WS_HS_DECRYPT,           /* decryption failed */
	WS_HS_UNKNOWN_PEER,      /* a static key that is not a configured peer's */
	WS_HS_CLOCK,             /* timestamp more than 180 s from our clock */
	WS_HS_REPLAY,            /* timestamp not newer than that peer's latest */
	WS_HS_NOT_OURS,          /* a response or cookie for no handshake of ours */
	WS_HS_NO_ROOM,           /* no index left for a new session */
	WS_HS_VERDICTS
};

#define WS_HSLOG_INTERVAL_NS (10 * WS_NSEC_PER_SEC)

struct ws_hslog {
	uint64_t last_ns[WS_HS_VERDICTS];
	uint32_t suppressed[WS_HS_VERDICTS];
	bool logged[WS_HS_VERDICTS];
};

/*
 * Should a drop for v at now_ns be logged? When it returns true, *left_out
 * is how many drops for v were not logged since the previous line. Never
 * true for WS_HS_ACCEPTED or an unknown v.
 */
bool ws_hslog_due(struct ws_hslog *l, enum ws_hs_verdict v, uint64_t now_ns, uint32_t *left_out);

/* What v means, for the log line ("" for WS_HS_ACCEPTED or an unknown v). */
const char *ws_hslog_reason(enum ws_hs_verdict v);

#endif
