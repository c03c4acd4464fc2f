/* SPDX-License-Identifier: MIT */
/*
 * ws, the command-line tool: prefix matching, the grammar and its errors,
 * help at every level, parsing a `get` reply, the text/JSON printer (JSON
 * checked by parsing it back with jansson), dump, showconf round trips and
 * whole commands against a fake daemon (a socketpair whose reply is queued
 * before ws writes its request). No real daemon, no network.
 *
 * The tool's objects (all of cmd/ws but main.c) are linked into the test.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "test.h"
#include "ws/ws.h"

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define PEER1 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PEER2 "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define PEER3 "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="
#define NOW 1795500123ULL

/* A reply with every documented key, unknown keys at both levels, and a
 * second peer with most keys absent. */
static const char reply_get[] =
	"interface=ws0\n"
	"private_key=" PRIV "\n"
	"public_key=" PUB "\n"
	"listen_port=51820\n"
	"fwmark=0\n"
	"mtu=1420\n"
	"max_packet_size=1465\n"
	"workers=2\n"
	"handshake_queue=4\n"
	"cookie_replies_sent=3\n"
	"handshakes_rate_limited=1\n"
	"inbox_dropped=7\n"
	"tx_no_route=11\n"
	"tx_no_session=12\n"
	"rx_unknown_index=13\n"
	"rx_bad_packet=14\n"
	"tx_loop_dropped=15\n"
	"drop_rx_replay=21\n"
	"drop_rx_decrypt=22\n"
	"drop_rx_bad_frame=23\n"
	"drop_rx_unknown_channel=24\n"
	"drop_rx_unknown_event=25\n"
	"drop_rx_source=26\n"
	"drop_rx_reassembly=27\n"
	"drop_rx_tun_refused=28\n"
	"drop_tx_bad_packet=29\n"
	"drop_tx_too_big=30\n"
	"drop_tx_staging_full=31\n"
	"drop_tx_send_failed=32\n"
	"public_key=" PEER1 "\n"
	"endpoint=198.18.0.2:51820\n"
	"endpoint_config=gw.example.net:51820\n"
	"persistent_keepalive_interval=25\n"
	"last_handshake_time_sec=1795500000\n"
	"last_handshake_time_nsec=12000\n"
	"rx_bytes=1229\n"
	"tx_bytes=3482\n"
	"rx_packets=10\n"
	"tx_packets=12\n"
	"rx_dropped=1\n"
	"rtt_us=123\n"
	"connected=true\n"
	"sessions=1\n"
	"channel=0:control\n"
	"channel=1:data\n"
	"ctl_tx=5\n"
	"ctl_rx=6\n"
	"ctl_retransmits=2\n"
	"ctl_resets=0\n"
	"handshakes_initiated=3\n"
	"handshakes_completed=2\n"
	"some_future_key=whatever \"quoted\"\n"
	"allowed_ip=198.19.0.2/32\n"
	"allowed_ip=fd19::2/128\n"
	"public_key=" PEER2 "\n"
	"persistent_keepalive_interval=0\n"
	"last_handshake_time_sec=0\n"
	"connected=false\n"
	"allowed_ip=198.19.0.3/32\n"
	"errno=0\n"
	"\n";

static const char text_show[] =
	"interface: ws0\n"
	"  public key: " PUB "\n"
	"  listening port: 51820\n"
	"\n"
	"peer: " PEER1 "\n"
	"  endpoint: 198.18.0.2:51820\n"
	"  allowed ips: 198.19.0.2/32, fd19::2/128\n"
	"  latest handshake: 2 minutes, 3 seconds ago\n"
	"  transfer: 1.20 KiB received, 3.40 KiB sent\n"
	"  rtt: 0.123 ms\n"
	"  connected: yes\n"
	"  persistent keepalive: every 25 seconds\n"
	"  channels: 0 (control), 1 (data)\n"
	"\n"
	"peer: " PEER2 "\n"
	"  allowed ips: 198.19.0.3/32\n"
	"  latest handshake: never\n"
	"  transfer: 0 B received, 0 B sent\n"
	"  rtt: unknown\n"
	"  connected: no\n"
	"  channels: (none)\n";

static const char text_show_stats_peer1[] =
	"peer: " PEER1 "\n"
	"  endpoint: 198.18.0.2:51820\n"
	"  configured endpoint: gw.example.net:51820\n"
	"  allowed ips: 198.19.0.2/32, fd19::2/128\n"
	"  latest handshake: 2 minutes, 3 seconds ago\n"
	"  transfer: 1.20 KiB received, 3.40 KiB sent\n"
	"  packets: 10 received, 12 sent, 1 dropped\n"
	"  rtt: 0.123 ms\n"
	"  connected: yes\n"
	"  sessions: 1\n"
	"  persistent keepalive: every 25 seconds\n"
	"  channels: 0 (control), 1 (data)\n"
	"  control: 5 sent, 6 received, 2 retransmits, 0 resets\n"
	"  handshakes: 3 initiated, 2 completed\n";

static const char text_dump[] =
	PUB "\t51820\toff\t1420\t1465\t2\t4\t3\t1\n"
	PEER1 "\t198.18.0.2:51820\t198.19.0.2/32,fd19::2/128\t1795500000\t1229\t3482\t25"
	"\t123\tyes\t1\t10\t12\t1\t5\t6\t2\t0\t3\t2\tgw.example.net:51820\t0:control,1:data\n"
	PEER2 "\t(none)\t198.19.0.3/32\t0\t0\t0\toff"
	"\t(none)\tno\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t(none)\t(none)\n";

/* ---- helpers ---- */

static int parse_reply(struct ws_model_iface *m, const char *reply)
{
	char *buf = strdup(reply);
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ws_model_parse(m, buf, strlen(buf));
	free(buf);
	return ret;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The fake daemon: each connection takes the next scripted step. */
enum { FAKE_MAX = 8 };

struct fake_step {
	const char *ifname;           /* expected interface (NULL: any) */
	int err;                      /* connect fails with -err */
	const char *reply;
};

struct fake {
	struct fake_step steps[FAKE_MAX];
	int n_steps, next, collected;
	int server[FAKE_MAX];         /* our end of each connection */
	char *requests[FAKE_MAX];
};

static int fake_connect(void *ctx, const char *ifname)
{
	struct fake *f = ctx;
	struct fake_step *s;
	int sv[2];

	CU_ASSERT_FATAL(f->next < f->n_steps);
	s = &f->steps[f->next];
	if (s->ifname)
		CU_ASSERT_STRING_EQUAL(ifname, s->ifname);
	if (s->err) {
		f->server[f->next++] = -1;
		return -s->err;
	}
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CU_ASSERT_FATAL(write(sv[1], s->reply, strlen(s->reply)) == (ssize_t)strlen(s->reply));
	f->server[f->next++] = sv[1];
	return sv[0];
}

/* For runs that must not reach any daemon. */
static int no_connect(void *ctx, const char *ifname)
{
	(void)ctx;
	CU_FAIL("unexpected connection");
	fprintf(stderr, "\n  unexpected connection to %s", ifname);
	return -ENOENT;
}

/* Read what ws sent on each connection (ws has closed its end). */
static void fake_collect(struct fake *f)
{
	for (int i = f->collected; i < f->next; i++, f->collected++) {
		char buf[8192];
		ssize_t n = f->server[i] < 0 ? 0 : read(f->server[i], buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		f->requests[i] = strdup(buf);
		if (f->server[i] >= 0)
			close(f->server[i]);
	}
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < f->next; i++)
		free(f->requests[i]);
}

struct run {
	int rc;
	char *out, *err;
};

/* The fake DNS: *.example.net exist, except nowhere.example.net; slow.example.net
 * gets no answer. Counts the lookups. */
static int dns_lookups;

static int fake_resolve(struct sockaddr_storage *out, const char *host, uint16_t port)
{
	(void)port;
	dns_lookups++;
	if (!strcmp(host, "slow.example.net"))
		return -EAGAIN;
	if (!strcmp(host, "nowhere.example.net") || !strstr(host, ".example.net"))
		return -EHOSTUNREACH;
	memset(out, 0, sizeof(*out));
	out->ss_family = AF_INET;
	return 0;
}

/* Run `ws ARGS... NULL` with the fake daemon and input text in. */
static void run_ws(struct run *r, struct fake *f, const char *in, const char *run_dir, ...)
{
	char *argv[32] = { "ws" };
	size_t outlen, errlen;
	FILE *out = open_memstream(&r->out, &outlen), *err = open_memstream(&r->err, &errlen);
	FILE *input = fmemopen((void *)(in ? in : ""), in ? strlen(in) : 0, "r");
	struct ws_cli cli;
	va_list ap;
	int argc = 1;

	va_start(ap, run_dir);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	ws_cli_init(&cli, input ? input : stdin, out, err);
	cli.now = NOW;
	cli.connect = f ? fake_connect : no_connect;
	cli.resolve = fake_resolve;
	cli.connect_ctx = f;
	if (run_dir)
		cli.run_dir = run_dir;
	r->rc = ws_cli_main(&cli, argc, argv);
	fclose(out);
	fclose(err);
	if (input)
		fclose(input);
	if (f)
		fake_collect(f);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Exactly one line "ws: ..." on stderr, containing want. */
static void assert_one_error(const struct run *r, const char *want)
{
	const char *nl = strchr(r->err, '\n');

	CU_ASSERT_EQUAL(r->rc, 1);
	CU_ASSERT(!strncmp(r->err, "ws: ", 4));
	CU_ASSERT(nl && nl[1] == '\0');
	CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
	if (!strstr(r->err, want))
		fprintf(stderr, "\n  want '%s' in: %s", want, r->err);
}

/* ---- matching ---- */

static const struct ws_word t_words[] = {
	{ "set", NULL, NULL },
	{ "show", NULL, NULL },
	{ "showconf", NULL, NULL },
	{ "del", NULL, NULL },
	{ NULL, NULL, NULL },
};

static void test_match(void)
{
	char buf[64];

	CU_ASSERT_EQUAL(ws_match(t_words, "show"), 1);      /* exact beats longer words */
	CU_ASSERT_EQUAL(ws_match(t_words, "showc"), 2);     /* unique prefix */
	CU_ASSERT_EQUAL(ws_match(t_words, "se"), 0);
	CU_ASSERT_EQUAL(ws_match(t_words, "d"), 3);
	CU_ASSERT_EQUAL(ws_match(t_words, "sh"), WS_MATCH_AMBIGUOUS);
	CU_ASSERT_EQUAL(ws_match(t_words, "s"), WS_MATCH_AMBIGUOUS);
	CU_ASSERT_EQUAL(ws_match(t_words, "x"), WS_MATCH_NONE);
	CU_ASSERT_EQUAL(ws_match(t_words, "shows"), WS_MATCH_NONE);
	CU_ASSERT_EQUAL(ws_match(t_words, ""), WS_MATCH_NONE);
	CU_ASSERT_EQUAL(ws_match(t_words, "Show"), WS_MATCH_NONE);
	CU_ASSERT_STRING_EQUAL(ws_match_candidates(buf, sizeof(buf), t_words, "s"),
			       "set, show, showconf");
	CU_ASSERT_STRING_EQUAL(ws_match_candidates(buf, sizeof(buf), t_words, "sh"),
			       "show, showconf");
	CU_ASSERT_STRING_EQUAL(ws_match_candidates(buf, sizeof(buf), t_words, ""),
			       "set, show, showconf, del");
	CU_ASSERT_STRING_EQUAL(ws_match_candidates(buf, 8, t_words, "s"), "set, sh");
}

static void test_prefixes_on_the_command_line(void)
{
	static const struct { const char *a, *b, *want; } amb[] = {
		{ "s", NULL, "ambiguous object 's': could be show, showconf" },
		{ "p", NULL, "ambiguous object 'p': could be peer, pubkey" },
		{ "pe", "s", "ambiguous peer command 's': could be set, show" },
		{ "zz", NULL, "unknown object 'zz'" },
		{ "link", "x", "unknown link command 'x'" },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(amb) / sizeof(amb[0]); i++) {
		run_ws(&r, NULL, NULL, NULL, amb[i].a, amb[i].b, NULL);
		assert_one_error(&r, amb[i].want);
		CU_ASSERT_STRING_EQUAL(r.out, "");
		run_free(&r);
	}
	/* `ws pe a` is peer add; its message names the command in full. */
	run_ws(&r, NULL, NULL, NULL, "pe", "a", NULL);
	assert_one_error(&r, "peer add: missing IFACE");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, "l", "h", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "ws link add IFACE config FILE"));
	run_free(&r);
}

/* ---- help and options ---- */

static void assert_help(const char *a, const char *b, const char *c, const char *want)
{
	struct run r;

	run_ws(&r, NULL, NULL, NULL, a, b, c, NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT(!strncmp(r.out, "Usage: ws", 9));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
	run_free(&r);
}

static void test_help_every_level(void)
{
	static const char *const objs[][2] = {
		{ "genkey", "ws genkey" }, { "pubkey", "ws pubkey" },
		{ "show", "show [IFACE [dump]]" }, { "showconf", "ws showconf IFACE" },
		{ "link", "ws link del IFACE" }, { "peer", "ws peer del IFACE PUBKEY" },
		{ "help", "OBJECT := " },
	};

	assert_help("help", NULL, NULL, "OBJECT := ");
	assert_help("-h", NULL, NULL, "OBJECT := ");
	assert_help("--help", NULL, NULL, "OBJECT := ");
	assert_help("-help", NULL, NULL, "OBJECT := ");
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		assert_help(objs[i][0], "help", NULL, objs[i][1]);
		assert_help("help", objs[i][0], NULL, objs[i][1]);
	}
	assert_help("help", "pe", NULL, "ws peer set IFACE PUBKEY");
	assert_help("-j", "peer", "h", "ws peer add IFACE PUBKEY");
	assert_help("link", "help", NULL, "link show [IFACE [config]]");
	/* "help" after a command is help, not an interface name (no daemon is asked). */
	assert_help("peer", "show", "help", "ws peer del IFACE PUBKEY");
	assert_help("peer", "add", "help", "ws peer add IFACE PUBKEY");
	assert_help("peer", "del", "help", "ws peer del IFACE PUBKEY");
	assert_help("link", "show", "help", "ws link del IFACE");
	assert_help("link", "del", "help", "ws link del IFACE");
	assert_help("link", "add", "help", "ws link add IFACE config FILE");
}

static void test_options(void)
{
	struct run r;

	run_ws(&r, NULL, NULL, NULL, "-V", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.out, "ws (wiresocket) " WS_CLI_VERSION "\n");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, "--version", NULL);
	CU_ASSERT_STRING_EQUAL(r.out, "ws (wiresocket) " WS_CLI_VERSION "\n");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, "-x", "show", NULL);
	assert_one_error(&r, "unknown option '-x'");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, NULL);
	assert_one_error(&r, "missing OBJECT");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, "-j", "-s", NULL);
	assert_one_error(&r, "missing OBJECT");
	run_free(&r);
	run_ws(&r, NULL, NULL, NULL, "peer", NULL);
	assert_one_error(&r, "peer: missing command (try 'ws peer help')");
	run_free(&r);
}

/* ---- grammar errors: all caught before any connection ---- */

static void test_grammar_errors(void)
{
	static const struct { const char *args[8]; const char *want; } cases[] = {
		{ { "peer", "add" }, "peer add: missing IFACE" },
		{ { "peer", "add", "ws0" }, "peer add: missing PUBKEY" },
		{ { "peer", "add", "ws0", "notakey" }, "invalid public key 'notakey'" },
		{ { "peer", "add", "ws0", PEER1, "allowed-ips", "10.0.0.1/33" },
		  "allowed-ips: invalid prefix '10.0.0.1/33'" },
		{ { "peer", "add", "ws0", PEER1, "allowed-ips", "10.0.0.0/8,,fd19::/64" },
		  "invalid prefix ''" },
		{ { "peer", "add", "ws0", PEER1, "allowed-ips" }, "missing value after 'allowed-ips'" },
		{ { "peer", "add", "ws0", PEER1, "endpoint", "nope" }, "invalid endpoint 'nope'" },
		{ { "peer", "add", "ws0", PEER1, "endpoint", "1.2.3.4:0" }, "invalid endpoint '1.2.3.4:0'" },
		{ { "peer", "add", "ws0", PEER1, "persistent-keepalive", "70000" },
		  "invalid persistent-keepalive '70000'" },
		{ { "peer", "add", "ws0", PEER1, "foo", "bar" }, "unknown peer add keyword 'foo'" },
		{ { "peer", "set", "ws0", PEER1, "e", "1.2.3.4:5", "en", "1.2.3.4:6" },
		  "'endpoint' given twice" },
		{ { "peer", "set", "ws0", PEER1 }, "peer set: nothing to change" },
		{ { "peer", "del", "ws0", PEER1, "endpoint", "1.2.3.4:5" }, "unexpected argument 'endpoint'" },
		{ { "peer", "show" }, "peer show: missing IFACE" },
		{ { "peer", "show", "ws0", "bad" }, "invalid public key 'bad'" },
		{ { "link", "add", "ws0" }, "missing 'config FILE'" },
		{ { "link", "add", "ws0", "conf" }, "missing FILE after 'config'" },
		{ { "link", "add", "ws0", "cfg", "x" }, "unknown link add keyword 'cfg'" },
		{ { "link", "add", "ws0", "config", "/nonexistent/ws.conf" },
		  "config '/nonexistent/ws.conf': No such file or directory" },
		{ { "link", "del" }, "link del: missing IFACE" },
		{ { "link", "del", "a/b" }, "invalid interface name 'a/b'" },
		{ { "link", "show", "ws0", "bogus" }, "unknown link show keyword 'bogus'" },
		{ { "show", "ws0", "bogus" }, "unknown show keyword 'bogus'" },
		{ { "show", "ws0", "dump", "x" }, "unexpected argument 'x'" },
		{ { "-j", "show", "ws0", "d" }, "use either -json or dump" },
		{ { "show", "sixteen-chars-xx" }, "invalid interface name 'sixteen-chars-xx'" },
		{ { "show", ".." }, "invalid interface name '..'" },
		{ { "showconf" }, "showconf: missing IFACE" },
		{ { "showconf", "a", "b" }, "unexpected argument 'b'" },
		{ { "genkey", "x" }, "genkey: unexpected argument 'x'" },
		{ { "help", "bogus" }, "unknown object 'bogus'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = { .n_steps = 0 };
		const char *const *a = cases[i].args;
		struct run r;

		run_ws(&r, &f, NULL, NULL, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], NULL);
		assert_one_error(&r, cases[i].want);
		CU_ASSERT_STRING_EQUAL(r.out, "");
		CU_ASSERT_EQUAL(f.next, 0);   /* nothing was sent */
		fake_free(&f);
		run_free(&r);
	}
}

static void test_peer_args(void)
{
	char *argv[] = { "set", "ws0", PEER1, "allowed-ips", "10.1.2.3/24, fd19::2/128",
			 "end", "[fd18::1]:51820", "persistent-keepalive", "off", NULL };
	struct ws_cli cli;
	struct ws_peer_args a;
	struct ws_ipc_buf b;
	char buf[WS_CONF_PREFIX_STRLEN];

	ws_cli_init(&cli, stdin, stdout, stderr);
	CU_ASSERT_EQUAL_FATAL(ws_peer_parse_args(&cli, &a, 9, argv, true), 0);
	CU_ASSERT_STRING_EQUAL(a.ifname, "ws0");
	CU_ASSERT_STRING_EQUAL(a.public_key, PEER1);
	CU_ASSERT_EQUAL_FATAL(a.n_allowed_ips, 2);
	CU_ASSERT_STRING_EQUAL(ws_conf_format_prefix(buf, &a.allowed_ips[0]), "10.1.2.0/24");
	CU_ASSERT(a.has_endpoint && a.endpoint.port == 51820);
	CU_ASSERT(a.has_keepalive && a.keepalive == 0);
	ws_peer_build_request(&b, &a, WS_PEER_SET);
	CU_ASSERT_STRING_EQUAL(b.data, "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
			       "replace_allowed_ips=true\nallowed_ip=10.1.2.0/24\n"
			       "allowed_ip=fd19::2/128\nendpoint=[fd18::1]:51820\n"
			       "persistent_keepalive_interval=0\n\n");
	ws_ipc_buf_free(&b);
	ws_peer_build_request(&b, &a, WS_PEER_DEL);
	CU_ASSERT_STRING_EQUAL(b.data, "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
			       "remove=true\n"
			       "allowed_ip=10.1.2.0/24\nallowed_ip=fd19::2/128\n"
			       "endpoint=[fd18::1]:51820\npersistent_keepalive_interval=0\n\n");
	ws_ipc_buf_free(&b);
	ws_peer_args_free(&a);
	/* An empty list clears; a set without it leaves the list alone. */
	argv[4] = "";
	CU_ASSERT_EQUAL_FATAL(ws_peer_parse_args(&cli, &a, 5, argv, true), 0);
	CU_ASSERT(a.has_allowed_ips && a.n_allowed_ips == 0);
	ws_peer_build_request(&b, &a, WS_PEER_SET);
	CU_ASSERT_STRING_EQUAL(b.data, "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
			       "replace_allowed_ips=true\n\n");
	ws_ipc_buf_free(&b);
	ws_peer_args_free(&a);
}

/* ---- the model ---- */

static void test_model_parse(void)
{
	struct ws_model_iface m;
	const struct ws_model_peer *p;
	uint8_t priv[WS_KEY_LEN];

	CU_ASSERT_EQUAL_FATAL(parse_reply(&m, reply_get), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "ws0");
	CU_ASSERT(m.has_private_key);
	CU_ASSERT_EQUAL(ws_key_from_base64(priv, PRIV), 0);
	CU_ASSERT(!memcmp(priv, m.private_key, WS_KEY_LEN));
	CU_ASSERT_STRING_EQUAL(m.public_key, PUB);
	CU_ASSERT(m.listen_port == 51820 && m.fwmark == 0 && m.has_mtu && m.mtu == 1420);
	CU_ASSERT(m.max_packet_size == 1465 && m.workers == 2 && m.handshake_queue == 4);
	CU_ASSERT(m.cookie_replies_sent == 3 && m.handshakes_rate_limited == 1);
	CU_ASSERT_EQUAL_FATAL(m.n_peers, 2);
	p = &m.peers[0];
	CU_ASSERT_STRING_EQUAL(p->public_key, PEER1);
	CU_ASSERT_STRING_EQUAL(p->endpoint, "198.18.0.2:51820");
	CU_ASSERT_STRING_EQUAL(p->endpoint_config, "gw.example.net:51820");
	CU_ASSERT_EQUAL_FATAL(p->n_allowed_ips, 2);
	CU_ASSERT_STRING_EQUAL(p->allowed_ips[1], "fd19::2/128");
	CU_ASSERT_EQUAL_FATAL(p->n_channels, 2);
	CU_ASSERT(p->channels[1].id == 1 && !strcmp(p->channels[1].kind, "data"));
	CU_ASSERT(p->last_handshake_sec == 1795500000 && p->last_handshake_nsec == 12000);
	CU_ASSERT(p->rx_bytes == 1229 && p->tx_bytes == 3482 && p->rx_packets == 10);
	CU_ASSERT(p->tx_packets == 12 && p->rx_dropped == 1 && p->has_rtt && p->rtt_us == 123);
	CU_ASSERT(p->connected && p->sessions == 1 && p->persistent_keepalive == 25);
	CU_ASSERT(p->ctl_tx == 5 && p->ctl_rx == 6 && p->ctl_retransmits == 2 && !p->ctl_resets);
	CU_ASSERT(p->handshakes_initiated == 3 && p->handshakes_completed == 2);
	p = &m.peers[1];
	CU_ASSERT(!p->endpoint && !p->endpoint_config && !p->has_rtt && !p->connected);
	CU_ASSERT(p->n_allowed_ips == 1 && p->n_channels == 0);
	CU_ASSERT_PTR_EQUAL(ws_model_find_peer(&m, PEER2), &m.peers[1]);
	CU_ASSERT_PTR_NULL(ws_model_find_peer(&m, PEER3));
	CU_ASSERT_PTR_NULL(ws_model_find_peer(&m, "junk"));
	ws_model_free(&m);
	/* No peers at all, no mtu: fine. */
	CU_ASSERT_EQUAL(parse_reply(&m, "public_key=" PUB "\nerrno=0\n\n"), 0);
	CU_ASSERT(m.n_peers == 0 && !m.has_mtu && !m.name);
	ws_model_free(&m);
}

static void test_model_parse_errors(void)
{
	static const char *const bad[] = {
		"listen_port=12x\n\n",
		"listen_port=-1\n\n",
		"listen_port=\n\n",
		"workers=18446744073709551616\n\n",
		"private_key=short\n\n",
		"public_key=" PUB "\npublic_key=nope\n\n",
		"public_key=" PUB "\npublic_key=" PEER1 "\nconnected=yes\n\n",
		"public_key=" PUB "\npublic_key=" PEER1 "\nchannel=1\n\n",
		"public_key=" PUB "\npublic_key=" PEER1 "\nchannel=x:data\n\n",
		"public_key=" PUB "\npublic_key=" PEER1 "\nchannel=1:\n\n",
		"public_key=" PUB "\npublic_key=" PEER1 "\nrtt_us=1.5\n\n",
		"no equals sign\n\n",
		"Bad_Key=1\n\n",
	};
	struct ws_model_iface m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse_reply(&m, bad[i]), -EPROTO);
		ws_model_free(&m);
	}
	CU_ASSERT_EQUAL(parse_reply(&m, "workers=18446744073709551615\n\n"), 0);
	CU_ASSERT(m.workers == UINT64_MAX);
	ws_model_free(&m);
}

/* ---- formatters ---- */

static void test_formatters(void)
{
	char b[WS_FMT_LEN];

	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 0), "0 B");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 1023), "1023 B");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 1229), "1.20 KiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 3482), "3.40 KiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 1048576), "1.00 MiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 5ULL << 30), "5.00 GiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 3ULL << 40), "3.00 TiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_bytes(b, 2048ULL << 40), "2048.00 TiB");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 0), "0 seconds");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 1), "1 second");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 25), "25 seconds");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 123), "2 minutes, 3 seconds");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 3660), "1 hour, 1 minute");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 86400 + 2), "1 day, 2 seconds");
	CU_ASSERT_STRING_EQUAL(ws_fmt_duration(b, 2 * 31536000ULL + 7200),
			       "2 years, 2 hours");
	ws_fmt_duration(b, UINT64_MAX);
	CU_ASSERT(strlen(b) < WS_FMT_LEN && !strncmp(b, "584942417355 years, ", 20));
	CU_ASSERT_STRING_EQUAL(ws_fmt_ago(b, 100, 112), "12 seconds ago");
	CU_ASSERT_STRING_EQUAL(ws_fmt_ago(b, 100, 223), "2 minutes, 3 seconds ago");
	CU_ASSERT_STRING_EQUAL(ws_fmt_ago(b, 100, 100), "now");
	CU_ASSERT_PTR_NOT_NULL(strstr(ws_fmt_ago(b, 200, 100), "clock went backward"));
	CU_ASSERT_STRING_EQUAL(ws_fmt_usecs(b, 123), "0.123 ms");
	CU_ASSERT_STRING_EQUAL(ws_fmt_usecs(b, 120), "0.120 ms");
	CU_ASSERT_STRING_EQUAL(ws_fmt_usecs(b, 25431), "25.431 ms");
}

/* ---- rendering ---- */

static char *render(const char *reply, bool json, bool stats, bool dump)
{
	struct ws_model_iface m;
	struct ws_print p;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	CU_ASSERT_EQUAL(parse_reply(&m, reply), 0);
	ws_print_init(&p, f, json);
	if (dump) {
		ws_show_render_dump(f, &m);
	} else {
		ws_print_open_array(&p, NULL);
		ws_show_render_iface(&p, &m, NOW, stats);
		ws_print_close_array(&p);
		ws_print_end(&p);
	}
	fclose(f);
	ws_model_free(&m);
	return out;
}

static void test_render_text(void)
{
	char *out = render(reply_get, false, false, false);

	CU_ASSERT_STRING_EQUAL(out, text_show);
	CU_ASSERT_PTR_NULL(strstr(out, PRIV));   /* never the private key */
	free(out);
	out = render(reply_get, false, true, false);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "  listening port: 51820\n  mtu: 1420\n"
				   "  max packet size: 1465\n  workers: 2\n  handshake queue: 4\n"
				   "  cookie replies sent: 3\n  handshakes rate limited: 1\n"
				   "  inbox dropped: 7\n  tx no route: 11\n  tx no session: 12\n"
				   "  rx unknown index: 13\n  rx bad packet: 14\n  tx routing loop dropped: 15\n"
				   "  dropped: rx replayed: 21\n"
				   "  dropped: rx decryption failed: 22\n"
				   "  dropped: rx bad frame: 23\n"
				   "  dropped: rx unknown channel: 24\n"
				   "  dropped: rx unknown event: 25\n"
				   "  dropped: rx source not allowed: 26\n"
				   "  dropped: rx reassembly refused: 27\n"
				   "  dropped: rx tun write refused: 28\n"
				   "  dropped: tx bad packet: 29\n"
				   "  dropped: tx too big: 30\n"
				   "  dropped: tx staging full: 31\n"
				   "  dropped: tx send failed: 32\n"
				   "\npeer:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, text_show_stats_peer1));
	free(out);
	out = render(reply_get, false, false, true);
	CU_ASSERT_STRING_EQUAL(out, text_dump);
	CU_ASSERT_PTR_NULL(strstr(out, PRIV));
	free(out);
}

/* The documented key sets: the JSON must have exactly these. */
static const char *const iface_keys[] = {
	"interface", "public_key", "listen_port", "fwmark", "mtu", "max_packet_size", "workers",
	"stats", "peers", NULL,
};
static const char *const stats_keys[] = {
	"handshake_queue", "cookie_replies_sent", "handshakes_rate_limited", "inbox_dropped",
	"tx_no_route", "tx_no_session", "rx_unknown_index", "rx_bad_packet", "tx_loop_dropped",
	"drop_rx_replay", "drop_rx_decrypt", "drop_rx_bad_frame", "drop_rx_unknown_channel",
	"drop_rx_unknown_event", "drop_rx_source", "drop_rx_reassembly", "drop_rx_tun_refused",
	"drop_tx_bad_packet", "drop_tx_too_big", "drop_tx_staging_full", "drop_tx_send_failed", NULL,
};
static const char *const peer_keys[] = {
	"public_key", "endpoint", "endpoint_config", "allowed_ips", "latest_handshake",
	"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "rtt_us", "connected",
	"sessions", "persistent_keepalive", "channels", "control", "handshakes", NULL,
};
static const char *const control_keys[] = { "tx", "rx", "retransmits", "resets", NULL };
static const char *const handshakes_keys[] = { "initiated", "completed", NULL };

static void assert_keys(json_t *obj, const char *const *keys)
{
	size_t n = 0;

	CU_ASSERT_FATAL(json_is_object(obj));
	for (; keys[n]; n++) {
		CU_ASSERT_PTR_NOT_NULL(json_object_get(obj, keys[n]));
		if (!json_object_get(obj, keys[n]))
			fprintf(stderr, "\n  missing JSON key %s", keys[n]);
	}
	CU_ASSERT_EQUAL(json_object_size(obj), n);
}

static json_int_t jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	CU_ASSERT(json_is_integer(v));
	return json_integer_value(v);
}

static void check_json_peers(json_t *peers)
{
	json_t *p0 = json_array_get(peers, 0), *p1 = json_array_get(peers, 1), *ch;

	CU_ASSERT_EQUAL_FATAL(json_array_size(peers), 2);
	assert_keys(p0, peer_keys);
	assert_keys(p1, peer_keys);
	assert_keys(json_object_get(p0, "control"), control_keys);
	assert_keys(json_object_get(p0, "handshakes"), handshakes_keys);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p0, "endpoint")),
			       "198.18.0.2:51820");
	CU_ASSERT(json_is_null(json_object_get(p1, "endpoint")));
	CU_ASSERT(json_is_null(json_object_get(p1, "endpoint_config")));
	CU_ASSERT(json_is_null(json_object_get(p1, "rtt_us")));
	CU_ASSERT(jint(p0, "rtt_us") == 123 && jint(p0, "latest_handshake") == 1795500000);
	CU_ASSERT(jint(p1, "latest_handshake") == 0 && jint(p0, "rx_bytes") == 1229);
	CU_ASSERT(jint(p0, "persistent_keepalive") == 25 && jint(p1, "persistent_keepalive") == 0);
	CU_ASSERT(json_is_true(json_object_get(p0, "connected")));
	CU_ASSERT(json_is_false(json_object_get(p1, "connected")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(p0, "allowed_ips")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
		json_object_get(p0, "allowed_ips"), 1)), "fd19::2/128");
	ch = json_array_get(json_object_get(p0, "channels"), 0);
	CU_ASSERT(jint(ch, "id") == 0 && !strcmp(json_string_value(json_object_get(ch, "kind")),
						   "control"));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(p1, "channels")), 0);
	CU_ASSERT(jint(json_object_get(p0, "control"), "retransmits") == 2);
	CU_ASSERT(jint(json_object_get(p0, "handshakes"), "completed") == 2);
}

static void test_render_json(void)
{
	for (int stats = 0; stats < 2; stats++) {
		char *out = render(reply_get, true, stats, false);
		json_error_t e;
		json_t *root = json_loads(out, 0, &e), *ifc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(root);
		CU_ASSERT(json_is_array(root) && json_array_size(root) == 1);
		ifc = json_array_get(root, 0);
		assert_keys(ifc, iface_keys);
		assert_keys(json_object_get(ifc, "stats"), stats_keys);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ifc, "interface")), "ws0");
		CU_ASSERT(jint(ifc, "listen_port") == 51820 && jint(ifc, "mtu") == 1420);
		CU_ASSERT(jint(json_object_get(ifc, "stats"), "cookie_replies_sent") == 3);
		CU_ASSERT(jint(json_object_get(ifc, "stats"), "drop_rx_replay") == 21);
		CU_ASSERT(jint(json_object_get(ifc, "stats"), "drop_tx_send_failed") == 32);
		check_json_peers(json_object_get(ifc, "peers"));
		CU_ASSERT_PTR_NULL(strstr(out, PRIV));
		CU_ASSERT(out[strlen(out) - 1] == '\n');
		json_decref(root);
		free(out);
	}
}

/* A hostile string value survives as valid JSON; mtu absent is null. */
static void test_render_json_escaping(void)
{
	char *out = render("interface=w\"s\\0\xff\xc3\xa9\n"
			   "public_key=" PUB "\npublic_key=" PEER1 "\n"
			   "endpoint=x\"y\n\n", true, false, false);
	json_error_t e;
	json_t *root = json_loads(out, 0, &e), *ifc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	ifc = json_array_get(root, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ifc, "interface")),
			       "w\"s\\0\xef\xbf\xbd\xc3\xa9");
	CU_ASSERT(json_is_null(json_object_get(ifc, "mtu")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
		json_array_get(json_object_get(ifc, "peers"), 0), "endpoint")), "x\"y");
	json_decref(root);
	free(out);
}

static void test_json_string(void)
{
	static const struct { const char *in, *decoded; } cases[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "q\"b\\s/", "q\"b\\s/" },
		{ "\x01\x1f\n\t\x7f", "\x01\x1f\n\t\x7f" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xc3", "\xef\xbf\xbd" },                 /* truncated */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\x80z", "a\xef\xbf\xbdz" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		size_t len;
		FILE *f = open_memstream(&out, &len);
		json_error_t e;
		json_t *v;

		fputc('[', f);
		ws_json_string(f, cases[i].in);
		fputc(']', f);
		fclose(f);
		v = json_loads(out, 0, &e);
		CU_ASSERT_PTR_NOT_NULL(v);
		if (v)
			CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(v, 0)),
					       cases[i].decoded);
		json_decref(v);
		free(out);
	}
}

/* Nesting and separators of the printer; text mode writes only the text. */
static void test_printer(void)
{
	for (int json = 0; json < 2; json++) {
		char *out = NULL;
		size_t len;
		FILE *f = open_memstream(&out, &len);
		struct ws_print p;

		ws_print_init(&p, f, json);
		ws_print_open_object(&p, NULL);
		ws_print_u64(&p, WS_PRINT_ANY, "a", "a=%" PRIu64 ";", 1);
		ws_print_u64(&p, WS_PRINT_TEXT, "t", "t;", 0);
		ws_print_u64(&p, WS_PRINT_JSON, "j", "j;", 2);
		ws_print_open_array(&p, "l");
		ws_print_string(&p, WS_PRINT_ANY, NULL, "%s;", "x");
		ws_print_null(&p, WS_PRINT_ANY, NULL, "null;");
		ws_print_bool(&p, WS_PRINT_ANY, NULL, "%s;", true);
		ws_print_open_object(&p, NULL);
		ws_print_close_object(&p);
		ws_print_close_array(&p);
		ws_print_bytes(&p, WS_PRINT_ANY, "b", "%s;", 2048);
		ws_print_secs(&p, WS_PRINT_ANY, "s", "%s;", 61);
		ws_print_ago(&p, WS_PRINT_ANY, "h", "%s;", 0, NOW);
		ws_print_string(&p, WS_PRINT_ANY, "n", "never;", NULL);
		ws_print_text(&p, "end");
		ws_print_close_object(&p);
		ws_print_end(&p);
		fclose(f);
		CU_ASSERT_STRING_EQUAL(out, json ? "{\"a\":1,\"j\":2,\"l\":[\"x\",null,true,{}],"
						   "\"b\":2048,\"s\":61,\"h\":0,\"n\":null}\n"
						 : "a=1;t;x;null;yes;2.00 KiB;1 minute, 1 second;"
						   "never;end");
		free(out);
	}
}

/* ---- showconf ---- */

static void test_showconf_round_trip(void)
{
	struct ws_model_iface m;
	struct ws_conf c, back;
	struct ws_conf_error err;
	char what[256], *out = NULL;
	size_t len;
	FILE *f;

	CU_ASSERT_EQUAL(parse_reply(&m, reply_get), 0);
	CU_ASSERT_EQUAL_FATAL(ws_show_to_conf(&c, &m, what, sizeof(what)), 0);
	ws_model_free(&m);
	CU_ASSERT(c.has_private_key && c.listen_port == 51820 && c.mtu == 1420);
	CU_ASSERT(c.max_packet_size == 1465 && c.n_peers == 2);
	CU_ASSERT_STRING_EQUAL(c.peers[0].endpoint.host, "gw.example.net");  /* name kept */
	CU_ASSERT(!c.peers[1].has_endpoint && c.peers[0].persistent_keepalive == 25);
	f = open_memstream(&out, &len);
	CU_ASSERT_EQUAL(ws_conf_write(f, &c, true), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "PrivateKey = " PRIV "\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "AllowedIPs = 198.19.0.2/32, fd19::2/128\n"));
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&back, "showconf", out, len, &err), 0);
	CU_ASSERT(ws_conf_equal(&c, &back));
	ws_conf_free(&back);
	ws_conf_free(&c);
	free(out);
	/* The learned endpoint when none is configured; bad values are named. */
	CU_ASSERT_EQUAL(parse_reply(&m, "public_key=" PUB "\npublic_key=" PEER1 "\n"
				    "endpoint=[fd18::2]:7\nallowed_ip=10.0.0.0/8\n\n"), 0);
	CU_ASSERT_EQUAL_FATAL(ws_show_to_conf(&c, &m, what, sizeof(what)), 0);
	CU_ASSERT(c.peers[0].has_endpoint && c.peers[0].endpoint.port == 7);
	CU_ASSERT(!c.has_private_key && c.mtu == 0 && c.max_packet_size == 0);
	ws_conf_free(&c);
	ws_model_free(&m);
	CU_ASSERT_EQUAL(parse_reply(&m, "public_key=" PUB "\npublic_key=" PEER1 "\n"
				    "allowed_ip=10.0.0.0/40\n\n"), 0);
	CU_ASSERT_EQUAL(ws_show_to_conf(&c, &m, what, sizeof(what)), -EPROTO);
	CU_ASSERT_STRING_EQUAL(what, "allowed_ip '10.0.0.0/40'");
	ws_model_free(&m);
	CU_ASSERT_EQUAL(parse_reply(&m, "listen_port=70000\n\n"), 0);
	CU_ASSERT_EQUAL(ws_show_to_conf(&c, &m, what, sizeof(what)), -EPROTO);
	CU_ASSERT_STRING_EQUAL(what, "listen_port '70000'");
	ws_model_free(&m);
}

/* ---- whole commands against the fake daemon ---- */

static void test_cmd_show(void)
{
	struct fake f = { .n_steps = 4, .steps = {
		{ "ws0", 0, reply_get }, { "ws0", 0, reply_get },
		{ "ws0", 0, reply_get }, { "ws0", 0, reply_get } } };
	struct run r;
	json_error_t e;
	json_t *root;

	run_ws(&r, &f, NULL, NULL, "show", "ws0", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.out, text_show);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT_STRING_EQUAL(f.requests[0], "get=1\n\n");
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "-j", "show", "ws0", NULL);
	root = json_loads(r.out, 0, &e);
	CU_ASSERT(r.rc == 0 && json_is_array(root) && json_array_size(root) == 1);
	json_decref(root);
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "show", "ws0", "dump", NULL);
	CU_ASSERT_STRING_EQUAL(r.out, text_dump);
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "showc", "ws0", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT(starts_with(r.out, "[Interface]\nPrivateKey = " PRIV "\nListenPort = 51820\n"));
	run_free(&r);
	fake_free(&f);
}

static void test_cmd_peer_show(void)
{
	struct fake f = { .n_steps = 3, .steps = {
		{ "ws0", 0, reply_get }, { "ws0", 0, reply_get }, { "ws0", 0, reply_get } } };
	struct run r;
	json_error_t e;
	json_t *root;

	run_ws(&r, &f, NULL, NULL, "peer", "show", "ws0", PEER2, NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.out, strstr(text_show, "peer: " PEER2));
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "-j", "peer", "show", "ws0", NULL);
	root = json_loads(r.out, 0, &e);
	CU_ASSERT(json_is_array(root) && json_array_size(root) == 2);
	if (root)
		assert_keys(json_array_get(root, 0), peer_keys);
	json_decref(root);
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "peer", "show", "ws0", PEER3, NULL);
	assert_one_error(&r, "peer show: no peer " PEER3 " on 'ws0'");
	run_free(&r);
	fake_free(&f);
}

static void test_cmd_peer_add(void)
{
	struct fake f = { .n_steps = 2, .steps = {
		{ "ws0", 0, reply_get }, { "ws0", 0, "errno=0\n\n" } } };
	struct run r;

	run_ws(&r, &f, NULL, NULL, "pe", "a", "ws0", PEER3, "allowed-ips", "198.19.0.9/32",
	       "endpoint", "peer.example.net:51820", "p", "25", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.err, "");
	CU_ASSERT_STRING_EQUAL(r.out, "");
	CU_ASSERT_STRING_EQUAL(f.requests[0], "get=1\n\n");
	CU_ASSERT_STRING_EQUAL(f.requests[1], "set=1\npublic_key=" PEER3 "\n"
			       "allowed_ip=198.19.0.9/32\nendpoint=peer.example.net:51820\n"
			       "persistent_keepalive_interval=25\n\n");
	run_free(&r);
	fake_free(&f);
	/* Nor the interface itself. */
	memset(&f, 0, sizeof(f));
	f.n_steps = 1;
	f.steps[0].reply = reply_get;
	run_ws(&r, &f, NULL, NULL, "peer", "add", "ws0", PUB, NULL);
	assert_one_error(&r, "peer add: " PUB " is the public key of 'ws0' itself");
	run_free(&r);
	fake_free(&f);
	/* An existing peer is not added again. */
	memset(&f, 0, sizeof(f));
	f.n_steps = 1;
	f.steps[0].reply = reply_get;
	run_ws(&r, &f, NULL, NULL, "peer", "add", "ws0", PEER1, NULL);
	assert_one_error(&r, "peer add: peer " PEER1 " already exists on 'ws0'");
	CU_ASSERT_EQUAL(f.next, 1);
	run_free(&r);
	fake_free(&f);
}

/* An endpoint name that does not resolve is an error, and nothing is sent. */
static void test_cmd_peer_endpoint_resolves(void)
{
	static const struct {
		const char *verb, *key, *endpoint, *want;
	} cases[] = {
		{ "add", PEER3, "nowhere.example.net:51820", "peer add: endpoint 'nowhere.example.net:51820' "
		  "does not resolve (no such name, or no address of a usable family); nothing was changed" },
		{ "set", PEER1, "slow.example.net:1", "peer set: endpoint 'slow.example.net:1' does not "
		  "resolve (no answer from DNS)" },
	};
	struct fake f;
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.n_steps = 2;
		f.steps[0].reply = reply_get;
		f.steps[1].reply = "errno=0\n\n";
		dns_lookups = 0;
		run_ws(&r, &f, NULL, NULL, "peer", cases[i].verb, "ws0", cases[i].key, "endpoint",
		       cases[i].endpoint, NULL);
		assert_one_error(&r, cases[i].want);
		CU_ASSERT_EQUAL(dns_lookups, 1);
		CU_ASSERT_EQUAL(f.next, 1); /* the get only: no set was sent */
		run_free(&r);
		fake_free(&f);
	}
	/* An address is not looked up; a name that resolves is sent as the name. */
	memset(&f, 0, sizeof(f));
	f.n_steps = 4;
	f.steps[0].reply = f.steps[2].reply = reply_get;
	f.steps[1].reply = f.steps[3].reply = "errno=0\n\n";
	dns_lookups = 0;
	run_ws(&r, &f, NULL, NULL, "peer", "set", "ws0", PEER1, "endpoint", "[fd18::2]:51820", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(dns_lookups, 0);
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "peer", "set", "ws0", PEER1, "endpoint", "gw.example.net:9", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(dns_lookups, 1);
	CU_ASSERT_STRING_EQUAL(f.requests[3], "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
			       "endpoint=gw.example.net:9\n\n");
	run_free(&r);
	fake_free(&f);
}

static void test_cmd_peer_set_del(void)
{
	struct fake f = { .n_steps = 6, .steps = {
		{ NULL, 0, reply_get }, { NULL, 0, "errno=0\n\n" },
		{ NULL, 0, reply_get }, { NULL, 0, "errno=22\n\n" },
		{ NULL, 0, reply_get }, { NULL, 0, "errno=0\n\n" } } };
	struct run r;

	run_ws(&r, &f, NULL, NULL, "peer", "set", "ws0", PEER1, "allowed-ips", "", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(f.requests[1], "set=1\npublic_key=" PEER1 "\nupdate_only=true\n"
			       "replace_allowed_ips=true\n\n");
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "peer", "set", "ws0", PEER1, "persistent-keepalive", "9", NULL);
	assert_one_error(&r, "peer set: wsd of 'ws0' refused the change: Invalid argument");
	run_free(&r);
	run_ws(&r, &f, NULL, NULL, "peer", "del", "ws0", PEER2, NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(f.requests[5], "set=1\npublic_key=" PEER2 "\nupdate_only=true\n"
			       "remove=true\n\n");
	run_free(&r);
	fake_free(&f);
	/* Absent peers: no set request is sent. */
	for (int del = 0; del < 2; del++) {
		memset(&f, 0, sizeof(f));
		f.n_steps = 1;
		f.steps[0].reply = reply_get;
		run_ws(&r, &f, NULL, NULL, "peer", del ? "del" : "set", "ws0", PEER3,
		       del ? NULL : "e", "1.2.3.4:5", NULL);
		assert_one_error(&r, del ? "peer del: no peer " PEER3 " on 'ws0'"
					 : "peer set: no peer " PEER3 " on 'ws0'");
		CU_ASSERT_EQUAL(f.next, 1);
		run_free(&r);
		fake_free(&f);
	}
}

static void test_cmd_errors_from_the_socket(void)
{
	struct fake f = { .n_steps = 5, .steps = {
		{ "ws9", ENOENT, NULL }, { "ws9", ECONNREFUSED, NULL }, { "ws9", EACCES, NULL },
		{ "ws9", 0, "no errno line\n\n" }, { "ws9", 0, "errno=95\n\n" } } };
	static const char *const want[] = {
		"no such wiresocket interface 'ws9' (is wsd running?)",
		"no such wiresocket interface 'ws9' (is wsd running?)",
		"cannot reach wsd of 'ws9': Permission denied (the control socket is root only)",
		"no valid reply from wsd of 'ws9': Protocol error",
		"ws9: wsd refused 'get': Operation not supported",
	};
	struct run r;

	for (int i = 0; i < 5; i++) {
		run_ws(&r, &f, NULL, NULL, "show", "ws9", NULL);
		assert_one_error(&r, want[i]);
		CU_ASSERT_STRING_EQUAL(r.out, "");
		run_free(&r);
	}
	fake_free(&f);
}

static void test_exchange(void)
{
	static const struct { const char *reply; int ret, daemon_errno; } cases[] = {
		{ "a=1\nerrno=0\n\n", 0, 0 },
		{ "errno=0\n\n", 0, 0 },
		{ "errno=2\n\n", 0, 2 },
		{ "errno=x\n\n", -EPROTO, 0 },
		{ "errno=4096\n\n", -EPROTO, 0 },
		{ "errno=1\nx=1\n\n", -EPROTO, 0 },
		{ "\n", -EPROTO, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int sv[2], de = -1;
		char *reply;
		size_t len;

		CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		CU_ASSERT(write(sv[1], cases[i].reply, strlen(cases[i].reply)) > 0);
		CU_ASSERT_EQUAL(ws_cli_exchange(sv[0], "get=1\n\n", 7, &reply, &len, &de),
				cases[i].ret);
		if (!cases[i].ret)
			CU_ASSERT_EQUAL(de, cases[i].daemon_errno);
		CU_ASSERT((reply != NULL) == (cases[i].ret == 0 && de == 0));
		free(reply);
		close(sv[0]);
		close(sv[1]);
	}
}

/* A run directory with two sockets (one dead) and some noise. */
static char *make_run_dir(void)
{
	static const char *const files[] = { "b0.sock", "a0.sock", "a0.pid", "x.txt",
					     "bad name.sock", ".sock" };
	char *dir = strdup("/tmp/ws-cli-test-XXXXXX"), path[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		if (!strcmp(files[i], "a0.pid"))
			fputs("4242\n", f);
		fclose(f);
	}
	return dir;
}

static void remove_run_dir(char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	free(dir);
}

static void test_cmd_show_all_and_link_show(void)
{
	char *dir = make_run_dir();
	struct fake f = { .n_steps = 6, .steps = {
		{ "a0", 0, reply_get }, { "b0", ECONNREFUSED, NULL },
		{ "a0", 0, reply_get }, { "b0", ENOENT, NULL },
		{ "a0", 0, reply_get }, { "b0", 0, "errno=0\n\n" } } };
	struct run r;

	run_ws(&r, &f, NULL, dir, "show", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_STRING_EQUAL(r.out, text_show);   /* b0 skipped silently */
	CU_ASSERT_STRING_EQUAL(r.err, "");
	run_free(&r);
	run_ws(&r, &f, NULL, dir, "link", NULL);
	CU_ASSERT_STRING_EQUAL(r.out, "a0: listen-port 51820 peers 2 pid 4242\n");
	run_free(&r);
	run_ws(&r, &f, NULL, dir, "-j", "l", "sh", NULL);
	CU_ASSERT_STRING_EQUAL(r.out, "[{\"interface\":\"a0\",\"listen_port\":51820,\"peers\":2,"
			       "\"pid\":4242},{\"interface\":\"b0\",\"listen_port\":0,\"peers\":0,"
			       "\"pid\":null}]\n");
	run_free(&r);
	fake_free(&f);
	remove_run_dir(dir);
	/* A socket we may not open (not root) is reported, the others shown. */
	dir = make_run_dir();
	memset(&f, 0, sizeof(f));
	f.n_steps = 2;
	f.steps[0] = (struct fake_step){ "a0", EACCES, NULL };
	f.steps[1] = (struct fake_step){ "b0", 0, reply_get };
	run_ws(&r, &f, NULL, dir, "show", NULL);
	assert_one_error(&r, "cannot reach wsd of 'a0': Permission denied");
	CU_ASSERT_STRING_EQUAL(r.out, text_show);
	run_free(&r);
	fake_free(&f);
	remove_run_dir(dir);
	/* No run directory: nothing to show, and JSON is an empty array. */
	run_ws(&r, NULL, NULL, "/nonexistent/ws-run", "-j", "show", NULL);
	CU_ASSERT(r.rc == 0 && !strcmp(r.out, "[]\n"));
	run_free(&r);
}

/* ---- keys ---- */

static void test_genkey_pubkey(void)
{
	uint8_t priv[WS_KEY_LEN], pub[WS_KEY_LEN];
	char b64[WS_KEY_B64_LEN + 1], in[128];
	struct run r;

	run_ws(&r, NULL, NULL, NULL, "genkey", NULL);
	CU_ASSERT(r.rc == 0 && strlen(r.out) == WS_KEY_B64_LEN + 1);
	r.out[WS_KEY_B64_LEN] = '\0';
	CU_ASSERT_EQUAL_FATAL(ws_key_from_base64(priv, r.out), 0);
	CU_ASSERT((priv[0] & 7) == 0 && (priv[31] & 0xc0) == 0x40);   /* clamped */
	CU_ASSERT(ws_x25519_pubkey(pub, priv));
	ws_key_to_base64(b64, pub);
	snprintf(in, sizeof(in), "%s  \r\n", r.out);   /* trailing space is fine */
	run_free(&r);
	run_ws(&r, NULL, in, NULL, "pubkey", NULL);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT(!strncmp(r.out, b64, WS_KEY_B64_LEN) && r.out[WS_KEY_B64_LEN] == '\n');
	run_free(&r);
	/* RFC 7748 6.1: Alice's key pair. */
	run_ws(&r, NULL, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", NULL, "pu", NULL);
	CU_ASSERT_STRING_EQUAL(r.out, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n");
	run_free(&r);
	static const char *const bad[] = { "", "short\n", PUB "x\n", PUB "\n" PUB "\n",
					   "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_ws(&r, NULL, bad[i], NULL, "pubkey", NULL);
		assert_one_error(&r, "pubkey: standard input is not a base64 private key");
		CU_ASSERT_STRING_EQUAL(r.out, "");
		run_free(&r);
	}
}

/* genkey warns when its output file is readable by others. */
static void test_genkey_warns(void)
{
	for (int open_mode = 0; open_mode < 2; open_mode++) {
		char path[] = "/tmp/ws-cli-key-XXXXXX", *err = NULL;
		size_t len;
		int fd = mkstemp(path);
		FILE *out, *errf = open_memstream(&err, &len);
		struct ws_cli cli;
		char *argv[] = { "genkey", NULL, NULL };

		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(fchmod(fd, open_mode ? 0644 : 0600), 0);
		out = fdopen(fd, "w");
		ws_cli_init(&cli, stdin, out, errf);
		CU_ASSERT_EQUAL(ws_key_genkey(&cli, 1, argv), 0);
		fclose(out);
		fclose(errf);
		CU_ASSERT_EQUAL(strstr(err, "warning: writing a private key") != NULL, open_mode);
		free(err);
		unlink(path);
	}
}

/* showconf warns, as genkey does, before writing the private key to a file others can read. */
static void test_showconf_warns(void)
{
	for (int open_mode = 0; open_mode < 2; open_mode++) {
		struct fake f = { .n_steps = 1, .steps = { { "ws0", 0, reply_get } } };
		char path[] = "/tmp/ws-cli-conf-XXXXXX", *err = NULL;
		size_t len;
		int fd = mkstemp(path);
		FILE *out, *errf = open_memstream(&err, &len);
		struct ws_cli cli;
		char *argv[] = { "ws", "showconf", "ws0", NULL };

		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(fchmod(fd, open_mode ? 0644 : 0600), 0);
		out = fdopen(fd, "w");
		ws_cli_init(&cli, stdin, out, errf);
		cli.connect = fake_connect;
		cli.connect_ctx = &f;
		CU_ASSERT_EQUAL(ws_cli_main(&cli, 3, argv), 0);
		fclose(out);
		fclose(errf);
		fake_collect(&f);
		CU_ASSERT_EQUAL(strstr(err, "ws: warning: writing a private key to a file that group "
					    "or others can read") != NULL, open_mode);
		free(err);
		fake_free(&f);
		unlink(path);
	}
}

/* link del of an interface wsup brought up points to wsdown, and stops nothing. */
static void test_link_del_wsup(void)
{
	char *dir = make_run_dir(), path[300];
	struct run r;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/a0.wsup", dir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fclose(fp);
	run_ws(&r, NULL, NULL, dir, "link", "del", "a0", NULL);
	assert_one_error(&r, "link del: 'a0' was brought up by wsup");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "take it down with 'wsdown a0'"));
	run_free(&r);
	unlink(path);
	remove_run_dir(dir);
}

WS_SUITE(ws_cli)
{
	WS_ADD(suite, test_match);
	WS_ADD(suite, test_prefixes_on_the_command_line);
	WS_ADD(suite, test_help_every_level);
	WS_ADD(suite, test_options);
	WS_ADD(suite, test_grammar_errors);
	WS_ADD(suite, test_peer_args);
	WS_ADD(suite, test_model_parse);
	WS_ADD(suite, test_model_parse_errors);
	WS_ADD(suite, test_formatters);
	WS_ADD(suite, test_render_text);
	WS_ADD(suite, test_render_json);
	WS_ADD(suite, test_render_json_escaping);
	WS_ADD(suite, test_json_string);
	WS_ADD(suite, test_printer);
	WS_ADD(suite, test_showconf_round_trip);
	WS_ADD(suite, test_cmd_show);
	WS_ADD(suite, test_cmd_peer_show);
	WS_ADD(suite, test_cmd_peer_add);
	WS_ADD(suite, test_cmd_peer_set_del);
	WS_ADD(suite, test_cmd_peer_endpoint_resolves);
	WS_ADD(suite, test_cmd_errors_from_the_socket);
	WS_ADD(suite, test_exchange);
	WS_ADD(suite, test_cmd_show_all_and_link_show);
	WS_ADD(suite, test_genkey_pubkey);
	WS_ADD(suite, test_genkey_warns);
	WS_ADD(suite, test_showconf_warns);
	WS_ADD(suite, test_link_del_wsup);
}
