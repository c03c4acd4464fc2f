/* SPDX-License-Identifier: MIT */
/*
 * Handshake fuzzer (noise.c, cookie.c) with the vectors' fixed keys.
 *
 * Input: one control byte, then the datagram.
 *   bits 0-1  0: HandshakeInit to the responder; 1: HandshakeResp to the
 *             initiator, which has the vector's HandshakeInit pending;
 *             2: CookieReply to that initiator; 3: a HandshakeInit the
 *             harness seals itself from the input's ephemeral public key
 *             (32 bytes), TAI64N timestamp (12) and sender_index (4), so
 *             arbitrary ephemerals and timestamps reach the checks behind
 *             the AEAD (missing bytes are zero).
 *   bit 2     recompute MAC1 first, so mutated bytes reach the Noise steps
 *             (otherwise almost every mutation dies at MAC1, as it should).
 *   bit 3     the responder is under load (MAC2 checked; CookieReply made).
 * Datagrams of the wrong size are still given to ws_cookie_validate (which
 * must refuse them) and then dropped, as the receive path does.
 *
 * Invariants checked (a violation traps):
 *   - a refused HandshakeInit changes neither the peer's handshake nor its
 *     greatest timestamp; an accepted one can always be answered and split;
 *   - a refused HandshakeResp leaves the pending handshake byte-identical
 *     (DECISIONS 19); an accepted one always splits into keys;
 *   - a refused CookieReply leaves the maker byte-identical;
 *   - a sealed HandshakeInit (kind 3) is accepted exactly when a reference
 *     written here says the ephemeral is not low order and the timestamp is
 *     within 180 s with nanoseconds < 10^9;
 *   - at start-up, a genuine HandshakeInit, HandshakeResp and CookieReply
 *     made from the vector keys are accepted (else the fuzzer would only
 *     ever see rejections).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/noise.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* handshake.inputs and cookie.* of wiresocket-v1-vectors.json */
static const char hex_init_priv[] = "70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a";
static const char hex_resp_priv[] = "58ab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e06b";
static const char hex_init_e[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e7f";
static const char hex_resp_e[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
static const char hex_secret[] = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
static const char client_addr[] = "127.0.0.1:51820";
static const uint32_t init_index = 287454020, resp_index = 1432778632;
static const uint64_t unix_clock = 1767225600123456789ULL;
static const uint64_t mono_now = 1000 * WS_NSEC_PER_SEC;

static struct {
	struct ws_noise_local resp_local, init_local;
	struct ws_handshake resp_hs;              /* the responder's entry for the initiator */
	struct ws_handshake init_hs;              /* the initiator, vector init pending */
	struct ws_cookie_checker resp_checker;    /* vector secret, born at mono_now */
	struct ws_cookie_checker init_checker;
	struct ws_cookie_maker init_maker;        /* remembers the vector init's mac1 */
	uint8_t resp_e[WS_KEY_LEN];
	struct ws_msg_init init;
} F;

static void hex(uint8_t *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static struct ws_handshake *lookup(void *ctx, const uint8_t pub[WS_KEY_LEN])
{
	struct ws_handshake *hs = ctx;

	return memcmp(hs->remote_static, pub, WS_KEY_LEN) ? NULL : hs;
}

static void self_check(void)
{
	struct ws_handshake r = F.resp_hs, i = F.init_hs;
	struct ws_cookie_checker c = F.resp_checker;
	struct ws_cookie_maker m = F.init_maker;
	struct ws_msg_resp resp;
	struct ws_msg_cookie reply;
	struct ws_noise_keys keys;
	uint8_t nonce[WS_XNONCE_LEN] = { 0 };

	check(ws_cookie_validate(&c, (const uint8_t *)&F.init, sizeof(F.init), client_addr,
				 sizeof(client_addr) - 1, false, mono_now) == WS_COOKIE_VALID_MAC1);
	check(ws_noise_consume_init(&F.resp_local, &F.init, unix_clock, lookup, &r) == &r);
	check(ws_noise_create_resp(&r, &F.resp_local, &resp, F.resp_e, resp_index));
	ws_cookie_add_macs(&m, (uint8_t *)&resp, sizeof(resp), mono_now);
	check(ws_noise_consume_resp(&i, &F.init_local, &resp));
	check(ws_noise_derive_keys(&i, &keys));
	ws_cookie_make_reply(&c, &reply, init_index, F.init.mac1, client_addr,
			     sizeof(client_addr) - 1, nonce, mono_now);
	check(ws_cookie_consume_reply(&m, &reply, init_index, mono_now));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t k[WS_KEY_LEN];

	(void)argc;
	(void)argv;
	if (ws_crypto_init() < 0)
		abort();
	hex(k, hex_resp_priv, WS_KEY_LEN);
	check(ws_noise_local_init(&F.resp_local, k));
	hex(k, hex_init_priv, WS_KEY_LEN);
	check(ws_noise_local_init(&F.init_local, k));
	check(ws_handshake_init(&F.resp_hs, &F.resp_local, F.init_local.public_key));
	check(ws_handshake_init(&F.init_hs, &F.init_local, F.resp_local.public_key));
	ws_cookie_checker_init(&F.resp_checker, F.resp_local.public_key, mono_now);
	hex(k, hex_secret, WS_KEY_LEN);
	ws_cookie_checker_set_secret(&F.resp_checker, k, mono_now);
	ws_cookie_checker_init(&F.init_checker, F.init_local.public_key, mono_now);
	ws_cookie_maker_init(&F.init_maker, F.resp_local.public_key);
	hex(k, hex_init_e, WS_KEY_LEN);
	check(ws_noise_create_init(&F.init_hs, &F.init_local, &F.init, k, init_index, unix_clock));
	ws_cookie_add_macs(&F.init_maker, (uint8_t *)&F.init, sizeof(F.init), mono_now);
	hex(F.resp_e, hex_resp_e, WS_KEY_LEN);
	self_check();
	return 0;
}

static void fix_mac1(uint8_t *msg, size_t off, const uint8_t key[WS_HASH_LEN])
{
	uint8_t mac[WS_HASH_LEN];

	ws_mac(mac, key, msg, off, NULL, 0);
	memcpy(msg + off, mac, WS_MAC_LEN);
}

static void fuzz_init(uint8_t *msg, size_t len, bool fix, bool under_load)
{
	struct ws_cookie_checker c = F.resp_checker;
	struct ws_handshake hs = F.resp_hs, *got;
	struct ws_msg_resp resp;
	struct ws_msg_cookie reply;
	struct ws_noise_keys keys;
	enum ws_cookie_mac mac;
	uint8_t nonce[WS_XNONCE_LEN] = { 0 };

	if (fix && len == WS_SIZE_HANDSHAKE_INIT)
		fix_mac1(msg, WS_INIT_MAC1_OFF, F.resp_local.mac1_key);
	mac = ws_cookie_validate(&c, msg, len, client_addr, sizeof(client_addr) - 1, under_load,
				 mono_now);
	if (len != WS_SIZE_HANDSHAKE_INIT) {
		check(mac == WS_COOKIE_INVALID);
		return;
	}
	if (mac == WS_COOKIE_INVALID)
		return;
	if (under_load && mac != WS_COOKIE_VALID_MAC2) {
		ws_cookie_make_reply(&c, &reply, ws_le32(msg + 4), msg + WS_INIT_MAC1_OFF, client_addr,
				     sizeof(client_addr) - 1, nonce, mono_now);
		return;
	}
	got = ws_noise_consume_init(&F.resp_local, (const struct ws_msg_init *)msg, unix_clock,
				    lookup, &hs);
	if (!got) {
		check(memcmp(&hs, &F.resp_hs, sizeof(hs)) == 0);
		return;
	}
	check(got == &hs && hs.responder.state == WS_HS_INIT_CONSUMED);
	check(memcmp(hs.greatest_timestamp, F.resp_hs.greatest_timestamp, WS_TIMESTAMP_LEN) > 0);
	/* The same bytes again are a replay. */
	{
		struct ws_handshake again = hs;

		check(!ws_noise_consume_init(&F.resp_local, (const struct ws_msg_init *)msg,
					     unix_clock, lookup, &again));
	}
	check(ws_noise_create_resp(&hs, &F.resp_local, &resp, F.resp_e, resp_index));
	check(ws_noise_derive_keys(&hs, &keys));
	check(!keys.initiator && keys.remote_index == ws_le32(msg + 4));
}

static void fuzz_resp(uint8_t *msg, size_t len, bool fix)
{
	struct ws_cookie_checker c = F.init_checker;
	struct ws_handshake hs = F.init_hs;
	struct ws_noise_keys keys;
	enum ws_cookie_mac mac;

	if (fix && len == WS_SIZE_HANDSHAKE_RESP)
		fix_mac1(msg, WS_RESP_MAC1_OFF, F.init_local.mac1_key);
	mac = ws_cookie_validate(&c, msg, len, client_addr, sizeof(client_addr) - 1, false,
				 mono_now);
	if (len != WS_SIZE_HANDSHAKE_RESP) {
		check(mac == WS_COOKIE_INVALID);
		return;
	}
	if (mac == WS_COOKIE_INVALID)
		return;
	if (!ws_noise_consume_resp(&hs, &F.init_local, (const struct ws_msg_resp *)msg)) {
		check(memcmp(&hs, &F.init_hs, sizeof(hs)) == 0);
		return;
	}
	check(ws_noise_derive_keys(&hs, &keys));
	check(keys.initiator && keys.local_index == init_index);
}

static void fuzz_cookie(const uint8_t *msg, size_t len)
{
	struct ws_cookie_maker m = F.init_maker;
	struct ws_cookie_checker c = F.resp_checker;
	struct ws_msg_init init = F.init;

	if (len != WS_SIZE_COOKIE_REPLY)
		return;
	if (!ws_cookie_consume_reply(&m, (const struct ws_msg_cookie *)msg, init_index, mono_now)) {
		check(memcmp(&m, &F.init_maker, sizeof(m)) == 0);
		return;
	}
	check(m.have_cookie && !m.last_mac1_valid);
	ws_cookie_add_macs(&m, (uint8_t *)&init, sizeof(init), mono_now);
	(void)ws_cookie_validate(&c, (const uint8_t *)&init, sizeof(init), client_addr,
				 sizeof(client_addr) - 1, true, mono_now);
}

/* Reference timestamp rule, in 128-bit arithmetic (DECISIONS 7, 17). */
static bool ref_timestamp_ok(const uint8_t ts[WS_TIMESTAMP_LEN], uint64_t clock)
{
	unsigned __int128 label = 0, nsec = 0, when, now = clock;

	for (int i = 0; i < 8; i++)
		label = label << 8 | ts[i];
	for (int i = 8; i < 12; i++)
		nsec = nsec << 8 | ts[i];
	if (nsec >= 1000000000 || label < ((unsigned __int128)1 << 62))
		return false;
	when = (label - ((unsigned __int128)1 << 62)) * 1000000000 + nsec;
	return (when > now ? when - now : now - when) <= (unsigned __int128)180 * 1000000000;
}

/* Seal a HandshakeInit as an initiator holding the vector's static key would,
 * for any ephemeral public key: es is DH(responder static, e), as the
 * responder computes it (all zero for a low-order e, which an attacker knows). */
static void fuzz_sealed_init(const uint8_t *in, size_t len, bool under_load)
{
	uint8_t field[48] = { 0 }, ck[WS_HASH_LEN], h[WS_HASH_LEN], k[WS_KEY_LEN], es[WS_KEY_LEN];
	struct ws_msg_init m;
	struct ws_handshake hs = F.resp_hs;
	struct ws_cookie_maker mk;
	bool low_order, want;

	memcpy(field, in, len < sizeof(field) ? len : sizeof(field));
	memset(&m, 0, sizeof(m));
	m.type = WS_MSG_HANDSHAKE_INIT;
	memcpy(m.sender_index, field + 44, 4);
	memcpy(m.ephemeral, field, WS_KEY_LEN);
	low_order = !ws_x25519(es, F.resp_local.private_key, m.ephemeral);
	memcpy(ck, ws_initial_ck, WS_HASH_LEN);
	ws_hash(h, ws_initial_h, WS_HASH_LEN, F.resp_local.public_key, WS_KEY_LEN);
	ws_hash(h, h, WS_HASH_LEN, m.ephemeral, WS_KEY_LEN);
	ws_kdf(ck, k, NULL, ck, es, WS_KEY_LEN);
	ws_aead_seal(m.encrypted_static, F.init_local.public_key, WS_KEY_LEN, h, WS_HASH_LEN, 0, k);
	ws_hash(h, h, WS_HASH_LEN, m.encrypted_static, sizeof(m.encrypted_static));
	ws_kdf(ck, k, NULL, ck, F.init_hs.precomputed_ss, WS_KEY_LEN);
	ws_aead_seal(m.encrypted_timestamp, field + 32, WS_TIMESTAMP_LEN, h, WS_HASH_LEN, 0, k);
	ws_cookie_maker_init(&mk, F.resp_local.public_key);
	ws_cookie_add_macs(&mk, (uint8_t *)&m, sizeof(m), mono_now);
	if (under_load) {
		fuzz_init((uint8_t *)&m, sizeof(m), false, true); /* earns a CookieReply */
		return;
	}
	want = !low_order && ref_timestamp_ok(field + 32, unix_clock);
	check((ws_noise_consume_init(&F.resp_local, &m, unix_clock, lookup, &hs) != NULL) == want);
	if (!want)
		check(memcmp(&hs, &F.resp_hs, sizeof(hs)) == 0);
	hs = F.resp_hs;
	fuzz_init((uint8_t *)&m, sizeof(m), false, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t msg[256];
	size_t len;

	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	len = size - 1;
	memcpy(msg, data + 1, len);
	switch (data[0] & 3) {
	case 1:
		fuzz_resp(msg, len, data[0] & 4);
		break;
	case 2:
		fuzz_cookie(msg, len);
		break;
	case 3:
		fuzz_sealed_init(msg, len, data[0] & 8);
		break;
	default:
		fuzz_init(msg, len, data[0] & 4, data[0] & 8);
		break;
	}
	return 0;
}
