/* SPDX-License-Identifier: MIT */
/*
 * Loading ws.conf(5) with Debian's packaged inih (55): see STYLE.md, "inih
 * as Debian ships it". inih gives its handler no line numbers, no section
 * boundaries and silently cuts values at ' ;' and at 199 characters, so it
 * reads through reader() below, which sees every raw line first:
 *
 *   reader()   counts lines, rejects lines of 200+ bytes and NUL bytes, and
 *              classifies each line exactly as inih 55 will (comment, section,
 *              key, continuation). Section headers are acted on here: each
 *              [Peer] starts a new peer. It keeps the raw line so the handler
 *              can tell when inih cut a value at an inline ' ;' comment.
 *   handler()  checks that inih agrees with that classification, then sets
 *              the key in the model (ws_conf_set_key, conf_keys.c).
 *
 * The first error stops the parse: the handler records it and the reader
 * then returns EOF. The raw line copies and inih's line buffer are wiped.
 *
 * The parse is pure: it opens no file. A PrivateKeyFile is only recorded
 * (path and line); ws_conf_load_key_file (conf_load.c) reads it afterwards.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_keys.h"
#include "conf/conf_util.h"
#include "core/crypto.h"

/* ---- mirror of inih 55's line handling ---- */

static bool is_space(char ch)
{
	return isspace((unsigned char)ch);
}

/* inih's ini_find_chars_or_comment() on s[0..len): index of the first char
 * of `chars` or of a ';' that follows whitespace; len when neither. */
static size_t find_chars_or_comment(const char *s, size_t len, const char *chars)
{
	bool was_space = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((chars && strchr(chars, s[i])) || (was_space && s[i] == ';'))
			break;
		was_space = is_space(s[i]);
	}
	return i;
}

/* A key's section is over: a [Peer] must have had a PublicKey. */
static int finish_section(struct ws_conf_parser *p)
{
	if (p->sect == WS_CONF_SEC_PEER && !p->seen[WS_CONF_K_PUBLIC_KEY])
		return ws_conf_fail_at(p, p->sect_line, -EINVAL, "PublicKey", "missing in this [Peer]");
	memset(p->seen, 0, sizeof(p->seen));
	return 0;
}

static int start_section(struct ws_conf_parser *p, enum ws_conf_section sect)
{
	int rc = finish_section(p);

	if (rc)
		return rc;
	if (sect == WS_CONF_SEC_INTERFACE) {
		if (p->interface_line)
			return ws_conf_fail(p, -EINVAL, NULL,
					    "duplicate [Interface] section (first on line %u)",
					    p->interface_line);
		p->interface_line = p->line;
	} else {
		rc = ws_conf_add_peer(p);
		if (rc)
			return rc;
	}
	p->sect = sect;
	p->sect_line = p->line;
	return 0;
}

/* "[name]" (t[0] == '['), then optionally whitespace and a comment. */
static int section_line(struct ws_conf_parser *p, const char *t, size_t len)
{
	char q[WS_CONF_QUOTE_MAX];
	size_t close = 1 + find_chars_or_comment(t + 1, len - 1, "]");
	const char *name = t + 1, *rest;
	size_t nlen = close - 1;

	if (close == len || t[close] != ']')
		return ws_conf_fail(p, -EINVAL, NULL, "section header without ']' '%s'",
				    ws_conf_quote(q, t, len));
	for (rest = t + close + 1; rest < t + len && is_space(*rest); rest++)
		;
	if (rest < t + len && *rest != ';' && *rest != '#')
		return ws_conf_fail(p, -EINVAL, NULL, "unexpected text after the section header '%s'",
				    ws_conf_quote(q, t, len));
	/* What inih will pass as the section (for the agreement check). */
	snprintf(p->inih_section, sizeof(p->inih_section), "%.*s",
		 (int)(nlen < WS_CONF_INIH_MAX_SECTION - 1 ? nlen : WS_CONF_INIH_MAX_SECTION - 1), name);
	while (nlen && is_space(*name)) {
		name++;
		nlen--;
	}
	while (nlen && is_space(name[nlen - 1]))
		nlen--;
	p->kind = WS_CONF_LINE_SECTION;
	p->prev_key[0] = '\0';
	if (nlen == 9 && !strncasecmp(name, "Interface", 9))
		return start_section(p, WS_CONF_SEC_INTERFACE);
	if (nlen == 4 && !strncasecmp(name, "Peer", 4))
		return start_section(p, WS_CONF_SEC_PEER);
	return ws_conf_fail(p, -EINVAL, NULL,
			    "unknown section '%s' (expected [Interface] or [Peer])",
			    ws_conf_quote(q, t, close + 1));
}

/* "Key = value" (inih also takes "Key: value"; we do not). */
static int key_line(struct ws_conf_parser *p, const char *t, size_t len)
{
	char q[WS_CONF_QUOTE_MAX];
	size_t sep = find_chars_or_comment(t, len, "=:"), nlen = sep, v;

	while (nlen && is_space(t[nlen - 1]))
		nlen--;
	if (sep == len || t[sep] != '=' || nlen == 0)
		return ws_conf_fail(p, -EINVAL, NULL, "expected 'Key = value', got '%s'",
				    ws_conf_quote(q, t, len));
	memcpy(p->key, t, nlen);
	p->key[nlen] = '\0';
	/* inih's strncpy0(prev_name, name, 50): at most 49 bytes. */
	if (nlen >= sizeof(p->prev_key))
		nlen = sizeof(p->prev_key) - 1;
	memcpy(p->prev_key, t, nlen);
	p->prev_key[nlen] = '\0';
	for (v = sep + 1; v < len && is_space(t[v]); v++)
		;
	p->full_value = t + v;
	p->full_len = len - v;
	p->kind = WS_CONF_LINE_KEY;
	return 0;
}

static int classify(struct ws_conf_parser *p)
{
	const char *start = p->raw, *t;
	size_t len;

	if (p->line == 1 && (unsigned char)start[0] == 0xef && (unsigned char)start[1] == 0xbb &&
	    (unsigned char)start[2] == 0xbf)
		start += 3;
	for (t = start; *t && is_space(*t); t++)
		;
	len = strlen(t);
	while (len && is_space(t[len - 1]))
		len--;
	p->handled = false;
	p->full_value = t;
	p->full_len = len;
	if (len == 0 || *t == ';' || *t == '#') {
		p->kind = WS_CONF_LINE_COMMENT;
		return 0;
	}
	if (p->prev_key[0] && t > p->raw) {
		p->kind = WS_CONF_LINE_CONT;
		return 0;
	}
	if (*t == '[')
		return section_line(p, t, len);
	return key_line(p, t, len);
}

/* inih must have called the handler for every key and continuation line. */
static int check_handled(struct ws_conf_parser *p)
{
	if ((p->kind == WS_CONF_LINE_KEY || p->kind == WS_CONF_LINE_CONT) && !p->handled)
		return ws_conf_fail(p, -EINVAL, NULL, "line not understood (inih skipped it)");
	return 0;
}

static char *eof(char *str, int num)
{
	if (num > 0)
		ws_wipe(str, (size_t)num);   /* inih's line buffer held the last line */
	return NULL;
}

/* inih's fgets-like reader: one line per call, without its line end. */
static char *reader(char *str, int num, void *stream)
{
	struct ws_conf_parser *p = stream;
	const char *s, *nl;
	size_t n;

	if (p->rc || check_handled(p) || p->off >= p->len)
		return eof(str, num);
	s = p->buf + p->off;
	nl = memchr(s, '\n', p->len - p->off);
	n = nl ? (size_t)(nl - s) : p->len - p->off;
	p->off += n + (nl ? 1 : 0);
	if (n && s[n - 1] == '\r')
		n--;
	p->line++;
	p->kind = WS_CONF_LINE_COMMENT;
	if (n > WS_CONF_LINE_MAX)
		ws_conf_fail(p, -EINVAL, NULL,
			     "line is %zu characters long, the limit is %d (write long lists as "
			     "repeated keys or indented continuation lines)", n, WS_CONF_LINE_MAX);
	else if (memchr(s, '\0', n))
		ws_conf_fail(p, -EINVAL, NULL, "line contains a NUL byte");
	else if (num <= 0 || n >= (size_t)num)
		ws_conf_fail(p, -EINVAL, NULL, "line longer than inih's buffer (%d)", num);
	if (p->rc)
		return eof(str, num);
	memcpy(p->raw, s, n);
	p->raw[n] = '\0';
	if (classify(p))
		return eof(str, num);
	memcpy(str, p->raw, n + 1);
	return str;
}

/* Is this call the one classify() predicted for the current line? */
static bool agrees(const struct ws_conf_parser *p, const char *section, const char *name)
{
	if (p->handled || !section || !name || strcmp(section, p->inih_section))
		return false;
	if (p->kind == WS_CONF_LINE_KEY)
		return !strcmp(name, p->key);
	return p->kind == WS_CONF_LINE_CONT && !strcmp(name, p->prev_key);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct ws_conf_parser *p = user;

	if (p->rc)
		return 0;
	if (!value || !agrees(p, section, name)) {
		ws_conf_fail(p, -EINVAL, NULL, "line not understood (inih read it differently)");
		return 0;
	}
	p->handled = true;
	return ws_conf_set_key(p, name, value) == 0;
}

/* Parse buf into p->c (already empty, with source set). 0 or -errno. */
static int parse(struct ws_conf_parser *p)
{
	int line;

	if (p->len > WS_CONF_FILE_MAX)
		return ws_conf_fail_at(p, 0, -E2BIG, NULL, "larger than %d bytes", WS_CONF_FILE_MAX);
	line = ini_parse_stream(reader, p, handler, p);
	if (!p->rc)
		check_handled(p);
	if (!p->rc && line < 0)
		ws_conf_fail_at(p, 0, -ENOMEM, NULL, "out of memory");
	else if (!p->rc && line > 0)
		ws_conf_fail_at(p, (unsigned)line, -EINVAL, NULL,
				"line not understood (inih: syntax error)");
	if (!p->rc)
		finish_section(p);
	ws_wipe(p->raw, sizeof(p->raw));
	p->full_value = NULL;
	return p->rc;
}

int ws_conf_parse_buffer(struct ws_conf *c, const char *name, const char *buf, size_t len,
			 struct ws_conf_error *err)
{
	struct ws_conf_error scratch;
	struct ws_conf_parser p;
	int rc;

	if (!err)
		err = &scratch;
	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	ws_conf_error_clear(err);
	p.c = c;
	p.err = err;
	p.name = name;
	p.buf = buf;
	p.len = len;
	c->source = strdup(name);
	if (!c->source)
		rc = ws_conf_fail(&p, -ENOMEM, NULL, "out of memory");
	else
		rc = parse(&p);
	free(p.pk_table);
	ws_wipe(&p, sizeof(p));
	if (rc)
		ws_conf_free(c);
	return rc;
}
