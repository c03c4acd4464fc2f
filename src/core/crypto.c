/* SPDX-License-Identifier: MIT */
/* Primitives on libsodium and libb2. The only file that includes them. */
#include "core/crypto.h"

#include <errno.h>
#include <string.h>

#include <blake2.h>
#include <sodium.h>

static const char construction[] = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
static const char prologue[] = "wiresocket v1";

uint8_t ws_initial_ck[WS_HASH_LEN];
uint8_t ws_initial_h[WS_HASH_LEN];

int ws_crypto_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	/* DECISIONS 1: the 33-byte name is hashed, not padded. */
	ws_hash(ws_initial_ck, construction, strlen(construction), NULL, 0);
	ws_hash(ws_initial_h, ws_initial_ck, WS_HASH_LEN, prologue, strlen(prologue));
	return 0;
}

void ws_hash(uint8_t out[WS_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state s;

	blake2s_init(&s, WS_HASH_LEN);
	blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, out, WS_HASH_LEN);
}

void ws_mac(uint8_t out[WS_HASH_LEN], const uint8_t key[WS_KEY_LEN], const void *a, size_t alen,
	    const void *b, size_t blen)
{
	blake2s_state s;

	blake2s_init_key(&s, WS_HASH_LEN, key, WS_KEY_LEN);
	blake2s_update(&s, a, alen);
	if (blen)
		blake2s_update(&s, b, blen);
	blake2s_final(&s, out, WS_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
}

void ws_kdf(uint8_t t1[WS_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t ck[WS_HASH_LEN],
	    const void *input, size_t len)
{
	uint8_t prk[WS_HASH_LEN], t[WS_HASH_LEN];
	uint8_t i = 1;

	ws_mac(prk, ck, input, len, NULL, 0);
	ws_mac(t, prk, &i, 1, NULL, 0);
	memcpy(t1, t, WS_HASH_LEN);
	if (t2) {
		i = 2;
		ws_mac(t, prk, t, WS_HASH_LEN, &i, 1);
		memcpy(t2, t, WS_HASH_LEN);
	}
	if (t2 && t3) {
		i = 3;
		ws_mac(t, prk, t, WS_HASH_LEN, &i, 1);
		memcpy(t3, t, WS_HASH_LEN);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}

bool ws_x25519(uint8_t out[WS_KEY_LEN], const uint8_t priv[WS_KEY_LEN], const uint8_t pub[WS_KEY_LEN])
{
	/* libsodium returns -1 for an all-zero result (a low-order point). */
	if (crypto_scalarmult_curve25519(out, priv, pub) != 0) {
		sodium_memzero(out, WS_KEY_LEN);
		return false;
	}
	return true;
}

bool ws_x25519_pubkey(uint8_t pub[WS_KEY_LEN], const uint8_t priv[WS_KEY_LEN])
{
	return crypto_scalarmult_curve25519_base(pub, priv) == 0;
}

void ws_x25519_clamp(uint8_t priv[WS_KEY_LEN])
{
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

void ws_x25519_genkey(uint8_t priv[WS_KEY_LEN])
{
	randombytes_buf(priv, WS_KEY_LEN);
	ws_x25519_clamp(priv);
}

static void transport_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	ws_put_le64(nonce + 4, counter);
}

void ws_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WS_KEY_LEN])
{
	uint8_t nonce[12];

	transport_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad, adlen,
							   NULL, nonce, key);
}

bool ws_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WS_KEY_LEN])
{
	uint8_t nonce[12];

	if (len < WS_AEAD_TAG_LEN)
		return false;
	transport_nonce(nonce, counter);
	/* The tag check inside libsodium is constant-time. */
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		       dst, NULL, src, len - WS_AEAD_TAG_LEN, src + len - WS_AEAD_TAG_LEN, ad, adlen,
		       nonce, key) == 0;
}

void ws_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WS_XNONCE_LEN], const uint8_t key[WS_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad, adlen,
							    NULL, nonce, key);
}

bool ws_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WS_XNONCE_LEN], const uint8_t key[WS_KEY_LEN])
{
	if (len < WS_AEAD_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		       dst, NULL, src, len - WS_AEAD_TAG_LEN, src + len - WS_AEAD_TAG_LEN, ad, adlen,
		       nonce, key) == 0;
}

void ws_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce[16])
{
	crypto_core_hchacha20(out, nonce, key, NULL);
}

void ws_tai64n(uint8_t out[WS_TIMESTAMP_LEN], uint64_t unix_ns)
{
	uint64_t secs = 0x4000000000000000ULL + unix_ns / WS_NSEC_PER_SEC;
	uint32_t nsec = (uint32_t)(unix_ns % WS_NSEC_PER_SEC);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void ws_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t ws_random_u32(void)
{
	return randombytes_random();
}

uint32_t ws_random_uniform(uint32_t upper_bound)
{
	return randombytes_uniform(upper_bound);
}

bool ws_memeq(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool ws_is_zero(const void *a, size_t len)
{
	return sodium_is_zero(a, len) == 1;
}

void ws_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

int ws_mlock(void *buf, size_t len)
{
	return sodium_mlock(buf, len) == 0 ? 0 : -errno;
}

int ws_munlock(void *buf, size_t len)
{
	return sodium_munlock(buf, len) == 0 ? 0 : -errno;
}

void ws_key_to_base64(char out[WS_KEY_B64_LEN + 1], const uint8_t key[WS_KEY_LEN])
{
	sodium_bin2base64(out, WS_KEY_B64_LEN + 1, key, WS_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int ws_key_from_base64(uint8_t key[WS_KEY_LEN], const char *s)
{
	size_t len = 0;
	const char *end = NULL;

	if (strlen(s) != WS_KEY_B64_LEN || s[WS_KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	if (sodium_base642bin(key, WS_KEY_LEN, s, WS_KEY_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != WS_KEY_LEN || *end != '\0') {
		sodium_memzero(key, WS_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}
