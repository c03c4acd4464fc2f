/* SPDX-License-Identifier: MIT */
/*
 * MAC1/MAC2 and cookies (src/core/cookie.c) against the vectors' "mac1_mac2" and
 * "cookie" sections, and the whole under-load path with the handshake.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/noise.h"
#include "test.h"
#include "vectors.h"

#define SEC WS_NSEC_PER_SEC

static struct ws_handshake *lookup_one(void *ctx, const uint8_t pub[32])
{
	struct ws_handshake *hs = ctx;

	return memcmp(hs->remote_static, pub, 32) ? NULL : hs;
}

/* MAC1 and MAC2 over the vector's 116-byte body, through the maker and checker. */
static void test_mac1_mac2_vector(void)
{
	json_t *v = ws_vec_get(NULL, "mac1_mac2");
	uint8_t pub[32], key[32], body[WS_INIT_MAC1_OFF], mac1[16], mac2[16], cookie[16];
	uint8_t mac2_key[32], msg[WS_SIZE_HANDSHAKE_INIT] = { 0 }, full[32];
	struct ws_cookie_maker m;
	struct ws_cookie_checker c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	ws_vec_hex(v, "receiver_static_public", pub, 32);
	ws_vec_hex(v, "mac1_key", key, 32);
	CU_ASSERT_EQUAL_FATAL(ws_vec_hex(v, "mac1_body", body, sizeof(body)), 116);
	ws_vec_hex(v, "mac1", mac1, 16);
	ws_vec_hex(v, "cookie", cookie, 16);
	ws_vec_hex(v, "mac2_key", mac2_key, 32);
	ws_vec_hex(v, "mac2", mac2, 16);
	CU_ASSERT_EQUAL(ws_vec_hex(v, "mac2_body", msg, sizeof(msg)), 116);
	CU_ASSERT_EQUAL(memcmp(msg, body, 116), 0); /* MAC2 covers the same bytes as MAC1 */
	CU_ASSERT_EQUAL(memcmp(mac2_key, cookie, 16), 0);
	CU_ASSERT_TRUE(ws_is_zero(mac2_key + 16, 16));

	ws_cookie_mac1_key(full, pub);
	CU_ASSERT_EQUAL(memcmp(full, key, 32), 0);

	/* Maker without a cookie: mac1, zero mac2. */
	ws_cookie_maker_init(&m, pub);
	CU_ASSERT_EQUAL(memcmp(m.mac1_key, key, 32), 0);
	memset(msg + 116, 0xaa, 32);
	ws_cookie_add_macs(&m, msg, sizeof(msg), 0);
	CU_ASSERT_EQUAL(memcmp(msg, body, 116), 0);
	CU_ASSERT_EQUAL(memcmp(msg + 116, mac1, 16), 0);
	CU_ASSERT_TRUE(ws_is_zero(msg + 132, 16));
	CU_ASSERT_TRUE(m.last_mac1_valid);
	CU_ASSERT_EQUAL(memcmp(m.last_mac1, mac1, 16), 0);
	/* With the vector cookie: MAC2 over [0,116), not over mac1. */
	memcpy(m.cookie, cookie, 16);
	m.have_cookie = true;
	m.cookie_birth_ns = 10;
	ws_cookie_add_macs(&m, msg, sizeof(msg), 10);
	CU_ASSERT_EQUAL(memcmp(msg + 116, mac1, 16), 0);
	CU_ASSERT_EQUAL(memcmp(msg + 132, mac2, 16), 0);

	/* A checker for that receiver takes the MAC1; any other size is refused. */
	ws_cookie_checker_init(&c, pub, 0);
	CU_ASSERT_EQUAL(memcmp(c.mac1_key, key, 32), 0);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, msg, sizeof(msg), "a", 1, false, 0),
			WS_COOKIE_VALID_MAC1);
	msg[0] ^= 1;
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, msg, sizeof(msg), "a", 1, false, 0),
			WS_COOKIE_INVALID);
	/* add_macs of an unknown size writes nothing. */
	memset(msg + 116, 0xaa, 32);
	ws_cookie_add_macs(&m, msg, 147, 10);
	CU_ASSERT_EQUAL(msg[116], 0xaa);
	CU_ASSERT_EQUAL(msg[146], 0xaa);
}

struct cookie_vec {
	uint8_t secret[32], server[32], cookie_key[32], cookie[16], init[148], mac1[16];
	uint8_t xkey[32], nonce[24], reply[64], init_mac2[148], mac2[16];
	const char *addr;
	uint32_t index;
};

static void load_cookie_vec(struct cookie_vec *v)
{
	json_t *c = ws_vec_get(NULL, "cookie");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	ws_vec_hex(c, "cookie_secret", v->secret, 32);
	ws_vec_hex(c, "server_static_public", v->server, 32);
	ws_vec_hex(c, "cookie_key", v->cookie_key, 32);
	ws_vec_hex(c, "cookie", v->cookie, 16);
	CU_ASSERT_EQUAL(ws_vec_hex(c, "handshake_init", v->init, 148), 148);
	ws_vec_hex(c, "init_mac1", v->mac1, 16);
	ws_vec_hex(c, "xchacha_key", v->xkey, 32);
	ws_vec_hex(c, "nonce", v->nonce, 24);
	CU_ASSERT_EQUAL(ws_vec_hex(c, "cookie_reply", v->reply, 64), 64);
	CU_ASSERT_EQUAL(ws_vec_hex(c, "handshake_init_with_mac2", v->init_mac2, 148), 148);
	ws_vec_hex(c, "mac2", v->mac2, 16);
	v->addr = ws_vec_str(c, "client_addr");
	v->index = (uint32_t)ws_vec_u64(c, "init_sender_index");
}

static void test_cookie_vector(void)
{
	struct cookie_vec v;
	struct ws_cookie_checker c;
	struct ws_cookie_maker m;
	struct ws_msg_cookie reply;
	uint8_t msg[148], cookie[16], hs_init[148];
	const uint64_t now = 1000 * SEC;

	load_cookie_vec(&v);
	ws_vec_hex(NULL, "handshake.handshake_init", hs_init, 148);
	CU_ASSERT_EQUAL(memcmp(v.init, hs_init, 148), 0);
	CU_ASSERT_EQUAL(memcmp(v.init + 116, v.mac1, 16), 0);
	CU_ASSERT_EQUAL(memcmp(v.xkey, v.mac1, 16), 0);
	CU_ASSERT_TRUE(ws_is_zero(v.xkey + 16, 16));
	CU_ASSERT_EQUAL(memcmp(v.init_mac2, v.init, 132), 0);
	CU_ASSERT_EQUAL(memcmp(v.init_mac2 + 132, v.mac2, 16), 0);

	/* Checker with the vector secret: cookie_key, then the reply byte for byte. */
	ws_cookie_checker_init(&c, v.server, now);
	ws_cookie_checker_set_secret(&c, v.secret, now);
	CU_ASSERT_EQUAL(memcmp(c.cookie_key, v.cookie_key, 32), 0);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init, 148, v.addr, strlen(v.addr), true, now),
			WS_COOKIE_VALID_MAC1); /* no cookie yet: under load this earns a reply */
	ws_cookie_make_reply(&c, &reply, v.index, v.init + 116, v.addr, strlen(v.addr), v.nonce, now);
	CU_ASSERT_EQUAL(memcmp(&reply, v.reply, 64), 0);
	CU_ASSERT_TRUE(ws_xaead_open(cookie, v.reply + 32, 32, NULL, 0, v.nonce, v.xkey));
	CU_ASSERT_EQUAL(memcmp(cookie, v.cookie, 16), 0);

	/* Maker: remembers mac1 from the init it sends, consumes the reply. */
	ws_cookie_maker_init(&m, v.server);
	memcpy(msg, v.init, 148);
	memset(msg + 116, 0, 32);
	ws_cookie_add_macs(&m, msg, 148, now);
	CU_ASSERT_EQUAL(memcmp(msg, v.init, 148), 0);
	CU_ASSERT_TRUE(m.last_mac1_valid);
	CU_ASSERT_TRUE(ws_cookie_consume_reply(&m, (const struct ws_msg_cookie *)v.reply, v.index,
					       now));
	CU_ASSERT_EQUAL(memcmp(m.cookie, v.cookie, 16), 0);
	/* The same bytes with MAC2 from that cookie. */
	ws_cookie_add_macs(&m, msg, 148, now + SEC);
	CU_ASSERT_EQUAL(memcmp(msg, v.init_mac2, 148), 0);

	/* The retry validates as VALID_MAC2 from that address only. */
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, v.addr, strlen(v.addr), true, now),
			WS_COOKIE_VALID_MAC2);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, v.addr, strlen(v.addr), false, now),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, "127.0.0.1:51821", 15, true, now),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, v.addr, strlen(v.addr) - 1, true,
					   now),
			WS_COOKIE_VALID_MAC1);
}

/* handshake_init_with_mac2 through the whole responder: a fresh one consumes
 * it; one that already consumed handshake_init refuses it as a replay. */
static void test_cookie_vector_responder(void)
{
	struct cookie_vec v;
	struct ws_cookie_checker c;
	struct ws_noise_local res;
	struct ws_handshake hs;
	uint8_t rs[32], ip[32];
	uint64_t clock = ws_vec_u64(NULL, "handshake.inputs.responder_clock_unix_ns");
	const struct ws_msg_init *with_mac2;

	load_cookie_vec(&v);
	with_mac2 = (const struct ws_msg_init *)v.init_mac2;
	ws_vec_hex(NULL, "handshake.inputs.responder_static_private", rs, 32);
	ws_vec_hex(NULL, "handshake.inputs.initiator_static_public", ip, 32);
	CU_ASSERT_TRUE_FATAL(ws_noise_local_init(&res, rs));
	CU_ASSERT_EQUAL(memcmp(res.public_key, v.server, 32), 0);
	ws_cookie_checker_init(&c, res.public_key, 0);
	ws_cookie_checker_set_secret(&c, v.secret, 0);

	/* Fresh responder. */
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&hs, &res, ip));
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, v.addr, strlen(v.addr), true, SEC),
			WS_COOKIE_VALID_MAC2);
	CU_ASSERT_PTR_EQUAL(ws_noise_consume_init(&res, with_mac2, clock, lookup_one, &hs), &hs);

	/* A responder that consumed handshake_init first. */
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&hs, &res, ip));
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init, 148, v.addr, strlen(v.addr), false, SEC),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_PTR_EQUAL(ws_noise_consume_init(&res, (const struct ws_msg_init *)v.init, clock,
						  lookup_one, &hs),
			    &hs);
	CU_ASSERT_EQUAL(ws_cookie_validate(&c, v.init_mac2, 148, v.addr, strlen(v.addr), true, SEC),
			WS_COOKIE_VALID_MAC2);
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res, with_mac2, clock, lookup_one, &hs));
}

/* Two peers; the responder is under load for the whole exchange. */
struct side {
	struct ws_noise_local local;
	struct ws_handshake hs;
	struct ws_cookie_maker maker;
	struct ws_cookie_checker checker;
};

static void rand_key(uint64_t *seed, uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(ws_test_rand(seed) >> 56);
	ws_x25519_clamp(key);
}

static void sides_setup(struct side *a, struct side *b, uint64_t *seed, uint64_t now)
{
	uint8_t ka[32], kb[32];

	rand_key(seed, ka);
	rand_key(seed, kb);
	CU_ASSERT_TRUE_FATAL(ws_noise_local_init(&a->local, ka));
	CU_ASSERT_TRUE_FATAL(ws_noise_local_init(&b->local, kb));
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&a->hs, &a->local, b->local.public_key));
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&b->hs, &b->local, a->local.public_key));
	ws_cookie_maker_init(&a->maker, b->local.public_key);
	ws_cookie_maker_init(&b->maker, a->local.public_key);
	ws_cookie_checker_init(&a->checker, a->local.public_key, now);
	ws_cookie_checker_init(&b->checker, b->local.public_key, now);
}

static void make_init(struct side *a, uint64_t *seed, uint32_t idx, uint64_t unix_ns,
		      uint64_t now, struct ws_msg_init *init)
{
	uint8_t e[32];

	rand_key(seed, e);
	CU_ASSERT_TRUE_FATAL(ws_noise_create_init(&a->hs, &a->local, init, e, idx, unix_ns));
	ws_cookie_add_macs(&a->maker, (uint8_t *)init, sizeof(*init), now);
}

static void test_cookie_full_path(void)
{
	uint64_t seed = 0xc00c1e, now = 5 * SEC, unix_ns = 1767225600ULL * SEC;
	struct side a, b;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	struct ws_msg_cookie reply;
	struct ws_noise_keys ka, kb;
	uint8_t nonce[24], e[32];
	const char *addr = "[2001:db8::1]:4242";
	size_t alen = strlen(addr);

	sides_setup(&a, &b, &seed, now);
	/* 1. First init under load: MAC1 fine, no MAC2 -> CookieReply, nothing consumed. */
	make_init(&a, &seed, 1111, unix_ns, now, &init);
	CU_ASSERT_TRUE(ws_is_zero(init.mac2, 16));
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, true, now),
			WS_COOKIE_VALID_MAC1);
	ws_random(nonce, sizeof(nonce));
	ws_cookie_make_reply(&b.checker, &reply, ws_le32(init.sender_index), init.mac1, addr, alen,
			     nonce, now);
	/* 2. The initiator takes the cookie. */
	CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &reply, 1112, now));
	CU_ASSERT_TRUE_FATAL(ws_cookie_consume_reply(&a.maker, &reply, 1111, now));
	CU_ASSERT_TRUE(a.maker.have_cookie);
	/* 3. Retry: fresh ephemeral and timestamp, same sender_index, with MAC2. */
	make_init(&a, &seed, 1111, unix_ns + SEC, now + SEC, &init);
	CU_ASSERT_FALSE(ws_is_zero(init.mac2, 16));
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, true,
					   now + SEC),
			WS_COOKIE_VALID_MAC2);
	/* From another address the cookie is worth nothing. */
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, "[2001:db8::1]:4243",
					   alen, true, now + SEC),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_PTR_EQUAL_FATAL(
		ws_noise_consume_init(&b.local, &init, unix_ns + SEC, lookup_one, &b.hs), &b.hs);
	/* 4. The response: MAC1 for a, zero MAC2, and a's checker takes it. */
	rand_key(&seed, e);
	CU_ASSERT_TRUE_FATAL(ws_noise_create_resp(&b.hs, &b.local, &resp, e, 2222));
	ws_cookie_add_macs(&b.maker, (uint8_t *)&resp, sizeof(resp), now + SEC);
	CU_ASSERT_TRUE(ws_is_zero(resp.mac2, 16));
	CU_ASSERT_EQUAL(ws_cookie_validate(&a.checker, (uint8_t *)&resp, 92, addr, alen, true,
					   now + SEC),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_TRUE_FATAL(ws_noise_consume_resp(&a.hs, &a.local, &resp));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a.hs, &ka));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&b.hs, &kb));
	CU_ASSERT_EQUAL(memcmp(ka.send, kb.recv, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ka.recv, kb.send, 32), 0);
	CU_ASSERT_EQUAL(ka.remote_index, 2222);
	CU_ASSERT_EQUAL(kb.remote_index, 1111);
}

static void test_cookie_reply_rejections(void)
{
	uint64_t seed = 77, now = 0;
	struct side a, b;
	struct ws_msg_init init;
	struct ws_msg_cookie reply, bad;
	struct ws_cookie_maker saved;
	uint8_t nonce[24] = { 1, 2, 3 };
	const char *addr = "192.0.2.7:9";

	sides_setup(&a, &b, &seed, now);
	/* Nothing sent yet: nothing to decrypt with. */
	make_init(&b, &seed, 5, 1767225600ULL * SEC, now, &init);
	ws_cookie_make_reply(&a.checker, &reply, 5, init.mac1, addr, strlen(addr), nonce, now);
	CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &reply, 5, now));

	make_init(&a, &seed, 5, 1767225600ULL * SEC, now, &init);
	ws_cookie_make_reply(&b.checker, &reply, 5, init.mac1, addr, strlen(addr), nonce, now);
	saved = a.maker;
	/* Every bit flip, and a wrong expected index, is refused and changes nothing. */
	for (size_t bit = 0; bit < sizeof(reply) * 8; bit++) {
		bad = reply;
		((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &bad, 5, now));
		CU_ASSERT_EQUAL(memcmp(&a.maker, &saved, sizeof(saved)), 0);
	}
	CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &reply, 6, now));
	CU_ASSERT_EQUAL(memcmp(&a.maker, &saved, sizeof(saved)), 0);
	/* A reply to an older init is refused once a newer one was sent. */
	make_init(&a, &seed, 5, 1767225601ULL * SEC, now, &init);
	CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &reply, 5, now));
	/* The current one works once; the same reply again does not. */
	ws_cookie_make_reply(&b.checker, &reply, 5, init.mac1, addr, strlen(addr), nonce, now);
	CU_ASSERT_TRUE(ws_cookie_consume_reply(&a.maker, &reply, 5, now));
	CU_ASSERT_FALSE(ws_cookie_consume_reply(&a.maker, &reply, 5, now));
	/* Sending a HandshakeResp does not replace the init's mac1. */
	{
		struct ws_msg_resp resp;

		make_init(&a, &seed, 5, 1767225602ULL * SEC, now, &init);
		memset(&resp, 0, sizeof(resp));
		resp.type = WS_MSG_HANDSHAKE_RESP;
		ws_cookie_add_macs(&a.maker, (uint8_t *)&resp, sizeof(resp), now);
		CU_ASSERT_TRUE(ws_is_zero(resp.mac2, 16)); /* even with a cookie */
		CU_ASSERT_FALSE(ws_is_zero(resp.mac1, 16));
		ws_cookie_make_reply(&b.checker, &reply, 5, init.mac1, addr, strlen(addr), nonce, now);
		CU_ASSERT_TRUE(ws_cookie_consume_reply(&a.maker, &reply, 5, now));
	}
}

/* A cookie is used for MAC2 while younger than 120 s. */
static void test_cookie_lifetime(void)
{
	uint64_t seed = 3, born = 50 * SEC;
	struct side a, b;
	struct ws_msg_init init;
	struct ws_msg_cookie reply;
	uint8_t nonce[24] = { 0 };
	const char *addr = "10.0.0.1:1";

	sides_setup(&a, &b, &seed, born);
	make_init(&a, &seed, 9, 1767225600ULL * SEC, born, &init);
	ws_cookie_make_reply(&b.checker, &reply, 9, init.mac1, addr, strlen(addr), nonce, born);
	CU_ASSERT_TRUE_FATAL(ws_cookie_consume_reply(&a.maker, &reply, 9, born));
	ws_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), born + 120 * SEC - 1);
	CU_ASSERT_FALSE(ws_is_zero(init.mac2, 16));
	ws_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), born + 120 * SEC);
	CU_ASSERT_TRUE(ws_is_zero(init.mac2, 16));
	ws_cookie_add_macs(&a.maker, (uint8_t *)&init, sizeof(init), born - 1); /* clock oddity */
	CU_ASSERT_TRUE(ws_is_zero(init.mac2, 16));
}

/* The secret rotates after 120 s and only the current one is accepted. */
static void test_secret_rotation(void)
{
	uint64_t seed = 11, t0 = 1000 * SEC;
	struct side a, b;
	struct ws_msg_init init;
	struct ws_msg_cookie reply;
	uint8_t nonce[24] = { 9 }, secret[32];
	const char *addr = "10.0.0.2:2";
	size_t alen = strlen(addr);

	sides_setup(&a, &b, &seed, t0);
	memcpy(secret, b.checker.secret, 32);
	make_init(&a, &seed, 1, 1767225600ULL * SEC, t0, &init);
	ws_cookie_make_reply(&b.checker, &reply, 1, init.mac1, addr, alen, nonce, t0);
	CU_ASSERT_TRUE_FATAL(ws_cookie_consume_reply(&a.maker, &reply, 1, t0));
	make_init(&a, &seed, 1, 1767225601ULL * SEC, t0 + 100 * SEC, &init);
	/* The cookie's own age is fine (100 s); only the secret's age matters below. */
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, true,
					   t0 + 120 * SEC - 1),
			WS_COOKIE_VALID_MAC2);
	CU_ASSERT_EQUAL(memcmp(b.checker.secret, secret, 32), 0);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, true,
					   t0 + 120 * SEC),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_NOT_EQUAL(memcmp(b.checker.secret, secret, 32), 0);
	CU_ASSERT_EQUAL(b.checker.secret_birth_ns, t0 + 120 * SEC);
	/* A cookie from the new secret works again. */
	ws_cookie_make_reply(&b.checker, &reply, 1, init.mac1, addr, alen, nonce, t0 + 120 * SEC);
	CU_ASSERT_TRUE_FATAL(ws_cookie_consume_reply(&a.maker, &reply, 1, t0 + 120 * SEC));
	make_init(&a, &seed, 1, 1767225602ULL * SEC, t0 + 121 * SEC, &init);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, true,
					   t0 + 121 * SEC),
			WS_COOKIE_VALID_MAC2);
	/* make_reply rotates too. */
	memcpy(secret, b.checker.secret, 32);
	ws_cookie_make_reply(&b.checker, &reply, 1, init.mac1, addr, alen, nonce, t0 + 240 * SEC);
	CU_ASSERT_NOT_EQUAL(memcmp(b.checker.secret, secret, 32), 0);
	/* Without check_mac2 the secret is not touched. */
	memcpy(secret, b.checker.secret, 32);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, (uint8_t *)&init, 148, addr, alen, false,
					   t0 + 1000 * SEC),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_EQUAL(memcmp(b.checker.secret, secret, 32), 0);
}

static void test_validate_shapes(void)
{
	uint64_t seed = 21;
	struct side a, b;
	struct ws_msg_init init;
	uint8_t buf[200];
	uint8_t resp[92];

	sides_setup(&a, &b, &seed, 0);
	make_init(&a, &seed, 1, 1767225600ULL * SEC, 0, &init);
	memcpy(buf, &init, 148);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 148, "", 0, false, 0),
			WS_COOKIE_VALID_MAC1);
	/* Wrong length or wrong type for the length. */
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 147, "", 0, false, 0), WS_COOKIE_INVALID);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 149, "", 0, false, 0), WS_COOKIE_INVALID);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 92, "", 0, false, 0), WS_COOKIE_INVALID);
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 0, "", 0, false, 0), WS_COOKIE_INVALID);
	/* The wrong receiver's checker. */
	CU_ASSERT_EQUAL(ws_cookie_validate(&a.checker, buf, 148, "", 0, false, 0), WS_COOKIE_INVALID);
	/* MAC1 over [0,116): mac2 bytes do not matter for it. */
	buf[140] ^= 0xff;
	CU_ASSERT_EQUAL(ws_cookie_validate(&b.checker, buf, 148, "", 0, false, 0),
			WS_COOKIE_VALID_MAC1);
	/* A HandshakeResp: MAC1 only, even under load (DECISIONS 5). */
	memset(resp, 0x5a, sizeof(resp));
	resp[0] = 2;
	ws_cookie_add_macs(&b.maker, resp, sizeof(resp), 0);
	CU_ASSERT_EQUAL(ws_cookie_validate(&a.checker, resp, 92, "", 0, true, 0),
			WS_COOKIE_VALID_MAC1);
	resp[59] ^= 1;
	CU_ASSERT_EQUAL(ws_cookie_validate(&a.checker, resp, 92, "", 0, true, 0), WS_COOKIE_INVALID);
	/* The vector HandshakeResp has a valid MAC1 for the initiator. */
	{
		uint8_t ip[32], vresp[92];
		struct ws_cookie_checker c;

		ws_vec_hex(NULL, "handshake.inputs.initiator_static_public", ip, 32);
		ws_vec_hex(NULL, "handshake.handshake_resp", vresp, 92);
		ws_cookie_checker_init(&c, ip, 0);
		CU_ASSERT_EQUAL(ws_cookie_validate(&c, vresp, 92, "", 0, false, 0),
				WS_COOKIE_VALID_MAC1);
	}
}

static void test_addr_string(void)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(51820) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443),
				    .sin6_scope_id = 3 };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	char buf[64];

	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, sizeof(buf), (struct sockaddr *)&in4), 15);
	CU_ASSERT_STRING_EQUAL(buf, ws_vec_str(NULL, "cookie.client_addr"));
	inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, sizeof(buf), (struct sockaddr *)&in6), 13);
	CU_ASSERT_STRING_EQUAL(buf, "[fe80::1]:443"); /* no zone */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
	in6.sin6_port = htons(0);
	ws_cookie_addr_string(buf, sizeof(buf), (struct sockaddr *)&in6);
	CU_ASSERT_STRING_EQUAL(buf, "[::ffff:10.1.2.3]:0");
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", &in6.sin6_addr);
	in6.sin6_port = htons(65535);
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, sizeof(buf), (struct sockaddr *)&in6), 28);
	CU_ASSERT_STRING_EQUAL(buf, "[2001:db8:1:2:3:4:5:6]:65535");
	/* Too small (needs 29 with the NUL), or an unknown family: 0. */
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, 28, (struct sockaddr *)&in6), 0);
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, 29, (struct sockaddr *)&in6), 28);
	CU_ASSERT_EQUAL(ws_cookie_addr_string(buf, sizeof(buf), &sa), 0);
}

WS_SUITE(cookie)
{
	WS_ADD(suite, test_mac1_mac2_vector);
	WS_ADD(suite, test_cookie_vector);
	WS_ADD(suite, test_cookie_vector_responder);
	WS_ADD(suite, test_cookie_full_path);
	WS_ADD(suite, test_cookie_reply_rejections);
	WS_ADD(suite, test_cookie_lifetime);
	WS_ADD(suite, test_secret_rotation);
	WS_ADD(suite, test_validate_shapes);
	WS_ADD(suite, test_addr_string);
}
