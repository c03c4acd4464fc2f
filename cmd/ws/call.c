/* SPDX-License-Identifier: MIT */
/*
 * Talking to wsd over its control socket (docs/control-socket.md): one
 * request per connection, the reply ends with errno=N. A transport failure
 * (nobody listens, a broken reply) is told apart from the daemon's answer.
 * Replies may hold the private key: they are wiped before they are freed.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ws.h"

enum { IFNAME_MAX = 15, REPLY_TIMEOUT_MS = 10000, MAX_ERRNO = 4095 };

bool ws_ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (*name == '/' || *name == ':' || isspace((unsigned char)*name) ||
		    (unsigned char)*name < 0x20 || *name == 0x7f)
			return false;
	return true;
}

bool ws_cli_check_ifname(struct ws_cli *cli, const char *name)
{
	if (ws_ifname_valid(name))
		return true;
	ws_cli_fail(cli, "invalid interface name '%s' (1 to %d characters, no '/', ':' or spaces)",
		    name, IFNAME_MAX);
	return false;
}

static void free_reply(char *reply, size_t len)
{
	if (!reply)
		return;
	ws_wipe(reply, len);
	free(reply);
}

/* The value of the last line of a message "...\nerrno=N\n\n": 0..4095 or -EPROTO. */
static int reply_errno(char *buf, size_t len)
{
	char *last, *end;
	long v;

	if (len < 2 || buf[len - 1] != '\n' || buf[len - 2] != '\n')
		return -EPROTO;
	buf[len - 2] = '\0';
	last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	buf[len - 2] = '\n';
	if (strncmp(last, "errno=", 6) || !isdigit((unsigned char)last[6]))
		return -EPROTO;
	v = strtol(last + 6, &end, 10);
	if (*end != '\n' || v > MAX_ERRNO)
		return -EPROTO;
	return (int)v;
}

int ws_cli_exchange(int fd, const char *req, size_t len, char **reply, size_t *reply_len,
		    int *daemon_errno)
{
	char *buf = NULL;
	ssize_t n;
	int ret = ws_ipc_write_all(fd, req, len);

	*reply = NULL;
	*reply_len = 0;
	if (ret)
		return ret;
	n = ws_ipc_read_message(fd, &buf, REPLY_TIMEOUT_MS);
	if (n < 0)
		return (int)n;
	ret = reply_errno(buf, (size_t)n);
	if (ret < 0 || ret > 0) {
		free_reply(buf, (size_t)n);
		if (ret < 0)
			return ret;
		*daemon_errno = ret;
		return 0;
	}
	*daemon_errno = 0;
	*reply = buf;
	*reply_len = (size_t)n;
	return 0;
}

static int connect_to(struct ws_cli *cli, const char *ifname)
{
	if (cli->connect)
		return cli->connect(cli->connect_ctx, ifname);
	return ws_ipc_connect(ifname);
}

static void transport_error(struct ws_cli *cli, const char *ifname, int err, bool connecting)
{
	if (connecting && (err == -ENOENT || err == -ECONNREFUSED))
		ws_cli_fail(cli, "no such wiresocket interface '%s' (is wsd running?)", ifname);
	else if (connecting)
		ws_cli_fail(cli, "cannot reach wsd of '%s': %s%s", ifname, strerror(-err),
			    err == -EACCES ? " (the control socket is root only)" : "");
	else
		ws_cli_fail(cli, "no valid reply from wsd of '%s': %s", ifname, strerror(-err));
}

int ws_cli_call(struct ws_cli *cli, const char *ifname, const struct ws_ipc_buf *req,
		char **reply, size_t *reply_len, bool quiet)
{
	int fd, ret, daemon_errno = 0;

	*reply = NULL;
	*reply_len = 0;
	if (req->overflow) {
		if (!quiet)
			ws_cli_fail(cli, "the request to '%s' is too long", ifname);
		return -1;
	}
	fd = connect_to(cli, ifname);
	if (fd < 0) {
		bool absent = fd == -ENOENT || fd == -ECONNREFUSED;

		if (!quiet || !absent)
			transport_error(cli, ifname, fd, true);
		cli->errors += quiet && !absent;
		return -1;
	}
	ret = ws_cli_exchange(fd, req->data, req->len, reply, reply_len, &daemon_errno);
	close(fd);
	if (ret < 0) {
		if (!quiet)
			transport_error(cli, ifname, ret, false);
		return -1;
	}
	return daemon_errno;
}

int ws_cli_get(struct ws_cli *cli, const char *ifname, struct ws_model_iface *m, bool quiet)
{
	struct ws_ipc_buf req;
	char *reply;
	size_t len;
	int ret;

	memset(m, 0, sizeof(*m));
	ws_ipc_buf_init(&req);
	ws_ipc_put(&req, "get", "1");
	ws_ipc_end(&req);
	ret = ws_cli_call(cli, ifname, &req, &reply, &len, quiet);
	ws_ipc_buf_free(&req);
	if (ret > 0 && !quiet)
		ws_cli_fail(cli, "%s: wsd refused 'get': %s", ifname, strerror(ret));
	if (ret)
		return -1;
	ret = ws_model_parse(m, reply, len);
	free_reply(reply, len);
	if (!ret && !m->name)
		ret = (m->name = strdup(ifname)) ? 0 : -ENOMEM;
	if (ret && !quiet)
		ws_cli_fail(cli, "%s: malformed reply from wsd: %s", ifname, strerror(-ret));
	return ret ? -1 : 0;
}

int ws_cli_set(struct ws_cli *cli, const char *ifname, const struct ws_ipc_buf *req,
	       const char *what)
{
	char *reply;
	size_t len;
	int ret = ws_cli_call(cli, ifname, req, &reply, &len, false);

	free_reply(reply, len);
	if (ret > 0)
		ws_cli_fail(cli, "%s: %s", what, strerror(ret));
	return ret ? -1 : 0;
}

/* ---- the interfaces in the run directory ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "IFNAME.sock" with a valid IFNAME: a malloc'd IFNAME, else NULL. */
static char *sock_name(const char *entry, bool *oom)
{
	size_t n = strlen(entry);
	char *name;

	if (n <= 5 || strcmp(entry + n - 5, ".sock"))
		return NULL;
	name = strndup(entry, n - 5);
	*oom = !name;
	if (name && !ws_ifname_valid(name)) {
		free(name);
		return NULL;
	}
	return name;
}

static int add_name(char ***names, size_t *n, char *name)
{
	char **grown = realloc(*names, (*n + 1) * sizeof(**names));

	if (!grown) {
		free(name);
		return -ENOMEM;
	}
	*names = grown;
	(*names)[(*n)++] = name;
	return 0;
}

int ws_cli_list(struct ws_cli *cli, char ***names, size_t *n)
{
	DIR *d = opendir(cli->run_dir);
	struct dirent *e;
	int ret = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (e = readdir(d))) {
		bool oom = false;
		char *name = sock_name(e->d_name, &oom);

		if (oom)
			ret = -ENOMEM;
		else if (name)
			ret = add_name(names, n, name);
	}
	closedir(d);
	if (ret) {
		ws_cli_free_names(*names, *n);
		*names = NULL;
		*n = 0;
		return ret;
	}
	qsort(*names, *n, sizeof(**names), by_name);
	return 0;
}

void ws_cli_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
