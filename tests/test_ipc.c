/* SPDX-License-Identifier: MIT */
/* The control socket codec. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "test.h"

struct seen {
	int n;
	char keys[8][32], values[8][64];
};

static int collect(void *ctx, const char *key, const char *value)
{
	struct seen *s = ctx;

	if (s->n == 8)
		return -E2BIG;
	strncpy(s->keys[s->n], key, 31);
	strncpy(s->values[s->n], value, 63);
	s->n++;
	return 0;
}

static int parse_str(const char *text, struct seen *s)
{
	char *buf = strdup(text);
	int ret;

	memset(s, 0, sizeof(*s));
	ret = ws_ipc_parse(buf, strlen(buf), collect, s);
	free(buf);
	return ret;
}

static void test_parse_ok(void)
{
	struct seen s;

	CU_ASSERT_EQUAL(parse_str("get=1\n\n", &s), 0);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_STRING_EQUAL(s.keys[0], "get");
	CU_ASSERT_STRING_EQUAL(s.values[0], "1");
	CU_ASSERT_EQUAL(parse_str("set=1\npublic_key=ab=c\nendpoint=[fd18::1]:5\n\n", &s), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_STRING_EQUAL(s.values[1], "ab=c"); /* only the first '=' splits */
	CU_ASSERT_STRING_EQUAL(s.keys[2], "endpoint");
	CU_ASSERT_EQUAL(parse_str("a=\n", &s), 0); /* empty value, no final empty line */
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_STRING_EQUAL(s.values[0], "");
}

static void test_parse_errors(void)
{
	struct seen s;
	char longline[WS_IPC_MAX_LINE + 8];

	CU_ASSERT_EQUAL(parse_str("get\n\n", &s), -EINVAL);       /* no '=' */
	CU_ASSERT_EQUAL(parse_str("=1\n\n", &s), -EINVAL);        /* empty key */
	CU_ASSERT_EQUAL(parse_str("Get=1\n\n", &s), -EINVAL);     /* key charset */
	CU_ASSERT_EQUAL(parse_str("get=1", &s), -EINVAL);         /* unterminated */
	CU_ASSERT_EQUAL(parse_str("get=1\n\nx=1\n", &s), -EINVAL); /* data after the end */
	CU_ASSERT_EQUAL(parse_str("a=b\tc\n\n", &s), -EINVAL);    /* control char */
	memset(longline, 'a', sizeof(longline));
	longline[0] = 'k';
	longline[1] = '=';
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	CU_ASSERT_EQUAL(parse_str(longline, &s), -EINVAL);
	/* A callback error stops the parse and is returned. */
	CU_ASSERT_EQUAL(parse_str("a=1\nb=1\nc=1\nd=1\ne=1\nf=1\ng=1\nh=1\ni=1\n\n", &s), -E2BIG);
	CU_ASSERT_EQUAL(s.n, 8);
}

static void test_buf(void)
{
	struct ws_ipc_buf b;

	ws_ipc_buf_init(&b);
	ws_ipc_put(&b, "listen_port", "%d", 51820);
	ws_ipc_put(&b, "endpoint", "%s", "198.18.0.2:1");
	ws_ipc_end(&b);
	CU_ASSERT_FALSE(b.overflow);
	CU_ASSERT_STRING_EQUAL(b.data, "listen_port=51820\nendpoint=198.18.0.2:1\n\n");
	ws_ipc_put(&b, "bad", "%s", "a\nb");
	CU_ASSERT_TRUE(b.overflow); /* newline in a value */
	ws_ipc_buf_free(&b);
}

/* Every block a message buffer gives back: counted, and checked wiped. */
static unsigned released, released_dirty;

static void watch_release(const void *p, size_t len)
{
	const unsigned char *b = p;

	released++;
	for (size_t i = 0; i < len; i++)
		if (b[i]) {
			released_dirty++;
			break;
		}
}

#define SECRET "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="

/* A reply that holds a secret grows many times and overflows: no block goes
 * back to the allocator with anything left in it. */
static void test_buf_wiped(void)
{
	struct ws_ipc_buf b;
	unsigned grown = 0;
	size_t cap = 0;

	released = released_dirty = 0;
	ws_ipc_on_release = watch_release;
	ws_ipc_buf_init(&b);
	ws_ipc_put(&b, "private_key", "%s", SECRET);
	for (int i = 0; i < 2000; i++) {
		ws_ipc_put(&b, "line", "%d %s", i, SECRET);
		grown += b.cap != cap;
		cap = b.cap;
	}
	CU_ASSERT(grown >= 8);
	CU_ASSERT_EQUAL(released, grown - 1); /* every block but the live one */
	ws_ipc_buf_free(&b);
	CU_ASSERT_EQUAL(released, grown);
	/* The overflow path. */
	ws_ipc_buf_init(&b);
	ws_ipc_put(&b, "private_key", "%s", SECRET);
	for (int i = 0; !b.overflow && i < 10000000; i++)
		ws_ipc_put(&b, "line", "%0900d", i);
	CU_ASSERT_TRUE(b.overflow);
	ws_ipc_buf_free(&b);
	CU_ASSERT_EQUAL(released_dirty, 0);
	ws_ipc_on_release = NULL;
}

/* Reading a message that holds a secret, in many growing steps. */
static void test_read_wiped(void)
{
	static char msg[64 << 10];
	size_t len = 0;
	char *got = NULL;
	int sv[2];

	len += (size_t)sprintf(msg, "set=1\nprivate_key=%s\n", SECRET);
	while (len < sizeof(msg) - 100)
		len += (size_t)sprintf(msg + len, "allowed_ip=198.19.%u.%u/32\n",
				       (unsigned)(len >> 8) & 255, (unsigned)len & 255);
	msg[len++] = '\n';
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_FATAL(write(sv[1], msg, len) == (ssize_t)len);
	released = released_dirty = 0;
	ws_ipc_on_release = watch_release;
	CU_ASSERT_EQUAL(ws_ipc_read_message(sv[0], &got, 1000), (ssize_t)len);
	CU_ASSERT(released >= 4); /* 4 KiB doubled up to 128 KiB */
	if (got)
		CU_ASSERT(!memcmp(got, msg, len));
	ws_ipc_release(got, len + 1);
	/* A message cut short: the partial copy is wiped too. */
	CU_ASSERT_FATAL(write(sv[1], msg, 5000) == 5000);
	close(sv[1]);
	CU_ASSERT_EQUAL(ws_ipc_read_message(sv[0], &got, 1000), -ECONNRESET);
	close(sv[0]);
	CU_ASSERT_EQUAL(released_dirty, 0);
	ws_ipc_on_release = NULL;
}

WS_SUITE(ipc)
{
	WS_ADD(suite, test_parse_ok);
	WS_ADD(suite, test_parse_errors);
	WS_ADD(suite, test_buf);
	WS_ADD(suite, test_buf_wiped);
	WS_ADD(suite, test_read_wiped);
}
