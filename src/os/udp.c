/* SPDX-License-Identifier: MIT */
/* UDP endpoint: dual-stack (or split) sockets, recvmmsg/sendmmsg batches. */
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "os/udp.h"

enum { RETRY_EINTR = 8 };

/* ---- opening ------------------------------------------------------------ */

static int udp_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* Ask for `bytes`, bypassing rmem_max/wmem_max when we hold CAP_NET_ADMIN;
 * returns what the kernel actually granted (it reports double). */
static int udp_raise_buf(int fd, int force_opt, int opt, int bytes)
{
	socklen_t len = sizeof(int);
	int got = 0;

	if (udp_set_int(fd, SOL_SOCKET, force_opt, bytes) < 0)
		(void)udp_set_int(fd, SOL_SOCKET, opt, bytes); /* best effort */
	if (getsockopt(fd, SOL_SOCKET, opt, &got, &len) < 0)
		return -errno;
	return got;
}

static int udp_socket(struct ws_udp *u, int family, int v6only)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		ret = udp_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
	if (!ret && u->fwmark)
		ret = udp_set_int(fd, SOL_SOCKET, SO_MARK, (int)u->fwmark);
	if (!ret && (u->flags & WS_UDP_GRO))
		ret = udp_set_int(fd, SOL_UDP, UDP_GRO, 1);
	if (!ret) {
		u->rcvbuf = udp_raise_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, WS_UDP_BUF_BYTES);
		u->sndbuf = udp_raise_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, WS_UDP_BUF_BYTES);
	}
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

static int udp_bind(int fd, int family, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*s4) : sizeof(*s6);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		s4->sin_port = htons(port);
	else
		s6->sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	*bound = ntohs(family == AF_INET ? s4->sin_port : s6->sin6_port);
	return 0;
}

static void udp_close_fds(struct ws_udp *u)
{
	for (int i = 0; i < WS_UDP_NSOCK; i++) {
		if (u->fd[i] >= 0)
			close(u->fd[i]);
		u->fd[i] = -1;
	}
}

/* One socket: the dual-stack v6 socket, or the v4 socket on a v6-less host. */
static int udp_open_single(struct ws_udp *u, int family, uint16_t port)
{
	int slot = family == AF_INET ? WS_UDP_SOCK4 : WS_UDP_SOCK6;
	int fd = udp_socket(u, family, 0);

	if (fd < 0)
		return fd;
	u->fd[slot] = fd;
	u->dual = family == AF_INET6;
	return udp_bind(fd, family, port, &u->port);
}

/* Two sockets on one port. With port 0, the v6 socket picks a port that may
 * be taken for IPv4: retry a bounded number of times, like wg does. */
static int udp_open_split(struct ws_udp *u, uint16_t port)
{
	int ret = -EADDRINUSE;

	for (int t = 0; t < WS_UDP_PORT_TRIES && ret == -EADDRINUSE; t++) {
		udp_close_fds(u);
		ret = udp_socket(u, AF_INET6, 1);
		if (ret == -EAFNOSUPPORT)	/* no IPv6 on this host */
			return udp_open_single(u, AF_INET, port);
		if (ret < 0)
			return ret;
		u->fd[WS_UDP_SOCK6] = ret;
		ret = udp_bind(u->fd[WS_UDP_SOCK6], AF_INET6, port, &u->port);
		if (ret < 0)
			return ret;
		ret = udp_socket(u, AF_INET, 0);
		if (ret < 0)
			return ret;
		u->fd[WS_UDP_SOCK4] = ret;
		ret = udp_bind(u->fd[WS_UDP_SOCK4], AF_INET, u->port, &u->port);
		if (port)
			break;
	}
	return ret;
}

int ws_udp_open(struct ws_udp *u, uint16_t port, uint32_t fwmark, unsigned int flags)
{
	int ret, fd;

	memset(u, 0, sizeof(*u));
	u->fd[WS_UDP_SOCK6] = u->fd[WS_UDP_SOCK4] = -1;
	u->fwmark = fwmark;
	u->flags = flags;
	if (!(flags & WS_UDP_SPLIT)) {
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 && errno == EAFNOSUPPORT) {
			ret = udp_open_single(u, AF_INET, port);
			goto out;
		}
		if (fd < 0)
			return -errno;
		/* Probe dual-stack on a scratch socket (net.ipv6.bindv6only and
		 * kernels built without it differ); fall back to split. */
		ret = udp_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		close(fd);
		if (!ret) {
			ret = udp_open_single(u, AF_INET6, port);
			goto out;
		}
	}
	ret = udp_open_split(u, port);
out:
	if (ret < 0)
		udp_close_fds(u);
	return ret;
}

int ws_udp_set_mark(struct ws_udp *u, uint32_t fwmark)
{
	for (int i = 0; i < WS_UDP_NSOCK; i++) {
		int ret;

		if (u->fd[i] < 0)
			continue;
		ret = udp_set_int(u->fd[i], SOL_SOCKET, SO_MARK, (int)fwmark);
		if (ret < 0)
			return ret;
	}
	u->fwmark = fwmark;
	return 0;
}

void ws_udp_close(struct ws_udp *u)
{
	udp_close_fds(u);
}

/* ---- receiving ---------------------------------------------------------- */

/* Copy a kernel source address out, turning ::ffff:a.b.c.d into AF_INET. */
static void udp_addr_out(struct sockaddr_storage *out, const struct sockaddr_in6 *in,
			 socklen_t len)
{
	struct sockaddr_in *o4 = (struct sockaddr_in *)out;

	if (in->sin6_family == AF_INET6 && len >= sizeof(*in) &&
	    IN6_IS_ADDR_V4MAPPED(&in->sin6_addr)) {
		memset(o4, 0, sizeof(*o4));
		o4->sin_family = AF_INET;
		o4->sin_port = in->sin6_port;
		memcpy(&o4->sin_addr, &in->sin6_addr.s6_addr[12], 4);
		return;
	}
	if (len > sizeof(*in))
		len = sizeof(*in);
	memset(out, 0, sizeof(struct sockaddr_in6));
	memcpy(out, in, len);
}

static uint16_t udp_gro_size(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int v;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(v)))
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		return (uint16_t)v;
	}
	return 0;
}

static void udp_rx_prepare(struct ws_udp *u, struct ws_udp_msg *msgs, int n)
{
	struct ws_udp_vec *v = &u->rx;
	bool gro = u->flags & WS_UDP_GRO;

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &v->hdr[i].msg_hdr;

		v->iov[i].iov_base = msgs[i].buf;
		v->iov[i].iov_len = msgs[i].cap;
		mh->msg_name = &v->name[i];
		mh->msg_namelen = sizeof(v->name[i]);
		mh->msg_iov = &v->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = gro ? v->ctrl[i].buf : NULL;
		mh->msg_controllen = gro ? sizeof(v->ctrl[i].buf) : 0;
		mh->msg_flags = 0;
		v->hdr[i].msg_len = 0;
	}
}

static int udp_recv_fd(struct ws_udp *u, int fd, struct ws_udp_msg *msgs, int n)
{
	struct ws_udp_vec *v = &u->rx;
	int r = -1;

	udp_rx_prepare(u, msgs, n);
	for (int t = 0; t < RETRY_EINTR; t++) {
		r = recvmmsg(fd, v->hdr, (unsigned int)n, MSG_DONTWAIT, NULL);
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	for (int i = 0; i < r; i++) {
		struct msghdr *mh = &v->hdr[i].msg_hdr;

		msgs[i].len = v->hdr[i].msg_len;
		msgs[i].err = (mh->msg_flags & MSG_TRUNC) ? -EMSGSIZE : 0;
		msgs[i].segment = mh->msg_control ? udp_gro_size(mh) : 0;
		udp_addr_out(&msgs[i].addr, &v->name[i], mh->msg_namelen);
	}
	return r;
}

int ws_udp_recv_batch(struct ws_udp *u, struct ws_udp_msg *msgs, int n)
{
	int got = 0, first = (int)(u->rx_next++ & 1), err = 0;

	if (n > WS_UDP_BATCH)
		n = WS_UDP_BATCH;
	for (int k = 0; k < WS_UDP_NSOCK && got < n; k++) {
		int fd = u->fd[(first + k) % WS_UDP_NSOCK], r;

		if (fd < 0)
			continue;
		r = udp_recv_fd(u, fd, msgs + got, n - got);
		if (r < 0)
			err = err ? err : r;
		else
			got += r;
	}
	return got ? got : err;
}

/* ---- sending ------------------------------------------------------------ */

int ws_udp_dest(const struct ws_udp *u, const struct sockaddr_storage *dst,
		struct sockaddr_in6 *name, socklen_t *namelen)
{
	const struct sockaddr_in *d4 = (const struct sockaddr_in *)dst;
	const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *)dst;
	struct sockaddr_in s4;

	if (dst->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&d6->sin6_addr) &&
	    !u->dual) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = d6->sin6_port;
		memcpy(&s4.sin_addr, &d6->sin6_addr.s6_addr[12], 4);
		d4 = &s4;
	} else if (dst->ss_family == AF_INET6) {
		if (u->fd[WS_UDP_SOCK6] < 0)
			return -EAFNOSUPPORT;
		*name = *d6;
		*namelen = sizeof(*d6);
		return WS_UDP_SOCK6;
	} else if (dst->ss_family != AF_INET) {
		return -EAFNOSUPPORT;
	}
	memset(name, 0, sizeof(*name));
	if (u->dual && u->fd[WS_UDP_SOCK6] >= 0) {	/* IPv4 over the dual-stack socket: ::ffff:a.b.c.d */
		name->sin6_family = AF_INET6;
		name->sin6_port = d4->sin_port;
		name->sin6_addr.s6_addr[10] = 0xff;
		name->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&name->sin6_addr.s6_addr[12], &d4->sin_addr, 4);
		*namelen = sizeof(*name);
		return WS_UDP_SOCK6;
	}
	if (u->fd[WS_UDP_SOCK4] < 0)
		return -EAFNOSUPPORT;
	memcpy(name, d4, sizeof(*d4));
	*namelen = sizeof(*d4);
	return WS_UDP_SOCK4;
}

static void udp_tx_segment(struct ws_udp_vec *v, int i, const struct ws_udp_msg *m)
{
	struct msghdr *mh = &v->hdr[i].msg_hdr;
	struct cmsghdr *c;

	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (!m->segment || m->len <= m->segment)
		return;
	mh->msg_control = v->ctrl[i].buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &m->segment, sizeof(uint16_t));
}

static void udp_tx_prepare(struct ws_udp *u, struct ws_udp_msg *msgs, int n)
{
	struct ws_udp_vec *v = &u->tx;

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &v->hdr[i].msg_hdr;
		int s = ws_udp_dest(u, &msgs[i].addr, &v->name[i], &mh->msg_namelen);

		msgs[i].err = s < 0 ? s : 0;
		v->sock[i] = (int8_t)(s < 0 ? -1 : s);
		v->iov[i].iov_base = msgs[i].buf;
		v->iov[i].iov_len = msgs[i].len;
		mh->msg_name = &v->name[i];
		mh->msg_iov = &v->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_flags = 0;
		udp_tx_segment(v, i, &msgs[i]);
	}
}

/* Errors that say nothing about the socket, only about one message. */
static bool udp_socket_error(int e)
{
	return e == EBADF || e == ENOTSOCK || e == EFAULT || e == EPIPE ||
	       e == ENOTCONN || e == EDESTADDRREQ;
}

/* sendmmsg on a run of messages for one socket; returns how many went, or
 * -errno for the first message of the run. */
static int udp_send_run(struct ws_udp *u, int sock, int i, int len)
{
	int r = -1;

	for (int t = 0; t < RETRY_EINTR; t++) {
		r = sendmmsg(u->fd[sock], &u->tx.hdr[i], (unsigned int)len, MSG_DONTWAIT);
		if (r >= 0 || errno != EINTR)
			break;
	}
	return r < 0 ? -errno : r;
}

int ws_udp_send_batch(struct ws_udp *u, struct ws_udp_msg *msgs, int n)
{
	struct ws_udp_vec *v = &u->tx;
	int i = 0;

	if (n > WS_UDP_BATCH)
		n = WS_UDP_BATCH;
	udp_tx_prepare(u, msgs, n);
	/* Every pass consumes at least one message or returns. */
	while (i < n) {
		int j = i, r;

		if (v->sock[i] < 0) {
			i++;	/* unsendable address: err already set */
			continue;
		}
		while (j < n && v->sock[j] == v->sock[i])
			j++;
		r = udp_send_run(u, v->sock[i], i, j - i);
		if (r > 0) {
			i += r;
			continue;
		}
		if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR || r == 0)
			return i;
		if (udp_socket_error(-r))
			return i ? i : r;
		msgs[i++].err = r;
	}
	return i;
}
