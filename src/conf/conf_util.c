/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the config reader share (conf_util.h): the first error
 * of a parse as "FILE:LINE: Key: ...", values quoted for messages, and the
 * model's growing arrays. Calls no other conf file; no I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_util.h"

const char *ws_conf_quote(char out[WS_CONF_QUOTE_MAX], const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < WS_CONF_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

void ws_conf_error_vset(struct ws_conf_error *err, const char *name, unsigned line,
			const char *key, const char *fmt, va_list ap)
{
	size_t n;

	err->line = line;
	if (line)
		n = (size_t)snprintf(err->msg, sizeof(err->msg), "%s:%u: ", name, line);
	else
		n = (size_t)snprintf(err->msg, sizeof(err->msg), "%s: ", name);
	if (key && n < sizeof(err->msg))
		n += (size_t)snprintf(err->msg + n, sizeof(err->msg) - n, "%s: ", key);
	if (n < sizeof(err->msg))
		vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
}

void ws_conf_error_set(struct ws_conf_error *err, const char *name, unsigned line,
		       const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ws_conf_error_vset(err, name, line, key, fmt, ap);
	va_end(ap);
}

void ws_conf_error_clear(struct ws_conf_error *err)
{
	err->msg[0] = '\0';
	err->line = 0;
	err->warnings = 0;
	err->warning[0] = '\0';
}

int ws_conf_fail_at(struct ws_conf_parser *p, unsigned line, int rc, const char *key,
		    const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->rc = rc;
	va_start(ap, fmt);
	ws_conf_error_vset(p->err, p->name, line, key, fmt, ap);
	va_end(ap);
	return rc;
}

int ws_conf_fail(struct ws_conf_parser *p, int rc, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->rc = rc;
	va_start(ap, fmt);
	ws_conf_error_vset(p->err, p->name, p->line, key, fmt, ap);
	va_end(ap);
	return rc;
}

/* Capacity is 4, then each power of two (clamped to max): so storage grows
 * only when n is 0 or a power of two >= 4. arr points to the array pointer. */
int ws_conf_grow(void *arr, size_t n, size_t size, size_t max)
{
	void *old, *grown;
	size_t cap;

	if (n >= max)
		return -E2BIG;
	if (n != 0 && (n < 4 || (n & (n - 1))))
		return 0;
	cap = n ? 2 * n : 4;
	if (cap > max)
		cap = max;
	memcpy(&old, arr, sizeof(old));
	grown = realloc(old, cap * size);
	if (!grown)
		return -ENOMEM;
	memcpy(arr, &grown, sizeof(grown));
	return 0;
}
