/* SPDX-License-Identifier: MIT */
/*
 * The config model's life: reading the config file and a PrivateKeyFile
 * (bounded reads, buffers holding a key wiped), permission warnings, the
 * validate step, equality and freeing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_internal.h"
#include "core/crypto.h"

enum { PERM_MASK = S_IRGRP | S_IROTH, READ_CHUNK = 65536 };

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

int ws_conf_read_key_file(struct ws_conf_parser *p, const char *path)
{
	char buf[WS_CONF_KEY_FILE_MAX + 1], q[WS_CONF_QUOTE_MAX];
	const char *qp = ws_conf_quote(q, path, strlen(path));
	size_t len = 0, start = 0;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ws_conf_fail(p, -errno, "PrivateKeyFile", "cannot open '%s': %s", qp,
				    strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = ws_conf_fail(p, -errno, "PrivateKeyFile", "cannot stat '%s': %s", qp,
				  strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = ws_conf_fail(p, -EINVAL, "PrivateKeyFile", "'%s' is not a regular file", qp);
	else if ((rc = read_fd(fd, buf, sizeof(buf), &len)) < 0)
		rc = ws_conf_fail(p, rc, "PrivateKeyFile", "cannot read '%s': %s", qp, strerror(-rc));
	else if (len > WS_CONF_KEY_FILE_MAX)
		rc = ws_conf_fail(p, -EINVAL, "PrivateKeyFile", "'%s' is larger than %d bytes", qp,
				  WS_CONF_KEY_FILE_MAX);
	close(fd);
	if (rc == 0) {
		while (start < len && strchr(" \t\r\n", buf[start]))
			start++;
		while (len > start && strchr(" \t\r\n", buf[len - 1]))
			len--;
		buf[len] = '\0';
		if (memchr(buf + start, '\0', len - start) ||
		    ws_key_from_base64(p->c->private_key, buf + start) < 0)
			rc = ws_conf_fail(p, -EINVAL, "PrivateKeyFile",
					  "'%s' does not hold a base64-encoded 32-byte key", qp);
		else if (st.st_mode & PERM_MASK)
			warn(p->err, WS_CONF_WARN_KEY_FILE_MODE, path, st.st_mode);
	}
	ws_wipe(buf, sizeof(buf));
	return rc;
}

static void clear_error(struct ws_conf_error *err)
{
	err->msg[0] = '\0';
	err->line = 0;
	err->warnings = 0;
	err->warning[0] = '\0';
}

int ws_conf_load_buffer(struct ws_conf *c, const char *name, const char *buf, size_t len,
			struct ws_conf_error *err)
{
	struct ws_conf_error scratch;
	struct ws_conf_parser p;
	int rc;

	if (!err)
		err = &scratch;
	memset(c, 0, sizeof(*c));
	memset(&p, 0, sizeof(p));
	clear_error(err);
	p.c = c;
	p.err = err;
	p.name = name;
	p.buf = buf;
	p.len = len;
	c->source = strdup(name);
	if (!c->source)
		rc = ws_conf_fail(&p, -ENOMEM, NULL, "out of memory");
	else
		rc = ws_conf_parse(&p);
	free(p.pk_table);
	ws_wipe(&p, sizeof(p));
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
	clear_error(err);
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

int ws_conf_validate(const struct ws_conf *c, unsigned flags, struct ws_conf_error *err)
{
	if ((flags & WS_CONF_NEED_PRIVATE_KEY) && !c->has_private_key) {
		if (err) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s: PrivateKey: missing in [Interface] (give PrivateKey or "
				 "PrivateKeyFile)", c->source ? c->source : "(config)");
			err->line = 0;
		}
		return -EINVAL;
	}
	return 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ws_conf_free(struct ws_conf *c)
{
	free(c->source);
	free(c->private_key_file);
	free(c->addresses);
	free(c->dns_servers);
	free_strings(c->dns_search, c->n_dns_search);
	for (int h = 0; h < WS_CONF_HOOK_COUNT; h++)
		free_strings(c->hooks[h], c->n_hooks[h]);
	for (size_t i = 0; i < c->n_peers; i++)
		free(c->peers[i].allowed_ips);
	free(c->peers);
	ws_wipe(c, sizeof(*c));    /* the private key, and leaves *c empty */
}

/* ---- equality ---- */

static bool prefix_eq(const struct ws_conf_prefix *a, const struct ws_conf_prefix *b)
{
	return a->family == b->family && a->cidr == b->cidr && !memcmp(a->addr, b->addr, 16);
}

static bool prefixes_eq(const struct ws_conf_prefix *a, size_t na, const struct ws_conf_prefix *b,
			size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!prefix_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool strings_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool endpoint_eq(const struct ws_conf_endpoint *a, const struct ws_conf_endpoint *b)
{
	return !strcmp(a->host, b->host) && a->port == b->port && a->family == b->family &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static bool peer_eq(const struct ws_conf_peer *a, const struct ws_conf_peer *b)
{
	return ws_memeq(a->public_key, b->public_key, WS_KEY_LEN) &&
	       prefixes_eq(a->allowed_ips, a->n_allowed_ips, b->allowed_ips, b->n_allowed_ips) &&
	       a->has_endpoint == b->has_endpoint &&
	       (!a->has_endpoint || endpoint_eq(&a->endpoint, &b->endpoint)) &&
	       a->persistent_keepalive == b->persistent_keepalive;
}

static bool interface_eq(const struct ws_conf *a, const struct ws_conf *b)
{
	if (a->has_private_key != b->has_private_key ||
	    (a->has_private_key && !ws_memeq(a->private_key, b->private_key, WS_KEY_LEN)) ||
	    !str_eq(a->private_key_file, b->private_key_file) || a->listen_port != b->listen_port ||
	    a->mtu != b->mtu || a->max_packet_size != b->max_packet_size ||
	    a->table_mode != b->table_mode || a->table != b->table || a->fwmark != b->fwmark)
		return false;
	if (!prefixes_eq(a->addresses, a->n_addresses, b->addresses, b->n_addresses) ||
	    !prefixes_eq(a->dns_servers, a->n_dns_servers, b->dns_servers, b->n_dns_servers) ||
	    !strings_eq(a->dns_search, a->n_dns_search, b->dns_search, b->n_dns_search))
		return false;
	for (int h = 0; h < WS_CONF_HOOK_COUNT; h++)
		if (!strings_eq(a->hooks[h], a->n_hooks[h], b->hooks[h], b->n_hooks[h]))
			return false;
	return true;
}

bool ws_conf_equal(const struct ws_conf *a, const struct ws_conf *b)
{
	if (!interface_eq(a, b) || a->n_peers != b->n_peers)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (!peer_eq(&a->peers[i], &b->peers[i]))
			return false;
	return true;
}
