/* SPDX-License-Identifier: MIT */
/*
 * Noise IK for Wiresocket v1 (spec 5). Each message is processed on local
 * copies of ck and h and committed to the handshake only when every step
 * succeeded, so a rejected message leaves no trace (DECISIONS 19). Every
 * handshake AEAD key seals exactly one message, so every nonce is 0
 * (DECISIONS 6). Secrets on the stack are wiped on every exit path.
 */
#include "core/noise.h"

#include <string.h>

#include "core/cookie.h"
#include "core/crypto.h"

static const uint64_t tai64_epoch = 0x4000000000000000ULL; /* DECISIONS 7 */

/* h = HASH(h || data) */
static void mix_hash(uint8_t h[WS_HASH_LEN], const void *data, size_t len)
{
	ws_hash(h, h, WS_HASH_LEN, data, len);
}

/* (ck, key) = kdf2(ck, dh_out) */
static void mix_key(uint8_t ck[WS_HASH_LEN], uint8_t key[WS_KEY_LEN],
		    const uint8_t dh_out[WS_KEY_LEN])
{
	ws_kdf(ck, key, NULL, ck, dh_out, WS_KEY_LEN);
}

/* (ck, key) = kdf2(ck, DH(priv, pub)); false when the DH is all zero. */
static bool mix_dh(uint8_t ck[WS_HASH_LEN], uint8_t key[WS_KEY_LEN],
		   const uint8_t priv[WS_KEY_LEN], const uint8_t pub[WS_KEY_LEN])
{
	uint8_t dh_out[WS_KEY_LEN];

	if (!ws_x25519(dh_out, priv, pub))
		return false;
	mix_key(ck, key, dh_out);
	ws_wipe(dh_out, sizeof(dh_out));
	return true;
}

/* dst = AEAD(key, 0, h, src) (len + 16 bytes); then mixHash(dst). */
static void encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WS_KEY_LEN], uint8_t h[WS_HASH_LEN])
{
	ws_aead_seal(dst, src, len, h, WS_HASH_LEN, 0, key);
	mix_hash(h, dst, len + WS_AEAD_TAG_LEN);
}

/* dst = open(key, 0, h, src) (len - 16 bytes); on success mixHash(src). */
static bool decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WS_KEY_LEN], uint8_t h[WS_HASH_LEN])
{
	if (!ws_aead_open(dst, src, len, h, WS_HASH_LEN, 0, key))
		return false;
	mix_hash(h, src, len);
	return true;
}

/* ck = initialCK, h = HASH(initialH || responder static): the pre-message. */
static void init_symmetric(uint8_t ck[WS_HASH_LEN], uint8_t h[WS_HASH_LEN],
			   const uint8_t responder_static[WS_KEY_LEN])
{
	memcpy(ck, ws_initial_ck, WS_HASH_LEN);
	memcpy(h, ws_initial_h, WS_HASH_LEN);
	mix_hash(h, responder_static, WS_KEY_LEN); /* <- s */
}

static void state_clear(struct ws_noise_state *st)
{
	ws_wipe(st, sizeof(*st)); /* state becomes WS_HS_NONE (0) */
}

bool ws_noise_local_init(struct ws_noise_local *local, const uint8_t private_key[WS_KEY_LEN])
{
	memcpy(local->private_key, private_key, WS_KEY_LEN);
	if (!ws_x25519_pubkey(local->public_key, private_key)) {
		ws_noise_local_clear(local);
		return false;
	}
	ws_cookie_mac1_key(local->mac1_key, local->public_key);
	return true;
}

void ws_noise_local_clear(struct ws_noise_local *local)
{
	ws_wipe(local, sizeof(*local));
}

bool ws_handshake_init(struct ws_handshake *hs, const struct ws_noise_local *local,
		       const uint8_t remote_pub[WS_KEY_LEN])
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->remote_static, remote_pub, WS_KEY_LEN);
	if (!ws_x25519(hs->precomputed_ss, local->private_key, remote_pub)) {
		ws_wipe(hs, sizeof(*hs));
		return false;
	}
	ws_cookie_mac1_key(hs->remote_mac1_key, remote_pub);
	return true;
}

void ws_handshake_clear(struct ws_handshake *hs)
{
	state_clear(&hs->initiator);
	state_clear(&hs->responder);
}

bool ws_noise_create_init(struct ws_handshake *hs, const struct ws_noise_local *local,
			  struct ws_msg_init *out, const uint8_t e_priv[WS_KEY_LEN],
			  uint32_t sender_index, uint64_t unix_ns)
{
	struct ws_noise_state *st = &hs->initiator;
	uint8_t key[WS_KEY_LEN], timestamp[WS_TIMESTAMP_LEN];
	bool ok = false;

	state_clear(st);
	memset(out, 0, sizeof(*out));
	out->type = WS_MSG_HANDSHAKE_INIT;
	ws_put_le32(out->sender_index, sender_index);
	init_symmetric(st->ck, st->h, hs->remote_static);

	/* e */
	memcpy(st->e_priv, e_priv, WS_KEY_LEN);
	if (!ws_x25519_pubkey(out->ephemeral, e_priv))
		goto out;
	mix_hash(st->h, out->ephemeral, WS_KEY_LEN);
	/* es */
	if (!mix_dh(st->ck, key, e_priv, hs->remote_static))
		goto out;
	/* s */
	encrypt_and_hash(out->encrypted_static, local->public_key, WS_KEY_LEN, key, st->h);
	/* ss */
	mix_key(st->ck, key, hs->precomputed_ss);
	/* {timestamp} */
	ws_tai64n(timestamp, unix_ns);
	encrypt_and_hash(out->encrypted_timestamp, timestamp, WS_TIMESTAMP_LEN, key, st->h);

	st->local_index = sender_index;
	st->state = WS_HS_INIT_SENT;
	ok = true;
out:
	ws_wipe(key, sizeof(key));
	if (!ok)
		state_clear(st);
	return ok;
}

/* Big-endian integer of n <= 8 bytes. */
static uint64_t be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * A TAI64N label is acceptable when its nanoseconds are < 10^9, it is within
 * WS_MAX_TIMESTAMP_SKEW_NS of unix_ns (inclusive, to the nanosecond), and it
 * is greater than the greatest accepted from this peer (DECISIONS 17).
 */
static enum ws_noise_reject timestamp_check(const uint8_t ts[WS_TIMESTAMP_LEN],
					    const uint8_t greatest[WS_TIMESTAMP_LEN], uint64_t unix_ns)
{
	uint64_t label = be_read(ts, 8), nsec = be_read(ts + 8, 4), secs, when, skew;

	if (nsec >= WS_NSEC_PER_SEC || label < tai64_epoch)
		return WS_NOISE_CLOCK;
	secs = label - tai64_epoch;
	if (secs > (UINT64_MAX - nsec) / WS_NSEC_PER_SEC)
		return WS_NOISE_CLOCK; /* beyond any uint64 clock */
	when = secs * WS_NSEC_PER_SEC + nsec;
	skew = when > unix_ns ? when - unix_ns : unix_ns - when;
	if (skew > WS_MAX_TIMESTAMP_SKEW_NS)
		return WS_NOISE_CLOCK;
	return memcmp(ts, greatest, WS_TIMESTAMP_LEN) > 0 ? WS_NOISE_OK : WS_NOISE_REPLAY;
}

struct ws_handshake *ws_noise_consume_init_why(const struct ws_noise_local *local,
					       const struct ws_msg_init *msg, uint64_t unix_ns,
					       ws_noise_lookup_fn *lookup, void *ctx,
					       enum ws_noise_reject *why)
{
	uint8_t ck[WS_HASH_LEN], h[WS_HASH_LEN], key[WS_KEY_LEN];
	uint8_t s[WS_KEY_LEN], timestamp[WS_TIMESTAMP_LEN];
	struct ws_handshake *hs = NULL, *ret = NULL;
	enum ws_noise_reject r = WS_NOISE_MALFORMED;
	struct ws_noise_state *st;

	if (msg->type != WS_MSG_HANDSHAKE_INIT || !ws_reserved_ok(&msg->type))
		goto out;
	init_symmetric(ck, h, local->public_key);
	r = WS_NOISE_DECRYPT;

	/* e */
	mix_hash(h, msg->ephemeral, WS_KEY_LEN);
	/* es */
	if (!mix_dh(ck, key, local->private_key, msg->ephemeral))
		goto out;
	/* s */
	if (!decrypt_and_hash(s, msg->encrypted_static, sizeof(msg->encrypted_static), key, h))
		goto out;
	hs = lookup(ctx, s);
	if (!hs || !ws_memeq(hs->remote_static, s, WS_KEY_LEN)) {
		r = WS_NOISE_UNKNOWN_PEER;
		goto out;
	}
	/* ss */
	mix_key(ck, key, hs->precomputed_ss);
	/* {timestamp} */
	if (!decrypt_and_hash(timestamp, msg->encrypted_timestamp,
			      sizeof(msg->encrypted_timestamp), key, h))
		goto out;
	r = timestamp_check(timestamp, hs->greatest_timestamp, unix_ns);
	if (r != WS_NOISE_OK)
		goto out;

	/* Everything verified: commit. */
	memcpy(hs->greatest_timestamp, timestamp, WS_TIMESTAMP_LEN);
	st = &hs->responder;
	state_clear(st);
	memcpy(st->ck, ck, WS_HASH_LEN);
	memcpy(st->h, h, WS_HASH_LEN);
	memcpy(st->remote_e, msg->ephemeral, WS_KEY_LEN);
	st->remote_index = ws_le32(msg->sender_index);
	st->state = WS_HS_INIT_CONSUMED;
	ret = hs;
out:
	ws_wipe(ck, sizeof(ck));
	ws_wipe(h, sizeof(h));
	ws_wipe(key, sizeof(key));
	ws_wipe(s, sizeof(s));
	ws_wipe(timestamp, sizeof(timestamp));
	if (why)
		*why = r;
	return ret;
}

struct ws_handshake *ws_noise_consume_init(const struct ws_noise_local *local,
					   const struct ws_msg_init *msg, uint64_t unix_ns,
					   ws_noise_lookup_fn *lookup, void *ctx)
{
	return ws_noise_consume_init_why(local, msg, unix_ns, lookup, ctx, NULL);
}

bool ws_noise_create_resp(struct ws_handshake *hs, const struct ws_noise_local *local,
			  struct ws_msg_resp *out, const uint8_t e_priv[WS_KEY_LEN],
			  uint32_t sender_index)
{
	struct ws_noise_state *st = &hs->responder;
	uint8_t key[WS_KEY_LEN];
	bool ok = false;

	(void)local; /* se uses the initiator's static, which hs holds */
	if (st->state != WS_HS_INIT_CONSUMED)
		return false;
	memset(out, 0, sizeof(*out));
	out->type = WS_MSG_HANDSHAKE_RESP;
	ws_put_le32(out->sender_index, sender_index);
	ws_put_le32(out->receiver_index, st->remote_index);

	/* e */
	memcpy(st->e_priv, e_priv, WS_KEY_LEN);
	if (!ws_x25519_pubkey(out->ephemeral, e_priv))
		goto out;
	mix_hash(st->h, out->ephemeral, WS_KEY_LEN);
	/* ee */
	if (!mix_dh(st->ck, key, e_priv, st->remote_e))
		goto out;
	/* se */
	if (!mix_dh(st->ck, key, e_priv, hs->remote_static))
		goto out;
	/* {} */
	encrypt_and_hash(out->encrypted_nil, out->encrypted_nil, 0, key, st->h);

	ws_wipe(st->e_priv, sizeof(st->e_priv));
	st->local_index = sender_index;
	st->state = WS_HS_RESP_SENT;
	ok = true;
out:
	ws_wipe(key, sizeof(key));
	if (!ok)
		state_clear(st);
	return ok;
}

bool ws_noise_consume_resp(struct ws_handshake *hs, const struct ws_noise_local *local,
			   const struct ws_msg_resp *msg)
{
	struct ws_noise_state *st = &hs->initiator;
	uint8_t ck[WS_HASH_LEN], h[WS_HASH_LEN], key[WS_KEY_LEN], nil[1];
	bool ok = false;

	if (msg->type != WS_MSG_HANDSHAKE_RESP || !ws_reserved_ok(&msg->type) ||
	    st->state != WS_HS_INIT_SENT || ws_le32(msg->receiver_index) != st->local_index)
		return false;
	memcpy(ck, st->ck, WS_HASH_LEN);
	memcpy(h, st->h, WS_HASH_LEN);

	/* e */
	mix_hash(h, msg->ephemeral, WS_KEY_LEN);
	/* ee */
	if (!mix_dh(ck, key, st->e_priv, msg->ephemeral))
		goto out;
	/* se */
	if (!mix_dh(ck, key, local->private_key, msg->ephemeral))
		goto out;
	/* {} */
	if (!decrypt_and_hash(nil, msg->encrypted_nil, sizeof(msg->encrypted_nil), key, h))
		goto out;

	/* Authenticated: commit. */
	memcpy(st->ck, ck, WS_HASH_LEN);
	memcpy(st->h, h, WS_HASH_LEN);
	memcpy(st->remote_e, msg->ephemeral, WS_KEY_LEN);
	ws_wipe(st->e_priv, sizeof(st->e_priv));
	st->remote_index = ws_le32(msg->sender_index);
	st->state = WS_HS_RESP_CONSUMED;
	ok = true;
out:
	ws_wipe(ck, sizeof(ck));
	ws_wipe(h, sizeof(h));
	ws_wipe(key, sizeof(key));
	return ok;
}

bool ws_noise_derive_keys(struct ws_handshake *hs, struct ws_noise_keys *out)
{
	struct ws_noise_state *st;
	bool initiator;

	if (hs->initiator.state == WS_HS_RESP_CONSUMED) {
		st = &hs->initiator;
		initiator = true;
	} else if (hs->responder.state == WS_HS_RESP_SENT) {
		st = &hs->responder;
		initiator = false;
	} else {
		return false;
	}
	/* (T1, T2) = kdf2(ck, ""): the initiator sends with T1, the responder with T2. */
	if (initiator)
		ws_kdf(out->send, out->recv, NULL, st->ck, "", 0);
	else
		ws_kdf(out->recv, out->send, NULL, st->ck, "", 0);
	out->local_index = st->local_index;
	out->remote_index = st->remote_index;
	out->initiator = initiator;
	state_clear(st);
	return true;
}
