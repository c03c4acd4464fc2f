/* SPDX-License-Identifier: MIT */
/*
 * The keys of ws.conf(5): which section each belongs to, whether it may
 * repeat or continue on indented lines, and how its value enters the model.
 * Every message is "FILE:LINE: Key: what is wrong 'value'"; a private key's
 * value is never quoted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conf/conf_keys.h"
#include "conf/conf_util.h"
#include "core/crypto.h"

enum key_flags {
	KF_REPEAT = 1u << 0,    /* may appear more than once in its section */
	KF_LIST = 1u << 1,      /* comma list; continuation lines append */
	KF_RAW = 1u << 2,       /* kept verbatim: a ' ;' cut is an error */
	KF_SECRET = 1u << 3,    /* never quoted in messages */
};

struct key_def;
typedef int (*key_setter)(struct ws_conf_parser *p, const struct key_def *k, const char *v);

struct key_def {
	const char *name;
	enum ws_conf_section sect;
	unsigned flags;
	key_setter set;
	int arg;                /* hook kind */
};

static struct ws_conf_peer *cur_peer(struct ws_conf_parser *p)
{
	return &p->c->peers[p->c->n_peers - 1];
}

static int bad(struct ws_conf_parser *p, const struct key_def *k, const char *v, const char *what)
{
	char q[WS_CONF_QUOTE_MAX];

	return ws_conf_fail(p, -EINVAL, k->name, "'%s' %s", ws_conf_quote(q, v, strlen(v)), what);
}

static int too_many(struct ws_conf_parser *p, const struct key_def *k, int rc, size_t max,
		    const char *what)
{
	if (rc == -E2BIG)
		return ws_conf_fail(p, rc, k->name, "more than %zu %s", max, what);
	return ws_conf_fail(p, rc, k->name, "out of memory");
}

/* ---- [Interface] ---- */

static int set_private_key(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (p->seen[WS_CONF_K_PRIVATE_KEY_FILE])
		return ws_conf_fail(p, -EINVAL, k->name,
				    "PrivateKeyFile is already set on line %u; give only one of them",
				    p->seen[WS_CONF_K_PRIVATE_KEY_FILE]);
	if (ws_key_from_base64(p->c->private_key, v) < 0)
		return ws_conf_fail(p, -EINVAL, k->name,
				    "not a base64-encoded 32-byte key (value not shown)");
	p->c->has_private_key = true;
	return 0;
}

static int set_private_key_file(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	char q[WS_CONF_QUOTE_MAX];

	if (p->seen[WS_CONF_K_PRIVATE_KEY])
		return ws_conf_fail(p, -EINVAL, k->name,
				    "PrivateKey is already set on line %u; give only one of them '%s'",
				    p->seen[WS_CONF_K_PRIVATE_KEY], ws_conf_quote(q, v, strlen(v)));
	if (v[0] != '/')
		return bad(p, k, v, "is not an absolute path");
	/* Only recorded: ws_conf_load_key_file reads it after the parse. */
	p->c->private_key_file = strdup(v);
	if (!p->c->private_key_file)
		return ws_conf_fail(p, -ENOMEM, k->name, "out of memory");
	p->c->private_key_file_line = p->line;
	return 0;
}

static int set_listen_port(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_port(&p->c->listen_port, v) < 0)
		return bad(p, k, v, "is not a port (0-65535)");
	return 0;
}

static int set_mtu(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_mtu(&p->c->mtu, v) < 0)
		return bad(p, k, v, "is not an MTU (1280-65535, or 0 for the default)");
	return 0;
}

static int set_max_packet_size(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_max_packet_size(&p->c->max_packet_size, v) < 0)
		return bad(p, k, v, "is not a packet size (256-65507, or 0 for the default)");
	return 0;
}

static int set_table(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_table(&p->c->table_mode, &p->c->table, v) < 0)
		return bad(p, k, v, "is not a routing table (auto, off, main or 1-4294967294)");
	return 0;
}

static int set_fwmark(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_fwmark(&p->c->fwmark, v) < 0)
		return bad(p, k, v, "is not a firewall mark (off, or a 32-bit number, 0x... for hex)");
	return 0;
}

static int push_prefix(struct ws_conf_parser *p, const struct key_def *k,
		       struct ws_conf_prefix **arr, size_t *n, size_t max,
		       const struct ws_conf_prefix *pfx, const char *what)
{
	int rc = ws_conf_grow(arr, *n, sizeof(**arr), max);

	if (rc)
		return too_many(p, k, rc, max, what);
	(*arr)[(*n)++] = *pfx;
	return 0;
}

static int push_string(struct ws_conf_parser *p, const struct key_def *k, char ***arr,
		       size_t *n, size_t max, const char *s, const char *what)
{
	int rc = ws_conf_grow(arr, *n, sizeof(**arr), max);
	char *dup;

	if (rc)
		return too_many(p, k, rc, max, what);
	dup = strdup(s);
	if (!dup)
		return ws_conf_fail(p, -ENOMEM, k->name, "out of memory");
	(*arr)[(*n)++] = dup;
	return 0;
}

static int add_address(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	struct ws_conf_prefix pfx;

	if (ws_conf_parse_prefix(&pfx, v, 0) < 0)
		return bad(p, k, v, "is not an address (a.b.c.d/len or v6addr/len)");
	return push_prefix(p, k, &p->c->addresses, &p->c->n_addresses, WS_CONF_MAX_ADDRESSES,
			   &pfx, "addresses");
}

static int add_dns(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	struct ws_conf *c = p->c;
	struct ws_conf_prefix ip;

	if (c->n_dns_servers + c->n_dns_search >= WS_CONF_MAX_DNS)
		return too_many(p, k, -E2BIG, WS_CONF_MAX_DNS, "DNS servers and search domains");
	if (ws_conf_parse_addr(&ip, v) == 0)
		return push_prefix(p, k, &c->dns_servers, &c->n_dns_servers, WS_CONF_MAX_DNS, &ip,
				   "DNS servers");
	if (!ws_conf_is_hostname(v))
		return bad(p, k, v, "is not an IP address or a search domain");
	return push_string(p, k, &c->dns_search, &c->n_dns_search, WS_CONF_MAX_DNS, v,
			   "search domains");
}

static int set_hook(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	return push_string(p, k, &p->c->hooks[k->arg], &p->c->n_hooks[k->arg], WS_CONF_MAX_HOOKS,
			   v, "commands");
}

/* ---- [Peer] ---- */

/* The set of PublicKeys seen so far: open addressing on peer indices. */
static uint32_t *pk_slot(struct ws_conf_parser *p, const uint8_t key[WS_KEY_LEN])
{
	size_t mask = p->pk_size - 1, i = ws_le32(key) & mask;

	/* Public keys are not secret: plain memcmp is fine here. */
	while (p->pk_table[i] &&
	       memcmp(p->c->peers[p->pk_table[i] - 1].public_key, key, WS_KEY_LEN))
		i = (i + 1) & mask;
	return &p->pk_table[i];
}

/* Keep the table at most half full; every peer before the current one has a key. */
static int pk_reserve(struct ws_conf_parser *p)
{
	size_t need = 2 * p->c->n_peers, size = p->pk_size ? p->pk_size : 64;
	uint32_t *old = p->pk_table;

	if (need <= p->pk_size)
		return 0;
	while (size < need)
		size *= 2;
	p->pk_table = calloc(size, sizeof(*p->pk_table));
	if (!p->pk_table) {
		p->pk_table = old;
		return -ENOMEM;
	}
	p->pk_size = size;
	for (size_t i = 0; i + 1 < p->c->n_peers; i++)
		*pk_slot(p, p->c->peers[i].public_key) = (uint32_t)(i + 1);
	free(old);
	return 0;
}

static int set_public_key(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	struct ws_conf_peer *peer = cur_peer(p);
	char q[WS_CONF_QUOTE_MAX];
	uint32_t *slot;

	if (ws_key_from_base64(peer->public_key, v) < 0)
		return bad(p, k, v, "is not a base64-encoded 32-byte key");
	if (pk_reserve(p) < 0)
		return ws_conf_fail(p, -ENOMEM, k->name, "out of memory");
	slot = pk_slot(p, peer->public_key);
	if (*slot)
		return ws_conf_fail(p, -EINVAL, k->name,
				    "the [Peer] on line %u has the same key '%s'",
				    p->c->peers[*slot - 1].line, ws_conf_quote(q, v, strlen(v)));
	*slot = (uint32_t)p->c->n_peers;
	return 0;
}

static int add_allowed_ip(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	struct ws_conf_peer *peer = cur_peer(p);
	struct ws_conf_prefix pfx;

	if (ws_conf_parse_prefix(&pfx, v, WS_CONF_PREFIX_MASK) < 0)
		return bad(p, k, v, "is not a prefix");
	return push_prefix(p, k, &peer->allowed_ips, &peer->n_allowed_ips,
			   WS_CONF_MAX_ALLOWED_IPS, &pfx, "prefixes in one [Peer]");
}

static int set_endpoint(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	struct ws_conf_peer *peer = cur_peer(p);

	if (ws_conf_parse_endpoint(&peer->endpoint, v) < 0)
		return bad(p, k, v, "is not an endpoint (host:port, a.b.c.d:port or [v6addr]:port)");
	peer->has_endpoint = true;
	return 0;
}

static int set_keepalive(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	if (ws_conf_parse_keepalive(&cur_peer(p)->persistent_keepalive, v) < 0)
		return bad(p, k, v, "is not a keepalive interval (off or 0-65535 seconds)");
	return 0;
}

int ws_conf_add_peer(struct ws_conf_parser *p)
{
	struct ws_conf *c = p->c;
	int rc = ws_conf_grow(&c->peers, c->n_peers, sizeof(*c->peers), WS_CONF_MAX_PEERS);

	if (rc == -E2BIG)
		return ws_conf_fail(p, rc, NULL, "more than %d peers", WS_CONF_MAX_PEERS);
	if (rc)
		return ws_conf_fail(p, rc, NULL, "out of memory");
	memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
	c->peers[c->n_peers].line = p->line;
	c->n_peers++;
	return 0;
}

/* ---- the table ---- */

static const struct key_def keys[WS_CONF_K_COUNT] = {
	[WS_CONF_K_PRIVATE_KEY] = { "PrivateKey", WS_CONF_SEC_INTERFACE, KF_SECRET, set_private_key, 0 },
	[WS_CONF_K_PRIVATE_KEY_FILE] = { "PrivateKeyFile", WS_CONF_SEC_INTERFACE, KF_RAW,
					 set_private_key_file, 0 },
	[WS_CONF_K_LISTEN_PORT] = { "ListenPort", WS_CONF_SEC_INTERFACE, 0, set_listen_port, 0 },
	[WS_CONF_K_ADDRESS] = { "Address", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_LIST, add_address, 0 },
	[WS_CONF_K_MTU] = { "MTU", WS_CONF_SEC_INTERFACE, 0, set_mtu, 0 },
	[WS_CONF_K_MAX_PACKET_SIZE] = { "MaxPacketSize", WS_CONF_SEC_INTERFACE, 0,
					set_max_packet_size, 0 },
	[WS_CONF_K_TABLE] = { "Table", WS_CONF_SEC_INTERFACE, 0, set_table, 0 },
	[WS_CONF_K_FWMARK] = { "FwMark", WS_CONF_SEC_INTERFACE, 0, set_fwmark, 0 },
	[WS_CONF_K_DNS] = { "DNS", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_LIST, add_dns, 0 },
	[WS_CONF_K_PRE_UP] = { "PreUp", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_RAW, set_hook,
			       WS_CONF_PRE_UP },
	[WS_CONF_K_POST_UP] = { "PostUp", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_RAW, set_hook,
				WS_CONF_POST_UP },
	[WS_CONF_K_PRE_DOWN] = { "PreDown", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_RAW, set_hook,
				 WS_CONF_PRE_DOWN },
	[WS_CONF_K_POST_DOWN] = { "PostDown", WS_CONF_SEC_INTERFACE, KF_REPEAT | KF_RAW, set_hook,
				  WS_CONF_POST_DOWN },
	[WS_CONF_K_PUBLIC_KEY] = { "PublicKey", WS_CONF_SEC_PEER, 0, set_public_key, 0 },
	[WS_CONF_K_ALLOWED_IPS] = { "AllowedIPs", WS_CONF_SEC_PEER, KF_REPEAT | KF_LIST,
				    add_allowed_ip, 0 },
	[WS_CONF_K_ENDPOINT] = { "Endpoint", WS_CONF_SEC_PEER, 0, set_endpoint, 0 },
	[WS_CONF_K_PERSISTENT_KEEPALIVE] = { "PersistentKeepalive", WS_CONF_SEC_PEER, 0,
					     set_keepalive, 0 },
};

static const struct key_def *find_key(const char *name)
{
	for (size_t i = 0; i < WS_CONF_K_COUNT; i++)
		if (!strcasecmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static const char *sect_name(enum ws_conf_section s)
{
	return s == WS_CONF_SEC_PEER ? "[Peer]" : "[Interface]";
}

/* inih 55 cuts ' ;' comments on key lines only: cut continuation lines alike. */
static size_t cut_comment(const char *v, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if (v[i] == ';' && strchr(" \t\v\f\r", v[i - 1])) {
			len = i;
			break;
		}
	while (len && strchr(" \t\v\f\r", v[len - 1]))
		len--;
	return len;
}

/* Each item of a comma list; one trailing comma is allowed (before a
 * continuation line), an empty value adds nothing. */
static int each_item(struct ws_conf_parser *p, const struct key_def *k, const char *v, size_t len)
{
	char buf[WS_CONF_LINE_MAX + 1], q[WS_CONF_QUOTE_MAX];
	size_t i = 0;
	int rc;

	if (len >= sizeof(buf))
		return ws_conf_fail(p, -EINVAL, k->name, "value too long");
	memcpy(buf, v, len);
	buf[len] = '\0';
	while (i < len) {
		char *item = buf + i, *comma = strchr(item, ','), *end;

		end = comma ? comma : buf + len;
		*end = '\0';
		i = (size_t)(end - buf) + 1;
		while (*item == ' ' || *item == '\t')
			item++;
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		/* A trailing comma ends the loop before its empty item. */
		if (!*item)
			return ws_conf_fail(p, -EINVAL, k->name, "empty item in '%s'",
					    ws_conf_quote(q, v, len));
		rc = k->set(p, k, item);
		if (rc)
			return rc;
	}
	return 0;
}

/* An unknown key as written: bare when it is a plain word, else made
 * printable and quoted. So what follows "FILE:LINE: " in a message is a key,
 * a plain word and ": ", a quoted name or our own text, never words of the
 * file that read as our text ("line not understood" as a key, say). */
static const char *unknown_name(char out[WS_CONF_QUOTE_MAX + 2], const char *name)
{
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
	size_t len = strlen(name);

	if (len && strspn(name, word) == len)
		return name;
	out[0] = '\'';
	len = strlen(ws_conf_quote(out + 1, name, len));
	out[len + 1] = '\'';
	out[len + 2] = '\0';
	return out;
}

static int check_use(struct ws_conf_parser *p, const struct key_def *k, const char *name,
		     const char *v)
{
	char q[WS_CONF_QUOTE_MAX + 2];
	size_t len = strlen(v);

	if (!k)
		name = unknown_name(q, name);
	if (p->sect == WS_CONF_SEC_NONE)
		return ws_conf_fail(p, -EINVAL, k ? k->name : name,
				    "key outside a section (put it under [Interface] or [Peer])");
	if (!k)
		return ws_conf_fail(p, -EINVAL, name, "unknown key in %s", sect_name(p->sect));
	if (k->sect != p->sect)
		return ws_conf_fail(p, -EINVAL, k->name, "belongs in %s, not in %s",
				    sect_name(k->sect), sect_name(p->sect));
	if (p->kind == WS_CONF_LINE_CONT && !(k->flags & KF_LIST))
		return ws_conf_fail(p, -EINVAL, k->name,
				    "continuation line, but only AllowedIPs, Address and DNS may "
				    "continue on indented lines '%s'", ws_conf_quote(q, v, len));
	if (p->kind != WS_CONF_LINE_KEY || (k->flags & KF_REPEAT) || !p->seen[k - keys])
		return 0;
	if (k->flags & KF_SECRET)
		return ws_conf_fail(p, -EINVAL, k->name, "set twice (first on line %u)",
				    p->seen[k - keys]);
	return ws_conf_fail(p, -EINVAL, k->name, "set twice (first on line %u) '%s'",
			    p->seen[k - keys], ws_conf_quote(q, v, len));
}

/* inih cut the value at ' ;': fine for a value that cannot hold ';', an
 * error for a command or a path. */
static int check_cut(struct ws_conf_parser *p, const struct key_def *k, const char *v)
{
	char q1[WS_CONF_QUOTE_MAX], q2[WS_CONF_QUOTE_MAX];

	if (p->kind != WS_CONF_LINE_KEY || !(k->flags & KF_RAW) || strlen(v) >= p->full_len)
		return 0;
	return ws_conf_fail(p, -EINVAL, k->name,
			    "' ;' starts a comment, so '%s' would be cut to '%s': remove the "
			    "space before ';'%s",
			    ws_conf_quote(q1, p->full_value, p->full_len),
			    ws_conf_quote(q2, v, strlen(v)),
			    k->set == set_hook ? " or put the commands in a script" : "");
}

int ws_conf_set_key(struct ws_conf_parser *p, const char *name, const char *v)
{
	const struct key_def *k = find_key(name);
	int rc = check_use(p, k, name, v);

	if (rc || (rc = check_cut(p, k, v)))
		return rc;
	if (p->kind == WS_CONF_LINE_KEY)
		p->seen[k - keys] = p->line;
	if (k->flags & KF_LIST)
		return each_item(p, k, v, cut_comment(v, strlen(v)));
	if (!*v)
		return ws_conf_fail(p, -EINVAL, k->name, "empty value");
	return k->set(p, k, v);
}
