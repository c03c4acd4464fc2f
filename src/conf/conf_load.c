/* SPDX-License-Identifier: MIT */
/*
 * The config's files: reading the config file and, after the parse, the
 * PrivateKeyFile it names (bounded reads, buffers holding a key wiped), and
 * the permission warnings. The only conf file that opens a file: the parse
 * (conf_parse.c) and the fuzzer never reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_util.h"
#include "core/crypto.h"

enum { PERM_MASK = S_IRGRP | S_IROTH, READ_CHUNK = 65536 };

/* Read until EOF or until buf (size bytes) is full. */
static int read_fd(int fd, char *buf, size_t size, size_t *len)
{
	while (*len < size) {
		ssize_t n = read(fd, buf + *len, size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

static void warn(struct ws_conf_error *err, unsigned flag, const char *path, mode_t mode)
{
	err->warnings |= flag;
	snprintf(err->warning, sizeof(err->warning),
		 "%s holds a private key but is readable by group or others (mode %04o): "
		 "run chmod 600 %s", path, (unsigned)(mode & 07777), path);
}

/* A failed PrivateKeyFile: "CONFIG:LINE: PrivateKeyFile: ..." (the line it is set on). */
static int key_fail(const struct ws_conf *c, struct ws_conf_error *err, int rc, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static int key_fail(const struct ws_conf *c, struct ws_conf_error *err, int rc, const char *fmt,
		    ...)
{
	va_list ap;

	va_start(ap, fmt);
	ws_conf_error_vset(err, c->source ? c->source : "(config)", c->private_key_file_line,
			   "PrivateKeyFile", fmt, ap);
	va_end(ap);
	return rc;
}

/* Open and check the key file, read at most KEY_FILE_MAX + 1 bytes into buf. */
static int read_key(const struct ws_conf *c, struct ws_conf_error *err, const char *qp,
		    char *buf, size_t size, size_t *len, struct stat *st)
{
	const char *path = c->private_key_file;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return key_fail(c, err, -errno, "cannot open '%s': %s", qp, strerror(errno));
	if (fstat(fd, st) < 0)
		rc = key_fail(c, err, -errno, "cannot stat '%s': %s", qp, strerror(errno));
	else if (!S_ISREG(st->st_mode))
		rc = key_fail(c, err, -EINVAL, "'%s' is not a regular file", qp);
	else if ((rc = read_fd(fd, buf, size, len)) < 0)
		rc = key_fail(c, err, rc, "cannot read '%s': %s", qp, strerror(-rc));
	else if (*len > WS_CONF_KEY_FILE_MAX)
		rc = key_fail(c, err, -EINVAL, "'%s' is larger than %d bytes", qp,
			      WS_CONF_KEY_FILE_MAX);
	close(fd);
	return rc;
}

int ws_conf_load_key_file(struct ws_conf *c, struct ws_conf_error *err)
{
	char buf[WS_CONF_KEY_FILE_MAX + 1], q[WS_CONF_QUOTE_MAX];
	const char *path = c->private_key_file, *qp;
	size_t len = 0, start = 0;
	struct stat st;
	int rc;

	if (!path)
		return 0;
	qp = ws_conf_quote(q, path, strlen(path));
	rc = read_key(c, err, qp, buf, sizeof(buf), &len, &st);
	if (rc == 0) {
		while (start < len && strchr(" \t\r\n", buf[start]))
			start++;
		while (len > start && strchr(" \t\r\n", buf[len - 1]))
			len--;
		buf[len] = '\0';
		if (memchr(buf + start, '\0', len - start) ||
		    ws_key_from_base64(c->private_key, buf + start) < 0)
			rc = key_fail(c, err, -EINVAL,
				      "'%s' does not hold a base64-encoded 32-byte key", qp);
		else if (st.st_mode & PERM_MASK)
			warn(err, WS_CONF_WARN_KEY_FILE_MODE, path, st.st_mode);
	}
	ws_wipe(buf, sizeof(buf));
	if (rc == 0)
		c->has_private_key = true;
	return rc;
}

int ws_conf_load_buffer(struct ws_conf *c, const char *name, const char *buf, size_t len,
			struct ws_conf_error *err)
{
	struct ws_conf_error scratch;
	int rc;

	if (!err)
		err = &scratch;
	rc = ws_conf_parse_buffer(c, name, buf, len, err);
	if (rc == 0)
		rc = ws_conf_load_key_file(c, err);
	if (rc) {
		ws_conf_free(c);
		err->warnings = 0;
		err->warning[0] = '\0';
	}
	return rc;
}

/* The whole file into a fresh buffer (a pipe is fine), at most FILE_MAX bytes. */
static int read_conf(const char *path, char **out, size_t *len, struct stat *st,
		     struct ws_conf_error *err)
{
	size_t cap = READ_CHUNK;
	char *buf = NULL;
	int fd, rc = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISREG(st->st_mode) && st->st_size >= 0 && (size_t)st->st_size < WS_CONF_FILE_MAX)
		cap = (size_t)st->st_size + 1;
	for (;;) {
		char *grown = malloc(cap);

		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		if (buf) {
			memcpy(grown, buf, *len);
			ws_wipe(buf, *len);     /* it may hold a private key */
			free(buf);
		}
		buf = grown;
		rc = read_fd(fd, buf, cap, len);
		if (rc || *len < cap)
			break;
		if (cap > WS_CONF_FILE_MAX) {
			rc = -E2BIG;
			break;
		}
		cap = cap * 2 > WS_CONF_FILE_MAX + 1 ? WS_CONF_FILE_MAX + 1 : cap * 2;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc == -E2BIG)
		snprintf(err->msg, sizeof(err->msg), "%s: larger than %d bytes", path,
			 WS_CONF_FILE_MAX);
	else if (rc)
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(-rc));
	if (rc && buf) {
		ws_wipe(buf, *len);
		free(buf);
		buf = NULL;
	}
	*out = buf;
	return rc;
}

int ws_conf_load_file(struct ws_conf *c, const char *path, struct ws_conf_error *err)
{
	struct ws_conf_error scratch;
	struct stat st;
	size_t len;
	char *buf;
	int rc;

	if (!err)
		err = &scratch;
	memset(c, 0, sizeof(*c));
	ws_conf_error_clear(err);
	rc = read_conf(path, &buf, &len, &st, err);
	if (rc)
		return rc;
	rc = ws_conf_load_buffer(c, path, buf, len, err);
	ws_wipe(buf, len);
	free(buf);
	if (rc == 0 && c->has_private_key && !c->private_key_file && S_ISREG(st.st_mode) &&
	    (st.st_mode & PERM_MASK))
		warn(err, WS_CONF_WARN_CONF_MODE, path, st.st_mode);
	return rc;
}

