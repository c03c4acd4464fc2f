/* SPDX-License-Identifier: MIT */
/*
 * showconf: print a model as a config file that loads back to an equal
 * model. Every line stays within WS_CONF_LINE_MAX: lists are wrapped over
 * repeated keys, and a value that filled its original line is written as
 * "Key=value". A value starting with ';' is written "Key=;..." too, since
 * inih reads " ;" as the start of a comment.
 */
#include <errno.h>
#include <string.h>

#include "conf/conf.h"
#include "core/crypto.h"

enum { WRAP = 100 };   /* soft width of a wrapped list line */

static void put_kv(FILE *f, const char *key, const char *v)
{
	if (v[0] != ';' && strlen(key) + 3 + strlen(v) <= WS_CONF_LINE_MAX)
		fprintf(f, "%s = %s\n", key, v);
	else
		fprintf(f, "%s=%s\n", key, v);
}

struct list {
	FILE *f;
	const char *key;
	char line[WS_CONF_LINE_MAX + 1];
	size_t len;
};

static void list_flush(struct list *l)
{
	if (l->len)
		fprintf(l->f, "%s\n", l->line);
	l->len = 0;
}

static void list_add(struct list *l, const char *item)
{
	size_t n = strlen(item), klen = strlen(l->key);

	if (l->len && l->len + 2 + n > WRAP)
		list_flush(l);
	if (l->len) {
		l->len += (size_t)snprintf(l->line + l->len, sizeof(l->line) - l->len, ", %s", item);
	} else if (klen + 3 + n <= WS_CONF_LINE_MAX) {
		l->len = (size_t)snprintf(l->line, sizeof(l->line), "%s = %s", l->key, item);
	} else {
		put_kv(l->f, l->key, item);
	}
}

static void put_prefixes(FILE *f, const char *key, const struct ws_conf_prefix *p, size_t n)
{
	struct list l = { .f = f, .key = key };
	char buf[WS_CONF_PREFIX_STRLEN];

	for (size_t i = 0; i < n; i++)
		list_add(&l, ws_conf_format_prefix(buf, &p[i]));
	list_flush(&l);
}

static void put_key(FILE *f, const char *name, const uint8_t key[WS_KEY_LEN])
{
	char b64[WS_KEY_B64_LEN + 1];

	ws_key_to_base64(b64, key);
	put_kv(f, name, b64);
	ws_wipe(b64, sizeof(b64));
}

static const char *const hook_names[WS_CONF_HOOK_COUNT] = {
	[WS_CONF_PRE_UP] = "PreUp",
	[WS_CONF_POST_UP] = "PostUp",
	[WS_CONF_PRE_DOWN] = "PreDown",
	[WS_CONF_POST_DOWN] = "PostDown",
};

static void put_interface(FILE *f, const struct ws_conf *c, bool include_private)
{
	struct list dns = { .f = f, .key = "DNS" };

	fprintf(f, "[Interface]\n");
	if (c->private_key_file)
		put_kv(f, "PrivateKeyFile", c->private_key_file);
	else if (c->has_private_key && include_private)
		put_key(f, "PrivateKey", c->private_key);
	if (c->listen_port)
		fprintf(f, "ListenPort = %u\n", (unsigned)c->listen_port);
	put_prefixes(f, "Address", c->addresses, c->n_addresses);
	if (c->mtu)
		fprintf(f, "MTU = %u\n", (unsigned)c->mtu);
	if (c->max_packet_size)
		fprintf(f, "MaxPacketSize = %u\n", (unsigned)c->max_packet_size);
	if (c->table_mode == WS_CONF_TABLE_OFF)
		fprintf(f, "Table = off\n");
	else if (c->table_mode == WS_CONF_TABLE_ID)
		fprintf(f, "Table = %u\n", (unsigned)c->table);
	if (c->fwmark)
		fprintf(f, "FwMark = 0x%x\n", (unsigned)c->fwmark);
	for (size_t i = 0; i < c->n_dns_servers; i++) {
		char buf[WS_CONF_PREFIX_STRLEN];

		list_add(&dns, ws_conf_format_addr(buf, &c->dns_servers[i]));
	}
	for (size_t i = 0; i < c->n_dns_search; i++)
		list_add(&dns, c->dns_search[i]);
	list_flush(&dns);
	for (int h = 0; h < WS_CONF_HOOK_COUNT; h++)
		for (size_t i = 0; i < c->n_hooks[h]; i++)
			put_kv(f, hook_names[h], c->hooks[h][i]);
}

static void put_peer(FILE *f, const struct ws_conf_peer *p)
{
	char buf[WS_CONF_ENDPOINT_STRLEN];

	fprintf(f, "\n[Peer]\n");
	put_key(f, "PublicKey", p->public_key);
	put_prefixes(f, "AllowedIPs", p->allowed_ips, p->n_allowed_ips);
	if (p->has_endpoint)
		put_kv(f, "Endpoint", ws_conf_format_endpoint(buf, &p->endpoint));
	if (p->persistent_keepalive)
		fprintf(f, "PersistentKeepalive = %u\n", (unsigned)p->persistent_keepalive);
}

int ws_conf_write(FILE *f, const struct ws_conf *c, bool include_private)
{
	put_interface(f, c, include_private);
	for (size_t i = 0; i < c->n_peers; i++)
		put_peer(f, &c->peers[i]);
	return ferror(f) ? -EIO : 0;
}
