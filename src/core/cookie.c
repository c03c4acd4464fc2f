/* SPDX-License-Identifier: MIT */
/*
 * MAC1/MAC2 and cookies (spec 2.4, 2.5, 6). All MACs are the first 16 bytes
 * of keyed BLAKE2s-256 (DECISIONS 3); every comparison is constant time.
 */
#include "core/cookie.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/crypto.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";
enum { LABEL_LEN = 8 };

/* A birth time at least `lifetime` old, or in the future (fail closed). */
static bool expired(uint64_t birth_ns, uint64_t lifetime_ns, uint64_t now_ns)
{
	return now_ns < birth_ns || now_ns - birth_ns >= lifetime_ns;
}

/* Offset of mac1 (= length of the bytes the MACs cover) by message size, or 0
 * for a size that is neither HandshakeInit's nor HandshakeResp's. The type
 * byte is the caller's to check; it is covered by both MACs. */
static size_t mac1_offset(size_t len)
{
	if (len == WS_SIZE_HANDSHAKE_INIT)
		return WS_INIT_MAC1_OFF;
	if (len == WS_SIZE_HANDSHAKE_RESP)
		return WS_RESP_MAC1_OFF;
	return 0;
}

/* out = MAC(key, data)[0:16] */
static void mac16(uint8_t out[WS_MAC_LEN], const uint8_t key[WS_KEY_LEN], const void *data,
		  size_t len)
{
	uint8_t full[WS_HASH_LEN];

	ws_mac(full, key, data, len, NULL, 0);
	memcpy(out, full, WS_MAC_LEN);
	ws_wipe(full, sizeof(full));
}

/* MAC2 = MAC(cookie || 16 zero bytes, body)[0:16] (DECISIONS 4). */
static void mac2_of(uint8_t out[WS_MAC_LEN], const uint8_t cookie[WS_COOKIE_LEN],
		    const uint8_t *body, size_t len)
{
	uint8_t key[WS_KEY_LEN] = { 0 };

	memcpy(key, cookie, WS_COOKIE_LEN);
	mac16(out, key, body, len);
	ws_wipe(key, sizeof(key));
}

void ws_cookie_mac1_key(uint8_t key[WS_HASH_LEN], const uint8_t static_pub[WS_KEY_LEN])
{
	ws_hash(key, label_mac1, LABEL_LEN, static_pub, WS_KEY_LEN);
}

/* --- checker ----------------------------------------------------------------------- */

void ws_cookie_checker_set_secret(struct ws_cookie_checker *c, const uint8_t secret[WS_KEY_LEN],
				  uint64_t now_ns)
{
	memcpy(c->secret, secret, WS_KEY_LEN);
	c->secret_birth_ns = now_ns;
	/* cookie_key = MAC(cookie_secret, "cookie--" || server_static_pub) (6.1) */
	ws_mac(c->cookie_key, c->secret, label_cookie, LABEL_LEN, c->local_static,
	       WS_KEY_LEN);
}

static void checker_new_secret(struct ws_cookie_checker *c, uint64_t now_ns)
{
	uint8_t secret[WS_KEY_LEN];

	ws_random(secret, sizeof(secret));
	ws_cookie_checker_set_secret(c, secret, now_ns);
	ws_wipe(secret, sizeof(secret));
}

void ws_cookie_checker_init(struct ws_cookie_checker *c, const uint8_t local_static_pub[WS_KEY_LEN],
			    uint64_t now_ns)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->local_static, local_static_pub, WS_KEY_LEN);
	ws_cookie_mac1_key(c->mac1_key, local_static_pub);
	checker_new_secret(c, now_ns);
}

/* cookie = MAC(cookie_key, addr)[0:16] under the current secret. */
static void checker_cookie(struct ws_cookie_checker *c, uint8_t cookie[WS_COOKIE_LEN],
			   const char *addr, size_t addr_len, uint64_t now_ns)
{
	if (expired(c->secret_birth_ns, WS_COOKIE_SECRET_LIFETIME_NS, now_ns))
		checker_new_secret(c, now_ns);
	mac16(cookie, c->cookie_key, addr, addr_len);
}

enum ws_cookie_mac ws_cookie_validate(struct ws_cookie_checker *c, const uint8_t *msg, size_t len,
				      const char *addr, size_t addr_len, bool check_mac2,
				      uint64_t now_ns)
{
	uint8_t mac[WS_MAC_LEN], cookie[WS_COOKIE_LEN];
	size_t off = mac1_offset(len);
	enum ws_cookie_mac ret;

	if (!off)
		return WS_COOKIE_INVALID;
	mac16(mac, c->mac1_key, msg, off);
	if (!ws_memeq(mac, msg + off, WS_MAC_LEN))
		return WS_COOKIE_INVALID;
	/* HandshakeResp's mac2 is ignored (DECISIONS 5). */
	if (!check_mac2 || off != WS_INIT_MAC1_OFF)
		return WS_COOKIE_VALID_MAC1;
	checker_cookie(c, cookie, addr, addr_len, now_ns);
	mac2_of(mac, cookie, msg, off);
	ret = ws_memeq(mac, msg + off + WS_MAC_LEN, WS_MAC_LEN) ? WS_COOKIE_VALID_MAC2
							       : WS_COOKIE_VALID_MAC1;
	ws_wipe(cookie, sizeof(cookie));
	return ret;
}

void ws_cookie_make_reply(struct ws_cookie_checker *c, struct ws_msg_cookie *out,
			  uint32_t receiver_index, const uint8_t mac1[WS_MAC_LEN], const char *addr,
			  size_t addr_len, const uint8_t nonce[WS_XNONCE_LEN], uint64_t now_ns)
{
	uint8_t cookie[WS_COOKIE_LEN], key[WS_KEY_LEN] = { 0 };

	memset(out, 0, sizeof(*out));
	out->type = WS_MSG_COOKIE_REPLY;
	ws_put_le32(out->receiver_index, receiver_index);
	memcpy(out->nonce, nonce, WS_XNONCE_LEN);
	checker_cookie(c, cookie, addr, addr_len, now_ns);
	memcpy(key, mac1, WS_MAC_LEN); /* mac1 || 16 zero bytes (DECISIONS 4) */
	ws_xaead_seal(out->encrypted_cookie, cookie, WS_COOKIE_LEN, NULL, 0, nonce, key);
	ws_wipe(cookie, sizeof(cookie));
	ws_wipe(key, sizeof(key));
}

/* --- maker ------------------------------------------------------------------------- */

void ws_cookie_maker_init(struct ws_cookie_maker *m, const uint8_t remote_static_pub[WS_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	ws_cookie_mac1_key(m->mac1_key, remote_static_pub);
}

void ws_cookie_add_macs(struct ws_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	size_t off = mac1_offset(len);
	uint8_t *mac1 = msg + off, *mac2 = msg + off + WS_MAC_LEN;

	if (!off)
		return;
	mac16(mac1, m->mac1_key, msg, off);
	memset(mac2, 0, WS_MAC_LEN);
	if (off != WS_INIT_MAC1_OFF)
		return; /* HandshakeResp: zero mac2, and the CookieReply key stays the init's */
	memcpy(m->last_mac1, mac1, WS_MAC_LEN);
	m->last_mac1_valid = true;
	if (m->have_cookie && !expired(m->cookie_birth_ns, WS_COOKIE_LIFETIME_NS, now_ns))
		mac2_of(mac2, m->cookie, msg, off);
}

bool ws_cookie_consume_reply(struct ws_cookie_maker *m, const struct ws_msg_cookie *msg,
			     uint32_t expected_receiver_index, uint64_t now_ns)
{
	uint8_t cookie[WS_COOKIE_LEN], key[WS_KEY_LEN] = { 0 };
	bool ok;

	if (msg->type != WS_MSG_COOKIE_REPLY || !ws_reserved_ok(&msg->type) ||
	    ws_le32(msg->receiver_index) != expected_receiver_index || !m->last_mac1_valid)
		return false;
	memcpy(key, m->last_mac1, WS_MAC_LEN);
	ok = ws_xaead_open(cookie, msg->encrypted_cookie, sizeof(msg->encrypted_cookie), NULL, 0,
			   msg->nonce, key);
	if (ok) {
		memcpy(m->cookie, cookie, WS_COOKIE_LEN);
		m->cookie_birth_ns = now_ns;
		m->have_cookie = true;
		m->last_mac1_valid = false;
	}
	ws_wipe(cookie, sizeof(cookie));
	ws_wipe(key, sizeof(key));
	return ok;
}

/* --- client_addr_string ------------------------------------------------------------ */

size_t ws_cookie_addr_string(char *out, size_t cap, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	int n;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (!inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)))
			return 0;
		port = ntohs(in->sin_port);
		n = snprintf(out, cap, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (!inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
			return 0;
		port = ntohs(in6->sin6_port);
		n = snprintf(out, cap, "[%s]:%u", ip, port);
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}
