/* SPDX-License-Identifier: MIT */
/* Two devices wired together in one process (see pipe_harness.h). */
#include "pipe_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "core/ipc.h"
#include "core/offload.h"
#include "daemon/ctl_loop.h"
#include "daemon/handshake.h"
#include "daemon/inbox.h"
#include "daemon/peer_timers.h"
#include "daemon/schedule.h"
#include "daemon/send_one.h"
#include "daemon/ipc_requests.h"
#include "os/clock.h"
#include "os/ipc_sock.h"

enum {
	TUN_SOCK_BUF = 4 << 20,        /* asked for; the kernel caps it at wmem_max/rmem_max */
	SCRATCH = 65536 + 64,
	PUMP_BURST = 64,               /* batches per device and round */
};

/* ---- addresses and packets ---------------------------------------------------- */

void ws_pipe_addr(int side, int family, uint8_t host, uint8_t *out)
{
	if (family == AF_INET) {
		const uint8_t a[4] = {198, 19, (uint8_t)(side + 1), host};

		memcpy(out, a, 4);
		return;
	}
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[1] = 0x19;
	out[7] = (uint8_t)(side + 1);
	out[15] = host;
}

/* IP header for an L4 payload of l4_len bytes; returns its length (0: does not fit). */
static size_t put_ip(uint8_t *out, size_t cap, int family, int from, int to, uint8_t proto, size_t l4_len)
{
	if (family == AF_INET) {
		if (cap < 20 + l4_len || 20 + l4_len > 65535)
			return 0;
		memset(out, 0, 20);
		out[0] = 0x45;
		ws_put_be16(out + 2, (uint16_t)(20 + l4_len));
		ws_put_be16(out + 4, 0x1234);
		ws_put_be16(out + 6, 0x4000); /* DF */
		out[8] = 64;
		out[9] = proto;
		ws_pipe_addr(from, AF_INET, 1, out + 12);
		ws_pipe_addr(to, AF_INET, 1, out + 16);
		ws_csum_put(out + 10, ws_csum_finish(ws_csum_add(out, 20, 0)));
		return 20;
	}
	if (cap < 40 + l4_len || l4_len > 65535)
		return 0;
	memset(out, 0, 40);
	out[0] = 0x60;
	ws_put_be16(out + 4, (uint16_t)l4_len);
	out[6] = proto;
	out[7] = 64;
	ws_pipe_addr(from, AF_INET6, 1, out + 8);
	ws_pipe_addr(to, AF_INET6, 1, out + 24);
	return 40;
}

/* The L4 checksum over the pseudo-header and l4[0, l4_len), stored at l4 + off. */
static void put_l4_csum(uint8_t *pkt, size_t iphl, size_t l4_len, uint8_t proto, size_t off)
{
	bool v4 = pkt[0] >> 4 == 4;
	size_t alen = v4 ? 4 : 16;
	const uint8_t *src = pkt + (v4 ? 12 : 8);
	uint64_t sum = ws_csum_pseudo(src, src + alen, alen, proto, (uint32_t)l4_len);
	uint16_t c;

	pkt[iphl + off] = pkt[iphl + off + 1] = 0;
	c = ws_csum_finish(ws_csum_add(pkt + iphl, l4_len, sum));
	if (proto == WS_PROTO_UDP && c == 0)
		c = 0xffff;
	ws_csum_put(pkt + iphl + off, c);
}

size_t ws_pipe_build_udp(uint8_t *out, size_t cap, int family, int from, int to, uint16_t sport,
			 uint16_t dport, const uint8_t *payload, size_t len)
{
	size_t hl = put_ip(out, cap, family, from, to, WS_PROTO_UDP, 8 + len);
	uint8_t *u = out + hl;

	if (!hl)
		return 0;
	ws_put_be16(u, sport);
	ws_put_be16(u + 2, dport);
	ws_put_be16(u + 4, (uint16_t)(8 + len));
	if (len)
		memcpy(u + 8, payload, len);
	put_l4_csum(out, hl, 8 + len, WS_PROTO_UDP, WS_UDP_CSUM_OFF);
	return hl + 8 + len;
}

size_t ws_pipe_build_tcp(uint8_t *out, size_t cap, int family, int from, int to, uint32_t seq,
			 uint8_t flags, const uint8_t *payload, size_t len)
{
	size_t hl = put_ip(out, cap, family, from, to, WS_PROTO_TCP, 20 + len);
	uint8_t *t = out + hl;

	if (!hl)
		return 0;
	memset(t, 0, 20);
	ws_put_be16(t, 40000);
	ws_put_be16(t + 2, 5201);
	ws_put_be32(t + 4, seq);
	ws_put_be32(t + 8, 1);
	t[12] = 5 << 4;
	t[13] = (uint8_t)(WS_TCP_ACK | flags);
	ws_put_be16(t + 14, 65535);
	if (len)
		memcpy(t + 20, payload, len);
	put_l4_csum(out, hl, 20 + len, WS_PROTO_TCP, WS_TCP_CSUM_OFF);
	return hl + 20 + len;
}

void ws_pipe_make_tso(uint8_t *pkt, size_t len, uint16_t gso_size, uint8_t vnet[10])
{
	bool v4 = pkt[0] >> 4 == 4;
	size_t iphl = v4 ? (size_t)(pkt[0] & 15) * 4 : 40, alen = v4 ? 4 : 16;
	const uint8_t *src = pkt + (v4 ? 12 : 8);
	struct ws_vnet_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = (uint16_t)(iphl + 20),
		.gso_size = gso_size,
		.csum_start = (uint16_t)iphl,
		.csum_offset = WS_TCP_CSUM_OFF,
	};

	ws_csum_put(pkt + iphl + WS_TCP_CSUM_OFF,
		    ws_csum_fold(ws_csum_pseudo(src, src + alen, alen, WS_PROTO_TCP, (uint32_t)(len - iphl))));
	ws_vnet_hdr_encode(&h, vnet);
}

/* ---- set-up and tear-down ------------------------------------------------------ */

static void raise_bufs(int fd)
{
	int v = TUN_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int end_init(struct ws_pipe_end *e, int side, unsigned flags, const struct ws_pipe_opts *o)
{
	uint16_t mtu = o->mtu ? o->mtu : 1400;
	uint16_t mps = o->max_packet_size ? o->max_packet_size
					  : (uint16_t)ws_conf_default_max_packet_size(mtu);
	uint8_t priv[WS_KEY_LEN];
	int sv[2], ret;

	e->side = side;
	e->tun = e->listen_fd = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	raise_bufs(sv[0]);
	raise_bufs(sv[1]);
	e->tun = sv[1];
	ws_x25519_genkey(priv);
	ret = ws_device_init_fd(&e->dev, side ? "pipeB" : "pipeA", sv[0], flags, priv, 0, mtu, mps,
				o->workers ? o->workers : 1);
	ws_wipe(priv, sizeof(priv));
	return ret;
}

static int end_peer(struct ws_pipe_end *e, struct ws_pipe_end *other)
{
	uint8_t a[16];
	char ep[32];
	int ret;

	e->other = other;
	e->peer = ws_peer_create(&e->dev, other->dev.local.public_key);
	if (!e->peer)
		return -ENOMEM;
	ws_pipe_addr(other->side, AF_INET, 0, a);
	ret = ws_allowedips_insert(&e->dev.aips, AF_INET, a, 24, e->peer);
	ws_pipe_addr(other->side, AF_INET6, 0, a);
	if (!ret)
		ret = ws_allowedips_insert(&e->dev.aips, AF_INET6, a, 64, e->peer);
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", other->dev.listen_port);
	return ret ? ret : ws_peer_set_endpoint(e->peer, ep, true);
}

static int end_listen(struct ws_pipe_end *e, const char *dir)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(e->sock_path, sizeof(e->sock_path), "%s/%s.sock", dir, e->side ? "b" : "a");
	memcpy(sun.sun_path, e->sock_path, strlen(e->sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	e->listen_fd = fd;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0)
		return -errno;
	return 0;
}

static void *ctl_main(void *arg)
{
	struct ws_pipe_end *e = arg;

	ws_ctl_run(&e->dev, e->listen_fd);
	return NULL;
}

static int end_start(struct ws_pipe_end *e, bool threads)
{
	int ret;

	if (!threads) {
		e->txb = ws_tx_batch_new(&e->dev);
		e->rxb = ws_rx_batch_new(&e->dev);
		return e->txb && e->rxb ? 0 : -ENOMEM;
	}
	ret = ws_device_start(&e->dev);
	e->started = true;
	if (ret)
		return ret;
	if (pthread_create(&e->ctl, NULL, ctl_main, e))
		return -EAGAIN;
	e->ctl_running = true;
	return 0;
}

int ws_pipe_open(struct ws_pipe **out, const struct ws_pipe_opts *o)
{
	struct ws_pipe *p = calloc(1, sizeof(*p));
	int ret;

	*out = p;
	if (!p)
		return -ENOMEM;
	p->threads = o->threads;
	p->a.tun = p->b.tun = p->a.listen_fd = p->b.listen_fd = -1;
	p->a.dev.tun_fd = p->b.dev.tun_fd = -1;
	ret = end_init(&p->a, 0, o->flags_a, o);
	if (!ret)
		ret = end_init(&p->b, 1, o->flags_b, o);
	if (!ret)
		ret = end_peer(&p->a, &p->b);
	if (!ret)
		ret = end_peer(&p->b, &p->a);
	if (!ret && p->threads) {
		snprintf(p->dir, sizeof(p->dir), "/tmp/ws-pipe-XXXXXX");
		if (!mkdtemp(p->dir)) {
			p->dir[0] = '\0';
			ret = -errno;
		}
		if (!ret)
			ret = end_listen(&p->a, p->dir);
		if (!ret)
			ret = end_listen(&p->b, p->dir);
	}
	if (!ret)
		ret = end_start(&p->a, p->threads);
	if (!ret)
		ret = end_start(&p->b, p->threads);
	return ret;
}

static void end_stop(struct ws_pipe_end *e)
{
	if (e->started)
		ws_device_stop(&e->dev); /* its stop event ends the ctl loop too */
	if (e->ctl_running)
		pthread_join(e->ctl, NULL);
	e->started = e->ctl_running = false;
}

static void end_free(struct ws_pipe_end *e)
{
	if (e->txb)
		ws_tx_batch_free(e->txb);
	if (e->rxb)
		ws_rx_batch_free(e->rxb);
	if (e->dev.peer_hash || e->dev.tun_fd >= 0)
		ws_device_destroy(&e->dev);
	if (e->tun >= 0)
		close(e->tun);
	if (e->listen_fd >= 0)
		close(e->listen_fd);
	if (e->sock_path[0])
		unlink(e->sock_path);
}

void ws_pipe_close(struct ws_pipe *p)
{
	if (!p)
		return;
	end_stop(&p->a);
	end_stop(&p->b);
	end_free(&p->a);
	end_free(&p->b);
	if (p->dir[0])
		rmdir(p->dir);
	free(p);
}

/* ---- the TUN ends --------------------------------------------------------------- */

static int send_wait(int fd, const struct msghdr *m)
{
	for (int tries = 0; tries < 100; tries++) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};

		if (sendmsg(fd, m, MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		poll(&pf, 1, 10);
	}
	return -EAGAIN;
}

int ws_pipe_tun_write(struct ws_pipe_end *e, const void *vnet, const void *pkt, size_t len)
{
	static const uint8_t zero[WS_VNET_HDR_LEN];
	struct iovec iov[2] = {{.iov_base = (void *)(vnet ? vnet : zero), .iov_len = WS_VNET_HDR_LEN},
			       {.iov_base = (void *)pkt, .iov_len = len}};
	struct msghdr m = {.msg_iov = e->dev.vnet ? iov : iov + 1, .msg_iovlen = e->dev.vnet ? 2 : 1};

	return send_wait(e->tun, &m);
}

int ws_pipe_tun_write_raw(struct ws_pipe_end *e, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	return send_wait(e->tun, &m);
}

static uint64_t mono_ms(void)
{
	return ws_now_ns() / WS_NSEC_PER_MSEC;
}

/* Synchronous mode, nothing moved: wait a little for the kernel (loopback, socketpair). */
static void idle_wait(struct ws_pipe *p, int ms)
{
	struct pollfd pf[] = {{.fd = p->a.dev.udp.fd[0], .events = POLLIN},
			      {.fd = p->a.dev.udp.fd[1], .events = POLLIN},
			      {.fd = p->b.dev.udp.fd[0], .events = POLLIN},
			      {.fd = p->b.dev.udp.fd[1], .events = POLLIN},
			      {.fd = p->a.dev.tun_fd, .events = POLLIN},
			      {.fd = p->b.dev.tun_fd, .events = POLLIN}};

	poll(pf, sizeof(pf) / sizeof(pf[0]), ms);
}

ssize_t ws_pipe_tun_read(struct ws_pipe *p, struct ws_pipe_end *e, void *buf, size_t cap, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		ssize_t n = recv(e->tun, buf, cap, MSG_DONTWAIT);
		uint64_t now = mono_ms();

		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (p->threads) {
			struct pollfd pf = {.fd = e->tun, .events = POLLIN};

			poll(&pf, 1, (int)(deadline - now));
		} else if (!ws_pipe_pump(p, 16, true)) {
			idle_wait(p, 5);
		}
	}
}

unsigned ws_pipe_tun_drain(struct ws_pipe_end *e, void (*check)(void *ctx, const uint8_t *buf, size_t len),
			   void *ctx)
{
	static _Thread_local uint8_t buf[SCRATCH];
	unsigned n = 0;

	for (;;) {
		ssize_t r = recv(e->tun, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0)
			return n;
		if (check)
			check(ctx, buf, (size_t)r);
		n++;
	}
}

/* ---- synchronous mode ------------------------------------------------------------ */

/*
 * One device's turn: its rx batches (only when a datagram waits: cheaper than
 * an empty batch call), its inbox, its tx batches (always: a batch may hold
 * work of its own beyond what the TUN queue shows).
 */
static unsigned end_round(struct ws_pipe_end *e, uint64_t now)
{
	struct pollfd pf[2] = {{.fd = e->dev.udp.fd[0], .events = POLLIN},
			       {.fd = e->dev.udp.fd[1], .events = POLLIN}};
	unsigned work = 0;

	if (poll(pf, 2, 0) > 0)
		for (int k = 0; k < PUMP_BURST && ws_rx_batch_run(e->rxb, now) > 0; k++)
			work++;
	if (ws_inbox_count(&e->dev.inbox)) {
		ws_ctl_drain_inbox(&e->dev);
		work++;
	}
	for (int k = 0; k < PUMP_BURST && ws_tx_batch_run(e->txb, now) > 0; k++)
		work++;
	return work;
}

unsigned ws_pipe_pump(struct ws_pipe *p, unsigned max_rounds, bool tick)
{
	unsigned rounds = 0;

	if (p->threads)
		return 0;
	for (unsigned r = 0; r < max_rounds; r++) {
		uint64_t now = ws_now_ns();
		unsigned work;

		if (tick) {
			ws_schedule_tick(&p->a.dev, p->a.peer, now);
			ws_schedule_tick(&p->b.dev, p->b.peer, now);
		}
		work = end_round(&p->a, now) + end_round(&p->b, now);
		if (!work)
			break;
		rounds++;
	}
	return rounds;
}

unsigned ws_pipe_pump_end(struct ws_pipe *p, struct ws_pipe_end *e, unsigned max_rounds)
{
	unsigned rounds = 0;

	if (p->threads)
		return 0;
	while (rounds < max_rounds && end_round(e, ws_now_ns()))
		rounds++;
	return rounds;
}

/* ---- sessions ------------------------------------------------------------------- */

static bool end_connected(struct ws_pipe_end *e)
{
	bool up;

	pthread_rwlock_rdlock(&e->dev.lock);
	up = e->peer->cur && !atomic_load(&e->peer->cur->dead);
	pthread_rwlock_unlock(&e->dev.lock);
	return up;
}

bool ws_pipe_connected(struct ws_pipe *p)
{
	return end_connected(&p->a) && end_connected(&p->b);
}

/* The first packet of a flow starts the handshake, as traffic does; it must come out at the other end. */
static int handshake_by_traffic(struct ws_pipe *p, struct ws_pipe_end *from, uint64_t deadline)
{
	static const uint8_t hello[] = "handshake";
	uint8_t pkt[128], got[256];
	size_t len = ws_pipe_build_udp(pkt, sizeof(pkt), AF_INET, from->side, from->other->side, 7, 7,
				       hello, sizeof(hello));
	int ret = ws_pipe_tun_write(from, NULL, pkt, len);
	size_t off = from->other->dev.vnet ? WS_VNET_HDR_LEN : 0;

	while (!ret) {
		uint64_t now = mono_ms();
		ssize_t n = now < deadline
			? ws_pipe_tun_read(p, from->other, got, sizeof(got), (int)(deadline - now)) : -ETIMEDOUT;

		if (n < 0)
			return (int)n;
		if ((size_t)n == off + len && !memcmp(got + off, pkt, len))
			break;
	}
	return ret;
}

int ws_pipe_handshake(struct ws_pipe *p, struct ws_pipe_end *from, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	int ret;

	if (p->threads) {
		ret = handshake_by_traffic(p, from, deadline);
		if (ret)
			return ret;
	} else {
		ws_handshake_send_init(&from->dev, from->peer, ws_now_ns());
	}
	while (!ws_pipe_connected(p)) {
		if (mono_ms() >= deadline)
			return -ETIMEDOUT;
		if (p->threads) {
			struct timespec ts = {0, 2 * 1000 * 1000};

			nanosleep(&ts, NULL);
		} else if (!ws_pipe_pump(p, 64, false)) {
			idle_wait(p, 5);
		}
	}
	return 0;
}

/* ---- control socket -------------------------------------------------------------- */

static int reply_errno(const char *reply)
{
	const char *e = strstr(reply, "errno=");

	while (e && strstr(e + 1, "errno="))
		e = strstr(e + 1, "errno=");
	return e ? -atoi(e + 6) : -EPROTO;
}

int ws_pipe_request(struct ws_pipe *p, struct ws_pipe_end *e, const char *req, char **reply)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	ssize_t n;
	int fd, ret;

	*reply = NULL;
	if (!p->threads) {
		/* No ctl thread: run the request as ctl would, on a copy it may modify. */
		struct ws_ipc_buf out;
		char *in = strdup(req);

		if (!in)
			return -ENOMEM;
		ws_ipc_requests_exec(&e->dev, in, (ssize_t)strlen(in), &out);
		free(in);
		*reply = out.data ? strndup(out.data, out.len) : NULL;
		ws_ipc_buf_free(&out);
		return *reply ? reply_errno(*reply) : -ENOMEM;
	}
	memcpy(sun.sun_path, e->sock_path, strlen(e->sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = ws_ipc_write_all(fd, req, strlen(req));
	n = ret ? ret : ws_ipc_read_message(fd, reply, 5000);
	close(fd);
	if (n < 0)
		return (int)n;
	return reply_errno(*reply);
}

bool ws_pipe_reply_u64(const char *reply, const uint8_t *peer, const char *key, uint64_t *out)
{
	char b64[WS_KEY_B64_LEN + 1], line[128];
	const char *at = reply, *end;
	size_t klen = strlen(key);
	int keys_seen = 0;

	if (peer) {
		ws_key_to_base64(b64, peer);
		snprintf(line, sizeof(line), "public_key=%s\n", b64);
		at = strstr(reply, line);
		if (!at)
			return false;
		at = strchr(at, '\n') + 1;
	}
	for (; *at; at = end + 1) {
		end = strchr(at, '\n');
		if (!end)
			return false;
		if (!strncmp(at, "public_key=", 11) && (peer || ++keys_seen > 1))
			return false; /* the next block */
		if (!strncmp(at, key, klen) && at[klen] == '=') {
			*out = strtoull(at + klen + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

/* ---- the independent peer ------------------------------------------------------------ */

ssize_t ws_pipe_seal(struct ws_pipe_end *from, uint8_t type, uint64_t counter, const void *plain,
		     size_t len, uint8_t *out, size_t cap, uint64_t *counter_used)
{
	struct ws_slot *slot;
	size_t n = 0;
	ssize_t ret = 0;

	if (len + WS_TRANSPORT_HDR_TAG_LEN > cap)
		return -ENOSPC;
	pthread_rwlock_rdlock(&from->dev.lock);
	slot = from->peer->cur;
	if (!slot)
		ret = -ENOTCONN;
	else if (counter == UINT64_MAX && ws_session_next_counter(&slot->s, &counter))
		ret = -ESTALE;
	if (!ret) {
		if (len)
			memmove(out + WS_SIZE_DATA_HEADER, plain, len);
		n = ws_session_seal(&slot->s, type, counter, out, len);
		ret = n ? (ssize_t)n : -EINVAL;
	}
	pthread_rwlock_unlock(&from->dev.lock);
	if (counter_used)
		*counter_used = counter;
	return ret;
}

int ws_pipe_send_raw(struct ws_pipe_end *from, const void *buf, size_t len)
{
	struct sockaddr_storage to = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&to;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(from->other->dev.listen_port);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ws_device_send_one(&from->dev, buf, len, &to);
}

ssize_t ws_pipe_recv_open(struct ws_pipe *p, struct ws_pipe_end *e, uint8_t *buf, size_t cap, uint8_t *type,
			  uint8_t **plain, int timeout_ms)
{
	struct pollfd pf[2] = {{.fd = e->dev.udp.fd[0], .events = POLLIN},
			       {.fd = e->dev.udp.fd[1], .events = POLLIN}};
	struct ws_transport_hdr hdr;
	struct ws_index_entry *ent;
	size_t plain_len;
	ssize_t n = -1;
	int ret;

	if (p->threads)
		return -EOPNOTSUPP;
	if (poll(pf, 2, timeout_ms) <= 0)
		return -EAGAIN;
	for (int i = 0; i < 2 && n < 0; i++)
		if (pf[i].revents & POLLIN)
			n = recv(pf[i].fd, buf, cap, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n && buf[0] < WS_MSG_DATA)
		return -ENOENT;
	ret = ws_transport_parse(buf, (size_t)n, &hdr);
	if (ret)
		return ret;
	ent = ws_index_lookup(&e->dev.index, hdr.receiver_index);
	if (!ent || ent->kind != WS_IDX_SESSION)
		return -ENOENT;
	ret = ws_session_open(&ent->slot->s, buf, (size_t)n, &hdr, plain, &plain_len);
	if (ret)
		return ret;
	*type = hdr.type;
	return (ssize_t)plain_len;
}

int ws_pipe_send_sealed(struct ws_pipe_end *from, uint8_t type, const void *plain, size_t len)
{
	static _Thread_local uint8_t pkt[SCRATCH];
	ssize_t n = ws_pipe_seal(from, type, UINT64_MAX, plain, len, pkt, sizeof(pkt), NULL);

	return n < 0 ? (int)n : ws_pipe_send_raw(from, pkt, (size_t)n);
}
