/* SPDX-License-Identifier: MIT */
/* Codec of the control socket protocol. No I/O. */
#include "core/ipc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

void (*ws_ipc_on_release)(const void *p, size_t len);

void ws_ipc_release(void *p, size_t cap)
{
	if (!p)
		return;
	ws_wipe(p, cap);
	if (ws_ipc_on_release)
		ws_ipc_on_release(p, cap);
	free(p);
}

void *ws_ipc_grow(void *p, size_t len, size_t cap, size_t new_cap)
{
	void *n = malloc(new_cap);

	if (!n)
		return NULL;
	if (len)
		memcpy(n, p, len);
	ws_ipc_release(p, cap);
	return n;
}

static bool key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

static bool value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

int ws_ipc_parse(char *buf, size_t len, int (*cb)(void *ctx, const char *key, const char *value),
		 void *ctx)
{
	size_t pos = 0;

	while (pos < len) {
		char *line = buf + pos, *nl = memchr(line, '\n', len - pos), *eq;
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		int ret;

		if (line_len == 0) /* the terminating empty line */
			return pos + 1 == len ? 0 : -EINVAL;
		if (line_len > WS_IPC_MAX_LINE || memchr(line, '\0', line_len))
			return -EINVAL;
		if (!nl)
			return -EINVAL; /* a line must end in a newline */
		*nl = '\0';
		eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (!key_ok(line) || !value_ok(eq + 1))
			return -EINVAL;
		ret = cb(ctx, line, eq + 1);
		if (ret)
			return ret;
		pos += line_len + 1;
	}
	return 0;
}

bool ws_ipc_complete(const char *buf, size_t len)
{
	return (len == 1 && buf[0] == '\n') ||
	       (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n');
}

void ws_ipc_buf_init(struct ws_ipc_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ws_ipc_buf_free(struct ws_ipc_buf *b)
{
	ws_ipc_release(b->data, b->cap);
	ws_ipc_buf_init(b);
}

static bool reserve(struct ws_ipc_buf *b, size_t more)
{
	size_t want = b->len + more + 1;
	char *p;

	if (b->overflow || want > WS_IPC_MAX_MESSAGE) {
		b->overflow = true;
		return false;
	}
	if (want <= b->cap)
		return true;
	if (want < 2 * b->cap)
		want = 2 * b->cap;
	if (want < 256)
		want = 256;
	p = ws_ipc_grow(b->data, b->len, b->cap, want);
	if (!p) {
		b->overflow = true;
		return false;
	}
	b->data = p;
	b->cap = want;
	return true;
}

void ws_ipc_vput(struct ws_ipc_buf *b, const char *key, const char *fmt, va_list ap)
{
	char value[WS_IPC_MAX_LINE + 1];
	int n = vsnprintf(value, sizeof(value), fmt, ap);
	size_t klen = strlen(key);

	if (n < 0 || (size_t)n + klen + 1 > WS_IPC_MAX_LINE || strchr(value, '\n'))
		b->overflow = true;
	else if (reserve(b, klen + 1 + (size_t)n + 1))
		b->len += (size_t)sprintf(b->data + b->len, "%s=%s\n", key, value);
	ws_wipe(value, n < 0 ? sizeof(value) : (size_t)n < sizeof(value) ? (size_t)n + 1 : sizeof(value));
}

void ws_ipc_put(struct ws_ipc_buf *b, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ws_ipc_vput(b, key, fmt, ap);
	va_end(ap);
}

void ws_ipc_end(struct ws_ipc_buf *b)
{
	if (reserve(b, 1)) {
		b->data[b->len++] = '\n';
		b->data[b->len] = '\0';
	}
}
