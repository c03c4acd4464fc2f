/* SPDX-License-Identifier: MIT */
/*
 * The Noise IK handshake of Wiresocket v1 (spec section 5; DECISIONS 1-9,
 * 17-19, 28). Pure protocol logic: no I/O, no clock, no randomness. The
 * caller passes ephemeral private keys, session indices and the wall-clock
 * time, and reaches its peer table only through the lookup callback of
 * ws_noise_consume_init().
 *
 *   -> e, es, s, ss, {timestamp}   HandshakeInit   (ws_noise_create_init /
 *                                                   ws_noise_consume_init)
 *   <- e, ee, se, {}               HandshakeResp   (ws_noise_create_resp /
 *                                                   ws_noise_consume_resp)
 *   SPLIT                          ws_noise_derive_keys
 *
 * MAC1 and MAC2 are not part of Noise; cookie.h writes and checks them.
 *
 * Concurrency: nothing here locks. The caller serialises every call that
 * touches a given struct ws_handshake, including the one lookup returns.
 */
#ifndef WS_NOISE_H
#define WS_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/messages.h"

/* Our static identity. */
struct ws_noise_local {
	uint8_t private_key[WS_KEY_LEN];
	uint8_t public_key[WS_KEY_LEN];
	/* HASH("mac1----" || public_key): the MAC1 key of messages sent to us. */
	uint8_t mac1_key[WS_HASH_LEN];
};

/*
 * Where one side of a handshake stands. The initiator half moves
 * NONE -> INIT_SENT -> RESP_CONSUMED; the responder half
 * NONE -> INIT_CONSUMED -> RESP_SENT. ws_noise_derive_keys() returns a half
 * to NONE.
 */
enum ws_handshake_state {
	WS_HS_NONE = 0,
	WS_HS_INIT_SENT,       /* we sent a HandshakeInit, awaiting the response */
	WS_HS_INIT_CONSUMED,   /* we accepted a HandshakeInit, response not yet made */
	WS_HS_RESP_CONSUMED,   /* initiator: response accepted, keys ready */
	WS_HS_RESP_SENT,       /* responder: response made, keys ready */
};

/* The Noise state carried from one message to the next. Secret. */
struct ws_noise_state {
	enum ws_handshake_state state;
	uint8_t ck[WS_HASH_LEN];          /* chaining key */
	uint8_t h[WS_HASH_LEN];           /* transcript hash */
	uint8_t e_priv[WS_KEY_LEN];       /* our ephemeral; wiped once its DHs are done */
	uint8_t remote_e[WS_KEY_LEN];     /* the peer's ephemeral public key */
	uint32_t local_index;             /* our sender_index in this handshake */
	uint32_t remote_index;            /* the peer's sender_index */
};

/*
 * One per peer. The two halves are separate so that when both sides
 * initiate at once both handshakes complete (DECISIONS 28): consuming the
 * peer's HandshakeInit does not discard our own pending one.
 */
struct ws_handshake {
	uint8_t remote_static[WS_KEY_LEN];
	uint8_t precomputed_ss[WS_KEY_LEN];   /* DH(local static, remote static) */
	/* HASH("mac1----" || remote_static): the MAC1 key of messages we send. */
	uint8_t remote_mac1_key[WS_HASH_LEN];
	/* Greatest TAI64N accepted from this peer (DECISIONS 17); big-endian,
	 * so memcmp orders it. Survives ws_handshake_clear(). */
	uint8_t greatest_timestamp[WS_TIMESTAMP_LEN];
	struct ws_noise_state initiator;      /* our HandshakeInit in flight */
	struct ws_noise_state responder;      /* the peer's HandshakeInit being answered */
	void *owner;                          /* the caller's; set it after ws_handshake_init */
};

/* Transport keys and indices of a completed handshake (SPLIT, DECISIONS 9). */
struct ws_noise_keys {
	uint8_t send[WS_KEY_LEN];
	uint8_t recv[WS_KEY_LEN];
	uint32_t local_index;    /* the receiver_index the peer puts on packets to us */
	uint32_t remote_index;   /* the receiver_index we put on packets to the peer */
	bool initiator;
};

/* Finds the handshake of the peer with this static key; NULL when unknown. */
typedef struct ws_handshake *ws_noise_lookup_fn(void *ctx, const uint8_t static_pub[WS_KEY_LEN]);

/* Sets our identity from a private key; false (local wiped) when the public
 * key cannot be derived. */
bool ws_noise_local_init(struct ws_noise_local *local, const uint8_t private_key[WS_KEY_LEN]);
void ws_noise_local_clear(struct ws_noise_local *local);

/*
 * Prepares a peer's handshake: both halves NONE, greatest timestamp zero,
 * owner NULL. False (hs wiped) when DH(local, remote) is all zero, i.e. the
 * remote key is a low-order point. Must be redone if the local key changes.
 */
bool ws_handshake_init(struct ws_handshake *hs, const struct ws_noise_local *local,
		       const uint8_t remote_pub[WS_KEY_LEN]);

/* Wipes both halves (ephemerals, ck, h, indices) and returns them to NONE.
 * Keeps the peer's identity, the greatest timestamp and owner. */
void ws_handshake_clear(struct ws_handshake *hs);

/*
 * Initiator: builds a HandshakeInit with every field but mac1 and mac2 (left
 * zero for ws_cookie_add_macs). Replaces any pending initiation; the
 * initiator half becomes INIT_SENT with local_index = sender_index.
 * e_priv is copied (the caller wipes its own copy); unix_ns is the wall
 * clock for the timestamp. False, with the initiator half cleared, when a
 * DH is all zero.
 */
bool ws_noise_create_init(struct ws_handshake *hs, const struct ws_noise_local *local,
			  struct ws_msg_init *out, const uint8_t e_priv[WS_KEY_LEN],
			  uint32_t sender_index, uint64_t unix_ns);

/*
 * Responder: runs the Noise steps of a HandshakeInit whose size and MAC1 the
 * caller has checked (and MAC2 when under load). lookup authorises the
 * decrypted static key. The timestamp must lie within +-180 s of unix_ns,
 * have nanoseconds < 10^9 and be greater than the peer's greatest so far.
 * On success the peer's responder half becomes INIT_CONSUMED (replacing
 * whatever it held), its greatest timestamp advances, and its handshake is
 * returned. On failure NULL, and no handshake has changed.
 */
struct ws_handshake *ws_noise_consume_init(const struct ws_noise_local *local,
					   const struct ws_msg_init *msg, uint64_t unix_ns,
					   ws_noise_lookup_fn *lookup, void *ctx);

/* Why ws_noise_consume_init_why() refused a HandshakeInit. */
enum ws_noise_reject {
	WS_NOISE_OK = 0,
	WS_NOISE_MALFORMED,      /* wrong type or reserved bytes not zero */
	WS_NOISE_DECRYPT,        /* a DH was all zero or an AEAD tag did not verify */
	WS_NOISE_UNKNOWN_PEER,   /* the static key decrypted but lookup does not know it */
	WS_NOISE_CLOCK,          /* timestamp more than 180 s off, or not a valid TAI64N */
	WS_NOISE_REPLAY,         /* timestamp not greater than the peer's greatest so far */
};

/* The same, saying why in *why (may be NULL): WS_NOISE_OK exactly when it returns non-NULL. */
struct ws_handshake *ws_noise_consume_init_why(const struct ws_noise_local *local,
					       const struct ws_msg_init *msg, uint64_t unix_ns,
					       ws_noise_lookup_fn *lookup, void *ctx,
					       enum ws_noise_reject *why);

/*
 * Responder: builds the HandshakeResp to the init just consumed (responder
 * half INIT_CONSUMED), every field but mac1 and mac2. The half becomes
 * RESP_SENT with local_index = sender_index. False when the state is wrong;
 * false with the half cleared when a DH is all zero.
 */
bool ws_noise_create_resp(struct ws_handshake *hs, const struct ws_noise_local *local,
			  struct ws_msg_resp *out, const uint8_t e_priv[WS_KEY_LEN],
			  uint32_t sender_index);

/*
 * Initiator: consumes a HandshakeResp the caller found by receiver_index and
 * whose MAC1 it checked. Accepted only when the initiator half is INIT_SENT
 * and receiver_index is its local_index; it then becomes RESP_CONSUMED. A
 * rejected (forged) response changes nothing: the pending handshake still
 * accepts the genuine one.
 */
bool ws_noise_consume_resp(struct ws_handshake *hs, const struct ws_noise_local *local,
			   const struct ws_msg_resp *msg);

/*
 * SPLIT: derives the transport keys of the half that is ready (initiator
 * RESP_CONSUMED, else responder RESP_SENT), then wipes that half and returns
 * it to NONE. If both are ready, the initiator's goes first and a second
 * call yields the responder's. False when neither is ready.
 */
bool ws_noise_derive_keys(struct ws_handshake *hs, struct ws_noise_keys *out);

#endif
