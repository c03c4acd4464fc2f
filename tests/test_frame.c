/* SPDX-License-Identifier: MIT */
/*
 * Frame codec against the vectors' "frames", "transport" and
 * "fragmentation" sections, the encoder's size and fit rules, varint
 * boundaries, and randomized differential tests: canonical and deliberately
 * non-canonical encodings of random frames must decode to the same fields,
 * and every truncation or mutation is either valid or rejected without
 * reading past the end (the copies are malloc'd to their exact length, so
 * ASan catches any over-read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/messages.h"
#include "test.h"
#include "vectors.h"

enum {
	MAX_EV = 16,
	POOL = 1 << 16,
	FRAME_MAX = 1 << 16,
	RANDOM_FRAMES = 20000,
	TRUNC_FRAMES = 400,
	MUTATIONS = 20000,
	BIG_EVENT = 70000,
};

/* A frame as plain values: what the decoder must produce. */
struct model {
	uint8_t channel;
	uint32_t seq, ack_seq, window;
	uint64_t bitmap;
	size_t n;
	struct {
		uint8_t type;
		size_t len;
		const uint8_t *payload;
	} ev[MAX_EV];
};

/* --- helpers ------------------------------------------------------------------- */

static bool info_matches(const struct ws_frame_info *fi, const struct model *m)
{
	struct ws_frame_iter it;
	struct ws_event ev;
	size_t i = 0;

	if (fi->channel != m->channel || fi->seq != m->seq || fi->ack_seq != m->ack_seq ||
	    fi->ack_bitmap != m->bitmap || fi->window_size != m->window || fi->n_events != m->n)
		return false;
	ws_frame_iter_init(&it, fi);
	while (ws_frame_iter_next(&it, &ev)) {
		if (i >= m->n || ev.type != m->ev[i].type || ev.len != m->ev[i].len)
			return false;
		if (ev.len && (memcmp(ev.payload, m->ev[i].payload, ev.len) ||
			       ev.payload < fi->buf || ev.payload + ev.len > fi->buf + fi->len))
			return false;
		if (!ev.len && ev.payload)
			return false;
		i++;
	}
	return i == m->n && !ws_frame_iter_next(&it, &ev);
}

static bool decodes_to(const uint8_t *buf, size_t len, const struct model *m)
{
	struct ws_frame_info fi;

	return ws_frame_parse(buf, len, &fi) == 0 && fi.buf == buf && fi.len == len &&
	       info_matches(&fi, m);
}

/* Canonical encoding through the writer; 0 when it does not fit. */
static size_t encode(const struct model *m, uint8_t *buf, size_t cap)
{
	struct ws_frame_writer w;

	ws_frame_writer_init(&w, buf, cap, m->channel);
	for (size_t i = 0; i < m->n; i++)
		if (!ws_frame_writer_add(&w, m->ev[i].type, m->ev[i].payload, m->ev[i].len))
			return 0;
	if (!ws_frame_writer_finish(&w, m->seq, m->ack_seq, m->bitmap, m->window))
		return 0;
	return ws_frame_writer_len(&w);
}

static size_t predicted_len(const struct model *m)
{
	size_t n = WS_FRAME_CHANNEL_LEN + ws_frame_trailer_size(m->seq, m->ack_seq, m->bitmap,
								 m->window);

	for (size_t i = 0; i < m->n; i++)
		n += ws_frame_event_size(m->ev[i].len);
	return n;
}

/* Decode a vector "frame" object; payload bytes go to pool. */
static void model_from_json(json_t *f, struct model *m, uint8_t *pool, size_t pool_cap)
{
	json_t *evs = ws_vec_get(f, "events"), *e;
	size_t i, used = 0;

	memset(m, 0, sizeof(*m));
	m->channel = (uint8_t)ws_vec_u64(f, "channel");
	m->seq = (uint32_t)ws_vec_u64(f, "seq");
	m->ack_seq = (uint32_t)ws_vec_u64(f, "ack_seq");
	m->window = (uint32_t)ws_vec_u64(f, "window_size");
	m->bitmap = strtoull(ws_vec_str(f, "ack_bitmap"), NULL, 16);
	CU_ASSERT_TRUE_FATAL(json_is_array(evs) && json_array_size(evs) <= MAX_EV);
	json_array_foreach(evs, i, e) {
		long n = ws_vec_hex(e, "payload", pool + used, pool_cap - used);

		CU_ASSERT_TRUE_FATAL(n >= 0);
		m->ev[i].type = (uint8_t)ws_vec_u64(e, "type");
		m->ev[i].payload = pool + used;
		m->ev[i].len = (size_t)n;
		used += (size_t)n;
	}
	m->n = json_array_size(evs);
}

/* Parse a malloc'd exact copy so that ASan sees any read past len. */
static int parse_copy(const uint8_t *src, size_t len, struct ws_frame_info *fi, uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*copy);
	if (len)
		memcpy(*copy, src, len);
	return ws_frame_parse(len ? *copy : NULL, len, fi);
}

static bool parse_hex(const char *hex, struct ws_frame_info *fi)
{
	static uint8_t buf[256];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned b;

		sscanf(hex + 2 * i, "%2x", &b);
		buf[i] = (uint8_t)b;
	}
	return ws_frame_parse(buf, n, fi) == 0;
}

/* --- vectors ------------------------------------------------------------------- */

static void test_valid_vectors(void)
{
	json_t *arr = ws_vec_get(NULL, "frames.valid"), *v;
	static uint8_t pool[POOL], enc[FRAME_MAX], got[FRAME_MAX];
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		struct model m;
		long n = ws_vec_hex(v, "encoded", enc, sizeof(enc));

		model_from_json(ws_vec_get(v, "frame"), &m, pool, sizeof(pool));
		CU_ASSERT_TRUE(decodes_to(enc, (size_t)n, &m));
		CU_ASSERT_EQUAL(encode(&m, got, sizeof(got)), (size_t)n);
		CU_ASSERT_EQUAL(memcmp(got, enc, (size_t)n), 0);
		CU_ASSERT_EQUAL(predicted_len(&m), (size_t)n);
	}
}

static void test_invalid_vectors(void)
{
	json_t *arr = ws_vec_get(NULL, "frames.invalid"), *v;
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		uint8_t enc[256], *copy;
		struct ws_frame_info fi;
		long n = ws_vec_hex(v, "encoded", enc, sizeof(enc));

		CU_ASSERT_EQUAL(parse_copy(enc, (size_t)n, &fi, &copy), -EINVAL);
		free(copy);
	}
}

static void test_noncanonical_vectors(void)
{
	json_t *arr = ws_vec_get(NULL, "frames.noncanonical"), *v;
	static uint8_t pool[POOL], enc[FRAME_MAX], canon[FRAME_MAX];
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		struct model m;
		long n = ws_vec_hex(v, "encoded", enc, sizeof(enc));
		size_t cn;

		model_from_json(ws_vec_get(v, "proto_decoding"), &m, pool, sizeof(pool));
		CU_ASSERT_TRUE(decodes_to(enc, (size_t)n, &m));
		/* Its canonical re-encoding decodes the same and is different bytes. */
		cn = encode(&m, canon, sizeof(canon));
		CU_ASSERT_TRUE(cn > 0 && decodes_to(canon, cn, &m));
		CU_ASSERT_FALSE(cn == (size_t)n && !memcmp(canon, enc, cn));
	}
}

static void test_transport_plaintexts(void)
{
	json_t *arr = ws_vec_get(NULL, "transport.packets"), *v;
	static uint8_t pool[POOL], pt[FRAME_MAX], got[FRAME_MAX];
	size_t i, frames = 0;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		json_t *f = ws_vec_get(v, "frame");
		long n = ws_vec_hex(v, "plaintext", pt, sizeof(pt));
		struct ws_frame_info fi;
		struct model m;

		if (json_is_null(f)) {
			/* Keepalive / Disconnect: empty plaintext, not a frame. */
			CU_ASSERT_EQUAL(n, 0);
			CU_ASSERT_EQUAL(ws_frame_parse(pt, 0, &fi), -EINVAL);
			continue;
		}
		frames++;
		model_from_json(f, &m, pool, sizeof(pool));
		CU_ASSERT_TRUE(decodes_to(pt, (size_t)n, &m));
		CU_ASSERT_EQUAL(encode(&m, got, sizeof(got)), (size_t)n);
		CU_ASSERT_EQUAL(memcmp(got, pt, (size_t)n), 0);
	}
	CU_ASSERT_TRUE(frames > 0);
}

static void test_fragmentation_frame(void)
{
	static uint8_t payload[4096], want[4096], got[4096], pool[POOL];
	json_t *frag = ws_vec_get(NULL, "fragmentation");
	long n = ws_vec_hex(frag, "frame_bytes", want, sizeof(want));
	struct model m, vm;
	size_t plen;

	CU_ASSERT_EQUAL_FATAL(n, (long)ws_vec_u64(frag, "frame_len"));
	CU_ASSERT_EQUAL(n, 3000);
	model_from_json(ws_vec_get(frag, "frame"), &vm, pool, sizeof(pool));
	CU_ASSERT_EQUAL_FATAL(vm.n, 1);
	/* "event payload byte i = (7*i + 3) mod 256, i = 0..2994" */
	plen = 2995;
	for (size_t i = 0; i < plen; i++)
		payload[i] = (uint8_t)((7 * i + 3) % 256);
	CU_ASSERT_EQUAL(vm.ev[0].len, plen);
	CU_ASSERT_EQUAL(memcmp(vm.ev[0].payload, payload, plen), 0);
	m = vm;
	m.ev[0].payload = payload;
	CU_ASSERT_EQUAL(predicted_len(&m), 3000);
	CU_ASSERT_EQUAL(encode(&m, got, sizeof(got)), 3000);
	CU_ASSERT_EQUAL(memcmp(got, want, 3000), 0);
	CU_ASSERT_TRUE(decodes_to(want, 3000, &m));
}

/* --- encoder sizes and fit -------------------------------------------------------- */

static bool writer_eq(const struct ws_frame_writer *a, const struct ws_frame_writer *b)
{
	return a->buf == b->buf && a->cap == b->cap && a->len == b->len &&
	       a->n_events == b->n_events && a->finished == b->finished;
}

static void test_writer_fit(void)
{
	uint8_t buf[512], snap[512], pay[200];
	struct ws_frame_writer w, saved;
	size_t ev = ws_frame_event_size(sizeof(pay));
	size_t tr = ws_frame_trailer_size(300, 7, 1, 256);
	size_t full = 1 + ev + tr;

	memset(pay, 0x5a, sizeof(pay));
	CU_ASSERT_EQUAL(ev, 1 + 2 + 1 + sizeof(pay));
	CU_ASSERT_EQUAL(tr, 3 + 2 + 9 + 3);

	/* Exactly full. */
	ws_frame_writer_init(&w, buf, full, 9);
	CU_ASSERT_TRUE(ws_frame_writer_add(&w, 1, pay, sizeof(pay)));
	CU_ASSERT_TRUE(ws_frame_writer_finish(&w, 300, 7, 1, 256));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), full);
	CU_ASSERT_EQUAL(ws_frame_writer_events(&w), 1);
	/* Finished: nothing more goes in. */
	CU_ASSERT_FALSE(ws_frame_writer_add(&w, 1, NULL, 0));
	CU_ASSERT_FALSE(ws_frame_writer_finish(&w, 0, 0, 0, 0));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), full);

	/* One byte short for the trailer: finish fails, writer and buffer unchanged. */
	memset(buf, 0xee, sizeof(buf));
	ws_frame_writer_init(&w, buf, full - 1, 9);
	CU_ASSERT_TRUE(ws_frame_writer_add(&w, 1, pay, sizeof(pay)));
	saved = w;
	memcpy(snap, buf, sizeof(buf));
	CU_ASSERT_FALSE(ws_frame_writer_finish(&w, 300, 7, 1, 256));
	CU_ASSERT_TRUE(writer_eq(&saved, &w));
	CU_ASSERT_EQUAL(memcmp(snap, buf, sizeof(buf)), 0);
	/* A smaller trailer still fits, and the frame is still open. */
	CU_ASSERT_TRUE(ws_frame_writer_finish(&w, 300, 7, 0, 256));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), full - 9);

	/* One byte short for the event: add fails, unchanged. */
	memset(buf, 0xee, sizeof(buf));
	ws_frame_writer_init(&w, buf, ev, 9);
	saved = w;
	memcpy(snap, buf, sizeof(buf));
	CU_ASSERT_FALSE(ws_frame_writer_add(&w, 1, pay, sizeof(pay)));
	CU_ASSERT_TRUE(writer_eq(&saved, &w));
	CU_ASSERT_EQUAL(memcmp(snap, buf, sizeof(buf)), 0);
	CU_ASSERT_TRUE(ws_frame_writer_add(&w, 1, pay, sizeof(pay) - 1));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), ev);

	/* Channel byte only: a valid frame of length 1. */
	ws_frame_writer_init(&w, buf, 1, 6);
	CU_ASSERT_FALSE(ws_frame_writer_add(&w, 1, NULL, 0));
	CU_ASSERT_FALSE(ws_frame_writer_finish(&w, 1, 0, 0, 0));
	CU_ASSERT_TRUE(ws_frame_writer_finish(&w, 0, 0, 0, 0));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), 1);
	CU_ASSERT_EQUAL(buf[0], 6);

	/* No room at all. */
	ws_frame_writer_init(&w, NULL, 0, 6);
	CU_ASSERT_FALSE(ws_frame_writer_add(&w, 1, NULL, 0));
	CU_ASSERT_FALSE(ws_frame_writer_finish(&w, 0, 0, 0, 0));
	CU_ASSERT_EQUAL(ws_frame_writer_len(&w), 0);

	/* Pre-encoded events: copied as they are, then a trailer. */
	{
		static const uint8_t evs[] = { 0x0a, 0x02, 0x01, 0x78, 0x0a, 0x01, 0x02, 0xff };
		static const uint8_t want[] = { 0x09, 0x0a, 0x02, 0x01, 0x78, 0x0a, 0x01, 0x02,
						0x10, 0x05 };

		ws_frame_writer_init(&w, buf, sizeof(want), 9);
		CU_ASSERT_FALSE(ws_frame_writer_add_encoded(&w, evs, 8 + 2)); /* too long */
		CU_ASSERT_EQUAL(ws_frame_writer_len(&w), 1);
		CU_ASSERT_TRUE(ws_frame_writer_add_encoded(&w, evs, 7));
		CU_ASSERT_TRUE(ws_frame_writer_add_encoded(&w, NULL, 0));
		CU_ASSERT_FALSE(ws_frame_writer_finish(&w, 1000, 0, 0, 0));
		CU_ASSERT_TRUE(ws_frame_writer_finish(&w, 5, 0, 0, 0));
		CU_ASSERT_FALSE(ws_frame_writer_add_encoded(&w, NULL, 0));
		CU_ASSERT_EQUAL(ws_frame_writer_len(&w), sizeof(want));
		CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
	}

	/* Coalescing until full: as many events as event_size says. */
	ws_frame_writer_init(&w, buf, sizeof(buf), 1);
	while (ws_frame_writer_add(&w, 1, pay, 100))
		;
	CU_ASSERT_EQUAL(ws_frame_writer_events(&w), (sizeof(buf) - 1) / ws_frame_event_size(100));
}

static void test_size_helpers(void)
{
	CU_ASSERT_EQUAL(ws_frame_varint_len(0), 1);
	CU_ASSERT_EQUAL(ws_frame_varint_len(127), 1);
	CU_ASSERT_EQUAL(ws_frame_varint_len(128), 2);
	CU_ASSERT_EQUAL(ws_frame_varint_len(16383), 2);
	CU_ASSERT_EQUAL(ws_frame_varint_len(16384), 3);
	CU_ASSERT_EQUAL(ws_frame_varint_len(UINT32_MAX), 5);
	CU_ASSERT_EQUAL(ws_frame_varint_len((1ULL << 63) - 1), 9);
	CU_ASSERT_EQUAL(ws_frame_varint_len(1ULL << 63), 10);
	CU_ASSERT_EQUAL(ws_frame_varint_len(UINT64_MAX), WS_FRAME_VARINT_MAX);

	/* Body = type + payload: 127 bytes is one length byte, 128 is two. */
	CU_ASSERT_EQUAL(ws_frame_event_header_len(0), 3);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(126), 3);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(127), 4);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(16382), 4);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(16383), 5);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(WS_FRAME_IP_MAX_PAYLOAD),
			WS_FRAME_IP_EVENT_HEADER);
	CU_ASSERT_EQUAL(ws_frame_event_header_len(SIZE_MAX),
			1 + ws_frame_varint_len(SIZE_MAX) + 1);
	CU_ASSERT_TRUE(ws_frame_event_header_len(SIZE_MAX) <= WS_FRAME_MAX_EVENT_HEADER);
	CU_ASSERT_EQUAL(ws_frame_event_size(SIZE_MAX), SIZE_MAX);
	CU_ASSERT_EQUAL(ws_frame_event_size(SIZE_MAX - 5), SIZE_MAX);
	CU_ASSERT_EQUAL(ws_frame_event_size(1400), 1400 + 4);

	CU_ASSERT_EQUAL(ws_frame_trailer_size(0, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(ws_frame_trailer_size(1, 0, 0, 0), 2);
	CU_ASSERT_EQUAL(ws_frame_trailer_size(0, 0, 1, 0), 9);
	CU_ASSERT_EQUAL(ws_frame_trailer_size(UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX),
			WS_FRAME_MAX_TRAILER);
}

/* The daemon's in-place framing: header and channel in the headroom. */
static void test_in_place_header(void)
{
	static uint8_t buf[1 + WS_FRAME_IP_EVENT_HEADER + WS_FRAME_IP_MAX_PAYLOAD];
	const size_t room = WS_FRAME_CHANNEL_LEN + WS_FRAME_IP_EVENT_HEADER;
	const size_t lens[] = { 0, 1, 20, 126, 127, 128, 1400, 16382, 16383, 16384, 65535 };
	uint64_t rng = 0x1f2e3d4c5b6a7988ULL;

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k], hl = ws_frame_event_header_len(len), start;
		uint8_t *payload = buf + room;
		struct ws_frame_info fi;
		struct ws_frame_iter it;
		struct ws_event ev;

		CU_ASSERT_TRUE_FATAL(hl <= WS_FRAME_IP_EVENT_HEADER);
		for (size_t i = 0; i < len; i++)
			payload[i] = (uint8_t)ws_test_rand(&rng);
		start = room - hl - WS_FRAME_CHANNEL_LEN;
		buf[start] = 1;
		CU_ASSERT_EQUAL(ws_frame_write_event_header(buf + start + 1, 1, len), hl);
		CU_ASSERT_EQUAL_FATAL(ws_frame_parse(buf + start, room - start + len, &fi), 0);
		CU_ASSERT_EQUAL(fi.n_events, 1);
		ws_frame_iter_init(&it, &fi);
		CU_ASSERT_TRUE_FATAL(ws_frame_iter_next(&it, &ev));
		CU_ASSERT_EQUAL(ev.type, 1);
		CU_ASSERT_EQUAL(ev.len, len);
		CU_ASSERT_TRUE(len ? ev.payload == payload : ev.payload == NULL);
		CU_ASSERT_FALSE(ws_frame_iter_next(&it, &ev));
	}
}

/* --- decoder rules ----------------------------------------------------------------- */

static void test_varint_boundaries(void)
{
	const uint32_t vals[] = { 1, 127, 128, 16383, 16384, 2097151, 2097152,
				  268435455, 268435456, UINT32_MAX };
	const char *tags[] = { "10", "18", "28" };

	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		struct model m = { .channel = 2, .seq = vals[k], .ack_seq = vals[k],
				   .window = vals[k], .bitmap = vals[k] };
		uint8_t buf[64];
		size_t n = encode(&m, buf, sizeof(buf));

		CU_ASSERT_EQUAL(n, 1 + 3 * (1 + ws_frame_varint_len(vals[k])) + 9);
		CU_ASSERT_TRUE(decodes_to(buf, n, &m));
	}
	/* 2^32 in any uint32 field is rejected, minimal or padded to 10 bytes. */
	for (size_t t = 0; t < 3; t++) {
		char hex[64];
		struct ws_frame_info fi;

		snprintf(hex, sizeof(hex), "00%s8080808010", tags[t]);
		CU_ASSERT_FALSE(parse_hex(hex, &fi));
		snprintf(hex, sizeof(hex), "00%s80808080908080808000", tags[t]);
		CU_ASSERT_FALSE(parse_hex(hex, &fi));
		snprintf(hex, sizeof(hex), "00%sffffffffffffffffff01", tags[t]);
		CU_ASSERT_FALSE(parse_hex(hex, &fi));
		/* 2^32-1, minimal and padded to 10 bytes. */
		snprintf(hex, sizeof(hex), "00%sffffffff0f", tags[t]);
		CU_ASSERT_TRUE(parse_hex(hex, &fi));
		snprintf(hex, sizeof(hex), "00%sffffffff8f8080808000", tags[t]);
		CU_ASSERT_TRUE(parse_hex(hex, &fi));
		CU_ASSERT_EQUAL(t == 0 ? fi.seq : t == 1 ? fi.ack_seq : fi.window_size, UINT32_MAX);
	}
}

struct hex_case {
	const char *hex;
	bool valid;
};

static void test_decoder_rules(void)
{
	static const struct hex_case cases[] = {
		{ "07", true },                        /* channel byte only */
		{ "000a0107", true },                  /* event of type only */
		{ "000a00", false },                   /* event of length 0 */
		/* 2^32 is fine in an unknown field; so is the largest varint. */
		{ "00308080808010", true },
		{ "0030ffffffffffffffffff01", true },
		{ "0030ffffffffffffffffff02", false }, /* above 2^64-1 */
		{ "0030ffffffffffffffffff8100", false }, /* 11 bytes */
		{ "00308080808080808080808000", false }, /* 11 bytes, value 0 */
		{ "003080808080808080808000", true },  /* 10 bytes, value 0 */
		{ "00108080808080808080808000", false },
		{ "0030", false },                     /* truncated varint value */
		{ "0080", false },                     /* truncated tag */
		{ "000aff", false },                   /* truncated length */
		{ "000affffffffffffffffff01", false }, /* length 2^64-1 */
		{ "000a020178", true },
		{ "000a03017878", true },
		{ "000a030178", false },               /* body past end */
		/* Unknown fields of every valid wire type are skipped. */
		{ "003100000000000000000a0107", true },
		{ "0032000a0107", true },
		{ "003203aabbcc0a0107", true },
		{ "0035000000000a0107", true },
		{ "00c23e00", true },                  /* field 1000, LEN */
		{ "0080808080800100", true },          /* field 2^32 (tag 2^35), varint */
		{ "008080808080808080800100", true },  /* field 2^60, varint, 10-byte tag */
		{ "0031000000000000", false },         /* I64 truncated */
		{ "003500", false },                   /* I32 truncated */
		{ "003205aabb", false },               /* LEN truncated */
		/* Field number 0 with any wire type. */
		{ "0000", false }, { "000000", false }, { "00010000000000000000", false },
		{ "000200", false }, { "000500000000", false },
		{ "00800000", false },                 /* field 0, non-minimal tag */
		/* Wire types 3, 4, 6, 7 for known and unknown fields. */
		{ "000b", false }, { "000c", false }, { "000e", false }, { "000f", false },
		{ "0013", false }, { "0014", false }, { "0016", false }, { "0017", false },
		{ "0033", false }, { "0034", false }, { "0036", false }, { "0037", false },
		{ "0023", false }, { "002c", false },
		/* Fields 1-5 with the wrong wire type. */
		{ "000801", false }, { "00090000000000000000", false }, { "000d00000000", false },
		{ "00110000000000000000", false }, { "00120101", false }, { "001500000000", false },
		{ "00190000000000000000", false }, { "001a0101", false }, { "001d00000000", false },
		{ "002001", false }, { "00220101", false }, { "002500000000", false },
		{ "00290000000000000000", false }, { "002a0101", false }, { "002d00000000", false },
		/* Non-minimal tags are still the same field. */
		{ "009000050a0107", true },
		{ "008a00020178", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ws_frame_info fi;
		bool ok = parse_hex(cases[i].hex, &fi);

		if (ok != cases[i].valid)
			fprintf(stderr, "frame case %zu (%s): got %d\n", i, cases[i].hex, ok);
		CU_ASSERT_EQUAL(ok, cases[i].valid);
	}
}

static void test_decoder_values(void)
{
	struct ws_frame_info fi;
	struct ws_frame_iter it;
	struct ws_event ev;

	/* Events interleaved with unknown and reliability fields, last value wins. */
	CU_ASSERT_TRUE_FATAL(parse_hex("05" "1005" "0a020141" "300a" "1006" "210200000000000000"
				       "0a0102" "32020000" "28ff01" "1801" "2100000000000000f0"
				       "0a03036263" "2801", &fi));
	CU_ASSERT_EQUAL(fi.channel, 5);
	CU_ASSERT_EQUAL(fi.seq, 6);
	CU_ASSERT_EQUAL(fi.ack_seq, 1);
	CU_ASSERT_EQUAL(fi.ack_bitmap, 0xf000000000000000ULL);
	CU_ASSERT_EQUAL(fi.window_size, 1);
	CU_ASSERT_EQUAL(fi.n_events, 3);
	ws_frame_iter_init(&it, &fi);
	CU_ASSERT_TRUE_FATAL(ws_frame_iter_next(&it, &ev));
	CU_ASSERT_TRUE(ev.type == 1 && ev.len == 1 && ev.payload[0] == 0x41);
	CU_ASSERT_TRUE_FATAL(ws_frame_iter_next(&it, &ev));
	CU_ASSERT_TRUE(ev.type == 2 && ev.len == 0 && ev.payload == NULL);
	CU_ASSERT_TRUE_FATAL(ws_frame_iter_next(&it, &ev));
	CU_ASSERT_TRUE(ev.type == 3 && ev.len == 2 && !memcmp(ev.payload, "bc", 2));
	CU_ASSERT_FALSE(ws_frame_iter_next(&it, &ev));
	CU_ASSERT_FALSE(ws_frame_iter_next(&it, &ev));

	/* Nothing is written to out from an invalid frame. */
	memset(&fi, 0xa5, sizeof(fi));
	{
		struct ws_frame_info before = fi;

		CU_ASSERT_FALSE(parse_hex("00100a0a0201780b", &fi));
		CU_ASSERT_EQUAL(memcmp(&before, &fi, sizeof(fi)), 0);
	}
}

/* Event payloads of 0..70000 bytes through the writer and the parser. */
static void check_event_len(uint8_t *buf, const uint8_t *pay, size_t len)
{
	struct model m = { .channel = 1, .n = 1 };
	size_t n, hl = ws_frame_event_header_len(len);
	bool ok;

	m.ev[0].type = (uint8_t)len;
	m.ev[0].payload = pay;
	m.ev[0].len = len;
	n = encode(&m, buf, 1 + hl + len);
	ok = n == 1 + ws_frame_event_size(len) && buf[1] == WS_FRAME_TAG_EVENT &&
	     buf[hl] == (uint8_t)len && decodes_to(buf, n, &m);
	if (!ok)
		fprintf(stderr, "event of %zu bytes failed\n", len);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(encode(&m, buf, hl + len), 0);  /* one byte short */
}

static void test_event_sizes(void)
{
	static uint8_t buf[BIG_EVENT + 64], pay[BIG_EVENT];
	uint64_t rng = 42;

	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)ws_test_rand(&rng);
	for (size_t len = 0; len <= 300; len++)
		check_event_len(buf, pay, len);
	for (size_t len = 16370; len <= 16400; len++)
		check_event_len(buf, pay, len);
	for (size_t len = 65530; len <= 65540; len++)
		check_event_len(buf, pay, len);
	for (size_t len = 301; len < BIG_EVENT; len += 997)
		check_event_len(buf, pay, len);
	check_event_len(buf, pay, BIG_EVENT);
}

/* --- randomized ---------------------------------------------------------------------- */

static uint32_t rand_u32(uint64_t *rng)
{
	uint64_t r = ws_test_rand(rng);

	switch (r % 5) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)(r >> 8) & 0x7f;
	case 2:
		return (uint32_t)(r >> 8) & 0x3fff;
	case 3:
		return UINT32_MAX - (uint32_t)((r >> 8) & 3);
	default:
		return (uint32_t)(r >> 32);
	}
}

static size_t rand_payload_len(uint64_t *rng)
{
	uint64_t r = ws_test_rand(rng);

	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return 120 + (r >> 8) % 16;  /* around the 1/2-byte varint edge */
	case 2:
		return (r >> 8) % 2000;
	default:
		return (r >> 8) % 40;
	}
}

static void rand_model(struct model *m, uint64_t *rng, const uint8_t *pool, size_t pool_len)
{
	memset(m, 0, sizeof(*m));
	m->channel = (uint8_t)ws_test_rand(rng);
	m->n = ws_test_rand(rng) % 5 == 0 ? 0 : ws_test_rand(rng) % MAX_EV;
	for (size_t i = 0; i < m->n; i++) {
		size_t len = rand_payload_len(rng);

		m->ev[i].type = (uint8_t)ws_test_rand(rng);
		m->ev[i].len = len;
		m->ev[i].payload = pool + ws_test_rand(rng) % (pool_len - len);
	}
	m->seq = rand_u32(rng);
	m->ack_seq = rand_u32(rng);
	m->window = rand_u32(rng);
	m->bitmap = ws_test_rand(rng) % 3 ? ws_test_rand(rng) : 0;
}

/* A deliberately non-canonical encoder: any order, padding, decoys, unknowns. */
struct nc {
	uint8_t *buf;
	size_t len;
	uint64_t *rng;
};

static void nc_varint(struct nc *e, uint64_t v)
{
	size_t min = ws_frame_varint_len(v), total = min;

	if (min < WS_FRAME_VARINT_MAX && ws_test_rand(e->rng) % 3 == 0)
		total += ws_test_rand(e->rng) % (WS_FRAME_VARINT_MAX - min + 1);
	for (size_t i = 0; i < total; i++) {
		uint8_t b = (uint8_t)(v & 0x7f);

		v >>= 7;
		e->buf[e->len++] = i + 1 < total ? (uint8_t)(b | 0x80) : b;
	}
}

static void nc_unknown(struct nc *e)
{
	/* One draw per statement: the order of calls stays fixed. */
	uint64_t range = ws_test_rand(e->rng) % 2 ? 10 : 1u << 28;
	uint64_t num = 6 + ws_test_rand(e->rng) % range;
	unsigned wts[] = { 0, 1, 2, 5 }, wt = wts[ws_test_rand(e->rng) % 4];
	size_t n, shift;

	nc_varint(e, num << 3 | wt);
	switch (wt) {
	case 0:
		shift = ws_test_rand(e->rng) % 64;
		nc_varint(e, ws_test_rand(e->rng) >> shift);
		break;
	case 2:
		n = ws_test_rand(e->rng) % 20;
		nc_varint(e, n);
		memset(e->buf + e->len, 0x0a, n); /* looks like event tags; must be skipped */
		e->len += n;
		break;
	default:
		n = wt == 1 ? 8 : 4;
		for (size_t i = 0; i < n; i++)
			e->buf[e->len++] = (uint8_t)ws_test_rand(e->rng);
	}
}

enum { OP_EVENT, OP_SEQ, OP_ACK, OP_BITMAP, OP_WINDOW, OP_UNKNOWN, N_KINDS };

static void nc_op(struct nc *e, int op, uint64_t v, const struct model *m, size_t ev)
{
	static const uint8_t tags[] = { 0x0a, 0x10, 0x18, 0x21, 0x28 };

	if (op == OP_UNKNOWN) {
		nc_unknown(e);
		return;
	}
	nc_varint(e, tags[op]);
	if (op == OP_EVENT) {
		nc_varint(e, m->ev[ev].len + 1);
		e->buf[e->len++] = m->ev[ev].type;
		memcpy(e->buf + e->len, m->ev[ev].payload, m->ev[ev].len);
		e->len += m->ev[ev].len;
	} else if (op == OP_BITMAP) {
		for (int i = 0; i < 8; i++)
			e->buf[e->len++] = (uint8_t)(v >> (8 * i));
	} else {
		nc_varint(e, v);
	}
}

/* Scalar field k's occurrences: decoys first, the real value last. */
static size_t plan_scalar(int *ops, size_t n, int op, uint64_t real, uint64_t *rng)
{
	size_t k = real ? 1 : ws_test_rand(rng) % 4 == 0; /* explicit zero sometimes */

	if (ws_test_rand(rng) % 4 == 0)
		k += 1 + ws_test_rand(rng) % 2;
	for (size_t i = 0; i < k; i++)
		ops[n++] = op;
	return n;
}

static uint64_t op_value(int op, const struct model *m)
{
	switch (op) {
	case OP_SEQ:
		return m->seq;
	case OP_ACK:
		return m->ack_seq;
	case OP_BITMAP:
		return m->bitmap;
	default:
		return m->window;
	}
}

static size_t encode_noncanonical(const struct model *m, uint8_t *buf, uint64_t *rng)
{
	int ops[MAX_EV + 32];
	size_t n = 0, remaining[N_KINDS] = { 0 }, ev = 0;
	struct nc e = { .buf = buf, .len = 0, .rng = rng };

	for (size_t i = 0; i < m->n; i++)
		ops[n++] = OP_EVENT;
	for (int op = OP_SEQ; op <= OP_WINDOW; op++)
		n = plan_scalar(ops, n, op, op_value(op, m), rng);
	for (size_t u = ws_test_rand(rng) % 4; u > 0; u--)
		ops[n++] = OP_UNKNOWN;
	/* Shuffle (events keep their order: they are assigned in sequence below). */
	for (size_t i = n; i > 1; i--) {
		size_t j = ws_test_rand(rng) % i;
		int t = ops[i - 1];

		ops[i - 1] = ops[j];
		ops[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		remaining[ops[i]]++;
	buf[e.len++] = m->channel;
	for (size_t i = 0; i < n; i++) {
		int op = ops[i];
		uint64_t v = op_value(op, m);

		/* A decoy (not the last occurrence) carries some other value. */
		if (--remaining[op] > 0 && op != OP_EVENT && op != OP_UNKNOWN)
			v = op == OP_BITMAP ? ws_test_rand(rng) : (uint32_t)ws_test_rand(rng);
		nc_op(&e, op, v, m, ev);
		if (op == OP_EVENT)
			ev++;
	}
	return e.len;
}

static void test_random_roundtrip(void)
{
	static uint8_t pool[POOL], buf[FRAME_MAX], nc[FRAME_MAX];
	uint64_t rng = 0x5eed5eed12345678ULL;
	size_t bad_canon = 0, bad_nc = 0, bad_size = 0;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)ws_test_rand(&rng);
	for (int k = 0; k < RANDOM_FRAMES; k++) {
		struct model m;
		size_t n, ncn;

		rand_model(&m, &rng, pool, sizeof(pool));
		n = encode(&m, buf, sizeof(buf));
		bad_size += n == 0 || n != predicted_len(&m);
		bad_canon += !decodes_to(buf, n, &m);
		ncn = encode_noncanonical(&m, nc, &rng);
		bad_nc += !decodes_to(nc, ncn, &m);
	}
	CU_ASSERT_EQUAL(bad_size, 0);
	CU_ASSERT_EQUAL(bad_canon, 0);
	CU_ASSERT_EQUAL(bad_nc, 0);
}

/* Every event handed out lies inside the buffer; returns the count. */
static size_t walk_events(const struct ws_frame_info *fi, bool *inside)
{
	struct ws_frame_iter it;
	struct ws_event ev;
	size_t n = 0;

	ws_frame_iter_init(&it, fi);
	while (ws_frame_iter_next(&it, &ev)) {
		if (ev.len && (ev.payload <= fi->buf || ev.payload + ev.len > fi->buf + fi->len))
			*inside = false;
		n++;
	}
	return n;
}

static void check_prefixes(const uint8_t *frame, size_t len, size_t *bad)
{
	for (size_t cut = 0; cut <= len; cut++) {
		struct ws_frame_info fi;
		uint8_t *copy;
		bool inside = true;
		int rc = parse_copy(frame, cut, &fi, &copy);

		if (rc == 0)
			*bad += walk_events(&fi, &inside) != fi.n_events || !inside;
		else
			*bad += rc != -EINVAL || cut == len;
		free(copy);
	}
}

static void test_truncation(void)
{
	static uint8_t pool[POOL], buf[FRAME_MAX], enc[FRAME_MAX];
	json_t *arr = ws_vec_get(NULL, "frames.valid"), *v;
	uint64_t rng = 0x7a11c0ffee ^ 0x1234;
	size_t bad = 0, i;

	for (size_t j = 0; j < 4096; j++)
		pool[j] = (uint8_t)ws_test_rand(&rng);
	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		long n = ws_vec_hex(v, "encoded", enc, sizeof(enc));

		check_prefixes(enc, (size_t)n, &bad);
	}
	for (int k = 0; k < TRUNC_FRAMES; k++) {
		struct model m;
		size_t n;

		rand_model(&m, &rng, pool, 4096);
		for (size_t e = 0; e < m.n; e++)
			m.ev[e].len %= 24; /* keep frames short: every prefix is tried */
		n = k % 2 ? encode(&m, buf, sizeof(buf)) : encode_noncanonical(&m, buf, &rng);
		check_prefixes(buf, n, &bad);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* Random byte mutations: valid or rejected; valid ones survive re-encoding. */
static void test_mutation(void)
{
	static uint8_t pool[POOL], buf[FRAME_MAX], canon[FRAME_MAX];
	uint64_t rng = 0xdecafbad;
	size_t bad = 0, accepted = 0;

	for (size_t j = 0; j < 4096; j++)
		pool[j] = (uint8_t)ws_test_rand(&rng);
	for (int k = 0; k < MUTATIONS; k++) {
		struct model m;
		struct ws_frame_info fi;
		uint8_t *copy;
		size_t n;
		bool inside = true;

		rand_model(&m, &rng, pool, 4096);
		for (size_t e = 0; e < m.n; e++)
			m.ev[e].len %= 40;
		n = k % 2 ? encode(&m, buf, sizeof(buf)) : encode_noncanonical(&m, buf, &rng);
		for (int flips = 1 + (int)(ws_test_rand(&rng) % 3); flips > 0; flips--) {
			size_t at = ws_test_rand(&rng) % n;

			buf[at] = (uint8_t)ws_test_rand(&rng);
		}
		if (parse_copy(buf, n, &fi, &copy) == 0) {
			struct model back = { .channel = fi.channel, .seq = fi.seq,
					      .ack_seq = fi.ack_seq, .bitmap = fi.ack_bitmap,
					      .window = fi.window_size };
			struct ws_frame_iter it;
			struct ws_event ev;
			size_t cn;

			accepted++;
			bad += walk_events(&fi, &inside) != fi.n_events || !inside;
			ws_frame_iter_init(&it, &fi);
			while (back.n < MAX_EV && ws_frame_iter_next(&it, &ev)) {
				back.ev[back.n].type = ev.type;
				back.ev[back.n].payload = ev.payload;
				back.ev[back.n++].len = ev.len;
			}
			if (fi.n_events <= MAX_EV) {
				cn = encode(&back, canon, sizeof(canon));
				bad += cn == 0 || !decodes_to(canon, cn, &back);
			}
		}
		free(copy);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(accepted > 0);
}

/* In-place framing writes the same bytes as the frame writer (one event, no trailer). */
static void test_write_head_in_place(void)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 1400, 16382, 16383, 65535 };
	static uint8_t place[70000], ref[70000], payload[65535];
	struct ws_frame_info info;
	struct ws_frame_writer w;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k], hl = ws_frame_head_len(len);
		uint8_t *frame;

		memcpy(place + 64, payload, len);
		frame = ws_frame_write_head(place + 64, WS_CHANNEL_DATA, WS_EVENT_IP_PACKET, len);
		CU_ASSERT_PTR_EQUAL(frame, place + 64 - hl);
		ws_frame_writer_init(&w, ref, sizeof(ref), WS_CHANNEL_DATA);
		CU_ASSERT_FATAL(ws_frame_writer_add(&w, WS_EVENT_IP_PACKET, payload, len));
		CU_ASSERT_FATAL(ws_frame_writer_finish(&w, 0, 0, 0, 0));
		CU_ASSERT_EQUAL(ws_frame_writer_len(&w), hl + len);
		CU_ASSERT_EQUAL(memcmp(ref, frame, hl + len), 0);
		CU_ASSERT_EQUAL(ws_frame_parse(frame, hl + len, &info), 0);
		CU_ASSERT_EQUAL(info.n_events, 1);
	}
}

WS_SUITE(frame)
{
	WS_ADD(suite, test_valid_vectors);
	WS_ADD(suite, test_invalid_vectors);
	WS_ADD(suite, test_noncanonical_vectors);
	WS_ADD(suite, test_transport_plaintexts);
	WS_ADD(suite, test_fragmentation_frame);
	WS_ADD(suite, test_writer_fit);
	WS_ADD(suite, test_size_helpers);
	WS_ADD(suite, test_in_place_header);
	WS_ADD(suite, test_varint_boundaries);
	WS_ADD(suite, test_decoder_rules);
	WS_ADD(suite, test_decoder_values);
	WS_ADD(suite, test_event_sizes);
	WS_ADD(suite, test_random_roundtrip);
	WS_ADD(suite, test_truncation);
	WS_ADD(suite, test_mutation);
	WS_ADD(suite, test_write_head_in_place);
}
