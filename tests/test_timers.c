/* SPDX-License-Identifier: MIT */
/*
 * Per-peer timers on a fake clock: every expected time is exact in ns.
 * T0 is an arbitrary non-zero start; S and MS are a second and a millisecond.
 */
#include <string.h>

#include "core/timers.h"
#include "test.h"

#define S WS_NSEC_PER_SEC
#define MS WS_NSEC_PER_MSEC
#define T0 (1000 * S)

enum {
	INIT = WS_TIMERS_SEND_HANDSHAKE_INIT,
	KEEP = WS_TIMERS_SEND_KEEPALIVE,
	RESOLVE = WS_TIMERS_RESOLVE_ENDPOINT,
	EXPIRE = WS_TIMERS_EXPIRE_SESSIONS,
	GIVE_UP = WS_TIMERS_GIVE_UP,
	WIPE = WS_TIMERS_WIPE,
	LOG_MAX = 1024,
};

/* A minimal daemon: runs the clock and does what tick asks. */
struct sim {
	struct ws_timers t;
	uint64_t now;
	uint64_t jitter;        /* used for every HandshakeInit */
	uint64_t counter;
	int n;
	uint64_t at[LOG_MAX];
	uint32_t act[LOG_MAX];
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	ws_timers_init(&s->t);
	s->now = T0;
}

/* Tick at every deadline up to and including until; log the actions. */
static void run_until(struct sim *s, uint64_t until)
{
	for (;;) {
		uint64_t d = ws_timers_next_deadline(&s->t);
		uint32_t a;

		if (d > until)
			break;
		if (d < s->now)
			d = s->now;
		s->now = d;
		a = ws_timers_tick(&s->t, d);
		CU_ASSERT_TRUE_FATAL(ws_timers_next_deadline(&s->t) > d);
		if (a) {
			CU_ASSERT_TRUE_FATAL(s->n < LOG_MAX);
			s->at[s->n] = d;
			s->act[s->n++] = a;
		}
		if (a & INIT)
			ws_timers_handshake_initiated(&s->t, s->jitter, d);
		if (a & KEEP)
			ws_timers_packet_sent(&s->t, s->counter++, d);
	}
	s->now = until;
}

/* Index of the first logged action with these bits at or after from, or -1. */
static int find(const struct sim *s, uint32_t bits, int from)
{
	for (int i = from; i < s->n; i++)
		if (s->act[i] & bits)
			return i;
	return -1;
}

static int count(const struct sim *s, uint32_t bits)
{
	int c = 0;

	for (int i = 0; i < s->n; i++)
		c += !!(s->act[i] & bits);
	return c;
}

/* An initiator session born at s->now with its confirmation already sent. */
static void initiator_session(struct sim *s)
{
	ws_timers_handshake_complete(&s->t, s->now);
	ws_timers_data_sent(&s->t, s->counter++, s->now);
}

static void test_fresh_state(void)
{
	struct ws_timers t;
	uint64_t x;

	ws_timers_init(&t);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), WS_TIMERS_NEVER);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0), 0);
	CU_ASSERT_FALSE(ws_timers_live(&t, T0));
	CU_ASSERT_FALSE(ws_timers_connected(&t, T0));
	CU_ASSERT_FALSE(ws_timers_last_handshake(&t, &x));
	for (int i = 0; i < WS_TIMERS_SLOTS; i++)
		CU_ASSERT_FALSE(ws_timers_session(&t, i, &x));
	CU_ASSERT_FALSE(ws_timers_session(&t, WS_TIMERS_SLOTS, &x));
	CU_ASSERT_TRUE(sizeof(t) <= 128);
}

static void test_first_handshake(void)
{
	struct ws_timers t;

	ws_timers_init(&t);
	ws_timers_want_handshake(&t, T0 + 1);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 1);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 1), INIT); /* no RESOLVE: nothing failed */
	ws_timers_handshake_initiated(&t, 7 * MS, T0 + 1);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 1 + 5 * S + 7 * MS);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 2 * S), 0);
	/* More data while the attempt runs changes nothing. */
	ws_timers_want_handshake(&t, T0 + 3 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 1 + 5 * S + 7 * MS);
	ws_timers_handshake_complete(&t, T0 + 3 * S);
	CU_ASSERT_TRUE(ws_timers_live(&t, T0 + 3 * S));
	CU_ASSERT_TRUE(ws_timers_connected(&t, T0 + 3 * S));
}

static void test_retry_with_jitter(void)
{
	static const uint64_t jit[] = { 0, 333 * MS, 1, 100 * MS, 999 * S /* clamped */ };
	struct ws_timers t;
	uint64_t now = T0;

	ws_timers_init(&t);
	ws_timers_want_handshake(&t, now);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, now), INIT);
	for (unsigned i = 0; i < sizeof(jit) / sizeof(jit[0]); i++) {
		uint64_t j = jit[i] > WS_REKEY_JITTER_NS ? WS_REKEY_JITTER_NS : jit[i];
		uint64_t due = now + WS_REKEY_TIMEOUT_NS + j;

		ws_timers_handshake_initiated(&t, jit[i], now);
		ws_timers_want_handshake(&t, now); /* data keeps waiting */
		CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), due);
		CU_ASSERT_EQUAL(ws_timers_tick(&t, due - 1), 0);
		/* Each retry follows a failed attempt: re-resolve (>= 5 s apart). */
		CU_ASSERT_EQUAL(ws_timers_tick(&t, due), INIT | RESOLVE);
		now = due;
	}
}

static void test_give_up_non_persistent(void)
{
	struct sim s;
	int i;

	sim_init(&s);
	ws_timers_want_handshake(&s.t, T0);
	run_until(&s, T0 + 1000 * S);
	/* Attempts at T0, T0+5 s, ..., T0+85 s; give up at the retry at T0+90 s
	 * (the first one WS_TIMERS_ATTEMPT_TIME_NS after the last want). */
	CU_ASSERT_EQUAL(count(&s, INIT), 18);
	for (i = 0; i < 18; i++) {
		CU_ASSERT_EQUAL(s.at[i], T0 + (uint64_t)i * 5 * S);
		CU_ASSERT_EQUAL(s.act[i], i ? INIT | RESOLVE : INIT);
	}
	CU_ASSERT_EQUAL(s.at[18], T0 + 90 * S);
	CU_ASSERT_EQUAL(s.act[18], GIVE_UP);
	/* Then only the wipe, 3 x RejectAfterTime after the last HandshakeInit. */
	CU_ASSERT_EQUAL(s.n, 20);
	CU_ASSERT_EQUAL(s.at[19], T0 + 85 * S + WS_TIMERS_WIPE_AFTER_NS);
	CU_ASSERT_EQUAL(s.act[19], WIPE);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), WS_TIMERS_NEVER);

	/* New data later starts again at once, re-resolving (last one failed). */
	ws_timers_want_handshake(&s.t, s.now);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, s.now), INIT | RESOLVE);

	/* More data pushes the give-up: last want at T0+50 s -> give up at T0+140 s. */
	sim_init(&s);
	ws_timers_want_handshake(&s.t, T0);
	run_until(&s, T0 + 50 * S);
	ws_timers_want_handshake(&s.t, T0 + 50 * S);
	run_until(&s, T0 + 200 * S);
	i = find(&s, GIVE_UP, 0);
	CU_ASSERT_TRUE_FATAL(i > 0);
	CU_ASSERT_EQUAL(s.at[i], T0 + 140 * S);
	CU_ASSERT_EQUAL(count(&s, INIT), 28);
}

/* Data keeps going into a dead session until T0+145 s: retries continue
 * while the dead-session rule keeps re-firing (last at T0+152 s), then stop
 * at the first retry 90 s later. The session itself times out at T0+181 s. */
static void test_give_up_dead_session(void)
{
	struct sim s;
	int i;

	sim_init(&s);
	initiator_session(&s);
	ws_timers_packet_received(&s.t, T0 + 1 * S);
	for (uint64_t k = 2; k <= 145; k++) {
		run_until(&s, T0 + k * S);
		ws_timers_data_sent(&s.t, s.counter++, T0 + k * S);
	}
	run_until(&s, T0 + 400 * S);
	CU_ASSERT_EQUAL(s.at[0], T0 + 17 * S);
	CU_ASSERT_EQUAL(s.act[0], INIT);
	i = find(&s, GIVE_UP, 0);
	CU_ASSERT_TRUE_FATAL(i > 0);
	CU_ASSERT_EQUAL(s.at[i], T0 + 242 * S);
	CU_ASSERT_EQUAL(find(&s, EXPIRE, 0) >= 0 ? s.at[find(&s, EXPIRE, 0)] : 0, T0 + 181 * S);
	CU_ASSERT_EQUAL(count(&s, INIT), 45); /* T0+17 s .. T0+237 s */
	CU_ASSERT_EQUAL(count(&s, RESOLVE), 44);
}

static void test_persistent_retries_forever(void)
{
	struct sim s;

	sim_init(&s);
	s.jitter = 333 * MS;
	ws_timers_persistent_keepalive_set(&s.t, 25, T0); /* no session: wants one */
	run_until(&s, T0 + 3600 * S);
	CU_ASSERT_EQUAL(count(&s, GIVE_UP), 0);
	CU_ASSERT_EQUAL(count(&s, KEEP), 0); /* no session: nothing to keep alive */
	CU_ASSERT_EQUAL(count(&s, WIPE), 0);  /* fresh key material every attempt */
	CU_ASSERT_EQUAL(count(&s, INIT), s.n);
	for (int i = 0; i < s.n; i++)
		CU_ASSERT_EQUAL(s.at[i], T0 + (uint64_t)i * (5 * S + 333 * MS));
	CU_ASSERT_EQUAL(s.n, (int)(3600 * S / (5 * S + 333 * MS)) + 1);

	/* Turning it off: the peer then gives up like any other. */
	ws_timers_persistent_keepalive_set(&s.t, 0, s.now);
	s.n = 0;
	run_until(&s, s.now + 200 * S);
	CU_ASSERT_EQUAL(count(&s, GIVE_UP), 1);
}

static void test_keepalive_one_way(void)
{
	static const uint64_t want[] = { 11, 21, 31, 41, 51, 61 };
	struct sim s;

	sim_init(&s);
	initiator_session(&s);
	/* Data arrives every second from T0+1 s to T0+60 s; we send none. */
	for (uint64_t k = 1; k <= 60; k++) {
		run_until(&s, T0 + k * S);
		ws_timers_data_received(&s.t, T0 + k * S);
	}
	run_until(&s, T0 + 120 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 6);
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(s.at[i], T0 + want[i] * S);
		CU_ASSERT_EQUAL(s.act[i], KEEP);
	}

	/* The other end: we send data one way and hear only keepalives back:
	 * we send no keepalive, and the session is not dead. */
	sim_init(&s);
	initiator_session(&s);
	for (uint64_t k = 1; k <= 100; k++) {
		run_until(&s, T0 + k * S);
		ws_timers_data_sent(&s.t, s.counter++, T0 + k * S);
		if (k % 10 == 0)
			ws_timers_packet_received(&s.t, T0 + k * S);
	}
	CU_ASSERT_EQUAL(s.n, 0);
}

static void test_keepalive_once_per_interval(void)
{
	struct sim s;

	sim_init(&s);
	initiator_session(&s);
	ws_timers_data_received(&s.t, T0 + 1 * S);
	ws_timers_data_received(&s.t, T0 + 5 * S);
	run_until(&s, T0 + 11 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.at[0], T0 + 11 * S); /* 10 s after the first unanswered one */
	/* Data at T0+11.5 s re-arms: not before T0+21.5 s. */
	ws_timers_data_received(&s.t, T0 + 11 * S + 500 * MS);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 21 * S + 500 * MS);
	/* Answering it with data cancels the keepalive. */
	run_until(&s, T0 + 15 * S);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 15 * S);
	ws_timers_packet_received(&s.t, T0 + 16 * S); /* the peer's ack */
	run_until(&s, T0 + 100 * S);
	CU_ASSERT_EQUAL(s.n, 1);

	/* A received Keepalive arms nothing (spec 7.3). */
	ws_timers_packet_received(&s.t, T0 + 101 * S);
	run_until(&s, T0 + 150 * S);
	CU_ASSERT_EQUAL(s.n, 1);
}

static void test_no_keepalive_when_idle(void)
{
	struct sim s;

	/* Responder session, nothing sent or received: silence, then expiry. */
	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 180 * S);
	run_until(&s, T0 + 180 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.act[0], EXPIRE);
	CU_ASSERT_EQUAL(s.at[0], T0 + 180 * S);

	/* Initiator: only the key-confirmation keepalive it owes at birth. */
	sim_init(&s);
	ws_timers_handshake_complete(&s.t, T0);
	run_until(&s, T0 + 179 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.act[0], KEEP);
	CU_ASSERT_EQUAL(s.at[0], T0);

	/* Data both ways every second: no keepalive, no handshake. */
	sim_init(&s);
	initiator_session(&s);
	for (uint64_t k = 1; k <= 170; k++) {
		run_until(&s, T0 + k * S);
		ws_timers_data_received(&s.t, T0 + k * S);
		ws_timers_data_sent(&s.t, s.counter++, T0 + k * S + 100 * MS);
	}
	run_until(&s, T0 + 175 * S);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void test_persistent_keepalive(void)
{
	struct sim s;

	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	ws_timers_persistent_keepalive_set(&s.t, 25, T0);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 25 * S);
	run_until(&s, T0 + 60 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.at[0], T0 + 25 * S);
	CU_ASSERT_EQUAL(s.at[1], T0 + 50 * S);
	CU_ASSERT_EQUAL(s.act[0] | s.act[1], KEEP);
	/* Any authenticated packet either way restarts the interval. */
	ws_timers_packet_received(&s.t, T0 + 60 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 85 * S);
	ws_timers_packet_sent(&s.t, 99, T0 + 70 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 95 * S);
	ws_timers_persistent_keepalive_set(&s.t, 0, T0 + 71 * S);
	/* Off: silence until the session timeout, 180 s after T0+60 s. */
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 240 * S);
}

static void test_dead_session(void)
{
	struct sim s;
	int i;

	sim_init(&s);
	initiator_session(&s);
	ws_timers_packet_received(&s.t, T0 + 1 * S);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 2 * S);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 9 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 17 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 17 * S - 1), 0);
	s.now = T0 + 17 * S;
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, s.now), INIT);
	ws_timers_handshake_initiated(&s.t, 0, s.now);

	/* The data keeps going; retries every 5 s, re-resolving (DECISIONS 30). */
	for (uint64_t k = 18; k <= 40; k++) {
		run_until(&s, T0 + k * S);
		ws_timers_data_sent(&s.t, s.counter++, T0 + k * S);
	}
	CU_ASSERT_EQUAL(s.n, 4);
	for (i = 0; i < s.n; i++) {
		CU_ASSERT_EQUAL(s.at[i], T0 + (22 + 5 * (uint64_t)i) * S);
		CU_ASSERT_EQUAL(s.act[i], INIT | RESOLVE);
	}

	/* Anything authenticated back in time: not dead. */
	sim_init(&s);
	initiator_session(&s);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 1 * S);
	ws_timers_packet_received(&s.t, T0 + 15 * S - 1); /* first unacked: T0 */
	run_until(&s, T0 + 100 * S);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void test_rekey_initiator_only(void)
{
	struct sim s;

	/* Initiator: a send at 180 s - 1 ns does nothing, one at 180 s rekeys. */
	sim_init(&s);
	initiator_session(&s);
	for (uint64_t k = 10; k <= 170; k += 10) {
		run_until(&s, T0 + k * S);
		ws_timers_packet_received(&s.t, T0 + k * S);
	}
	run_until(&s, T0 + 180 * S - 1);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 180 * S - 1);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 180 * S - 1), 0);
	ws_timers_data_sent(&s.t, s.counter++, T0 + 180 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 180 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 180 * S), INIT);

	/* Only when sending: receiving alone on an old session does nothing ... */
	sim_init(&s);
	initiator_session(&s);
	for (uint64_t k = 10; k <= 220; k += 10) {
		run_until(&s, T0 + k * S);
		ws_timers_packet_received(&s.t, T0 + k * S);
	}
	run_until(&s, T0 + 224 * S);
	ws_timers_packet_received(&s.t, T0 + 224 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 224 * S), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	/* ... until WireGuard's last-minute rule, once, at 240 - 10 - 5 = 225 s. */
	ws_timers_packet_received(&s.t, T0 + 225 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 225 * S), INIT);
	ws_timers_handshake_complete(&s.t, T0 + 226 * S);
	ws_timers_packet_received(&s.t, T0 + 227 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 227 * S), KEEP); /* confirmation */

	/* RekeyAfterMessages: by the counter, at any age. */
	sim_init(&s);
	initiator_session(&s);
	ws_timers_data_sent(&s.t, WS_REKEY_AFTER_MESSAGES - 1, T0 + 1 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 1 * S), 0);
	ws_timers_data_sent(&s.t, WS_REKEY_AFTER_MESSAGES, T0 + 2 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 2 * S), INIT);

	/* Responder: never, by age or counter. */
	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	for (uint64_t k = 10; k <= 230; k += 10) {
		run_until(&s, T0 + k * S);
		ws_timers_packet_received(&s.t, T0 + k * S);
		ws_timers_data_sent(&s.t, k >= 200 ? WS_REKEY_AFTER_MESSAGES : k, T0 + k * S);
	}
	CU_ASSERT_EQUAL(count(&s, INIT), 0);
}

static void test_no_send_after_reject_time(void)
{
	struct sim s;
	uint64_t b;

	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	for (uint64_t k = 10; k <= 230; k += 10) {
		run_until(&s, T0 + k * S);
		ws_timers_packet_received(&s.t, T0 + k * S);
	}
	CU_ASSERT_TRUE(ws_timers_may_send(&s.t, T0, T0 + 240 * S - 1));
	CU_ASSERT_FALSE(ws_timers_may_send(&s.t, T0, T0 + 240 * S));
	CU_ASSERT_TRUE(ws_timers_live(&s.t, T0 + 240 * S - 1));
	CU_ASSERT_FALSE(ws_timers_live(&s.t, T0 + 240 * S));
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 240 * S);
	run_until(&s, T0 + 240 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.act[0], EXPIRE);
	CU_ASSERT_FALSE(ws_timers_session(&s.t, WS_TIMERS_CUR, &b));
	/* An expired old session does not hold back a new responder session. */
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0 + 241 * S));
}

static void test_session_timeout(void)
{
	struct sim s;

	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	ws_timers_packet_received(&s.t, T0 + 50 * S);
	CU_ASSERT_TRUE(ws_timers_may_send(&s.t, T0, T0 + 230 * S - 1));
	CU_ASSERT_FALSE(ws_timers_may_send(&s.t, T0, T0 + 230 * S));
	run_until(&s, T0 + 800 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.at[0], T0 + 230 * S);
	CU_ASSERT_EQUAL(s.act[0], EXPIRE);
	CU_ASSERT_FALSE(ws_timers_session(&s.t, WS_TIMERS_CUR, NULL));
	CU_ASSERT_EQUAL(s.act[1], WIPE);
	CU_ASSERT_EQUAL(s.at[1], T0 + WS_TIMERS_WIPE_AFTER_NS);

	/* A persistent peer starts a handshake in the same tick. */
	sim_init(&s);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	ws_timers_persistent_keepalive_set(&s.t, 60, T0);
	run_until(&s, T0 + 180 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 3);
	CU_ASSERT_EQUAL(s.at[2], T0 + 180 * S);
	CU_ASSERT_EQUAL(s.act[2], EXPIRE | INIT);
}

static void test_connected_window(void)
{
	struct ws_timers t;

	ws_timers_init(&t);
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&t, T0));
	CU_ASSERT_TRUE(ws_timers_connected(&t, T0));
	CU_ASSERT_TRUE(ws_timers_connected(&t, T0 + 25 * S - 1));
	CU_ASSERT_FALSE(ws_timers_connected(&t, T0 + 25 * S));
	ws_timers_packet_received(&t, T0 + 30 * S);
	CU_ASSERT_TRUE(ws_timers_connected(&t, T0 + 55 * S - 1));
	CU_ASSERT_FALSE(ws_timers_connected(&t, T0 + 55 * S));
	CU_ASSERT_TRUE(ws_timers_live(&t, T0 + 55 * S));
	/* Recent packets but no live session: not connected. */
	ws_timers_packet_received(&t, T0 + 60 * S);
	ws_timers_disconnect_received(&t, WS_TIMERS_CUR, T0 + 60 * S);
	CU_ASSERT_FALSE(ws_timers_connected(&t, T0 + 60 * S));
	CU_ASSERT_FALSE(ws_timers_live(&t, T0 + 60 * S));
}

static void test_resolve_only_after_failure(void)
{
	struct ws_timers t;
	uint64_t now = T0;

	ws_timers_init(&t);
	ws_timers_want_handshake(&t, now);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, now), INIT);
	ws_timers_handshake_initiated(&t, 0, now);
	now += 5 * S;
	CU_ASSERT_EQUAL(ws_timers_tick(&t, now), INIT | RESOLVE);
	ws_timers_handshake_initiated(&t, 0, now);
	ws_timers_handshake_complete(&t, now + 1 * S);
	/* After a success the next attempt is not "after a failed one". */
	ws_timers_disconnect_received(&t, WS_TIMERS_CUR, now + 2 * S);
	ws_timers_want_handshake(&t, now + 2 * S);
	/* Still at most one HandshakeInit per 5 s. */
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), now + 5 * S);
	now += 5 * S;
	CU_ASSERT_EQUAL(ws_timers_tick(&t, now), INIT);
	ws_timers_handshake_initiated(&t, 0, now);
	/* That one gets no answer either: the retry resolves again. */
	now += 5 * S;
	CU_ASSERT_EQUAL(ws_timers_tick(&t, now), INIT | RESOLVE);
	ws_timers_handshake_initiated(&t, 0, now);

	/* An attempt nothing wants any more lapses at its retry time; it still
	 * failed, unless an authenticated packet from the peer (roaming gives
	 * the endpoint, DECISIONS 30) arrives before the next attempt. */
	for (int heard = 0; heard < 2; heard++) {
		ws_timers_init(&t);
		ws_timers_handshake_initiated(&t, 0, T0); /* sent by the daemon itself */
		CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 5 * S);
		CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 5 * S), 0);
		CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 720 * S); /* only the wipe */
		if (heard)
			ws_timers_packet_received(&t, T0 + 6 * S);
		ws_timers_want_handshake(&t, T0 + 7 * S);
		CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 7 * S), heard ? INIT : INIT | RESOLVE);
	}
}

static void test_cookie_waits_for_retry(void)
{
	struct ws_timers t;
	uint64_t due = T0 + 5 * S + 200 * MS;

	ws_timers_init(&t);
	ws_timers_want_handshake(&t, T0);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0), INIT);
	ws_timers_handshake_initiated(&t, 200 * MS, T0);
	ws_timers_cookie_received(&t, T0 + 1 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), due);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 1 * S), 0);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, due - 1), 0);
	/* The endpoint answered: a retry, not a failure (no resolve). */
	CU_ASSERT_EQUAL(ws_timers_tick(&t, due), INIT);
	ws_timers_handshake_initiated(&t, 0, due);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, due + 5 * S), INIT | RESOLVE);
	/* A CookieReply with nothing outstanding is ignored. */
	ws_timers_init(&t);
	ws_timers_cookie_received(&t, T0);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), WS_TIMERS_NEVER);
}

static void expect_slots(const struct ws_timers *t, uint64_t prev, uint64_t cur, uint64_t next)
{
	const uint64_t want[WS_TIMERS_SLOTS] = { prev, cur, next };

	for (int i = 0; i < WS_TIMERS_SLOTS; i++) {
		uint64_t b = 0;
		bool there = ws_timers_session(t, i, &b);

		CU_ASSERT_EQUAL(there, want[i] != 0);
		if (there)
			CU_ASSERT_EQUAL(b, want[i]);
	}
}

static void test_responder_next_session(void)
{
	struct sim s;
	uint64_t hs;

	sim_init(&s);
	/* No live session: send at once. */
	CU_ASSERT_TRUE(ws_timers_session_created_responder(&s.t, T0));
	expect_slots(&s.t, 0, T0, 0);
	/* Rekey by the peer: wait in next; keep sending on current. */
	ws_timers_packet_received(&s.t, T0 + 90 * S);
	CU_ASSERT_FALSE(ws_timers_session_created_responder(&s.t, T0 + 100 * S));
	expect_slots(&s.t, 0, T0, T0 + 100 * S);
	CU_ASSERT_TRUE(ws_timers_last_handshake(&s.t, &hs));
	CU_ASSERT_EQUAL(hs, T0);
	/* The initiator's first packet on it confirms it. */
	ws_timers_packet_received(&s.t, T0 + 101 * S);
	ws_timers_next_confirmed(&s.t, T0 + 101 * S);
	expect_slots(&s.t, T0, T0 + 100 * S, 0);
	CU_ASSERT_TRUE(ws_timers_last_handshake(&s.t, &hs));
	CU_ASSERT_EQUAL(hs, T0 + 100 * S);
	ws_timers_next_confirmed(&s.t, T0 + 102 * S); /* nothing in next: no-op */
	expect_slots(&s.t, T0, T0 + 100 * S, 0);

	/* Unconfirmed next; current expires at 240 s: next takes over. */
	CU_ASSERT_FALSE(ws_timers_session_created_responder(&s.t, T0 + 150 * S));
	expect_slots(&s.t, 0, T0 + 100 * S, T0 + 150 * S); /* previous dropped (WireGuard) */
	for (uint64_t k = 160; k <= 340; k += 10) {
		run_until(&s, T0 + k * S);
		ws_timers_packet_received(&s.t, T0 + k * S);
	}
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_EQUAL(s.at[0], T0 + 340 * S);
	CU_ASSERT_EQUAL(s.act[0], EXPIRE);
	expect_slots(&s.t, 0, T0 + 150 * S, 0);
	CU_ASSERT_TRUE(ws_timers_may_send(&s.t, T0 + 150 * S, T0 + 340 * S));

	/* Disconnect on current with a next waiting: next takes over. */
	CU_ASSERT_FALSE(ws_timers_session_created_responder(&s.t, T0 + 341 * S));
	ws_timers_disconnect_received(&s.t, WS_TIMERS_CUR, T0 + 342 * S);
	expect_slots(&s.t, 0, T0 + 341 * S, 0);
	/* Our own handshake completing while a next waits (DECISIONS 28). */
	CU_ASSERT_FALSE(ws_timers_session_created_responder(&s.t, T0 + 350 * S));
	ws_timers_handshake_complete(&s.t, T0 + 351 * S);
	expect_slots(&s.t, T0 + 350 * S, T0 + 351 * S, 0);
	ws_timers_handshake_complete(&s.t, T0 + 352 * S);
	expect_slots(&s.t, T0 + 351 * S, T0 + 352 * S, 0);
	ws_timers_disconnect_received(&s.t, WS_TIMERS_PREV, T0 + 353 * S);
	expect_slots(&s.t, 0, T0 + 352 * S, 0);
}

static void test_confirmation_keepalive(void)
{
	struct ws_timers t;

	ws_timers_init(&t);
	ws_timers_handshake_complete(&t, T0);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0), KEEP);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0 + 1), 0);
	/* Staged data flushed first: no keepalive needed. */
	ws_timers_init(&t);
	ws_timers_handshake_complete(&t, T0);
	ws_timers_data_sent(&t, 0, T0);
	CU_ASSERT_EQUAL(ws_timers_tick(&t, T0), 0);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&t), T0 + 15 * S); /* dead-session check */
}

static void test_wipe(void)
{
	struct sim s;

	sim_init(&s);
	initiator_session(&s);
	ws_timers_packet_received(&s.t, T0 + 1 * S);
	run_until(&s, T0 + 2000 * S);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.act[0], EXPIRE);
	CU_ASSERT_EQUAL(s.at[0], T0 + 181 * S);
	CU_ASSERT_EQUAL(s.act[1], WIPE);
	CU_ASSERT_EQUAL(s.at[1], T0 + 720 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), WS_TIMERS_NEVER);
}

static void test_disconnect(void)
{
	struct sim s;

	sim_init(&s);
	ws_timers_persistent_keepalive_set(&s.t, 30, T0);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0), INIT);
	ws_timers_handshake_initiated(&s.t, 0, T0);
	ws_timers_handshake_complete(&s.t, T0 + 1 * S);
	ws_timers_data_sent(&s.t, 0, T0 + 1 * S);
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 16 * S);
	/* A Disconnect closes current; a persistent peer reconnects at once
	 * (no earlier than 5 s after the last HandshakeInit). */
	ws_timers_packet_received(&s.t, T0 + 2 * S);
	ws_timers_disconnect_received(&s.t, WS_TIMERS_CUR, T0 + 2 * S);
	CU_ASSERT_FALSE(ws_timers_live(&s.t, T0 + 2 * S));
	CU_ASSERT_EQUAL(ws_timers_next_deadline(&s.t), T0 + 5 * S);
	CU_ASSERT_EQUAL(ws_timers_tick(&s.t, T0 + 5 * S), INIT);
	/* Out-of-range or empty slots are ignored. */
	ws_timers_disconnect_received(&s.t, WS_TIMERS_SLOTS, T0 + 6 * S);
	ws_timers_disconnect_received(&s.t, WS_TIMERS_NEXT, T0 + 6 * S);
	expect_slots(&s.t, 0, 0, 0);
}

/*
 * Random events on a fixed seed. At every deadline d in the future:
 * tick(d - 1) on a copy returns nothing and changes nothing; tick(d) returns
 * an action or changes the state; after any tick the deadline is later.
 * Plus: HandshakeInits from tick are >= 5 s apart; resolves only on them;
 * no GIVE_UP while persistent; SEND_KEEPALIVE only with a current session.
 */
struct fuzz {
	struct ws_timers t;
	uint64_t now, last_init, rng;
	bool any_init;
};

static void fuzz_tick(struct fuzz *f, uint64_t d)
{
	struct ws_timers before;
	uint32_t a;

	if (d > f->now) {
		struct ws_timers copy;

		memcpy(&copy, &f->t, sizeof(copy));
		CU_ASSERT_EQUAL_FATAL(ws_timers_tick(&copy, d - 1), 0);
		CU_ASSERT_EQUAL_FATAL(memcmp(&copy, &f->t, sizeof(copy)), 0);
		f->now = d;
	}
	memcpy(&before, &f->t, sizeof(before));
	a = ws_timers_tick(&f->t, f->now);
	CU_ASSERT_FATAL(a != 0 || memcmp(&before, &f->t, sizeof(before)) != 0);
	CU_ASSERT_FATAL(ws_timers_next_deadline(&f->t) > f->now);
	CU_ASSERT_FATAL(!(a & RESOLVE) || (a & INIT));
	CU_ASSERT_FATAL(!(a & INIT) || !(a & GIVE_UP));
	CU_ASSERT_FATAL(!(a & GIVE_UP) || !f->t.persistent_s);
	CU_ASSERT_FATAL(!(a & KEEP) || ws_timers_session(&f->t, WS_TIMERS_CUR, NULL));
	if (a & INIT) {
		CU_ASSERT_FATAL(!f->any_init || f->now >= f->last_init + 5 * S);
		f->any_init = true;
		f->last_init = f->now;
		if (ws_test_rand(&f->rng) % 8)
			ws_timers_handshake_initiated(&f->t, ws_test_rand(&f->rng) % (400 * MS), f->now);
	}
	if (a & KEEP)
		ws_timers_packet_sent(&f->t, ws_test_rand(&f->rng) % 1000, f->now);
}

static uint64_t fuzz_step(struct fuzz *f)
{
	uint64_t r = ws_test_rand(&f->rng), d = ws_timers_next_deadline(&f->t);

	switch (r % 6) {
	case 0: return r % 1000;                      /* ns */
	case 1: return (r >> 8) % (2000 * MS);
	case 2: return (r >> 8) % (30 * S);
	case 3: return (r >> 8) % (400 * S);
	default: /* at or next to a deadline */
		if (d == WS_TIMERS_NEVER || d < f->now)
			return 0;
		return d - f->now + (r >> 8) % 3 - ((d - f->now) ? 1 : 0);
	}
}

static void fuzz_event(struct fuzz *f)
{
	uint64_t r = ws_test_rand(&f->rng), now = f->now;
	uint64_t counter = r % 64 ? r % 100000 : WS_REKEY_AFTER_MESSAGES + r % 3;

	switch ((r >> 16) % 14) {
	case 0: ws_timers_data_sent(&f->t, counter, now); break;
	case 1: ws_timers_data_received(&f->t, now); break;
	case 2: ws_timers_packet_sent(&f->t, counter, now); break;
	case 3: ws_timers_packet_received(&f->t, now); break;
	case 4: ws_timers_want_handshake(&f->t, now); break;
	case 5: ws_timers_handshake_complete(&f->t, now); break;
	case 6: (void)ws_timers_session_created_responder(&f->t, now); break;
	case 7: ws_timers_next_confirmed(&f->t, now); break;
	case 8: ws_timers_cookie_received(&f->t, now); break;
	case 9: ws_timers_disconnect_received(&f->t, (r >> 24) % 4, now); break;
	case 10: ws_timers_persistent_keepalive_set(&f->t, (r >> 24) % 3 ? 0 : (r >> 28) % 40, now); break;
	case 11: (void)ws_timers_connected(&f->t, now); break;
	default: ws_timers_data_sent(&f->t, counter, now); ws_timers_data_received(&f->t, now); break;
	}
}

static void test_deadline_randomized(void)
{
	uint64_t seed = 0x5eed71e5ULL;

	for (int run = 0; run < 150; run++) {
		struct fuzz f;

		memset(&f, 0, sizeof(f));
		ws_timers_init(&f.t);
		f.now = T0;
		f.rng = seed + (uint64_t)run * 0x9E3779B97F4A7C15ULL;
		for (int ev = 0; ev < 400; ev++) {
			uint64_t to = f.now + fuzz_step(&f);

			for (;;) {
				uint64_t d = ws_timers_next_deadline(&f.t);

				if (d > to)
					break;
				fuzz_tick(&f, d);
			}
			f.now = to;
			fuzz_event(&f);
		}
	}
}

WS_SUITE(timers)
{
	WS_ADD(suite, test_fresh_state);
	WS_ADD(suite, test_first_handshake);
	WS_ADD(suite, test_retry_with_jitter);
	WS_ADD(suite, test_give_up_non_persistent);
	WS_ADD(suite, test_give_up_dead_session);
	WS_ADD(suite, test_persistent_retries_forever);
	WS_ADD(suite, test_keepalive_one_way);
	WS_ADD(suite, test_keepalive_once_per_interval);
	WS_ADD(suite, test_no_keepalive_when_idle);
	WS_ADD(suite, test_persistent_keepalive);
	WS_ADD(suite, test_dead_session);
	WS_ADD(suite, test_rekey_initiator_only);
	WS_ADD(suite, test_no_send_after_reject_time);
	WS_ADD(suite, test_session_timeout);
	WS_ADD(suite, test_connected_window);
	WS_ADD(suite, test_resolve_only_after_failure);
	WS_ADD(suite, test_cookie_waits_for_retry);
	WS_ADD(suite, test_responder_next_session);
	WS_ADD(suite, test_confirmation_keepalive);
	WS_ADD(suite, test_wipe);
	WS_ADD(suite, test_disconnect);
	WS_ADD(suite, test_deadline_randomized);
}
