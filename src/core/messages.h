/* SPDX-License-Identifier: MIT */
/*
 * Wiresocket v1 wire formats and protocol constants (spec sections 3, 4, 12;
 * DECISIONS A and B). Every struct here is made of byte arrays only, so its
 * size is exact and it may overlay any buffer; multi-byte fields are
 * little-endian and read with ws_le32()/ws_le64().
 */
#ifndef WS_MESSAGES_H
#define WS_MESSAGES_H

#include <stdint.h>
#include <string.h>

enum ws_msg_type {
	WS_MSG_HANDSHAKE_INIT = 1,
	WS_MSG_HANDSHAKE_RESP = 2,
	WS_MSG_COOKIE_REPLY = 3,
	WS_MSG_DATA = 4,
	WS_MSG_DISCONNECT = 5,
	WS_MSG_KEEPALIVE = 6,
	WS_MSG_DATA_FRAGMENT = 7,
};

enum ws_crypto_sizes {
	WS_KEY_LEN = 32,
	WS_HASH_LEN = 32,
	WS_MAC_LEN = 16,          /* MAC1, MAC2: first 16 bytes of a 32-byte MAC */
	WS_COOKIE_LEN = 16,
	WS_AEAD_TAG_LEN = 16,
	WS_XNONCE_LEN = 24,
	WS_TIMESTAMP_LEN = 12,    /* TAI64N */
};

enum ws_msg_sizes {
	WS_SIZE_HANDSHAKE_INIT = 148,
	WS_SIZE_HANDSHAKE_RESP = 92,
	WS_SIZE_COOKIE_REPLY = 64,
	WS_SIZE_DATA_HEADER = 16,
	WS_SIZE_FRAGMENT_HEADER = 8,
	WS_SIZE_KEEPALIVE = 32,
	WS_SIZE_DISCONNECT = 32,
	WS_SIZE_DATA_MIN = 33,       /* header + channel byte + tag */
	WS_SIZE_FRAGMENT_MIN = 40,   /* header + fragment header + tag */
	/* Bytes a DataFragment adds around its payload: header, sub-header, tag. */
	WS_TRANSPORT_OVERHEAD = WS_SIZE_DATA_HEADER + WS_SIZE_FRAGMENT_HEADER + WS_AEAD_TAG_LEN,
	WS_DEFAULT_MAX_PACKET_SIZE = 1232,
	WS_DEFAULT_MAX_FRAG_PAYLOAD = WS_DEFAULT_MAX_PACKET_SIZE - WS_TRANSPORT_OVERHEAD,
	WS_MAX_FRAGMENTS = 65535,
	WS_MAX_PACKET_SIZE = 65507,  /* largest UDP payload over IPv4 */
	WS_MIN_MTU = 1280,
};

/* Offsets of the MAC fields: MAC1 and MAC2 both cover [0, mac1_offset). */
enum ws_msg_offsets {
	WS_INIT_MAC1_OFF = 116,
	WS_INIT_MAC2_OFF = 132,
	WS_RESP_MAC1_OFF = 60,
	WS_RESP_MAC2_OFF = 76,
};

enum ws_limits {
	WS_REPLAY_WINDOW_WORDS = 64,
	WS_REPLAY_WINDOW = WS_REPLAY_WINDOW_WORDS * 64,  /* 4096 */
	WS_MAX_INCOMPLETE_FRAMES = 64,
	WS_MAX_FRAME_REASSEMBLY = 256 * 1024,
	WS_MAX_REASSEMBLY_PER_SESSION = 1024 * 1024,
	WS_MAX_REASSEMBLY_PER_DAEMON = 64 * 1024 * 1024,
	WS_RELIABLE_WINDOW = 256,
	WS_RELIABLE_OOO_WINDOW = 64,
	WS_RELIABLE_MAX_RETRIES = 10,
	WS_MAX_SESSIONS_PER_PEER = 3,   /* previous, current, next */
};

/* Channels and event types the VPN uses (DECISIONS 26, 27, 33). */
enum ws_channels {
	WS_CHANNEL_CONTROL = 0,
	WS_CHANNEL_DATA = 1,
	WS_EVENT_IP_PACKET = 1,
	WS_EVENT_CHANNEL_CLOSE = 255,
};

/* Times in nanoseconds (spec 7.3, 9.2, 11, 12; DECISIONS 20-34). */
#define WS_NSEC_PER_SEC 1000000000ULL
#define WS_NSEC_PER_MSEC 1000000ULL
#define WS_KEEPALIVE_INTERVAL_NS (10 * WS_NSEC_PER_SEC)
#define WS_SESSION_TIMEOUT_NS (180 * WS_NSEC_PER_SEC)
#define WS_REKEY_AFTER_TIME_NS (180 * WS_NSEC_PER_SEC)
#define WS_REJECT_AFTER_TIME_NS ((180 + 60) * WS_NSEC_PER_SEC)
#define WS_REKEY_TIMEOUT_NS (5 * WS_NSEC_PER_SEC)
#define WS_REKEY_JITTER_NS (333 * WS_NSEC_PER_MSEC)
#define WS_DEAD_SESSION_NS (WS_KEEPALIVE_INTERVAL_NS + 5 * WS_NSEC_PER_SEC)
#define WS_CONNECTED_WINDOW_NS (2 * WS_KEEPALIVE_INTERVAL_NS + 5 * WS_NSEC_PER_SEC)
#define WS_MAX_TIMESTAMP_SKEW_NS (180 * WS_NSEC_PER_SEC)
#define WS_COOKIE_SECRET_LIFETIME_NS (120 * WS_NSEC_PER_SEC)
#define WS_COOKIE_LIFETIME_NS (120 * WS_NSEC_PER_SEC)
#define WS_FRAGMENT_TIMEOUT_NS (20 * WS_NSEC_PER_SEC)
#define WS_RELIABLE_BASE_RTO_NS (200 * WS_NSEC_PER_MSEC)
#define WS_RELIABLE_MAX_RTO_NS (30 * WS_NSEC_PER_SEC)
#define WS_RELIABLE_ACK_DELAY_NS (20 * WS_NSEC_PER_MSEC)
#define WS_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WS_REJECT_AFTER_MESSAGES (UINT64_MAX - 1) /* last usable counter */

struct ws_msg_init {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_index[4];
	uint8_t ephemeral[WS_KEY_LEN];
	uint8_t encrypted_static[WS_KEY_LEN + WS_AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[WS_TIMESTAMP_LEN + WS_AEAD_TAG_LEN];
	uint8_t mac1[WS_MAC_LEN];
	uint8_t mac2[WS_MAC_LEN];
};

struct ws_msg_resp {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t ephemeral[WS_KEY_LEN];
	uint8_t encrypted_nil[WS_AEAD_TAG_LEN];
	uint8_t mac1[WS_MAC_LEN];
	uint8_t mac2[WS_MAC_LEN];
};

struct ws_msg_cookie {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t receiver_index[4];
	uint8_t nonce[WS_XNONCE_LEN];
	uint8_t encrypted_cookie[WS_COOKIE_LEN + WS_AEAD_TAG_LEN];
};

/* Header shared by Data, Disconnect, Keepalive and DataFragment. */
struct ws_msg_transport {
	uint8_t type;
	uint8_t reserved[3];
	uint8_t receiver_index[4];
	uint8_t counter[8];
};

/* Plaintext sub-header of a DataFragment. */
struct ws_fragment_header {
	uint8_t frame_id[4];
	uint8_t frag_index[2];
	uint8_t frag_count[2];
};

_Static_assert(sizeof(struct ws_msg_init) == WS_SIZE_HANDSHAKE_INIT, "init size");
_Static_assert(sizeof(struct ws_msg_resp) == WS_SIZE_HANDSHAKE_RESP, "resp size");
_Static_assert(sizeof(struct ws_msg_cookie) == WS_SIZE_COOKIE_REPLY, "cookie size");
_Static_assert(sizeof(struct ws_msg_transport) == WS_SIZE_DATA_HEADER, "header size");
_Static_assert(sizeof(struct ws_fragment_header) == WS_SIZE_FRAGMENT_HEADER, "frag size");
_Static_assert(__builtin_offsetof(struct ws_msg_init, mac1) == WS_INIT_MAC1_OFF, "init mac1");
_Static_assert(__builtin_offsetof(struct ws_msg_resp, mac1) == WS_RESP_MAC1_OFF, "resp mac1");

static inline uint16_t ws_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ws_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t ws_le64(const uint8_t *p)
{
	return (uint64_t)ws_le32(p) | ((uint64_t)ws_le32(p + 4) << 32);
}

static inline void ws_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ws_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void ws_put_le64(uint8_t *p, uint64_t v)
{
	ws_put_le32(p, (uint32_t)v);
	ws_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* The three reserved bytes after the type must be zero (DECISIONS 11). */
static inline int ws_reserved_ok(const uint8_t *msg)
{
	return (msg[1] | msg[2] | msg[3]) == 0;
}

#endif
