/* SPDX-License-Identifier: MIT */
/*
 * MAC1, MAC2 and the cookie of Wiresocket v1 (spec 2.4, 2.5, 6; DECISIONS
 * 3-5, 10, 13, 18, 20). Pure: time and nonces come from the caller, except
 * the checker's cookie secret, which it draws with ws_random.
 *
 *   checker (the side receiving a handshake message): checks MAC1, and MAC2
 *     when under load; makes CookieReplies; rotates its secret.
 *   maker (one per peer, the side sending): writes MAC1 and MAC2 and
 *     consumes the CookieReply to its latest HandshakeInit.
 *
 * MAC1 and MAC2 both cover the bytes before mac1: [0,116) of a
 * HandshakeInit, [0,60) of a HandshakeResp (DECISIONS 5). HandshakeResp's
 * mac2 is sent as zeros and never checked. Nothing here locks.
 */
#ifndef WS_COOKIE_H
#define WS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"

struct sockaddr;

struct ws_cookie_checker {
	uint8_t secret[WS_KEY_LEN];             /* cookie_secret, rotated every 120 s */
	uint64_t secret_birth_ns;               /* monotonic */
	uint8_t local_static[WS_KEY_LEN];       /* our static public key */
	uint8_t mac1_key[WS_HASH_LEN];          /* HASH("mac1----" || local_static) */
	uint8_t cookie_key[WS_HASH_LEN];        /* MAC(secret, "cookie--" || local_static) */
};

struct ws_cookie_maker {
	uint8_t mac1_key[WS_HASH_LEN];          /* HASH("mac1----" || remote static) */
	uint8_t cookie[WS_COOKIE_LEN];
	uint64_t cookie_birth_ns;               /* monotonic */
	bool have_cookie;
	uint8_t last_mac1[WS_MAC_LEN];          /* mac1 of our latest HandshakeInit */
	bool last_mac1_valid;                   /* cleared once a CookieReply used it */
};

enum ws_cookie_mac {
	WS_COOKIE_INVALID = 0,     /* wrong size, or MAC1 wrong: drop silently */
	WS_COOKIE_VALID_MAC1,      /* MAC1 right; MAC2 not checked, or wrong */
	WS_COOKIE_VALID_MAC2,      /* MAC1 and MAC2 right */
};

/* HASH("mac1----" || static_pub). */
void ws_cookie_mac1_key(uint8_t key[WS_HASH_LEN], const uint8_t static_pub[WS_KEY_LEN]);

/* A checker for messages to local_static_pub, with a random secret born now. */
void ws_cookie_checker_init(struct ws_cookie_checker *c, const uint8_t local_static_pub[WS_KEY_LEN],
			    uint64_t now_ns);
/* Replaces the secret (tests, vectors); it is born at now_ns. */
void ws_cookie_checker_set_secret(struct ws_cookie_checker *c, const uint8_t secret[WS_KEY_LEN],
				  uint64_t now_ns);

/*
 * Checks a HandshakeInit (len 148) or HandshakeResp (len 92; the caller has
 * matched the type to the size, DECISIONS 18) received from addr (ws_cookie_addr_string form, addr_len bytes). MAC2 is
 * checked only when check_mac2 (under load) and only for a HandshakeInit;
 * checking it first rotates the secret if it is 120 s old, so only the
 * current secret's cookies pass (DECISIONS 20). Reads exactly len bytes;
 * any other len is WS_COOKIE_INVALID.
 */
enum ws_cookie_mac ws_cookie_validate(struct ws_cookie_checker *c, const uint8_t *msg, size_t len,
				      const char *addr, size_t addr_len, bool check_mac2,
				      uint64_t now_ns);

/*
 * Builds the CookieReply to a HandshakeInit whose MAC1 was valid: the cookie
 * for addr under the current secret (rotated first if 120 s old), sealed with
 * XChaCha20-Poly1305 under mac1 || 16 zero bytes and the caller's random nonce.
 */
void ws_cookie_make_reply(struct ws_cookie_checker *c, struct ws_msg_cookie *out,
			  uint32_t receiver_index, const uint8_t mac1[WS_MAC_LEN], const char *addr,
			  size_t addr_len, const uint8_t nonce[WS_XNONCE_LEN], uint64_t now_ns);

/* A maker for messages to remote_static_pub, without a cookie. */
void ws_cookie_maker_init(struct ws_cookie_maker *m, const uint8_t remote_static_pub[WS_KEY_LEN]);

/*
 * Writes mac1 and mac2 of a HandshakeInit (len 148) or HandshakeResp (len 92)
 * whose other fields are final. A HandshakeInit gets MAC2 from the cookie if
 * it is younger than 120 s (else zeros) and its mac1 is remembered for the
 * CookieReply; a HandshakeResp gets zero mac2 and changes nothing remembered.
 * Any other len: nothing is written.
 */
void ws_cookie_add_macs(struct ws_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/*
 * Consumes a CookieReply (type, reserved bytes, receiver_index ==
 * expected_receiver_index, decrypts under the remembered mac1). On success
 * the cookie is stored, born at now_ns, and the remembered mac1 is spent so
 * the same reply cannot be used twice. False changes nothing.
 */
bool ws_cookie_consume_reply(struct ws_cookie_maker *m, const struct ws_msg_cookie *msg,
			     uint32_t expected_receiver_index, uint64_t now_ns);

/*
 * Formats sa as the cookie input (DECISIONS 13): "a.b.c.d:port" or
 * "[v6]:port" (inet_ntop text, no zone). Returns the length without the NUL,
 * or 0 when the family is unknown or cap is too small.
 */
size_t ws_cookie_addr_string(char *out, size_t cap, const struct sockaddr *sa);

#endif
