/* SPDX-License-Identifier: MIT */
/* Primitives against the vectors' "constants" and "primitives" sections. */
#include <errno.h>
#include <string.h>

#include "core/crypto.h"
#include "test.h"
#include "vectors.h"

enum { BIG = 4096 };

static void test_constants(void)
{
	uint8_t ck[32], h[32];

	ws_vec_hex(NULL, "constants.initial_ck", ck, sizeof(ck));
	ws_vec_hex(NULL, "constants.initial_h", h, sizeof(h));
	CU_ASSERT_EQUAL(memcmp(ck, ws_initial_ck, 32), 0);
	CU_ASSERT_EQUAL(memcmp(h, ws_initial_h, 32), 0);
}

static void test_hash(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.hash"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t in[BIG], want[32], got[32];
		long n = ws_vec_hex(v, "input", in, sizeof(in));

		ws_vec_hex(v, "output", want, sizeof(want));
		ws_hash(got, in, (size_t)n, NULL, 0);
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
		/* Split input must hash the same. */
		if (n > 1) {
			ws_hash(got, in, 1, in + 1, (size_t)n - 1);
			CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
		}
	}
}

static void test_mac(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.mac"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t key[32], in[BIG], want[32], got[32];
		long n;

		ws_vec_hex(v, "key", key, sizeof(key));
		n = ws_vec_hex(v, "data", in, sizeof(in));
		ws_vec_hex(v, "output", want, sizeof(want));
		ws_mac(got, key, in, (size_t)n, NULL, 0);
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	}
}

static void check_kdf(const char *name, int outputs)
{
	json_t *arr = ws_vec_get(NULL, name), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t ck[32], in[BIG], want[3][32], got[3][32];
		long n;

		ws_vec_hex(v, "ck", ck, sizeof(ck));
		n = ws_vec_hex(v, "input", in, sizeof(in));
		ws_vec_hex(v, "t1", want[0], 32);
		ws_vec_hex(v, "t2", want[1], 32);
		if (outputs == 3)
			ws_vec_hex(v, "t3", want[2], 32);
		ws_kdf(got[0], got[1], outputs == 3 ? got[2] : NULL, ck, in, (size_t)n);
		for (int t = 0; t < outputs; t++)
			CU_ASSERT_EQUAL(memcmp(got[t], want[t], 32), 0);
	}
}

static void test_kdf2(void)
{
	check_kdf("primitives.kdf2", 2);
}

static void test_kdf3(void)
{
	check_kdf("primitives.kdf3", 3);
}

static void test_hchacha20(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.hchacha20"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t key[32], nonce[16], want[32], got[32];

		ws_vec_hex(v, "key", key, 32);
		ws_vec_hex(v, "nonce", nonce, 16);
		ws_vec_hex(v, "output", want, 32);
		ws_hchacha20(got, key, nonce);
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	}
}

static void test_xchacha20poly1305(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.xchacha20poly1305"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t key[32], nonce[24], ad[256], pt[BIG], want[BIG + 16], got[BIG + 16];
		long adl, ptl, ctl;

		ws_vec_hex(v, "key", key, 32);
		ws_vec_hex(v, "nonce", nonce, 24);
		adl = ws_vec_hex(v, "ad", ad, sizeof(ad));
		ptl = ws_vec_hex(v, "plaintext", pt, BIG);
		ctl = ws_vec_hex(v, "ciphertext_and_tag", want, sizeof(want));
		CU_ASSERT_EQUAL_FATAL(ctl, ptl + 16);
		ws_xaead_seal(got, pt, (size_t)ptl, ad, (size_t)adl, nonce, key);
		CU_ASSERT_EQUAL(memcmp(got, want, (size_t)ctl), 0);
		CU_ASSERT_TRUE(ws_xaead_open(got, want, (size_t)ctl, ad, (size_t)adl, nonce, key));
		CU_ASSERT_EQUAL(memcmp(got, pt, (size_t)ptl), 0);
		want[0] ^= 1;
		CU_ASSERT_FALSE(ws_xaead_open(got, want, (size_t)ctl, ad, (size_t)adl, nonce, key));
	}
}

static void test_x25519(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.x25519"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t priv[32], pub[32], peer[32], want[32], got[32];

		ws_vec_hex(v, "private", priv, 32);
		ws_vec_hex(v, "public", pub, 32);
		ws_vec_hex(v, "peer_public", peer, 32);
		ws_vec_hex(v, "shared", want, 32);
		CU_ASSERT_TRUE(ws_x25519_pubkey(got, priv));
		CU_ASSERT_EQUAL(memcmp(got, pub, 32), 0);
		CU_ASSERT_TRUE(ws_x25519(got, priv, peer));
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	}
}

static void test_x25519_low_order(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.x25519_low_order_publics_rejected"), *v;
	uint8_t priv[32], out[32];
	size_t i;

	ws_x25519_genkey(priv);
	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t pub[32];
		const char *s = json_string_value(v);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		for (int b = 0; b < 32; b++) {
			unsigned x;
			sscanf(s + 2 * b, "%2x", &x);
			pub[b] = (uint8_t)x;
		}
		memset(out, 0xaa, sizeof(out));
		CU_ASSERT_FALSE(ws_x25519(out, priv, pub));
		CU_ASSERT_TRUE(ws_is_zero(out, 32));
	}
}

static void test_tai64n(void)
{
	json_t *arr = ws_vec_get(NULL, "primitives.tai64n"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t want[12], got[12];

		ws_vec_hex(v, "tai64n", want, 12);
		ws_tai64n(got, ws_vec_u64(v, "unix_ns"));
		CU_ASSERT_EQUAL(memcmp(got, want, 12), 0);
	}
}

static void test_aead_roundtrip(void)
{
	uint8_t key[32], buf[64 + 16], copy[64];

	ws_random(key, sizeof(key));
	ws_random(copy, sizeof(copy));
	memcpy(buf, copy, sizeof(copy));
	ws_aead_seal(buf, buf, 64, NULL, 0, 7, key);            /* in place */
	CU_ASSERT_FALSE(ws_aead_open(buf, buf, 80, NULL, 0, 8, key)); /* wrong nonce */
	ws_aead_seal(buf, copy, 64, NULL, 0, 7, key);
	CU_ASSERT_TRUE(ws_aead_open(buf, buf, 80, NULL, 0, 7, key));
	CU_ASSERT_EQUAL(memcmp(buf, copy, 64), 0);
	CU_ASSERT_FALSE(ws_aead_open(buf, buf, 15, NULL, 0, 7, key)); /* shorter than a tag */
}

static void test_key_base64(void)
{
	uint8_t key[32], back[32];
	char b64[WS_KEY_B64_LEN + 1];

	ws_random(key, sizeof(key));
	ws_key_to_base64(b64, key);
	CU_ASSERT_EQUAL(strlen(b64), 44);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, b64), 0);
	CU_ASSERT_EQUAL(memcmp(key, back, 32), 0);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, ""), -EINVAL);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, "AAAA"), -EINVAL);
	/* 33 bytes of base64, a bad character, a missing pad. */
	CU_ASSERT_EQUAL(ws_key_from_base64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), -EINVAL);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*="), -EINVAL);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=x"), -EINVAL);
	CU_ASSERT_EQUAL(ws_key_from_base64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
}

static void test_memeq(void)
{
	uint8_t a[16] = {1, 2, 3}, b[16] = {1, 2, 3};

	CU_ASSERT_TRUE(ws_memeq(a, b, 16));
	b[15] = 1;
	CU_ASSERT_FALSE(ws_memeq(a, b, 16));
	CU_ASSERT_FALSE(ws_is_zero(b, 16));
	memset(b, 0, 16);
	CU_ASSERT_TRUE(ws_is_zero(b, 16));
}

WS_SUITE(crypto)
{
	WS_ADD(suite, test_constants);
	WS_ADD(suite, test_hash);
	WS_ADD(suite, test_mac);
	WS_ADD(suite, test_kdf2);
	WS_ADD(suite, test_kdf3);
	WS_ADD(suite, test_hchacha20);
	WS_ADD(suite, test_xchacha20poly1305);
	WS_ADD(suite, test_x25519);
	WS_ADD(suite, test_x25519_low_order);
	WS_ADD(suite, test_tai64n);
	WS_ADD(suite, test_aead_roundtrip);
	WS_ADD(suite, test_key_base64);
	WS_ADD(suite, test_memeq);
}
