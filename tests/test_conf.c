/* SPDX-License-Identifier: MIT */
/*
 * The config model and parser (src/conf/conf.h): the worked scenarios parsed into
 * exact models, every error class with its exact message, inih's quirks
 * (long lines, ' ;' cuts, continuation lines, CRLF), permission warnings,
 * write -> load round trips and the MTU defaults of DECISIONS 31.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/crypto.h"
#include "test.h"

/* Key n holds the bytes 32n+1 .. 32n+32. */
#define K0 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define K1 "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A="
#define K2 "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2A="
#define K3 "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4A="
#define K4 "gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A="

static bool key_is(const uint8_t *k, int n)
{
	for (int j = 0; j < WS_KEY_LEN; j++)
		if (k[j] != (uint8_t)(32 * n + 1 + j))
			return false;
	return true;
}

static int load(struct ws_conf *c, const char *text, struct ws_conf_error *e)
{
	return ws_conf_load_buffer(c, "t.conf", text, strlen(text), e);
}

static bool prefix_is(const struct ws_conf_prefix *p, const char *want)
{
	char buf[WS_CONF_PREFIX_STRLEN];

	ws_conf_format_prefix(buf, p);
	if (strcmp(buf, want))
		fprintf(stderr, "\n  prefix: got %s, want %s\n", buf, want);
	return !strcmp(buf, want);
}

static bool str_is(const char *got, const char *want)
{
	if (strcmp(got, want))
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
	return !strcmp(got, want);
}

/* Loading `text` (named name) fails with exactly `msg`. */
static void expect_error_named(const char *name, const char *text, size_t len, const char *msg)
{
	struct ws_conf c;
	struct ws_conf_error e;
	int rc = ws_conf_load_buffer(&c, name, text, len, &e);

	CU_ASSERT_TRUE(rc < 0);
	CU_ASSERT_TRUE(str_is(e.msg, msg));
	CU_ASSERT_EQUAL(c.n_peers, 0);       /* left empty */
	CU_ASSERT_PTR_NULL(c.source);
	ws_conf_free(&c);
}

static void expect_error(const char *text, const char *msg)
{
	expect_error_named("t.conf", text, strlen(text), msg);
}

/* write -> load gives an equal model; every written line fits. */
static void check_round_trip(const struct ws_conf *c)
{
	struct ws_conf back;
	struct ws_conf_error e;
	char *out = NULL, *line;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(ws_conf_write(f, c, true), 0);
	fclose(f);
	for (line = out; *line;) {
		char *nl = strchr(line, '\n');

		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		CU_ASSERT_TRUE((size_t)(nl - line) <= WS_CONF_LINE_MAX);
		line = nl + 1;
	}
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&back, "out.conf", out, len, &e), 0);
	if (e.msg[0])
		fprintf(stderr, "\n  reload: %s\n%s", e.msg, out);
	CU_ASSERT_TRUE(ws_conf_equal(c, &back));
	ws_conf_free(&back);
	ws_wipe(out, len);
	free(out);
}

/* ---- scenarios ---- */

static const char site_a[] =
	"# Site-to-site: gateway A joins 198.18.10.0/24 to B's 198.18.20.0/24\n"
	"[Interface]\n"
	"PrivateKey = " K0 "\n"
	"ListenPort = 51820\n"
	"Address = 198.19.0.1/30\n"
	"PostUp = sysctl -q -w net.ipv4.ip_forward=1\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K1 "\n"
	"Endpoint = 198.18.0.2:51820\n"
	"AllowedIPs = 198.19.0.2/32, 198.18.20.0/24\n"
	"PersistentKeepalive = 25\n";

static void test_site_to_site(void)
{
	struct ws_conf c;
	struct ws_conf_error e;
	const struct ws_conf_peer *p;

	CU_ASSERT_EQUAL_FATAL(load(&c, site_a, &e), 0);
	CU_ASSERT_STRING_EQUAL(e.msg, "");
	CU_ASSERT_EQUAL(e.warnings, 0);
	CU_ASSERT_STRING_EQUAL(c.source, "t.conf");
	CU_ASSERT_TRUE(c.has_private_key);
	CU_ASSERT_TRUE(key_is(c.private_key, 0));
	CU_ASSERT_PTR_NULL(c.private_key_file);
	CU_ASSERT_EQUAL(c.listen_port, 51820);
	CU_ASSERT_EQUAL_FATAL(c.n_addresses, 1);
	CU_ASSERT_TRUE(prefix_is(&c.addresses[0], "198.19.0.1/30"));
	CU_ASSERT_EQUAL(c.addresses[0].family, AF_INET);
	CU_ASSERT_EQUAL(c.mtu, 0);
	CU_ASSERT_EQUAL(c.max_packet_size, 0);
	CU_ASSERT_EQUAL(c.table_mode, WS_CONF_TABLE_AUTO);
	CU_ASSERT_EQUAL(c.fwmark, 0);
	CU_ASSERT_EQUAL(c.n_dns_servers + c.n_dns_search, 0);
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_POST_UP], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][0], "sysctl -q -w net.ipv4.ip_forward=1");
	CU_ASSERT_EQUAL(c.n_hooks[WS_CONF_PRE_UP] + c.n_hooks[WS_CONF_PRE_DOWN] +
			c.n_hooks[WS_CONF_POST_DOWN], 0);
	CU_ASSERT_EQUAL_FATAL(c.n_peers, 1);
	p = &c.peers[0];
	CU_ASSERT_TRUE(key_is(p->public_key, 1));
	CU_ASSERT_EQUAL(p->line, 8);
	CU_ASSERT_TRUE(p->has_endpoint);
	CU_ASSERT_STRING_EQUAL(p->endpoint.host, "198.18.0.2");
	CU_ASSERT_EQUAL(p->endpoint.port, 51820);
	CU_ASSERT_EQUAL(p->endpoint.family, AF_INET);
	CU_ASSERT_EQUAL(memcmp(p->endpoint.addr, "\xc6\x12\x00\x02", 4), 0);
	CU_ASSERT_EQUAL_FATAL(p->n_allowed_ips, 2);
	CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[0], "198.19.0.2/32"));
	CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[1], "198.18.20.0/24"));
	CU_ASSERT_EQUAL(p->persistent_keepalive, 25);
	CU_ASSERT_EQUAL(ws_conf_validate(&c, WS_CONF_NEED_PRIVATE_KEY, &e), 0);
	check_round_trip(&c);
	ws_conf_free(&c);
	CU_ASSERT_TRUE(ws_is_zero(&c, sizeof(c)));
}

static const char laptop[] =
	"; Roaming laptop, full tunnel through the server\n"
	"[Interface]\n"
	"PrivateKey = " K2 "\n"
	"Address = 198.19.1.2/32, fd19::1:2/128\n"
	"DNS = 198.19.0.53, fd19::53, corp.example\n"
	"MTU = 1420\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K0 "\n"
	"Endpoint = vpn.example.net:51820\n"
	"AllowedIPs = 0.0.0.0/0, ::/0\n"
	"PersistentKeepalive = 25\n";

static void test_roaming_laptop(void)
{
	struct ws_conf c;
	struct ws_conf_error e;
	const struct ws_conf_peer *p;
	uint8_t v6[16];

	CU_ASSERT_EQUAL_FATAL(load(&c, laptop, &e), 0);
	CU_ASSERT_TRUE(key_is(c.private_key, 2));
	CU_ASSERT_EQUAL(c.listen_port, 0);
	CU_ASSERT_EQUAL_FATAL(c.n_addresses, 2);
	CU_ASSERT_TRUE(prefix_is(&c.addresses[0], "198.19.1.2/32"));
	CU_ASSERT_TRUE(prefix_is(&c.addresses[1], "fd19::1:2/128"));
	CU_ASSERT_EQUAL(c.addresses[1].family, AF_INET6);
	inet_pton(AF_INET6, "fd19::1:2", v6);
	CU_ASSERT_EQUAL(memcmp(c.addresses[1].addr, v6, 16), 0);
	CU_ASSERT_EQUAL_FATAL(c.n_dns_servers, 2);
	CU_ASSERT_TRUE(prefix_is(&c.dns_servers[0], "198.19.0.53/32"));
	CU_ASSERT_TRUE(prefix_is(&c.dns_servers[1], "fd19::53/128"));
	CU_ASSERT_EQUAL_FATAL(c.n_dns_search, 1);
	CU_ASSERT_STRING_EQUAL(c.dns_search[0], "corp.example");
	CU_ASSERT_EQUAL(c.mtu, 1420);
	CU_ASSERT_EQUAL(ws_conf_mtu(&c, 1500), 1420);
	CU_ASSERT_EQUAL(ws_conf_max_packet_size(&c, ws_conf_mtu(&c, 1500)), 1465);
	CU_ASSERT_EQUAL_FATAL(c.n_peers, 1);
	p = &c.peers[0];
	CU_ASSERT_TRUE(key_is(p->public_key, 0));
	CU_ASSERT_TRUE(p->has_endpoint);
	CU_ASSERT_STRING_EQUAL(p->endpoint.host, "vpn.example.net");
	CU_ASSERT_EQUAL(p->endpoint.port, 51820);
	CU_ASSERT_EQUAL(p->endpoint.family, AF_UNSPEC);
	CU_ASSERT_EQUAL_FATAL(p->n_allowed_ips, 2);
	CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[0], "0.0.0.0/0"));
	CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[1], "::/0"));
	CU_ASSERT_EQUAL(p->allowed_ips[0].cidr, 0);
	CU_ASSERT_EQUAL(p->allowed_ips[1].family, AF_INET6);
	CU_ASSERT_EQUAL(p->persistent_keepalive, 25);
	check_round_trip(&c);
	ws_conf_free(&c);
}

static const char hub[] =
	"[Interface]\n"
	"PrivateKey = " K0 "\n"
	"ListenPort = 51820\n"
	"Address = 198.19.0.1/16, fd19::1/48\n"
	"MaxPacketSize = 1465\n"
	"FwMark = 0x1234\n"
	"Table = 1000\n"
	"PreUp = true\n"
	"PostDown = echo down\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K1 "\n"
	"AllowedIPs = 198.19.0.2/32, fd19::2/128\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K2 "\n"
	"AllowedIPs = 198.19.0.3/32, fd19::3/128\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " K3 "\n"
	"AllowedIPs = 198.19.0.4/32, fd19::4/128\n"
	"PersistentKeepalive = off\n";

static void test_hub(void)
{
	struct ws_conf c;
	struct ws_conf_error e;
	char want[32];

	CU_ASSERT_EQUAL_FATAL(load(&c, hub, &e), 0);
	CU_ASSERT_EQUAL(c.listen_port, 51820);
	CU_ASSERT_EQUAL_FATAL(c.n_addresses, 2);
	CU_ASSERT_TRUE(prefix_is(&c.addresses[0], "198.19.0.1/16"));   /* host bits kept */
	CU_ASSERT_TRUE(prefix_is(&c.addresses[1], "fd19::1/48"));
	CU_ASSERT_EQUAL(c.max_packet_size, 1465);
	CU_ASSERT_EQUAL(c.fwmark, 0x1234);
	CU_ASSERT_EQUAL(c.table_mode, WS_CONF_TABLE_ID);
	CU_ASSERT_EQUAL(c.table, 1000);
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_PRE_UP], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_PRE_UP][0], "true");
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_POST_DOWN], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_DOWN][0], "echo down");
	CU_ASSERT_EQUAL_FATAL(c.n_peers, 3);
	for (int i = 0; i < 3; i++) {
		const struct ws_conf_peer *p = &c.peers[i];

		CU_ASSERT_TRUE(key_is(p->public_key, i + 1));
		CU_ASSERT_EQUAL(p->line, (unsigned)(11 + 4 * i));
		CU_ASSERT_FALSE(p->has_endpoint);
		CU_ASSERT_EQUAL(p->persistent_keepalive, 0);
		CU_ASSERT_EQUAL_FATAL(p->n_allowed_ips, 2);
		snprintf(want, sizeof(want), "198.19.0.%d/32", i + 2);
		CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[0], want));
		snprintf(want, sizeof(want), "fd19::%d/128", i + 2);
		CU_ASSERT_TRUE(prefix_is(&p->allowed_ips[1], want));
	}
	check_round_trip(&c);
	ws_conf_free(&c);
}

/* ---- syntax ---- */

static void test_case_insensitive(void)
{
	static const char text[] =
		"[INTERFACE]\n"
		"privatekey = " K0 "\n"
		"LISTENPORT = 1\n"
		"mtu=1280\n"
		"[ pEeR ]\n"
		"publickey=" K1 "\n"
		"ALLOWEDIPS = 10.0.0.0/8\n"
		"endPoint = Example.COM:1\n"
		"persistentkeepalive = OFF\n";
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_TRUE(key_is(c.private_key, 0));
	CU_ASSERT_EQUAL(c.listen_port, 1);
	CU_ASSERT_EQUAL(c.mtu, 1280);
	CU_ASSERT_EQUAL_FATAL(c.n_peers, 1);
	CU_ASSERT_TRUE(key_is(c.peers[0].public_key, 1));
	CU_ASSERT_EQUAL(c.peers[0].n_allowed_ips, 1);
	CU_ASSERT_STRING_EQUAL(c.peers[0].endpoint.host, "Example.COM");
	ws_conf_free(&c);
}

static void test_lists_and_continuations(void)
{
	static const char text[] =
		"[Interface]\n"
		"Address = 198.19.0.1/24\n"
		"Address = fd19::1/64, 198.19.9.9\n"
		"DNS = 198.19.0.53\n"
		"DNS = a.example,\n"
		"      b.example ; search domains\n"
		"\n"
		"    fd19::53\n"
		"[Peer]\n"
		"PublicKey = " K1 "\n"
		"AllowedIPs = 10.1.2.3/8, 10.2.0.0/16,\n"
		"\t10.3.0.0/16\n"
		"# a comment between continuation lines\n"
		"  10.4.0.0/16, fd18::1/48 ; trailing comment\n"
		"AllowedIPs = 10.5.0.0/16\n"
		"AllowedIPs =\n"
		"AllowedIPs = 10.6.0.0/16 ; comment\n";
	static const char *const want[] = {
		"10.0.0.0/8", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "fd18::/48",
		"10.5.0.0/16", "10.6.0.0/16",
	};
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_EQUAL_FATAL(c.n_addresses, 3);
	CU_ASSERT_TRUE(prefix_is(&c.addresses[0], "198.19.0.1/24"));
	CU_ASSERT_TRUE(prefix_is(&c.addresses[1], "fd19::1/64"));
	CU_ASSERT_TRUE(prefix_is(&c.addresses[2], "198.19.9.9/32"));
	CU_ASSERT_EQUAL_FATAL(c.n_dns_servers, 2);
	CU_ASSERT_TRUE(prefix_is(&c.dns_servers[1], "fd19::53/128"));
	CU_ASSERT_EQUAL_FATAL(c.n_dns_search, 2);
	CU_ASSERT_STRING_EQUAL(c.dns_search[0], "a.example");
	CU_ASSERT_STRING_EQUAL(c.dns_search[1], "b.example");
	CU_ASSERT_EQUAL_FATAL(c.n_peers, 1);
	CU_ASSERT_EQUAL_FATAL(c.peers[0].n_allowed_ips, 7);
	for (size_t i = 0; i < 7; i++)   /* masked, in order */
		CU_ASSERT_TRUE(prefix_is(&c.peers[0].allowed_ips[i], want[i]));
	check_round_trip(&c);
	ws_conf_free(&c);
}

static void test_hooks_in_order(void)
{
	static const char text[] =
		"[Interface]\n"
		"PostUp = echo 1\n"
		"PreUp = echo a\n"
		"PostUp = echo 2;echo 3\n"
		"PostUp = iptables -A x -m comment --comment \"a;b\" # not a comment for inih\n"
		"PreDown =;starts-with-semicolon\n"
		"PostDown=x = y : z\n";
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_POST_UP], 3);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][0], "echo 1");
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][1], "echo 2;echo 3");
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][2],
			       "iptables -A x -m comment --comment \"a;b\" # not a comment for inih");
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_PRE_UP], 1);
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_PRE_DOWN], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_PRE_DOWN][0], ";starts-with-semicolon");
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_POST_DOWN], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_DOWN][0], "x = y : z");
	check_round_trip(&c);
	ws_conf_free(&c);
}

static void test_hook_cut(void)
{
	expect_error("[Interface]\nPostUp = a; b ; c\n",
		     "t.conf:2: PostUp: ' ;' starts a comment, so 'a; b ; c' would be cut to "
		     "'a; b': remove the space before ';' or put the commands in a script");
	expect_error("[Interface]\nPreDown = x\t;y\n",
		     "t.conf:2: PreDown: ' ;' starts a comment, so 'x\\x09;y' would be cut to "
		     "'x': remove the space before ';' or put the commands in a script");
	expect_error("[Interface]\nPostUp = ; x\n",
		     "t.conf:2: PostUp: ' ;' starts a comment, so '; x' would be cut to '': "
		     "remove the space before ';' or put the commands in a script");
	expect_error("[Interface]\nPrivateKeyFile = /etc/a ;b\n",
		     "t.conf:2: PrivateKeyFile: ' ;' starts a comment, so '/etc/a ;b' would be "
		     "cut to '/etc/a': remove the space before ';'");
	expect_error("[Interface]\nPostUp = echo\n  more\n",
		     "t.conf:3: PostUp: continuation line, but only AllowedIPs, Address and DNS "
		     "may continue on indented lines 'more'");
}

static void test_line_length(void)
{
	char text[512], hook[256];
	struct ws_conf c;
	struct ws_conf_error e;
	int n;

	/* 199 characters: "PostUp = " (9) + 190. */
	memset(hook, 'x', 190);
	hook[190] = '\0';
	n = snprintf(text, sizeof(text), "[Interface]\nPostUp = %s\n", hook);
	CU_ASSERT_EQUAL(n, 12 + 199 + 1);
	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_EQUAL_FATAL(c.n_hooks[WS_CONF_POST_UP], 1);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][0], hook);
	check_round_trip(&c);
	ws_conf_free(&c);
	/* 199 characters then CRLF, and as the last line without a newline. */
	snprintf(text, sizeof(text), "[Interface]\r\nPostUp = %s\r\n", hook);
	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][0], hook);
	ws_conf_free(&c);
	snprintf(text, sizeof(text), "[Interface]\nPostUp = %s", hook);
	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.hooks[WS_CONF_POST_UP][0], hook);
	ws_conf_free(&c);
	/* "PostUp=" + 192: written back as "PostUp=..." to fit. */
	memset(hook, 'y', 192);
	hook[192] = '\0';
	snprintf(text, sizeof(text), "[Interface]\nPostUp=%s\n", hook);
	CU_ASSERT_EQUAL_FATAL(load(&c, text, &e), 0);
	check_round_trip(&c);
	ws_conf_free(&c);
	/* 200 and more: an error, never a silent cut. */
	memset(hook, 'x', 191);
	hook[191] = '\0';
	snprintf(text, sizeof(text), "[Interface]\nPostUp = %s\n", hook);
	expect_error(text, "t.conf:2: line is 200 characters long, the limit is 199 (write long "
			   "lists as repeated keys or indented continuation lines)");
	snprintf(text, sizeof(text), "[Interface]\r\nPostUp = %s\r\n", hook);
	expect_error(text, "t.conf:2: line is 200 characters long, the limit is 199 (write long "
			   "lists as repeated keys or indented continuation lines)");
	memset(text, ' ', 400);
	memcpy(text, "[Interface]\n#", 13);
	text[400] = '\0';
	expect_error(text, "t.conf:2: line is 388 characters long, the limit is 199 (write long "
			   "lists as repeated keys or indented continuation lines)");
}

static void test_crlf(void)
{
	char crlf[sizeof(hub) * 2];
	struct ws_conf a, b;
	struct ws_conf_error e;
	size_t n = 0;

	for (const char *s = hub; *s; s++) {
		if (*s == '\n')
			crlf[n++] = '\r';
		crlf[n++] = *s;
	}
	crlf[n] = '\0';
	CU_ASSERT_EQUAL_FATAL(load(&a, hub, &e), 0);
	CU_ASSERT_EQUAL_FATAL(load(&b, crlf, &e), 0);
	CU_ASSERT_TRUE(ws_conf_equal(&a, &b));
	CU_ASSERT_STRING_EQUAL(b.hooks[WS_CONF_POST_DOWN][0], "echo down");
	ws_conf_free(&a);
	ws_conf_free(&b);
	/* A UTF-8 byte order mark is skipped. */
	CU_ASSERT_EQUAL_FATAL(load(&a, "\xef\xbb\xbf[Interface]\nListenPort = 7\n", &e), 0);
	CU_ASSERT_EQUAL(a.listen_port, 7);
	ws_conf_free(&a);
}

/* ---- errors, one class at a time ---- */

static void test_error_sections(void)
{
	expect_error("[Foo]\n", "t.conf:1: unknown section '[Foo]' (expected [Interface] or [Peer])");
	expect_error("[Interface]\n[Peer\n", "t.conf:2: section header without ']' '[Peer'");
	expect_error("[Interface]\n[Peer] x\n",
		     "t.conf:2: unexpected text after the section header '[Peer] x'");
	expect_error("[Interface]\nListenPort = 1\n[interface]\n",
		     "t.conf:3: duplicate [Interface] section (first on line 1)");
	expect_error("ListenPort = 1\n",
		     "t.conf:1: ListenPort: key outside a section (put it under [Interface] or [Peer])");
	expect_error("[Interface]\nfoo\n", "t.conf:2: expected 'Key = value', got 'foo'");
	expect_error("[Interface]\nListenPort: 1\n",
		     "t.conf:2: expected 'Key = value', got 'ListenPort: 1'");
	expect_error("[Interface]\n = 1\n", "t.conf:2: expected 'Key = value', got '= 1'");
	expect_error_named("t.conf", "[Interface]\nA\0B = 1\n", sizeof("[Interface]\nA\0B = 1\n") - 1,
			   "t.conf:2: line contains a NUL byte");
	/* Comments and a section header's trailing comment are fine. */
	{
		struct ws_conf c;

		CU_ASSERT_EQUAL(load(&c, "# x\n; y\n[Interface] ; z\n   \n[Peer] # w\n"
					 "PublicKey = " K0 "\n", NULL), 0);
		CU_ASSERT_EQUAL(c.n_peers, 1);
		ws_conf_free(&c);
	}
}

static void test_error_keys(void)
{
	expect_error("[Interface]\nFoo = bar\n", "t.conf:2: Foo: unknown key in [Interface]");
	expect_error("[Peer]\nPublicKey = " K0 "\nPresharedKey = " K1 "\n",
		     "t.conf:3: PresharedKey: unknown key in [Peer]");
	/* A mistyped PrivateKey's value is never shown. */
	expect_error("[Interface]\nPrivatKey = " K0 "\n",
		     "t.conf:2: PrivatKey: unknown key in [Interface]");
	expect_error("[Interface]\nPublicKey = " K0 "\n",
		     "t.conf:2: PublicKey: belongs in [Peer], not in [Interface]");
	expect_error("[Peer]\nListenPort = 1\n",
		     "t.conf:2: ListenPort: belongs in [Interface], not in [Peer]");
	expect_error("[Interface]\n\x1b[31m = 1\n",
		     "t.conf:2: '\\x1b[31m': unknown key in [Interface]");
	/* An unknown name that is not a plain word is quoted: it can never read
	 * as the parser's own text (found by fuzz_conf: a key that spelled the
	 * reader/inih disagreement message). */
	expect_error_named("fuzz.conf", " line not understood\xef\xbb.ytUp=a = b : c =;x\n"
			   "PostUp=a = b\x92\x9a \n", 57,
			   "fuzz.conf:1: 'line not understood\xef\xbb.ytUp': key outside a section "
			   "(put it under [Interface] or [Peer])");
	expect_error("[Peer]\nPublicKey = " K0 "\nline not understood = 1\n",
		     "t.conf:3: 'line not understood': unknown key in [Peer]");
	expect_error("[Interface]\nList-en_Port2 = 1\n",
		     "t.conf:2: List-en_Port2: unknown key in [Interface]");
	expect_error("[Interface]\nListenPort =\n", "t.conf:2: ListenPort: empty value");
	expect_error("[Peer]\nPublicKey = " K0 "\n  continued\n",
		     "t.conf:3: PublicKey: continuation line, but only AllowedIPs, Address and DNS "
		     "may continue on indented lines 'continued'");
	/* Indented after a section header: a key line, as inih reads it. */
	{
		struct ws_conf c;

		CU_ASSERT_EQUAL(load(&c, "[Interface]\n  ListenPort = 5\n", NULL), 0);
		CU_ASSERT_EQUAL(c.listen_port, 5);
		ws_conf_free(&c);
	}
}

static void test_error_duplicates(void)
{
	expect_error("[Interface]\nListenPort = 51820\nListenPort = 51821\n",
		     "t.conf:3: ListenPort: set twice (first on line 2) '51821'");
	expect_error("[Interface]\nPrivateKey = " K0 "\nprivatekey = " K1 "\n",
		     "t.conf:3: PrivateKey: set twice (first on line 2)");
	expect_error("[Interface]\nMTU = 1420\nMTU = 1420\n",
		     "t.conf:3: MTU: set twice (first on line 2) '1420'");
	expect_error("[Interface]\nMaxPacketSize = 1400\nMaxPacketSize = 1400\n",
		     "t.conf:3: MaxPacketSize: set twice (first on line 2) '1400'");
	expect_error("[Interface]\nTable = off\nTable = auto\n",
		     "t.conf:3: Table: set twice (first on line 2) 'auto'");
	expect_error("[Interface]\nFwMark = 1\nFwMark = 2\n",
		     "t.conf:3: FwMark: set twice (first on line 2) '2'");
	expect_error("[Peer]\nPublicKey = " K0 "\nPublicKey = " K1 "\n",
		     "t.conf:3: PublicKey: set twice (first on line 2) '" K1 "'");
	expect_error("[Peer]\nPublicKey = " K0 "\nEndpoint = a.b:1\nEndpoint = a.b:2\n",
		     "t.conf:4: Endpoint: set twice (first on line 3) 'a.b:2'");
	expect_error("[Peer]\nPublicKey = " K0 "\nPersistentKeepalive = 1\n"
		     "PersistentKeepalive = 1\n",
		     "t.conf:4: PersistentKeepalive: set twice (first on line 3) '1'");
	/* Each [Peer] starts afresh. */
	{
		struct ws_conf c;

		CU_ASSERT_EQUAL(load(&c, "[Peer]\nPublicKey = " K0 "\nEndpoint = a.b:1\n"
					 "[Peer]\nPublicKey = " K1 "\nEndpoint = a.b:2\n", NULL), 0);
		CU_ASSERT_EQUAL_FATAL(c.n_peers, 2);
		CU_ASSERT_EQUAL(c.peers[1].endpoint.port, 2);
		ws_conf_free(&c);
	}
	expect_error("[Peer]\nPublicKey = " K0 "\n\n[Peer]\nPublicKey = " K0 "\n",
		     "t.conf:5: PublicKey: the [Peer] on line 1 has the same key '" K0 "'");
}

static void test_error_peer_key(void)
{
	expect_error("[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/8\n[Peer]\nPublicKey = " K0 "\n",
		     "t.conf:2: PublicKey: missing in this [Peer]");
	expect_error("[Peer]\nPublicKey = " K0 "\n[Peer]\nEndpoint = a.b:1\n",
		     "t.conf:3: PublicKey: missing in this [Peer]");
	expect_error("[Peer]\n", "t.conf:1: PublicKey: missing in this [Peer]");
	expect_error("[Peer]\nPublicKey = abc\n",
		     "t.conf:2: PublicKey: 'abc' is not a base64-encoded 32-byte key");
	/* 32 bytes need 44 characters; 31 or 33 bytes are refused. */
	expect_error("[Peer]\nPublicKey = AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\n",
		     "t.conf:2: PublicKey: 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==' is not a "
		     "base64-encoded 32-byte key");
	expect_error("[Interface]\nPrivateKey = AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\n",
		     "t.conf:2: PrivateKey: not a base64-encoded 32-byte key (value not shown)");
}

static void test_error_values(void)
{
	static const char wg0[] = "[Interface]\nAddress = 198.19.0.1/24\n\n[Peer]\nPublicKey = " K0
				  "\n# office\nAllowedIPs = 10.0.0.0/33\n";

	expect_error("[Interface]\nListenPort = 65536\n",
		     "t.conf:2: ListenPort: '65536' is not a port (0-65535)");
	expect_error("[Interface]\nListenPort = -1\n",
		     "t.conf:2: ListenPort: '-1' is not a port (0-65535)");
	expect_error("[Interface]\nListenPort = 0x10\n",
		     "t.conf:2: ListenPort: '0x10' is not a port (0-65535)");
	expect_error_named("/etc/wiresocket/wg0.conf", wg0, strlen(wg0),
			   "/etc/wiresocket/wg0.conf:7: AllowedIPs: '10.0.0.0/33' is not a prefix");
	expect_error("[Peer]\nPublicKey = " K0 "\nAllowedIPs = 10.0.0.0/8, fd00::/129\n",
		     "t.conf:3: AllowedIPs: 'fd00::/129' is not a prefix");
	expect_error("[Peer]\nPublicKey = " K0 "\nAllowedIPs = 10.0.0\n",
		     "t.conf:3: AllowedIPs: '10.0.0' is not a prefix");
	expect_error("[Peer]\nPublicKey = " K0 "\nAllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n",
		     "t.conf:3: AllowedIPs: empty item in '10.0.0.0/8,,10.1.0.0/16'");
	expect_error("[Peer]\nPublicKey = " K0 "\nAllowedIPs = 10.0.0.0/8\n  , 10.1.0.0/16\n",
		     "t.conf:4: AllowedIPs: empty item in ', 10.1.0.0/16'");
	expect_error("[Interface]\nAddress = 198.19.0.1/33\n",
		     "t.conf:2: Address: '198.19.0.1/33' is not an address (a.b.c.d/len or v6addr/len)");
	expect_error("[Peer]\nPublicKey = " K0 "\nEndpoint = fd18::2:51820\n",
		     "t.conf:3: Endpoint: 'fd18::2:51820' is not an endpoint (host:port, "
		     "a.b.c.d:port or [v6addr]:port)");
	expect_error("[Peer]\nPublicKey = " K0 "\nEndpoint = 198.18.0.256:51820\n",
		     "t.conf:3: Endpoint: '198.18.0.256:51820' is not an endpoint (host:port, "
		     "a.b.c.d:port or [v6addr]:port)");
	expect_error("[Peer]\nPublicKey = " K0 "\nEndpoint = vpn.example:0\n",
		     "t.conf:3: Endpoint: 'vpn.example:0' is not an endpoint (host:port, "
		     "a.b.c.d:port or [v6addr]:port)");
	expect_error("[Peer]\nPublicKey = " K0 "\nPersistentKeepalive = 65536\n",
		     "t.conf:3: PersistentKeepalive: '65536' is not a keepalive interval "
		     "(off or 0-65535 seconds)");
	expect_error("[Interface]\nMTU = 1279\n",
		     "t.conf:2: MTU: '1279' is not an MTU (1280-65535, or 0 for the default)");
	expect_error("[Interface]\nMaxPacketSize = 65508\n",
		     "t.conf:2: MaxPacketSize: '65508' is not a packet size (256-65507, or 0 for "
		     "the default)");
	expect_error("[Interface]\nTable = 0\n",
		     "t.conf:2: Table: '0' is not a routing table (auto, off, main or 1-4294967294)");
	expect_error("[Interface]\nFwMark = 0x100000000\n",
		     "t.conf:2: FwMark: '0x100000000' is not a firewall mark (off, or a 32-bit "
		     "number, 0x... for hex)");
	expect_error("[Interface]\nDNS = 1.1.1.1/32\n",
		     "t.conf:2: DNS: '1.1.1.1/32' is not an IP address or a search domain");
	expect_error("[Interface]\nDNS = -x.example\n",
		     "t.conf:2: DNS: '-x.example' is not an IP address or a search domain");
}

static void test_error_private_key_sources(void)
{
	expect_error("[Interface]\nPrivateKey = " K0 "\nPrivateKeyFile = /x\n",
		     "t.conf:3: PrivateKeyFile: PrivateKey is already set on line 2; give only one "
		     "of them '/x'");
	/* The parse ends before the key file is read: its errors come first. */
	expect_error("[Interface]\nPrivateKeyFile = /nonexistent/wiresocket.key\nPrivateKey = "
		     K0 "\n",
		     "t.conf:3: PrivateKey: PrivateKeyFile is already set on line 2; give only one "
		     "of them");
	expect_error("[Interface]\nPrivateKeyFile = /nonexistent/wiresocket.key\nMTU = 9\n",
		     "t.conf:3: MTU: '9' is not an MTU (1280-65535, or 0 for the default)");
	expect_error("[Interface]\nPrivateKeyFile = /nonexistent/wiresocket.key\n",
		     "t.conf:2: PrivateKeyFile: cannot open '/nonexistent/wiresocket.key': No such "
		     "file or directory");
	expect_error("[Interface]\nPrivateKeyFile = wg0.key\n",
		     "t.conf:2: PrivateKeyFile: 'wg0.key' is not an absolute path");
	expect_error("[Interface]\nPrivateKeyFile = /dev/null\n",
		     "t.conf:2: PrivateKeyFile: '/dev/null' is not a regular file");
}

static void test_validate(void)
{
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_EQUAL_FATAL(load(&c, "[Interface]\nListenPort = 1\n", &e), 0);
	CU_ASSERT_EQUAL(ws_conf_validate(&c, 0, &e), 0);
	CU_ASSERT_EQUAL(ws_conf_validate(&c, WS_CONF_NEED_PRIVATE_KEY, &e), -EINVAL);
	CU_ASSERT_TRUE(str_is(e.msg, "t.conf: PrivateKey: missing in [Interface] (give PrivateKey "
				     "or PrivateKeyFile)"));
	ws_conf_free(&c);
	/* An empty file is an empty model. */
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_buffer(&c, "empty", "", 0, &e), 0);
	CU_ASSERT_EQUAL(c.n_peers, 0);
	CU_ASSERT_FALSE(c.has_private_key);
	check_round_trip(&c);
	ws_conf_free(&c);
}

/* ---- files, key files and permissions ---- */

static char tmpdir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	CU_ASSERT_EQUAL(fchmod(fd, mode), 0);
	close(fd);
}

static void test_files_and_permissions(void)
{
	char conf[128], key[128], text[256], want[512];
	struct ws_conf c;
	struct ws_conf_error e;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ws-conf-test-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
	snprintf(conf, sizeof(conf), "%s/wg0.conf", tmpdir);
	snprintf(key, sizeof(key), "%s/wg0.key", tmpdir);

	/* Inline key: 0600 is quiet, 0644 warns. */
	write_file(conf, site_a, 0600);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_file(&c, conf, &e), 0);
	CU_ASSERT_EQUAL(e.warnings, 0);
	CU_ASSERT_STRING_EQUAL(e.warning, "");
	CU_ASSERT_STRING_EQUAL(c.source, conf);
	ws_conf_free(&c);
	write_file(conf, site_a, 0644);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_file(&c, conf, &e), 0);
	CU_ASSERT_EQUAL(e.warnings, WS_CONF_WARN_CONF_MODE);
	snprintf(want, sizeof(want), "%s holds a private key but is readable by group or others "
		 "(mode 0644): run chmod 600 %s", conf, conf);
	CU_ASSERT_TRUE(str_is(e.warning, want));
	ws_conf_free(&c);
	/* Without a private key, a readable file is fine. */
	write_file(conf, "[Interface]\nListenPort = 1\n", 0644);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_file(&c, conf, &e), 0);
	CU_ASSERT_EQUAL(e.warnings, 0);
	ws_conf_free(&c);

	/* PrivateKeyFile: the key is read; its mode, not the config's, matters. */
	write_file(key, K3 "\n", 0600);
	snprintf(text, sizeof(text), "[Interface]\nPrivateKeyFile = %s\n", key);
	write_file(conf, text, 0644);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_file(&c, conf, &e), 0);
	CU_ASSERT_EQUAL(e.warnings, 0);
	CU_ASSERT_TRUE(c.has_private_key);
	CU_ASSERT_TRUE(key_is(c.private_key, 3));
	CU_ASSERT_STRING_EQUAL(c.private_key_file, key);
	check_round_trip(&c);
	ws_conf_free(&c);
	snprintf(text, sizeof(text), "[Interface]\nPrivateKeyFile = %s\nPrivateKey = " K0 "\n", key);
	expect_error(text, "t.conf:3: PrivateKey: PrivateKeyFile is already set on line 2; give "
			   "only one of them");
	write_file(key, K3 "\n", 0640);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_file(&c, conf, &e), 0);
	CU_ASSERT_EQUAL(e.warnings, WS_CONF_WARN_KEY_FILE_MODE);
	snprintf(want, sizeof(want), "%s holds a private key but is readable by group or others "
		 "(mode 0640): run chmod 600 %s", key, key);
	CU_ASSERT_TRUE(str_is(e.warning, want));
	ws_conf_free(&c);
	/* A key file that holds no key, and a config with an error. */
	write_file(key, "not a key\n", 0600);
	CU_ASSERT_EQUAL(ws_conf_load_file(&c, conf, &e), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: PrivateKeyFile: '%s' does not hold a base64-encoded "
		 "32-byte key", conf, key);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	write_file(conf, "[Interface]\nListenPort = 1\nMTU = 9\n", 0600);
	CU_ASSERT_EQUAL(ws_conf_load_file(&c, conf, &e), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: MTU: '9' is not an MTU (1280-65535, or 0 for the "
		 "default)", conf);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	CU_ASSERT_EQUAL(e.line, 3);
	unlink(conf);
	CU_ASSERT_EQUAL(ws_conf_load_file(&c, conf, &e), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", conf);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	unlink(key);
	CU_ASSERT_EQUAL(rmdir(tmpdir), 0);
}

/* The parse only records a PrivateKeyFile; ws_conf_load_key_file reads it after,
 * and its messages name the config file and the line the key is set on. */
static void test_key_file_after_parse(void)
{
	static const char text[] = "[Interface]\nListenPort = 1\n\n# the key\n"
				   "PrivateKeyFile = /nonexistent/wiresocket.key\n";
	char conf[96], want[512];
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_EQUAL_FATAL(ws_conf_parse_buffer(&c, "p.conf", text, strlen(text), &e), 0);
	CU_ASSERT_STRING_EQUAL(e.msg, "");
	CU_ASSERT_STRING_EQUAL(c.private_key_file, "/nonexistent/wiresocket.key");
	CU_ASSERT_EQUAL(c.private_key_file_line, 5);
	CU_ASSERT_FALSE(c.has_private_key);
	CU_ASSERT_EQUAL(c.listen_port, 1);
	CU_ASSERT_EQUAL(ws_conf_load_key_file(&c, &e), -ENOENT);
	CU_ASSERT_TRUE(str_is(e.msg, "p.conf:5: PrivateKeyFile: cannot open "
			      "'/nonexistent/wiresocket.key': No such file or directory"));
	CU_ASSERT_EQUAL(e.line, 5);
	CU_ASSERT_FALSE(c.has_private_key);
	ws_conf_free(&c);

	/* Through ws_conf_load_file: the config's own path and the line. */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ws-conf-test-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
	snprintf(conf, sizeof(conf), "%s/wg1.conf", tmpdir);
	write_file(conf, text, 0600);
	CU_ASSERT_EQUAL(ws_conf_load_file(&c, conf, &e), -ENOENT);
	snprintf(want, sizeof(want), "%s:5: PrivateKeyFile: cannot open "
		 "'/nonexistent/wiresocket.key': No such file or directory", conf);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	CU_ASSERT_EQUAL(e.line, 5);
	CU_ASSERT_PTR_NULL(c.source);        /* left empty */
	ws_conf_free(&c);
	/* A directory: opened, then refused, same form. */
	snprintf(want, sizeof(want), "[Interface]\nPrivateKeyFile = %s\n", tmpdir);
	write_file(conf, want, 0600);
	CU_ASSERT_EQUAL(ws_conf_load_file(&c, conf, &e), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: PrivateKeyFile: '%s' is not a regular file", conf,
		 tmpdir);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	ws_conf_free(&c);
	/* No PrivateKeyFile: nothing to read. */
	CU_ASSERT_EQUAL_FATAL(ws_conf_parse_buffer(&c, "p.conf", "[Interface]\n", 12, &e), 0);
	CU_ASSERT_EQUAL(ws_conf_load_key_file(&c, &e), 0);
	ws_conf_free(&c);
	unlink(conf);
	CU_ASSERT_EQUAL(rmdir(tmpdir), 0);
}

/* ---- limits ---- */

static void test_limits(void)
{
	size_t cap = (WS_CONF_MAX_PEERS + 1) * 72 + 64, n = 0;
	char *text = malloc(cap), want[128];
	struct ws_conf c;
	struct ws_conf_error e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* One peer with 4097 prefixes. */
	n = (size_t)sprintf(text, "[Peer]\nPublicKey = " K0 "\n");
	for (int i = 0; i <= WS_CONF_MAX_ALLOWED_IPS; i++)
		n += (size_t)sprintf(text + n, "AllowedIPs = 10.%d.%d.0/24\n", i >> 8, i & 255);
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&c, "t.conf", text, n, &e), -E2BIG);
	snprintf(want, sizeof(want), "t.conf:%d: AllowedIPs: more than %d prefixes in one [Peer]",
		 3 + WS_CONF_MAX_ALLOWED_IPS, WS_CONF_MAX_ALLOWED_IPS);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	/* 10000 peers load (each key distinct); the 10001st does not. */
	n = 0;
	for (int i = 0; i <= WS_CONF_MAX_PEERS; i++) {
		uint8_t k[WS_KEY_LEN] = { 0 };
		char b64[WS_KEY_B64_LEN + 1];

		ws_put_le32(k, (uint32_t)i);
		ws_key_to_base64(b64, k);
		n += (size_t)sprintf(text + n, "[Peer]\nPublicKey = %s\n", b64);
	}
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&c, "t.conf", text, n, &e), -E2BIG);
	snprintf(want, sizeof(want), "t.conf:%d: more than %d peers", 2 * WS_CONF_MAX_PEERS + 1,
		 WS_CONF_MAX_PEERS);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	n = (size_t)(strrchr(text, '[') - text);
	CU_ASSERT_EQUAL_FATAL(ws_conf_load_buffer(&c, "t.conf", text, n, &e), 0);
	CU_ASSERT_EQUAL(c.n_peers, WS_CONF_MAX_PEERS);
	CU_ASSERT_EQUAL(ws_le32(c.peers[WS_CONF_MAX_PEERS - 1].public_key), WS_CONF_MAX_PEERS - 1);
	check_round_trip(&c);
	ws_conf_free(&c);
	/* A duplicate far apart is still found. */
	memcpy(text + n - 45, K0 "\n", 45);
	memcpy(text + 19, K0 "\n", 45);   /* the first peer's key, after "[Peer]\nPublicKey = " */
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&c, "t.conf", text, n, &e), -EINVAL);
	snprintf(want, sizeof(want), "t.conf:%d: PublicKey: the [Peer] on line 1 has the same key "
		 "'" K0 "'", 2 * WS_CONF_MAX_PEERS);
	CU_ASSERT_TRUE(str_is(e.msg, want));
	CU_ASSERT_EQUAL(ws_conf_load_buffer(&c, "t.conf", text, WS_CONF_FILE_MAX + 1, &e), -E2BIG);
	CU_ASSERT_TRUE(str_is(e.msg, "t.conf: larger than 8388608 bytes"));
	free(text);
}

/* ---- value parsers and formatters ---- */

static void test_value_parsers(void)
{
	struct ws_conf_prefix p;
	struct ws_conf_endpoint ep;
	char buf[WS_CONF_ENDPOINT_STRLEN];
	enum ws_conf_table_mode mode;
	uint32_t u;
	uint16_t s;

	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.1.2.3/8", WS_CONF_PREFIX_MASK), 0);
	CU_ASSERT_TRUE(prefix_is(&p, "10.0.0.0/8"));
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.1.2.3/8", 0), 0);
	CU_ASSERT_TRUE(prefix_is(&p, "10.1.2.3/8"));
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "fd19:1:2:3::9/33", WS_CONF_PREFIX_MASK), 0);
	CU_ASSERT_TRUE(prefix_is(&p, "fd19:1::/33"));
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "fd19::9", 0), 0);
	CU_ASSERT_EQUAL(p.cidr, 128);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "::/0", 0), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "0.0.0.0/0", 0), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/32", 0), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/+8", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/0x8", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/0008", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "010.0.0.1/8", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "fe80::1%eth0/64", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "", 0), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_prefix(&p, "10.0.0.1/8/8", 0), -EINVAL);

	CU_ASSERT_EQUAL(ws_conf_parse_endpoint(&ep, "[fd18::2]:51820"), 0);
	CU_ASSERT_STRING_EQUAL(ep.host, "fd18::2");
	CU_ASSERT_EQUAL(ep.family, AF_INET6);
	CU_ASSERT_STRING_EQUAL(ws_conf_format_endpoint(buf, &ep), "[fd18::2]:51820");
	CU_ASSERT_EQUAL(ws_conf_parse_endpoint(&ep, "[fe80::1%veth0]:1"), 0);
	CU_ASSERT_STRING_EQUAL(ep.host, "fe80::1%veth0");
	CU_ASSERT_EQUAL(ws_conf_parse_endpoint(&ep, "198.18.0.1:65535"), 0);
	CU_ASSERT_STRING_EQUAL(ws_conf_format_endpoint(buf, &ep), "198.18.0.1:65535");
	CU_ASSERT_EQUAL(ws_conf_parse_endpoint(&ep, "vpn-1.example.org.:51820"), 0);
	CU_ASSERT_EQUAL(ep.family, AF_UNSPEC);
	CU_ASSERT_EQUAL(ws_conf_parse_endpoint(&ep, "localhost:1"), 0);
	static const char *const bad_endpoints[] = {
		"198.18.0.1", "198.18.0.1:", ":51820", "[fd18::2]", "[fd18::2]51820",
		"[198.18.0.1]:1", "fd18::2:1", "host:65536", "host:-1", "host:0x10", "ho st:1",
		"a..b:1", "-a.b:1", "1.2.3:1", "[fe80::1%]:1", "[fe80::1%a/b]:1", "host:1:2",
		"[fd18::2]:1x", "a.b_c!:1",
	};
	for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
		int rc = ws_conf_parse_endpoint(&ep, bad_endpoints[i]);

		if (rc != -EINVAL)
			fprintf(stderr, "\n  accepted endpoint %s\n", bad_endpoints[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
	}
	CU_ASSERT_TRUE(ws_conf_is_hostname("a.example"));
	CU_ASSERT_TRUE(ws_conf_is_hostname("x1"));
	CU_ASSERT_FALSE(ws_conf_is_hostname("a..example"));
	CU_ASSERT_FALSE(ws_conf_is_hostname("."));
	CU_ASSERT_FALSE(ws_conf_is_hostname("10.1"));

	CU_ASSERT_EQUAL(ws_conf_parse_port(&s, "0"), 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(ws_conf_parse_port(&s, "65535"), 0);
	CU_ASSERT_EQUAL(s, 65535);
	CU_ASSERT_EQUAL(ws_conf_parse_port(&s, ""), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_port(&s, " 1"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_port(&s, "99999999999999999999"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_keepalive(&s, "off"), 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(ws_conf_parse_keepalive(&s, "25"), 0);
	CU_ASSERT_EQUAL(s, 25);
	CU_ASSERT_EQUAL(ws_conf_parse_keepalive(&s, "on"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_fwmark(&u, "0xCAFE"), 0);
	CU_ASSERT_EQUAL(u, 0xcafe);
	CU_ASSERT_EQUAL(ws_conf_parse_fwmark(&u, "4294967295"), 0);
	CU_ASSERT_EQUAL(u, 0xffffffffu);
	CU_ASSERT_EQUAL(ws_conf_parse_fwmark(&u, "off"), 0);
	CU_ASSERT_EQUAL(u, 0);
	CU_ASSERT_EQUAL(ws_conf_parse_fwmark(&u, "0x"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_fwmark(&u, "4294967296"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_table(&mode, &u, "main"), 0);
	CU_ASSERT_EQUAL(mode, WS_CONF_TABLE_ID);
	CU_ASSERT_EQUAL(u, WS_CONF_TABLE_MAIN);
	CU_ASSERT_EQUAL(ws_conf_parse_table(&mode, &u, "4294967294"), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_table(&mode, &u, "4294967295"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_table(&mode, &u, "Off"), 0);
	CU_ASSERT_EQUAL(mode, WS_CONF_TABLE_OFF);
	CU_ASSERT_EQUAL(ws_conf_parse_table(&mode, &u, "auto"), 0);
	CU_ASSERT_EQUAL(mode, WS_CONF_TABLE_AUTO);
	CU_ASSERT_EQUAL(ws_conf_parse_mtu(&u, "0"), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_mtu(&u, "1280"), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_mtu(&u, "65535"), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_mtu(&u, "65536"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_max_packet_size(&u, "256"), 0);
	CU_ASSERT_EQUAL(ws_conf_parse_max_packet_size(&u, "255"), -EINVAL);
	CU_ASSERT_EQUAL(ws_conf_parse_max_packet_size(&u, "65507"), 0);
}

/* DECISIONS 31. */
static void test_mtu_defaults(void)
{
	struct ws_conf c;

	CU_ASSERT_EQUAL(ws_conf_default_mtu(0), 1400);       /* unknown */
	CU_ASSERT_EQUAL(ws_conf_default_mtu(1500), 1400);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(1380), 1280);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(1381), 1281);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(1280), 1280);    /* never below 1280 */
	CU_ASSERT_EQUAL(ws_conf_default_mtu(68), 1280);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(9000), 8900);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(65535), 65435);
	CU_ASSERT_EQUAL(ws_conf_default_mtu(UINT32_MAX), 65535);
	CU_ASSERT_EQUAL(ws_conf_default_max_packet_size(1400), 1445);
	CU_ASSERT_EQUAL(ws_conf_default_max_packet_size(1420), 1465);
	CU_ASSERT_EQUAL(ws_conf_default_max_packet_size(1280), 1325);
	CU_ASSERT_EQUAL(ws_conf_default_max_packet_size(65535), 65507);
	CU_ASSERT_EQUAL_FATAL(load(&c, "[Interface]\n", NULL), 0);
	CU_ASSERT_EQUAL(ws_conf_mtu(&c, 0), 1400);
	CU_ASSERT_EQUAL(ws_conf_max_packet_size(&c, ws_conf_mtu(&c, 0)), 1445);
	ws_conf_free(&c);
	CU_ASSERT_EQUAL_FATAL(load(&c, "[Interface]\nMTU = 0\nMaxPacketSize = 600\n", NULL), 0);
	CU_ASSERT_EQUAL(ws_conf_mtu(&c, 9000), 8900);
	CU_ASSERT_EQUAL(ws_conf_max_packet_size(&c, 8900), 600);
	ws_conf_free(&c);
}

/* ---- write -> load ---- */

static void test_write(void)
{
	struct ws_conf c;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(load(&c, hub, NULL), 0);
	f = open_memstream(&out, &len);
	CU_ASSERT_EQUAL(ws_conf_write(f, &c, false), 0);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(out, "PrivateKey"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "PublicKey = " K1 "\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "FwMark = 0x1234\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Table = 1000\n"));
	free(out);
	f = open_memstream(&out, &len);
	CU_ASSERT_EQUAL(ws_conf_write(f, &c, true), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[Interface]\nPrivateKey = " K0 "\nListenPort = 51820\n"
					   "Address = 198.19.0.1/16, fd19::1/48\n"));
	ws_wipe(out, len);
	free(out);
	ws_conf_free(&c);
}

/* Random valid configs (fixed seed) survive write -> load unchanged. */
static void test_round_trip_random(void)
{
	static const char *const hosts[] = { "198.18.0.1", "[fd18::1]", "vpn.example", "a-b.c_d" };
	static const char *const hooks[] = { "PreUp", "PostUp", "PreDown", "PostDown" };
	uint64_t rng = 0x5eed;
	char *text = malloc(1 << 20);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (int iter = 0; iter < 200; iter++) {
		struct ws_conf c;
		struct ws_conf_error e;
		size_t n = (size_t)sprintf(text, "[Interface]\n");
		int peers = (int)(ws_test_rand(&rng) % 6);

		if (ws_test_rand(&rng) & 1)
			n += (size_t)sprintf(text + n, "PrivateKey = " K4 "\n");
		if (ws_test_rand(&rng) & 1)
			n += (size_t)sprintf(text + n, "ListenPort = %u\n",
					     (unsigned)(ws_test_rand(&rng) % 65536));
		for (int i = (int)(ws_test_rand(&rng) % 40); i > 0; i--)
			n += (size_t)sprintf(text + n, "Address = 198.19.%u.%u/%u, fd19::%x/%u\n",
					     (unsigned)(ws_test_rand(&rng) % 256),
					     (unsigned)(ws_test_rand(&rng) % 256),
					     (unsigned)(ws_test_rand(&rng) % 33),
					     (unsigned)(ws_test_rand(&rng) % 65536),
					     (unsigned)(ws_test_rand(&rng) % 129));
		for (int i = (int)(ws_test_rand(&rng) % 20); i > 0; i--)
			n += (size_t)sprintf(text + n, "DNS = 198.18.0.%u, s%u.example\n",
					     (unsigned)(ws_test_rand(&rng) % 256),
					     (unsigned)(ws_test_rand(&rng) % 1000));
		for (int i = (int)(ws_test_rand(&rng) % 6); i > 0; i--)
			n += (size_t)sprintf(text + n, "%s = echo %u;x=%u\n",
					     hooks[ws_test_rand(&rng) % 4],
					     (unsigned)ws_test_rand(&rng), (unsigned)ws_test_rand(&rng));
		if (ws_test_rand(&rng) & 1)
			n += (size_t)sprintf(text + n, "Table = %u\nFwMark = %u\nMTU = %u\n",
					     1 + (unsigned)(ws_test_rand(&rng) % 100000),
					     (unsigned)ws_test_rand(&rng),
					     1280 + (unsigned)(ws_test_rand(&rng) % 60000));
		for (int p = 0; p < peers; p++) {
			uint8_t k[WS_KEY_LEN];
			char b64[WS_KEY_B64_LEN + 1];

			for (int j = 0; j < WS_KEY_LEN; j++)
				k[j] = (uint8_t)ws_test_rand(&rng);
			ws_key_to_base64(b64, k);
			n += (size_t)sprintf(text + n, "[Peer]\nPublicKey = %s\n", b64);
			for (int i = (int)(ws_test_rand(&rng) % 300); i > 0; i--)
				n += (size_t)sprintf(text + n, "AllowedIPs = 10.%u.%u.%u/%u\n",
						     (unsigned)(ws_test_rand(&rng) % 256),
						     (unsigned)(ws_test_rand(&rng) % 256),
						     (unsigned)(ws_test_rand(&rng) % 256),
						     (unsigned)(ws_test_rand(&rng) % 33));
			if (ws_test_rand(&rng) & 1)
				n += (size_t)sprintf(text + n, "Endpoint = %s:%u\n",
						     hosts[ws_test_rand(&rng) % 4],
						     1 + (unsigned)(ws_test_rand(&rng) % 65535));
			if (ws_test_rand(&rng) & 1)
				n += (size_t)sprintf(text + n, "PersistentKeepalive = %u\n",
						     (unsigned)(ws_test_rand(&rng) % 65536));
		}
		CU_ASSERT_EQUAL_FATAL(ws_conf_load_buffer(&c, "r.conf", text, n, &e), 0);
		CU_ASSERT_EQUAL(c.n_peers, (size_t)peers);
		check_round_trip(&c);
		ws_conf_free(&c);
	}
	free(text);
}

WS_SUITE(conf)
{
	WS_ADD(suite, test_site_to_site);
	WS_ADD(suite, test_roaming_laptop);
	WS_ADD(suite, test_hub);
	WS_ADD(suite, test_case_insensitive);
	WS_ADD(suite, test_lists_and_continuations);
	WS_ADD(suite, test_hooks_in_order);
	WS_ADD(suite, test_hook_cut);
	WS_ADD(suite, test_line_length);
	WS_ADD(suite, test_crlf);
	WS_ADD(suite, test_error_sections);
	WS_ADD(suite, test_error_keys);
	WS_ADD(suite, test_error_duplicates);
	WS_ADD(suite, test_error_peer_key);
	WS_ADD(suite, test_error_values);
	WS_ADD(suite, test_error_private_key_sources);
	WS_ADD(suite, test_validate);
	WS_ADD(suite, test_files_and_permissions);
	WS_ADD(suite, test_key_file_after_parse);
	WS_ADD(suite, test_limits);
	WS_ADD(suite, test_value_parsers);
	WS_ADD(suite, test_mtu_defaults);
	WS_ADD(suite, test_write);
	WS_ADD(suite, test_round_trip_random);
}
