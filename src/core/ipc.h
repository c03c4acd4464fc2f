/* SPDX-License-Identifier: MIT */
/*
 * The control socket's text protocol (docs/control-socket.md): a message is
 * a run of "key=value\n" lines ended by an empty line. ipc.c holds the codec
 * (pure, fuzzed); os/ipc_sock.h the UNIX socket under /run/wiresocket/.
 */
#ifndef WS_IPC_H
#define WS_IPC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum {
	WS_IPC_MAX_LINE = 1024,           /* one key=value line, newline excluded */
	WS_IPC_MAX_MESSAGE = 4 << 20,     /* a whole message (a dump of 10k peers fits) */
};

/*
 * Split buf[0..len) (one message, with or without its final empty line) into
 * lines and call cb(ctx, key, value) for each, in order. buf is modified in
 * place (NULs replace '=' and newlines). Returns 0, -EINVAL for a malformed
 * line (no '=', empty key, a key outside [a-z0-9_], a control character, a
 * line over WS_IPC_MAX_LINE), or the first non-zero value cb returns.
 */
int ws_ipc_parse(char *buf, size_t len, int (*cb)(void *ctx, const char *key, const char *value),
		 void *ctx);

/* A bounded, growable output buffer for building messages. */
struct ws_ipc_buf {
	char *data;
	size_t len, cap;
	bool overflow;   /* set when the message would pass WS_IPC_MAX_MESSAGE */
};

void ws_ipc_buf_init(struct ws_ipc_buf *b);
/* Wipes the whole buffer (a reply holds the private key), then frees it. */
void ws_ipc_buf_free(struct ws_ipc_buf *b);
/* Append "key=value\n". Values must not contain newlines (they are rejected). */
void ws_ipc_put(struct ws_ipc_buf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ws_ipc_vput(struct ws_ipc_buf *b, const char *key, const char *fmt, va_list ap);
/* Append the final empty line. */
void ws_ipc_end(struct ws_ipc_buf *b);

/*
 * Messages may hold secrets, so their buffers never go back to the allocator
 * unwiped: ws_ipc_release wipes p[0..cap) and frees it (NULL is fine);
 * ws_ipc_grow moves p[0..len) into a new block of new_cap bytes and releases
 * the old one (in place of realloc, which would leave a copy behind). NULL
 * when out of memory, p untouched. Every released block is shown to
 * ws_ipc_on_release, when set, after wiping (tests check it).
 */
void ws_ipc_release(void *p, size_t cap);
void *ws_ipc_grow(void *p, size_t len, size_t cap, size_t new_cap);
extern void (*ws_ipc_on_release)(const void *p, size_t len);

/* buf[0..len) is a whole message: it ends with its empty line. */
bool ws_ipc_complete(const char *buf, size_t len);

#endif
