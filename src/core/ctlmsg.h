/* SPDX-License-Identifier: MIT */
/*
 * Messages of the control channel (channel 0, reliable; docs/control-channel.md).
 * Each message is one event; the event type says which. Payloads are
 * little-endian fixed layouts; a receiver ignores bytes past the layout it
 * knows (later versions may append fields) and ignores unknown types.
 */
#ifndef WS_CTLMSG_H
#define WS_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_ctl_type {
	WS_CTL_HELLO = 1,
	WS_CTL_PING = 2,
	WS_CTL_PONG = 3,
	WS_CTL_GOODBYE = 4,
};

enum ws_ctl_sizes {
	WS_CTL_VERSION = 1,
	WS_CTL_HELLO_LEN = 9,       /* version u8, mtu u16, max_packet_size u16, caps u32 */
	WS_CTL_PING_LEN = 12,       /* id u32, timestamp u64 (opaque to the receiver) */
	WS_CTL_GOODBYE_MIN = 1,     /* reason u8, then up to 200 bytes of text */
	WS_CTL_GOODBYE_TEXT_MAX = 200,
	WS_CTL_MAX_PAYLOAD = 256,
};

enum ws_ctl_caps {
	WS_CTL_CAP_COALESCE = 1u << 0,  /* sends several IP packets per frame */
};

enum ws_ctl_goodbye_reason {
	WS_CTL_BYE_SHUTDOWN = 0,
	WS_CTL_BYE_PEER_REMOVED = 1,
};

struct ws_ctl_hello {
	uint8_t version;
	uint16_t mtu, max_packet_size;
	uint32_t caps;
};

struct ws_ctl_ping {
	uint32_t id;
	uint64_t timestamp;
};

struct ws_ctl_goodbye {
	uint8_t reason;
	char text[WS_CTL_GOODBYE_TEXT_MAX + 1];  /* NUL-terminated, control characters replaced */
};

/* Encoders return the payload length written to out (room: WS_CTL_MAX_PAYLOAD). */
size_t ws_ctl_hello_encode(uint8_t *out, const struct ws_ctl_hello *h);
size_t ws_ctl_ping_encode(uint8_t *out, const struct ws_ctl_ping *p);
size_t ws_ctl_goodbye_encode(uint8_t *out, uint8_t reason, const char *text);

/* Decoders return false when the payload is shorter than the known layout. */
bool ws_ctl_hello_decode(const uint8_t *p, size_t len, struct ws_ctl_hello *h);
bool ws_ctl_ping_decode(const uint8_t *p, size_t len, struct ws_ctl_ping *ping);
bool ws_ctl_goodbye_decode(const uint8_t *p, size_t len, struct ws_ctl_goodbye *g);

#endif
