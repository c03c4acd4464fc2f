/* SPDX-License-Identifier: MIT */
/*
 * Transport keys of one session (WireGuard's "keypair"): sealing and opening
 * of Data, Disconnect, Keepalive and DataFragment packets (spec 4.4-4.7, 7.2;
 * DECISIONS 11, 12, 15, 16).
 *
 * Packet layout: 16-byte header (type, 3 zero bytes, receiver_index LE,
 * counter LE), then ChaCha20-Poly1305 of the plaintext with nonce = counter
 * and empty AAD, then the 16-byte tag. Sealing and opening work in place.
 *
 * Threads: ws_session_next_counter() and ws_session_seal() may run on any
 * thread at once (seal only reads the session). ws_session_open_decrypt()
 * likewise. ws_session_open_commit() and ws_session_open() update the replay
 * window and must be serialised per session by the caller (the session's lock
 * or a single per-peer ordered stage); see replay.h.
 *
 * Whether a session is confirmed, current or expiring is the daemon's
 * business, not this struct's.
 */
#ifndef WS_SESSION_H
#define WS_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/messages.h"
#include "core/replay.h"

enum {
	/* Header + tag around a transport plaintext. */
	WS_TRANSPORT_HDR_TAG_LEN = WS_SIZE_DATA_HEADER + WS_AEAD_TAG_LEN,
};

struct ws_session {
	/* Secrets first and contiguous: ws_mlock(s->send_key, 2 * WS_KEY_LEN)
	 * or the whole struct. Wiped by ws_session_wipe(). */
	uint8_t send_key[WS_KEY_LEN];
	uint8_t recv_key[WS_KEY_LEN];
	uint32_t local_index;        /* ours: peers put it in receiver_index */
	uint32_t remote_index;       /* theirs: we put it in receiver_index */
	uint64_t birth_ns;           /* monotonic time the keys were derived */
	bool initiator;              /* we sent the HandshakeInit */
	/* Next counter to send; UINT64_MAX once exhausted. Senders only. */
	_Atomic uint64_t send_counter;
	/* Receive side. (No _Alignas here: sessions live inside malloc'd
	 * peers, and an over-aligned type there would be misaligned.) */
	struct ws_replay replay;
};

/* Fields of a transport header, filled by ws_transport_parse(). */
struct ws_transport_hdr {
	uint64_t counter;
	uint32_t receiver_index;
	uint8_t type;                /* WS_MSG_DATA .. WS_MSG_DATA_FRAGMENT */
};

/* Set up a session from the handshake's transport keys; counter 0, fresh window. */
void ws_session_init(struct ws_session *s, const uint8_t send[WS_KEY_LEN],
		     const uint8_t recv[WS_KEY_LEN], uint32_t local_index, uint32_t remote_index,
		     bool initiator, uint64_t now_ns);

/* Wipe keys and all state. No other thread may use s during or after. */
void ws_session_wipe(struct ws_session *s);

/*
 * Reserve the next send counter: 0, or -ESTALE when the session is exhausted
 * (the last usable counter is 2^64-2; the session must then be closed). Safe
 * from any number of threads: every counter is handed out once, never wraps.
 */
int ws_session_next_counter(struct ws_session *s, uint64_t *out);

/*
 * Seal in place. The caller has put plain_len bytes of plaintext at pkt + 16
 * and pkt has room for 16 + plain_len + 16 bytes; counter comes from
 * ws_session_next_counter(). Writes the header (type, zero reserved bytes,
 * remote_index, counter) and the ciphertext and tag; returns the packet
 * length 16 + plain_len + 16. Returns 0 and writes nothing when the arguments
 * break the contract: type not a transport type, plain_len 0 for Data, not 0
 * for Keepalive or Disconnect, below 8 for DataFragment, or counter >= 2^64-1.
 */
size_t ws_session_seal(const struct ws_session *s, uint8_t type, uint64_t counter, uint8_t *pkt,
		       size_t plain_len);

/*
 * Validate a received transport packet's header and size, before any key is
 * looked up: type 4-7, reserved bytes zero, Keepalive/Disconnect exactly 32,
 * Data >= 33, DataFragment >= 40, counter < 2^64-1. Fills out (for the
 * caller's lookup of the session by receiver_index). 0 or -EINVAL.
 */
int ws_transport_parse(const uint8_t *pkt, size_t len, struct ws_transport_hdr *out);

/*
 * First half of opening, for worker threads: checks that hdr belongs to pkt
 * and to s (receiver_index == local_index), the replay pre-check, then the
 * AEAD open in place. On 0, *plain = pkt + 16 and *plain_len = len - 32 (the
 * plaintext: a frame, a fragment, or empty). Returns -EINVAL (malformed or
 * not this session's), -EALREADY (replayed or too old), -EBADMSG (tag). The
 * session is never changed. After -EBADMSG the bytes after pkt's header are
 * unspecified (libsodium zeroes them); after -EINVAL and -EALREADY pkt is
 * untouched. The counter is not yet consumed: call ws_session_open_commit()
 * before using plain.
 */
int ws_session_open_decrypt(const struct ws_session *s, uint8_t *pkt, size_t len,
			    const struct ws_transport_hdr *hdr, uint8_t **plain, size_t *plain_len);

/*
 * Second half, in a per-session serialised stage: the authoritative replay
 * test-and-set for a counter whose packet decrypted. 0, or -EALREADY when the
 * counter was taken meanwhile (e.g. a duplicate decrypted on another worker);
 * the plaintext must then be dropped.
 */
int ws_session_open_commit(struct ws_session *s, uint64_t counter);

/*
 * Both halves: decrypt, then commit. Same results as the two; caller
 * serialises it per session. A forged or malformed packet burns no counter
 * and changes no session state. When the commit refuses (-EALREADY), pkt
 * already holds the plaintext, which must be dropped.
 */
int ws_session_open(struct ws_session *s, uint8_t *pkt, size_t len,
		    const struct ws_transport_hdr *hdr, uint8_t **plain, size_t *plain_len);

#endif
