/* SPDX-License-Identifier: MIT */
/* Reasons for dropped handshake messages and their rate-limited log (hslog.h).
 * Threads and locks: ctl thread only (dev->hslog is ctl's); no lock. */
#include "daemon/hslog.h"

bool ws_hslog_due(struct ws_hslog *l, enum ws_hs_verdict v, uint64_t now_ns, uint32_t *left_out)
{
	if (v <= WS_HS_ACCEPTED || v >= WS_HS_VERDICTS)
		return false;
	if (l->logged[v] && now_ns >= l->last_ns[v] && now_ns - l->last_ns[v] < WS_HSLOG_INTERVAL_NS) {
		if (l->suppressed[v] < UINT32_MAX)
			l->suppressed[v]++;
		return false;
	}
	*left_out = l->suppressed[v];
	l->suppressed[v] = 0;
	l->last_ns[v] = now_ns;
	l->logged[v] = true;
	return true;
}

const char *ws_hslog_reason(enum ws_hs_verdict v)
{
	static const char *const text[WS_HS_VERDICTS] = {
		[WS_HS_ACCEPTED] = "",
		[WS_HS_BAD_MAC1] = ("bad MAC1: it was not made for our public key "
				    "(the sender has a wrong public key for us, or is no wiresocket peer)"),
		[WS_HS_COOKIE_SENT] = "under load and no valid MAC2: answered with a cookie",
		[WS_HS_RATE_LIMITED] = "under load: rate-limited",
		[WS_HS_MALFORMED] = "malformed (reserved bytes not zero)",
		[WS_HS_DECRYPT] = "decryption failed",
		[WS_HS_UNKNOWN_PEER] = "unknown peer (its public key is not configured here)",
		[WS_HS_CLOCK] = "timestamp more than 180 s from our clock (check both clocks)",
		[WS_HS_REPLAY] = "replayed (timestamp not newer than that peer's latest)",
		[WS_HS_NOT_OURS] = "it answers no handshake of ours (late, duplicate or forged)",
		[WS_HS_NO_ROOM] = "no room for a new session",
	};

	return v >= WS_HS_ACCEPTED && v < WS_HS_VERDICTS ? text[v] : "";
}
