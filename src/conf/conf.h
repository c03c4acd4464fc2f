/* SPDX-License-Identifier: MIT */
/*
 * The configuration file (ws.conf(5)): an INI file read with the packaged
 * inih, shared by wsd (keys, ports, peers), wsup/wsdown (addresses, MTU,
 * routes, DNS, hooks) and `ws` (showconf, value parsers).
 *
 *   [Interface]  PrivateKey | PrivateKeyFile, ListenPort, Address*, MTU,
 *                MaxPacketSize, Table, FwMark, DNS*, PreUp* PostUp*
 *                PreDown* PostDown*
 *   [Peer]       PublicKey, AllowedIPs*, Endpoint, PersistentKeepalive
 *
 * Keys marked * may repeat; Address, AllowedIPs and DNS also take comma lists
 * and indented continuation lines. Section and key names are
 * case-insensitive. Every error names FILE:LINE and the key and quotes the
 * offending value (never a private key). Nothing here prints, resolves names
 * or touches the network; the only I/O is reading the config and key files
 * (conf_load.c).
 */
#ifndef WS_CONF_H
#define WS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/messages.h"

enum ws_conf_limits {
	WS_CONF_LINE_MAX = 199,          /* longest line, bytes without "\n"/"\r\n" */
	WS_CONF_FILE_MAX = 8 << 20,      /* largest config file */
	WS_CONF_KEY_FILE_MAX = 256,      /* largest PrivateKeyFile */
	WS_CONF_MAX_PEERS = 10000,
	WS_CONF_MAX_ALLOWED_IPS = 4096,  /* per peer */
	WS_CONF_MAX_ADDRESSES = 256,
	WS_CONF_MAX_DNS = 256,           /* servers and search domains together */
	WS_CONF_MAX_HOOKS = 256,         /* per hook kind */
	WS_CONF_HOST_MAX = 253,          /* DNS name length */
	WS_CONF_ZONE_MAX = 15,           /* IF_NAMESIZE - 1 */
	WS_CONF_MSG_MAX = 4608,          /* PATH_MAX + room for the message */
};

/* DECISIONS 31. MTU 0 and MaxPacketSize 0 in the model mean "default". */
enum ws_conf_mtu {
	WS_CONF_MTU_MIN = WS_MIN_MTU,            /* 1280: IPv6 needs it */
	WS_CONF_MTU_MAX = 65535,
	WS_CONF_MTU_DEFAULT = 1400,              /* route MTU unknown */
	WS_CONF_MTU_ROUTE_OVERHEAD = 100,        /* MTU = route MTU - 100 */
	WS_CONF_PACKET_OVERHEAD = 45,            /* frame header 5 + maxFragPayload's 40 */
	WS_CONF_MAX_PACKET_SIZE_MIN = 256,
	WS_CONF_MAX_PACKET_SIZE_MAX = WS_MAX_PACKET_SIZE, /* 65507 */
	WS_CONF_TABLE_MAIN = 254,
	WS_CONF_TABLE_MAX = 0xfffffffe,
};

/* An address with a prefix length. addr is in network byte order; an IPv4
 * address fills addr[0..3] and the rest is zero. */
struct ws_conf_prefix {
	int family;                 /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t cidr;               /* 0..32 or 0..128 */
};

/* Endpoint as written: host is an IPv4 literal, an IPv6 literal without
 * brackets (optionally with %zone) or a DNS name (never resolved here).
 * For literals family/addr hold the address; for names family is AF_UNSPEC. */
struct ws_conf_endpoint {
	char host[WS_CONF_HOST_MAX + 1];
	uint16_t port;              /* 1..65535 */
	int family;
	uint8_t addr[16];
};

enum ws_conf_table_mode {
	WS_CONF_TABLE_AUTO = 0,     /* default: a route per AllowedIPs prefix */
	WS_CONF_TABLE_OFF,          /* no routes */
	WS_CONF_TABLE_ID,           /* routes in table `table` */
};

enum ws_conf_hook {
	WS_CONF_PRE_UP,
	WS_CONF_POST_UP,
	WS_CONF_PRE_DOWN,
	WS_CONF_POST_DOWN,
	WS_CONF_HOOK_COUNT,
};

struct ws_conf_peer {
	uint8_t public_key[WS_KEY_LEN];
	struct ws_conf_prefix *allowed_ips;   /* host bits masked off */
	size_t n_allowed_ips;
	bool has_endpoint;
	struct ws_conf_endpoint endpoint;
	uint16_t persistent_keepalive;        /* seconds, 0 = off */
	unsigned line;                        /* its [Peer] line; for messages only */
};

/*
 * The model. Every array and string is malloc'd and owned by the struct;
 * ws_conf_free() releases them. A model built by hand (`ws showconf`) must
 * follow the same rule; its strings must be single lines for ws_conf_write.
 * Fields left unset (zero) mean the defaults noted below.
 */
struct ws_conf {
	char *source;                         /* file name used in messages */
	bool has_private_key;
	uint8_t private_key[WS_KEY_LEN];      /* secret: wiped by ws_conf_free */
	char *private_key_file;               /* absolute path or NULL */
	unsigned private_key_file_line;       /* the line it is set on, for messages */
	uint16_t listen_port;                 /* 0 = random */
	struct ws_conf_prefix *addresses;     /* host bits kept */
	size_t n_addresses;
	uint32_t mtu;                         /* 0 = default (ws_conf_mtu) */
	uint32_t max_packet_size;             /* 0 = default (MTU + 45) */
	enum ws_conf_table_mode table_mode;   /* default auto */
	uint32_t table;                       /* WS_CONF_TABLE_ID only */
	uint32_t fwmark;                      /* 0 = off */
	struct ws_conf_prefix *dns_servers;   /* full-length prefixes */
	size_t n_dns_servers;
	char **dns_search;                    /* search domains, in order */
	size_t n_dns_search;
	char **hooks[WS_CONF_HOOK_COUNT];     /* raw command strings, in order */
	size_t n_hooks[WS_CONF_HOOK_COUNT];
	struct ws_conf_peer *peers;
	size_t n_peers;
};

/* Warnings: the load succeeded but the user should act. */
enum ws_conf_warning {
	WS_CONF_WARN_CONF_MODE = 1u << 0,     /* config holds PrivateKey, mode & 044 */
	WS_CONF_WARN_KEY_FILE_MODE = 1u << 1, /* PrivateKeyFile has mode & 044 */
};

/* On failure msg is "FILE:LINE: Key: what is wrong 'value'" (or "FILE: ..."
 * when no line applies) and line is the line (0 if none). On success msg is
 * empty and warnings/warning describe what the caller should print. */
struct ws_conf_error {
	char msg[WS_CONF_MSG_MAX];
	unsigned line;
	unsigned warnings;                    /* enum ws_conf_warning bits */
	char warning[WS_CONF_MSG_MAX];        /* text of the last warning */
};

/*
 * Load a config into *c (which need not be initialised). Return 0, or
 * -EINVAL (bad content), -E2BIG (a documented limit was passed), -ENOMEM, or
 * the -errno of a failed read, with err->msg set; on failure *c is left
 * empty (ws_conf_free is still safe). A private key held in a temporary
 * buffer is wiped. load_buffer uses name in messages; buf need not be
 * NUL-terminated. The file may be a pipe (/dev/stdin); a PrivateKeyFile
 * must be an absolute path to a regular file.
 */
int ws_conf_load_file(struct ws_conf *c, const char *path, struct ws_conf_error *err);
int ws_conf_load_buffer(struct ws_conf *c, const char *name, const char *buf, size_t len,
			struct ws_conf_error *err);

/*
 * The two steps of ws_conf_load_buffer. parse_buffer is pure (it opens no
 * file, so it is what the config fuzzer runs): a PrivateKeyFile is recorded
 * in private_key_file and private_key_file_line, has_private_key stays
 * false. load_key_file then reads it into private_key (0 when the config
 * names none); its messages are "SOURCE:LINE: PrivateKeyFile: ...". Both
 * return 0 or -errno with err->msg set; parse_buffer leaves *c empty on
 * failure, load_key_file leaves *c for the caller to free.
 */
int ws_conf_parse_buffer(struct ws_conf *c, const char *name, const char *buf, size_t len,
			 struct ws_conf_error *err);
int ws_conf_load_key_file(struct ws_conf *c, struct ws_conf_error *err);

/* Checks a loaded config needs beyond parsing. */
enum ws_conf_validate_flags {
	WS_CONF_NEED_PRIVATE_KEY = 1u << 0,   /* wsd: PrivateKey or PrivateKeyFile */
};
int ws_conf_validate(const struct ws_conf *c, unsigned flags, struct ws_conf_error *err);

/* Free everything and wipe the private key; leaves *c empty. */
void ws_conf_free(struct ws_conf *c);

/* Same value (ignores source and the peers' line numbers). Keys compared
 * in constant time. */
bool ws_conf_equal(const struct ws_conf *a, const struct ws_conf *b);

/*
 * Print c as a config file that loads back to an equal model. The private
 * key is printed only when include_private is set (a PrivateKeyFile path is
 * always printed, never the key it holds). Returns 0 or -EIO.
 */
int ws_conf_write(FILE *f, const struct ws_conf *c, bool include_private);

/* ---- value parsers (also used by `ws`): 0 or -EINVAL, *out untouched on error ---- */

/* Decimal or 0x-hex without sign or spaces, within [min, max]. */
int ws_conf_parse_u32(uint32_t *out, const char *s, uint32_t min, uint32_t max);
/* 0..65535 (ListenPort; 0 = random). */
int ws_conf_parse_port(uint16_t *port, const char *s);
/* "off" or 0..65535 seconds (0 = off). */
int ws_conf_parse_keepalive(uint16_t *secs, const char *s);
/* "off" or a 32-bit number (0 = off). */
int ws_conf_parse_fwmark(uint32_t *mark, const char *s);
/* "auto", "off", "main" (254) or 1..4294967294. */
int ws_conf_parse_table(enum ws_conf_table_mode *mode, uint32_t *table, const char *s);
/* 0 (default) or 1280..65535. */
int ws_conf_parse_mtu(uint32_t *mtu, const char *s);
/* 0 (default) or 256..65507. */
int ws_conf_parse_max_packet_size(uint32_t *size, const char *s);

enum ws_conf_prefix_flags {
	WS_CONF_PREFIX_MASK = 1u << 0,        /* clear host bits (AllowedIPs) */
};
/* "a.b.c.d[/n]" or "v6[/n]"; without /n the length is 32 or 128. */
int ws_conf_parse_prefix(struct ws_conf_prefix *p, const char *s, unsigned flags);
/* A bare IPv4 or IPv6 address (cidr set to 32 or 128). */
int ws_conf_parse_addr(struct ws_conf_prefix *p, const char *s);
/* Clear the bits beyond p->cidr. */
void ws_conf_prefix_mask(struct ws_conf_prefix *p);
/* "a.b.c.d:port", "[v6]:port", "[v6%zone]:port" or "dns.name:port"; port 1..65535. */
int ws_conf_parse_endpoint(struct ws_conf_endpoint *e, const char *s);
/* DNS name: labels of [A-Za-z0-9_-] (1..63, not starting with '-'), at most
 * 253 characters, an optional final dot, last label not all digits. */
bool ws_conf_is_hostname(const char *s);

enum ws_conf_strlen {
	WS_CONF_PREFIX_STRLEN = 46 + 4,                  /* INET6_ADDRSTRLEN + "/128" */
	WS_CONF_ENDPOINT_STRLEN = WS_CONF_HOST_MAX + 9,  /* "[" host "]:" port NUL */
};
/* Format into buf and return it. */
const char *ws_conf_format_prefix(char buf[WS_CONF_PREFIX_STRLEN], const struct ws_conf_prefix *p);
const char *ws_conf_format_addr(char buf[WS_CONF_PREFIX_STRLEN], const struct ws_conf_prefix *p);
const char *ws_conf_format_endpoint(char buf[WS_CONF_ENDPOINT_STRLEN],
				    const struct ws_conf_endpoint *e);

/* ---- defaults (DECISIONS 31) ---- */

/* route MTU - 100, 1400 when unknown (0), never below 1280 nor above 65535. */
uint32_t ws_conf_default_mtu(uint32_t route_mtu);
/* mtu + 45, at most 65507. */
uint32_t ws_conf_default_max_packet_size(uint32_t mtu);
/* The configured value, or the default. */
uint32_t ws_conf_mtu(const struct ws_conf *c, uint32_t route_mtu);
uint32_t ws_conf_max_packet_size(const struct ws_conf *c, uint32_t mtu);

#endif
