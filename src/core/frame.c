/* SPDX-License-Identifier: MIT */
/*
 * Frame codec (spec 10, DECISIONS 14). The reader walks a cursor
 * (buffer, position, length) and checks every length against what is left
 * before it touches a byte, so no pointer is ever formed past the end.
 */
#include "core/frame.h"

#include <errno.h>
#include <string.h>

#include "core/messages.h"

enum ws_wire_type {
	WT_VARINT = 0,
	WT_I64 = 1,
	WT_LEN = 2,
	WT_I32 = 5,
};

enum ws_frame_field {
	FIELD_EVENT = 1,
	FIELD_SEQ = 2,
	FIELD_ACK_SEQ = 3,
	FIELD_ACK_BITMAP = 4,
	FIELD_WINDOW = 5,
};

struct cursor {
	const uint8_t *buf;
	size_t pos, len;
};

/* One decoded field: its number, wire type and value (or LEN span). */
struct field {
	uint64_t num;
	unsigned wt;
	uint64_t value;      /* varint, I64 or I32 value */
	const uint8_t *data; /* LEN payload */
	size_t data_len;
};

static size_t left(const struct cursor *c)
{
	return c->len - c->pos;
}

/*
 * Protobuf varint: at most 10 bytes, and the 10th may only carry bit 63
 * (0x00 or 0x01); anything else is longer than 10 bytes or above 2^64-1.
 */
static int read_varint(struct cursor *c, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < WS_FRAME_VARINT_MAX; i++) {
		uint8_t b;

		if (c->pos == c->len)
			return -EINVAL;
		b = c->buf[c->pos++];
		if (i == WS_FRAME_VARINT_MAX - 1 && b > 1)
			return -EINVAL;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EINVAL; /* not reached: the 10th byte ends or fails above */
}

static int read_fixed(struct cursor *c, size_t n, uint64_t *v)
{
	if (left(c) < n)
		return -EINVAL;
	*v = n == 8 ? ws_le64(c->buf + c->pos) : ws_le32(c->buf + c->pos);
	c->pos += n;
	return 0;
}

static int read_len(struct cursor *c, struct field *f)
{
	uint64_t n;

	if (read_varint(c, &n) < 0 || n > left(c))
		return -EINVAL;
	f->data = c->buf + c->pos;
	f->data_len = (size_t)n;
	c->pos += (size_t)n;
	return 0;
}

/* Read one tag and its value; rejects field 0 and wire types 3, 4, 6, 7. */
static int read_field(struct cursor *c, struct field *f)
{
	uint64_t tag;

	if (read_varint(c, &tag) < 0)
		return -EINVAL;
	f->num = tag >> 3;
	f->wt = (unsigned)(tag & 7);
	if (f->num == 0)
		return -EINVAL;
	switch (f->wt) {
	case WT_VARINT:
		return read_varint(c, &f->value);
	case WT_I64:
		return read_fixed(c, 8, &f->value);
	case WT_I32:
		return read_fixed(c, 4, &f->value);
	case WT_LEN:
		return read_len(c, f);
	default:
		return -EINVAL;
	}
}

static int take_u32(const struct field *f, uint32_t *dst)
{
	if (f->wt != WT_VARINT || f->value > UINT32_MAX)
		return -EINVAL;
	*dst = (uint32_t)f->value;
	return 0;
}

/* Apply one field to info; fields 1-5 must carry their own wire type. */
static int apply_field(const struct field *f, struct ws_frame_info *info)
{
	switch (f->num) {
	case FIELD_EVENT:
		if (f->wt != WT_LEN || f->data_len == 0)
			return -EINVAL;
		info->n_events++;
		return 0;
	case FIELD_SEQ:
		return take_u32(f, &info->seq);
	case FIELD_ACK_SEQ:
		return take_u32(f, &info->ack_seq);
	case FIELD_ACK_BITMAP:
		if (f->wt != WT_I64)
			return -EINVAL;
		info->ack_bitmap = f->value;
		return 0;
	case FIELD_WINDOW:
		return take_u32(f, &info->window_size);
	default:
		return 0; /* unknown field, valid wire type: skipped */
	}
}

int ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame_info *out)
{
	struct ws_frame_info info = { .buf = buf, .len = len };
	struct cursor c = { .buf = buf, .pos = WS_FRAME_CHANNEL_LEN, .len = len };

	if (len < WS_FRAME_CHANNEL_LEN)
		return -EINVAL;
	info.channel = buf[0];
	while (left(&c) > 0) {
		struct field f;

		if (read_field(&c, &f) < 0 || apply_field(&f, &info) < 0)
			return -EINVAL;
	}
	*out = info;
	return 0;
}

void ws_frame_iter_init(struct ws_frame_iter *it, const struct ws_frame_info *info)
{
	it->buf = info->buf;
	it->len = info->len;
	it->pos = info->len < WS_FRAME_CHANNEL_LEN ? info->len : WS_FRAME_CHANNEL_LEN;
}

bool ws_frame_iter_next(struct ws_frame_iter *it, struct ws_event *ev)
{
	struct cursor c = { .buf = it->buf, .pos = it->pos, .len = it->len };

	while (left(&c) > 0) {
		struct field f;

		/* The frame was validated; an error here only stops the walk. */
		if (read_field(&c, &f) < 0)
			break;
		if (f.num != FIELD_EVENT || f.wt != WT_LEN || f.data_len == 0)
			continue;
		it->pos = c.pos;
		ev->type = f.data[0];
		ev->len = f.data_len - 1;
		ev->payload = ev->len ? f.data + 1 : NULL;
		return true;
	}
	it->pos = it->len;
	return false;
}

/* --- encoder --------------------------------------------------------------------- */

size_t ws_frame_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *dst, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		dst[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	dst[n++] = (uint8_t)v;
	return n;
}

/* Event body length (type byte + payload) as a varint value, saturating. */
static uint64_t body_len(size_t payload_len)
{
	uint64_t p = payload_len;

	return p == UINT64_MAX ? UINT64_MAX : p + 1;
}

size_t ws_frame_event_header_len(size_t payload_len)
{
	return 1 + ws_frame_varint_len(body_len(payload_len)) + 1;
}

size_t ws_frame_event_size(size_t payload_len)
{
	size_t h = ws_frame_event_header_len(payload_len);

	return payload_len > SIZE_MAX - h ? SIZE_MAX : h + payload_len;
}

static size_t u32_field_size(uint32_t v)
{
	return v ? 1 + ws_frame_varint_len(v) : 0;
}

size_t ws_frame_trailer_size(uint32_t seq, uint32_t ack_seq, uint64_t ack_bitmap,
			     uint32_t window)
{
	return u32_field_size(seq) + u32_field_size(ack_seq) + (ack_bitmap ? 1 + 8 : 0) +
	       u32_field_size(window);
}

size_t ws_frame_write_event_header(uint8_t *dst, uint8_t type, size_t payload_len)
{
	size_t n = 0;

	dst[n++] = WS_FRAME_TAG_EVENT;
	n += put_varint(dst + n, body_len(payload_len));
	dst[n++] = type;
	return n;
}

size_t ws_frame_head_len(size_t payload_len)
{
	return WS_FRAME_CHANNEL_LEN + ws_frame_event_header_len(payload_len);
}

uint8_t *ws_frame_write_head(uint8_t *payload, uint8_t channel, uint8_t type, size_t payload_len)
{
	uint8_t *frame = payload - ws_frame_head_len(payload_len);

	frame[0] = channel;
	ws_frame_write_event_header(frame + WS_FRAME_CHANNEL_LEN, type, payload_len);
	return frame;
}

void ws_frame_writer_init(struct ws_frame_writer *w, uint8_t *buf, size_t cap,
			  uint8_t channel)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->n_events = 0;
	w->finished = false;
	if (cap >= WS_FRAME_CHANNEL_LEN)
		w->buf[w->len++] = channel;
}

static bool writer_open(const struct ws_frame_writer *w)
{
	return !w->finished && w->len >= WS_FRAME_CHANNEL_LEN;
}

bool ws_frame_writer_add(struct ws_frame_writer *w, uint8_t type, const void *payload,
			 size_t len)
{
	if (!writer_open(w) || ws_frame_event_size(len) > w->cap - w->len)
		return false;
	w->len += ws_frame_write_event_header(w->buf + w->len, type, len);
	if (len)
		memcpy(w->buf + w->len, payload, len);
	w->len += len;
	w->n_events++;
	return true;
}

bool ws_frame_writer_add_encoded(struct ws_frame_writer *w, const void *events, size_t len)
{
	if (!writer_open(w) || len > w->cap - w->len)
		return false;
	if (len)
		memcpy(w->buf + w->len, events, len);
	w->len += len;
	return true;
}

static size_t put_u32_field(uint8_t *dst, uint8_t tag, uint32_t v)
{
	if (!v)
		return 0;
	dst[0] = tag;
	return 1 + put_varint(dst + 1, v);
}

bool ws_frame_writer_finish(struct ws_frame_writer *w, uint32_t seq, uint32_t ack_seq,
			    uint64_t ack_bitmap, uint32_t window)
{
	uint8_t *p;

	if (!writer_open(w) ||
	    ws_frame_trailer_size(seq, ack_seq, ack_bitmap, window) > w->cap - w->len)
		return false;
	p = w->buf + w->len;
	p += put_u32_field(p, WS_FRAME_TAG_SEQ, seq);
	p += put_u32_field(p, WS_FRAME_TAG_ACK_SEQ, ack_seq);
	if (ack_bitmap) {
		*p++ = WS_FRAME_TAG_ACK_BITMAP;
		ws_put_le64(p, ack_bitmap);
		p += 8;
	}
	p += put_u32_field(p, WS_FRAME_TAG_WINDOW, window);
	w->len = (size_t)(p - w->buf);
	w->finished = true;
	return true;
}

size_t ws_frame_writer_len(const struct ws_frame_writer *w)
{
	return w->len;
}

size_t ws_frame_writer_events(const struct ws_frame_writer *w)
{
	return w->n_events;
}
