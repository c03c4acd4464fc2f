/* SPDX-License-Identifier: MIT */
/* Transport packets of one session. See session.h. */
#include "core/session.h"

#include <errno.h>
#include <string.h>

#include "core/crypto.h"

void ws_session_init(struct ws_session *s, const uint8_t send[WS_KEY_LEN],
		     const uint8_t recv[WS_KEY_LEN], uint32_t local_index, uint32_t remote_index,
		     bool initiator, uint64_t now_ns)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->send_key, send, WS_KEY_LEN);
	memcpy(s->recv_key, recv, WS_KEY_LEN);
	s->local_index = local_index;
	s->remote_index = remote_index;
	s->initiator = initiator;
	s->birth_ns = now_ns;
	atomic_init(&s->send_counter, 0);
	ws_replay_init(&s->replay);
}

void ws_session_wipe(struct ws_session *s)
{
	ws_wipe(s, sizeof(*s));
}

int ws_session_next_counter(struct ws_session *s, uint64_t *out)
{
	uint64_t c = atomic_load_explicit(&s->send_counter, memory_order_relaxed);

	/* A CAS loop, not fetch-add: once the stored value reaches 2^64-1 it
	 * stays there, so no caller can ever be handed a wrapped counter. */
	do {
		if (c >= UINT64_MAX)
			return -ESTALE;
	} while (!atomic_compare_exchange_weak_explicit(&s->send_counter, &c, c + 1,
							memory_order_relaxed, memory_order_relaxed));
	*out = c;
	return 0;
}

/* Plaintext lengths each transport type allows (DECISIONS 12). */
static bool plain_len_ok(uint8_t type, size_t plain_len)
{
	switch (type) {
	case WS_MSG_DATA:
		return plain_len >= 1;
	case WS_MSG_KEEPALIVE:
	case WS_MSG_DISCONNECT:
		return plain_len == 0;
	case WS_MSG_DATA_FRAGMENT:
		return plain_len >= WS_SIZE_FRAGMENT_HEADER;
	default:
		return false;
	}
}

size_t ws_session_seal(const struct ws_session *s, uint8_t type, uint64_t counter, uint8_t *pkt,
		       size_t plain_len)
{
	struct ws_msg_transport *h = (struct ws_msg_transport *)pkt;

	if (!plain_len_ok(type, plain_len) || counter >= UINT64_MAX)
		return 0;
	h->type = type;
	memset(h->reserved, 0, sizeof(h->reserved));
	ws_put_le32(h->receiver_index, s->remote_index);
	ws_put_le64(h->counter, counter);
	ws_aead_seal(pkt + WS_SIZE_DATA_HEADER, pkt + WS_SIZE_DATA_HEADER, plain_len, NULL, 0,
		     counter, s->send_key);
	return plain_len + WS_TRANSPORT_HDR_TAG_LEN;
}

int ws_transport_parse(const uint8_t *pkt, size_t len, struct ws_transport_hdr *out)
{
	const struct ws_msg_transport *h = (const struct ws_msg_transport *)pkt;
	uint64_t counter;

	if (len < WS_TRANSPORT_HDR_TAG_LEN || !ws_reserved_ok(pkt) ||
	    !plain_len_ok(h->type, len - WS_TRANSPORT_HDR_TAG_LEN))
		return -EINVAL;
	counter = ws_le64(h->counter);
	if (counter >= UINT64_MAX)
		return -EINVAL;
	out->type = h->type;
	out->receiver_index = ws_le32(h->receiver_index);
	out->counter = counter;
	return 0;
}

/* hdr was parsed from this pkt, and pkt is addressed to s. */
static bool hdr_matches(const struct ws_session *s, const uint8_t *pkt, size_t len,
			const struct ws_transport_hdr *hdr)
{
	const struct ws_msg_transport *h = (const struct ws_msg_transport *)pkt;

	return len >= WS_TRANSPORT_HDR_TAG_LEN && ws_reserved_ok(pkt) && h->type == hdr->type &&
	       plain_len_ok(hdr->type, len - WS_TRANSPORT_HDR_TAG_LEN) &&
	       ws_le32(h->receiver_index) == hdr->receiver_index &&
	       ws_le64(h->counter) == hdr->counter && hdr->receiver_index == s->local_index;
}

int ws_session_open_decrypt(const struct ws_session *s, uint8_t *pkt, size_t len,
			    const struct ws_transport_hdr *hdr, uint8_t **plain, size_t *plain_len)
{
	uint8_t *body = pkt + WS_SIZE_DATA_HEADER;

	if (!hdr_matches(s, pkt, len, hdr))
		return -EINVAL;
	if (!ws_replay_check(&s->replay, hdr->counter))
		return -EALREADY;
	/* Tag checked before any plaintext is released (libsodium then zeroes
	 * the body on failure). */
	if (!ws_aead_open(body, body, len - WS_SIZE_DATA_HEADER, NULL, 0, hdr->counter,
			  s->recv_key))
		return -EBADMSG;
	*plain = body;
	*plain_len = len - WS_TRANSPORT_HDR_TAG_LEN;
	return 0;
}

int ws_session_open_commit(struct ws_session *s, uint64_t counter)
{
	return ws_replay_update(&s->replay, counter) ? 0 : -EALREADY;
}

int ws_session_open(struct ws_session *s, uint8_t *pkt, size_t len,
		    const struct ws_transport_hdr *hdr, uint8_t **plain, size_t *plain_len)
{
	uint8_t *p;
	size_t n;
	int ret = ws_session_open_decrypt(s, pkt, len, hdr, &p, &n);

	if (ret)
		return ret;
	ret = ws_session_open_commit(s, hdr->counter);
	if (ret)
		return ret;
	*plain = p;
	*plain_len = n;
	return 0;
}
