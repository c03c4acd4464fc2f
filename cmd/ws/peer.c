/* SPDX-License-Identifier: MIT */
/*
 * ws peer show/add/set/del: peers of a running interface, changed through
 * `set` requests without restarting the tunnel. Values are checked here with
 * the config parsers first, so mistakes are reported quoting the value
 * before anything is sent. add and set look the peer up first (the protocol
 * creates peers implicitly), so "exists" and "does not exist" are clear
 * errors; set also sends update_only=true so the daemon never creates one.
 * A DNS name given as endpoint is resolved here first: wsd resolves it again
 * on its own, without a way to answer the request with the outcome.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os/resolver.h"
#include "ws.h"

void ws_peer_help(FILE *f)
{
	fprintf(f,
		"Usage: ws [-j] [-s] peer show IFACE [PUBKEY]\n"
		"       ws peer add IFACE PUBKEY [ allowed-ips PREFIX[,PREFIX...] ]\n"
		"                   [ endpoint HOST:PORT ] [ persistent-keepalive SECS|off ]\n"
		"       ws peer set IFACE PUBKEY [ allowed-ips PREFIX[,PREFIX...] ]\n"
		"                   [ endpoint HOST:PORT ] [ persistent-keepalive SECS|off ]\n"
		"       ws peer del IFACE PUBKEY\n"
		"add fails when the peer exists, set and del when it does not; set replaces\n"
		"the allowed-ips list (an empty list \"\" clears it). HOST is an IPv4 address,\n"
		"[IPv6] or a DNS name: ws fails when it does not resolve here, and wsd\n"
		"resolves it again itself.\n");
}

enum peer_keyword { KW_ALLOWED_IPS, KW_ENDPOINT, KW_KEEPALIVE };

static const struct ws_word peer_keywords[] = {
	[KW_ALLOWED_IPS] = { "allowed-ips", NULL, NULL },
	[KW_ENDPOINT] = { "endpoint", NULL, NULL },
	[KW_KEEPALIVE] = { "persistent-keepalive", NULL, NULL },
	{ NULL, NULL, NULL },
};

/* One prefix of a comma list: item is trimmed in place. */
static int parse_one_prefix(struct ws_cli *cli, struct ws_conf_prefix *p, char *item,
			    const char *cmd)
{
	char *end = item + strlen(item);

	while (*item == ' ')
		item++;
	while (end > item && end[-1] == ' ')
		*--end = '\0';
	if (!ws_conf_parse_prefix(p, item, WS_CONF_PREFIX_MASK))
		return 0;
	return ws_cli_fail(cli, "peer %s: allowed-ips: invalid prefix '%s' (expected "
			   "ADDRESS/CIDR)", cmd, item);
}

/* "PREFIX[,PREFIX...]", or "" (or only spaces) for an empty list. */
static int parse_allowed_ips(struct ws_cli *cli, struct ws_peer_args *a, const char *list,
			     const char *cmd)
{
	char *copy, *item, *next;
	size_t n = 1;
	int ret = 0;

	a->has_allowed_ips = true;
	if (strspn(list, " ") == strlen(list))
		return 0;
	for (const char *s = list; *s; s++)
		n += *s == ',';
	if (n > WS_CONF_MAX_ALLOWED_IPS)
		return ws_cli_fail(cli, "peer %s: allowed-ips: more than %d prefixes", cmd,
				   WS_CONF_MAX_ALLOWED_IPS);
	copy = strdup(list);
	a->allowed_ips = calloc(n, sizeof(*a->allowed_ips));
	if (!copy || !a->allowed_ips) {
		free(copy);
		return ws_cli_fail(cli, "peer %s: %s", cmd, strerror(ENOMEM));
	}
	for (item = copy; !ret && item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		ret = parse_one_prefix(cli, &a->allowed_ips[a->n_allowed_ips++], item, cmd);
	}
	free(copy);
	return ret;
}

static int parse_value(struct ws_cli *cli, struct ws_peer_args *a, int kw, const char *value,
		       const char *cmd)
{
	if (kw == KW_ALLOWED_IPS)
		return parse_allowed_ips(cli, a, value, cmd);
	if (kw == KW_ENDPOINT) {
		a->has_endpoint = true;
		if (!ws_conf_parse_endpoint(&a->endpoint, value))
			return 0;
		return ws_cli_fail(cli, "peer %s: invalid endpoint '%s' (expected HOST:PORT, "
				   "[IPv6]:PORT or NAME:PORT)", cmd, value);
	}
	a->has_keepalive = true;
	if (!ws_conf_parse_keepalive(&a->keepalive, value))
		return 0;
	return ws_cli_fail(cli, "peer %s: invalid persistent-keepalive '%s' (expected 0..65535 "
			   "or off)", cmd, value);
}

static bool keyword_given(const struct ws_peer_args *a, int kw)
{
	return kw == KW_ALLOWED_IPS ? a->has_allowed_ips
	       : kw == KW_ENDPOINT  ? a->has_endpoint
				    : a->has_keepalive;
}

static int parse_options(struct ws_cli *cli, struct ws_peer_args *a, int argc, char **argv)
{
	const char *cmd = argv[0];

	for (int i = 3; i < argc; i += 2) {
		char what[64];
		int kw;

		snprintf(what, sizeof(what), "peer %s keyword", cmd);
		kw = ws_cli_lookup(cli, peer_keywords, argv[i], what);
		if (kw < 0)
			return WS_EXIT_FAIL;
		if (i + 1 >= argc)
			return ws_cli_fail(cli, "peer %s: missing value after '%s'", cmd,
					   peer_keywords[kw].name);
		if (keyword_given(a, kw))
			return ws_cli_fail(cli, "peer %s: '%s' given twice", cmd,
					   peer_keywords[kw].name);
		if (parse_value(cli, a, kw, argv[i + 1], cmd))
			return WS_EXIT_FAIL;
	}
	return 0;
}

int ws_peer_parse_args(struct ws_cli *cli, struct ws_peer_args *a, int argc, char **argv,
		       bool with_options)
{
	const char *cmd = argv[0];
	uint8_t key[WS_KEY_LEN];

	memset(a, 0, sizeof(*a));
	if (argc < 2)
		return ws_cli_fail(cli, "peer %s: missing IFACE (try 'ws peer help')", cmd);
	if (!ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	a->ifname = argv[1];
	if (argc < 3)
		return ws_cli_fail(cli, "peer %s: missing PUBKEY (try 'ws peer help')", cmd);
	if (ws_key_from_base64(key, argv[2]))
		return ws_cli_fail(cli, "peer %s: invalid public key '%s' (expected 44 characters "
				   "of base64, as 'ws pubkey' prints)", cmd, argv[2]);
	ws_key_to_base64(a->public_key, key);
	if (argc > 3 && !with_options)
		return ws_cli_fail(cli, "peer %s: unexpected argument '%s'", cmd, argv[3]);
	return parse_options(cli, a, argc, argv);
}

void ws_peer_args_free(struct ws_peer_args *a)
{
	free(a->allowed_ips);
	memset(a, 0, sizeof(*a));
}

void ws_peer_build_request(struct ws_ipc_buf *b, const struct ws_peer_args *a, enum ws_peer_op op)
{
	char buf[WS_CONF_ENDPOINT_STRLEN];

	ws_ipc_buf_init(b);
	ws_ipc_put(b, "set", "1");
	ws_ipc_put(b, "public_key", "%s", a->public_key);
	if (op != WS_PEER_ADD)
		ws_ipc_put(b, "update_only", "true");
	if (op == WS_PEER_DEL)
		ws_ipc_put(b, "remove", "true");
	if (a->has_allowed_ips && op == WS_PEER_SET)
		ws_ipc_put(b, "replace_allowed_ips", "true");
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		ws_ipc_put(b, "allowed_ip", "%s", ws_conf_format_prefix(buf, &a->allowed_ips[i]));
	if (a->has_endpoint)
		ws_ipc_put(b, "endpoint", "%s", ws_conf_format_endpoint(buf, &a->endpoint));
	if (a->has_keepalive)
		ws_ipc_put(b, "persistent_keepalive_interval", "%u", (unsigned)a->keepalive);
	ws_ipc_end(b);
}

/* ---- the commands ---- */

/* A DNS name must resolve now (an address needs no check): 0, or an error printed. */
static int check_endpoint(struct ws_cli *cli, const struct ws_peer_args *a, const char *cmd)
{
	char buf[WS_CONF_ENDPOINT_STRLEN];
	struct sockaddr_storage ss;
	int ret;

	if (!a->has_endpoint || a->endpoint.family)
		return 0;
	ret = cli->resolve(&ss, a->endpoint.host, a->endpoint.port);
	if (!ret)
		return 0;
	return ws_cli_fail(cli, "peer %s: endpoint '%s' does not resolve (%s); nothing was changed",
			   cmd, ws_conf_format_endpoint(buf, &a->endpoint),
			   ret == -EHOSTUNREACH ? "no such name, or no address of a usable family"
			   : ret == -EAGAIN   ? "no answer from DNS"
					      : strerror(-ret));
}

/* Look the peer up: 1 present, 0 absent, -1 error (printed; the
 * interface's own key is one). */
static int peer_exists(struct ws_cli *cli, const struct ws_peer_args *a, const char *cmd)
{
	struct ws_model_iface m;
	int ret = ws_cli_get(cli, a->ifname, &m, false);

	if (!ret && !strcmp(m.public_key, a->public_key))
		ret = -ws_cli_fail(cli, "peer %s: %s is the public key of '%s' itself", cmd,
				   a->public_key, a->ifname);
	else if (!ret)
		ret = ws_model_find_peer(&m, a->public_key) != NULL;
	ws_model_free(&m);
	return ret;
}

static int peer_change(struct ws_cli *cli, int argc, char **argv, enum ws_peer_op op)
{
	static const char *const verbs[] = { "add", "set", "del" };
	struct ws_peer_args a;
	struct ws_ipc_buf req;
	char what[128];
	int ret = WS_EXIT_FAIL, exists;

	if (ws_peer_parse_args(cli, &a, argc, argv, op != WS_PEER_DEL))
		goto out;
	if (op == WS_PEER_SET && !a.has_allowed_ips && !a.has_endpoint && !a.has_keepalive) {
		ws_cli_fail(cli, "peer set: nothing to change (give allowed-ips, endpoint or "
			    "persistent-keepalive)");
		goto out;
	}
	exists = peer_exists(cli, &a, verbs[op]);
	if (exists < 0)
		goto out;
	if (exists && op == WS_PEER_ADD) {
		ws_cli_fail(cli, "peer add: peer %s already exists on '%s' (use 'ws peer set')",
			    a.public_key, a.ifname);
		goto out;
	}
	if (!exists && op != WS_PEER_ADD) {
		ws_cli_fail(cli, "peer %s: no peer %s on '%s'", verbs[op], a.public_key, a.ifname);
		goto out;
	}
	if (check_endpoint(cli, &a, verbs[op]))
		goto out;
	snprintf(what, sizeof(what), "peer %s: wsd of '%s' refused the change", verbs[op], a.ifname);
	ws_peer_build_request(&req, &a, op);
	ret = ws_cli_set(cli, a.ifname, &req, what) ? WS_EXIT_FAIL : WS_EXIT_OK;
	ws_ipc_buf_free(&req);
out:
	ws_peer_args_free(&a);
	return ret;
}

static int peer_add(struct ws_cli *cli, int argc, char **argv)
{
	return peer_change(cli, argc, argv, WS_PEER_ADD);
}

static int peer_set(struct ws_cli *cli, int argc, char **argv)
{
	return peer_change(cli, argc, argv, WS_PEER_SET);
}

static int peer_del(struct ws_cli *cli, int argc, char **argv)
{
	return peer_change(cli, argc, argv, WS_PEER_DEL);
}

static void render_peers(struct ws_cli *cli, const struct ws_model_iface *m,
			 const struct ws_model_peer *only)
{
	struct ws_print p;
	size_t shown = 0;

	ws_print_init(&p, cli->out, cli->json);
	ws_print_open_array(&p, NULL);
	for (size_t i = 0; i < m->n_peers; i++) {
		if (only && only != &m->peers[i])
			continue;
		ws_print_text(&p, "%s", shown++ ? "\n" : "");
		ws_show_render_peer(&p, &m->peers[i], cli->now, cli->stats);
	}
	ws_print_close_array(&p);
	ws_print_end(&p);
}

/* ws peer show IFACE [PUBKEY] */
static int peer_show(struct ws_cli *cli, int argc, char **argv)
{
	struct ws_peer_args a = { 0 };
	struct ws_model_iface m;
	const struct ws_model_peer *only = NULL;

	if (argc < 2)
		return ws_cli_fail(cli, "peer show: missing IFACE (try 'ws peer help')");
	if (argc == 2 && !ws_cli_check_ifname(cli, argv[1]))
		return WS_EXIT_FAIL;
	if (argc > 2 && ws_peer_parse_args(cli, &a, argc, argv, false))
		return WS_EXIT_FAIL;
	if (ws_cli_get(cli, argv[1], &m, false)) {
		ws_model_free(&m);
		return WS_EXIT_FAIL;
	}
	if (argc > 2 && !(only = ws_model_find_peer(&m, a.public_key))) {
		ws_model_free(&m);
		return ws_cli_fail(cli, "peer show: no peer %s on '%s'", a.public_key, argv[1]);
	}
	render_peers(cli, &m, only);
	ws_model_free(&m);
	return WS_EXIT_OK;
}

static int peer_help(struct ws_cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return ws_cli_fail(cli, "peer help: unexpected argument '%s'", argv[1]);
	ws_peer_help(cli->out);
	return WS_EXIT_OK;
}

static const struct ws_word peer_commands[] = {
	{ "add", peer_add, NULL },
	{ "del", peer_del, NULL },
	{ "help", peer_help, NULL },
	{ "set", peer_set, NULL },
	{ "show", peer_show, NULL },
	{ NULL, NULL, NULL },
};

int ws_peer_main(struct ws_cli *cli, int argc, char **argv)
{
	return ws_cli_dispatch(cli, peer_commands, NULL, argc, argv);
}
