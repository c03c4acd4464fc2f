/* SPDX-License-Identifier: MIT */
/*
 * The parser's state and what every part of the config reader shares: error
 * messages ("FILE:LINE: Key: ..."), quoting values for them, and growing the
 * model's arrays (conf_util.c). Below conf_parse.c (reads lines through
 * inih), conf_keys.c (sets keys in the model) and conf_load.c (reads files);
 * it calls none of them. Not for use outside src/conf/.
 */
#ifndef WS_CONF_UTIL_H
#define WS_CONF_UTIL_H

#include <stdarg.h>

#include "conf/conf.h"

enum {
	WS_CONF_INIH_MAX_NAME = 50,      /* inih 55 keeps a continued key's name in 50 bytes */
	WS_CONF_INIH_MAX_SECTION = 50,   /* and the section name in 50 */
	WS_CONF_QUOTE_MAX = 4 * WS_CONF_LINE_MAX + 8,
};

enum ws_conf_section { WS_CONF_SEC_NONE, WS_CONF_SEC_INTERFACE, WS_CONF_SEC_PEER };

enum ws_conf_line_kind {
	WS_CONF_LINE_COMMENT,            /* also blank lines */
	WS_CONF_LINE_SECTION,
	WS_CONF_LINE_KEY,
	WS_CONF_LINE_CONT,               /* indented continuation of the previous key */
};

enum ws_conf_key_id {
	WS_CONF_K_PRIVATE_KEY,
	WS_CONF_K_PRIVATE_KEY_FILE,
	WS_CONF_K_LISTEN_PORT,
	WS_CONF_K_ADDRESS,
	WS_CONF_K_MTU,
	WS_CONF_K_MAX_PACKET_SIZE,
	WS_CONF_K_TABLE,
	WS_CONF_K_FWMARK,
	WS_CONF_K_DNS,
	WS_CONF_K_PRE_UP,
	WS_CONF_K_POST_UP,
	WS_CONF_K_PRE_DOWN,
	WS_CONF_K_POST_DOWN,
	WS_CONF_K_PUBLIC_KEY,
	WS_CONF_K_ALLOWED_IPS,
	WS_CONF_K_ENDPOINT,
	WS_CONF_K_PERSISTENT_KEEPALIVE,
	WS_CONF_K_COUNT,
};

struct ws_conf_parser {
	struct ws_conf *c;
	struct ws_conf_error *err;
	const char *name;                    /* for messages */
	const char *buf;                     /* input, len bytes, not NUL-terminated */
	size_t len, off;
	unsigned line;                       /* current line, from 1 */
	int rc;                              /* first error; stops the parse */
	/* The current line, as reader() gave it to inih (wiped at the end). */
	char raw[WS_CONF_LINE_MAX + 1];
	enum ws_conf_line_kind kind;
	bool handled;                        /* inih called the handler for it */
	char key[WS_CONF_LINE_MAX + 1];      /* LINE_KEY: the name inih passes */
	char prev_key[WS_CONF_INIH_MAX_NAME];        /* inih's prev_name */
	char inih_section[WS_CONF_INIH_MAX_SECTION]; /* inih's section */
	const char *full_value;              /* the value before inih cut a ' ;' comment */
	size_t full_len;
	enum ws_conf_section sect;
	unsigned sect_line, interface_line;
	unsigned seen[WS_CONF_K_COUNT];      /* line a key was set on, in this section */
	uint32_t *pk_table;                  /* PublicKey set: peer index + 1, 0 = free */
	size_t pk_size;                      /* power of two, or 0 */
};

/* Record the first error at the current line; returns rc. key may be NULL. */
int ws_conf_fail(struct ws_conf_parser *p, int rc, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same at a given line (0: no line). */
int ws_conf_fail_at(struct ws_conf_parser *p, unsigned line, int rc, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Write "NAME:LINE: KEY: text" (or "NAME: ..." when line is 0) into err. */
void ws_conf_error_set(struct ws_conf_error *err, const char *name, unsigned line,
		       const char *key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ws_conf_error_vset(struct ws_conf_error *err, const char *name, unsigned line,
			const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));
/* No message, no warnings. */
void ws_conf_error_clear(struct ws_conf_error *err);
/* s[0..len) for a message: control bytes as \xNN. */
const char *ws_conf_quote(char out[WS_CONF_QUOTE_MAX], const char *s, size_t len);
/* Make room for element n of *arr (elements of size bytes), at most max
 * elements. 0, -E2BIG or -ENOMEM. */
int ws_conf_grow(void *arr, size_t n, size_t size, size_t max);

#endif
