/* SPDX-License-Identifier: MIT */
/*
 * Value parsers and formatters of the configuration (ws.conf(5)). Each
 * parser reads one NUL-terminated value without surrounding whitespace,
 * reads nothing past its terminator, and writes *out only on success.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conf/conf.h"

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int ws_conf_parse_u32(uint32_t *out, const char *s, uint32_t min, uint32_t max)
{
	unsigned base = 10;
	uint64_t v = 0;
	int d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		d = hexval(*s);
		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Decimal only: ports and lengths are never written in hex. */
static int parse_dec(uint32_t *out, const char *s, uint32_t max)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -EINVAL;
	return ws_conf_parse_u32(out, s, 0, max);
}

int ws_conf_parse_port(uint16_t *port, const char *s)
{
	uint32_t v;

	if (parse_dec(&v, s, 65535) < 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int ws_conf_parse_keepalive(uint16_t *secs, const char *s)
{
	uint32_t v;

	if (!strcasecmp(s, "off")) {
		*secs = 0;
		return 0;
	}
	if (parse_dec(&v, s, 65535) < 0)
		return -EINVAL;
	*secs = (uint16_t)v;
	return 0;
}

int ws_conf_parse_fwmark(uint32_t *mark, const char *s)
{
	if (!strcasecmp(s, "off")) {
		*mark = 0;
		return 0;
	}
	return ws_conf_parse_u32(mark, s, 0, UINT32_MAX);
}

int ws_conf_parse_table(enum ws_conf_table_mode *mode, uint32_t *table, const char *s)
{
	uint32_t v = 0;

	if (!strcasecmp(s, "auto")) {
		*mode = WS_CONF_TABLE_AUTO;
	} else if (!strcasecmp(s, "off")) {
		*mode = WS_CONF_TABLE_OFF;
	} else {
		if (!strcasecmp(s, "main"))
			v = WS_CONF_TABLE_MAIN;
		else if (ws_conf_parse_u32(&v, s, 1, WS_CONF_TABLE_MAX) < 0)
			return -EINVAL;
		*mode = WS_CONF_TABLE_ID;
	}
	*table = v;
	return 0;
}

int ws_conf_parse_mtu(uint32_t *mtu, const char *s)
{
	uint32_t v;

	if (parse_dec(&v, s, WS_CONF_MTU_MAX) < 0 || (v && v < WS_CONF_MTU_MIN))
		return -EINVAL;
	*mtu = v;
	return 0;
}

int ws_conf_parse_max_packet_size(uint32_t *size, const char *s)
{
	uint32_t v;

	if (parse_dec(&v, s, WS_CONF_MAX_PACKET_SIZE_MAX) < 0 ||
	    (v && v < WS_CONF_MAX_PACKET_SIZE_MIN))
		return -EINVAL;
	*size = v;
	return 0;
}

int ws_conf_parse_addr(struct ws_conf_prefix *p, const char *s)
{
	struct ws_conf_prefix r;

	memset(&r, 0, sizeof(r));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, r.addr) != 1)
			return -EINVAL;
		r.family = AF_INET6;
		r.cidr = 128;
	} else {
		if (inet_pton(AF_INET, s, r.addr) != 1)
			return -EINVAL;
		r.family = AF_INET;
		r.cidr = 32;
	}
	*p = r;
	return 0;
}

void ws_conf_prefix_mask(struct ws_conf_prefix *p)
{
	unsigned bits = p->cidr;

	for (unsigned i = 0; i < sizeof(p->addr); i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		p->addr[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
}

int ws_conf_parse_prefix(struct ws_conf_prefix *p, const char *s, unsigned flags)
{
	char addr[WS_CONF_PREFIX_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct ws_conf_prefix r;
	uint32_t cidr;

	if (alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (ws_conf_parse_addr(&r, addr) < 0)
		return -EINVAL;
	if (slash) {
		if (strlen(slash + 1) > 3 || parse_dec(&cidr, slash + 1, r.cidr) < 0)
			return -EINVAL;
		r.cidr = (uint8_t)cidr;
	}
	if (flags & WS_CONF_PREFIX_MASK)
		ws_conf_prefix_mask(&r);
	*p = r;
	return 0;
}

static bool label_ok(const char *s, size_t len, bool *all_digits)
{
	*all_digits = true;
	if (len == 0 || len > 63 || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch >= '0' && ch <= '9')
			continue;
		*all_digits = false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

bool ws_conf_is_hostname(const char *s)
{
	size_t len = strlen(s);
	bool digits = true;

	if (len && s[len - 1] == '.')
		len--;
	/* Also rejects an empty last label ("a.."). */
	if (len == 0 || len > WS_CONF_HOST_MAX || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len;) {
		const char *dot = memchr(s + i, '.', len - i);
		size_t n = dot ? (size_t)(dot - (s + i)) : len - i;

		if (!label_ok(s + i, n, &digits))
			return false;
		i += n + 1;
	}
	/* "10.0.0.256" is a mistyped address, not a name: no TLD is numeric. */
	return !digits;
}

/* "v6" or "v6%zone" (bracket contents). */
static int parse_v6_host(struct ws_conf_endpoint *e, const char *s, size_t len)
{
	char addr[WS_CONF_PREFIX_STRLEN];
	const char *pct = memchr(s, '%', len);
	size_t alen = pct ? (size_t)(pct - s) : len;
	struct ws_conf_prefix p;

	if (alen >= sizeof(addr))
		return -EINVAL;
	if (pct) {
		size_t zlen = len - alen - 1;

		if (zlen == 0 || zlen > WS_CONF_ZONE_MAX)
			return -EINVAL;
		for (size_t i = 0; i < zlen; i++) {
			char ch = pct[1 + i];

			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
				return -EINVAL;
		}
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (!strchr(addr, ':') || ws_conf_parse_addr(&p, addr) < 0)
		return -EINVAL;
	e->family = AF_INET6;
	memcpy(e->addr, p.addr, sizeof(e->addr));
	memcpy(e->host, s, len);
	e->host[len] = '\0';
	return 0;
}

static int parse_plain_host(struct ws_conf_endpoint *e, const char *s, size_t len)
{
	struct ws_conf_prefix p;

	if (len > WS_CONF_HOST_MAX)
		return -EINVAL;
	memcpy(e->host, s, len);
	e->host[len] = '\0';
	if (ws_conf_parse_addr(&p, e->host) == 0 && p.family == AF_INET) {
		e->family = AF_INET;
		memcpy(e->addr, p.addr, sizeof(e->addr));
		return 0;
	}
	if (!ws_conf_is_hostname(e->host))
		return -EINVAL;
	e->family = AF_UNSPEC;
	return 0;
}

int ws_conf_parse_endpoint(struct ws_conf_endpoint *e, const char *s)
{
	struct ws_conf_endpoint r;
	const char *colon;
	uint32_t port;
	int rc;

	memset(&r, 0, sizeof(r));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		colon = close + 1;
		rc = parse_v6_host(&r, s + 1, (size_t)(close - s - 1));
	} else {
		colon = strrchr(s, ':');
		/* A second colon means an IPv6 address without brackets. */
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		rc = parse_plain_host(&r, s, (size_t)(colon - s));
	}
	if (rc < 0 || parse_dec(&port, colon + 1, 65535) < 0 || port == 0)
		return -EINVAL;
	r.port = (uint16_t)port;
	*e = r;
	return 0;
}

const char *ws_conf_format_addr(char buf[WS_CONF_PREFIX_STRLEN], const struct ws_conf_prefix *p)
{
	if (!inet_ntop(p->family == AF_INET6 ? AF_INET6 : AF_INET, p->addr, buf,
		       WS_CONF_PREFIX_STRLEN))
		snprintf(buf, WS_CONF_PREFIX_STRLEN, "?");
	return buf;
}

const char *ws_conf_format_prefix(char buf[WS_CONF_PREFIX_STRLEN], const struct ws_conf_prefix *p)
{
	size_t n;

	ws_conf_format_addr(buf, p);
	n = strlen(buf);
	snprintf(buf + n, WS_CONF_PREFIX_STRLEN - n, "/%u", (unsigned)p->cidr);
	return buf;
}

const char *ws_conf_format_endpoint(char buf[WS_CONF_ENDPOINT_STRLEN],
				    const struct ws_conf_endpoint *e)
{
	if (e->family == AF_INET6)
		snprintf(buf, WS_CONF_ENDPOINT_STRLEN, "[%s]:%u", e->host, (unsigned)e->port);
	else
		snprintf(buf, WS_CONF_ENDPOINT_STRLEN, "%s:%u", e->host, (unsigned)e->port);
	return buf;
}

uint32_t ws_conf_default_mtu(uint32_t route_mtu)
{
	uint32_t mtu;

	if (route_mtu == 0)
		return WS_CONF_MTU_DEFAULT;
	mtu = route_mtu > WS_CONF_MTU_ROUTE_OVERHEAD ? route_mtu - WS_CONF_MTU_ROUTE_OVERHEAD : 0;
	if (mtu < WS_CONF_MTU_MIN)
		return WS_CONF_MTU_MIN;
	return mtu > WS_CONF_MTU_MAX ? WS_CONF_MTU_MAX : mtu;
}

uint32_t ws_conf_default_max_packet_size(uint32_t mtu)
{
	uint32_t size = mtu + WS_CONF_PACKET_OVERHEAD;

	return size > WS_CONF_MAX_PACKET_SIZE_MAX ? WS_CONF_MAX_PACKET_SIZE_MAX : size;
}

uint32_t ws_conf_mtu(const struct ws_conf *c, uint32_t route_mtu)
{
	return c->mtu ? c->mtu : ws_conf_default_mtu(route_mtu);
}

uint32_t ws_conf_max_packet_size(const struct ws_conf *c, uint32_t mtu)
{
	return c->max_packet_size ? c->max_packet_size : ws_conf_default_max_packet_size(mtu);
}
