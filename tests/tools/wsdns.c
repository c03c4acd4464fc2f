/* SPDX-License-Identifier: MIT */
/*
 * wsdns: a minimal DNS responder over UDP (test tool), so that a daemon's
 * name resolution takes the whole DNS path (query sent, answer received and
 * parsed) inside a test namespace.
 *
 *   wsdns -l LISTEN:PORT -a ANSWER_IPV4 [-t SECONDS]
 *
 * Answers every query of class IN: type A with one record (ANSWER_IPV4, TTL
 * 0), any other type with no record (NOERROR). Queries it cannot parse
 * (over 512 bytes, not one question) are dropped. Both addresses must be in
 * the test ranges (exit 2 otherwise); it ends after -t seconds (default 60)
 * or on SIGTERM, printing "queries N" to stderr.
 */
#define TOOL_NAME "wsdns"
#include "toolnet.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

enum { DNS_MAX = 512, HDR = 12, ANSWER_LEN = 16 };

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* End of the single question (after QTYPE and QCLASS), or 0 if malformed. */
static size_t question_end(const uint8_t *q, size_t len)
{
	size_t at = HDR;

	if (len < HDR || q[4] != 0 || q[5] != 1) /* QDCOUNT 1 */
		return 0;
	while (at < len && q[at]) {
		if (q[at] & 0xc0)
			return 0; /* no compression in a question */
		at += 1u + q[at];
	}
	return at + 5 <= len ? at + 5 : 0;
}

/* Builds the answer in r; its length, or 0 to drop the query. */
static size_t answer(uint8_t *r, const uint8_t *q, size_t len, const struct in_addr *a)
{
	size_t end = question_end(q, len);
	bool type_a;

	if (!end || end + ANSWER_LEN > DNS_MAX || q[end - 2] != 0 || q[end - 1] != 1)
		return 0;
	type_a = q[end - 4] == 0 && q[end - 3] == 1;
	memcpy(r, q, end);
	r[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	r[3] = 0x00;                 /* NOERROR */
	r[6] = 0;
	r[7] = type_a;               /* ANCOUNT */
	memset(r + 8, 0, 4);         /* NSCOUNT, ARCOUNT */
	if (!type_a)
		return end;
	/* name: pointer to the question; type A, class IN, TTL 0, RDLENGTH 4 */
	const uint8_t rec[12] = {0xc0, HDR, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4};
	memcpy(r + end, rec, sizeof(rec));
	memcpy(r + end + sizeof(rec), &a->s_addr, 4);
	return end + ANSWER_LEN;
}

int main(int argc, char **argv)
{
	struct addr listen_addr, ans;
	bool have_l = false, have_a = false;
	unsigned long seconds = 60, queries = 0;
	uint8_t q[DNS_MAX + 1], r[DNS_MAX];
	uint64_t deadline;
	int c, fd;

	while ((c = getopt(argc, argv, "l:a:t:")) != -1) {
		switch (c) {
		case 'l': opt_addr(&listen_addr, "listen", optarg, PORT_REQUIRED); have_l = true; break;
		case 'a': opt_addr(&ans, "answer", optarg, PORT_NONE); have_a = true; break;
		case 't': seconds = strtoul(optarg, NULL, 10); break;
		default: have_l = false; break;
		}
	}
	if (!have_l || !have_a || ans.ss.ss_family != AF_INET || !seconds || seconds > 3600) {
		fprintf(stderr, "usage: wsdns -l LISTEN:PORT -a ANSWER_IPV4 [-t 1..3600]\n");
		return 2;
	}
	fd = socket(listen_addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&listen_addr.ss, listen_addr.len) < 0) {
		perror(TOOL_NAME ": listen");
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	deadline = now_ns() + seconds * NSEC;
	while (!stop && now_ns() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		size_t rl;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n <= 0 || n > DNS_MAX || !addr_allowed(&from))
			continue;
		rl = answer(r, q, (size_t)n, &((struct sockaddr_in *)&ans.ss)->sin_addr);
		if (rl && sendto(fd, r, rl, 0, (struct sockaddr *)&from, flen) == (ssize_t)rl)
			queries++;
	}
	fprintf(stderr, "queries %lu\n", queries);
	close(fd);
	return 0;
}
