/* SPDX-License-Identifier: MIT */
/* The control socket codec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../src/ipc.h"
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

WS_SUITE(ipc)
{
	WS_ADD(suite, test_parse_ok);
	WS_ADD(suite, test_parse_errors);
	WS_ADD(suite, test_buf);
}
