/* SPDX-License-Identifier: MIT */
/*
 * Per-peer timers (see timers.h for the rules and the DECISIONS they follow).
 *
 * Shape: every timer is a due time computed from the recorded timestamps by
 * one due_*() function. ws_timers_next_deadline() is the minimum of them and
 * ws_timers_tick() runs, in a fixed order, exactly the steps whose due time
 * has come, each of which moves its own due time past now. So a tick before
 * the deadline changes nothing, and the deadline is never stale.
 */
#include <string.h>

#include "core/timers.h"

enum {
	/* Bits 0..2: slot present (1 << enum ws_timers_slot). */
	F_SLOTS = 0x7u,
	F_CUR_MINE = 1u << 3,    /* we initiated current */
	F_WANT = 1u << 4,        /* a handshake is wanted (want_at, want_last valid) */
	F_PENDING = 1u << 5,     /* a HandshakeInit is outstanding (hs_retry valid) */
	F_SENT_ANY = 1u << 6,    /* hs_sent valid */
	F_FAILED = 1u << 7,      /* the last attempt got no answer */
	F_COOKIE = 1u << 8,      /* a CookieReply answered the outstanding attempt */
	F_RESOLVED = 1u << 9,    /* resolved valid */
	F_UNANSWERED = 1u << 10, /* rx_unanswered valid */
	F_UNACKED = 1u << 11,    /* tx_unacked valid */
	F_RX = 1u << 12,         /* rx_auth valid */
	F_TRAV = 1u << 13,       /* traversal valid */
	F_KEYS = 1u << 14,       /* keys_at valid: there is material to wipe */
	F_HANDSHAKE = 1u << 15,  /* handshake valid */
	F_CONFIRM = 1u << 16,    /* initiator owes a packet on its new current */
	F_LASTMINUTE = 1u << 17, /* receive-side rekey done for current */
};

static uint64_t add(uint64_t a, uint64_t b)
{
	return a > WS_TIMERS_NEVER - b ? WS_TIMERS_NEVER : a + b;
}

static uint64_t min2(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool has(const struct ws_timers *t, uint32_t f)
{
	return (t->flags & f) == f;
}

static uint32_t slot_bit(enum ws_timers_slot s)
{
	return 1u << s;
}

static bool slot_has(const struct ws_timers *t, enum ws_timers_slot s)
{
	return has(t, slot_bit(s));
}

static void slot_set(struct ws_timers *t, enum ws_timers_slot s, uint64_t birth)
{
	t->birth[s] = birth;
	t->flags |= slot_bit(s);
}

/* Empty a slot; what belonged to current goes with it. */
static void slot_clear(struct ws_timers *t, enum ws_timers_slot s)
{
	t->birth[s] = 0;
	t->flags &= ~slot_bit(s);
	if (s == WS_TIMERS_CUR)
		t->flags &= ~(F_CUR_MINE | F_CONFIRM | F_LASTMINUTE);
}

/* A handshake is wanted (since now, if it was not already); want_last is the
 * give-up clock. */
static void set_want(struct ws_timers *t, uint64_t now)
{
	if (!has(t, F_WANT))
		t->want_at = now;
	t->flags |= F_WANT;
	t->want_last = now;
}

/* Current (empty) gets a usable session: nothing more to handshake for. */
static void make_current(struct ws_timers *t, uint64_t birth, bool mine)
{
	slot_set(t, WS_TIMERS_CUR, birth);
	t->flags &= ~(F_WANT | F_PENDING | F_COOKIE | F_FAILED);
	if (mine)
		t->flags |= F_CUR_MINE | F_CONFIRM;
	t->handshake = birth;
	t->flags |= F_HANDSHAKE;
}

/* After slots were emptied: promote next (DECISIONS 19), forget per-session
 * debts when nothing is left, and a persistent peer wants a new session. */
static void after_drop(struct ws_timers *t, uint64_t now)
{
	if (!slot_has(t, WS_TIMERS_CUR) && slot_has(t, WS_TIMERS_NEXT)) {
		uint64_t b = t->birth[WS_TIMERS_NEXT];

		slot_clear(t, WS_TIMERS_NEXT);
		make_current(t, b, false);
	}
	if (!(t->flags & F_SLOTS))
		t->flags &= ~(F_UNANSWERED | F_UNACKED);
	if (!slot_has(t, WS_TIMERS_CUR) && t->persistent_s)
		set_want(t, now);
}

static void note_key_material(struct ws_timers *t, uint64_t now)
{
	t->keys_at = now;
	t->flags |= F_KEYS;
}

/* Any authenticated packet received (a handshake message that makes a session included). */
static void note_rx(struct ws_timers *t, uint64_t now)
{
	t->rx_auth = now;
	t->traversal = now;
	t->flags |= F_RX | F_TRAV;
	t->flags &= ~(F_UNACKED | F_FAILED);
}

static bool cur_mine(const struct ws_timers *t)
{
	return has(t, slot_bit(WS_TIMERS_CUR) | F_CUR_MINE);
}

/* Current is ours and at least this old. */
static bool cur_mine_aged(const struct ws_timers *t, uint64_t age, uint64_t now)
{
	return cur_mine(t) && now >= add(t->birth[WS_TIMERS_CUR], age);
}

/* Any authenticated packet sent on current; rekey check (DECISIONS 29). */
static void note_tx(struct ws_timers *t, uint64_t counter, uint64_t now)
{
	t->traversal = now;
	t->flags |= F_TRAV;
	t->flags &= ~(F_UNANSWERED | F_CONFIRM);
	if (cur_mine_aged(t, WS_REKEY_AFTER_TIME_NS, now) ||
	    (cur_mine(t) && counter >= WS_REKEY_AFTER_MESSAGES))
		set_want(t, now);
}

void ws_timers_init(struct ws_timers *t)
{
	memset(t, 0, sizeof(*t));
}

/* --- hooks --------------------------------------------------------------- */

void ws_timers_packet_sent(struct ws_timers *t, uint64_t counter, uint64_t now_ns)
{
	note_tx(t, counter, now_ns);
}

void ws_timers_data_sent(struct ws_timers *t, uint64_t counter, uint64_t now_ns)
{
	note_tx(t, counter, now_ns);
	if (!has(t, F_UNACKED)) {
		t->tx_unacked = now_ns;
		t->flags |= F_UNACKED;
	}
}

void ws_timers_packet_received(struct ws_timers *t, uint64_t now_ns)
{
	note_rx(t, now_ns);
	if (!has(t, F_LASTMINUTE) && cur_mine_aged(t, WS_TIMERS_LASTMINUTE_NS, now_ns)) {
		t->flags |= F_LASTMINUTE;
		set_want(t, now_ns);
	}
}

void ws_timers_data_received(struct ws_timers *t, uint64_t now_ns)
{
	ws_timers_packet_received(t, now_ns);
	if (!has(t, F_UNANSWERED)) {
		t->rx_unanswered = now_ns;
		t->flags |= F_UNANSWERED;
	}
}

void ws_timers_want_handshake(struct ws_timers *t, uint64_t now_ns)
{
	set_want(t, now_ns);
}

void ws_timers_handshake_initiated(struct ws_timers *t, uint64_t jitter_ns, uint64_t now_ns)
{
	if (jitter_ns > WS_REKEY_JITTER_NS)
		jitter_ns = WS_REKEY_JITTER_NS;
	t->hs_sent = now_ns;
	t->hs_retry = add(now_ns, WS_REKEY_TIMEOUT_NS + jitter_ns);
	t->flags |= F_PENDING | F_SENT_ANY;
	t->flags &= ~F_COOKIE;
	note_key_material(t, now_ns);
}

void ws_timers_handshake_complete(struct ws_timers *t, uint64_t now_ns)
{
	/* WireGuard's add_new_keypair for the initiator. */
	if (slot_has(t, WS_TIMERS_NEXT))
		slot_set(t, WS_TIMERS_PREV, t->birth[WS_TIMERS_NEXT]);
	else if (slot_has(t, WS_TIMERS_CUR))
		slot_set(t, WS_TIMERS_PREV, t->birth[WS_TIMERS_CUR]);
	else
		slot_clear(t, WS_TIMERS_PREV);
	slot_clear(t, WS_TIMERS_NEXT);
	slot_clear(t, WS_TIMERS_CUR);
	make_current(t, now_ns, true);
	note_rx(t, now_ns);
	note_key_material(t, now_ns);
}

bool ws_timers_session_created_responder(struct ws_timers *t, uint64_t now_ns)
{
	bool live = ws_timers_live(t, now_ns);

	note_rx(t, now_ns);
	note_key_material(t, now_ns);
	slot_clear(t, WS_TIMERS_PREV);
	if (live) {
		slot_set(t, WS_TIMERS_NEXT, now_ns);
		return false;
	}
	slot_clear(t, WS_TIMERS_NEXT);
	slot_clear(t, WS_TIMERS_CUR);
	make_current(t, now_ns, false);
	return true;
}

void ws_timers_next_confirmed(struct ws_timers *t, uint64_t now_ns)
{
	uint64_t b = t->birth[WS_TIMERS_NEXT];

	(void)now_ns;
	if (!slot_has(t, WS_TIMERS_NEXT))
		return;
	if (slot_has(t, WS_TIMERS_CUR))
		slot_set(t, WS_TIMERS_PREV, t->birth[WS_TIMERS_CUR]);
	else
		slot_clear(t, WS_TIMERS_PREV);
	slot_clear(t, WS_TIMERS_NEXT);
	slot_clear(t, WS_TIMERS_CUR);
	make_current(t, b, false);
}

void ws_timers_cookie_received(struct ws_timers *t, uint64_t now_ns)
{
	(void)now_ns;
	/* The endpoint answers; the retry keeps its time (DECISIONS 29). */
	if (has(t, F_PENDING))
		t->flags |= F_COOKIE;
}

void ws_timers_disconnect_received(struct ws_timers *t, enum ws_timers_slot slot, uint64_t now_ns)
{
	if ((unsigned)slot >= WS_TIMERS_SLOTS || !slot_has(t, slot))
		return;
	slot_clear(t, slot);
	after_drop(t, now_ns);
}

void ws_timers_persistent_keepalive_set(struct ws_timers *t, uint16_t interval_s, uint64_t now_ns)
{
	t->persistent_s = interval_s;
	if (interval_s && !slot_has(t, WS_TIMERS_CUR))
		set_want(t, now_ns);
}

/* --- due times -------------------------------------------------------------- */

static uint64_t due_expire(const struct ws_timers *t)
{
	uint64_t d;

	if (!(t->flags & F_SLOTS))
		return WS_TIMERS_NEVER;
	d = add(t->rx_auth, WS_SESSION_TIMEOUT_NS);
	for (int s = 0; s < WS_TIMERS_SLOTS; s++)
		if (slot_has(t, s))
			d = min2(d, add(t->birth[s], WS_REJECT_AFTER_TIME_NS));
	return d;
}

static uint64_t due_dead(const struct ws_timers *t)
{
	return has(t, F_UNACKED) ? add(t->tx_unacked, WS_DEAD_SESSION_NS) : WS_TIMERS_NEVER;
}

static uint64_t due_keepalive(const struct ws_timers *t)
{
	uint64_t d = WS_TIMERS_NEVER;

	if (!slot_has(t, WS_TIMERS_CUR))
		return d;
	if (has(t, F_UNANSWERED))
		d = add(t->rx_unanswered, WS_KEEPALIVE_INTERVAL_NS);
	if (has(t, F_CONFIRM))
		d = min2(d, t->birth[WS_TIMERS_CUR]);
	if (t->persistent_s && has(t, F_TRAV))
		d = min2(d, add(t->traversal, t->persistent_s * WS_NSEC_PER_SEC));
	return d;
}

static uint64_t due_handshake(const struct ws_timers *t)
{
	uint64_t d;

	if (has(t, F_PENDING))
		return t->hs_retry;
	if (!has(t, F_WANT))
		return WS_TIMERS_NEVER;
	d = t->want_at;
	if (has(t, F_SENT_ANY) && add(t->hs_sent, WS_REKEY_TIMEOUT_NS) > d)
		d = add(t->hs_sent, WS_REKEY_TIMEOUT_NS);
	return d;
}

static uint64_t due_wipe(const struct ws_timers *t)
{
	return has(t, F_KEYS) ? add(t->keys_at, WS_TIMERS_WIPE_AFTER_NS) : WS_TIMERS_NEVER;
}

uint64_t ws_timers_next_deadline(const struct ws_timers *t)
{
	uint64_t d = due_expire(t);

	d = min2(d, due_dead(t));
	d = min2(d, due_keepalive(t));
	d = min2(d, due_handshake(t));
	return min2(d, due_wipe(t));
}

/* --- tick steps: each runs only when due and moves its due time past now ---- */

static uint32_t step_expire(struct ws_timers *t, uint64_t now)
{
	if (due_expire(t) > now)
		return 0;
	for (int s = 0; s < WS_TIMERS_SLOTS; s++)
		if (slot_has(t, s) && (add(t->rx_auth, WS_SESSION_TIMEOUT_NS) <= now ||
				       add(t->birth[s], WS_REJECT_AFTER_TIME_NS) <= now))
			slot_clear(t, s);
	after_drop(t, now);
	return WS_TIMERS_EXPIRE_SESSIONS;
}

/* Data sent and nothing authenticated back for 15 s: handshake (DECISIONS 29). */
static void step_dead(struct ws_timers *t, uint64_t now)
{
	if (due_dead(t) > now)
		return;
	t->flags &= ~F_UNACKED; /* re-armed by the next data sent */
	set_want(t, now);
}

static uint32_t step_keepalive(struct ws_timers *t, uint64_t now)
{
	if (due_keepalive(t) > now)
		return 0;
	note_tx(t, 0, now);
	return WS_TIMERS_SEND_KEEPALIVE;
}

/* The outstanding attempt's retry time came without a HandshakeResp. */
static void end_attempt(struct ws_timers *t)
{
	if (!has(t, F_COOKIE))
		t->flags |= F_FAILED; /* no answer at all: DECISIONS 30 resolves */
	t->flags &= ~(F_PENDING | F_COOKIE);
}

static uint32_t send_init(struct ws_timers *t, uint64_t now)
{
	uint32_t act = WS_TIMERS_SEND_HANDSHAKE_INIT;

	if (has(t, F_FAILED) &&
	    (!has(t, F_RESOLVED) || now >= add(t->resolved, WS_REKEY_TIMEOUT_NS))) {
		act |= WS_TIMERS_RESOLVE_ENDPOINT;
		t->resolved = now;
		t->flags |= F_RESOLVED;
	}
	ws_timers_handshake_initiated(t, 0, now); /* the hook sets the real jitter */
	return act;
}

static uint32_t step_handshake(struct ws_timers *t, uint64_t now)
{
	if (due_handshake(t) > now)
		return 0;
	if (has(t, F_PENDING)) {
		end_attempt(t);
		if (!has(t, F_WANT))
			return 0; /* nothing wants it any more: lapse */
		if (!t->persistent_s && now >= add(t->want_last, WS_TIMERS_ATTEMPT_TIME_NS)) {
			t->flags &= ~F_WANT;
			return WS_TIMERS_GIVE_UP;
		}
	}
	return send_init(t, now);
}

/* Nothing new for 3 x RejectAfterTime: every session is long gone (each dies
 * 240 s after its birth, which refreshed keys_at); wipe what is left. */
static uint32_t step_wipe(struct ws_timers *t, uint64_t now)
{
	if (due_wipe(t) > now)
		return 0;
	t->flags &= ~(F_KEYS | F_PENDING | F_COOKIE);
	return WS_TIMERS_WIPE;
}

uint32_t ws_timers_tick(struct ws_timers *t, uint64_t now_ns)
{
	uint32_t act = step_expire(t, now_ns);

	step_dead(t, now_ns);
	act |= step_keepalive(t, now_ns);
	act |= step_handshake(t, now_ns);
	return act | step_wipe(t, now_ns);
}

/* --- queries ----------------------------------------------------------------- */

bool ws_timers_live(const struct ws_timers *t, uint64_t now_ns)
{
	return slot_has(t, WS_TIMERS_CUR) &&
	       ws_timers_may_send(t, t->birth[WS_TIMERS_CUR], now_ns);
}

bool ws_timers_connected(const struct ws_timers *t, uint64_t now_ns)
{
	return ws_timers_live(t, now_ns) && now_ns < add(t->rx_auth, WS_CONNECTED_WINDOW_NS);
}

bool ws_timers_may_send(const struct ws_timers *t, uint64_t session_birth_ns, uint64_t now_ns)
{
	return now_ns < add(session_birth_ns, WS_REJECT_AFTER_TIME_NS) && has(t, F_RX) &&
	       now_ns < add(t->rx_auth, WS_SESSION_TIMEOUT_NS);
}

bool ws_timers_session(const struct ws_timers *t, enum ws_timers_slot slot, uint64_t *birth_ns)
{
	if ((unsigned)slot >= WS_TIMERS_SLOTS || !slot_has(t, slot))
		return false;
	if (birth_ns)
		*birth_ns = t->birth[slot];
	return true;
}

bool ws_timers_last_handshake(const struct ws_timers *t, uint64_t *mono_ns)
{
	if (!has(t, F_HANDSHAKE))
		return false;
	*mono_ns = t->handshake;
	return true;
}
