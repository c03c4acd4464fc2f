/* SPDX-License-Identifier: MIT */
/*
 * The receiver's periodic sweep of the reassemblers (src/daemon/rx.c): sessions
 * that went quiet with partial frames give the daemon's shared budget back
 * 20 s later, without another fragment of theirs arriving.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/rx.h"
#include "daemon/slots.h"
#include "test.h"

#define SEC WS_NSEC_PER_SEC

static struct ws_device dev;

static struct ws_slot *session_slot(void)
{
	uint8_t priv[32], pub[32];
	struct ws_noise_keys keys = {.remote_index = 7};
	struct sockaddr_storage ep = {.ss_family = AF_INET};
	struct ws_peer *p;
	struct ws_slot *s;
	bool had_live;

	ws_x25519_genkey(priv);
	CU_ASSERT_TRUE_FATAL(ws_x25519_pubkey(pub, priv));
	p = ws_peer_create(&dev, pub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	s = ws_slots_reserve(&dev, p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	keys.local_index = s->entry.index;
	return ws_slots_install(&dev, p, s, &keys, &ep, 0, &had_live);
}

/* Fragment 0 of 2 of frame id (1000 bytes), at now. */
static int add_first(struct ws_slot *s, uint32_t id, uint64_t now)
{
	static uint8_t data[1000], plain[1008];
	const uint8_t *f;
	size_t fl, n = ws_fragment_write(plain, id, 0, 2, data, sizeof(data));

	return ws_reassembler_add(&s->reasm, plain, n, now, &f, &fl);
}

static void test_rx_sweep_frees_quiet_sessions(void)
{
	uint8_t priv[32];
	struct ws_slot *quiet[3], *recent, *other;
	unsigned stored = 0;

	memset(&dev, 0, sizeof(dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(&dev, priv), 0);
	ws_frag_budget_init(&dev.frag_budget, 64 * 1024);
	for (int i = 0; i < 3; i++)
		quiet[i] = session_slot();
	recent = session_slot();
	other = session_slot();
	CU_ASSERT_EQUAL(add_first(recent, 1, 25 * SEC), 0);
	for (uint32_t id = 1; id <= 60; id++)
		stored += add_first(quiet[id % 3], id, 1 * SEC) == 0;
	CU_ASSERT_TRUE(stored >= 20);
	/* The budget is full: another session's fragment is refused, then and later. */
	CU_ASSERT_EQUAL(add_first(other, 1, 2 * SEC), -ENOBUFS);
	CU_ASSERT_EQUAL(add_first(other, 1, 30 * SEC), -ENOBUFS);

	ws_rx_expire_fragments(&dev, 30 * SEC);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(quiet[i]->reasm.partials, 0);
	CU_ASSERT_EQUAL(recent->reasm.partials, 1);   /* 5 s old: kept */
	CU_ASSERT_EQUAL(atomic_load(&dev.frag_budget.used), recent->reasm.bytes);
	CU_ASSERT_EQUAL(add_first(other, 1, 30 * SEC), 0);

	while (dev.peers)
		ws_peer_remove(&dev, dev.peers);
	CU_ASSERT_EQUAL(atomic_load(&dev.frag_budget.used), 0);
	free(dev.peer_hash);
	ws_allowedips_free(&dev.aips);
	ws_index_free(&dev.index);
	ws_ratelimit_free(&dev.ratelimit);
	ws_inbox_destroy(&dev.inbox);
	pthread_rwlock_destroy(&dev.lock);
}

WS_SUITE(rx_gc)
{
	WS_ADD(suite, test_rx_sweep_frees_quiet_sessions);
}
