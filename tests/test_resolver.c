/* SPDX-License-Identifier: MIT */
/*
 * The resolver: answers come back tagged with their id and generation, in
 * bounded time; a lookup that hangs never blocks the caller (submit, collect
 * and destroy return at once), and the table is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "os/resolver.h"
#include "test.h"

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait (at most limit_ms) for one answer. */
static bool wait_answer(struct ws_resolver *r, struct ws_resolver_answer *a, int limit_ms)
{
	uint64_t end = ms_now() + (uint64_t)limit_ms;

	for (;;) {
		struct pollfd p = {.fd = ws_resolver_fd(r), .events = POLLIN};
		uint64_t counter, now = ms_now();

		if (ws_resolver_collect(r, a))
			return true;
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return false;
		if (read(p.fd, &counter, sizeof(counter)) < 0 && errno != EAGAIN)
			return false;
	}
}

static void test_resolve_real(void)
{
	struct ws_resolver *r = NULL;
	struct ws_resolver_answer a;
	uint8_t id[WS_RESOLVER_ID_LEN];
	const struct sockaddr_in *sin = (const void *)&a.addr;
	uint64_t t0 = ms_now();

	memset(id, 0xab, sizeof(id));
	CU_ASSERT_FATAL(ws_resolver_create(&r, NULL) == 0);
	CU_ASSERT_EQUAL(ws_resolver_submit(r, id, 7, "127.0.0.1", 51820), 0);
	CU_ASSERT_FATAL(wait_answer(r, &a, 5000));
	CU_ASSERT_EQUAL(a.err, 0);
	CU_ASSERT_EQUAL(a.gen, 7);
	CU_ASSERT(!memcmp(a.id, id, sizeof(id)));
	CU_ASSERT_STRING_EQUAL(a.host, "127.0.0.1");
	CU_ASSERT_EQUAL(a.addr.ss_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), 51820);
	CU_ASSERT_EQUAL(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	/* A name that cannot exist (an empty label): an error, promptly. */
	id[0] = 1;
	CU_ASSERT_EQUAL(ws_resolver_submit(r, id, 8, "no..such", 1), 0);
	CU_ASSERT_FATAL(wait_answer(r, &a, 5000));
	CU_ASSERT_EQUAL(a.gen, 8);
	CU_ASSERT_EQUAL(a.id[0], 1);
	CU_ASSERT(a.err < 0);
	CU_ASSERT_FALSE(ws_resolver_collect(r, &a));
	CU_ASSERT(ms_now() - t0 < 5000);
	ws_resolver_destroy(r);
}

static void test_numeric(void)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *s6 = (const void *)&ss;

	CU_ASSERT_EQUAL(ws_resolver_numeric(&ss, "fd18::1", 9), 0);
	CU_ASSERT_EQUAL(ss.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(ntohs(s6->sin6_port), 9);
	CU_ASSERT_EQUAL(ws_resolver_numeric(&ss, "198.18.0.1", 9), 0);
	CU_ASSERT_EQUAL(ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(ws_resolver_numeric(&ss, "localhost", 9), -EINVAL);
}

/* A lookup that hangs until the test lets it go. */
static int gate[2];
static int hangs, released;

static int hanging_lookup(struct sockaddr_storage *out, const char *host, uint16_t port)
{
	char c;

	(void)out;
	(void)port;
	if (!strcmp(host, "quick"))
		return -EHOSTUNREACH;
	__atomic_add_fetch(&hangs, 1, __ATOMIC_SEQ_CST);
	if (read(gate[0], &c, 1) != 1)
		return -EIO;
	__atomic_add_fetch(&released, 1, __ATOMIC_SEQ_CST);
	return -EAGAIN;
}

static void test_hanging_lookups_never_block(void)
{
	struct ws_resolver *r = NULL;
	struct ws_resolver_answer a;
	uint8_t id[WS_RESOLVER_ID_LEN] = { 0 };
	char big[WS_RESOLVER_HOST_MAX + 2];
	uint64_t t0;
	int n = 0;

	CU_ASSERT_FATAL(pipe(gate) == 0);
	hangs = released = 0;
	CU_ASSERT_FATAL(ws_resolver_create(&r, hanging_lookup) == 0);
	t0 = ms_now();
	/* Every worker hangs; submitting fills the table, then says so. */
	for (int i = 0; i < 1000 && ws_resolver_submit(r, id, (uint64_t)i, "slow", 1) == 0; i++)
		n++;
	CU_ASSERT_EQUAL(n, WS_RESOLVER_SLOTS);
	CU_ASSERT_EQUAL(ws_resolver_submit(r, id, 0, "slow", 1), -EAGAIN);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(ws_resolver_submit(r, id, 0, big, 1), -ENAMETOOLONG);
	CU_ASSERT_FALSE(ws_resolver_collect(r, &a));
	for (int i = 0; i < 100 && __atomic_load_n(&hangs, __ATOMIC_SEQ_CST) < WS_RESOLVER_THREADS; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(hangs, WS_RESOLVER_THREADS);
	/* One lookup comes back: its answer, the oldest request, is collected;
	 * another worker takes the next request and hangs too. */
	CU_ASSERT_FATAL(write(gate[1], "x", 1) == 1);
	CU_ASSERT_FATAL(wait_answer(r, &a, 2000));
	CU_ASSERT(a.gen < WS_RESOLVER_THREADS);
	CU_ASSERT_EQUAL(a.err, -EAGAIN);
	CU_ASSERT_EQUAL(ws_resolver_submit(r, id, 99, "slow", 1), 0);
	/* Destroy does not wait for the hanging lookups. */
	ws_resolver_destroy(r);
	CU_ASSERT(ms_now() - t0 < 1000);
	/* Let the workers go: they free the resolver (ASan checks the rest). */
	for (int i = 0; i < WS_RESOLVER_THREADS; i++)
		CU_ASSERT(write(gate[1], "x", 1) == 1);
	for (int i = 0; i < 100 && __atomic_load_n(&released, __ATOMIC_SEQ_CST) < 1 + WS_RESOLVER_THREADS; i++)
		usleep(10000);
	usleep(20000);
	CU_ASSERT_EQUAL(released, 1 + WS_RESOLVER_THREADS);
	close(gate[0]);
	close(gate[1]);
}

/* Quick answers come back in the order asked, each once. */
static void test_order(void)
{
	struct ws_resolver *r = NULL;
	struct ws_resolver_answer a;
	uint8_t id[WS_RESOLVER_ID_LEN] = { 0 };
	uint64_t seen = 0;

	CU_ASSERT_FATAL(ws_resolver_create(&r, hanging_lookup) == 0);
	for (uint64_t i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(ws_resolver_submit(r, id, i, "quick", 1), 0);
	for (int i = 0; i < 20 && wait_answer(r, &a, 2000); i++) {
		CU_ASSERT_EQUAL(a.err, -EHOSTUNREACH);
		seen |= 1ull << a.gen;
	}
	CU_ASSERT_EQUAL(seen, (1ull << 20) - 1);
	CU_ASSERT_FALSE(ws_resolver_collect(r, &a));
	ws_resolver_destroy(r);
}

WS_SUITE(resolver)
{
	WS_ADD(suite, test_resolve_real);
	WS_ADD(suite, test_numeric);
	WS_ADD(suite, test_hanging_lookups_never_block);
	WS_ADD(suite, test_order);
}
