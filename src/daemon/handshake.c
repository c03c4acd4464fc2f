/* SPDX-License-Identifier: MIT */
/*
 * Handshake handling on the ctl thread: consuming HandshakeInit, HandshakeResp
 * and CookieReply (queued by rx), sending HandshakeInit, and installing,
 * confirming and closing sessions in a peer's three slots (DECISIONS 18-20, 28).
 * The slots and their index entries themselves are moved by slots.c only.
 * Threads and locks: ctl thread; dev->lock for writing where slots or the
 * handshake index change (taken in slots.c), for reading around single sends;
 * peer->lock for the endpoint and the timers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/frame.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/handshake.h"
#include "daemon/hslog.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "os/clock.h"
#include "os/log.h"

/* The peer lookup of ws_noise_consume_init_why; it keeps the key it saw, for the log. */
struct lookup_ctx {
	struct ws_device *dev;
	uint8_t key[WS_KEY_LEN];
	bool seen;
};

static struct ws_handshake *lookup_peer(void *ctx, const uint8_t static_pub[WS_KEY_LEN])
{
	struct lookup_ctx *c = ctx;
	struct ws_peer *peer = ws_peer_lookup(c->dev, static_pub);

	memcpy(c->key, static_pub, WS_KEY_LEN);
	c->seen = true;
	return peer ? &peer->hs : NULL;
}

static enum ws_hs_verdict noise_verdict(enum ws_noise_reject r)
{
	switch (r) {
	case WS_NOISE_OK:
		return WS_HS_ACCEPTED;
	case WS_NOISE_MALFORMED:
		return WS_HS_MALFORMED;
	case WS_NOISE_UNKNOWN_PEER:
		return WS_HS_UNKNOWN_PEER;
	case WS_NOISE_CLOCK:
		return WS_HS_CLOCK;
	case WS_NOISE_REPLAY:
		return WS_HS_REPLAY;
	case WS_NOISE_DECRYPT:
	default:
		return WS_HS_DECRYPT;
	}
}

static void peer_name(const struct ws_peer *peer, char out[WS_KEY_B64_LEN + 1])
{
	ws_key_to_base64(out, peer->public_key);
}

void ws_handshake_send_init(struct ws_device *dev, struct ws_peer *peer, uint64_t now)
{
	struct sockaddr_storage to;
	struct ws_msg_init msg;
	uint8_t e_priv[WS_KEY_LEN];
	uint32_t index;

	pthread_mutex_lock(&peer->lock);
	to = peer->endpoint;
	pthread_mutex_unlock(&peer->lock);
	if (to.ss_family == AF_UNSPEC)
		return;
	/* Retries keep the handshake's index (DECISIONS 20); the first attempt registers one. */
	if (ws_slots_handshake_index(dev, peer, &index))
		return;
	ws_x25519_genkey(e_priv);
	if (ws_noise_create_init(&peer->hs, &dev->local, &msg, e_priv, index, ws_unix_ns())) {
		ws_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
		ws_device_send_one(dev, &msg, sizeof(msg), &to);
		peer->handshakes_initiated++;
	}
	ws_wipe(e_priv, sizeof(e_priv));
	pthread_mutex_lock(&peer->lock);
	ws_peer_on_handshake_sent(peer, now);
	pthread_mutex_unlock(&peer->lock);
}

/*
 * Install a new session (in the responder's reserved slot; NULL: the
 * initiator's), send the responder's HandshakeResp (resp, NULL for the
 * initiator) once the session can receive, then announce it on the control
 * channel and flush staged packets.
 */
static void session_up(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot,
		       const struct ws_noise_keys *keys, const struct sockaddr_storage *from,
		       const struct ws_msg_resp *resp, uint64_t now)
{
	char name[WS_KEY_B64_LEN + 1];
	bool had_live;

	slot = ws_slots_install(dev, peer, slot, keys, from, now, &had_live);
	if (resp)
		ws_device_send_one(dev, resp, sizeof(*resp), from);

	peer->last_handshake_unix_ns = ws_unix_ns();
	peer->handshakes_completed++;
	peer_name(peer, name);
	if (!had_live)
		ws_info("peer %s: session established as %s", name,
			keys->initiator ? "initiator" : "responder");
	else
		ws_debug("peer %s: rekeyed as %s", name, keys->initiator ? "initiator" : "responder");
	if (!had_live)
		ws_ctlchan_reset(peer); /* DECISIONS 25: first contact after no live session */
	if (resp && peer->cur == slot) {
		/*
		 * A responder that may send at once (DECISIONS 19) still waits a
		 * moment: until the initiator's first control frame shows that it
		 * installed the session, or ANNOUNCE_DELAY. Sent earlier, the hello
		 * and staged packets can beat the initiator's own bookkeeping of
		 * our HandshakeResp and be dropped as unknown.
		 */
		peer->announce_pending = true;
		peer->announce_hello = !had_live;
		peer->announce_at = now + WS_ANNOUNCE_DELAY_NS;
		return;
	}
	if (!had_live)
		ws_ctlchan_session_up(dev, peer, now);
	if (peer->cur == slot)
		ws_peer_flush_staged(dev, peer);
}

/*
 * Under load: the inbox is deep now, or was within the last second
 * (WS_LOAD_HOLD_NS, WireGuard's last_under_load), so a burst's gaps do not
 * let handshakes through to the Diffie-Hellman steps.
 */
static bool is_under_load(struct ws_device *dev, uint64_t now)
{
	return ws_load_under(&dev->load, ws_inbox_count(&dev->inbox) >= WS_UNDER_LOAD, now);
}

/* Under load, every handshake message that costs a DH passes the per-source rate limit. */
static bool source_allowed(struct ws_device *dev, const struct sockaddr_storage *from, uint64_t now)
{
	const uint8_t *ip = from->ss_family == AF_INET
		? (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr
		: (const uint8_t *)&((const struct sockaddr_in6 *)from)->sin6_addr;

	if (ws_ratelimit_allow(&dev->ratelimit, from->ss_family, ip, now))
		return true;
	atomic_fetch_add(&dev->stats.handshakes_rate_limited, 1);
	return false;
}

static enum ws_hs_verdict receive_init(struct ws_device *dev, const struct ws_inbox_msg *m,
				       const char *addr, size_t alen, struct lookup_ctx *lc, uint64_t now)
{
	const struct ws_msg_init *init = (const void *)m->data;
	bool under_load = is_under_load(dev, now);
	enum ws_cookie_mac mac;
	enum ws_noise_reject why;
	struct ws_handshake *hs;
	struct ws_noise_keys keys;
	struct ws_msg_resp resp;
	struct ws_slot *slot;
	struct ws_peer *peer;
	uint8_t e_priv[WS_KEY_LEN];

	mac = ws_cookie_validate(&dev->cookie_checker, m->data, m->len, addr, alen, under_load, now);
	if (mac == WS_COOKIE_INVALID)
		return WS_HS_BAD_MAC1;
	if (under_load && mac != WS_COOKIE_VALID_MAC2) {
		struct ws_msg_cookie reply;
		uint8_t nonce[WS_XNONCE_LEN];

		ws_random(nonce, sizeof(nonce));
		ws_cookie_make_reply(&dev->cookie_checker, &reply, ws_le32(init->sender_index),
				     init->mac1, addr, alen, nonce, now);
		if (!ws_device_send_one(dev, &reply, sizeof(reply), &m->addr))
			atomic_fetch_add(&dev->stats.cookie_replies_sent, 1);
		return WS_HS_COOKIE_SENT;
	}
	if (under_load && !source_allowed(dev, &m->addr, now))
		return WS_HS_RATE_LIMITED;
	hs = ws_noise_consume_init_why(&dev->local, init, ws_unix_ns(), lookup_peer, lc, &why);
	if (!hs)
		return noise_verdict(why);
	peer = hs->owner;
	slot = ws_slots_reserve(dev, peer);
	if (!slot)
		return WS_HS_NO_ROOM;
	ws_x25519_genkey(e_priv);
	if (!ws_noise_create_resp(hs, &dev->local, &resp, e_priv, slot->entry.index) ||
	    !ws_noise_derive_keys(hs, &keys)) {
		ws_wipe(e_priv, sizeof(e_priv));
		ws_slots_unreserve(dev, peer, slot);
		return WS_HS_DECRYPT;
	}
	ws_wipe(e_priv, sizeof(e_priv));
	ws_cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now);
	memset(resp.mac2, 0, sizeof(resp.mac2)); /* DECISIONS 5: sent as zeros */
	session_up(dev, peer, slot, &keys, &m->addr, &resp, now);
	ws_wipe(&keys, sizeof(keys));
	return WS_HS_ACCEPTED;
}

static enum ws_hs_verdict receive_resp(struct ws_device *dev, const struct ws_inbox_msg *m,
				       const char *addr, size_t alen, uint64_t now)
{
	const struct ws_msg_resp *resp = (const void *)m->data;
	struct ws_index_entry *e;
	struct ws_noise_keys keys;
	struct ws_peer *peer;

	if (ws_cookie_validate(&dev->cookie_checker, m->data, m->len, addr, alen, false, now) ==
	    WS_COOKIE_INVALID)
		return WS_HS_BAD_MAC1;
	/* ctl is the only writer of the index: reading it here needs no lock. */
	e = ws_index_lookup(&dev->index, ws_le32(resp->receiver_index));
	if (!e || e->kind != WS_IDX_HANDSHAKE)
		return WS_HS_NOT_OURS;
	/*
	 * Under load a response costs a DH like an init, so it passes the same
	 * rate limit. No MAC2 is asked of it: a HandshakeResp's mac2 is sent as
	 * zeros (DECISIONS 5) and a CookieReply answers only a HandshakeInit.
	 */
	if (is_under_load(dev, now) && !source_allowed(dev, &m->addr, now))
		return WS_HS_RATE_LIMITED;
	peer = e->peer;
	if (!ws_reserved_ok(&resp->type))
		return WS_HS_MALFORMED;
	if (!ws_noise_consume_resp(&peer->hs, &dev->local, resp) || !ws_noise_derive_keys(&peer->hs, &keys))
		return WS_HS_DECRYPT;
	session_up(dev, peer, NULL, &keys, &m->addr, NULL, now);
	ws_wipe(&keys, sizeof(keys));
	return WS_HS_ACCEPTED;
}

static enum ws_hs_verdict receive_cookie(struct ws_device *dev, const struct ws_inbox_msg *m, uint64_t now)
{
	const struct ws_msg_cookie *c = (const void *)m->data;
	struct ws_index_entry *e = ws_index_lookup(&dev->index, ws_le32(c->receiver_index));

	if (!e || e->kind != WS_IDX_HANDSHAKE)
		return WS_HS_NOT_OURS;
	/* The retry waits for the handshake timer (DECISIONS 29). */
	if (!ws_cookie_consume_reply(&e->peer->cookie, c, e->index, now))
		return WS_HS_DECRYPT;
	pthread_mutex_lock(&e->peer->lock);
	ws_timers_cookie_received(&e->peer->timers, now);
	pthread_mutex_unlock(&e->peer->lock);
	return WS_HS_ACCEPTED;
}

/* One line per reason per WS_HSLOG_INTERVAL_NS (hslog.h). */
static void log_drop(struct ws_device *dev, uint8_t type, const char *addr, enum ws_hs_verdict v,
		     const struct lookup_ctx *lc, uint64_t now)
{
	static const char *const what[] = {[WS_MSG_HANDSHAKE_INIT] = "handshake initiation",
					   [WS_MSG_HANDSHAKE_RESP] = "handshake response",
					   [WS_MSG_COOKIE_REPLY] = "cookie reply"};
	char key[WS_KEY_B64_LEN + 1] = "", more[48] = "";
	uint32_t left_out;

	if (!ws_hslog_due(&dev->hslog, v, now, &left_out))
		return;
	if (v == WS_HS_UNKNOWN_PEER && lc->seen)
		ws_key_to_base64(key, lc->key);
	if (left_out)
		snprintf(more, sizeof(more), " (and %u more like it)", left_out);
	ws_info("%s from %s dropped: %s%s%s%s", what[type], addr, ws_hslog_reason(v),
		key[0] ? ": key " : "", key, more);
}

enum ws_hs_verdict ws_handshake_receive(struct ws_device *dev, const struct ws_inbox_msg *m,
					uint64_t now)
{
	struct lookup_ctx lc = {.dev = dev};
	enum ws_hs_verdict v;
	char addr[64];
	size_t alen = ws_cookie_addr_string(addr, sizeof(addr), (const struct sockaddr *)&m->addr);
	uint8_t type = m->len ? m->data[0] : 0;

	/* rx queues only these types at their exact sizes (DECISIONS 12). */
	if (!alen || type < WS_MSG_HANDSHAKE_INIT || type > WS_MSG_COOKIE_REPLY)
		return WS_HS_MALFORMED;
	if (type == WS_MSG_HANDSHAKE_INIT && m->len == WS_SIZE_HANDSHAKE_INIT)
		v = receive_init(dev, m, addr, alen, &lc, now);
	else if (type == WS_MSG_HANDSHAKE_RESP && m->len == WS_SIZE_HANDSHAKE_RESP)
		v = receive_resp(dev, m, addr, alen, now);
	else if (type == WS_MSG_COOKIE_REPLY && m->len == WS_SIZE_COOKIE_REPLY)
		v = receive_cookie(dev, m, now);
	else
		return WS_HS_MALFORMED;
	log_drop(dev, type, addr, v, &lc, now);
	ws_wipe(&lc, sizeof(lc));
	return v;
}

void ws_session_confirm(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now)
{
	ws_slots_confirm(dev, peer, slot, now);
	ws_peer_flush_staged(dev, peer);
}

void ws_session_close(struct ws_device *dev, struct ws_peer *peer, struct ws_slot *slot, uint64_t now)
{
	char name[WS_KEY_B64_LEN + 1];

	ws_slots_close(dev, peer, slot, now);
	peer_name(peer, name);
	ws_info("peer %s: session closed by the peer", name);
}
