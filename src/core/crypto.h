/* SPDX-License-Identifier: MIT */
/*
 * Cryptographic primitives of Wiresocket v1 (spec section 2, DECISIONS 1-10).
 * crypto.c is the only file that includes <sodium.h> and <blake2.h>; every
 * other module reaches libsodium and libb2 through these functions.
 */
#ifndef WS_CRYPTO_H
#define WS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

/* Initialise libsodium and the constants below. Returns 0 or -errno. */
int ws_crypto_init(void);

/* initialCK = HASH(construction name), initialH = HASH(initialCK || prologue). */
extern uint8_t ws_initial_ck[WS_HASH_LEN];
extern uint8_t ws_initial_h[WS_HASH_LEN];

/* HASH(a || b): BLAKE2s-256. b may be NULL when blen is 0. */
void ws_hash(uint8_t out[WS_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);

/* MAC(key, a || b): keyed BLAKE2s-256, full 32-byte output. */
void ws_mac(uint8_t out[WS_HASH_LEN], const uint8_t key[WS_KEY_LEN], const void *a, size_t alen,
	    const void *b, size_t blen);

/* The spec's KDF (2.1): t1, t2, t3 from ck and input; t2 and t3 may be NULL. */
void ws_kdf(uint8_t t1[WS_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t ck[WS_HASH_LEN],
	    const void *input, size_t len);

/* X25519. ws_x25519 returns false (and zeroes out) when the result is all zero. */
bool ws_x25519(uint8_t out[WS_KEY_LEN], const uint8_t priv[WS_KEY_LEN], const uint8_t pub[WS_KEY_LEN]);
bool ws_x25519_pubkey(uint8_t pub[WS_KEY_LEN], const uint8_t priv[WS_KEY_LEN]);
void ws_x25519_genkey(uint8_t priv[WS_KEY_LEN]);     /* random and clamped */
void ws_x25519_clamp(uint8_t priv[WS_KEY_LEN]);

/*
 * ChaCha20-Poly1305 (IETF): nonce = 4 zero bytes || counter LE.
 * Seal writes len + 16 bytes to dst; open reads len >= 16 bytes from src and
 * writes len - 16 to dst. dst == src is allowed (in place). Open returns
 * false, with dst unspecified, when the tag does not verify.
 */
void ws_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WS_KEY_LEN]);
bool ws_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WS_KEY_LEN]);

/* XChaCha20-Poly1305 with a 24-byte nonce (DECISIONS 10). Same conventions. */
void ws_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WS_XNONCE_LEN], const uint8_t key[WS_KEY_LEN]);
bool ws_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[WS_XNONCE_LEN], const uint8_t key[WS_KEY_LEN]);

/* HChaCha20 (for the vectors; XChaCha uses it internally). */
void ws_hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t nonce[16]);

/* TAI64N of a wall-clock time in Unix nanoseconds (DECISIONS 7). */
void ws_tai64n(uint8_t out[WS_TIMESTAMP_LEN], uint64_t unix_ns);

void ws_random(void *buf, size_t len);
uint32_t ws_random_u32(void);
uint32_t ws_random_uniform(uint32_t upper_bound);

/* Constant-time equality of two buffers of the same length. */
bool ws_memeq(const void *a, const void *b, size_t len);
/* Constant-time test for an all-zero buffer. */
bool ws_is_zero(const void *a, size_t len);
/* Wipe a secret; never optimised away. */
void ws_wipe(void *buf, size_t len);
/* Lock a secret's pages in memory where permitted; 0 or -errno. */
int ws_mlock(void *buf, size_t len);
/* Wipe a secret and unlock its pages (whole pages: other data on them is unlocked too); 0 or -errno. */
int ws_munlock(void *buf, size_t len);

/* Keys as base64 of 32 bytes, 44 characters (like wg). Constant-time codec. */
enum { WS_KEY_B64_LEN = 44 };
void ws_key_to_base64(char out[WS_KEY_B64_LEN + 1], const uint8_t key[WS_KEY_LEN]);
/* Returns 0, or -EINVAL when s is not exactly one base64-encoded 32-byte key. */
int ws_key_from_base64(uint8_t key[WS_KEY_LEN], const char *s);

#endif
