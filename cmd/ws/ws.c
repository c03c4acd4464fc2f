/* SPDX-License-Identifier: MIT */
/*
 * ws: options, the object table, unique-prefix matching and the top-level
 * help. Unlike iproute2, whose matching depends on table order, a prefix
 * that fits two words is an error naming both.
 */
#include <string.h>

#include "ws.h"

void ws_cli_init(struct ws_cli *cli, FILE *in, FILE *out, FILE *err)
{
	memset(cli, 0, sizeof(*cli));
	cli->in = in;
	cli->out = out;
	cli->err = err;
	cli->run_dir = WS_RUN_DIR;
	cli->resolve = ws_resolver_lookup;
}

int ws_cli_fail(struct ws_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fflush(cli->out);
	fputs("ws: ", cli->err);
	va_start(ap, fmt);
	vfprintf(cli->err, fmt, ap);
	va_end(ap);
	fputc('\n', cli->err);
	return WS_EXIT_FAIL;
}

/* ---- matching ---- */

static bool is_prefix(const char *word, const char *name)
{
	size_t n = strlen(word);

	return n && !strncmp(word, name, n);
}

int ws_match(const struct ws_word *table, const char *word)
{
	int found = WS_MATCH_NONE;

	for (int i = 0; table[i].name; i++) {
		if (!strcmp(word, table[i].name))
			return i;
		if (!is_prefix(word, table[i].name))
			continue;
		found = found == WS_MATCH_NONE ? i : WS_MATCH_AMBIGUOUS;
	}
	return found;
}

const char *ws_match_candidates(char *buf, size_t cap, const struct ws_word *table,
				const char *word)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; table[i].name && len < cap; i++) {
		int n;

		if (*word && !is_prefix(word, table[i].name))
			continue;
		n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", table[i].name);
		len = n < 0 ? cap : len + (size_t)n;
	}
	return buf;
}

static const char *word_list(char *buf, size_t cap, const struct ws_word *table)
{
	return ws_match_candidates(buf, cap, table, "");
}

int ws_cli_lookup(struct ws_cli *cli, const struct ws_word *table, const char *word,
		  const char *what)
{
	char buf[256];
	int i = ws_match(table, word);

	if (i == WS_MATCH_AMBIGUOUS)
		ws_cli_fail(cli, "ambiguous %s '%s': could be %s", what, word,
			    ws_match_candidates(buf, sizeof(buf), table, word));
	else if (i == WS_MATCH_NONE)
		ws_cli_fail(cli, "unknown %s '%s' (expected one of: %s)", what, word,
			    word_list(buf, sizeof(buf), table));
	return i;
}

bool ws_cli_is_help(const char *word)
{
	return word && !strcmp(word, "help");
}

int ws_cli_dispatch(struct ws_cli *cli, const struct ws_word *table, const char *dflt, int argc,
		    char **argv)
{
	char what[64];
	int i;

	if (argc < 2 && !dflt)
		return ws_cli_fail(cli, "%s: missing command (try 'ws %s help')", argv[0], argv[0]);
	if (argc < 2) {
		char *only[] = { (char *)dflt, NULL };

		return table[ws_match(table, dflt)].run(cli, 1, only);
	}
	snprintf(what, sizeof(what), "%s command", argv[0]);
	i = ws_cli_lookup(cli, table, argv[1], what);
	if (i < 0)
		return WS_EXIT_FAIL;
	argv[1] = (char *)table[i].name;
	/* "ws OBJECT COMMAND help": the object's help, never an interface named "help". */
	if (argc == 3 && ws_cli_is_help(argv[2]) && strcmp(table[i].name, "help")) {
		int h = ws_match(table, "help");
		char *only[] = { "help", NULL };

		if (h >= 0 && table[h].run)
			return table[h].run(cli, 1, only);
	}
	return table[i].run(cli, argc - 1, argv + 1);
}

/* ---- the object table ---- */

static int help_main(struct ws_cli *cli, int argc, char **argv);

static const struct ws_word objects[] = {
	{ "genkey", ws_key_genkey, ws_key_help_genkey },
	{ "help", help_main, ws_help_top },
	{ "link", ws_link_main, ws_link_help },
	{ "peer", ws_peer_main, ws_peer_help },
	{ "pubkey", ws_key_pubkey, ws_key_help_pubkey },
	{ "show", ws_show_main, ws_show_help },
	{ "showconf", ws_showconf_main, ws_showconf_help },
	{ NULL, NULL, NULL },
};

void ws_help_top(FILE *f)
{
	fprintf(f,
		"Usage: ws [OPTIONS] OBJECT { COMMAND | help }\n"
		"       ws help [OBJECT]\n"
		"where  OBJECT := { show | showconf | link | peer | genkey | pubkey }\n"
		"       OPTIONS := { -j[son] | -s[tats] | -h[elp] | -V[ersion] }\n"
		"\n"
		"  show [IFACE [dump]]     interfaces, peers, handshakes, transfer, RTT\n"
		"  showconf IFACE          the running configuration as a ws.conf file\n"
		"  link { show | add | del }   tunnel interfaces (start and stop wsd)\n"
		"  peer { show | add | set | del }   peers of a running interface\n"
		"  genkey                  print a new private key\n"
		"  pubkey                  read a private key on stdin, print its public key\n"
		"\n"
		"Objects, commands and keywords may be shortened to any unique prefix.\n");
}

/* "ws help [OBJECT]" */
static int help_main(struct ws_cli *cli, int argc, char **argv)
{
	int i;

	if (argc > 2)
		return ws_cli_fail(cli, "help: unexpected argument '%s'", argv[2]);
	if (argc < 2) {
		ws_help_top(cli->out);
		return WS_EXIT_OK;
	}
	i = ws_cli_lookup(cli, objects, argv[1], "object");
	if (i < 0)
		return WS_EXIT_FAIL;
	objects[i].help(cli->out);
	return WS_EXIT_OK;
}

/* ---- options ---- */

enum option { OPT_JSON, OPT_STATS, OPT_HELP, OPT_VERSION };

static const struct ws_word options[] = {
	[OPT_JSON] = { "json", NULL, NULL },
	[OPT_STATS] = { "stats", NULL, NULL },
	[OPT_HELP] = { "help", NULL, NULL },
	[OPT_VERSION] = { "version", NULL, NULL },
	{ NULL, NULL, NULL },
};

/* Options before OBJECT: -x or --x, any unique prefix; -V is -version. */
static int parse_option(struct ws_cli *cli, const char *arg)
{
	const char *name = arg + 1 + (arg[1] == '-');
	char buf[128];
	int o = ws_match(options, name);

	if (!strcmp(arg, "-V"))
		return OPT_VERSION;
	if (o == WS_MATCH_AMBIGUOUS)
		ws_cli_fail(cli, "ambiguous option '%s': could be %s", arg,
			    ws_match_candidates(buf, sizeof(buf), options, name));
	else if (o == WS_MATCH_NONE)
		ws_cli_fail(cli, "unknown option '%s' (try 'ws help')", arg);
	return o;
}

int ws_cli_main(struct ws_cli *cli, int argc, char **argv)
{
	int i = 1, o;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		o = parse_option(cli, argv[i]);
		if (o < 0)
			return WS_EXIT_FAIL;
		if (o == OPT_JSON)
			cli->json = true;
		else if (o == OPT_STATS)
			cli->stats = true;
		else if (o == OPT_HELP)
			return help_main(cli, 1, argv);
		else if (o == OPT_VERSION) {
			fprintf(cli->out, "ws (wiresocket) %s\n", WS_CLI_VERSION);
			return WS_EXIT_OK;
		}
	}
	if (i >= argc)
		return ws_cli_fail(cli, "missing OBJECT (try 'ws help')");
	o = ws_cli_lookup(cli, objects, argv[i], "object");
	if (o < 0)
		return WS_EXIT_FAIL;
	argv[i] = (char *)objects[o].name; /* messages name the object in full */
	return objects[o].run(cli, argc - i, argv + i);
}
