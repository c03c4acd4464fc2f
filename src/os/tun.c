/* SPDX-License-Identifier: MIT */
/* TUN device: open, per-packet and batched non-blocking read/write. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "os/tun.h"

enum { RETRY_EINTR = 8 };

static const char tun_path[] = "/dev/net/tun";

static int tun_fill_ifreq(struct ifreq *ifr, const char *name, int flags)
{
	size_t n = name ? strlen(name) : 0;

	if (flags & ~WS_TUN_FLAGS_ALLOWED || n >= IFNAMSIZ)
		return -EINVAL;
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = (short)(IFF_TUN | IFF_NO_PI | flags);
	memcpy(ifr->ifr_name, name ? name : "", n);
	return 0;
}

int ws_tun_open(const char *name, char ifname_out[IFNAMSIZ], int flags)
{
	struct ifreq ifr;
	int fd, ret = tun_fill_ifreq(&ifr, name, flags);

	if (ret < 0)
		return ret;
	fd = open(tun_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (ifname_out) {
		memcpy(ifname_out, ifr.ifr_name, IFNAMSIZ);
		ifname_out[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

int ws_tun_open_queues(const char *name, char ifname_out[IFNAMSIZ], int flags,
		       int *fds, int n)
{
	char actual[IFNAMSIZ];
	int i, fd;

	if (!fds || n < 1 || n > WS_TUN_MAX_QUEUES)
		return -EINVAL;
	flags |= WS_TUN_MULTI_QUEUE;
	/* The first queue creates the device (and fixes the name when the
	 * kernel picks it); the others attach to it by that name. */
	for (i = 0; i < n; i++) {
		fd = ws_tun_open(i ? actual : name, i ? NULL : actual, flags);
		if (fd < 0)
			goto fail;
		fds[i] = fd;
	}
	if (ifname_out)
		memcpy(ifname_out, actual, IFNAMSIZ);
	return 0;
fail:
	while (i-- > 0) {
		close(fds[i]);
		fds[i] = -1;
	}
	return fd;
}

int ws_tun_set_offload(int fd, unsigned int offloads, int hdr_len)
{
	if (hdr_len && ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return -errno;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0)
		return -errno;
	return 0;
}

ssize_t ws_tun_read(int fd, void *buf, size_t len)
{
	for (int i = 0; i < RETRY_EINTR; i++) {
		ssize_t r = read(fd, buf, len);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

ssize_t ws_tun_write(int fd, const void *buf, size_t len)
{
	for (int i = 0; i < RETRY_EINTR; i++) {
		ssize_t r = write(fd, buf, len);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

int ws_tun_read_batch(int fd, struct ws_iobuf *bufs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ssize_t r = ws_tun_read(fd, bufs[i].data, bufs[i].cap);

		if (r < 0)
			return (i || r == -EAGAIN) ? i : (int)r;
		bufs[i].len = (uint32_t)r;
	}
	return i;
}

/* Errors that concern one packet only: drop it and go on with the rest. */
static int tun_packet_error(ssize_t err)
{
	return err == -EINVAL || err == -EMSGSIZE || err == -ENOBUFS ||
	       err == -ENOMEM;
}

int ws_tun_write_batch(int fd, const struct ws_iobuf *bufs, int n,
		       unsigned int *dropped)
{
	int i;

	for (i = 0; i < n; i++) {
		ssize_t r = ws_tun_write(fd, bufs[i].data, bufs[i].len);

		if (r >= 0)
			continue;
		if (tun_packet_error(r)) {
			if (dropped)
				(*dropped)++;
			continue;
		}
		return (i || r == -EAGAIN) ? i : (int)r;
	}
	return i;
}

void ws_tun_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
