/* SPDX-License-Identifier: MIT */
/*
 * Requests on the control socket (docs/control-socket.md), served on the ctl
 * thread: get (the state `ws show` prints) and set (interface and peers at
 * run time, without touching the sessions of other peers). No I/O here:
 * ipc_clients.c reads the request and writes the reply.
 * Threads and locks: ctl thread; dev->lock for writing to change peers and
 * allowed IPs, for reading to seal a Disconnect; peer->lock for endpoints and
 * timers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "core/ipc.h"
#include "daemon/ctlchan.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send_one.h"
#include "daemon/ipc_requests.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/sockaddr.h"

static int put_allowed_ip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct ws_conf_prefix p = {.family = family, .cidr = cidr};
	char buf[WS_CONF_PREFIX_STRLEN];

	memcpy(p.addr, addr, family == AF_INET ? 4 : 16);
	ws_ipc_put(ctx, "allowed_ip", "%s", ws_conf_format_prefix(buf, &p));
	return 0;
}

static void get_peer(struct ws_device *dev, struct ws_peer *p, struct ws_ipc_buf *b, uint64_t now)
{
	char key[WS_KEY_B64_LEN + 1], ep[80];
	struct sockaddr_storage endpoint;
	unsigned sessions = 0;
	bool connected;

	pthread_mutex_lock(&p->lock);
	endpoint = p->endpoint;
	connected = ws_peer_connected(p, now);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
		sessions += p->slots[i].used;
	ws_key_to_base64(key, p->public_key);
	ws_ipc_put(b, "public_key", "%s", key);
	if (endpoint.ss_family != AF_UNSPEC) {
		ws_sockaddr_format(ep, sizeof(ep), &endpoint);
		ws_ipc_put(b, "endpoint", "%s", ep);
	}
	if (p->endpoint_config[0])
		ws_ipc_put(b, "endpoint_config", "%s", p->endpoint_config);
	ws_ipc_put(b, "persistent_keepalive_interval", "%u", p->keepalive_interval);
	ws_ipc_put(b, "last_handshake_time_sec", "%llu",
		   (unsigned long long)(p->last_handshake_unix_ns / WS_NSEC_PER_SEC));
	ws_ipc_put(b, "last_handshake_time_nsec", "%llu",
		   (unsigned long long)(p->last_handshake_unix_ns % WS_NSEC_PER_SEC));
	ws_ipc_put(b, "rx_bytes", "%llu", (unsigned long long)atomic_load(&p->stats.rx_bytes));
	ws_ipc_put(b, "tx_bytes", "%llu", (unsigned long long)atomic_load(&p->stats.tx_bytes));
	ws_ipc_put(b, "rx_packets", "%llu", (unsigned long long)atomic_load(&p->stats.rx_packets));
	ws_ipc_put(b, "tx_packets", "%llu", (unsigned long long)atomic_load(&p->stats.tx_packets));
	ws_ipc_put(b, "rx_dropped", "%llu", (unsigned long long)atomic_load(&p->stats.rx_dropped));
	if (p->rtt_ns)
		ws_ipc_put(b, "rtt_us", "%llu", (unsigned long long)(p->rtt_ns / 1000));
	ws_ipc_put(b, "connected", "%s", connected ? "true" : "false");
	ws_ipc_put(b, "sessions", "%u", sessions);
	ws_ipc_put(b, "channel", "0:control");
	ws_ipc_put(b, "channel", "1:data");
	ws_ipc_put(b, "ctl_tx", "%llu", (unsigned long long)p->ctl_tx_count);
	ws_ipc_put(b, "ctl_rx", "%llu", (unsigned long long)p->ctl_rx_count);
	ws_ipc_put(b, "ctl_retransmits", "%llu", (unsigned long long)p->ctl_retransmits);
	ws_ipc_put(b, "ctl_resets", "%llu", (unsigned long long)p->ctl_resets);
	ws_ipc_put(b, "handshakes_initiated", "%llu", (unsigned long long)p->handshakes_initiated);
	ws_ipc_put(b, "handshakes_completed", "%llu", (unsigned long long)p->handshakes_completed);
	ws_allowedips_walk_peer(&dev->aips, p, put_allowed_ip, b);
}

#define DROP(name) { #name, offsetof(struct ws_device_stats, name) }
/* The named drop counters, in the order `get` answers them. */
static const struct {
	const char *key;
	size_t off;
} drops[] = {
	DROP(drop_rx_replay), DROP(drop_rx_decrypt), DROP(drop_rx_bad_frame),
	DROP(drop_rx_unknown_channel), DROP(drop_rx_unknown_event), DROP(drop_rx_source),
	DROP(drop_rx_reassembly), DROP(drop_rx_tun_refused), DROP(drop_tx_bad_packet),
	DROP(drop_tx_too_big), DROP(drop_tx_staging_full), DROP(drop_tx_send_failed),
};
#undef DROP

static void put_drops(struct ws_device *dev, struct ws_ipc_buf *b)
{
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		_Atomic uint64_t *c = (_Atomic uint64_t *)((char *)&dev->stats + drops[i].off);

		ws_ipc_put(b, drops[i].key, "%llu", (unsigned long long)atomic_load_explicit(c, memory_order_relaxed));
	}
}

static void do_get(struct ws_device *dev, struct ws_ipc_buf *b)
{
	char key[WS_KEY_B64_LEN + 1];
	uint64_t now = ws_now_ns();

	ws_ipc_put(b, "interface", "%s", dev->ifname);
	ws_key_to_base64(key, dev->local.private_key);
	ws_ipc_put(b, "private_key", "%s", key);
	ws_wipe(key, sizeof(key));
	ws_key_to_base64(key, dev->local.public_key);
	ws_ipc_put(b, "public_key", "%s", key);
	ws_ipc_put(b, "listen_port", "%u", dev->listen_port);
	ws_ipc_put(b, "fwmark", "%u", dev->fwmark);
	ws_ipc_put(b, "mtu", "%u", dev->mtu);
	ws_ipc_put(b, "max_packet_size", "%u", dev->max_packet_size);
	ws_ipc_put(b, "workers", "%u", dev->n_workers);
	ws_ipc_put(b, "handshake_queue", "%u", ws_inbox_count(&dev->inbox));
	ws_ipc_put(b, "cookie_replies_sent", "%llu",
		   (unsigned long long)atomic_load(&dev->stats.cookie_replies_sent));
	ws_ipc_put(b, "handshakes_rate_limited", "%llu",
		   (unsigned long long)atomic_load(&dev->stats.handshakes_rate_limited));
	ws_ipc_put(b, "inbox_dropped", "%llu", (unsigned long long)atomic_load(&dev->inbox.dropped));
	ws_ipc_put(b, "tx_no_route", "%llu", (unsigned long long)atomic_load(&dev->stats.tx_no_route));
	ws_ipc_put(b, "tx_no_session", "%llu", (unsigned long long)atomic_load(&dev->stats.tx_no_session));
	ws_ipc_put(b, "tx_loop_dropped", "%llu", (unsigned long long)atomic_load(&dev->stats.tx_loop_dropped));
	ws_ipc_put(b, "rx_unknown_index", "%llu",
		   (unsigned long long)atomic_load(&dev->stats.rx_unknown_index));
	ws_ipc_put(b, "rx_bad_packet", "%llu", (unsigned long long)atomic_load(&dev->stats.rx_bad_packet));
	put_drops(dev, b);
	for (struct ws_peer *p = dev->peers; p; p = p->list_next)
		get_peer(dev, p, b, now);
}

struct set_ctx {
	struct ws_device *dev;
	struct ws_peer *peer;
	bool peer_created;          /* by this block: undone by update_only */
	bool replace_peers;
	uint8_t (*named)[WS_KEY_LEN];
	size_t n_named, cap_named;
	bool first;
};

static int set_interface(struct set_ctx *c, const char *key, const char *value)
{
	uint32_t u;

	if (!strcmp(key, "fwmark")) {
		if (ws_conf_parse_fwmark(&u, value))
			return -EINVAL;
		return ws_device_set_fwmark(c->dev, u);
	}
	if (!strcmp(key, "listen_port")) {
		uint16_t port;

		if (ws_conf_parse_port(&port, value))
			return -EINVAL;
		return port == c->dev->listen_port ? 0 : -EOPNOTSUPP;
	}
	if (!strcmp(key, "replace_peers")) {
		c->replace_peers = !strcmp(value, "true");
		return 0;
	}
	return -EINVAL;
}

static int begin_peer(struct set_ctx *c, const char *value)
{
	uint8_t key[WS_KEY_LEN];

	if (ws_key_from_base64(key, value))
		return -EINVAL;
	if (c->n_named == c->cap_named) {
		size_t cap = c->cap_named ? 2 * c->cap_named : 16;
		void *n = realloc(c->named, cap * sizeof(*c->named));

		if (!n)
			return -ENOMEM;
		c->named = n;
		c->cap_named = cap;
	}
	memcpy(c->named[c->n_named++], key, WS_KEY_LEN);
	c->peer = ws_peer_lookup(c->dev, key);
	c->peer_created = false;
	if (!c->peer) {
		if (!memcmp(key, c->dev->local.public_key, WS_KEY_LEN))
			return -EINVAL; /* ourselves */
		pthread_rwlock_wrlock(&c->dev->lock);
		c->peer = ws_peer_create(c->dev, key);
		pthread_rwlock_unlock(&c->dev->lock);
		if (!c->peer)
			return -ENOMEM;
		c->peer_created = true;
	}
	return 0;
}

static void remove_peer(struct ws_device *dev, struct ws_peer *p)
{
	if (p->cur) {
		ws_ctlchan_goodbye(dev, p, 1);
		pthread_rwlock_rdlock(&dev->lock);
		ws_send_one_frame(dev, p, WS_MSG_DISCONNECT, NULL, 0);
		pthread_rwlock_unlock(&dev->lock);
	}
	pthread_rwlock_wrlock(&dev->lock);
	ws_peer_remove(dev, p);
	pthread_rwlock_unlock(&dev->lock);
}

static int set_peer(struct set_ctx *c, const char *key, const char *value)
{
	struct ws_device *dev = c->dev;
	struct ws_peer *p = c->peer;

	if (!p)
		return 0; /* removed earlier in this block */
	if (!strcmp(key, "update_only")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		if (c->peer_created) {
			remove_peer(dev, p);
			c->peer = NULL;
			return -ENOENT;
		}
		return 0;
	}
	if (!strcmp(key, "remove")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		remove_peer(dev, p);
		c->peer = NULL;
		return 0;
	}
	if (!strcmp(key, "endpoint"))
		return ws_peer_set_endpoint(p, value, true);
	if (!strcmp(key, "persistent_keepalive_interval")) {
		uint16_t secs;

		if (ws_conf_parse_keepalive(&secs, value))
			return -EINVAL;
		pthread_mutex_lock(&p->lock);
		ws_peer_set_keepalive(p, secs, ws_now_ns());
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if (!strcmp(key, "replace_allowed_ips")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		pthread_rwlock_wrlock(&dev->lock);
		ws_allowedips_remove_by_peer(&dev->aips, p);
		pthread_rwlock_unlock(&dev->lock);
		return 0;
	}
	if (!strcmp(key, "allowed_ip")) {
		struct ws_conf_prefix pfx;
		int ret;

		if (ws_conf_parse_prefix(&pfx, value, WS_CONF_PREFIX_MASK))
			return -EINVAL;
		pthread_rwlock_wrlock(&dev->lock);
		ret = ws_allowedips_insert(&dev->aips, pfx.family, pfx.addr, pfx.cidr, p);
		pthread_rwlock_unlock(&dev->lock);
		return ret;
	}
	return -EINVAL;
}

static int set_line(void *ctx, const char *key, const char *value)
{
	struct set_ctx *c = ctx;

	if (c->first) {
		c->first = false;
		return !strcmp(key, "set") && !strcmp(value, "1") ? 0 : -EPROTO;
	}
	if (!strcmp(key, "public_key"))
		return begin_peer(c, value);
	if (!c->n_named)
		return set_interface(c, key, value);
	return set_peer(c, key, value);
}

static void drop_unnamed(struct set_ctx *c)
{
	struct ws_peer *p = c->dev->peers, *next;

	for (; p; p = next) {
		bool named = false;

		next = p->list_next;
		for (size_t i = 0; i < c->n_named && !named; i++)
			named = !memcmp(c->named[i], p->public_key, WS_KEY_LEN);
		if (!named)
			remove_peer(c->dev, p);
	}
}

static int get_line(void *ctx, const char *key, const char *value)
{
	bool *first = ctx;

	if (!*first)
		return -EINVAL;
	*first = false;
	return !strcmp(key, "get") && !strcmp(value, "1") ? 0 : -EPROTO;
}

void ws_ipc_requests_exec(struct ws_device *dev, char *req, ssize_t n, struct ws_ipc_buf *out)
{
	int ret;

	ws_ipc_buf_init(out);
	if (n < 0) {
		ret = (int)n;
	} else if (!strncmp(req, "get=", 4)) {
		bool first = true;

		ret = ws_ipc_parse(req, (size_t)n, get_line, &first);
		if (!ret)
			do_get(dev, out);
	} else {
		struct set_ctx c = {.dev = dev, .first = true};

		ret = ws_ipc_parse(req, (size_t)n, set_line, &c);
		if (!ret && c.replace_peers)
			drop_unnamed(&c);
		free(c.named);
	}
	if (out->overflow) {
		ret = -EMSGSIZE;
		ws_ipc_buf_free(out); /* wiped: it held the private key */
	}
	ws_ipc_put(out, "errno", "%d", -ret);
	ws_ipc_end(out);
}
