/* SPDX-License-Identifier: MIT */
/*
 * Frame codec fuzzer. For every input:
 *  - ws_frame_parse must agree (accept/reject and every field) with a naive
 *    reference decoder written here independently from DECISIONS 14;
 *  - an accepted frame's events are walked and read completely (ASan checks
 *    they lie inside the input), and their number matches n_events;
 *  - the frame is re-encoded canonically (never longer than the input),
 *    parsed again and compared field by field and event by event, and a
 *    second re-encoding is byte-identical (canonical form is a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"

struct ref {
	uint32_t seq, ack_seq, window;
	uint64_t bitmap;
	size_t n_events;
};

/* Reference varint: <= 10 bytes, 10th byte 0 or 1. Returns bytes used or 0. */
static size_t ref_varint(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n && i < 10; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (i == 9 && p[i] > 1)
			return 0;
		if (p[i] < 0x80) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static int ref_decode(const uint8_t *p, size_t n, struct ref *r)
{
	size_t i = 1, k;
	uint64_t tag, v;

	memset(r, 0, sizeof(*r));
	if (n == 0)
		return -1;
	while (i < n) {
		uint64_t num, wt;

		if (!(k = ref_varint(p + i, n - i, &tag)))
			return -1;
		i += k;
		num = tag >> 3;
		wt = tag & 7;
		if (num == 0 || (num == 1 && wt != 2) || (num == 4 && wt != 1) ||
		    ((num == 2 || num == 3 || num == 5) && wt != 0))
			return -1;
		if (wt == 0) {
			if (!(k = ref_varint(p + i, n - i, &v)))
				return -1;
			i += k;
			if (num >= 2 && num <= 5 && v > UINT32_MAX)
				return -1;
			if (num == 2)
				r->seq = (uint32_t)v;
			else if (num == 3)
				r->ack_seq = (uint32_t)v;
			else if (num == 5)
				r->window = (uint32_t)v;
		} else if (wt == 1 || wt == 5) {
			size_t w = wt == 1 ? 8 : 4;

			if (n - i < w)
				return -1;
			if (num == 4) {
				v = 0;
				for (size_t b = 0; b < 8; b++)
					v |= (uint64_t)p[i + b] << (8 * b);
				r->bitmap = v;
			}
			i += w;
		} else if (wt == 2) {
			if (!(k = ref_varint(p + i, n - i, &v)))
				return -1;
			i += k;
			if (v > n - i || (num == 1 && v == 0))
				return -1;
			r->n_events += num == 1;
			i += (size_t)v;
		} else {
			return -1;
		}
	}
	return 0;
}

static size_t reencode(const struct ws_frame_info *fi, uint8_t *out, size_t cap)
{
	struct ws_frame_writer w;
	struct ws_frame_iter it;
	struct ws_event ev;

	ws_frame_writer_init(&w, out, cap, fi->channel);
	ws_frame_iter_init(&it, fi);
	while (ws_frame_iter_next(&it, &ev))
		if (!ws_frame_writer_add(&w, ev.type, ev.payload, ev.len))
			abort();
	if (!ws_frame_writer_finish(&w, fi->seq, fi->ack_seq, fi->ack_bitmap, fi->window_size))
		abort();
	if (ws_frame_writer_events(&w) != fi->n_events)
		abort();
	return ws_frame_writer_len(&w);
}

static void same_frame(const struct ws_frame_info *a, const struct ws_frame_info *b)
{
	struct ws_frame_iter ia, ib;
	struct ws_event ea, eb;
	bool more;

	if (a->channel != b->channel || a->seq != b->seq || a->ack_seq != b->ack_seq ||
	    a->ack_bitmap != b->ack_bitmap || a->window_size != b->window_size ||
	    a->n_events != b->n_events)
		abort();
	ws_frame_iter_init(&ia, a);
	ws_frame_iter_init(&ib, b);
	do {
		more = ws_frame_iter_next(&ia, &ea);
		if (more != ws_frame_iter_next(&ib, &eb))
			abort();
		if (more && (ea.type != eb.type || ea.len != eb.len ||
			     (ea.len && memcmp(ea.payload, eb.payload, ea.len))))
			abort();
	} while (more);
}

/* Walk every event, reading each payload byte; returns the count. */
static size_t touch_events(const struct ws_frame_info *fi)
{
	struct ws_frame_iter it;
	struct ws_event ev;
	size_t n = 0;
	volatile uint8_t sink = 0;

	ws_frame_iter_init(&it, fi);
	while (ws_frame_iter_next(&it, &ev)) {
		if (!ev.len != !ev.payload)
			abort();
		for (size_t i = 0; i < ev.len; i++)
			sink ^= ev.payload[i];
		n++;
	}
	(void)sink;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_frame_info fi, fi2, fi3;
	struct ref r;
	uint8_t *out, *out2;
	size_t n, n2;
	int rc = ws_frame_parse(data, size, &fi), ref = ref_decode(data, size, &r);

	if ((rc == 0) != (ref == 0))
		abort();
	if (rc != 0)
		return 0;
	if (fi.seq != r.seq || fi.ack_seq != r.ack_seq || fi.window_size != r.window ||
	    fi.ack_bitmap != r.bitmap || fi.n_events != r.n_events || fi.channel != data[0] ||
	    fi.buf != data || fi.len != size)
		abort();
	if (touch_events(&fi) != fi.n_events)
		abort();

	out = malloc(size + WS_FRAME_MAX_TRAILER);
	out2 = malloc(size + WS_FRAME_MAX_TRAILER);
	if (!out || !out2)
		abort();
	n = reencode(&fi, out, size + WS_FRAME_MAX_TRAILER);
	if (n > size || ws_frame_parse(out, n, &fi2) != 0)
		abort();
	same_frame(&fi, &fi2);
	n2 = reencode(&fi2, out2, n);
	if (n2 != n || memcmp(out, out2, n) || ws_frame_parse(out2, n2, &fi3) != 0)
		abort();
	same_frame(&fi2, &fi3);
	free(out);
	free(out2);
	return 0;
}
