/* SPDX-License-Identifier: MIT */
/*
 * The journal: /run/wiresocket/IFNAME.wsup (0600), one line per thing wsup
 * did, appended right after it was done, so that wsdown (or the rollback of
 * a failed wsup, or a wsdown after wsup itself was killed) undoes exactly
 * that, whatever the config says now:
 *
 *   version 1
 *   netns DEV:INODE                 the namespace wsup ran in
 *   predown CMD / postdown CMD      the config's down hooks at up time
 *   daemon PID                      wsd started
 *   fwmark MARK                     set through the control socket
 *   table T                         the full-tunnel table
 *   dns                             resolvconf -a IFNAME
 *   sysctl src_valid_mark           net.ipv4.conf.all.src_valid_mark=1
 *   route PREFIX TABLE              a route through IFNAME
 *   rule 4|6 PRIO not|- MARK MASK TABLE SUPPRESS
 *   up                              wsup finished
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ipc.h"
#include "os/ipc_sock.h"
#include "wsup.h"

static const char *const hook_key[WSUP_DOWN_HOOKS] = { "predown", "postdown" };

int wsup_netns_id(char out[64])
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	snprintf(out, 64, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return 0;
}

/* "dev:inode" of a namespace file. */
static int ns_id_of(const char *path, char out[64])
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	snprintf(out, 64, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return 0;
}

const char *wsup_netns_name(char *out, size_t cap, const char *id)
{
	char path[WSUP_PATH_MAX + 256], other[64];
	struct dirent *d;
	DIR *dir;

	if (ns_id_of("/proc/1/ns/net", other) == 0 && !strcmp(other, id)) {
		snprintf(out, cap, "the initial namespace (%s)", id);
		return out;
	}
	snprintf(out, cap, "namespace %s", id);
	if (!(dir = opendir("/run/netns")))
		return out;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "/run/netns/%s", d->d_name) < sizeof(path) &&
		    ns_id_of(path, other) == 0 && !strcmp(other, id)) {
			snprintf(out, cap, "'%s' (%s)", d->d_name, id);
			break;
		}
	closedir(dir);
	return out;
}

void wsup_state_init(struct wsup_state *st)
{
	memset(st, 0, sizeof(*st));
	st->fd = -1;
}

static int put_line(struct wsup_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int put_line(struct wsup_state *st, const char *fmt, ...)
{
	char line[WSUP_STATE_LINE_MAX + 2];
	va_list ap;
	ssize_t w;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > WSUP_STATE_LINE_MAX)
		return -E2BIG;
	line[n++] = '\n';
	w = write(st->fd, line, (size_t)n);
	if (w < 0)
		return -errno;
	return w == n ? 0 : -EIO;
}

int wsup_state_create(struct wsup_state *st, const char *ifname, const struct ws_conf *c)
{
	static const enum ws_conf_hook kinds[WSUP_DOWN_HOOKS] = { WS_CONF_PRE_DOWN,
								  WS_CONF_POST_DOWN };
	int rc;

	if (ws_ipc_path(st->path, sizeof(st->path), ifname, "wsup"))
		return -ENAMETOOLONG;
	if ((rc = wsup_netns_id(st->netns)) < 0)
		return rc;
	if (mkdir(WS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	st->fd = open(st->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (st->fd < 0)
		return -errno;
	rc = put_line(st, "version 1");
	if (!rc)
		rc = put_line(st, "netns %s", st->netns);
	for (int h = 0; h < WSUP_DOWN_HOOKS && !rc; h++)
		for (size_t i = 0; i < c->n_hooks[kinds[h]] && !rc; i++)
			rc = put_line(st, "%s %s", hook_key[h], c->hooks[kinds[h]][i]);
	return rc;
}

static int format_rec(struct wsup_state *st, const struct wsup_rec *r)
{
	char p[WS_CONF_PREFIX_STRLEN];
	struct ws_conf_prefix cp;

	switch (r->kind) {
	case WSUP_REC_DAEMON: return put_line(st, "daemon %u", r->value);
	case WSUP_REC_FWMARK: return put_line(st, "fwmark %u", r->value);
	case WSUP_REC_TABLE: return put_line(st, "table %u", r->value);
	case WSUP_REC_DNS: return put_line(st, "dns");
	case WSUP_REC_SYSCTL: return put_line(st, "sysctl src_valid_mark");
	case WSUP_REC_ROUTE:
		memset(&cp, 0, sizeof(cp));
		cp.family = r->route.dst.family;
		cp.cidr = r->route.dst.plen;
		memcpy(cp.addr, r->route.dst.addr, sizeof(cp.addr));
		return put_line(st, "route %s %u", ws_conf_format_prefix(p, &cp), r->route.table);
	case WSUP_REC_RULE:
		return put_line(st, "rule %d %u %s %u %u %u %d",
				r->rule.family == AF_INET6 ? 6 : 4, r->rule.priority,
				r->rule.invert ? "not" : "-", r->rule.fwmark, r->rule.fwmask,
				r->rule.table, r->rule.suppress_prefixlen);
	}
	return -EINVAL;
}

static int push_rec(struct wsup_state *st, const struct wsup_rec *r)
{
	if (st->n_recs >= WSUP_STATE_MAX_RECS)
		return -E2BIG;
	if ((st->n_recs & (st->n_recs - 1)) == 0) {   /* 0 or a power of two: grow */
		size_t cap = st->n_recs ? 2 * st->n_recs : 16;
		struct wsup_rec *g = realloc(st->recs, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		st->recs = g;
	}
	st->recs[st->n_recs++] = *r;
	return 0;
}

int wsup_state_add(struct wsup_state *st, const struct wsup_rec *r)
{
	int rc = push_rec(st, r);

	if (!rc)
		rc = format_rec(st, r);
	if (rc)
		wsup_err("cannot write %s: %s", st->path, strerror(-rc));
	return rc;
}

int wsup_state_finish(struct wsup_state *st)
{
	int rc = put_line(st, "up");

	if (close(st->fd) < 0 && !rc)
		rc = -errno;
	st->fd = -1;
	st->complete = true;
	if (rc)
		wsup_err("cannot write %s: %s", st->path, strerror(-rc));
	return rc;
}

/* ---- reading it back ---- */

static int num(const char *s, uint32_t *v)
{
	return ws_conf_parse_u32(v, s, 0, UINT32_MAX);
}

static int parse_route(char *args, struct wsup_rec *r)
{
	char *table = strchr(args, ' ');
	struct ws_conf_prefix p;

	if (!table)
		return -EINVAL;
	*table++ = '\0';
	if (ws_conf_parse_prefix(&p, args, 0) < 0 || num(table, &r->route.table) < 0)
		return -EINVAL;
	r->route.dst.family = p.family;
	r->route.dst.plen = p.cidr;
	memcpy(r->route.dst.addr, p.addr, sizeof(p.addr));
	return 0;
}

static int parse_rule(const char *args, struct wsup_rec *r)
{
	char fam[4], inv[4];
	int supp, n = 0;
	struct ws_nl_rule *u = &r->rule;

	if (sscanf(args, "%3s %u %3s %u %u %u %d%n", fam, &u->priority, inv, &u->fwmark,
		   &u->fwmask, &u->table, &supp, &n) != 7 || args[n] != '\0' ||
	    (strcmp(fam, "4") && strcmp(fam, "6")) || (strcmp(inv, "not") && strcmp(inv, "-")) ||
	    supp < -1 || supp > 128)
		return -EINVAL;
	u->family = fam[0] == '6' ? AF_INET6 : AF_INET;
	u->invert = inv[0] == 'n';
	u->suppress_prefixlen = supp;
	return 0;
}

static int add_hook(struct wsup_state *st, int h, const char *cmd)
{
	size_t n = st->n_hooks[h];
	char **g;

	if (n >= WS_CONF_MAX_HOOKS)
		return -E2BIG;
	g = realloc(st->hooks[h], (n + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	st->hooks[h] = g;
	if (!(g[n] = strdup(cmd)))
		return -ENOMEM;
	st->n_hooks[h]++;
	return 0;
}

/* One line (without its newline). */
static int parse_line(struct wsup_state *st, char *line)
{
	char *args = strchr(line, ' ');
	struct wsup_rec r;

	if (args)
		*args++ = '\0';
	else
		args = line + strlen(line);
	memset(&r, 0, sizeof(r));
	if (!strcmp(line, "version"))
		return strcmp(args, "1") ? -EINVAL : 0;
	if (!strcmp(line, "netns"))
		return snprintf(st->netns, sizeof(st->netns), "%s", args) >= (int)sizeof(st->netns)
			       ? -EINVAL : 0;
	for (int h = 0; h < WSUP_DOWN_HOOKS; h++)
		if (!strcmp(line, hook_key[h]))
			return add_hook(st, h, args);
	if (!strcmp(line, "up")) {
		st->complete = true;
		return 0;
	}
	if (!strcmp(line, "daemon") || !strcmp(line, "fwmark") || !strcmp(line, "table")) {
		r.kind = line[0] == 'd' ? WSUP_REC_DAEMON
			 : line[0] == 'f' ? WSUP_REC_FWMARK : WSUP_REC_TABLE;
		if (num(args, &r.value) < 0)
			return -EINVAL;
	} else if (!strcmp(line, "dns") && !*args) {
		r.kind = WSUP_REC_DNS;
	} else if (!strcmp(line, "sysctl")) {
		r.kind = WSUP_REC_SYSCTL;
	} else if (!strcmp(line, "route")) {
		r.kind = WSUP_REC_ROUTE;
		if (parse_route(args, &r) < 0)
			return -EINVAL;
	} else if (!strcmp(line, "rule")) {
		r.kind = WSUP_REC_RULE;
		if (parse_rule(args, &r) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return push_rec(st, &r);
}

int wsup_state_load(struct wsup_state *st, const char *ifname)
{
	char line[WSUP_STATE_LINE_MAX + 2];   /* the line, its newline, NUL */
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	wsup_state_init(st);
	if (ws_ipc_path(st->path, sizeof(st->path), ifname, "wsup"))
		return -ENAMETOOLONG;
	f = fopen(st->path, "re");
	if (!f)
		return -errno;
	while (!rc && fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			rc = -EINVAL;   /* longer than any line we write */
		if (!rc)
			rc = parse_line(st, line);
	}
	if (!rc && ferror(f))
		rc = -EIO;
	if (rc)
		wsup_err("%s:%u: damaged state file (%s)", st->path, lineno, strerror(-rc));
	fclose(f);
	return rc;
}

void wsup_state_remove(struct wsup_state *st)
{
	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	if (st->path[0] && unlink(st->path) < 0 && errno != ENOENT)
		wsup_warn("cannot remove %s: %s", st->path, strerror(errno));
}

void wsup_state_free(struct wsup_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	free(st->recs);
	for (int h = 0; h < WSUP_DOWN_HOOKS; h++) {
		for (size_t i = 0; i < st->n_hooks[h]; i++)
			free(st->hooks[h][i]);
		free(st->hooks[h]);
	}
	wsup_state_init(st);
}
