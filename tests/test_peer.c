/* SPDX-License-Identifier: MIT */
/* The daemon's peer table, session slots, staging and inbox (no TUN, socket or threads). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/schedule.h"
#include "daemon/slots.h"
#include "os/clock.h"
#include "os/resolver.h"
#include "os/sockaddr.h"
#include "test.h"

static struct ws_device dev;

static void dev_up(void)
{
	uint8_t priv[32];

	memset(&dev, 0, sizeof(dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(&dev, priv), 0);
}

static void dev_down(void)
{
	while (dev.peers)
		ws_peer_remove(&dev, dev.peers);
	free(dev.peer_hash);
	ws_allowedips_free(&dev.aips);
	ws_index_free(&dev.index);
	ws_ratelimit_free(&dev.ratelimit);
	ws_inbox_destroy(&dev.inbox);
	pthread_rwlock_destroy(&dev.lock);
}

static struct ws_peer *new_peer(uint8_t pub[32])
{
	uint8_t priv[32];

	ws_x25519_genkey(priv);
	CU_ASSERT_TRUE(ws_x25519_pubkey(pub, priv));
	return ws_peer_create(&dev, pub);
}

static void test_peer_table(void)
{
	uint8_t pubs[200][32], unknown[32], zero[32] = {0};
	struct ws_peer *p[200];

	dev_up();
	for (int i = 0; i < 200; i++) {
		p[i] = new_peer(pubs[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
	}
	CU_ASSERT_EQUAL(dev.n_peers, 200);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_PTR_EQUAL(ws_peer_lookup(&dev, pubs[i]), p[i]);
	new_peer(unknown);
	ws_peer_remove(&dev, ws_peer_lookup(&dev, unknown));
	CU_ASSERT_PTR_NULL(ws_peer_lookup(&dev, unknown));
	/* A low-order public key can never make a session: refused. */
	CU_ASSERT_PTR_NULL(ws_peer_create(&dev, zero));
	/* Removing every other peer leaves the rest findable. */
	for (int i = 0; i < 200; i += 2)
		ws_peer_remove(&dev, p[i]);
	CU_ASSERT_EQUAL(dev.n_peers, 100);
	for (int i = 0; i < 200; i++)
		CU_ASSERT_PTR_EQUAL(ws_peer_lookup(&dev, pubs[i]), i % 2 ? p[i] : NULL);
	dev_down();
}

/* A responder's session in slot s (reserved), as handshake.c installs it. */
static void install(struct ws_peer *p, struct ws_slot *s, uint64_t now)
{
	struct ws_noise_keys keys = {.remote_index = 7};
	struct sockaddr_storage ep = {.ss_family = AF_INET};
	bool had_live;

	ws_random(keys.send, sizeof(keys.send));
	ws_random(keys.recv, sizeof(keys.recv));
	keys.local_index = s->entry.index;
	CU_ASSERT_PTR_EQUAL(ws_slots_install(&dev, p, s, &keys, &ep, now, &had_live), s);
}

static struct ws_slot *reserve(struct ws_peer *p)
{
	struct ws_slot *s = ws_slots_reserve(&dev, p);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->used);
	CU_ASSERT_PTR_EQUAL(ws_index_lookup(&dev.index, s->entry.index), &s->entry);
	return s;
}

static void test_slots(void)
{
	uint8_t pub[32], a[4] = {198, 19, 0, 2};
	uint64_t now = 1000 * WS_NSEC_PER_SEC;
	struct ws_peer *p;
	struct ws_slot *s[4];
	uint32_t idx0;

	dev_up();
	p = new_peer(pub);
	CU_ASSERT_EQUAL(ws_allowedips_insert(&dev.aips, AF_INET, a, 32, p), 0);
	/* No live session: the responder's is current at once; the next one waits in next. */
	s[0] = reserve(p);
	install(p, s[0], now);
	CU_ASSERT_PTR_EQUAL(p->cur, s[0]);
	s[1] = reserve(p);
	install(p, s[1], now + 1);
	CU_ASSERT_PTR_EQUAL(p->next, s[1]);
	CU_ASSERT_TRUE(ws_slots_confirm(&dev, p, s[1], now + 2));
	CU_ASSERT_FALSE(ws_slots_confirm(&dev, p, s[1], now + 2)); /* no longer next */
	CU_ASSERT_PTR_EQUAL(p->prev, s[0]);
	CU_ASSERT_PTR_EQUAL(p->cur, s[1]);
	s[2] = reserve(p);
	CU_ASSERT_EQUAL(dev.index.count, 3);
	idx0 = s[0]->entry.index;
	/* All three in use: the previous session is evicted for the new one. */
	s[3] = reserve(p);
	CU_ASSERT_PTR_EQUAL(s[3], s[0]);
	CU_ASSERT_PTR_NULL(p->prev);
	CU_ASSERT_EQUAL(dev.index.count, 3);
	CU_ASSERT(idx0 == s[3]->entry.index || ws_index_lookup(&dev.index, idx0) == NULL);
	ws_slots_unreserve(&dev, p, s[3]);
	CU_ASSERT_FALSE(s[3]->used);
	CU_ASSERT_EQUAL(dev.index.count, 2);
	install(p, s[2], now + 3);
	CU_ASSERT_PTR_EQUAL(p->cur, s[1]);
	CU_ASSERT_PTR_EQUAL(p->next, s[2]);
	/* A Disconnect on current empties it; next takes its place. */
	ws_slots_close(&dev, p, s[1], now + 4);
	CU_ASSERT_FALSE(s[1]->used);
	CU_ASSERT_PTR_EQUAL(p->cur, s[2]);
	CU_ASSERT_PTR_NULL(p->next);
	CU_ASSERT_TRUE(ws_is_zero(s[1]->s.send_key, 32)); /* keys wiped */
	CU_ASSERT_EQUAL(dev.index.count, 1);
	/* Removing the peer drops its routes and indices. */
	ws_peer_remove(&dev, p);
	CU_ASSERT_EQUAL(dev.index.count, 0);
	CU_ASSERT_PTR_NULL(ws_allowedips_lookup(&dev.aips, AF_INET, a));
	dev_down();
}

static void test_staging_bound(void)
{
	uint8_t pub[32], pkt[100];
	struct ws_peer *p;

	dev_up();
	p = new_peer(pub);
	for (int i = 0; i < WS_STAGED_MAX + 10; i++) {
		memset(pkt, i, sizeof(pkt));
		ws_peer_stage(p, pkt, sizeof(pkt));
	}
	CU_ASSERT_EQUAL(p->staged.count, WS_STAGED_MAX);
	/* The oldest went first: the head is packet number 10. */
	CU_ASSERT_EQUAL(p->staged.data[p->staged.head][0], 10);
	dev_down();
}

static void test_inbox(void)
{
	struct ws_inbox in;
	struct ws_inbox_msg m;
	struct ws_peer *a = (struct ws_peer *)0x1000, *b = (struct ws_peer *)0x2000;
	uint8_t big[WS_INBOX_DATA + 1] = {0};
	unsigned pushed = 0;

	CU_ASSERT_EQUAL_FATAL(ws_inbox_init(&in), 0);
	CU_ASSERT_FALSE(ws_inbox_pop(&in, &m));
	CU_ASSERT_FALSE(ws_inbox_push(&in, WS_INBOX_CONTROL, a, NULL, NULL, big, sizeof(big)));
	while (ws_inbox_push(&in, WS_INBOX_CONTROL, pushed % 2 ? a : b, NULL, NULL, &pushed, sizeof(pushed)))
		pushed++;
	CU_ASSERT_EQUAL(pushed, WS_INBOX_SLOTS); /* bounded, then refused and counted */
	CU_ASSERT_EQUAL(atomic_load(&in.dropped), 2);
	ws_inbox_forget_peer(&in, a);
	for (unsigned i = 0; i < WS_INBOX_SLOTS / 2; i++) {
		unsigned v;

		CU_ASSERT_TRUE_FATAL(ws_inbox_pop(&in, &m));
		CU_ASSERT_PTR_EQUAL(m.peer, b);
		memcpy(&v, m.data, sizeof(v));
		CU_ASSERT_EQUAL(v, 2 * i); /* in order, a's gone */
	}
	CU_ASSERT_FALSE(ws_inbox_pop(&in, &m));
	CU_ASSERT_EQUAL(ws_inbox_count(&in), 0);
	ws_inbox_destroy(&in);
}

/* A fake DNS: gw.test is 198.18.0.1, other.test 198.18.0.2, nothing else exists. */
static int lookups;

static int fake_lookup(struct sockaddr_storage *out, const char *host, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;

	__atomic_add_fetch(&lookups, 1, __ATOMIC_SEQ_CST);
	if (strcmp(host, "gw.test") && strcmp(host, "other.test"))
		return -EHOSTUNREACH;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(strcmp(host, "gw.test") ? 0xc6120002 : 0xc6120001);
	return 0;
}

/* Apply every answer the resolver has, as ctl does, once n have come. */
static void apply_answers(int n)
{
	struct ws_resolver_answer a;
	int got = 0;

	for (int tries = 0; got < n && tries < 200; tries++) {
		struct pollfd p = {.fd = ws_resolver_fd(dev.resolver), .events = POLLIN};
		uint64_t counter;

		if (poll(&p, 1, 10) == 1 && read(p.fd, &counter, sizeof(counter)) < 0)
			break;
		while (ws_resolver_collect(dev.resolver, &a)) {
			ws_schedule_resolved(&dev, &a, ws_now_ns());
			got++;
		}
	}
	CU_ASSERT_EQUAL(got, n);
}

static const char *endpoint_of(struct ws_peer *p, char *buf, size_t cap)
{
	ws_sockaddr_format(buf, cap, &p->endpoint);
	return buf;
}

/* Answers are applied only while still wanted: never to a removed peer (ASan
 * would see it), never over an endpoint set since, once per lookup. */
static void test_endpoint_resolution(void)
{
	uint8_t k1[32], k2[32], k3[32];
	struct ws_peer *p1, *p2, *p3;
	char buf[80];

	dev_up();
	lookups = 0;
	CU_ASSERT_EQUAL_FATAL(ws_resolver_create(&dev.resolver, fake_lookup), 0);
	p1 = new_peer(k1);
	p2 = new_peer(k2);
	p3 = new_peer(k3);
	/* An address is used at once; a malformed endpoint is refused. */
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p1, "198.18.0.9:51820", true), 0);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p1, buf, sizeof(buf)), "198.18.0.9:51820");
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p1, "gw.test", true), -EINVAL);
	/* A name: looked up later, applied when it answers. */
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p1, "gw.test:51820", true), 0);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p1, buf, sizeof(buf)), "198.18.0.9:51820");
	ws_peer_resolve(&dev, p1, true); /* one lookup in flight is enough */
	apply_answers(1);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p1, buf, sizeof(buf)), "198.18.0.1:51820");
	CU_ASSERT_EQUAL(lookups, 1);
	/* Set to an address while the name is looked up: the address stays. */
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p2, "gw.test:1", true), 0);
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p2, "198.18.0.7:2", true), 0);
	/* Removed while looked up: the answer finds no peer. */
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p3, "gw.test:3", true), 0);
	ws_peer_remove(&dev, p3);
	apply_answers(2);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p2, buf, sizeof(buf)), "198.18.0.7:2");
	CU_ASSERT_PTR_NULL(ws_peer_lookup(&dev, k3));
	/* Removed and added again with the same key: only the new lookup counts. */
	p3 = ws_peer_create(&dev, k3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p3, "gw.test:3", true), 0);
	ws_peer_remove(&dev, p3);
	p3 = ws_peer_create(&dev, k3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p3, "other.test:4", true), 0);
	apply_answers(2);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p3, buf, sizeof(buf)), "198.18.0.2:4");
	/* A name that does not resolve leaves the endpoint as it was. */
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p3, "nowhere.test:4", true), 0);
	apply_answers(1);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p3, buf, sizeof(buf)), "198.18.0.2:4");
	CU_ASSERT_STRING_EQUAL(p3->endpoint_config, "nowhere.test:4");
	/* Without a resolver (start-up, before ctl runs) a name waits for
	 * ws_peer_resolve_all. */
	ws_resolver_destroy(dev.resolver);
	dev.resolver = NULL;
	CU_ASSERT_EQUAL(ws_peer_set_endpoint(p2, "other.test:5", true), 0);
	CU_ASSERT_EQUAL(ws_resolver_create(&dev.resolver, fake_lookup), 0);
	memset(&p2->endpoint, 0, sizeof(p2->endpoint));
	ws_peer_resolve_all(&dev);
	apply_answers(1);
	CU_ASSERT_STRING_EQUAL(endpoint_of(p2, buf, sizeof(buf)), "198.18.0.2:5");
	(void)p1;
	ws_resolver_destroy(dev.resolver);
	dev.resolver = NULL;
	dev_down();
}

/* The peer list keeps creation (config) order, also after removals. */
static void test_peer_order(void)
{
	uint8_t pubs[5][32];
	struct ws_peer *p[5], *q;
	int i = 0;

	dev_up();
	for (int k = 0; k < 4; k++)
		p[k] = new_peer(pubs[k]);
	ws_peer_remove(&dev, p[3]);   /* the tail */
	ws_peer_remove(&dev, p[0]);   /* the head */
	p[4] = new_peer(pubs[4]);
	for (q = dev.peers; q; q = q->list_next, i++)
		CU_ASSERT_PTR_EQUAL(q, p[i == 0 ? 1 : i == 1 ? 2 : 4]);
	CU_ASSERT_EQUAL(i, 3);
	dev_down();
	CU_ASSERT_PTR_NULL(dev.peers_last);
}

/* More names than the resolver's table holds: the rest go once answers free room. */
static void test_endpoint_resolution_backlog(void)
{
	enum { N = WS_RESOLVER_SLOTS + 6 };
	struct ws_peer *p[N];
	uint8_t k[32];
	char buf[80];

	dev_up();
	CU_ASSERT_EQUAL_FATAL(ws_resolver_create(&dev.resolver, fake_lookup), 0);
	for (int i = 0; i < N; i++) {
		p[i] = new_peer(k);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
		snprintf(buf, sizeof(buf), "gw.test:%d", 1000 + i);
		CU_ASSERT_EQUAL(ws_peer_set_endpoint(p[i], buf, false), 0);
	}
	CU_ASSERT_TRUE(ws_peer_resolve_all(&dev));
	apply_answers(WS_RESOLVER_SLOTS);
	CU_ASSERT_FALSE(ws_peer_resolve_all(&dev));
	apply_answers(N - WS_RESOLVER_SLOTS);
	for (int i = 0; i < N; i++) {
		char want[80];

		snprintf(want, sizeof(want), "198.18.0.1:%d", 1000 + i);
		CU_ASSERT_STRING_EQUAL(endpoint_of(p[i], buf, sizeof(buf)), want);
	}
	ws_resolver_destroy(dev.resolver);
	dev.resolver = NULL;
	dev_down();
}

WS_SUITE(peer)
{
	WS_ADD(suite, test_peer_table);
	WS_ADD(suite, test_peer_order);
	WS_ADD(suite, test_slots);
	WS_ADD(suite, test_staging_bound);
	WS_ADD(suite, test_inbox);
	WS_ADD(suite, test_endpoint_resolution);
	WS_ADD(suite, test_endpoint_resolution_backlog);
}
