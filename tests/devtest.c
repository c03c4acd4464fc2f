/* SPDX-License-Identifier: MIT */
/* A device and a remote side for unit tests of the ctl-thread code (devtest.h). */
#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto.h"
#include "devtest.h"
#include "test.h"

static int udp_socket(struct sockaddr_storage *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	if (bound) {
		memset(bound, 0, sizeof(*bound));
		memcpy(bound, &a, sizeof(a));
	}
	return fd;
}

void wt_dev_up(struct ws_device *dev, struct sockaddr_storage *addr)
{
	uint8_t priv[32];

	memset(dev, 0, sizeof(*dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(dev, priv), 0);
	dev->udp.fd[WS_UDP_SOCK6] = -1;
	dev->udp.fd[WS_UDP_SOCK4] = udp_socket(addr);
	dev->tun_fd = -1;
	dev->mtu = 1400;
	dev->max_packet_size = 1445;
}

void wt_dev_down(struct ws_device *dev)
{
	while (dev->peers)
		ws_peer_remove(dev, dev->peers);
	free(dev->peer_hash);
	ws_allowedips_free(&dev->aips);
	ws_index_free(&dev->index);
	ws_ratelimit_free(&dev->ratelimit);
	ws_inbox_destroy(&dev->inbox);
	pthread_rwlock_destroy(&dev->lock);
	close(dev->udp.fd[WS_UDP_SOCK4]);
}

void wt_remote_up(struct ws_device *dev, struct wt_remote *r)
{
	uint8_t priv[32];

	memset(r, 0, sizeof(*r));
	ws_x25519_genkey(priv);
	CU_ASSERT_FATAL(ws_noise_local_init(&r->local, priv));
	CU_ASSERT_FATAL(ws_handshake_init(&r->hs, &r->local, dev->local.public_key));
	ws_cookie_maker_init(&r->cookie, dev->local.public_key);
	r->fd = udp_socket(&r->addr);
	pthread_rwlock_wrlock(&dev->lock);
	r->peer = ws_peer_create(dev, r->local.public_key);
	pthread_rwlock_unlock(&dev->lock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->peer);
	r->peer->endpoint = r->addr;
}

void wt_remote_down(struct wt_remote *r)
{
	close(r->fd);
}

void wt_session_up(struct ws_device *dev, struct wt_remote *r, uint64_t now)
{
	struct ws_peer *p = r->peer;
	struct ws_noise_keys keys = {.remote_index = 0x2000};
	struct sockaddr_storage ep = p->endpoint;
	struct ws_slot *slot;
	bool had_live;

	ws_random(keys.send, sizeof(keys.send));
	ws_random(keys.recv, sizeof(keys.recv));
	slot = ws_slots_reserve(dev, p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	keys.local_index = slot->entry.index;
	ws_slots_install(dev, p, slot, &keys, &ep, now, &had_live);
	ws_session_init(&r->s, keys.recv, keys.send, 0x2000, slot->s.local_index, true, now);
	ws_wipe(&keys, sizeof(keys));
}

ssize_t wt_recv(struct wt_remote *r, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	return recv(r->fd, buf, cap, MSG_DONTWAIT);
}

ssize_t wt_recv_frame(struct wt_remote *r, uint8_t *frame, size_t cap, int timeout_ms)
{
	uint8_t pkt[2048], *plain;
	struct ws_transport_hdr hdr;
	size_t plain_len;
	ssize_t n;

	while ((n = wt_recv(r, pkt, sizeof(pkt), timeout_ms)) >= 0) {
		if (ws_transport_parse(pkt, (size_t)n, &hdr) || hdr.type != WS_MSG_DATA ||
		    ws_session_open(&r->s, pkt, (size_t)n, &hdr, &plain, &plain_len) || plain_len > cap)
			continue;
		memcpy(frame, plain, plain_len);
		return (ssize_t)plain_len;
	}
	return -1;
}

void wt_inbox_msg(struct ws_inbox_msg *m, const struct wt_remote *r, const void *data, size_t len)
{
	memset(m, 0, offsetof(struct ws_inbox_msg, data));
	m->kind = WS_INBOX_HANDSHAKE;
	m->addr = r->addr;
	m->len = (uint16_t)len;
	memcpy(m->data, data, len);
}

void wt_fill_inbox(struct ws_device *dev, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_FATAL(ws_inbox_push(&dev->inbox, WS_INBOX_WAKE, NULL, NULL, NULL, NULL, 0));
}

void wt_drain_inbox(struct ws_device *dev)
{
	static struct ws_inbox_msg m;

	while (ws_inbox_pop(&dev->inbox, &m))
		;
}
