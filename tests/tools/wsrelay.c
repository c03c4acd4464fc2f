/* SPDX-License-Identifier: MIT */
/*
 * wsrelay: a user-space UDP impairment relay that behaves like a NAT (test
 * tool; this kernel has no netem).
 *
 *   wsrelay -l LISTEN:PORT -s SERVER:PORT [-d DELAY_MS] [-j JITTER_MS]
 *           [-r REORDER_PCT] [-R REORDER_EXTRA_MS] [-u DUP_PCT] [-x LOSS_PCT]
 *           [-S SEED] [-t SECONDS] [-b OUTBOUND_BIND_ADDR]
 *
 * Datagrams from a client to LISTEN go to SERVER from an outbound socket of
 * that client's own (a mapping: one per client address:port, its own
 * ephemeral port, bound to -b when given, connected to SERVER so only the
 * server's replies come back; idle mappings expire after 120 s; at most 1024).
 * Replies go back to the client from LISTEN. The server sees only the relay.
 *
 * Impairments, both directions, each direction with its own PRNG seeded
 * from -S (splitmix64; the draws depend only on the order of arrivals in
 * that direction, so a fixed seed and input give the same decisions): loss
 * (dropped), duplication (queued twice, each copy with its own delay),
 * delay DELAY +- uniform JITTER, reordering (a packet gets REORDER_EXTRA ms
 * more, default DELAY + 2 * JITTER + 1, so later ones overtake it). Every
 * packet waits in a min-heap by due time (ties in arrival order), at most
 * 65536 packets and 256 MiB of buffers (allocated lazily, reused); beyond
 * that packets are dropped and counted.
 *
 * One thread: epoll over the sockets, a timerfd armed at the earliest due
 * packet and a signalfd. SIGUSR1 prints the counters to stderr, SIGTERM and
 * SIGINT end cleanly, -t (default 600 s) always ends the run; the counters
 * are printed on exit. "reordered" counts packets actually sent after a
 * packet of the same direction that arrived later.
 *
 * Safety: LISTEN, SERVER and -b must lie in 127.0.0.0/8, ::1,
 * 198.18.0.0/15, fd18::/16 or fd19::/16 (else exit 2); datagrams from
 * clients outside those ranges are dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define TOOL_NAME "wsrelay"
#include "toolnet.h"

enum {
	MAX_MAPS = 1024,
	QUEUE_SLOTS = 65536,
	MAX_DGRAM = 65535,
	MIN_BUF = 2048,
	RX_BURST = 256,          /* datagrams read per readiness event */
	EV_LISTEN = 0,
	EV_TIMER = 1,
	EV_SIGNAL = 2,
	EV_MAP = 16,             /* EV_MAP + mapping index */
	DEFAULT_SECONDS = 600,
	MAX_SECONDS = 86400,
};

#define IDLE_NS (120 * NSEC)
#define MEM_CAP (256ULL << 20)

enum dir { C2S = 0, S2C = 1 };

struct mapping {
	bool used;
	uint32_t gen;            /* bumped when the slot is freed: queued packets go stale */
	int fd;
	struct addr client;
	uint64_t last_ns;
};

struct pkt {
	uint64_t due_ns;
	uint64_t order;          /* enqueue order: FIFO among equal due times */
	uint64_t arrival;        /* arrival number in its direction */
	uint32_t map, gen;
	uint8_t dir;
	uint32_t len, cap;
	uint8_t *buf;
};

struct stats {
	uint64_t received, forwarded, lost, duplicated, reordered, delayed;
	uint64_t full, stale, nomap, foreign, toolong, errors;
	uint64_t arrivals, max_sent_arrival;
	bool sent_any;
};

struct opts {
	struct addr listen, server, bind;
	bool have_bind;
	double delay_ms, jitter_ms, reorder_pct, reorder_extra_ms, dup_pct, loss_pct;
	bool have_extra;
	uint64_t seed;
	unsigned seconds;
};

static struct opts o = { .seed = 1, .seconds = DEFAULT_SECONDS };
static struct mapping maps[MAX_MAPS];
static struct pkt slots[QUEUE_SLOTS];
static uint32_t heap[QUEUE_SLOTS], free_stack[QUEUE_SLOTS];
static uint32_t heap_n, free_n;
static uint64_t mem_used, order_seq, rng_state[2];
static uint64_t maps_created, maps_expired;
static struct stats st[2];
static int epfd = -1, listen_fd = -1, timer_fd = -1, signal_fd = -1;
static uint8_t rxbuf[MAX_DGRAM + 1];

/* --- addresses ---------------------------------------------------------------- */

static const char *addr_str(const struct addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const void *raw = a->ss.ss_family == AF_INET
		? (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr;

	if (!inet_ntop(a->ss.ss_family, raw, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, cap, a->ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, addr_port(a));
	return buf;
}

/* --- PRNG (splitmix64) -------------------------------------------------------- */

static uint64_t rng_next(enum dir d)
{
	uint64_t z = (rng_state[d] += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(enum dir d)
{
	return (double)(rng_next(d) >> 11) / 9007199254740992.0;
}

static bool rng_pct(enum dir d, double pct)
{
	return pct > 0 && rng_unit(d) * 100.0 < pct;
}

/* --- the delay queue: a binary min-heap of slot numbers ----------------------- */

static bool pkt_before(uint32_t a, uint32_t b)
{
	if (slots[a].due_ns != slots[b].due_ns)
		return slots[a].due_ns < slots[b].due_ns;
	return slots[a].order < slots[b].order;
}

static void heap_swap(uint32_t i, uint32_t j)
{
	uint32_t t = heap[i];

	heap[i] = heap[j];
	heap[j] = t;
}

static void heap_push(uint32_t slot)
{
	uint32_t i = heap_n++;

	heap[i] = slot;
	while (i > 0 && pkt_before(heap[i], heap[(i - 1) / 2])) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static uint32_t heap_pop(void)
{
	uint32_t top = heap[0], i = 0;

	heap[0] = heap[--heap_n];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < heap_n && pkt_before(heap[l], heap[m]))
			m = l;
		if (r < heap_n && pkt_before(heap[r], heap[m]))
			m = r;
		if (m == i)
			return top;
		heap_swap(i, m);
		i = m;
	}
}

static void queue_init(void)
{
	for (uint32_t i = 0; i < QUEUE_SLOTS; i++)
		free_stack[i] = QUEUE_SLOTS - 1 - i;
	free_n = QUEUE_SLOTS;
}

/* Queues a copy of data; false when the queue or the buffer budget is full. */
static bool queue_add(enum dir d, uint32_t map, const uint8_t *data, uint32_t len,
		      uint64_t due_ns, uint64_t arrival)
{
	struct pkt *p;
	uint32_t slot;

	if (!free_n)
		return false;
	slot = free_stack[free_n - 1];
	p = &slots[slot];
	if (p->cap < len) {
		uint32_t cap = len < MIN_BUF ? MIN_BUF : len;
		uint8_t *nb;

		if (mem_used - p->cap + cap > MEM_CAP)
			return false;
		nb = realloc(p->buf, cap);
		if (!nb)
			return false;
		mem_used = mem_used - p->cap + cap;
		p->buf = nb;
		p->cap = cap;
	}
	free_n--;
	memcpy(p->buf, data, len);
	p->len = len;
	p->dir = (uint8_t)d;
	p->map = map;
	p->gen = maps[map].gen;
	p->due_ns = due_ns;
	p->arrival = arrival;
	p->order = order_seq++;
	heap_push(slot);
	return true;
}

/* --- counters ----------------------------------------------------------------- */

static void print_stats(const char *why)
{
	static const char *const names[2] = { "c2s", "s2c" };
	unsigned active = 0;

	for (unsigned i = 0; i < MAX_MAPS; i++)
		active += maps[i].used;
	for (int d = 0; d < 2; d++) {
		const struct stats *s = &st[d];
		uint64_t dropped = s->lost + s->full + s->stale + s->nomap + s->foreign + s->toolong +
				   s->errors;

		fprintf(stderr,
			"wsrelay: %s received=%llu forwarded=%llu dropped=%llu lost=%llu "
			"duplicated=%llu reordered=%llu delayed_for_reorder=%llu full=%llu "
			"stale=%llu nomap=%llu foreign=%llu toolong=%llu errors=%llu\n",
			names[d], (unsigned long long)s->received, (unsigned long long)s->forwarded,
			(unsigned long long)dropped, (unsigned long long)s->lost,
			(unsigned long long)s->duplicated, (unsigned long long)s->reordered,
			(unsigned long long)s->delayed, (unsigned long long)s->full,
			(unsigned long long)s->stale, (unsigned long long)s->nomap,
			(unsigned long long)s->foreign, (unsigned long long)s->toolong,
			(unsigned long long)s->errors);
	}
	fprintf(stderr, "wsrelay: %s mappings=%u created=%llu expired=%llu queued=%u buffer_bytes=%llu\n",
		why, active, (unsigned long long)maps_created, (unsigned long long)maps_expired,
		heap_n, (unsigned long long)mem_used);
}

/* --- mappings ----------------------------------------------------------------- */

static void map_close(uint32_t i)
{
	close(maps[i].fd);
	maps[i].fd = -1;
	maps[i].used = false;
	maps[i].gen++;
}

static void maps_expire(uint64_t now)
{
	for (uint32_t i = 0; i < MAX_MAPS; i++) {
		if (maps[i].used && now - maps[i].last_ns > IDLE_NS) {
			map_close(i);
			maps_expired++;
		}
	}
}

/* An outbound socket for a new client: its own port, -b if given, connected to SERVER. */
static int map_socket(void)
{
	int fd = socket(o.server.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sock_buffers(fd);
	if ((o.have_bind && bind(fd, (const struct sockaddr *)&o.bind.ss, o.bind.len) < 0) ||
	    connect(fd, (const struct sockaddr *)&o.server.ss, o.server.len) < 0) {
		fprintf(stderr, "wsrelay: outbound socket: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The mapping of a client, created if new; -1 when none can be made. */
static int map_get(const struct sockaddr_storage *from, socklen_t len, uint64_t now)
{
	static uint32_t last;
	int free_slot = -1;

	if (maps[last].used && addr_eq(&maps[last].client, from))
		return (int)last;
	for (uint32_t i = 0; i < MAX_MAPS; i++) {
		if (maps[i].used && addr_eq(&maps[i].client, from))
			return (int)(last = i);
		if (!maps[i].used && free_slot < 0)
			free_slot = (int)i;
	}
	if (free_slot < 0) {
		maps_expire(now);
		for (uint32_t i = 0; i < MAX_MAPS && free_slot < 0; i++)
			if (!maps[i].used)
				free_slot = (int)i;
		if (free_slot < 0)
			return -1;
	}
	struct mapping *m = &maps[free_slot];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_MAP + (uint64_t)free_slot };

	m->fd = map_socket();
	if (m->fd < 0)
		return -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, m->fd, &ev) < 0) {
		close(m->fd);
		return -1;
	}
	memcpy(&m->client.ss, from, len);
	m->client.len = len;
	m->used = true;
	m->last_ns = now;
	maps_created++;
	return (int)(last = (uint32_t)free_slot);
}

/* --- forwarding --------------------------------------------------------------- */

static uint64_t draw_delay_ns(enum dir d)
{
	double ms = o.delay_ms;

	if (o.jitter_ms > 0)
		ms += (rng_unit(d) * 2.0 - 1.0) * o.jitter_ms;
	if (rng_pct(d, o.reorder_pct)) {
		ms += o.reorder_extra_ms;
		st[d].delayed++;
	}
	return ms <= 0 ? 0 : (uint64_t)(ms * (double)MSEC);
}

/* Applies loss, duplication, delay and reordering to one received datagram. */
static void impair(enum dir d, uint32_t map, const uint8_t *data, uint32_t len, uint64_t now)
{
	struct stats *s = &st[d];
	uint64_t arrival = s->arrivals++;
	int copies = 1;

	s->received++;
	if (rng_pct(d, o.loss_pct)) {
		s->lost++;
		return;
	}
	if (rng_pct(d, o.dup_pct)) {
		copies = 2;
		s->duplicated++;
	}
	for (int i = 0; i < copies; i++)
		if (!queue_add(d, map, data, len, now + draw_delay_ns(d), arrival))
			s->full++;
}

static void send_pkt(const struct pkt *p)
{
	struct stats *s = &st[p->dir];
	struct mapping *m = &maps[p->map];
	ssize_t n;

	if (!m->used || m->gen != p->gen) {
		s->stale++;
		return;
	}
	if (p->dir == C2S)
		n = send(m->fd, p->buf, p->len, 0);
	else
		n = sendto(listen_fd, p->buf, p->len, 0, (const struct sockaddr *)&m->client.ss,
			   m->client.len);
	if (n < 0) {
		s->errors++;
		return;
	}
	s->forwarded++;
	if (s->sent_any && p->arrival < s->max_sent_arrival)
		s->reordered++;
	if (!s->sent_any || p->arrival > s->max_sent_arrival)
		s->max_sent_arrival = p->arrival;
	s->sent_any = true;
}

/* Sends every packet due by now (in due order) and re-arms the timer. */
static void flush_due(void)
{
	uint64_t now = now_ns();
	struct itimerspec its = { 0 };

	while (heap_n && slots[heap[0]].due_ns <= now) {
		uint32_t slot = heap_pop();

		send_pkt(&slots[slot]);
		free_stack[free_n++] = slot;
	}
	if (heap_n) {
		uint64_t due = slots[heap[0]].due_ns;

		its.it_value.tv_sec = (time_t)(due / NSEC);
		its.it_value.tv_nsec = (long)(due % NSEC);
	}
	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void read_listen(void)
{
	for (int i = 0; i < RX_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(listen_fd, rxbuf, sizeof(rxbuf), MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);
		uint64_t now = now_ns();
		int m;

		if (n < 0)
			return;
		if (n > MAX_DGRAM) {
			st[C2S].toolong++;
			continue;
		}
		if (!addr_allowed(&from)) {
			st[C2S].foreign++;
			continue;
		}
		m = map_get(&from, flen, now);
		if (m < 0) {
			st[C2S].nomap++;
			continue;
		}
		maps[m].last_ns = now;
		impair(C2S, (uint32_t)m, rxbuf, (uint32_t)n, now);
	}
}

static void read_map(uint32_t i)
{
	for (int k = 0; k < RX_BURST && maps[i].used; k++) {
		ssize_t n = recv(maps[i].fd, rxbuf, sizeof(rxbuf), MSG_TRUNC);
		uint64_t now = now_ns();

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* ECONNREFUSED and the like: the server's port was closed */
		}
		if (n > MAX_DGRAM) {
			st[S2C].toolong++;
			continue;
		}
		maps[i].last_ns = now;
		impair(S2C, i, rxbuf, (uint32_t)n, now);
	}
}

/* Returns false when the relay must stop. */
static bool read_signals(void)
{
	struct signalfd_siginfo si;
	bool go_on = true;

	while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_stats("SIGUSR1");
		else
			go_on = false;
	}
	return go_on;
}

static void drain_timer(void)
{
	uint64_t expirations;

	if (read(timer_fd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: re-armed since it fired */
	}
}

/* --- setup and main loop ------------------------------------------------------ */

static int setup(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;
	int one = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	listen_fd = socket(o.listen.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (epfd < 0 || listen_fd < 0 || timer_fd < 0 || signal_fd < 0)
		return -1;
	if (o.listen.ss.ss_family == AF_INET6)
		setsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	sock_buffers(listen_fd);
	if (bind(listen_fd, (const struct sockaddr *)&o.listen.ss, o.listen.len) < 0)
		return -1;
	ev.data.u64 = EV_LISTEN;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
		return -1;
	ev.data.u64 = EV_TIMER;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, timer_fd, &ev) < 0)
		return -1;
	ev.data.u64 = EV_SIGNAL;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, signal_fd, &ev);
}

static void run(void)
{
	uint64_t deadline = now_ns() + (uint64_t)o.seconds * NSEC, next_sweep = 0;
	bool go_on = true;

	while (go_on) {
		struct epoll_event evs[64];
		uint64_t now = now_ns();
		int n, timeout_ms;

		if (now >= deadline)
			break;
		if (now >= next_sweep) {
			maps_expire(now);
			next_sweep = now + NSEC;
		}
		timeout_ms = (int)((deadline - now + MSEC - 1) / MSEC);
		if (timeout_ms > 1000)
			timeout_ms = 1000;
		n = epoll_wait(epfd, evs, 64, timeout_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == EV_LISTEN)
				read_listen();
			else if (tag == EV_TIMER)
				drain_timer();
			else if (tag == EV_SIGNAL)
				go_on = read_signals();
			else if (tag - EV_MAP < MAX_MAPS)
				read_map((uint32_t)(tag - EV_MAP));
		}
		flush_due();
	}
}

static void teardown(void)
{
	for (uint32_t i = 0; i < MAX_MAPS; i++)
		if (maps[i].used)
			map_close(i);
	for (uint32_t i = 0; i < QUEUE_SLOTS; i++)
		free(slots[i].buf);
	close(signal_fd);
	close(timer_fd);
	close(listen_fd);
	close(epfd);
}

/* --- options ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: wsrelay -l LISTEN_ADDR:PORT -s SERVER_ADDR:PORT [-d DELAY_MS] [-j JITTER_MS]\n"
		"               [-r REORDER_PCT] [-R REORDER_EXTRA_MS] [-u DUP_PCT] [-x LOSS_PCT]\n"
		"               [-S SEED] [-t SECONDS] [-b OUTBOUND_BIND_ADDR]\n"
		"addresses: a.b.c.d:port or [v6]:port, in 127/8, ::1, 198.18/15, fd18::/16, fd19::/16\n");
	exit(2);
}

static double opt_num(const char *name, const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v >= 0 && v <= max)) {
		fprintf(stderr, "wsrelay: bad %s '%s' (0..%g)\n", name, s, max);
		exit(2);
	}
	return v;
}

static void parse_opts(int argc, char **argv)
{
	bool have_l = false, have_s = false;
	int c;

	while ((c = getopt(argc, argv, "l:s:d:j:r:R:u:x:S:t:b:h")) != -1) {
		switch (c) {
		case 'l': opt_addr(&o.listen, "listen", optarg, PORT_REQUIRED); have_l = true; break;
		case 's': opt_addr(&o.server, "server", optarg, PORT_REQUIRED); have_s = true; break;
		case 'b': opt_addr(&o.bind, "bind", optarg, PORT_NONE); o.have_bind = true; break;
		case 'd': o.delay_ms = opt_num("delay", optarg, 60000); break;
		case 'j': o.jitter_ms = opt_num("jitter", optarg, 60000); break;
		case 'r': o.reorder_pct = opt_num("reorder", optarg, 100); break;
		case 'R': o.reorder_extra_ms = opt_num("reorder extra", optarg, 60000);
			  o.have_extra = true; break;
		case 'u': o.dup_pct = opt_num("duplication", optarg, 100); break;
		case 'x': o.loss_pct = opt_num("loss", optarg, 100); break;
		case 'S': o.seed = (uint64_t)opt_num("seed", optarg, 1e18); break;
		case 't': o.seconds = (unsigned)opt_num("seconds", optarg, MAX_SECONDS); break;
		default: usage();
		}
	}
	if (optind != argc || !have_l || !have_s || o.seconds == 0)
		usage();
	require_same_family(&o.bind, o.have_bind, &o.server);
	if (!o.have_extra)
		o.reorder_extra_ms = o.delay_ms + 2 * o.jitter_ms + 1;
}

int main(int argc, char **argv)
{
	char la[64], sa[64], ba[64] = "(auto)";

	parse_opts(argc, argv);
	rng_state[C2S] = o.seed;
	rng_state[S2C] = o.seed ^ 0x5bd1e9955bd1e995ULL;
	queue_init();
	if (setup() < 0) {
		fprintf(stderr, "wsrelay: setup: %s\n", strerror(errno));
		return 1;
	}
	if (o.have_bind)
		addr_str(&o.bind, ba, sizeof(ba));
	fprintf(stderr,
		"wsrelay: listening on %s, server %s, outbound from %s, seed %llu, delay %g+-%g ms, "
		"reorder %g%% (+%g ms), dup %g%%, loss %g%%, for %u s\n",
		addr_str(&o.listen, la, sizeof(la)), addr_str(&o.server, sa, sizeof(sa)), ba,
		(unsigned long long)o.seed, o.delay_ms, o.jitter_ms, o.reorder_pct,
		o.reorder_extra_ms, o.dup_pct, o.loss_pct, o.seconds);
	run();
	print_stats("exit");
	teardown();
	return 0;
}
