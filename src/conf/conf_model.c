/* SPDX-License-Identifier: MIT */
/*
 * The config model after a parse: the validate step, freeing (the private
 * key wiped) and equality. No I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/crypto.h"

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
