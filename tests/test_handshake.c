/* SPDX-License-Identifier: MIT */
/*
 * The ctl thread's handshake handling on a test device (devtest.h): the
 * under-load defences with their 1 s hold, the rate limit on responses, and
 * session confirmations that find the inbox full.
 */
#include <string.h>

#include "core/crypto.h"
#include "daemon/schedule.h"
#include "os/clock.h"
#include "devtest.h"
#include "test.h"

#define MS (1000 * 1000ULL)

static struct ws_device dev;
static struct wt_remote rem;

static void make_init(struct ws_msg_init *init, uint64_t now)
{
	uint8_t e[32];

	ws_x25519_genkey(e);
	CU_ASSERT_FATAL(ws_noise_create_init(&rem.hs, &rem.local, init, e, 0x4242, ws_unix_ns()));
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)init, sizeof(*init), now);
}

static enum ws_hs_verdict feed(const void *msg, size_t len, uint64_t now)
{
	static struct ws_inbox_msg m;

	wt_inbox_msg(&m, &rem, msg, len);
	return ws_handshake_receive(&dev, &m, now);
}

/* The type of the next datagram to the remote (0: none). */
static int answer_type(void)
{
	uint8_t buf[256];
	int type = 0;

	while (wt_recv(&rem, buf, sizeof(buf), 50) > 0)
		if (!type)
			type = buf[0];
	return type;
}

/* An init that arrives in a gap of a flood (inbox shallow again) still gets only a cookie. */
static void test_init_between_bursts(void)
{
	struct ws_msg_init init;
	uint64_t t0 = ws_now_ns();

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	wt_fill_inbox(&dev, WS_UNDER_LOAD);
	make_init(&init, t0);
	feed(&init, sizeof(init), t0);
	CU_ASSERT_EQUAL(answer_type(), WS_MSG_COOKIE_REPLY);
	wt_drain_inbox(&dev);
	/* Between two bursts: the inbox is empty, but it was deep 0.5 s ago. */
	make_init(&init, t0 + 500 * MS);
	feed(&init, sizeof(init), t0 + 500 * MS);
	CU_ASSERT_EQUAL(answer_type(), WS_MSG_COOKIE_REPLY);
	CU_ASSERT_PTR_NULL(rem.peer->cur);
	/* A second after the last deep inbox: an ordinary handshake again. */
	make_init(&init, t0 + 1500 * MS);
	feed(&init, sizeof(init), t0 + 1500 * MS);
	CU_ASSERT_EQUAL(answer_type(), WS_MSG_HANDSHAKE_RESP);
	CU_ASSERT_PTR_NOT_NULL(rem.peer->cur);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.cookie_replies_sent), 2);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

static struct ws_handshake *remote_lookup(void *ctx, const uint8_t pub[32])
{
	(void)ctx;
	return memcmp(pub, dev.local.public_key, 32) ? NULL : &rem.hs;
}

/* Under load, responses pass the per-source rate limit as inits do. */
static void test_resp_rate_limited_under_load(void)
{
	struct ws_msg_init init;
	struct ws_msg_resp resp, forged;
	uint64_t t0 = ws_now_ns();
	uint8_t e[32];

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	ws_handshake_send_init(&dev, rem.peer, t0);
	CU_ASSERT_EQUAL_FATAL(wt_recv(&rem, (uint8_t *)&init, sizeof(init), 1000), (ssize_t)sizeof(init));
	CU_ASSERT_PTR_EQUAL_FATAL(ws_noise_consume_init(&rem.local, &init, ws_unix_ns(), remote_lookup, NULL),
				  &rem.hs);
	ws_x25519_genkey(e);
	CU_ASSERT_FATAL(ws_noise_create_resp(&rem.hs, &rem.local, &resp, e, 0x7777));
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)&resp, sizeof(resp), t0);
	/* Forged copies: right index, valid MAC1 (anyone can make it), wrong ephemeral. */
	forged = resp;
	forged.ephemeral[5] ^= 1;
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)&forged, sizeof(forged), t0);

	wt_fill_inbox(&dev, WS_UNDER_LOAD);
	for (int i = 0; i < 2 * WS_RATELIMIT_BURST; i++)
		CU_ASSERT_EQUAL(feed(&forged, sizeof(forged), t0 + 1 * MS),
				i < WS_RATELIMIT_BURST ? WS_HS_DECRYPT : WS_HS_RATE_LIMITED);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.handshakes_rate_limited), WS_RATELIMIT_BURST);
	feed(&resp, sizeof(resp), t0 + 2 * MS);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.handshakes_rate_limited), WS_RATELIMIT_BURST + 1);
	CU_ASSERT_PTR_NULL(rem.peer->cur);
	/* The pending handshake survived: once the load is gone the genuine response completes it. */
	wt_drain_inbox(&dev);
	CU_ASSERT_EQUAL(feed(&resp, sizeof(resp), t0 + 3000 * MS), WS_HS_ACCEPTED);
	CU_ASSERT_PTR_NOT_NULL(rem.peer->cur);
	/* The same response again: its handshake is gone. */
	CU_ASSERT_EQUAL(feed(&resp, sizeof(resp), t0 + 3001 * MS), WS_HS_NOT_OURS);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/* The first packet on the next session, when the inbox is full: confirmed anyway. */
static void test_confirm_with_full_inbox(void)
{
	uint64_t t0 = ws_now_ns();
	struct ws_slot *old, *new;

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	wt_session_up(&dev, &rem, t0);
	old = rem.peer->cur;
	wt_session_up(&dev, &rem, t0 + 1000 * MS); /* a rekey: the new session waits for confirmation */
	new = rem.peer->next;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new);
	CU_ASSERT_PTR_EQUAL(rem.peer->cur, old);
	wt_fill_inbox(&dev, WS_INBOX_SLOTS);
	CU_ASSERT_FALSE(ws_inbox_push_confirm(&dev.inbox, rem.peer, new));
	/* ctl drains the inbox, then ticks every peer. */
	wt_drain_inbox(&dev);
	ws_schedule_tick(&dev, rem.peer, t0 + 1010 * MS);
	CU_ASSERT_PTR_EQUAL(rem.peer->cur, new);
	CU_ASSERT_PTR_EQUAL(rem.peer->prev, old);
	CU_ASSERT_PTR_NULL(rem.peer->next);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/* A flag left for a session that is gone (its slot reused) confirms nothing. */
static void test_confirm_lost_stale(void)
{
	uint64_t t0 = ws_now_ns();
	struct ws_slot *new;

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	wt_session_up(&dev, &rem, t0);
	wt_session_up(&dev, &rem, t0 + 1000 * MS);
	new = rem.peer->next;
	CU_ASSERT_PTR_NOT_NULL_FATAL(new);
	atomic_store(&new->confirm_lost, 1ULL << 32 | (new->entry.index + 1));
	ws_schedule_tick(&dev, rem.peer, t0 + 1010 * MS);
	CU_ASSERT_PTR_EQUAL(rem.peer->next, new);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/* Each reason a handshake initiation is dropped for is told apart (and logged as such). */
static void test_init_drop_reasons(void)
{
	struct ws_cookie_maker wrong;
	struct ws_msg_init init, bad;
	uint64_t t = ws_now_ns();
	uint8_t other[32], e[32];

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	/* MAC1 for another key: the initiator has a wrong public key for us. */
	ws_x25519_genkey(e);
	CU_ASSERT_FATAL(ws_x25519_pubkey(other, e));
	ws_cookie_maker_init(&wrong, other);
	make_init(&init, t);
	bad = init;
	ws_cookie_add_macs(&wrong, (uint8_t *)&bad, sizeof(bad), t);
	CU_ASSERT_EQUAL(feed(&bad, sizeof(bad), t), WS_HS_BAD_MAC1);
	/* Reserved bytes set (MAC1 right). */
	bad = init;
	bad.reserved[1] = 1;
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)&bad, sizeof(bad), t);
	CU_ASSERT_EQUAL(feed(&bad, sizeof(bad), t), WS_HS_MALFORMED);
	/* A damaged static key (MAC1 right): decryption fails. */
	bad = init;
	bad.encrypted_static[3] ^= 1;
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)&bad, sizeof(bad), t);
	CU_ASSERT_EQUAL(feed(&bad, sizeof(bad), t), WS_HS_DECRYPT);
	/* The genuine one, then the same again: a replay. */
	CU_ASSERT_EQUAL(feed(&init, sizeof(init), t), WS_HS_ACCEPTED);
	CU_ASSERT_EQUAL(answer_type(), WS_MSG_HANDSHAKE_RESP);
	CU_ASSERT_EQUAL(feed(&init, sizeof(init), t), WS_HS_REPLAY);
	/* A clock 200 s behind. */
	ws_x25519_genkey(e);
	CU_ASSERT_FATAL(ws_noise_create_init(&rem.hs, &rem.local, &bad, e, 0x4243,
					     ws_unix_ns() - 200 * WS_NSEC_PER_SEC));
	ws_cookie_add_macs(&rem.cookie, (uint8_t *)&bad, sizeof(bad), t);
	CU_ASSERT_EQUAL(feed(&bad, sizeof(bad), t), WS_HS_CLOCK);
	/* Under load without MAC2: a cookie. */
	wt_fill_inbox(&dev, WS_UNDER_LOAD);
	make_init(&init, t);
	CU_ASSERT_EQUAL(feed(&init, sizeof(init), t), WS_HS_COOKIE_SENT);
	wt_drain_inbox(&dev);
	/* Not a configured peer. */
	pthread_rwlock_wrlock(&dev.lock);
	ws_peer_remove(&dev, rem.peer);
	pthread_rwlock_unlock(&dev.lock);
	make_init(&init, t + 2000 * MS);
	CU_ASSERT_EQUAL(feed(&init, sizeof(init), t + 2000 * MS), WS_HS_UNKNOWN_PEER);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/*
 * A new responder sends nothing on the session, not even a ping, until the
 * initiator's first frame or the announce delay: sent earlier it can beat the
 * initiator's bookkeeping and cost a retransmission. Its first session with
 * the peer is no channel reset either.
 */
static void test_responder_waits_to_speak(void)
{
	struct ws_msg_init init;
	uint64_t t = ws_now_ns(), d;
	uint8_t buf[256];

	wt_dev_up(&dev, NULL);
	wt_remote_up(&dev, &rem);
	make_init(&init, t);
	CU_ASSERT_EQUAL(feed(&init, sizeof(init), t), WS_HS_ACCEPTED);
	CU_ASSERT_EQUAL(wt_recv(&rem, buf, sizeof(buf), 100), WS_SIZE_HANDSHAKE_RESP);
	d = ws_schedule_tick(&dev, rem.peer, t + 1 * MS);
	CU_ASSERT_EQUAL(wt_recv(&rem, buf, sizeof(buf), 50), -1);
	CU_ASSERT_EQUAL(d, t + WS_ANNOUNCE_DELAY_NS); /* the next deadline is the announcement */
	CU_ASSERT_EQUAL(rem.peer->ctl_resets, 0);
	CU_ASSERT_EQUAL(rem.peer->ctl_retransmits, 0);
	/* The delay is over: hello first (Seq 1), nothing retransmitted. */
	ws_schedule_tick(&dev, rem.peer, t + WS_ANNOUNCE_DELAY_NS);
	CU_ASSERT_TRUE(wt_recv(&rem, buf, sizeof(buf), 100) > 0);
	CU_ASSERT_EQUAL(rem.peer->ctl_tx_count, 1);
	CU_ASSERT_EQUAL(rem.peer->ctl_retransmits, 0);
	wt_remote_down(&rem);
	wt_dev_down(&dev);
}

/* One log line per reason per 10 s, counting those left out. */
static void test_hslog_rate(void)
{
	struct ws_hslog l = {0};
	uint64_t t = 3 * WS_NSEC_PER_SEC;
	uint32_t n = 99;

	CU_ASSERT_FALSE(ws_hslog_due(&l, WS_HS_ACCEPTED, t, &n));
	CU_ASSERT_TRUE(ws_hslog_due(&l, WS_HS_BAD_MAC1, t, &n));
	CU_ASSERT_EQUAL(n, 0);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_FALSE(ws_hslog_due(&l, WS_HS_BAD_MAC1, t + (uint64_t)i * WS_NSEC_PER_SEC, &n));
	CU_ASSERT_TRUE(ws_hslog_due(&l, WS_HS_UNKNOWN_PEER, t + 1, &n)); /* per reason */
	CU_ASSERT_TRUE(ws_hslog_due(&l, WS_HS_BAD_MAC1, t + WS_HSLOG_INTERVAL_NS, &n));
	CU_ASSERT_EQUAL(n, 5);
	for (int v = WS_HS_ACCEPTED + 1; v < WS_HS_VERDICTS; v++)
		CU_ASSERT_TRUE(ws_hslog_reason((enum ws_hs_verdict)v)[0] != 0);
}

WS_SUITE(handshake)
{
	WS_ADD(suite, test_init_drop_reasons);
	WS_ADD(suite, test_hslog_rate);
	WS_ADD(suite, test_responder_waits_to_speak);
	WS_ADD(suite, test_init_between_bursts);
	WS_ADD(suite, test_resp_rate_limited_under_load);
	WS_ADD(suite, test_confirm_with_full_inbox);
	WS_ADD(suite, test_confirm_lost_stale);
}
