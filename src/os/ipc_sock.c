/* SPDX-License-Identifier: MIT */
/* The control socket: /run/wiresocket/IFNAME.sock, root only. */
#include "os/ipc_sock.h"

#include "core/ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int ws_ipc_path(char *out, size_t cap, const char *ifname, const char *suffix)
{
	int n = snprintf(out, cap, "%s/%s.%s", WS_RUN_DIR, ifname, suffix);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int sock_addr(struct sockaddr_un *sun, const char *ifname)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return ws_ipc_path(sun->sun_path, sizeof(sun->sun_path), ifname, "sock");
}

int ws_ipc_connect(const char *ifname)
{
	struct sockaddr_un sun;
	int fd, ret = sock_addr(&sun, ifname);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int ws_ipc_listen(const char *ifname)
{
	struct sockaddr_un sun;
	int fd, ret = sock_addr(&sun, ifname);
	mode_t old;

	if (ret)
		return ret;
	if (mkdir(WS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = ws_ipc_connect(ifname);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE; /* a live daemon answers there */
	}
	unlink(sun.sun_path); /* stale or absent */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0 || chmod(sun.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

ssize_t ws_ipc_read_message(int fd, char **out, int timeout_ms)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (ws_ipc_complete(buf, len))
			break;
		if (len + 1 >= cap) {
			char *nb;

			if (cap >= WS_IPC_MAX_MESSAGE) {
				ret = -EMSGSIZE;
				break;
			}
			nb = ws_ipc_grow(buf, len, cap, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		if (poll(&p, 1, timeout_ms) <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ECONNRESET;
			break;
		}
		len += (size_t)n;
	}
	if (ret) {
		ws_ipc_release(buf, cap);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

int ws_ipc_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 2000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int ws_ipc_call(const char *ifname, const char *req, size_t req_len, char **reply, size_t *reply_len)
{
	int fd = ws_ipc_connect(ifname), ret;
	ssize_t n;
	char *last;

	if (fd < 0)
		return fd;
	ret = ws_ipc_write_all(fd, req, req_len);
	if (ret) {
		close(fd);
		return ret;
	}
	n = ws_ipc_read_message(fd, reply, 10000);
	close(fd);
	if (n < 0)
		return (int)n;
	*reply_len = (size_t)n;
	/* The reply ends with "errno=N\n\n". */
	if (n < 2) {
		ws_ipc_release(*reply, (size_t)n + 1);
		*reply = NULL;
		return -EPROTO;
	}
	(*reply)[n - 2] = '\0';
	last = strrchr(*reply, '\n');
	last = last ? last + 1 : *reply;
	(*reply)[n - 2] = '\n';
	if (strncmp(last, "errno=", 6)) {
		ws_ipc_release(*reply, (size_t)n + 1);
		*reply = NULL;
		return -EPROTO;
	}
	ret = atoi(last + 6);
	if (ret) {
		ws_ipc_release(*reply, (size_t)n + 1);
		*reply = NULL;
		return -ret;
	}
	return 0;
}
