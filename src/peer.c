/* SPDX-License-Identifier: MIT */
/*
 * Peers of a device: the table by public key, session slots (previous,
 * current, next), endpoints and packets staged while a handshake runs.
 * Timer hooks are in peer_timers.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto.h"
#include "device.h"
#include "log.h"
#include "sockaddr.h"

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
	p->list_next = dev->peers;
	dev->peers = p;
	dev->n_peers++;
	return p;
}

static void unlink_peer(struct ws_device *dev, struct ws_peer *peer)
{
	struct ws_peer **pp;

	for (pp = &dev->peer_hash[key_hash(dev, peer->public_key)]; *pp; pp = &(*pp)->hash_next)
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	for (pp = &dev->peers; *pp; pp = &(*pp)->list_next)
		if (*pp == peer) {
			*pp = peer->list_next;
			break;
		}
	dev->n_peers--;
}

void ws_peer_remove(struct ws_device *dev, struct ws_peer *peer)
{
	unlink_peer(dev, peer);
	ws_inbox_forget_peer(&dev->inbox, peer);
	ws_allowedips_remove_by_peer(&dev->aips, peer);
	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER; i++)
		if (peer->slots[i].used)
			ws_peer_slot_free(peer, &peer->slots[i]);
	if (peer->hs_entry.registered)
		ws_index_remove(&dev->index, peer->hs_entry.index);
	ws_handshake_clear(&peer->hs);
	ws_reliable_tx_destroy(&peer->ctl_tx);
	ws_reliable_rx_destroy(&peer->ctl_rx);
	for (unsigned i = 0; i < WS_STAGED_MAX; i++)
		free(peer->staged.data[i]);
	pthread_mutex_destroy(&peer->lock);
	peer_free(peer);
}

int ws_peer_set_endpoint(struct ws_peer *peer, const char *hostport, bool resolve)
{
	struct sockaddr_storage ss;
	char name[WS_KEY_B64_LEN + 1];
	int ret;

	if (strlen(hostport) >= sizeof(peer->endpoint_config))
		return -EINVAL;
	strcpy(peer->endpoint_config, hostport);
	if (!resolve)
		return 0;
	ret = ws_sockaddr_resolve(&ss, hostport);
	if (ret == -EINVAL)
		return ret;
	if (ret) {
		/* Not fatal: a roaming client may start offline; it retries before each handshake. */
		ws_key_to_base64(name, peer->public_key);
		ws_warn("peer %s: cannot resolve endpoint %s yet", name, hostport);
		return 0;
	}
	pthread_mutex_lock(&peer->lock);
	peer->endpoint = ss;
	pthread_mutex_unlock(&peer->lock);
	return 0;
}

struct ws_slot *ws_peer_slot_alloc(struct ws_peer *peer)
{
	struct ws_slot *slot = NULL;

	for (unsigned i = 0; i < WS_MAX_SESSIONS_PER_PEER && !slot; i++)
		if (!peer->slots[i].used)
			slot = &peer->slots[i];
	if (!slot) {
		/* All three in use: the previous session goes first, then the unconfirmed next. */
		slot = peer->prev ? peer->prev : peer->next ? peer->next : peer->cur;
		ws_peer_slot_free(peer, slot);
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	return slot;
}

void ws_peer_slot_free(struct ws_peer *peer, struct ws_slot *slot)
{
	if (slot->entry.registered)
		ws_index_remove(&peer->dev->index, slot->entry.index);
	slot->entry.registered = false;
	ws_reassembler_free(&slot->reasm);
	ws_session_wipe(&slot->s);
	if (peer->prev == slot)
		peer->prev = NULL;
	if (peer->cur == slot)
		peer->cur = NULL;
	if (peer->next == slot)
		peer->next = NULL;
	slot->used = false;
	atomic_store(&slot->dead, false);
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
