/* SPDX-License-Identifier: MIT */
/*
 * Device life cycle: open TUN and UDP, start the pipeline threads, stop, wipe.
 * Threads and locks: wsd's main (ctl) thread, before the pipeline threads start
 * and after they stopped, so no lock is taken; ws_device_set_fwmark runs on ctl
 * while they run (the socket option needs none).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/offload.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/rx.h"
#include "daemon/tx.h"
#include "os/clock.h"
#include "os/log.h"
#include "os/netlink.h"

#ifdef TUN_F_USO4
#define WS_TUN_F_USO4 TUN_F_USO4
#define WS_TUN_F_USO6 TUN_F_USO6
#else /* headers older than Linux 6.2 */
#define WS_TUN_F_USO4 0x20
#define WS_TUN_F_USO6 0x40
#endif
#include "os/tun.h"

int ws_device_init_tables(struct ws_device *dev, const uint8_t private_key[32])
{
	uint8_t rl_key[WS_RATELIMIT_KEY_LEN];
	pthread_rwlockattr_t attr;
	int ret;

	if (!ws_noise_local_init(&dev->local, private_key))
		return -EINVAL;
	ws_cookie_checker_init(&dev->cookie_checker, dev->local.public_key, ws_now_ns());
	ws_random(rl_key, sizeof(rl_key));
	ret = ws_ratelimit_init(&dev->ratelimit, 0, rl_key);
	if (ret)
		return ret;
	ws_allowedips_init(&dev->aips);
	ret = ws_index_init(&dev->index);
	if (ret)
		return ret;
	dev->peer_hash_size = 1024;
	dev->peer_hash = calloc(dev->peer_hash_size, sizeof(*dev->peer_hash));
	if (!dev->peer_hash)
		return -ENOMEM;
	ws_frag_budget_init(&dev->frag_budget, WS_MAX_REASSEMBLY_PER_DAEMON);
	/* Writers (ctl) must not starve behind the two pipeline threads. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return ws_inbox_init(&dev->inbox);
}

/*
 * Open the TUN device, with TSO/checksum offloads when asked for and the
 * kernel takes them (then reads carry TCP super-packets and writes may carry
 * coalesced ones, each behind a virtio-net header).
 */
static int open_tun(struct ws_device *dev, const char *ifname, bool offloads)
{
	int fd;

	if (offloads) {
		const unsigned tso = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

		fd = ws_tun_open(ifname, dev->ifname, WS_TUN_VNET_HDR);
		/* UDP segmentation (Linux 6.2+) lets received UDP be written coalesced too. */
		if (fd >= 0 && ws_tun_set_offload(fd, tso | WS_TUN_F_USO4 | WS_TUN_F_USO6,
						  WS_VNET_HDR_LEN) == 0) {
			dev->vnet = dev->uso = true;
			return fd;
		}
		if (fd >= 0 && ws_tun_set_offload(fd, tso, WS_VNET_HDR_LEN) == 0) {
			dev->vnet = true;
			return fd;
		}
		if (fd >= 0)
			ws_tun_close(fd);
		ws_warn("%s: TUN offloads unavailable, using plain packets", ifname);
	}
	return ws_tun_open(ifname, dev->ifname, 0);
}

/* Fields, keys and tables: the first step of both ways to set a device up. */
static int device_prepare(struct ws_device *dev, const uint8_t private_key[32], uint16_t mtu,
			  uint16_t max_packet_size, unsigned n_workers)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->tun_fd = dev->stop_efd = -1;
	dev->udp.fd[0] = dev->udp.fd[1] = -1;
	dev->mtu = mtu;
	dev->max_packet_size = max_packet_size;
	dev->n_workers = n_workers ? n_workers : 1;
	/* The private key and the cookie secret (peers lock their own keys):
	 * out of swap, locked before they are written. */
	ws_mlock(&dev->local, sizeof(dev->local));
	ws_mlock(&dev->cookie_checker, sizeof(dev->cookie_checker));
	ret = ws_device_init_tables(dev, private_key);
	/* Keys live in dev->local and in every peer's slots: keep them out of swap. */
	if (!ret)
		ws_mlock(&dev->local, sizeof(dev->local));
	return ret;
}

/* The UDP endpoint and the stop event: the last step of both. */
static int device_finish(struct ws_device *dev, uint16_t listen_port, uint32_t fwmark)
{
	int ret = ws_udp_open(&dev->udp, listen_port, fwmark, 0);

	if (ret) {
		ws_err("cannot open UDP port %u: %s", listen_port, strerror(-ret));
		return ret;
	}
	dev->listen_port = dev->udp.port;
	dev->fwmark = fwmark;
	dev->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->stop_efd < 0)
		return -errno;
	return 0;
}

int ws_device_init(struct ws_device *dev, const char *ifname, const uint8_t private_key[32],
		   uint16_t listen_port, uint32_t fwmark, uint16_t mtu, uint16_t max_packet_size,
		   unsigned n_workers, bool offloads)
{
	int ret = device_prepare(dev, private_key, mtu, max_packet_size, n_workers);

	if (ret)
		return ret;
	ret = open_tun(dev, ifname, offloads);
	if (ret < 0) {
		ws_err("cannot create TUN interface %s: %s", ifname, strerror(-ret));
		return ret;
	}
	dev->tun_fd = ret;
	/* The MTU the pipeline is sized for; wsup sets the same one. */
	ret = ws_nl_link_index(dev->ifname);
	if (ret > 0)
		ret = ws_nl_link_set_mtu(ret, mtu);
	if (ret < 0)
		ws_warn("%s: cannot set MTU %u: %s", dev->ifname, mtu, strerror(-ret));
	return device_finish(dev, listen_port, fwmark);
}

int ws_device_init_fd(struct ws_device *dev, const char *name, int tun_fd, unsigned tun_flags,
		      const uint8_t private_key[32], uint16_t listen_port, uint16_t mtu,
		      uint16_t max_packet_size, unsigned n_workers)
{
	int ret = device_prepare(dev, private_key, mtu, max_packet_size, n_workers);

	dev->tun_fd = tun_fd; /* ours from here on, also on failure */
	if (ret)
		return ret;
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", name);
	dev->vnet = tun_flags & WS_DEVICE_TUN_VNET;
	dev->uso = dev->vnet && (tun_flags & WS_DEVICE_TUN_USO);
	return device_finish(dev, listen_port, 0);
}

int ws_device_start(struct ws_device *dev)
{
	int ret;

	/* The pipeline thread is one worker; the pool adds the rest. */
	ret = ws_workers_init(&dev->tx_workers, dev->n_workers - 1);
	if (!ret)
		ret = ws_workers_init(&dev->rx_workers, dev->n_workers - 1);
	if (ret)
		return ret;
	if (pthread_create(&dev->tx_thread, NULL, ws_tx_thread, dev))
		return -EAGAIN;
	if (pthread_create(&dev->rx_thread, NULL, ws_rx_thread, dev)) {
		ws_device_stop(dev);
		return -EAGAIN;
	}
	return 0;
}

void ws_device_stop(struct ws_device *dev)
{
	uint64_t one = 1;

	if (atomic_exchange(&dev->stopping, true))
		return;
	if (write(dev->stop_efd, &one, sizeof(one)) < 0)
		ws_warn("cannot wake the pipeline threads: %s", strerror(errno));
	if (dev->tx_thread)
		pthread_join(dev->tx_thread, NULL);
	if (dev->rx_thread)
		pthread_join(dev->rx_thread, NULL);
	ws_workers_destroy(&dev->tx_workers);
	ws_workers_destroy(&dev->rx_workers);
}

void ws_device_destroy(struct ws_device *dev)
{
	while (dev->peers)
		ws_peer_remove(dev, dev->peers);
	free(dev->peer_hash);
	ws_allowedips_free(&dev->aips);
	ws_index_free(&dev->index);
	ws_ratelimit_free(&dev->ratelimit);
	ws_inbox_destroy(&dev->inbox);
	ws_udp_close(&dev->udp);
	if (dev->tun_fd >= 0)
		ws_tun_close(dev->tun_fd);
	if (dev->stop_efd >= 0)
		close(dev->stop_efd);
	ws_noise_local_clear(&dev->local);
	ws_munlock(&dev->local, sizeof(dev->local));        /* wipes too */
	ws_munlock(&dev->cookie_checker, sizeof(dev->cookie_checker));
	pthread_rwlock_destroy(&dev->lock);
}

int ws_device_set_fwmark(struct ws_device *dev, uint32_t fwmark)
{
	int ret = ws_udp_set_mark(&dev->udp, fwmark);

	if (!ret)
		dev->fwmark = fwmark;
	return ret;
}
