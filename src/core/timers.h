/* SPDX-License-Identifier: MIT */
/*
 * Per-peer timers and session lifecycle (spec 7.3; DECISIONS 15, 19, 20, 21,
 * 25, 28, 29, 30, 34). A sans-I/O state machine in the style of boringtun's
 * update_timers and WireGuard's timers.c: the daemon calls a hook when
 * something happens, calls ws_timers_tick() when ws_timers_next_deadline()
 * is reached, and performs the actions tick returns. The module holds
 * timestamps and flags only: no sessions, keys, clock or randomness (the
 * handshake jitter is drawn by the caller). Not thread-safe: the caller
 * serialises every call on one struct (the peer's lock).
 *
 * Times are monotonic nanoseconds and must not go backwards between calls.
 * Every hook takes now_ns; a hook that creates a session takes the new
 * session's birth, which is now.
 *
 * The sessions (DECISIONS 28). The module mirrors the daemon's three slots
 * (previous, current, next; WireGuard's keypair slots) by their birth times;
 * the daemon moves its own slots the same way and can check itself against
 * ws_timers_session(). Data is sent on current only.
 *
 *   event                              previous    current      next
 *   handshake_complete (we initiated)  next ?: cur  new          none
 *   session_created_responder:
 *     current live -> returns false    none        (unchanged)  new
 *     no live current -> returns true  none        new          none
 *   next_confirmed                     current     next         none
 *   disconnect_received(slot)          that slot emptied
 *   tick -> EXPIRE_SESSIONS            slots 240 s old emptied; all of
 *                                      them after 180 s without any
 *                                      authenticated packet received
 * Whenever current is emptied and next holds a session, next becomes current
 * (DECISIONS 19: with no other live session the responder sends on it).
 * A live session is a current one younger than WS_REJECT_AFTER_TIME_NS
 * whose peer was heard within WS_SESSION_TIMEOUT_NS.
 *
 * Keepalive, DECISIONS 21: "send one when no Data/DataFragment was sent or
 * received for KeepaliveInterval, at most once per interval". Read here as
 * WireGuard's passive keepalive, i.e. from the side that receives: data
 * arrived and, for KeepaliveInterval since it first went unanswered, nothing
 * authenticated was sent back -> one Keepalive; only data received after it
 * arms the next one, so there is at most one per interval. Both directions
 * idle -> nothing to answer -> no keepalive (an idle tunnel is silent unless
 * PersistentKeepalive is set). Data both ways -> none. Data one way -> the
 * receiver sends one every KeepaliveInterval, which is what keeps the
 * sender's dead-session rule (DECISIONS 29: data sent and nothing
 * authenticated back for 15 s) quiet. The literal reading (a keepalive every
 * 10 s while both directions are idle, as the Go reference) is not used: it
 * sends none during one-way traffic, so that rule would re-handshake every
 * 15 s. Receiving a Keepalive never arms one (spec 7.3).
 *
 * Handshake attempts (DECISIONS 29, 30). A handshake is wanted when data waits
 * without a usable session (want_handshake), when the current session is
 * dead, when it needs a rekey, or, for a persistent peer, whenever there is
 * no current session. The first HandshakeInit goes at once (but never within
 * WS_REKEY_TIMEOUT_NS of the previous one); while unanswered it is resent
 * every WS_REKEY_TIMEOUT_NS + jitter. A CookieReply does not hasten the retry.
 * A non-persistent peer gives up at the first retry falling
 * WS_TIMERS_ATTEMPT_TIME_NS (90 s, WireGuard's REKEY_ATTEMPT_TIME) after the
 * last time something wanted a handshake: want_handshake, a send that needs a
 * rekey, or the dead-session rule (which data sent re-arms, so data still
 * going into a dead session keeps the attempts alive); a persistent peer never
 * gives up.
 *
 * Rekey (DECISIONS 29): only when current is ours (we initiated it): on
 * sending any authenticated packet on it once it is WS_REKEY_AFTER_TIME_NS
 * old or its counter reached WS_REKEY_AFTER_MESSAGES; and, once per session,
 * on receiving one when it is WS_TIMERS_LASTMINUTE_NS (225 s) old
 * (WireGuard's receive-side rule, REJECT - KEEPALIVE - REKEY_TIMEOUT).
 *
 * Key confirmation (DECISIONS 19): after handshake_complete the initiator owes
 * the responder a packet on the new session; if the daemon sends nothing on
 * it before the next tick, tick returns SEND_KEEPALIVE (as WireGuard does).
 */
#ifndef WS_TIMERS_H
#define WS_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

/* Our own constants (not the spec's). */
#define WS_TIMERS_ATTEMPT_TIME_NS (90 * WS_NSEC_PER_SEC) /* give up (non-persistent) */
#define WS_TIMERS_WIPE_AFTER_NS (3 * WS_REJECT_AFTER_TIME_NS) /* 720 s: zero key material */
#define WS_TIMERS_LASTMINUTE_NS \
	(WS_REJECT_AFTER_TIME_NS - WS_KEEPALIVE_INTERVAL_NS - WS_REKEY_TIMEOUT_NS) /* 225 s */
#define WS_TIMERS_NEVER UINT64_MAX

enum ws_timers_slot {
	WS_TIMERS_PREV = 0,
	WS_TIMERS_CUR = 1,
	WS_TIMERS_NEXT = 2,
	WS_TIMERS_SLOTS = 3,
};

/* Bits returned by ws_timers_tick(). */
enum ws_timers_action {
	/* Send a HandshakeInit now, then call ws_timers_handshake_initiated(). */
	WS_TIMERS_SEND_HANDSHAKE_INIT = 1u << 0,
	/* Send a Keepalive on current, then call ws_timers_packet_sent(). */
	WS_TIMERS_SEND_KEEPALIVE = 1u << 1,
	/* Re-resolve a DNS Endpoint before this HandshakeInit: the previous
	 * attempt got no answer (DECISIONS 30). Never twice within 5 s. */
	WS_TIMERS_RESOLVE_ENDPOINT = 1u << 2,
	/* Sessions expired: drop every slot ws_timers_session() no longer
	 * reports (and promote next to current as it does). */
	WS_TIMERS_EXPIRE_SESSIONS = 1u << 3,
	/* Non-persistent peer: stop retrying and drop the staged packets. */
	WS_TIMERS_GIVE_UP = 1u << 4,
	/* 720 s without new key material: wipe the handshake state, the
	 * cookie and any session left (WireGuard's zero_key_material). */
	WS_TIMERS_WIPE = 1u << 5,
};

/* Per-peer state: timestamps and flags only (about 120 bytes). Fields are
 * private to timers.c; a zeroed struct is a valid initial state. */
struct ws_timers {
	uint64_t birth[WS_TIMERS_SLOTS]; /* session birth per slot */
	uint64_t rx_auth;        /* last authenticated packet received (or session birth) */
	uint64_t traversal;      /* last authenticated packet sent or received */
	uint64_t rx_unanswered;  /* first Data received since our last authenticated send */
	uint64_t tx_unacked;     /* first Data sent since our last authenticated receive */
	uint64_t hs_sent;        /* last HandshakeInit sent */
	uint64_t hs_retry;       /* retry time of the outstanding HandshakeInit */
	uint64_t want_at;        /* a handshake is wanted since */
	uint64_t want_last;      /* data last wanted one (give-up clock) */
	uint64_t resolved;       /* last RESOLVE_ENDPOINT */
	uint64_t keys_at;        /* last key material created (init sent, session born) */
	uint64_t handshake;      /* birth of the newest session made current */
	uint32_t flags;
	uint16_t persistent_s;   /* PersistentKeepalive in seconds, 0 = off */
};

void ws_timers_init(struct ws_timers *t);

/* --- hooks: record what happened -------------------------------------- */

/* Data or DataFragment sent on current with this counter (implies packet_sent). */
void ws_timers_data_sent(struct ws_timers *t, uint64_t counter, uint64_t now_ns);
/* Authenticated Data or DataFragment received (implies packet_received). */
void ws_timers_data_received(struct ws_timers *t, uint64_t now_ns);
/* Any authenticated transport packet sent on current: Data, DataFragment,
 * Keepalive, Disconnect (counter: the one it used). */
void ws_timers_packet_sent(struct ws_timers *t, uint64_t counter, uint64_t now_ns);
/* Any authenticated transport packet received on any slot, Keepalive and
 * Disconnect included: resets the session-timeout clock (DECISIONS 21). */
void ws_timers_packet_received(struct ws_timers *t, uint64_t now_ns);
/* Data waits and there is no usable session (DECISIONS 29). Call again for
 * later packets: that keeps a non-persistent peer from giving up. */
void ws_timers_want_handshake(struct ws_timers *t, uint64_t now_ns);
/* A HandshakeInit was sent; jitter_ns drawn by the caller in
 * [0, WS_REKEY_JITTER_NS] (larger values are clamped). */
void ws_timers_handshake_initiated(struct ws_timers *t, uint64_t jitter_ns, uint64_t now_ns);
/* Our HandshakeResp was consumed: a new current session born now. */
void ws_timers_handshake_complete(struct ws_timers *t, uint64_t now_ns);
/* We answered a HandshakeInit: a session born now. Returns true when it is
 * current and may send at once (no other live session), false when it waits
 * in next for the initiator's first packet on it (DECISIONS 19). */
bool ws_timers_session_created_responder(struct ws_timers *t, uint64_t now_ns);
/* The first authenticated packet arrived on next: it becomes current. */
void ws_timers_next_confirmed(struct ws_timers *t, uint64_t now_ns);
/* A valid CookieReply for the outstanding HandshakeInit arrived. */
void ws_timers_cookie_received(struct ws_timers *t, uint64_t now_ns);
/* A Disconnect arrived on that slot (also for any other closing of it, e.g.
 * an exhausted counter). Call ws_timers_packet_received() for it as well. */
void ws_timers_disconnect_received(struct ws_timers *t, enum ws_timers_slot slot, uint64_t now_ns);
/* PersistentKeepalive set, in seconds; 0 turns it off. */
void ws_timers_persistent_keepalive_set(struct ws_timers *t, uint16_t interval_s, uint64_t now_ns);

/* --- the clock --------------------------------------------------------- */

/*
 * Run what is due at now_ns; returns enum ws_timers_action bits. The actions
 * are taken as done at now_ns (a HandshakeInit with zero jitter, a Keepalive
 * as an authenticated send), so next_deadline() is later than now_ns after
 * every tick; the hooks then record the real values.
 */
uint32_t ws_timers_tick(struct ws_timers *t, uint64_t now_ns);
/* The earliest time tick has something to do; WS_TIMERS_NEVER if none. It may
 * be earlier than now (a hook made something due): tick at once. */
uint64_t ws_timers_next_deadline(const struct ws_timers *t);

/* --- queries ----------------------------------------------------------- */

/* A live current session exists (DECISIONS 25 resets reliable state when a
 * session comes up while this was false). */
bool ws_timers_live(const struct ws_timers *t, uint64_t now_ns);
/* DECISIONS 34: a live session and an authenticated packet received less than
 * WS_CONNECTED_WINDOW_NS (25 s) ago. */
bool ws_timers_connected(const struct ws_timers *t, uint64_t now_ns);
/* A session born at session_birth_ns may still send: younger than
 * WS_REJECT_AFTER_TIME_NS (240 s) and the peer heard within 180 s. */
bool ws_timers_may_send(const struct ws_timers *t, uint64_t session_birth_ns, uint64_t now_ns);
/* The slot holds a session; its birth in *birth_ns (may be NULL). */
bool ws_timers_session(const struct ws_timers *t, enum ws_timers_slot slot, uint64_t *birth_ns);
/* Monotonic time of the latest handshake (birth of the newest session that
 * became current) for `ws show`; false if none yet. */
bool ws_timers_last_handshake(const struct ws_timers *t, uint64_t *mono_ns);

#endif
