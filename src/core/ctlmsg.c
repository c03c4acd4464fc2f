/* SPDX-License-Identifier: MIT */
#include "core/ctlmsg.h"

#include <string.h>

#include "core/messages.h"

size_t ws_ctl_hello_encode(uint8_t *out, const struct ws_ctl_hello *h)
{
	out[0] = h->version;
	ws_put_le16(out + 1, h->mtu);
	ws_put_le16(out + 3, h->max_packet_size);
	ws_put_le32(out + 5, h->caps);
	return WS_CTL_HELLO_LEN;
}

bool ws_ctl_hello_decode(const uint8_t *p, size_t len, struct ws_ctl_hello *h)
{
	if (len < WS_CTL_HELLO_LEN)
		return false;
	h->version = p[0];
	h->mtu = ws_le16(p + 1);
	h->max_packet_size = ws_le16(p + 3);
	h->caps = ws_le32(p + 5);
	return true;
}

size_t ws_ctl_ping_encode(uint8_t *out, const struct ws_ctl_ping *ping)
{
	ws_put_le32(out, ping->id);
	ws_put_le64(out + 4, ping->timestamp);
	return WS_CTL_PING_LEN;
}

bool ws_ctl_ping_decode(const uint8_t *p, size_t len, struct ws_ctl_ping *ping)
{
	if (len < WS_CTL_PING_LEN)
		return false;
	ping->id = ws_le32(p);
	ping->timestamp = ws_le64(p + 4);
	return true;
}

size_t ws_ctl_goodbye_encode(uint8_t *out, uint8_t reason, const char *text)
{
	size_t n = text ? strnlen(text, WS_CTL_GOODBYE_TEXT_MAX) : 0;

	out[0] = reason;
	memcpy(out + 1, text, n);
	return 1 + n;
}

bool ws_ctl_goodbye_decode(const uint8_t *p, size_t len, struct ws_ctl_goodbye *g)
{
	size_t n;

	if (len < WS_CTL_GOODBYE_MIN)
		return false;
	g->reason = p[0];
	n = len - 1 < WS_CTL_GOODBYE_TEXT_MAX ? len - 1 : WS_CTL_GOODBYE_TEXT_MAX;
	for (size_t i = 0; i < n; i++)
		g->text[i] = (p[1 + i] < 0x20 || p[1 + i] == 0x7f) ? '?' : (char)p[1 + i];
	g->text[n] = '\0';
	return true;
}
