/* SPDX-License-Identifier: MIT */
/*
 * Frame codec (spec section 10, DECISIONS 14, 24, 26). A frame is the
 * plaintext of a Data packet or of a reassembled DataFragment set:
 *
 *   channel byte
 *   events        0x0A varint(1 + len) type payload      (field 1, LEN)
 *   Seq           0x10 varint                             (field 2, uint32)
 *   AckSeq        0x18 varint                             (field 3, uint32)
 *   AckBitmap     0x21 8 bytes little-endian              (field 4, I64)
 *   WindowSize    0x28 varint                             (field 5, uint32)
 *
 * The encoder writes only that canonical form (reliability fields left out
 * when zero, minimal varints). The decoder accepts any valid protobuf
 * encoding of these fields: any order, events interleaved with other fields,
 * repeated scalars (last value wins), non-minimal varints of at most 10
 * bytes, unknown fields of wire type 0, 1, 2 or 5 skipped.
 *
 * Everything here is pure and allocation-free: the parser validates in place
 * and the iterator hands out pointers into the caller's buffer.
 */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_frame_sizes {
	WS_FRAME_CHANNEL_LEN = 1,     /* the raw channel byte that starts a frame */
	WS_FRAME_VARINT_MAX = 10,     /* longest varint protobuf allows (64 bits) */
	/*
	 * Bytes in front of an event's payload: tag 0x0A, varint(1 + len), type.
	 * WS_FRAME_MAX_EVENT_HEADER holds for any payload length;
	 * WS_FRAME_IP_EVENT_HEADER for payloads of at most 65535 bytes (any IP
	 * packet): 1 + 3 + 1. Headroom for a single-event frame built in place
	 * in front of a TUN packet: WS_FRAME_CHANNEL_LEN + WS_FRAME_IP_EVENT_HEADER.
	 */
	WS_FRAME_MAX_EVENT_HEADER = 1 + WS_FRAME_VARINT_MAX + 1,
	WS_FRAME_IP_EVENT_HEADER = 1 + 3 + 1,
	WS_FRAME_IP_MAX_PAYLOAD = 65535,
	/* Longest trailer: Seq, AckSeq, WindowSize of 5 varint bytes, AckBitmap. */
	WS_FRAME_MAX_TRAILER = (1 + 5) + (1 + 5) + (1 + 8) + (1 + 5),
};

/* Protobuf tags of the frame's fields (field number << 3 | wire type). */
enum ws_frame_tags {
	WS_FRAME_TAG_EVENT = 0x0A,       /* field 1, LEN */
	WS_FRAME_TAG_SEQ = 0x10,         /* field 2, varint */
	WS_FRAME_TAG_ACK_SEQ = 0x18,     /* field 3, varint */
	WS_FRAME_TAG_ACK_BITMAP = 0x21,  /* field 4, I64 */
	WS_FRAME_TAG_WINDOW = 0x28,      /* field 5, varint */
};

/* A validated frame: scalar fields decoded, events still in the buffer. */
struct ws_frame_info {
	const uint8_t *buf;   /* the whole frame (channel byte included) */
	size_t len;
	uint8_t channel;
	uint32_t seq;         /* 0: unreliable */
	uint32_t ack_seq;     /* 0: no ACK information */
	uint64_t ack_bitmap;
	uint32_t window_size; /* 0: absent (keep the previous peer window) */
	size_t n_events;
};

/* One event; payload points into the frame's buffer (NULL when len is 0). */
struct ws_event {
	uint8_t type;
	const uint8_t *payload;
	size_t len;
};

struct ws_frame_iter {
	const uint8_t *buf;
	size_t pos, len;
};

/*
 * Validate the whole frame buf[0, len) and decode its scalar fields.
 * Returns 0, or -EINVAL for: an empty buffer, an event of length 0,
 * truncation anywhere, Seq/AckSeq/WindowSize >= 2^32, a varint longer than
 * 10 bytes or above 2^64-1, field number 0, fields 1-5 with the wrong wire
 * type, wire types 3, 4, 6, 7. `out` is written only on success, so nothing
 * is ever taken from an invalid frame. Never reads outside buf[0, len).
 * The buffer must stay unchanged while `out` or an iterator over it is used.
 */
int ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame_info *out);

/* Start iterating the events of a frame ws_frame_parse() accepted. */
void ws_frame_iter_init(struct ws_frame_iter *it, const struct ws_frame_info *info);

/* Next event in wire order into *ev; false when there are no more. */
bool ws_frame_iter_next(struct ws_frame_iter *it, struct ws_event *ev);

/* --- encoder (canonical form only) ------------------------------------------- */

/* Bytes of a minimal varint holding v (1..10). */
size_t ws_frame_varint_len(uint64_t v);

/* Bytes in front of an event's payload: 1 + varint_len(1 + payload_len) + 1. */
size_t ws_frame_event_header_len(size_t payload_len);

/* Bytes one event costs in a frame (header + payload); SIZE_MAX on overflow. */
size_t ws_frame_event_size(size_t payload_len);

/* Bytes of the reliability trailer; each zero field costs nothing. */
size_t ws_frame_trailer_size(uint32_t seq, uint32_t ack_seq, uint64_t ack_bitmap,
			     uint32_t window);

/*
 * Write tag, varint(1 + payload_len) and the type byte at dst, so that the
 * payload written (or already sitting) right after them completes the event.
 * dst must hold ws_frame_event_header_len(payload_len) bytes, which is also
 * the return value. For framing a TUN packet in place: put the header at
 * payload - ws_frame_event_header_len(len) and the channel byte before it.
 */
size_t ws_frame_write_event_header(uint8_t *dst, uint8_t type, size_t payload_len);

/* Bytes of a one-event frame's head: the channel byte and the event header. */
size_t ws_frame_head_len(size_t payload_len);

/*
 * Frame a payload in place (zero copy): write the channel byte and the event
 * header into the ws_frame_head_len(payload_len) bytes in front of payload,
 * which the caller owns. Returns the frame's start; the frame so far is
 * ws_frame_head_len(payload_len) + payload_len bytes (more events may be
 * appended with ws_frame_write_event_header; no trailer).
 */
uint8_t *ws_frame_write_head(uint8_t *payload, uint8_t channel, uint8_t type, size_t payload_len);

/*
 * Builds one frame in buf[0, cap): the channel byte, then events (coalescing),
 * then the trailer. The fields are not part of the API (do not set them);
 * read the result with ws_frame_writer_len() after ws_frame_writer_finish().
 */
struct ws_frame_writer {
	uint8_t *buf;
	size_t cap, len, n_events;
	bool finished;
};

/* Start a frame on `channel`. With cap 0 nothing fits: every add/finish fails. */
void ws_frame_writer_init(struct ws_frame_writer *w, uint8_t *buf, size_t cap,
			  uint8_t channel);

/*
 * Append one event (payload may be NULL when len is 0). Returns false, and
 * leaves the writer unchanged, when it would not fit in cap or the frame is
 * already finished. Fit check beforehand: ws_frame_event_size(len) <=
 * cap - ws_frame_writer_len(w) (keep room for the trailer yourself).
 */
bool ws_frame_writer_add(struct ws_frame_writer *w, uint8_t type, const void *payload,
			 size_t len);

/*
 * Append bytes that already are canonical events (for instance what an
 * earlier writer produced after its channel byte), e.g. a queued reliable
 * payload getting fresh ACK fields. The bytes are copied as they are and not
 * counted in ws_frame_writer_events(). Returns false, writer unchanged, when
 * they do not fit or the frame is already finished.
 */
bool ws_frame_writer_add_encoded(struct ws_frame_writer *w, const void *events, size_t len);

/*
 * Append the reliability trailer (zero fields left out) and close the frame.
 * Returns false, writer unchanged and still open, when the trailer does not
 * fit; false also when the frame is already finished.
 */
bool ws_frame_writer_finish(struct ws_frame_writer *w, uint32_t seq, uint32_t ack_seq,
			    uint64_t ack_bitmap, uint32_t window);

/* Bytes written so far (the frame's length once finished). */
size_t ws_frame_writer_len(const struct ws_frame_writer *w);

/* Events added so far. */
size_t ws_frame_writer_events(const struct ws_frame_writer *w);

#endif
