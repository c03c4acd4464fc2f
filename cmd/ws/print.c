/* SPDX-License-Identifier: MIT */
/*
 * One printer for text and JSON, iproute2 style: each field is one call
 * that writes its text (a printf format with the value rendered for
 * humans) or its JSON member, so both outputs come from the same code.
 * JSON is written compactly; strings are escaped and always valid UTF-8.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

void ws_print_init(struct ws_print *p, FILE *f, bool json)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->json = json;
}

static bool wants(const struct ws_print *p, enum ws_print_mode m)
{
	return m == WS_PRINT_ANY || (m == WS_PRINT_JSON) == p->json;
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned n, i;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (i = 1; i < n; i++) {   /* stops at the NUL: it is no continuation byte */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void ws_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n = utf8_len(s);

		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, n, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

/* The separator and "key": of a member (key NULL in arrays). */
static void json_member(struct ws_print *p, const char *key)
{
	if (p->comma[p->depth])
		fputc(',', p->f);
	p->comma[p->depth] = true;
	if (key) {
		ws_json_string(p->f, key);
		fputc(':', p->f);
	}
}

static void json_open(struct ws_print *p, const char *key, char bracket)
{
	if (!p->json)
		return;
	if (p->depth + 1 >= WS_PRINT_DEPTH)
		abort();   /* a programming error: our documents are shallow */
	json_member(p, key);
	fputc(bracket, p->f);
	p->comma[++p->depth] = false;
}

static void json_close(struct ws_print *p, char bracket)
{
	if (!p->json)
		return;
	fputc(bracket, p->f);
	p->depth--;
}

void ws_print_open_object(struct ws_print *p, const char *key)
{
	json_open(p, key, '{');
}

void ws_print_close_object(struct ws_print *p)
{
	json_close(p, '}');
}

void ws_print_open_array(struct ws_print *p, const char *key)
{
	json_open(p, key, '[');
}

void ws_print_close_array(struct ws_print *p)
{
	json_close(p, ']');
}

void ws_print_end(struct ws_print *p)
{
	if (p->json)
		fputc('\n', p->f);
	fflush(p->f);
}

/* ---- fields ---- */

void ws_print_text(struct ws_print *p, const char *fmt, ...)
{
	va_list ap;

	if (p->json)
		return;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

/* Text: fmt with the rendered string; JSON: the raw member text. */
static void emit(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		 const char *text, const char *json)
{
	if (!wants(p, m))
		return;
	if (!p->json) {
		if (fmt)
			fprintf(p->f, fmt, text);
		return;
	}
	json_member(p, key);
	fputs(json, p->f);
}

void ws_print_string(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		     const char *v)
{
	if (!wants(p, m))
		return;
	if (!v) {
		emit(p, m, key, NULL, NULL, "null");
	} else if (p->json) {
		json_member(p, key);
		ws_json_string(p->f, v);
	} else if (fmt) {
		fprintf(p->f, fmt, v);
	}
}

void ws_print_u64(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		  uint64_t v)
{
	char num[24];

	if (!wants(p, m))
		return;
	if (!p->json) {
		if (fmt)
			fprintf(p->f, fmt, v);
		return;
	}
	snprintf(num, sizeof(num), "%" PRIu64, v);
	emit(p, m, key, NULL, NULL, num);
}

void ws_print_bool(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		   bool v)
{
	emit(p, m, key, fmt, v ? "yes" : "no", v ? "true" : "false");
}

void ws_print_null(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt)
{
	if (wants(p, m) && !p->json && fmt)
		fputs(fmt, p->f);
	else
		emit(p, m, key, NULL, NULL, "null");
}

/* A number in JSON, text from a formatter through fmt. */
static void emit_rendered(struct ws_print *p, enum ws_print_mode m, const char *key,
			  const char *fmt, const char *text, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	emit(p, m, key, fmt, text, num);
}

void ws_print_bytes(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		    uint64_t v)
{
	char buf[WS_FMT_LEN];

	emit_rendered(p, m, key, fmt, ws_fmt_bytes(buf, v), v);
}

void ws_print_ago(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		  uint64_t then, uint64_t now)
{
	char buf[WS_FMT_LEN];

	emit_rendered(p, m, key, fmt, then ? ws_fmt_ago(buf, then, now) : "never", then);
}

void ws_print_secs(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		   uint64_t secs)
{
	char buf[WS_FMT_LEN];

	emit_rendered(p, m, key, fmt, ws_fmt_duration(buf, secs), secs);
}

void ws_print_usecs(struct ws_print *p, enum ws_print_mode m, const char *key, const char *fmt,
		    uint64_t us)
{
	char buf[WS_FMT_LEN];

	emit_rendered(p, m, key, fmt, ws_fmt_usecs(buf, us), us);
}

/* ---- text formatters (wg's units and wording) ---- */

const char *ws_fmt_bytes(char buf[WS_FMT_LEN], uint64_t b)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	unsigned u = 0;

	if (b < 1024) {
		snprintf(buf, WS_FMT_LEN, "%" PRIu64 " B", b);
		return buf;
	}
	for (v /= 1024; v >= 1024 && u < 3; u++)
		v /= 1024;
	snprintf(buf, WS_FMT_LEN, "%.2f %s", v, units[u]);
	return buf;
}

const char *ws_fmt_duration(char buf[WS_FMT_LEN], uint64_t secs)
{
	static const struct { uint64_t secs; const char *name; } units[] = {
		{ 365ULL * 24 * 3600, "year" }, { 24 * 3600, "day" }, { 3600, "hour" },
		{ 60, "minute" }, { 1, "second" },
	};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = secs / units[i].secs;

		if (!n)
			continue;
		secs -= n * units[i].secs;
		len += (size_t)snprintf(buf + len, WS_FMT_LEN - len, "%s%" PRIu64 " %s%s",
					len ? ", " : "", n, units[i].name, n == 1 ? "" : "s");
		if (len >= WS_FMT_LEN)
			break;   /* cannot happen: 64-bit values fit */
	}
	if (!len)
		snprintf(buf, WS_FMT_LEN, "0 seconds");
	return buf;
}

const char *ws_fmt_ago(char buf[WS_FMT_LEN], uint64_t then, uint64_t now)
{
	size_t len;

	if (then == now)
		return strcpy(buf, "now");
	if (then > now)
		return strcpy(buf, "in the future (the system clock went backward)");
	ws_fmt_duration(buf, now - then);
	len = strlen(buf);
	snprintf(buf + len, WS_FMT_LEN - len, " ago");
	return buf;
}

const char *ws_fmt_usecs(char buf[WS_FMT_LEN], uint64_t us)
{
	snprintf(buf, WS_FMT_LEN, "%" PRIu64 ".%03u ms", us / 1000, (unsigned)(us % 1000));
	return buf;
}
