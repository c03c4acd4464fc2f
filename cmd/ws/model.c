/* SPDX-License-Identifier: MIT */
/*
 * A `get` reply (docs/control-socket.md) parsed into struct ws_model_iface.
 * Pure: no I/O. Bounded by the reply, which ws_ipc_read_message caps at
 * WS_IPC_MAX_MESSAGE. Keys are stored in canonical base64.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

struct u64_field {
	const char *key;
	size_t off;
};

#define IFACE_FIELD(key, member) { key, offsetof(struct ws_model_iface, member) }
#define PEER_FIELD(key, member) { key, offsetof(struct ws_model_peer, member) }

static const struct u64_field iface_fields[] = {
	IFACE_FIELD("listen_port", listen_port),
	IFACE_FIELD("fwmark", fwmark),
	IFACE_FIELD("max_packet_size", max_packet_size),
	IFACE_FIELD("workers", workers),
	IFACE_FIELD("handshake_queue", handshake_queue),
	IFACE_FIELD("cookie_replies_sent", cookie_replies_sent),
	IFACE_FIELD("handshakes_rate_limited", handshakes_rate_limited),
	IFACE_FIELD("inbox_dropped", inbox_dropped),
	IFACE_FIELD("tx_no_route", tx_no_route),
	IFACE_FIELD("tx_no_session", tx_no_session),
	IFACE_FIELD("rx_unknown_index", rx_unknown_index),
	IFACE_FIELD("rx_bad_packet", rx_bad_packet),
	IFACE_FIELD("tx_loop_dropped", tx_loop_dropped),
	IFACE_FIELD("drop_rx_replay", drop_rx_replay),
	IFACE_FIELD("drop_rx_decrypt", drop_rx_decrypt),
	IFACE_FIELD("drop_rx_bad_frame", drop_rx_bad_frame),
	IFACE_FIELD("drop_rx_unknown_channel", drop_rx_unknown_channel),
	IFACE_FIELD("drop_rx_unknown_event", drop_rx_unknown_event),
	IFACE_FIELD("drop_rx_source", drop_rx_source),
	IFACE_FIELD("drop_rx_reassembly", drop_rx_reassembly),
	IFACE_FIELD("drop_rx_tun_refused", drop_rx_tun_refused),
	IFACE_FIELD("drop_tx_bad_packet", drop_tx_bad_packet),
	IFACE_FIELD("drop_tx_too_big", drop_tx_too_big),
	IFACE_FIELD("drop_tx_staging_full", drop_tx_staging_full),
	IFACE_FIELD("drop_tx_send_failed", drop_tx_send_failed),
	{ NULL, 0 },
};

static const struct u64_field peer_fields[] = {
	PEER_FIELD("persistent_keepalive_interval", persistent_keepalive),
	PEER_FIELD("last_handshake_time_sec", last_handshake_sec),
	PEER_FIELD("last_handshake_time_nsec", last_handshake_nsec),
	PEER_FIELD("rx_bytes", rx_bytes),
	PEER_FIELD("tx_bytes", tx_bytes),
	PEER_FIELD("rx_packets", rx_packets),
	PEER_FIELD("tx_packets", tx_packets),
	PEER_FIELD("rx_dropped", rx_dropped),
	PEER_FIELD("sessions", sessions),
	PEER_FIELD("ctl_tx", ctl_tx),
	PEER_FIELD("ctl_rx", ctl_rx),
	PEER_FIELD("ctl_retransmits", ctl_retransmits),
	PEER_FIELD("ctl_resets", ctl_resets),
	PEER_FIELD("handshakes_initiated", handshakes_initiated),
	PEER_FIELD("handshakes_completed", handshakes_completed),
	{ NULL, 0 },
};

struct parser {
	struct ws_model_iface *m;
	struct ws_model_peer *peer;   /* the block being read; NULL: interface */
	bool have_iface_key;
};

/* Decimal digits only, no sign or space, fits in 64 bits. */
static int parse_u64(uint64_t *out, const char *s)
{
	uint64_t v = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EPROTO;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* 1 when key is not in the table, else 0 or -EPROTO. */
static int set_field(void *base, const struct u64_field *t, const char *key, const char *value)
{
	for (; t->key; t++)
		if (!strcmp(t->key, key))
			return parse_u64((uint64_t *)((char *)base + t->off), value);
	return 1;
}

static int set_string(char **slot, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

/* Make room for one more element in *arr (arr points to the array pointer). */
static int grow(void *arr, size_t n, size_t *cap, size_t size)
{
	void *old, *grown;
	size_t want = *cap ? 2 * *cap : 4;

	if (n < *cap)
		return 0;
	memcpy(&old, arr, sizeof(old));
	grown = realloc(old, want * size);
	if (!grown)
		return -ENOMEM;
	memset((char *)grown + n * size, 0, (want - n) * size);
	memcpy(arr, &grown, sizeof(grown));
	*cap = want;
	return 0;
}

static int canonical_key(char out[WS_KEY_B64_LEN + 1], const char *value)
{
	uint8_t key[WS_KEY_LEN];

	if (ws_key_from_base64(key, value))
		return -EPROTO;
	ws_key_to_base64(out, key);
	return 0;
}

static int begin_peer(struct parser *pr, const char *value)
{
	struct ws_model_iface *m = pr->m;
	int ret;

	if (!pr->peer && !pr->have_iface_key) {
		pr->have_iface_key = true;
		return canonical_key(m->public_key, value);
	}
	ret = grow(&m->peers, m->n_peers, &m->cap_peers, sizeof(*m->peers));
	if (ret)
		return ret;
	pr->peer = &m->peers[m->n_peers++];
	return canonical_key(pr->peer->public_key, value);
}

static int iface_line(struct parser *pr, const char *key, const char *value)
{
	struct ws_model_iface *m = pr->m;
	int ret;

	if (!strcmp(key, "interface"))
		return set_string(&m->name, value);
	if (!strcmp(key, "private_key")) {
		if (ws_key_from_base64(m->private_key, value))
			return -EPROTO;
		m->has_private_key = true;
		return 0;
	}
	if (!strcmp(key, "mtu")) {
		m->has_mtu = true;
		return parse_u64(&m->mtu, value);
	}
	ret = set_field(m, iface_fields, key, value);
	return ret > 0 ? 0 : ret;
}

static int add_allowed_ip(struct ws_model_peer *p, const char *value)
{
	int ret = grow(&p->allowed_ips, p->n_allowed_ips, &p->cap_allowed_ips,
		       sizeof(*p->allowed_ips));

	if (ret)
		return ret;
	p->allowed_ips[p->n_allowed_ips] = strdup(value);
	return p->allowed_ips[p->n_allowed_ips++] ? 0 : -ENOMEM;
}

/* "ID:KIND", KIND not empty. */
static int add_channel(struct ws_model_peer *p, const char *value)
{
	const char *colon = strchr(value, ':');
	char id[24];
	struct ws_model_channel *c;
	int ret;

	if (!colon || !colon[1] || (size_t)(colon - value) >= sizeof(id))
		return -EPROTO;
	memcpy(id, value, (size_t)(colon - value));
	id[colon - value] = '\0';
	ret = grow(&p->channels, p->n_channels, &p->cap_channels, sizeof(*p->channels));
	if (ret)
		return ret;
	c = &p->channels[p->n_channels];
	if (parse_u64(&c->id, id))
		return -EPROTO;
	c->kind = strdup(colon + 1);
	if (!c->kind)
		return -ENOMEM;
	p->n_channels++;
	return 0;
}

static int parse_bool(bool *out, const char *value)
{
	if (strcmp(value, "true") && strcmp(value, "false"))
		return -EPROTO;
	*out = !strcmp(value, "true");
	return 0;
}

static int peer_line(struct ws_model_peer *p, const char *key, const char *value)
{
	int ret;

	if (!strcmp(key, "endpoint"))
		return set_string(&p->endpoint, value);
	if (!strcmp(key, "endpoint_config"))
		return set_string(&p->endpoint_config, value);
	if (!strcmp(key, "allowed_ip"))
		return add_allowed_ip(p, value);
	if (!strcmp(key, "channel"))
		return add_channel(p, value);
	if (!strcmp(key, "connected"))
		return parse_bool(&p->connected, value);
	if (!strcmp(key, "rtt_us")) {
		p->has_rtt = true;
		return parse_u64(&p->rtt_us, value);
	}
	ret = set_field(p, peer_fields, key, value);
	return ret > 0 ? 0 : ret;
}

static int parse_line(void *ctx, const char *key, const char *value)
{
	struct parser *pr = ctx;

	if (!strcmp(key, "public_key"))
		return begin_peer(pr, value);
	if (pr->peer)
		return peer_line(pr->peer, key, value);
	return iface_line(pr, key, value);
}

int ws_model_parse(struct ws_model_iface *m, char *buf, size_t len)
{
	struct parser pr = { .m = m };
	int ret = ws_ipc_parse(buf, len, parse_line, &pr);

	return ret == -EINVAL ? -EPROTO : ret;
}

static void free_peer(struct ws_model_peer *p)
{
	free(p->endpoint);
	free(p->endpoint_config);
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		free(p->allowed_ips[i]);
	free(p->allowed_ips);
	for (size_t i = 0; i < p->n_channels; i++)
		free(p->channels[i].kind);
	free(p->channels);
}

void ws_model_free(struct ws_model_iface *m)
{
	for (size_t i = 0; i < m->n_peers; i++)
		free_peer(&m->peers[i]);
	free(m->peers);
	free(m->name);
	ws_wipe(m, sizeof(*m));   /* the private key, and leaves *m empty */
}

const struct ws_model_peer *ws_model_find_peer(const struct ws_model_iface *m, const char *key)
{
	char canon[WS_KEY_B64_LEN + 1];

	if (canonical_key(canon, key))
		return NULL;
	for (size_t i = 0; i < m->n_peers; i++)
		if (!strcmp(m->peers[i].public_key, canon))
			return &m->peers[i];
	return NULL;
}
