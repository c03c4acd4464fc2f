/* SPDX-License-Identifier: MIT */
/*
 * Noise IK handshake (src/core/noise.c) against the vectors' "handshake" section,
 * a naive model built from the primitives, and round trips between two
 * in-memory peers.
 */
#include <stdio.h>
#include <string.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/noise.h"
#include "test.h"
#include "vectors.h"

#define SEC WS_NSEC_PER_SEC

/* --- the vector handshake ---------------------------------------------------------- */

struct vec {
	uint8_t is[32], ip[32], rs[32], rp[32];     /* statics */
	uint8_t ie[32], iep[32], re[32], rep[32];   /* ephemerals */
	uint32_t ii, ri;                            /* sender indices */
	uint64_t ts_ns, clock_ns;
	uint8_t init[WS_SIZE_HANDSHAKE_INIT], resp[WS_SIZE_HANDSHAKE_RESP];
	uint8_t final_ck[32], final_h[32];
};

static void load_vec(struct vec *v)
{
	json_t *hs = ws_vec_get(NULL, "handshake");

	CU_ASSERT_PTR_NOT_NULL_FATAL(hs);
	ws_vec_hex(hs, "inputs.initiator_static_private", v->is, 32);
	ws_vec_hex(hs, "inputs.initiator_static_public", v->ip, 32);
	ws_vec_hex(hs, "inputs.responder_static_private", v->rs, 32);
	ws_vec_hex(hs, "inputs.responder_static_public", v->rp, 32);
	ws_vec_hex(hs, "inputs.initiator_ephemeral_private", v->ie, 32);
	ws_vec_hex(hs, "inputs.initiator_ephemeral_public", v->iep, 32);
	ws_vec_hex(hs, "inputs.responder_ephemeral_private", v->re, 32);
	ws_vec_hex(hs, "inputs.responder_ephemeral_public", v->rep, 32);
	v->ii = (uint32_t)ws_vec_u64(hs, "inputs.initiator_sender_index");
	v->ri = (uint32_t)ws_vec_u64(hs, "inputs.responder_sender_index");
	v->ts_ns = ws_vec_u64(hs, "inputs.timestamp_unix_ns");
	v->clock_ns = ws_vec_u64(hs, "inputs.responder_clock_unix_ns");
	CU_ASSERT_EQUAL(ws_vec_hex(hs, "handshake_init", v->init, sizeof(v->init)), 148);
	CU_ASSERT_EQUAL(ws_vec_hex(hs, "handshake_resp", v->resp, sizeof(v->resp)), 92);
	ws_vec_hex(hs, "final_ck", v->final_ck, 32);
	ws_vec_hex(hs, "final_h", v->final_h, 32);
}

/* Index of the trace entry named `step` (its n-th occurrence, from 0). */
static json_t *trace_entry(const char *step, int nth)
{
	json_t *arr = ws_vec_get(NULL, "handshake.trace"), *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		if (!strcmp(ws_vec_str(e, "step"), step) && nth-- == 0)
			return e;
	}
	CU_FAIL_FATAL("trace step missing");
	return NULL;
}

static void assert_trace_ckh(const uint8_t ck[32], const uint8_t h[32], const char *step, int nth)
{
	json_t *e = trace_entry(step, nth);
	uint8_t want[32];

	ws_vec_hex(e, "ck", want, 32);
	CU_ASSERT_EQUAL(memcmp(ck, want, 32), 0);
	ws_vec_hex(e, "h", want, 32);
	CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
}

/* The ck and h a handshake half holds after a whole message. */
static void assert_trace(const struct ws_noise_state *st, const char *step, int nth)
{
	assert_trace_ckh(st->ck, st->h, step, nth);
}

/* --- a peer: identity, one handshake with the other peer, MAC state --------------- */

struct peer {
	struct ws_noise_local local;
	struct ws_handshake hs;
	struct ws_cookie_maker maker;     /* MACs on messages to the other peer */
	struct ws_cookie_checker checker; /* MACs on messages to us */
	int lookups;
};

static struct ws_handshake *lookup_peer(void *ctx, const uint8_t pub[32])
{
	struct peer *p = ctx;

	p->lookups++;
	return memcmp(p->hs.remote_static, pub, 32) ? NULL : &p->hs;
}

static struct ws_handshake *lookup_none(void *ctx, const uint8_t pub[32])
{
	(void)ctx;
	(void)pub;
	return NULL;
}

/* Returns a handshake for another key, whatever it is asked. */
static struct ws_handshake *lookup_wrong(void *ctx, const uint8_t pub[32])
{
	(void)pub;
	return ctx;
}

static void peers_setup(struct peer *a, const uint8_t a_priv[32], struct peer *b,
			const uint8_t b_priv[32])
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	CU_ASSERT_TRUE_FATAL(ws_noise_local_init(&a->local, a_priv));
	CU_ASSERT_TRUE_FATAL(ws_noise_local_init(&b->local, b_priv));
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&a->hs, &a->local, b->local.public_key));
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&b->hs, &b->local, a->local.public_key));
	ws_cookie_maker_init(&a->maker, b->local.public_key);
	ws_cookie_maker_init(&b->maker, a->local.public_key);
	ws_cookie_checker_init(&a->checker, a->local.public_key, 0);
	ws_cookie_checker_init(&b->checker, b->local.public_key, 0);
}

static void vec_peers(struct vec *v, struct peer *ini, struct peer *res)
{
	load_vec(v);
	peers_setup(ini, v->is, res, v->rs);
}

static void rand_bytes(uint64_t *seed, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(ws_test_rand(seed) >> 56);
}

static void rand_key(uint64_t *seed, uint8_t key[32])
{
	rand_bytes(seed, key, 32);
	ws_x25519_clamp(key);
}

/* from -> to: a HandshakeInit with MACs. */
static void send_init(struct peer *from, const uint8_t e[32], uint32_t idx, uint64_t unix_ns,
		      struct ws_msg_init *msg)
{
	CU_ASSERT_TRUE_FATAL(ws_noise_create_init(&from->hs, &from->local, msg, e, idx, unix_ns));
	ws_cookie_add_macs(&from->maker, (uint8_t *)msg, sizeof(*msg), 0);
}

/* The responder's receive path when not under load: MAC1, then Noise. */
static struct ws_handshake *recv_init(struct peer *to, const struct ws_msg_init *msg,
				      uint64_t unix_ns)
{
	if (ws_cookie_validate(&to->checker, (const uint8_t *)msg, sizeof(*msg), "x", 1, false, 0) ==
	    WS_COOKIE_INVALID)
		return NULL;
	return ws_noise_consume_init(&to->local, msg, unix_ns, lookup_peer, to);
}

static void send_resp(struct peer *from, const uint8_t e[32], uint32_t idx, struct ws_msg_resp *msg)
{
	CU_ASSERT_TRUE_FATAL(ws_noise_create_resp(&from->hs, &from->local, msg, e, idx));
	ws_cookie_add_macs(&from->maker, (uint8_t *)msg, sizeof(*msg), 0);
}

static bool recv_resp(struct peer *to, const struct ws_msg_resp *msg)
{
	if (ws_cookie_validate(&to->checker, (const uint8_t *)msg, sizeof(*msg), "x", 1, false, 0) ==
	    WS_COOKIE_INVALID)
		return false;
	return ws_noise_consume_resp(&to->hs, &to->local, msg);
}

/* --- a naive model of the two messages, from the primitives ------------------------ */

/* Builds a HandshakeInit from explicit DH results and timestamp bytes, so a test
 * can make what an attacker could (low-order ephemerals, odd timestamps). */
static void model_init(struct ws_msg_init *m, const uint8_t r_pub[32], const uint8_t i_pub[32],
		       const uint8_t e_pub[32], const uint8_t dh_es[32], const uint8_t dh_ss[32],
		       uint32_t idx, const uint8_t ts[12], uint8_t ck[32], uint8_t h[32])
{
	uint8_t k[32];

	memset(m, 0, sizeof(*m));
	m->type = 1;
	ws_put_le32(m->sender_index, idx);
	memcpy(m->ephemeral, e_pub, 32);
	memcpy(ck, ws_initial_ck, 32);
	ws_hash(h, ws_initial_h, 32, r_pub, 32);
	ws_hash(h, h, 32, e_pub, 32);
	ws_kdf(ck, k, NULL, ck, dh_es, 32);
	ws_aead_seal(m->encrypted_static, i_pub, 32, h, 32, 0, k);
	ws_hash(h, h, 32, m->encrypted_static, 48);
	ws_kdf(ck, k, NULL, ck, dh_ss, 32);
	ws_aead_seal(m->encrypted_timestamp, ts, 12, h, 32, 0, k);
	ws_hash(h, h, 32, m->encrypted_timestamp, 28);
}

/* Builds a HandshakeResp from the state after the init and explicit DH results. */
static void model_resp(struct ws_msg_resp *m, const uint8_t ck_in[32], const uint8_t h_in[32],
		       const uint8_t e_pub[32], const uint8_t dh_ee[32], const uint8_t dh_se[32],
		       uint32_t idx, uint32_t ridx)
{
	uint8_t ck[32], h[32], k[32];

	memset(m, 0, sizeof(*m));
	m->type = 2;
	ws_put_le32(m->sender_index, idx);
	ws_put_le32(m->receiver_index, ridx);
	memcpy(m->ephemeral, e_pub, 32);
	memcpy(ck, ck_in, 32);
	ws_hash(h, h_in, 32, e_pub, 32);
	ws_kdf(ck, k, NULL, ck, dh_ee, 32);
	ws_kdf(ck, k, NULL, ck, dh_se, 32);
	ws_aead_seal(m->encrypted_nil, m->encrypted_nil, 0, h, 32, 0, k);
}

/* --- vectors ----------------------------------------------------------------------- */

static void test_vector_dh(void)
{
	struct vec v;
	uint8_t want[32], got[32], pub[32];
	struct { const char *name; const uint8_t *a, *A, *b, *B; } dh[] = {
		{ "handshake.dh.es", v.ie, v.rp, v.rs, v.iep },
		{ "handshake.dh.ss", v.is, v.rp, v.rs, v.ip },
		{ "handshake.dh.ee", v.ie, v.rep, v.re, v.iep },
		{ "handshake.dh.se", v.is, v.rep, v.re, v.ip },
	};

	load_vec(&v);
	for (size_t i = 0; i < sizeof(dh) / sizeof(dh[0]); i++) {
		ws_vec_hex(NULL, dh[i].name, want, 32);
		CU_ASSERT_TRUE(ws_x25519(got, dh[i].a, dh[i].A));
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
		CU_ASSERT_TRUE(ws_x25519(got, dh[i].b, dh[i].B));
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	}
	CU_ASSERT_TRUE(ws_x25519_pubkey(pub, v.ie));
	CU_ASSERT_EQUAL(memcmp(pub, v.iep, 32), 0);
	CU_ASSERT_TRUE(ws_x25519_pubkey(pub, v.re));
	CU_ASSERT_EQUAL(memcmp(pub, v.rep, 32), 0);
}

static void test_vector_identity(void)
{
	struct vec v;
	struct peer ini, res;
	uint8_t ss[32], mac1_key[32];

	vec_peers(&v, &ini, &res);
	CU_ASSERT_EQUAL(memcmp(ini.local.public_key, v.ip, 32), 0);
	CU_ASSERT_EQUAL(memcmp(res.local.public_key, v.rp, 32), 0);
	ws_vec_hex(NULL, "handshake.dh.ss", ss, 32);
	CU_ASSERT_EQUAL(memcmp(ini.hs.precomputed_ss, ss, 32), 0);
	CU_ASSERT_EQUAL(memcmp(res.hs.precomputed_ss, ss, 32), 0);
	/* The mac1_mac2 vector's receiver is the handshake's responder. */
	ws_vec_hex(NULL, "mac1_mac2.mac1_key", mac1_key, 32);
	CU_ASSERT_EQUAL(memcmp(res.local.mac1_key, mac1_key, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ini.hs.remote_mac1_key, mac1_key, 32), 0);
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_NONE);
	CU_ASSERT_EQUAL(ini.hs.responder.state, WS_HS_NONE);
	CU_ASSERT_PTR_NULL(ini.hs.owner);
}

/* Every trace entry, recomputed step by step from the primitives. */
static void test_vector_trace_model(void)
{
	json_t *arr = ws_vec_get(NULL, "handshake.trace"), *e;
	struct vec v;
	uint8_t ck[32], h[32], k[32] = { 0 }, dh[32], want[32], ts[12], buf[64];
	bool have_k = false;
	int es = 0;
	size_t i;

	load_vec(&v);
	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	memcpy(ck, ws_initial_ck, 32);
	memcpy(h, ws_initial_h, 32);
	json_array_foreach(arr, i, e) {
		const char *step = ws_vec_str(e, "step");
		char dhname[32];

		if (!strcmp(step, "premessage s")) {
			ws_hash(h, h, 32, v.rp, 32);
		} else if (!strcmp(step, "e")) {
			ws_hash(h, h, 32, es++ ? v.rep : v.iep, 32);
		} else if (!strcmp(step, "es") || !strcmp(step, "ss") || !strcmp(step, "ee") ||
			   !strcmp(step, "se")) {
			snprintf(dhname, sizeof(dhname), "handshake.dh.%s", step);
			ws_vec_hex(NULL, dhname, dh, 32);
			ws_kdf(ck, k, NULL, ck, dh, 32);
			have_k = true;
		} else if (!strcmp(step, "s")) {
			ws_aead_seal(buf, v.ip, 32, h, 32, 0, k);
			CU_ASSERT_EQUAL(memcmp(buf, v.init + 40, 48), 0);
			ws_hash(h, h, 32, buf, 48);
		} else if (!strcmp(step, "timestamp")) {
			ws_vec_hex(NULL, "handshake.inputs.timestamp_tai64n", ts, 12);
			ws_aead_seal(buf, ts, 12, h, 32, 0, k);
			CU_ASSERT_EQUAL(memcmp(buf, v.init + 88, 28), 0);
			ws_hash(h, h, 32, buf, 28);
		} else if (!strcmp(step, "nil")) {
			ws_aead_seal(buf, buf, 0, h, 32, 0, k);
			CU_ASSERT_EQUAL(memcmp(buf, v.resp + 44, 16), 0);
			ws_hash(h, h, 32, buf, 16);
		} else {
			CU_FAIL("unknown trace step");
		}
		ws_vec_hex(e, "ck", want, 32);
		CU_ASSERT_EQUAL(memcmp(ck, want, 32), 0);
		ws_vec_hex(e, "h", want, 32);
		CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
		if (have_k) {
			ws_vec_hex(e, "k", want, 32);
			CU_ASSERT_EQUAL(memcmp(k, want, 32), 0);
		} else {
			CU_ASSERT_TRUE(json_is_null(ws_vec_get(e, "k")));
		}
	}
	CU_ASSERT_EQUAL(memcmp(ck, v.final_ck, 32), 0);
	CU_ASSERT_EQUAL(memcmp(h, v.final_h, 32), 0);
}

static void assert_init_fields(const uint8_t *msg)
{
	json_t *f = ws_vec_get(NULL, "handshake.handshake_init_fields");
	uint8_t want[48];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(msg[0], 1);
	CU_ASSERT_EQUAL(msg[1] | msg[2] | msg[3], 0);
	CU_ASSERT_EQUAL(ws_le32(msg + 4), ws_vec_u64(f, "sender_index"));
	ws_vec_hex(f, "ephemeral", want, 32);
	CU_ASSERT_EQUAL(memcmp(msg + 8, want, 32), 0);
	ws_vec_hex(f, "encrypted_static", want, 48);
	CU_ASSERT_EQUAL(memcmp(msg + 40, want, 48), 0);
	ws_vec_hex(f, "encrypted_timestamp", want, 28);
	CU_ASSERT_EQUAL(memcmp(msg + 88, want, 28), 0);
	ws_vec_hex(f, "mac1", want, 16);
	CU_ASSERT_EQUAL(memcmp(msg + 116, want, 16), 0);
	ws_vec_hex(f, "mac2", want, 16);
	CU_ASSERT_EQUAL(memcmp(msg + 132, want, 16), 0);
}

static void assert_resp_fields(const uint8_t *msg)
{
	json_t *f = ws_vec_get(NULL, "handshake.handshake_resp_fields");
	uint8_t want[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(msg[0], 2);
	CU_ASSERT_EQUAL(msg[1] | msg[2] | msg[3], 0);
	CU_ASSERT_EQUAL(ws_le32(msg + 4), ws_vec_u64(f, "sender_index"));
	CU_ASSERT_EQUAL(ws_le32(msg + 8), ws_vec_u64(f, "receiver_index"));
	ws_vec_hex(f, "ephemeral", want, 32);
	CU_ASSERT_EQUAL(memcmp(msg + 12, want, 32), 0);
	ws_vec_hex(f, "encrypted_nil", want, 16);
	CU_ASSERT_EQUAL(memcmp(msg + 44, want, 16), 0);
	ws_vec_hex(f, "mac1", want, 16);
	CU_ASSERT_EQUAL(memcmp(msg + 60, want, 16), 0);
	ws_vec_hex(f, "mac2", want, 16);
	CU_ASSERT_EQUAL(memcmp(msg + 76, want, 16), 0);
}

static void assert_keys(const struct ws_noise_keys *k, const char *send, const char *recv)
{
	json_t *t = ws_vec_get(NULL, "handshake.transport_keys");
	uint8_t want[32];

	ws_vec_hex(t, send, want, 32);
	CU_ASSERT_EQUAL(memcmp(k->send, want, 32), 0);
	ws_vec_hex(t, recv, want, 32);
	CU_ASSERT_EQUAL(memcmp(k->recv, want, 32), 0);
}

/* Both roles of the vector handshake: bytes, fields, trace and keys. */
static void test_vector_handshake(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	struct ws_noise_keys ki, kr;
	uint8_t zero[32] = { 0 }, t1[32], t2[32];

	vec_peers(&v, &ini, &res);

	/* Initiator: create_init. */
	CU_ASSERT_TRUE_FATAL(ws_noise_create_init(&ini.hs, &ini.local, &init, v.ie, v.ii, v.ts_ns));
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_INIT_SENT);
	CU_ASSERT_EQUAL(ini.hs.initiator.local_index, v.ii);
	CU_ASSERT_TRUE(ws_is_zero(init.mac1, 32)); /* mac1 and mac2 left to the cookie module */
	CU_ASSERT_EQUAL(memcmp(&init, v.init, WS_INIT_MAC1_OFF), 0);
	assert_trace(&ini.hs.initiator, "timestamp", 0);
	ws_cookie_add_macs(&ini.maker, (uint8_t *)&init, sizeof(init), 0);
	CU_ASSERT_EQUAL(memcmp(&init, v.init, sizeof(init)), 0);
	assert_init_fields((const uint8_t *)&init);

	/* Responder: consume_init at its vector clock. */
	CU_ASSERT_PTR_EQUAL(recv_init(&res, (const struct ws_msg_init *)v.init, v.clock_ns), &res.hs);
	CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_INIT_CONSUMED);
	CU_ASSERT_EQUAL(res.hs.responder.remote_index, v.ii);
	CU_ASSERT_EQUAL(memcmp(res.hs.responder.remote_e, v.iep, 32), 0);
	{
		uint8_t ts[12];

		ws_vec_hex(NULL, "handshake.inputs.timestamp_tai64n", ts, 12);
		CU_ASSERT_EQUAL(memcmp(res.hs.greatest_timestamp, ts, 12), 0);
	}
	assert_trace(&res.hs.responder, "timestamp", 0);

	/* Responder: create_resp. */
	send_resp(&res, v.re, v.ri, &resp);
	CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_RESP_SENT);
	CU_ASSERT_EQUAL(memcmp(&resp, v.resp, sizeof(resp)), 0);
	assert_resp_fields((const uint8_t *)&resp);
	assert_trace(&res.hs.responder, "nil", 0);
	CU_ASSERT_EQUAL(memcmp(res.hs.responder.ck, v.final_ck, 32), 0);
	CU_ASSERT_EQUAL(memcmp(res.hs.responder.h, v.final_h, 32), 0);
	CU_ASSERT_TRUE(ws_is_zero(res.hs.responder.e_priv, 32));

	/* Initiator: consume_resp. */
	CU_ASSERT_TRUE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_RESP_CONSUMED);
	CU_ASSERT_EQUAL(ini.hs.initiator.remote_index, v.ri);
	CU_ASSERT_EQUAL(memcmp(ini.hs.initiator.remote_e, v.rep, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ini.hs.initiator.ck, v.final_ck, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ini.hs.initiator.h, v.final_h, 32), 0);
	CU_ASSERT_TRUE(ws_is_zero(ini.hs.initiator.e_priv, 32));

	/* SPLIT, both roles. */
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&ini.hs, &ki));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&res.hs, &kr));
	assert_keys(&ki, "initiator_send", "initiator_recv");
	assert_keys(&ki, "T_initiator_send", "T_initiator_recv");
	assert_keys(&kr, "responder_send", "responder_recv");
	ws_kdf(t1, t2, NULL, v.final_ck, "", 0);
	CU_ASSERT_EQUAL(memcmp(ki.send, t1, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ki.recv, t2, 32), 0);
	CU_ASSERT_TRUE(ki.initiator);
	CU_ASSERT_FALSE(kr.initiator);
	CU_ASSERT_EQUAL(ki.local_index, v.ii);
	CU_ASSERT_EQUAL(ki.remote_index, v.ri);
	CU_ASSERT_EQUAL(kr.local_index, v.ri);
	CU_ASSERT_EQUAL(kr.remote_index, v.ii);

	/* Both halves wiped and back to NONE; identity kept. */
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_NONE);
	CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_NONE);
	CU_ASSERT_TRUE(ws_is_zero(&ini.hs.initiator, sizeof(ini.hs.initiator)));
	CU_ASSERT_TRUE(ws_is_zero(&res.hs.responder, sizeof(res.hs.responder)));
	CU_ASSERT_EQUAL(memcmp(ini.hs.remote_static, v.rp, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(res.hs.precomputed_ss, zero, 32), 0);
	CU_ASSERT_FALSE(ws_noise_derive_keys(&ini.hs, &ki));
	CU_ASSERT_FALSE(ws_noise_derive_keys(&res.hs, &kr));
}

/* The test-side model reproduces the vector messages (so the model is sound). */
static void test_vector_model(void)
{
	struct vec v;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	uint8_t es[32], ss[32], ee[32], se[32], ts[12], ck[32], h[32];

	load_vec(&v);
	ws_vec_hex(NULL, "handshake.dh.es", es, 32);
	ws_vec_hex(NULL, "handshake.dh.ss", ss, 32);
	ws_vec_hex(NULL, "handshake.dh.ee", ee, 32);
	ws_vec_hex(NULL, "handshake.dh.se", se, 32);
	ws_tai64n(ts, v.ts_ns);
	model_init(&init, v.rp, v.ip, v.iep, es, ss, v.ii, ts, ck, h);
	CU_ASSERT_EQUAL(memcmp(&init, v.init, WS_INIT_MAC1_OFF), 0);
	assert_trace_ckh(ck, h, "timestamp", 0);
	model_resp(&resp, ck, h, v.rep, ee, se, v.ri, v.ii);
	CU_ASSERT_EQUAL(memcmp(&resp, v.resp, WS_RESP_MAC1_OFF), 0);
}

/* --- round trips ------------------------------------------------------------------- */

/* A full handshake from a to b; returns both sides' keys. */
static void handshake(struct peer *a, struct peer *b, uint64_t *seed, uint64_t unix_ns,
		      struct ws_noise_keys *ka, struct ws_noise_keys *kb)
{
	uint8_t ea[32], eb[32];
	uint32_t ia = (uint32_t)ws_test_rand(seed), ib = (uint32_t)ws_test_rand(seed);
	struct ws_msg_init init;
	struct ws_msg_resp resp;

	rand_key(seed, ea);
	rand_key(seed, eb);
	send_init(a, ea, ia, unix_ns, &init);
	CU_ASSERT_PTR_EQUAL_FATAL(recv_init(b, &init, unix_ns), &b->hs);
	send_resp(b, eb, ib, &resp);
	CU_ASSERT_TRUE_FATAL(recv_resp(a, &resp));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a->hs, ka));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&b->hs, kb));
	CU_ASSERT_EQUAL(ka->local_index, ia);
	CU_ASSERT_EQUAL(ka->remote_index, ib);
	CU_ASSERT_EQUAL(kb->local_index, ib);
	CU_ASSERT_EQUAL(kb->remote_index, ia);
}

/* The keys of the two ends pair up and carry a sealed message each way. */
static void assert_pair(const struct ws_noise_keys *x, const struct ws_noise_keys *y)
{
	uint8_t buf[64 + 16];
	const char *msg = "wiresocket transport test message";
	size_t n = strlen(msg);

	CU_ASSERT_NOT_EQUAL(x->initiator, y->initiator);
	CU_ASSERT_EQUAL(memcmp(x->send, y->recv, 32), 0);
	CU_ASSERT_EQUAL(memcmp(x->recv, y->send, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(x->send, x->recv, 32), 0);
	ws_aead_seal(buf, (const uint8_t *)msg, n, NULL, 0, 7, x->send);
	CU_ASSERT_TRUE(ws_aead_open(buf, buf, n + 16, NULL, 0, 7, y->recv));
	CU_ASSERT_EQUAL(memcmp(buf, msg, n), 0);
	ws_aead_seal(buf, (const uint8_t *)msg, n, NULL, 0, 0, y->send);
	CU_ASSERT_FALSE(ws_aead_open(buf, buf, n + 16, NULL, 0, 0, y->recv)); /* wrong direction */
	ws_aead_seal(buf, (const uint8_t *)msg, n, NULL, 0, 0, y->send);
	CU_ASSERT_TRUE(ws_aead_open(buf, buf, n + 16, NULL, 0, 0, x->recv));
	CU_ASSERT_EQUAL(memcmp(buf, msg, n), 0);
}

static void test_roundtrip_both_roles(void)
{
	uint64_t seed = 0x6e6f697365ULL;

	for (int iter = 0; iter < 8; iter++) {
		struct peer a, b;
		struct ws_noise_keys ka, kb;
		uint8_t pa[32], pb[32];

		rand_key(&seed, pa);
		rand_key(&seed, pb);
		peers_setup(&a, pa, &b, pb);
		handshake(&a, &b, &seed, 1767225600ULL * SEC + (uint64_t)iter, &ka, &kb);
		CU_ASSERT_TRUE(ka.initiator);
		assert_pair(&ka, &kb);
		/* Then the other way round, same handshake structs. */
		handshake(&b, &a, &seed, 1767225601ULL * SEC + (uint64_t)iter, &kb, &ka);
		CU_ASSERT_TRUE(kb.initiator);
		assert_pair(&ka, &kb);
		/* And again a -> b: timestamps still increasing. */
		handshake(&a, &b, &seed, 1767225602ULL * SEC, &ka, &kb);
		assert_pair(&ka, &kb);
	}
}

/* Both initiate at once: both handshakes complete (DECISIONS 28). */
static void test_simultaneous_init(void)
{
	uint64_t seed = 42;
	struct peer a, b;
	struct ws_msg_init ia, ib;
	struct ws_msg_resp ra, rb;
	struct ws_noise_keys ka1, ka2, kb1, kb2;
	uint8_t pa[32], pb[32], e[4][32];
	uint64_t now = 1767225600ULL * SEC;

	rand_key(&seed, pa);
	rand_key(&seed, pb);
	for (int i = 0; i < 4; i++)
		rand_key(&seed, e[i]);
	peers_setup(&a, pa, &b, pb);
	send_init(&a, e[0], 100, now, &ia);
	send_init(&b, e[1], 200, now, &ib);
	CU_ASSERT_PTR_EQUAL_FATAL(recv_init(&a, &ib, now), &a.hs);
	CU_ASSERT_PTR_EQUAL_FATAL(recv_init(&b, &ia, now), &b.hs);
	send_resp(&a, e[2], 101, &ra);
	send_resp(&b, e[3], 201, &rb);
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a.hs, &ka1)); /* a as responder */
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&b.hs, &kb1)); /* b as responder */
	CU_ASSERT_FALSE(ka1.initiator);
	CU_ASSERT_FALSE(kb1.initiator);
	CU_ASSERT_TRUE_FATAL(recv_resp(&a, &rb));
	CU_ASSERT_TRUE_FATAL(recv_resp(&b, &ra));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a.hs, &ka2));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&b.hs, &kb2));
	CU_ASSERT_TRUE(ka2.initiator);
	CU_ASSERT_TRUE(kb2.initiator);
	assert_pair(&ka2, &kb1); /* a's handshake: a initiator, b responder */
	assert_pair(&kb2, &ka1);
	CU_ASSERT_EQUAL(ka2.local_index, 100);
	CU_ASSERT_EQUAL(ka2.remote_index, 201);
	CU_ASSERT_EQUAL(ka1.local_index, 101);
	CU_ASSERT_EQUAL(ka1.remote_index, 200);

	/* Both halves ready at once: initiator first, then responder. */
	send_init(&a, e[0], 300, now + SEC, &ia);
	CU_ASSERT_PTR_EQUAL_FATAL(recv_init(&b, &ia, now + SEC), &b.hs);
	send_resp(&b, e[3], 301, &rb);
	send_init(&b, e[1], 400, now + SEC, &ib);
	CU_ASSERT_PTR_EQUAL_FATAL(recv_init(&a, &ib, now + SEC), &a.hs);
	send_resp(&a, e[2], 401, &ra);
	CU_ASSERT_TRUE_FATAL(recv_resp(&a, &rb));
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a.hs, &ka1));
	CU_ASSERT_TRUE(ka1.initiator);
	CU_ASSERT_TRUE_FATAL(ws_noise_derive_keys(&a.hs, &ka2));
	CU_ASSERT_FALSE(ka2.initiator);
	CU_ASSERT_FALSE(ws_noise_derive_keys(&a.hs, &ka2));
}

/* --- rejections -------------------------------------------------------------------- */

static void test_replayed_init(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	uint8_t greatest[12];

	vec_peers(&v, &ini, &res);
	CU_ASSERT_PTR_EQUAL(recv_init(&res, (const struct ws_msg_init *)v.init, v.clock_ns), &res.hs);
	memcpy(greatest, res.hs.greatest_timestamp, 12);
	ws_handshake_clear(&res.hs); /* keeps the greatest timestamp */
	CU_ASSERT_EQUAL(memcmp(res.hs.greatest_timestamp, greatest, 12), 0);
	/* The same bytes again, any time later: a replay. */
	CU_ASSERT_PTR_NULL(recv_init(&res, (const struct ws_msg_init *)v.init, v.clock_ns));
	CU_ASSERT_PTR_NULL(recv_init(&res, (const struct ws_msg_init *)v.init, v.clock_ns + SEC));
	CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_NONE);
	/* A fresh init with an older or equal timestamp is refused too... */
	send_init(&ini, v.ie, 1, v.ts_ns - 1, &init);
	CU_ASSERT_PTR_NULL(recv_init(&res, &init, v.clock_ns));
	send_init(&ini, v.ie, 1, v.ts_ns, &init);
	CU_ASSERT_PTR_NULL(recv_init(&res, &init, v.clock_ns));
	CU_ASSERT_EQUAL(memcmp(res.hs.greatest_timestamp, greatest, 12), 0);
	/* ... a newer one (by one nanosecond) is accepted. */
	send_init(&ini, v.ie, 1, v.ts_ns + 1, &init);
	CU_ASSERT_PTR_EQUAL(recv_init(&res, &init, v.clock_ns), &res.hs);
	CU_ASSERT_NOT_EQUAL(memcmp(res.hs.greatest_timestamp, greatest, 12), 0);
}

static void test_timestamp_skew(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	const struct { int64_t delta; bool ok; } cases[] = {
		{ 0, true },
		{ 180 * (int64_t)SEC, true },
		{ -180 * (int64_t)SEC, true },
		{ 180 * (int64_t)SEC + 1, false },
		{ -180 * (int64_t)SEC - 1, false },
		{ 181 * (int64_t)SEC, false },
		{ -181 * (int64_t)SEC, false },
	};

	vec_peers(&v, &ini, &res);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A fresh peer entry each time, so only the skew decides. */
		CU_ASSERT_TRUE_FATAL(ws_handshake_init(&res.hs, &res.local, ini.local.public_key));
		send_init(&ini, v.ie, 9, v.ts_ns, &init);
		/* The responder's clock is off by delta from the initiator's. */
		CU_ASSERT_EQUAL(recv_init(&res, &init, v.ts_ns + (uint64_t)cases[i].delta) != NULL,
				cases[i].ok);
	}
}

/* Timestamps only a hand-made message can carry. */
static void test_timestamp_encoding(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	uint8_t es[32], ck[32], h[32];
	const uint64_t secs = 1767225600;
	const struct { uint64_t label; uint32_t nsec; uint64_t clock; bool ok; } cases[] = {
		{ 0x4000000000000000ULL + secs, 999999999, secs * SEC + SEC, true },
		{ 0x4000000000000000ULL + secs, 1000000000, secs * SEC + SEC, false },
		{ 0x4000000000000000ULL + secs, 0xffffffff, secs * SEC + 4 * SEC, false },
		{ 0x3fffffffffffffffULL, 0, 0, false },            /* before the epoch */
		{ 0xffffffffffffffffULL, 0, UINT64_MAX, false },   /* beyond any clock */
		{ 0x4000000000000000ULL + 18446744073ULL, 709551615, UINT64_MAX, true },
		{ 0x4000000000000000ULL + 18446744073ULL, 709551616, UINT64_MAX, false },
		{ 0x4000000000000000ULL, 0, 100 * SEC, true },     /* the epoch itself */
	};

	vec_peers(&v, &ini, &res);
	ws_vec_hex(NULL, "handshake.dh.es", es, 32);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t ts[12];

		for (int b = 0; b < 8; b++)
			ts[b] = (uint8_t)(cases[i].label >> (56 - 8 * b));
		for (int b = 0; b < 4; b++)
			ts[8 + b] = (uint8_t)(cases[i].nsec >> (24 - 8 * b));
		CU_ASSERT_TRUE_FATAL(ws_handshake_init(&res.hs, &res.local, ini.local.public_key));
		model_init(&init, v.rp, v.ip, v.iep, es, ini.hs.precomputed_ss, 5, ts, ck, h);
		CU_ASSERT_EQUAL(ws_noise_consume_init(&res.local, &init, cases[i].clock, lookup_peer,
						      &res) != NULL,
				cases[i].ok);
		if (!cases[i].ok)
			CU_ASSERT_TRUE(ws_is_zero(res.hs.greatest_timestamp, 12));
	}
}

static void test_unknown_static(void)
{
	struct vec v;
	struct peer ini, res, other, third;
	uint64_t seed = 7;
	uint8_t k1[32], k2[32];

	vec_peers(&v, &ini, &res);
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, (const struct ws_msg_init *)v.init,
						 v.clock_ns, lookup_none, NULL));
	/* A lookup that hands back another peer's handshake is not trusted. */
	rand_key(&seed, k1);
	rand_key(&seed, k2);
	peers_setup(&other, k1, &third, k2);
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, (const struct ws_msg_init *)v.init,
						 v.clock_ns, lookup_wrong, &other.hs));
	CU_ASSERT_EQUAL(other.hs.responder.state, WS_HS_NONE);
	/* Even one holding the right DH secret but naming another key. */
	other.hs = res.hs;
	other.hs.remote_static[0] ^= 1;
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, (const struct ws_msg_init *)v.init,
						 v.clock_ns, lookup_wrong, &other.hs));
	CU_ASSERT_EQUAL(other.hs.responder.state, WS_HS_NONE);
	/* A responder with another key cannot even decrypt it. */
	res.lookups = 0;
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&other.local, (const struct ws_msg_init *)v.init,
						 v.clock_ns, lookup_peer, &res));
	CU_ASSERT_EQUAL(res.lookups, 0);
	/* The genuine path still works. */
	CU_ASSERT_PTR_EQUAL(ws_noise_consume_init(&res.local, (const struct ws_msg_init *)v.init,
						  v.clock_ns, lookup_peer, &res),
			    &res.hs);
	CU_ASSERT_EQUAL(res.lookups, 1);
}

/* Low-order points as ephemerals and statics. A forger who knows every other
 * secret builds the rest with the all-zero DH such a point gives. */
static void test_low_order_points(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.x25519_low_order_publics_rejected"), *p;
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	struct ws_handshake hs;
	uint8_t zero[32] = { 0 }, ts[12], ck[32], h[32], se[32];
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	vec_peers(&v, &ini, &res);
	ws_tai64n(ts, v.ts_ns);
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	json_array_foreach(arr, i, p) {
		uint8_t low[32];

		CU_ASSERT_EQUAL_FATAL(ws_vec_hex(p, "", low, 32), 32);
		/* Responder: es = DH(s_r, low) = 0. */
		model_init(&init, v.rp, v.ip, low, zero, ini.hs.precomputed_ss, 1, ts, ck, h);
		CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, &init, v.clock_ns, lookup_peer,
							 &res));
		CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_NONE);
		/* Initiator: ee = DH(e_i, low) = 0 and se = DH(s_i, low) = 0. */
		model_resp(&resp, ini.hs.initiator.ck, ini.hs.initiator.h, low, zero, zero, 3, v.ii);
		CU_ASSERT_FALSE(ws_noise_consume_resp(&ini.hs, &ini.local, &resp));
		CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_INIT_SENT);
		/* A peer whose static key is low order cannot be configured. */
		CU_ASSERT_FALSE(ws_handshake_init(&hs, &res.local, low));
		CU_ASSERT_TRUE(ws_is_zero(&hs, sizeof(hs)));
	}
	/* A genuine init made the same way passes, and the response forged with a real
	 * ephemeral but without the responder's ck does not. */
	ws_vec_hex(NULL, "handshake.dh.es", se, 32);
	model_init(&init, v.rp, v.ip, v.iep, se, ini.hs.precomputed_ss, 1, ts, ck, h);
	CU_ASSERT_PTR_EQUAL(ws_noise_consume_init(&res.local, &init, v.clock_ns, lookup_peer, &res),
			    &res.hs);
	CU_ASSERT_TRUE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
}

/* Every single-bit change to a HandshakeInit is refused and changes nothing. */
static void test_init_bit_flips(void)
{
	struct vec v;
	struct peer ini, res;
	uint8_t msg[WS_SIZE_HANDSHAKE_INIT];

	vec_peers(&v, &ini, &res);
	for (size_t bit = 0; bit < sizeof(msg) * 8; bit++) {
		size_t byte = bit / 8;

		memcpy(msg, v.init, sizeof(msg));
		msg[byte] ^= (uint8_t)(1u << (bit % 8));
		/* MAC1 covers [0,116): the receive path refuses every flip there. */
		if (byte < WS_INIT_MAC2_OFF)
			CU_ASSERT_PTR_NULL(recv_init(&res, (const struct ws_msg_init *)msg, v.clock_ns));
		/* Noise alone refuses all but sender_index (MAC1's job) and the MACs. */
		if (byte < 4 || (byte >= 8 && byte < WS_INIT_MAC1_OFF))
			CU_ASSERT_PTR_NULL(ws_noise_consume_init(
				&res.local, (const struct ws_msg_init *)msg, v.clock_ns, lookup_peer, &res));
		CU_ASSERT_EQUAL(res.hs.responder.state, WS_HS_NONE);
		CU_ASSERT_TRUE(ws_is_zero(res.hs.greatest_timestamp, 12));
	}
	CU_ASSERT_PTR_EQUAL(recv_init(&res, (const struct ws_msg_init *)v.init, v.clock_ns), &res.hs);
}

/* Every single-bit change to a HandshakeResp is refused and leaves the pending
 * handshake able to accept the genuine response (DECISIONS 19). */
static void test_resp_bit_flips(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_noise_state pending;
	uint8_t msg[WS_SIZE_HANDSHAKE_RESP];
	struct ws_noise_keys k;

	vec_peers(&v, &ini, &res);
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	pending = ini.hs.initiator;
	for (size_t bit = 0; bit < WS_RESP_MAC2_OFF * 8; bit++) {
		size_t byte = bit / 8;

		memcpy(msg, v.resp, sizeof(msg));
		msg[byte] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT_FALSE(recv_resp(&ini, (const struct ws_msg_resp *)msg));
		/* Noise alone: all but sender_index and the MACs. */
		if (byte < 4 || (byte >= 8 && byte < WS_RESP_MAC1_OFF))
			CU_ASSERT_FALSE(ws_noise_consume_resp(&ini.hs, &ini.local,
							      (const struct ws_msg_resp *)msg));
		CU_ASSERT_EQUAL(memcmp(&ini.hs.initiator, &pending, sizeof(pending)), 0);
		CU_ASSERT_FALSE(ws_noise_derive_keys(&ini.hs, &k));
	}
	/* HandshakeResp's mac2 is sent as zeros and ignored (DECISIONS 5). */
	memcpy(msg, v.resp, sizeof(msg));
	msg[WS_RESP_MAC2_OFF] ^= 1;
	CU_ASSERT_TRUE(recv_resp(&ini, (const struct ws_msg_resp *)msg));
	/* Accepted once: the same response again is refused. */
	CU_ASSERT_FALSE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	CU_ASSERT_TRUE(ws_noise_derive_keys(&ini.hs, &k));
	assert_keys(&k, "initiator_send", "initiator_recv");
}

static void test_resp_wrong_state_or_index(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	uint8_t e2[32];
	uint64_t seed = 99;

	vec_peers(&v, &ini, &res);
	/* No handshake pending. */
	CU_ASSERT_FALSE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	/* Right bytes, receiver_index changed and MAC1 redone. */
	memcpy(&resp, v.resp, sizeof(resp));
	ws_put_le32(resp.receiver_index, v.ii + 1);
	ws_cookie_add_macs(&res.maker, (uint8_t *)&resp, sizeof(resp), 0);
	CU_ASSERT_FALSE(recv_resp(&ini, &resp));
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_INIT_SENT);
	/* The genuine response to an init that has since been replaced. */
	rand_key(&seed, e2);
	send_init(&ini, e2, v.ii + 1, v.ts_ns + SEC, &init);
	CU_ASSERT_FALSE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	CU_ASSERT_FALSE(recv_resp(&ini, &resp)); /* right index now, wrong transcript */
	CU_ASSERT_EQUAL(ini.hs.initiator.state, WS_HS_INIT_SENT);
	/* Same index and ephemeral as the vector again: accepted. */
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	CU_ASSERT_TRUE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	/* Type and reserved bytes are checked by Noise too. */
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	memcpy(&resp, v.resp, sizeof(resp));
	resp.reserved[2] = 1;
	CU_ASSERT_FALSE(ws_noise_consume_resp(&ini.hs, &ini.local, &resp));
	resp.reserved[2] = 0;
	resp.type = 1;
	CU_ASSERT_FALSE(ws_noise_consume_resp(&ini.hs, &ini.local, &resp));
}

/* A syntactically perfect response with a valid MAC1 from someone who is not
 * the responder changes nothing. */
static void test_forged_resp_keeps_pending(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	struct ws_noise_state pending;
	uint8_t e[32], epub[32], ee[32], se[32], guess[32];
	uint64_t seed = 5;

	vec_peers(&v, &ini, &res);
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	pending = ini.hs.initiator;
	rand_key(&seed, e);
	CU_ASSERT_TRUE(ws_x25519_pubkey(epub, e));
	CU_ASSERT_TRUE(ws_x25519(ee, e, v.iep));
	CU_ASSERT_TRUE(ws_x25519(se, e, v.ip));
	/* The forger knows the public transcript h but must guess ck. */
	rand_bytes(&seed, guess, 32);
	model_resp(&resp, guess, ini.hs.initiator.h, epub, ee, se, 77, v.ii);
	ws_cookie_add_macs(&res.maker, (uint8_t *)&resp, sizeof(resp), 0);
	CU_ASSERT_EQUAL(ws_cookie_validate(&ini.checker, (const uint8_t *)&resp, sizeof(resp), "x", 1,
					   false, 0),
			WS_COOKIE_VALID_MAC1);
	CU_ASSERT_FALSE(ws_noise_consume_resp(&ini.hs, &ini.local, &resp));
	CU_ASSERT_EQUAL(memcmp(&ini.hs.initiator, &pending, sizeof(pending)), 0);
	/* With the real ck the same construction is the genuine response. */
	CU_ASSERT_TRUE(ws_x25519(ee, v.re, v.iep));
	CU_ASSERT_TRUE(ws_x25519(se, v.re, v.ip));
	model_resp(&resp, ini.hs.initiator.ck, ini.hs.initiator.h, v.rep, ee, se, v.ri, v.ii);
	CU_ASSERT_EQUAL(memcmp(&resp, v.resp, WS_RESP_MAC1_OFF), 0);
	CU_ASSERT_TRUE(ws_noise_consume_resp(&ini.hs, &ini.local, &resp));
}

static void test_state_machine(void)
{
	struct vec v;
	struct peer ini, res;
	struct ws_msg_init init;
	struct ws_msg_resp resp;
	struct ws_noise_keys k;
	int marker;

	vec_peers(&v, &ini, &res);
	res.hs.owner = &marker;
	/* Nothing to derive or respond to yet. */
	CU_ASSERT_FALSE(ws_noise_derive_keys(&ini.hs, &k));
	CU_ASSERT_FALSE(ws_noise_create_resp(&res.hs, &res.local, &resp, v.re, v.ri));
	send_init(&ini, v.ie, v.ii, v.ts_ns, &init);
	CU_ASSERT_FALSE(ws_noise_derive_keys(&ini.hs, &k)); /* INIT_SENT */
	CU_ASSERT_FALSE(ws_noise_create_resp(&ini.hs, &ini.local, &resp, v.re, v.ri));
	CU_ASSERT_PTR_EQUAL(recv_init(&res, &init, v.clock_ns), &res.hs);
	CU_ASSERT_FALSE(ws_noise_derive_keys(&res.hs, &k)); /* INIT_CONSUMED */
	/* clear wipes the halves, keeps identity, greatest timestamp and owner. */
	ws_handshake_clear(&res.hs);
	CU_ASSERT_TRUE(ws_is_zero(&res.hs.responder, sizeof(res.hs.responder)));
	CU_ASSERT_TRUE(ws_is_zero(&res.hs.initiator, sizeof(res.hs.initiator)));
	CU_ASSERT_EQUAL(memcmp(res.hs.remote_static, v.ip, 32), 0);
	CU_ASSERT_FALSE(ws_is_zero(res.hs.greatest_timestamp, 12));
	CU_ASSERT_PTR_EQUAL(res.hs.owner, &marker);
	CU_ASSERT_FALSE(ws_noise_create_resp(&res.hs, &res.local, &resp, v.re, v.ri));
	ws_handshake_clear(&ini.hs);
	CU_ASSERT_FALSE(recv_resp(&ini, (const struct ws_msg_resp *)v.resp));
	/* The init bytes are a replay now; an init of wrong type or reserved is refused. */
	CU_ASSERT_PTR_NULL(recv_init(&res, &init, v.clock_ns));
	CU_ASSERT_TRUE_FATAL(ws_handshake_init(&res.hs, &res.local, v.ip));
	memcpy(&init, v.init, sizeof(init));
	init.reserved[0] = 1;
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, &init, v.clock_ns, lookup_peer, &res));
	init.reserved[0] = 0;
	init.type = 2;
	CU_ASSERT_PTR_NULL(ws_noise_consume_init(&res.local, &init, v.clock_ns, lookup_peer, &res));
	init.type = 1;
	CU_ASSERT_PTR_EQUAL(ws_noise_consume_init(&res.local, &init, v.clock_ns, lookup_peer, &res),
			    &res.hs);
	/* A second init from the peer replaces an unanswered one. */
	CU_ASSERT_EQUAL(res.hs.responder.remote_index, v.ii);
	send_init(&ini, v.ie, 1234, v.ts_ns + 1, &init);
	CU_ASSERT_PTR_EQUAL(recv_init(&res, &init, v.clock_ns), &res.hs);
	CU_ASSERT_EQUAL(res.hs.responder.remote_index, 1234);
}

static void test_local_init(void)
{
	struct ws_noise_local l;
	uint8_t priv[32] = { 0 }, pub[32];

	/* Clamping makes every private key usable; the public key is derived. */
	CU_ASSERT_TRUE(ws_noise_local_init(&l, priv));
	CU_ASSERT_TRUE(ws_x25519_pubkey(pub, priv));
	CU_ASSERT_EQUAL(memcmp(l.public_key, pub, 32), 0);
	ws_noise_local_clear(&l);
	CU_ASSERT_TRUE(ws_is_zero(&l, sizeof(l)));
}

WS_SUITE(noise)
{
	WS_ADD(suite, test_vector_dh);
	WS_ADD(suite, test_vector_identity);
	WS_ADD(suite, test_vector_trace_model);
	WS_ADD(suite, test_vector_handshake);
	WS_ADD(suite, test_vector_model);
	WS_ADD(suite, test_roundtrip_both_roles);
	WS_ADD(suite, test_simultaneous_init);
	WS_ADD(suite, test_replayed_init);
	WS_ADD(suite, test_timestamp_skew);
	WS_ADD(suite, test_timestamp_encoding);
	WS_ADD(suite, test_unknown_static);
	WS_ADD(suite, test_low_order_points);
	WS_ADD(suite, test_init_bit_flips);
	WS_ADD(suite, test_resp_bit_flips);
	WS_ADD(suite, test_resp_wrong_state_or_index);
	WS_ADD(suite, test_forged_resp_keeps_pending);
	WS_ADD(suite, test_state_machine);
	WS_ADD(suite, test_local_init);
}
