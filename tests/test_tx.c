/* SPDX-License-Identifier: MIT */
/*
 * The transmit pipeline's batch (src/daemon/tx.c), driven through ws_tx_batch_run()
 * with a SOCK_SEQPACKET socket pair as the TUN (one message = one TUN read,
 * virtio-net header first when offloads are on). No root, no threads but the
 * caller's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/offload.h"
#include "daemon/device.h"
#include "daemon/inbox.h"
#include "daemon/peer.h"
#include "daemon/peer_timers.h"
#include "daemon/slots.h"
#include "daemon/tx.h"
#include "os/clock.h"
#include "test.h"

enum { PAY_MAX = 65535 - 40, SUPER_MAX = WS_VNET_HDR_LEN + 65535 };

static struct ws_device dev;
static int tun[2] = {-1, -1};
static struct ws_peer *peer;
static const uint8_t src4[4] = {198, 19, 0, 1}, dst4[4] = {198, 19, 0, 2};

static void dev_up(bool vnet)
{
	uint8_t priv[32], pub[32], ppriv[32];

	memset(&dev, 0, sizeof(dev));
	ws_x25519_genkey(priv);
	CU_ASSERT_EQUAL_FATAL(ws_device_init_tables(&dev, priv), 0);
	dev.vnet = vnet;
	dev.mtu = 1420;
	dev.max_packet_size = WS_DEFAULT_MAX_PACKET_SIZE;
	dev.udp.fd[0] = dev.udp.fd[1] = -1;
	CU_ASSERT_EQUAL_FATAL(ws_workers_init(&dev.tx_workers, 0), 0);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, tun), 0);
	dev.tun_fd = tun[0];
	/* A peer without a session routes 198.19.0.2: its packets are staged and counted. */
	ws_x25519_genkey(ppriv);
	CU_ASSERT_TRUE_FATAL(ws_x25519_pubkey(pub, ppriv));
	peer = ws_peer_create(&dev, pub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	CU_ASSERT_EQUAL_FATAL(ws_allowedips_insert(&dev.aips, AF_INET, dst4, 32, peer), 0);
}

static void dev_down(void)
{
	close(tun[0]);
	close(tun[1]);
	while (dev.peers)
		ws_peer_remove(&dev, dev.peers);
	free(dev.peer_hash);
	ws_workers_destroy(&dev.tx_workers);
	ws_allowedips_free(&dev.aips);
	ws_index_free(&dev.index);
	ws_ratelimit_free(&dev.ratelimit);
	ws_inbox_destroy(&dev.inbox);
	pthread_rwlock_destroy(&dev.lock);
}

static uint8_t pay_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* The naive Internet checksum over n bytes, added to s. */
static uint32_t naive_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

/* A TCP/IPv4 super-packet from 198.19.0.1 to 198.19.0.2 behind its vnet header; its length. */
static size_t build_super(uint8_t *buf, uint16_t gso_size, size_t pay, uint32_t seq, uint16_t id)
{
	struct ws_vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				.hdr_len = 40, .gso_size = gso_size, .csum_start = 20, .csum_offset = 16};
	uint8_t *ip = buf + WS_VNET_HDR_LEN, *tcp = ip + 20;

	ws_vnet_hdr_encode(&h, buf);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ws_put_be16(ip + 2, (uint16_t)(40 + pay));
	ws_put_be16(ip + 4, id);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, src4, 4);
	memcpy(ip + 16, dst4, 4);
	ws_put_be16(tcp, 40000);
	ws_put_be16(tcp + 2, 5201);
	ws_put_be32(tcp + 4, seq);
	ws_put_be32(tcp + 8, 1);
	tcp[12] = 5 << 4;
	tcp[13] = WS_TCP_ACK | WS_TCP_PSH | WS_TCP_FIN | WS_TCP_CWR;
	ws_put_be16(tcp + 14, 512);
	for (size_t i = 0; i < pay; i++)
		tcp[20 + i] = pay_byte(i);
	return WS_VNET_HDR_LEN + 40 + pay;
}

static void tun_write(const uint8_t *buf, size_t len)
{
	CU_ASSERT_EQUAL_FATAL(send(tun[1], buf, len, 0), (ssize_t)len);
}

/* Run batches until the TUN is empty; how many ran. */
static int run_all(struct ws_tx_batch *b)
{
	int n = 0;

	while (n < 100 && ws_tx_batch_run(b, ws_now_ns()) > 0)
		n++;
	return n;
}

/*
 * Segment j of a super-packet (seq, id, gso_size, pay bytes) as staged:
 * headers, flags, payload and both checksums.
 */
static void check_segment(const uint8_t *s, size_t len, size_t j, size_t n, uint16_t gso,
			  size_t pay, uint32_t seq, uint16_t id)
{
	size_t off = j * gso, seg_pay = pay - off < gso ? pay - off : gso;
	uint8_t flags = WS_TCP_ACK | (j + 1 == n ? WS_TCP_PSH | WS_TCP_FIN : 0) | (j == 0 ? WS_TCP_CWR : 0);
	uint8_t pseudo[12] = {198, 19, 0, 1, 198, 19, 0, 2, 0, 6, 0, 0};
	uint32_t sum;

	CU_ASSERT_EQUAL_FATAL(len, 40 + seg_pay);
	CU_ASSERT_EQUAL(ws_be16(s + 2), len);
	CU_ASSERT_EQUAL(ws_be16(s + 4), (uint16_t)(id + j));
	CU_ASSERT_EQUAL(naive_add(0, s, 20), 0xffff);
	CU_ASSERT_EQUAL(ws_be32(s + 24), seq + (uint32_t)off);
	CU_ASSERT_EQUAL(s[33], flags);
	for (size_t i = 0; i < seg_pay; i++)
		if (s[40 + i] != pay_byte(off + i)) {
			CU_FAIL("payload byte");
			break;
		}
	ws_put_be16(pseudo + 10, (uint16_t)(len - 20));
	sum = naive_add(naive_add(0, pseudo, sizeof(pseudo)), s + 20, len - 20);
	CU_ASSERT_EQUAL(sum, 0xffff);
}

/* The last staged packets are the last segments of the super-packet. */
static void check_staged_tail(size_t n, uint16_t gso, size_t pay, uint32_t seq, uint16_t id)
{
	struct ws_staged *st = &peer->staged;

	CU_ASSERT_EQUAL_FATAL(st->count, WS_STAGED_MAX);
	for (unsigned k = 0; k < st->count; k++) {
		unsigned at = (st->head + k) % WS_STAGED_MAX;

		check_segment(st->data[at], st->len[at], n - WS_STAGED_MAX + k, n, gso, pay, seq, id);
	}
}

/*
 * A small MSS makes 64 KB super-packets into more segments than one batch
 * holds (1024): two of MSS 88 read in one batch (745 each), and one of MSS 36
 * alone (1820). Every segment is sent (here: counted and staged, no session),
 * none written beyond the batch, and the rest of a super-packet carried to
 * the next batch comes out with the right sequence numbers, IDs, flags and
 * checksums.
 */
static void test_tx_small_mss_super_packets(void)
{
	uint8_t *buf = malloc(SUPER_MAX);
	struct ws_tx_batch *b;
	size_t n88 = (PAY_MAX + 87) / 88, n36 = (PAY_MAX + 35) / 36;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	dev_up(true);
	b = ws_tx_batch_new(&dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);

	tun_write(buf, build_super(buf, 88, PAY_MAX, 1000, 7));
	tun_write(buf, build_super(buf, 88, PAY_MAX, 1000 + PAY_MAX, 7 + (uint16_t)n88));
	CU_ASSERT_TRUE(run_all(b) >= 2);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.tx_no_session), 2 * n88);
	check_staged_tail(n88, 88, PAY_MAX, 1000 + PAY_MAX, 7 + (uint16_t)n88);

	tun_write(buf, build_super(buf, 36, PAY_MAX, 0xfffff000u, 65000));
	CU_ASSERT_TRUE(run_all(b) >= 2);  /* 1820 segments: at least two batches */
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.tx_no_session), 2 * n88 + n36);
	check_staged_tail(n36, 36, PAY_MAX, 0xfffff000u, 65000);
	CU_ASSERT_EQUAL(ws_tx_batch_run(b, ws_now_ns()), -EAGAIN);

	ws_tx_batch_free(b);
	dev_down();
	free(buf);
}

/*
 * A TCP connection on loopback whose far end does not read, standing in for
 * the daemon's UDP socket with a full send buffer (sendmmsg ignores the
 * address on TCP): every send says EAGAIN until the test reads *server.
 */
static int full_socket(int *server, struct sockaddr_in *addr)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c, small = 4096, i;
	socklen_t alen = sizeof(*addr);
	static const char junk[4096];

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_TRUE_FATAL(l >= 0);
	setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	CU_ASSERT_EQUAL_FATAL(bind(l, (struct sockaddr *)addr, sizeof(*addr)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(l, 1), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(l, (struct sockaddr *)addr, &alen), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	CU_ASSERT_EQUAL_FATAL(connect(c, (struct sockaddr *)addr, sizeof(*addr)), 0);
	*server = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CU_ASSERT_TRUE_FATAL(*server >= 0);
	close(l);
	fcntl(c, F_SETFL, O_NONBLOCK);
	/* Full once the far end's window is too: no room even after a pause. */
	for (int quiet = 0, rounds = 0; quiet < 3 && rounds < 200; rounds++) {
		for (i = 0; i < 10000 && send(c, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
			;
		CU_ASSERT_TRUE_FATAL(i < 10000 && errno == EAGAIN);
		quiet = i ? 0 : quiet + 1;
		usleep(20 * 1000);
	}
	return c;
}

struct tx_run {
	struct ws_tx_batch *b;
	_Atomic bool done;
	int ret;
};

static void *tx_run_thread(void *arg)
{
	struct tx_run *r = arg;

	r->ret = ws_tx_batch_run(r->b, ws_now_ns());
	atomic_store(&r->done, true);
	return NULL;
}

/* A plain IPv4/UDP packet to 198.19.0.2. */
static void tun_write_small(void)
{
	uint8_t p[100] = {0x45, 0, 0, 100, 0, 0, 0x40, 0, 64, 17};

	memcpy(p + 12, src4, 4);
	memcpy(p + 16, dst4, 4);
	tun_write(p, sizeof(p));
}

/*
 * While tx waits for room in a full socket it holds no dev->lock: a writer
 * (ctl) gets it, may even remove the peer the batch was sending to, and the
 * batch then finishes once there is room, without touching the removed peer.
 */
static void test_tx_full_socket_frees_device_lock(void)
{
	struct tx_run run = {0};
	struct sockaddr_in ep;
	struct ws_slot *slot;
	struct ws_noise_keys keys = {.remote_index = 2};
	struct sockaddr_storage to = {0};
	struct timespec ts;
	bool had_live;
	pthread_t t;
	int server, rc;
	char sink[65536];
	uint64_t now = ws_now_ns();

	dev_up(false);
	dev.udp.fd[WS_UDP_SOCK4] = full_socket(&server, &ep);
	ws_random(keys.send, sizeof(keys.send));
	ws_random(keys.recv, sizeof(keys.recv));
	memcpy(&to, &ep, sizeof(ep));
	slot = ws_slots_reserve(&dev, peer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	keys.local_index = slot->entry.index;
	ws_slots_install(&dev, peer, slot, &keys, &to, now, &had_live);
	CU_ASSERT_PTR_EQUAL(peer->cur, slot);
	ws_peer_on_auth_received(peer, now);
	run.b = ws_tx_batch_new(&dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(run.b);
	tun_write_small();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, tx_run_thread, &run), 0);

	usleep(300 * 1000);
	CU_ASSERT_FALSE(atomic_load(&run.done)); /* waiting for room */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	rc = pthread_rwlock_timedwrlock(&dev.lock, &ts);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		ws_peer_remove(&dev, peer);
		peer = NULL;
		pthread_rwlock_unlock(&dev.lock);
	}
	/* Room again: the batch completes. */
	for (int i = 0; i < 500 && !atomic_load(&run.done); i++) {
		while (read(server, sink, sizeof(sink)) > 0)
			;
		usleep(10 * 1000);
	}
	CU_ASSERT_TRUE(atomic_load(&run.done));
	atomic_store(&dev.stopping, true);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(run.ret, 1);
	ws_tx_batch_free(run.b);
	close(server);
	close(dev.udp.fd[WS_UDP_SOCK4]);
	dev_down();
}

/* A UDP packet from sport to daddr:dport (v4: 4-byte address, v6: 16), len bytes in all. */
static size_t udp_packet(uint8_t *p, int v6, uint16_t sport, const uint8_t *daddr, uint16_t dport, size_t len)
{
	size_t ih = v6 ? 40 : 20;

	memset(p, 0, len);
	if (v6) {
		p[0] = 0x60;
		ws_put_be16(p + 4, (uint16_t)(len - 40));
		p[6] = 17;
		p[7] = 64;
		p[8] = 0xfd;
		p[9] = 0x19;
		p[23] = 1;
		memcpy(p + 24, daddr, 16);
	} else {
		p[0] = 0x45;
		ws_put_be16(p + 2, (uint16_t)len);
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, src4, 4);
		memcpy(p + 16, daddr, 4);
	}
	ws_put_be16(p + ih, sport);
	ws_put_be16(p + ih + 2, dport);
	ws_put_be16(p + ih + 4, (uint16_t)(len - ih));
	return len;
}

static void endpoint4(struct sockaddr_storage *ss, const uint8_t a[4], uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, a, 4);
}

static void endpoint6(struct sockaddr_storage *ss, const uint8_t a[16], uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a, 16);
}

/* Exactly UDP from our port to the endpoint's address and port, v4 and v6. */
static void test_tx_own_packet_detection(void)
{
	static const uint8_t ep4[4] = {198, 18, 40, 2}, other4[4] = {198, 18, 40, 3};
	static const uint8_t ep6[16] = {0xfd, 0x18, [15] = 2}, other6[16] = {0xfd, 0x18, [15] = 3};
	struct sockaddr_storage e4, e6, none = {0};
	uint8_t p[200];
	size_t n;

	endpoint4(&e4, ep4, 51820);
	endpoint6(&e6, ep6, 51821);
	n = udp_packet(p, 0, 51820, ep4, 51820, 100);
	CU_ASSERT_TRUE(ws_tx_is_own_packet(p, n, 51820, &e4));
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51821, &e4));        /* another source port */
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &e6));        /* other family */
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &none));      /* endpoint unknown */
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, 27, 51820, &e4));       /* no room for UDP */
	n = udp_packet(p, 0, 51820, other4, 51820, 100);
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &e4));        /* another address */
	n = udp_packet(p, 0, 51820, ep4, 51821, 100);
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &e4));        /* another port */
	n = udp_packet(p, 0, 51820, ep4, 51820, 100);
	p[9] = 6;
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &e4));        /* TCP */
	p[9] = 17;
	p[6] = 0x20;                                                   /* MF: the first fragment */
	CU_ASSERT_TRUE(ws_tx_is_own_packet(p, n, 51820, &e4));
	p[6] = 0x00;
	p[7] = 0x10;                                                   /* a later fragment */
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51820, &e4));
	p[7] = 0;
	p[0] = 0x46;                                                   /* IPv4 options: UDP at 24 */
	memmove(p + 24, p + 20, 8);
	CU_ASSERT_TRUE(ws_tx_is_own_packet(p, n, 51820, &e4));
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, 31, 51820, &e4));

	n = udp_packet(p, 1, 51821, ep6, 51821, 120);
	CU_ASSERT_TRUE(ws_tx_is_own_packet(p, n, 51821, &e6));
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51821, &e4));
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, 47, 51821, &e6));
	n = udp_packet(p, 1, 51821, other6, 51821, 120);
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51821, &e6));
	n = udp_packet(p, 1, 51821, ep6, 51821, 120);
	p[6] = 58;
	CU_ASSERT_FALSE(ws_tx_is_own_packet(p, n, 51821, &e6));        /* ICMPv6 */
}

/*
 * The endpoint's address routes into the tunnel: the daemon's own packets to
 * it come back from the TUN. They are dropped and counted, not staged or
 * sent again; other UDP to the same address goes on as before.
 */
static void test_tx_drops_routing_loop(void)
{
	static const uint8_t ep4[4] = {198, 18, 40, 2};
	struct ws_tx_batch *b;
	uint8_t p[100];

	dev_up(false);
	dev.listen_port = 51820;
	endpoint4(&peer->endpoint, ep4, 51820);
	CU_ASSERT_EQUAL_FATAL(ws_allowedips_insert(&dev.aips, AF_INET, ep4, 32, peer), 0);
	b = ws_tx_batch_new(&dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int i = 0; i < 3; i++)
		tun_write(p, udp_packet(p, 0, 51820, ep4, 51820, sizeof(p)));
	tun_write(p, udp_packet(p, 0, 40000, ep4, 51820, sizeof(p)));
	CU_ASSERT_EQUAL(run_all(b), 1);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.tx_loop_dropped), 3);
	CU_ASSERT_EQUAL(atomic_load(&dev.stats.tx_no_session), 1);
	CU_ASSERT_EQUAL(peer->staged.count, 1);
	ws_tx_batch_free(b);
	dev_down();
}

WS_SUITE(tx)
{
	WS_ADD(suite, test_tx_own_packet_detection);
	WS_ADD(suite, test_tx_drops_routing_loop);
	WS_ADD(suite, test_tx_small_mss_super_packets);
	WS_ADD(suite, test_tx_full_socket_frees_device_lock);
}
