/* SPDX-License-Identifier: MIT */
/* Fragmentation (DECISIONS 22) and bounded reassembly (DECISIONS 23). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fragment.h"
#include "core/session.h"
#include "test.h"
#include "vectors.h"

#define SEC WS_NSEC_PER_SEC
enum { FRAME_MAX = 300 * 1024, VEC_FRAME = 4096, PKT = 2048 };

/* Pattern byte at offset o of frame `id`. */
static uint8_t pattern(uint32_t id, size_t o)
{
	return (uint8_t)(o * 7 + id * 13 + 1);
}

/*
 * Fragment idx of a synthetic frame: non-last fragments of `size` bytes, the
 * last of `last` bytes, content from pattern(). Returns the plaintext length.
 */
static size_t mkfrag(uint8_t *out, uint32_t id, uint16_t idx, uint16_t cnt, size_t size,
		     size_t last)
{
	static uint8_t data[FRAME_MAX];
	size_t len = idx == cnt - 1 ? last : size;

	for (size_t k = 0; k < len; k++)
		data[k] = pattern(id, (size_t)idx * size + k);
	return ws_fragment_write(out, id, idx, cnt, data, len);
}

static bool frame_ok(const uint8_t *f, size_t len, uint32_t id, uint16_t cnt, size_t size,
		     size_t last)
{
	if (len != (size_t)(cnt - 1) * size + last)
		return false;
	for (size_t o = 0; o < len; o++)
		if (f[o] != pattern(id, o))
			return false;
	return true;
}

/* Add, and check the reassembler's invariants after every call. */
static int add(struct ws_reassembler *r, const uint8_t *p, size_t len, uint64_t now,
	       const uint8_t **frame, size_t *frame_len)
{
	int ret = ws_reassembler_add(r, p, len, now, frame, frame_len);

	CU_ASSERT_TRUE(ws_reassembler_consistent(r));
	return ret;
}

/* Add fragment idx of a synthetic frame. */
static int addf(struct ws_reassembler *r, uint32_t id, uint16_t idx, uint16_t cnt, size_t size,
		size_t last, uint64_t now)
{
	static uint8_t buf[FRAME_MAX + 8];
	const uint8_t *f;
	size_t fl;
	int ret = add(r, buf, mkfrag(buf, id, idx, cnt, size, last), now, &f, &fl);

	if (ret == 1)
		CU_ASSERT_TRUE(frame_ok(f, fl, id, cnt, size, last));
	return ret;
}

/* ---- vectors -------------------------------------------------------------------- */

static long vec_frame(uint8_t *frame)
{
	long n = ws_vec_hex(NULL, "fragmentation.frame_bytes", frame, VEC_FRAME);

	CU_ASSERT_EQUAL_FATAL(n, (long)ws_vec_u64(NULL, "fragmentation.frame_len"));
	return n;
}

static void vec_session(struct ws_session *tx, struct ws_session *rx)
{
	uint8_t key[32];
	uint32_t idx = (uint32_t)ws_vec_u64(NULL, "fragmentation.receiver_index");

	ws_vec_hex(NULL, "fragmentation.key", key, 32);
	ws_session_init(tx, key, key, 1, idx, true, 0);
	ws_session_init(rx, key, key, idx, 1, false, 0);
}

/* Split the 3000-byte frame into exactly the vector's three packets. */
static void test_vector_split(void)
{
	json_t *frags = ws_vec_get(NULL, "fragmentation.fragments"), *v;
	size_t mps = ws_vec_u64(NULL, "fragmentation.max_packet_size");
	size_t mfp = ws_vec_u64(NULL, "fragmentation.max_frag_payload");
	uint32_t id = (uint32_t)ws_vec_u64(NULL, "fragmentation.frame_id");
	uint64_t c0 = ws_vec_u64(NULL, "fragmentation.first_counter");
	struct ws_session tx, rx;
	uint8_t frame[VEC_FRAME];
	long flen = vec_frame(frame);
	uint32_t count;
	size_t i;

	vec_session(&tx, &rx);
	CU_ASSERT_EQUAL(ws_fragment_max_payload(mps), mfp);
	count = ws_fragment_count((size_t)flen, mfp);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL_FATAL(json_array_size(frags), count);
	json_array_foreach(frags, i, v) {
		uint8_t pkt[PKT], want_plain[PKT], want_pkt[PKT];
		long wpl = ws_vec_hex(v, "plaintext", want_plain, PKT);
		long wpk = ws_vec_hex(v, "packet", want_pkt, PKT);
		size_t off = 99, len = ws_fragment_span((size_t)flen, mfp, (uint16_t)i, &off);
		size_t plen, n;

		CU_ASSERT_EQUAL(ws_vec_u64(v, "frag_index"), i);
		CU_ASSERT_EQUAL(ws_vec_u64(v, "frag_count"), count);
		CU_ASSERT_EQUAL(ws_vec_u64(v, "counter"), c0 + i);
		CU_ASSERT_EQUAL(len, ws_vec_u64(v, "data_len"));
		CU_ASSERT_EQUAL(off, i * mfp);
		plen = ws_fragment_write(pkt + 16, id, (uint16_t)i, (uint16_t)count, frame + off, len);
		CU_ASSERT_EQUAL_FATAL(plen, (size_t)wpl);
		CU_ASSERT_EQUAL(memcmp(pkt + 16, want_plain, plen), 0);
		n = ws_session_seal(&tx, WS_MSG_DATA_FRAGMENT, c0 + i, pkt, plen);
		CU_ASSERT_EQUAL_FATAL(n, (size_t)wpk);
		CU_ASSERT_EQUAL(n, ws_vec_u64(v, "packet_len"));
		CU_ASSERT_TRUE(n <= mps);
		CU_ASSERT_EQUAL(memcmp(pkt, want_pkt, n), 0);
	}
}

/* Open the three vector packets and reassemble them in each of the 6 orders. */
static void test_vector_reassemble_all_orders(void)
{
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					{1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	json_t *frags = ws_vec_get(NULL, "fragmentation.fragments");
	uint8_t frame[VEC_FRAME];
	long flen = vec_frame(frame);

	CU_ASSERT_EQUAL_FATAL(json_array_size(frags), 3);
	for (int p = 0; p < 6; p++) {
		struct ws_session tx, rx;
		struct ws_frag_budget budget;
		struct ws_reassembler r;
		int completed = 0;

		vec_session(&tx, &rx);
		ws_frag_budget_init(&budget, WS_MAX_REASSEMBLY_PER_DAEMON);
		ws_reassembler_init(&r, &budget);
		for (int k = 0; k < 3; k++) {
			json_t *v = json_array_get(frags, (size_t)perms[p][k]);
			struct ws_transport_hdr hdr;
			uint8_t pkt[PKT], *plain;
			size_t plain_len, frame_len;
			const uint8_t *out;
			long n = ws_vec_hex(v, "packet", pkt, PKT);
			int ret;

			CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkt, (size_t)n, &hdr), 0);
			CU_ASSERT_EQUAL(hdr.type, WS_MSG_DATA_FRAGMENT);
			CU_ASSERT_EQUAL_FATAL(ws_session_open(&rx, pkt, (size_t)n, &hdr, &plain,
							      &plain_len), 0);
			ret = add(&r, plain, plain_len, (uint64_t)k * SEC, &out, &frame_len);
			CU_ASSERT_EQUAL(ret, k == 2 ? 1 : 0);
			if (ret == 1) {
				completed++;
				CU_ASSERT_EQUAL(frame_len, (size_t)flen);
				CU_ASSERT_EQUAL(memcmp(out, frame, (size_t)flen), 0);
				CU_ASSERT_EQUAL(r.partials, 0);
			}
		}
		CU_ASSERT_EQUAL(completed, 1);
		ws_reassembler_free(&r);
		CU_ASSERT_EQUAL(atomic_load(&budget.used), 0);
		CU_ASSERT_EQUAL(r.bytes, 0);
	}
}

/* frame_len 1192 is one Data packet, 1193 two DataFragments (MaxPacketSize 1232). */
static void test_vector_threshold(void)
{
	json_t *arr = ws_vec_get(NULL, "fragmentation.threshold"), *v;
	size_t mfp = ws_vec_u64(NULL, "fragmentation.max_frag_payload");
	size_t mps = ws_vec_u64(NULL, "fragmentation.max_packet_size");
	size_t i;

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	json_array_foreach(arr, i, v) {
		size_t flen = ws_vec_u64(v, "frame_len"), total = 0;
		uint32_t count = ws_fragment_count(flen, mfp);
		uint8_t type = count == 1 ? WS_MSG_DATA : WS_MSG_DATA_FRAGMENT;

		CU_ASSERT_EQUAL(count, ws_vec_u64(v, "packets"));
		CU_ASSERT_EQUAL(type, ws_vec_u64(v, "type"));
		for (uint32_t k = 0; k < count; k++) {
			size_t off, len = ws_fragment_span(flen, mfp, (uint16_t)k, &off);
			size_t pkt_len = 32 + len + (type == WS_MSG_DATA_FRAGMENT ? 8 : 0);

			CU_ASSERT_TRUE(len > 0);
			CU_ASSERT_TRUE(pkt_len <= mps);
			total += len;
		}
		CU_ASSERT_EQUAL(total, flen);
	}
}

/* ---- sender helpers --------------------------------------------------------------- */

static void test_sender_helpers(void)
{
	uint8_t buf[64], data[4] = {1, 2, 3, 4};
	size_t off = 0;

	CU_ASSERT_EQUAL(ws_fragment_max_payload(40), 0);
	CU_ASSERT_EQUAL(ws_fragment_max_payload(41), 1);
	CU_ASSERT_EQUAL(ws_fragment_max_payload(1445), 1405);
	CU_ASSERT_EQUAL(ws_fragment_count(0, 1192), 0);
	CU_ASSERT_EQUAL(ws_fragment_count(10, 0), 0);
	CU_ASSERT_EQUAL(ws_fragment_count(1, 1192), 1);
	CU_ASSERT_EQUAL(ws_fragment_count(2384, 1192), 2);
	CU_ASSERT_EQUAL(ws_fragment_count(2385, 1192), 3);
	CU_ASSERT_EQUAL(ws_fragment_count((size_t)65535 * 1192, 1192), 65535);
	CU_ASSERT_EQUAL(ws_fragment_count((size_t)65535 * 1192 + 1, 1192), 0);
	CU_ASSERT_EQUAL(ws_fragment_count(SIZE_MAX, 1), 0);
	CU_ASSERT_EQUAL(ws_fragment_span(2385, 1192, 2, &off), 1);
	CU_ASSERT_EQUAL(off, 2384);
	CU_ASSERT_EQUAL(ws_fragment_span(2385, 1192, 3, &off), 0);
	CU_ASSERT_EQUAL(ws_fragment_span(0, 1192, 0, &off), 0);
	CU_ASSERT_EQUAL(ws_fragment_write(buf, 0x01020304, 2, 3, data, 4), 12);
	CU_ASSERT_EQUAL(memcmp(buf, "\x04\x03\x02\x01\x02\x00\x03\x00\x01\x02\x03\x04", 12), 0);
	CU_ASSERT_EQUAL(ws_fragment_write(buf, 1, 3, 3, data, 4), 0);
	CU_ASSERT_EQUAL(ws_fragment_write(buf, 1, 0, 0, data, 4), 0);
	CU_ASSERT_EQUAL(ws_fragment_write(buf, 1, 0, 1, NULL, 0), 8);
}

/* ---- receiver ----------------------------------------------------------------------- */

static void test_count_one(void)
{
	struct ws_reassembler r;
	uint8_t buf[64];
	const uint8_t *f;
	size_t fl, n;

	ws_reassembler_init(&r, NULL);
	CU_ASSERT_EQUAL(addf(&r, 9, 0, 3, 10, 5, 0), 0);
	n = mkfrag(buf, 9, 0, 1, 0, 20);
	CU_ASSERT_EQUAL(add(&r, buf, n, 0, &f, &fl), 1);   /* delivered at once */
	CU_ASSERT_PTR_EQUAL(f, buf + 8);
	CU_ASSERT_EQUAL(fl, 20);
	CU_ASSERT_EQUAL(r.partials, 1);                     /* frame 9 of 3 untouched */
	n = mkfrag(buf, 7, 0, 1, 0, 0);
	CU_ASSERT_EQUAL(add(&r, buf, n, 0, &f, &fl), 1);   /* empty is the frame decoder's call */
	CU_ASSERT_EQUAL(fl, 0);
	CU_ASSERT_EQUAL(addf(&r, 9, 1, 3, 10, 5, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 9, 2, 3, 10, 5, 0), 1);
	ws_reassembler_free(&r);
}

static void test_invalid_header(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler r;
	uint8_t buf[64] = {0};
	const uint8_t *f;
	size_t fl;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	for (size_t len = 0; len < 8; len++)
		CU_ASSERT_EQUAL(add(&r, buf, len, 0, &f, &fl), -EINVAL);
	CU_ASSERT_EQUAL(add(&r, buf, 8, 0, &f, &fl), -EINVAL);           /* count 0, index 0 */
	ws_put_le16(buf + 6, 0);
	ws_put_le16(buf + 4, 5);
	CU_ASSERT_EQUAL(add(&r, buf, 20, 0, &f, &fl), -EINVAL);          /* count 0 */
	ws_put_le16(buf + 6, 3);
	ws_put_le16(buf + 4, 3);
	CU_ASSERT_EQUAL(add(&r, buf, 20, 0, &f, &fl), -EINVAL);          /* index == count */
	ws_put_le16(buf + 4, 65535);
	ws_put_le16(buf + 6, 65535);
	CU_ASSERT_EQUAL(add(&r, buf, 20, 0, &f, &fl), -EINVAL);          /* index == count, max */
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	ws_reassembler_free(&r);
}

/* Two of three fragments: never delivered; gone 20 s after the last one. */
static void test_loss_and_expiry(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler r;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 3, 100, 50, 5 * SEC), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 3, 100, 50, 6 * SEC), 0);
	CU_ASSERT_TRUE(r.bytes > 0);
	CU_ASSERT_EQUAL(atomic_load(&b.used), r.bytes);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 26 * SEC - 1), 0);
	CU_ASSERT_EQUAL(r.partials, 1);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 26 * SEC), 1);
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	/* The missing fragment alone starts a new partial frame. */
	CU_ASSERT_EQUAL(addf(&r, 1, 2, 3, 100, 50, 27 * SEC), 0);
	CU_ASSERT_EQUAL(r.partials, 1);
	/* Lazy expiry on insert: another frame's fragment 20 s later removes it. */
	CU_ASSERT_EQUAL(addf(&r, 2, 0, 2, 10, 10, 47 * SEC), 0);
	CU_ASSERT_EQUAL(r.partials, 1);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 3, 100, 50, 47 * SEC), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 3, 100, 50, 47 * SEC), 0);   /* 2 was expired: no frame */
	CU_ASSERT_EQUAL(r.partials, 2);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
}

/* A new fragment restarts the 20 s; a duplicate does not. */
static void test_timeout_refresh(void)
{
	struct ws_reassembler r;

	ws_reassembler_init(&r, NULL);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 3, 10, 10, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 3, 10, 10, 15 * SEC), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 2, 3, 10, 10, 34 * SEC), 1);
	CU_ASSERT_EQUAL(addf(&r, 2, 0, 3, 10, 10, 100 * SEC), 0);
	CU_ASSERT_EQUAL(addf(&r, 2, 0, 3, 10, 10, 115 * SEC), 0);   /* duplicate */
	CU_ASSERT_EQUAL(addf(&r, 2, 1, 3, 10, 10, 120 * SEC), 0);   /* 20 s: expired first */
	CU_ASSERT_EQUAL(addf(&r, 2, 2, 3, 10, 10, 121 * SEC), 0);   /* only 1 and 2 held */
	CU_ASSERT_EQUAL(r.partials, 1);
	/* A clock that steps back expires nothing. */
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 1), 0);
	ws_reassembler_free(&r);
}

/* Duplicates keep the first copy; a completed id is forgotten. */
static void test_duplicates(void)
{
	struct ws_reassembler r;
	uint8_t buf[64];
	const uint8_t *f;
	size_t fl, n;

	ws_reassembler_init(&r, NULL);
	CU_ASSERT_EQUAL(addf(&r, 3, 0, 3, 16, 4, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 3, 0, 3, 16, 4, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 3, 1, 3, 16, 4, 0), 0);
	n = mkfrag(buf, 3, 1, 3, 16, 4);
	memset(buf + 8, 0xee, 16);                                 /* different content */
	CU_ASSERT_EQUAL(add(&r, buf, n, 0, &f, &fl), 0);
	CU_ASSERT_EQUAL(addf(&r, 3, 2, 3, 16, 4, 0), 1);           /* checks the first copies */
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(addf(&r, 3, 2, 3, 16, 4, 0), 0);           /* late copy: a new partial */
	CU_ASSERT_EQUAL(r.partials, 1);
	ws_reassembler_free(&r);
}

static void test_mismatch(void)
{
	struct ws_reassembler r;

	ws_reassembler_init(&r, NULL);
	CU_ASSERT_EQUAL(addf(&r, 4, 0, 3, 16, 4, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 4, 1, 4, 16, 4, 0), -EPROTO);       /* other frag_count */
	CU_ASSERT_EQUAL(addf(&r, 4, 1, 3, 17, 4, 0), -EPROTO);       /* other size */
	CU_ASSERT_EQUAL(addf(&r, 4, 2, 3, 16, 17, 0), -EPROTO);      /* last longer */
	CU_ASSERT_EQUAL(addf(&r, 4, 1, 3, 16, 4, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 4, 2, 3, 16, 16, 0), 1);            /* last may be full */
	/* Last fragment first: held, then checked against the size. */
	CU_ASSERT_EQUAL(addf(&r, 5, 2, 3, 16, 9, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 5, 0, 3, 8, 9, 0), -EPROTO);        /* shorter than last */
	CU_ASSERT_EQUAL(addf(&r, 5, 0, 3, 16, 9, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 5, 1, 3, 16, 9, 0), 1);
	/* Empty last fragment first, and empty middle fragments. */
	CU_ASSERT_EQUAL(addf(&r, 6, 1, 2, 5, 0, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 6, 0, 2, 5, 0, 0), 1);
	CU_ASSERT_EQUAL(addf(&r, 7, 0, 3, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 7, 2, 3, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 7, 1, 3, 0, 0, 0), 1);
	CU_ASSERT_EQUAL(r.partials, 0);
	ws_reassembler_free(&r);
}

static void test_interleaved(void)
{
	struct ws_reassembler r;
	int done = 0;

	ws_reassembler_init(&r, NULL);
	for (uint16_t i = 0; i < 10; i++)
		for (uint32_t id = 100; id < 110; id++)
			done += addf(&r, id, i, 10, 50 + id, 7, 0);
	CU_ASSERT_EQUAL(done, 10);
	CU_ASSERT_EQUAL(r.partials, 0);
	ws_reassembler_free(&r);
}

static void test_partial_limit(void)
{
	struct ws_reassembler r;

	ws_reassembler_init(&r, NULL);
	for (uint32_t id = 0; id < WS_MAX_INCOMPLETE_FRAMES; id++)
		CU_ASSERT_EQUAL(addf(&r, id, 0, 2, 10, 10, id), 0);
	CU_ASSERT_EQUAL(r.partials, 64);
	CU_ASSERT_EQUAL(addf(&r, 1000, 0, 2, 10, 10, 100), -ENOSPC);
	CU_ASSERT_EQUAL(addf(&r, 1000, 1, 2, 10, 10, 100), -ENOSPC);
	CU_ASSERT_EQUAL(addf(&r, 63, 0, 2, 10, 10, 100), 0);           /* known ids still work */
	CU_ASSERT_EQUAL(addf(&r, 63, 1, 2, 10, 10, 100), 1);
	CU_ASSERT_EQUAL(addf(&r, 1000, 0, 2, 10, 10, 100), 0);         /* a slot came free */
	CU_ASSERT_EQUAL(addf(&r, 1001, 0, 2, 10, 10, 100), -ENOSPC);
	CU_ASSERT_EQUAL(addf(&r, 1001, 0, 2, 10, 10, 20 * SEC + 30), 0);   /* ids 0-30 expired */
	CU_ASSERT_EQUAL(r.partials, 64 - 31 + 1);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(r.partials, 0);
}

/* 256 KiB per frame: frag_count x size, and the last fragment alone. */
static void test_frame_bound(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler r;
	uint64_t seed = 7;
	uint16_t order[256];
	int done = 0;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 257, 1024, 1024, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 2, 131073, 1, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 2, 1, 262145, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 65535, 5, 5, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	/* Size learnt late: the last fragment is held, then the frame is too big. */
	CU_ASSERT_EQUAL(addf(&r, 4, 99, 100, 3000, 100, 0), 0);
	CU_ASSERT_EQUAL(r.partials, 1);
	CU_ASSERT_EQUAL(addf(&r, 4, 0, 100, 3000, 100, 0), -EMSGSIZE);
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	/* Exactly 256 KiB, fed in random order, completes intact. */
	for (int i = 0; i < 256; i++)
		order[i] = (uint16_t)i;
	for (int i = 255; i > 0; i--) {
		int j = (int)(ws_test_rand(&seed) % (uint64_t)(i + 1));
		uint16_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < 256; i++)
		done += addf(&r, 2, order[i], 256, 1024, 1024, 0);
	CU_ASSERT_EQUAL(done, 1);
	/* 65535 fragments of 4 bytes: 262140 bytes, allowed. */
	CU_ASSERT_EQUAL(addf(&r, 3, 0, 65535, 4, 4, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 3, 65534, 65535, 4, 4, 0), 0);
	CU_ASSERT_TRUE(r.bytes <= WS_MAX_FRAME_REASSEMBLY + 9000);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
}

/* Is id held? A fragment with another frag_count is refused when it is
 * (use only where id is expected: for an absent id it starts a frame). */
static bool held(struct ws_reassembler *r, uint32_t id, uint64_t now)
{
	uint8_t buf[16];
	const uint8_t *f;
	size_t fl, n = ws_fragment_write(buf, id, 0, 65535, NULL, 0);

	return ws_reassembler_add(r, buf, n, now, &f, &fl) == -EPROTO;
}

/* 1 MiB per session: the least recently active frames go first. */
static void test_session_bound(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler r;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	for (uint32_t id = 1; id <= 4; id++)
		CU_ASSERT_EQUAL(addf(&r, id, 0, 256, 1020, 1020, id), 0);
	CU_ASSERT_EQUAL(r.partials, 4);
	CU_ASSERT_TRUE(r.bytes > 4 * 256 * 1020);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 256, 1020, 1020, 10), 0);   /* 1 is now the most recent */
	CU_ASSERT_EQUAL(addf(&r, 5, 0, 256, 1020, 1020, 11), 0);   /* evicts 2 */
	CU_ASSERT_EQUAL(r.partials, 4);
	CU_ASSERT_TRUE(r.bytes <= WS_MAX_REASSEMBLY_PER_SESSION);
	CU_ASSERT_TRUE(held(&r, 1, 12));   /* four held, 2 is not among them */
	CU_ASSERT_TRUE(held(&r, 3, 12));
	CU_ASSERT_TRUE(held(&r, 4, 12));
	CU_ASSERT_TRUE(held(&r, 5, 12));
	/* Small frames still fit beside them (held() has nothing to allocate). */
	CU_ASSERT_EQUAL(addf(&r, 6, 0, 2, 100, 100, 13), 0);
	CU_ASSERT_EQUAL(r.partials, 5);
	CU_ASSERT_EQUAL(atomic_load(&b.used), r.bytes);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
}

/* The daemon budget: a session reclaims only its own frames. */
static void test_daemon_budget(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler x, y;

	ws_frag_budget_init(&b, 600 * 1024);
	ws_reassembler_init(&x, &b);
	ws_reassembler_init(&y, &b);
	CU_ASSERT_EQUAL(addf(&x, 1, 0, 256, 1020, 1020, 0), 0);
	CU_ASSERT_EQUAL(addf(&x, 2, 0, 256, 1020, 1020, 1), 0);
	CU_ASSERT_EQUAL(addf(&y, 1, 0, 256, 1020, 1020, 2), -ENOBUFS);   /* y has nothing to give */
	CU_ASSERT_EQUAL(y.partials, 0);
	CU_ASSERT_EQUAL(x.partials, 2);
	CU_ASSERT_EQUAL(addf(&y, 7, 0, 2, 1000, 1000, 3), 0);             /* small ones fit */
	CU_ASSERT_EQUAL(addf(&x, 3, 0, 256, 1020, 1020, 4), 0);           /* x evicts its own 1 */
	CU_ASSERT_EQUAL(x.partials, 2);
	CU_ASSERT_TRUE(held(&x, 2, 5));    /* so 1 went */
	CU_ASSERT_TRUE(held(&x, 3, 5));
	CU_ASSERT_TRUE(held(&y, 7, 5));
	CU_ASSERT_EQUAL(atomic_load(&b.used), x.bytes + y.bytes);
	CU_ASSERT_TRUE(atomic_load(&b.used) <= b.limit);
	/* Completing frees the buffer at the next call, not before. */
	CU_ASSERT_EQUAL(addf(&y, 7, 1, 2, 1000, 1000, 6), 1);
	CU_ASSERT_TRUE(y.bytes >= 2000);
	CU_ASSERT_EQUAL(addf(&y, 8, 0, 2, 10, 10, 7), 0);
	CU_ASSERT_EQUAL(y.partials, 1);
	CU_ASSERT_TRUE(y.bytes < 2000);                              /* 7's buffer went */
	CU_ASSERT_EQUAL(addf(&y, 8, 1, 2, 10, 10, 8), 1);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&y, 9), 0);            /* the timer releases it */
	CU_ASSERT_EQUAL(y.bytes, 0);
	CU_ASSERT_PTR_NULL(y.done);
	CU_ASSERT_EQUAL(addf(&y, 9, 0, 2, 10, 10, 10), 0);
	ws_reassembler_free(&x);
	CU_ASSERT_EQUAL(atomic_load(&b.used), y.bytes);
	ws_reassembler_free(&y);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	CU_ASSERT_EQUAL(y.bytes, 0);
}

/* Differential model: a set of received indices per frame, cleared on completion. */
struct model {
	uint8_t got[64];
	unsigned n;
};

static bool model_add(struct model *m, uint16_t i, uint16_t count)
{
	if (m->got[i])
		return false;
	m->got[i] = 1;
	if (++m->n < count)
		return false;
	memset(m, 0, sizeof(*m));
	return true;
}

/* Random frames and fragment sizes, shuffled, with duplicates, interleaved. */
static void test_random_reassembly(void)
{
	enum { FRAMES = 40, MAXF = 64 };
	static uint8_t frames[FRAMES][20000];
	static struct { uint32_t f; uint16_t i; } q[FRAMES * MAXF * 2];
	static size_t flen[FRAMES], fsize[FRAMES];
	static uint16_t fcount[FRAMES];
	static struct model model[FRAMES];
	static int completed[FRAMES];
	struct ws_frag_budget b;
	struct ws_reassembler r;
	uint64_t seed = 99;
	size_t nq = 0;
	unsigned left;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	for (uint32_t f = 0; f < FRAMES; f++) {
		fsize[f] = 1 + ws_test_rand(&seed) % 1500;
		flen[f] = fsize[f] + 1 + ws_test_rand(&seed) % (fsize[f] * (MAXF - 1));
		if (flen[f] > sizeof(frames[f]))
			flen[f] = sizeof(frames[f]);
		fcount[f] = (uint16_t)ws_fragment_count(flen[f], fsize[f]);
		CU_ASSERT_TRUE_FATAL(fcount[f] >= 2 && fcount[f] <= MAXF);
		for (size_t k = 0; k < flen[f]; k++)
			frames[f][k] = (uint8_t)ws_test_rand(&seed);
		for (uint16_t i = 0; i < fcount[f]; i++) {
			q[nq].f = f, q[nq++].i = i;
			if (ws_test_rand(&seed) % 4 == 0)
				q[nq].f = f, q[nq++].i = i;          /* duplicate */
		}
	}
	for (size_t k = nq - 1; k > 0; k--) {
		size_t j = ws_test_rand(&seed) % (k + 1);
		__typeof__(q[0]) t = q[k];
		q[k] = q[j];
		q[j] = t;
	}
	for (size_t k = 0; k < nq; k++) {
		uint32_t f = q[k].f;
		uint8_t buf[1600];
		size_t off, len = ws_fragment_span(flen[f], fsize[f], q[k].i, &off), fl;
		size_t n = ws_fragment_write(buf, f + 1000, q[k].i, fcount[f], frames[f] + off, len);
		const uint8_t *out;
		int ret = add(&r, buf, n, k, &out, &fl);

		CU_ASSERT_EQUAL(ret, model_add(&model[f], q[k].i, fcount[f]) ? 1 : 0);
		if (ret == 1) {
			CU_ASSERT_EQUAL(fl, flen[f]);
			CU_ASSERT_EQUAL(memcmp(out, frames[f], fl), 0);
			completed[f]++;
		}
	}
	for (uint32_t f = 0; f < FRAMES; f++)
		CU_ASSERT_TRUE(completed[f] >= 1);
	/* Late duplicates started partials that never complete; they expire. */
	left = r.partials;
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, nq + 20 * SEC), left);
	CU_ASSERT_EQUAL(r.partials, 0);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
}

static void test_free_and_reuse(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler r;

	ws_frag_budget_init(&b, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r, &b);
	CU_ASSERT_TRUE(sizeof(r) <= 64);                 /* idle sessions stay small */
	for (uint32_t id = 0; id < 10; id++)
		CU_ASSERT_EQUAL(addf(&r, id, 1, 3, 500, 500, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 20, 0, 2, 100, 100, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 20, 1, 2, 100, 100, 0), 1);   /* done held until next call */
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(r.partials, 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	CU_ASSERT_PTR_NULL(r.done);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 2, 10, 10, 0), 0);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 2, 10, 10, 0), 1);
	ws_reassembler_free(&r);
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
}

/* When the periodic sweep has something to do: a held frame at once, else the first partial's 20 s. */
static void test_next_expiry(void)
{
	struct ws_reassembler r;

	ws_reassembler_init(&r, NULL);
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), UINT64_MAX);
	CU_ASSERT_EQUAL(addf(&r, 1, 0, 3, 100, 50, 5 * SEC), 0);
	CU_ASSERT_EQUAL(addf(&r, 2, 0, 3, 100, 50, 7 * SEC), 0);
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), 25 * SEC);
	CU_ASSERT_EQUAL(addf(&r, 1, 1, 3, 100, 50, 9 * SEC), 0);     /* frame 1 refreshed */
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), 27 * SEC);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 27 * SEC - 1), 0);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 27 * SEC), 1);
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), 29 * SEC);
	CU_ASSERT_EQUAL(addf(&r, 1, 2, 3, 100, 50, 10 * SEC), 1);    /* complete: held until released */
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), 0);
	CU_ASSERT_EQUAL(ws_reassembler_expire(&r, 10 * SEC), 0);
	CU_ASSERT_EQUAL(r.bytes, 0);
	CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&r), UINT64_MAX);
	ws_reassembler_free(&r);
}

/*
 * Sessions that went quiet holding partial frames fill the shared budget;
 * another session's fragments are refused, and its own adds only expire its
 * own frames. A sweep of the quiet sessions once they are due frees the
 * budget for the others.
 */
static void test_quiet_sessions_swept(void)
{
	struct ws_frag_budget b;
	struct ws_reassembler quiet[2], other;
	unsigned n = 0;

	ws_frag_budget_init(&b, 64 * 1024);
	ws_reassembler_init(&quiet[0], &b);
	ws_reassembler_init(&quiet[1], &b);
	ws_reassembler_init(&other, &b);
	for (uint32_t id = 1; id <= 40; id++)
		n += addf(&quiet[id % 2], id, 0, 2, 1000, 10, 1 * SEC) == 0;
	CU_ASSERT_TRUE(n >= 20);
	CU_ASSERT_EQUAL(addf(&other, 1, 0, 2, 1000, 10, 2 * SEC), -ENOBUFS);
	CU_ASSERT_EQUAL(addf(&other, 1, 0, 2, 1000, 10, 30 * SEC), -ENOBUFS); /* not its memory */
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(ws_reassembler_next_expiry(&quiet[i]), 21 * SEC);
		CU_ASSERT_TRUE(ws_reassembler_expire(&quiet[i], 30 * SEC) > 0);
		CU_ASSERT_EQUAL(quiet[i].bytes, 0);
	}
	CU_ASSERT_EQUAL(atomic_load(&b.used), 0);
	CU_ASSERT_EQUAL(addf(&other, 1, 0, 2, 1000, 10, 30 * SEC), 0);
	ws_reassembler_free(&other);
	ws_reassembler_free(&quiet[0]);
	ws_reassembler_free(&quiet[1]);
}

WS_SUITE(fragment)
{
	WS_ADD(suite, test_vector_split);
	WS_ADD(suite, test_vector_reassemble_all_orders);
	WS_ADD(suite, test_vector_threshold);
	WS_ADD(suite, test_sender_helpers);
	WS_ADD(suite, test_count_one);
	WS_ADD(suite, test_invalid_header);
	WS_ADD(suite, test_loss_and_expiry);
	WS_ADD(suite, test_timeout_refresh);
	WS_ADD(suite, test_duplicates);
	WS_ADD(suite, test_mismatch);
	WS_ADD(suite, test_interleaved);
	WS_ADD(suite, test_partial_limit);
	WS_ADD(suite, test_frame_bound);
	WS_ADD(suite, test_session_bound);
	WS_ADD(suite, test_daemon_budget);
	WS_ADD(suite, test_random_reassembly);
	WS_ADD(suite, test_free_and_reuse);
	WS_ADD(suite, test_next_expiry);
	WS_ADD(suite, test_quiet_sessions_swept);
}
