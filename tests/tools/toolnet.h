/* SPDX-License-Identifier: MIT */
/*
 * toolnet.h: what the test tools in tests/tools/ share: UDP endpoint
 * addresses ("a.b.c.d:port", "[v6]:port"), the safety check that keeps
 * every tool inside the test ranges (127.0.0.0/8, ::1, 198.18.0.0/15,
 * fd18::/16, fd19::/16), the command-line checks built on them (exit 2),
 * clocks and socket buffers.
 *
 * Each tool is one translation unit that includes this header once, after
 * defining TOOL_NAME (e.g. "wsrelay"), the prefix of every message printed
 * here. Everything is static inline, so a tool that uses only part of it
 * compiles warning-free.
 */
#ifndef WS_TOOLNET_H
#define WS_TOOLNET_H

#ifndef TOOL_NAME
#error "define TOOL_NAME before including toolnet.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define NSEC 1000000000ULL
#define MSEC 1000000ULL

/* The test ranges, as the refusal messages name them. */
#define TEST_RANGES "127.0.0.0/8, ::1, 198.18.0.0/15, fd18::/16, fd19::/16"

enum {
	SOCK_BUF = 4 << 20,      /* bytes asked for both socket buffers */
};

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* What addr_parse and opt_addr accept after the host. */
enum port_rule {
	PORT_REQUIRED,           /* ":1".."65535" */
	PORT_OPTIONAL,           /* ":0".."65535" or none (port 0) */
	PORT_OPTIONAL_NONZERO,   /* ":1".."65535" or none (port 0) */
	PORT_NONE,               /* as PORT_OPTIONAL; opt_addr then refuses a port other than 0 */
};

/* --- clocks ------------------------------------------------------------------ */

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* --- addresses ----------------------------------------------------------------- */

/* 198.18.0.0/15 (host order). */
static inline bool v4_in_test_range(uint32_t ip)
{
	return (ip & 0xfffe0000u) == 0xc6120000u;
}

/* 127.0.0.0/8, ::1, 198.18.0.0/15, fd18::/16, fd19::/16; any other family: false. */
static inline bool addr_allowed(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		uint32_t ip = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);

		return (ip >> 24) == 127 || v4_in_test_range(ip);
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (a->s6_addr[0] == 0xfd && (a->s6_addr[1] == 0x18 || a->s6_addr[1] == 0x19));
	}
	return false;
}

/* Host order; a must be AF_INET or AF_INET6. */
static inline uint16_t addr_port(const struct addr *a)
{
	return ntohs(a->ss.ss_family == AF_INET ? ((const struct sockaddr_in *)&a->ss)->sin_port
						: ((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* Same family, address and port (a must be AF_INET or AF_INET6). */
static inline bool addr_eq(const struct addr *a, const struct sockaddr_storage *ss)
{
	if (a->ss.ss_family != ss->ss_family)
		return false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)ss;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/*
 * "a.b.c.d:port" or "[v6]:port"; where rule lets the port out, also
 * "a.b.c.d", "[v6]" and a bare v6 address (port 0). Does not check the
 * test ranges. Returns 0; -ERANGE when the port part is there but not a
 * number the rule accepts; -EINVAL for anything else (brackets, host, a
 * missing port). *out is written only on success.
 */
static inline int addr_parse(struct addr *out, const char *s, enum port_rule rule)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t hlen;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		hlen = (size_t)(end - s - 1);
		s++;
		port = end[1] ? end + 2 : NULL;
	} else if (strchr(s, ':') && strchr(s, ':') == strrchr(s, ':')) {
		end = strchr(s, ':');
		hlen = (size_t)(end - s);
		port = end + 1;
	} else {
		hlen = strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(host) || (!port && rule == PORT_REQUIRED))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';

	unsigned long p = 0;
	if (port) {
		bool zero_ok = rule == PORT_OPTIONAL || rule == PORT_NONE;
		char *e;

		errno = 0;
		p = strtoul(port, &e, 10);
		if (!*port || *e || errno || p > 65535 || (p == 0 && !zero_ok))
			return -ERANGE;
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*v6);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* --- command-line checks (exit 2) ----------------------------------------------- */

/*
 * The address option called name (e.g. "listen"): parsed by rule, a port
 * refused under PORT_NONE, then refused outside the test ranges. Prints
 * why and exits 2 on any failure.
 */
static inline void opt_addr(struct addr *a, const char *name, const char *s, enum port_rule rule)
{
	if (addr_parse(a, s, rule) < 0) {
		fprintf(stderr, TOOL_NAME ": bad %s address '%s'\n", name, s);
		exit(2);
	}
	if (rule == PORT_NONE && addr_port(a) != 0) {
		fprintf(stderr, TOOL_NAME ": %s takes an address without a port: '%s'\n", name, s);
		exit(2);
	}
	if (!addr_allowed(&a->ss)) {
		fprintf(stderr, TOOL_NAME ": refusing %s address '%s': outside " TEST_RANGES "\n",
			name, s);
		exit(2);
	}
}

/* -b (when given) and -s must be of one family, else exit 2. */
static inline void require_same_family(const struct addr *bind_addr, bool have_bind,
				       const struct addr *server)
{
	if (have_bind && bind_addr->ss.ss_family != server->ss.ss_family) {
		fprintf(stderr, TOOL_NAME ": -b and -s must be of the same address family\n");
		exit(2);
	}
}

/* --- sockets -------------------------------------------------------------------- */

/* SOCK_BUF for receiving and sending, beyond rmem_max/wmem_max where allowed. */
static inline void sock_buffers(int fd)
{
	int v = SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

#endif /* WS_TOOLNET_H */
