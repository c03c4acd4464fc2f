/* SPDX-License-Identifier: MIT */
/* rtnetlink plumbing: request building, one exchange per socket, parsing. */
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "os/netlink_priv.h"

struct nlmsghdr *ws_nl_msg(char *buf, uint16_t type, uint16_t flags, void **hdr,
			   size_t hdr_len)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, WS_NL_REQ_BYTES);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	nlh->nlmsg_seq = 1;	/* one request per fresh socket */
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	return nlh;
}

static struct mnl_socket *nl_open(void)
{
	struct timeval tv = {
		.tv_sec = WS_NL_TIMEOUT_MS / 1000,
		.tv_usec = (WS_NL_TIMEOUT_MS % 1000) * 1000,
	};
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

/* Read replies until the callbacks say stop. 0 or -errno. */
static int nl_recv_all(struct mnl_socket *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	char buf[WS_NL_RECV_BYTES];
	uint32_t portid = mnl_socket_get_portid(nl);

	for (int i = 0; i < WS_NL_MAX_RECVS; i++) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int r;

		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)	/* errno: the kernel's, or the callback's */
			return errno ? -errno : -EIO;
	}
	return -EOVERFLOW;
}

int ws_nl_run(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = nl_open();
	int ret;

	if (!nl)
		return -errno;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		ret = -errno;
	else
		ret = nl_recv_all(nl, nlh->nlmsg_seq, cb, data);
	mnl_socket_close(nl);
	return ret;
}

struct nl_tb {
	const struct nlattr **tb;
	uint16_t max;
};

static int nl_attr_cb(const struct nlattr *a, void *data)
{
	struct nl_tb *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

int ws_nl_parse(const struct nlmsghdr *nlh, size_t hdr_len,
		const struct nlattr **tb, uint16_t max)
{
	struct nl_tb t = { tb, max };

	memset(tb, 0, sizeof(*tb) * ((size_t)max + 1));
	if (mnl_nlmsg_get_payload_len(nlh) < hdr_len)
		return -EINVAL;
	if (mnl_attr_parse(nlh, (unsigned int)hdr_len, nl_attr_cb, &t) < 0)
		return -EINVAL;
	return 0;
}

uint32_t ws_nl_attr_u32(const struct nlattr *a, uint32_t def)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return def;
	return mnl_attr_get_u32(a);
}

size_t ws_nl_family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int ws_nl_prefix_check(const struct ws_nl_prefix *p)
{
	size_t len = p ? ws_nl_family_len(p->family) : 0;

	if (!len || p->plen > len * 8)
		return -EINVAL;
	return 0;
}

bool ws_nl_attr_addr(const struct nlattr *a, int family, uint8_t out[16])
{
	size_t len = ws_nl_family_len(family);

	if (!a || !len || mnl_attr_get_payload_len(a) != len)
		return false;
	memset(out, 0, 16);
	memcpy(out, mnl_attr_get_payload(a), len);
	return true;
}
