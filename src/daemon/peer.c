/* SPDX-License-Identifier: MIT */
/*
 * Peers of a device: the table by public key, endpoints and packets staged
 * while a handshake runs. Timer hooks are in peer_timers.c, the session
 * slots (previous, current, next) in slots.c.
 * Threads and locks: ctl thread, with dev->lock held for writing to create or
 * remove a peer; ws_peer_stage runs on tx with peer->lock held; the staged
 * packets are flushed on ctl under peer->lock (and dev->lock for reading to
 * seal them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "core/frame.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/send_one.h"
#include "daemon/slots.h"
#include "os/log.h"
#include "os/resolver.h"
#include "os/sockaddr.h"

static unsigned key_hash(const struct ws_device *dev, const uint8_t key[WS_KEY_LEN])
{
	/* Public keys are uniformly random: their first bytes hash well enough. */
	return ws_le32(key) & (dev->peer_hash_size - 1);
}

struct ws_peer *ws_peer_lookup(struct ws_device *dev, const uint8_t public_key[WS_KEY_LEN])
{
	struct ws_peer *p = dev->peer_hash[key_hash(dev, public_key)];

	for (; p; p = p->hash_next)
		if (ws_memeq(p->public_key, public_key, WS_KEY_LEN))
			return p;
	return NULL;
}

/*
 * A peer holds its session keys and the precomputed static DH: it has pages
 * of its own (an anonymous mapping, so no alignment padding), locked before
 * any key is written, so that unlocking it when it goes never unlocks
 * another peer's keys.
 */
static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (size_t)page : 4096;
}

static size_t peer_alloc_size(void)
{
	return (sizeof(struct ws_peer) + page_size() - 1) / page_size() * page_size();
}

static struct ws_peer *peer_alloc(void)
{
	size_t size = peer_alloc_size();
	struct ws_peer *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	ws_mlock(p, size); /* where the limit allows; the mapping starts zeroed */
	return p;
}

/* Wipe, unlock and unmap. */
static void peer_free(struct ws_peer *p)
{
	ws_munlock(p, peer_alloc_size());
	munmap(p, peer_alloc_size());
}

struct ws_peer *ws_peer_create(struct ws_device *dev, const uint8_t public_key[WS_KEY_LEN])
{
	struct ws_peer *p = peer_alloc();
	unsigned h = key_hash(dev, public_key);

	if (!p)
		return NULL;
	if (!ws_handshake_init(&p->hs, &dev->local, public_key)) {
		peer_free(p); /* a low-order public key: no session can ever be made */
		return NULL;
	}
	p->dev = dev;
	memcpy(p->public_key, public_key, WS_KEY_LEN);
	p->hs.owner = p;
	ws_cookie_maker_init(&p->cookie, public_key);
	ws_reliable_tx_init(&p->ctl_tx, WS_RELIABLE_WINDOW);
	ws_reliable_rx_init(&p->ctl_rx, WS_RELIABLE_WINDOW);
	pthread_mutex_init(&p->lock, NULL);
	ws_peer_timers_init(p);
	p->hash_next = dev->peer_hash[h];
	dev->peer_hash[h] = p;
	/* Appended: the list (and `get`, showconf) keeps config order. */
	if (dev->peers_last)
		dev->peers_last->list_next = p;
	else
		dev->peers = p;
	dev->peers_last = p;
	dev->n_peers++;
	return p;
}

static void unlink_peer(struct ws_device *dev, struct ws_peer *peer)
{
	struct ws_peer **pp, *prev = NULL;

	for (pp = &dev->peer_hash[key_hash(dev, peer->public_key)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	for (pp = &dev->peers; *pp; prev = *pp, pp = &(*pp)->list_next)
		if (*pp == peer) {
			*pp = peer->list_next;
			if (dev->peers_last == peer)
				dev->peers_last = prev;
			break;
		}
	dev->n_peers--;
}

void ws_peer_remove(struct ws_device *dev, struct ws_peer *peer)
{
	unlink_peer(dev, peer);
	ws_inbox_forget_peer(&dev->inbox, peer);
	ws_allowedips_remove_by_peer(&dev->aips, peer);
	ws_slots_drop_all(dev, peer);
	ws_handshake_clear(&peer->hs);
	ws_reliable_tx_destroy(&peer->ctl_tx);
	ws_reliable_rx_destroy(&peer->ctl_rx);
	for (unsigned i = 0; i < WS_STAGED_MAX; i++)
		free(peer->staged.data[i]);
	pthread_mutex_destroy(&peer->lock);
	peer_free(peer);
}

/* The endpoint becomes ss; true when that changed it. */
static bool set_addr(struct ws_peer *peer, const struct sockaddr_storage *ss)
{
	bool changed;

	pthread_mutex_lock(&peer->lock);
	changed = !ws_sockaddr_equal(&peer->endpoint, ss);
	peer->endpoint = *ss;
	pthread_mutex_unlock(&peer->lock);
	return changed;
}

int ws_peer_set_endpoint(struct ws_peer *peer, const char *hostport, bool resolve)
{
	struct ws_conf_endpoint e;
	struct sockaddr_storage ss;

	if (strlen(hostport) >= sizeof(peer->endpoint_config) || ws_conf_parse_endpoint(&e, hostport))
		return -EINVAL;
	if (hostport != peer->endpoint_config)
		strcpy(peer->endpoint_config, hostport);
	peer->resolve_gen = 0; /* an answer still on its way is for the old value */
	if (!resolve)
		return 0;
	if (!ws_resolver_numeric(&ss, e.host, e.port)) {
		set_addr(peer, &ss);
		return 0;
	}
	ws_peer_resolve(peer->dev, peer, false);
	return 0;
}

int ws_peer_resolve(struct ws_device *dev, struct ws_peer *peer, bool kick)
{
	struct ws_conf_endpoint e;
	struct sockaddr_storage ss;
	uint64_t gen;
	int ret;

	if (!peer->endpoint_config[0] || ws_conf_parse_endpoint(&e, peer->endpoint_config))
		return 0;
	if (!ws_resolver_numeric(&ss, e.host, e.port)) {
		set_addr(peer, &ss); /* an IP Endpoint: back to the configured address */
		return 0;
	}
	peer->resolve_kick |= kick;
	if (!dev->resolver || peer->resolve_gen)
		return 0; /* ctl starts it when it runs / one lookup at a time */
	gen = ++dev->resolve_gen;
	ret = ws_resolver_submit(dev->resolver, peer->public_key, gen, e.host, e.port);
	if (!ret)
		peer->resolve_gen = gen;
	return ret;
}

bool ws_peer_resolve_all(struct ws_device *dev)
{
	bool full = false;

	for (struct ws_peer *p = dev->peers; p; p = p->list_next) {
		bool known;

		pthread_mutex_lock(&p->lock);
		known = p->endpoint.ss_family != AF_UNSPEC;
		pthread_mutex_unlock(&p->lock);
		if (!known && ws_peer_resolve(dev, p, false) == -EAGAIN)
			full = true;
	}
	return full;
}

static const char *resolve_error(int err)
{
	if (err == -EAGAIN)
		return "no answer from DNS";
	if (err == -EHOSTUNREACH)
		return "no such name, or no address of a usable family";
	return strerror(-err);
}

_Static_assert((int)WS_RESOLVER_ID_LEN == (int)WS_KEY_LEN, "requests are keyed by public key");

struct ws_peer *ws_peer_resolved(struct ws_device *dev, const struct ws_resolver_answer *a, uint64_t now)
{
	struct ws_peer *p = ws_peer_lookup(dev, a->id);
	char name[WS_KEY_B64_LEN + 1], ep[80];
	bool changed, live, kick;

	if (!p || !p->resolve_gen || p->resolve_gen != a->gen)
		return NULL; /* the peer is gone, or its endpoint was set again since */
	p->resolve_gen = 0;
	kick = p->resolve_kick;
	p->resolve_kick = false;
	ws_key_to_base64(name, p->public_key);
	if (a->err) {
		ws_warn("peer %s: cannot resolve endpoint %s: %s", name, p->endpoint_config,
			resolve_error(a->err));
		return NULL;
	}
	changed = set_addr(p, &a->addr);
	if (!changed)
		return NULL;
	ws_sockaddr_format(ep, sizeof(ep), &a->addr);
	ws_info("peer %s: endpoint %s resolved to %s", name, p->endpoint_config, ep);
	pthread_mutex_lock(&p->lock);
	live = ws_timers_live(&p->timers, now);
	kick = kick || (!live && (p->want_handshake || p->keepalive_interval));
	pthread_mutex_unlock(&p->lock);
	return kick ? p : NULL;
}

void ws_peer_stage(struct ws_peer *peer, const uint8_t *pkt, size_t len)
{
	struct ws_staged *st = &peer->staged;
	unsigned tail;
	uint8_t *copy;

	if (len > UINT16_MAX)
		return;
	if (st->count == WS_STAGED_MAX) { /* the oldest goes, as in WireGuard */
		free(st->data[st->head]);
		st->data[st->head] = NULL;
		st->head = (st->head + 1) % WS_STAGED_MAX;
		st->count--;
	}
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, pkt, len);
	tail = (st->head + st->count) % WS_STAGED_MAX;
	st->data[tail] = copy;
	st->len[tail] = (uint16_t)len;
	st->count++;
}

void ws_peer_flush_staged(struct ws_device *dev, struct ws_peer *peer)
{
	uint8_t frame[WS_INBOX_DATA];

	for (;;) {
		uint8_t *pkt = NULL;
		uint16_t len = 0;
		size_t hl;

		pthread_mutex_lock(&peer->lock);
		if (peer->staged.count) {
			pkt = peer->staged.data[peer->staged.head];
			len = peer->staged.len[peer->staged.head];
			peer->staged.data[peer->staged.head] = NULL;
			peer->staged.head = (peer->staged.head + 1) % WS_STAGED_MAX;
			peer->staged.count--;
		}
		peer->want_handshake = false;
		pthread_mutex_unlock(&peer->lock);
		if (!pkt)
			return;
		hl = ws_frame_head_len(len);
		if (hl + len <= sizeof(frame)) {
			memcpy(frame + hl, pkt, len);
			ws_frame_write_head(frame + hl, WS_CHANNEL_DATA, WS_EVENT_IP_PACKET, len);
			pthread_rwlock_rdlock(&dev->lock);
			ws_send_one_frame(dev, peer, WS_MSG_DATA, frame, hl + len);
			pthread_rwlock_unlock(&dev->lock);
		}
		free(pkt);
	}
}
