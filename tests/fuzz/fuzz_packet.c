/* SPDX-License-Identifier: MIT */
/*
 * Transport packets: ws_transport_parse + ws_session_open against the two
 * sessions of the handshake vector (keys and indices from the vectors).
 *
 * Input byte 0 selects the mode:
 *  - even: the rest is one received packet, opened by the session its
 *    receiver_index names (a forged tag is the common case);
 *  - odd: the rest is a sequence of records [type][counter LE64][len][len
 *    bytes], each sealed with a valid tag by the initiator and opened by the
 *    responder, so the post-AEAD paths run (replay update, checked against a
 *    naive model; fragments into a reassembler). Before the genuine packet,
 *    a copy with one bit flipped must fail and change nothing; after it, a
 *    replay must fail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/fragment.h"
#include "core/session.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const uint8_t key_i2r[32] = {
	0x28, 0x3d, 0x2b, 0xda, 0x5f, 0xfe, 0x08, 0x9a, 0x77, 0x67, 0x16, 0x69, 0x4e, 0xee, 0x58, 0x2b,
	0xda, 0x41, 0x52, 0x90, 0x1e, 0x4f, 0x9e, 0x7a, 0x76, 0x4a, 0x07, 0x1f, 0x36, 0x36, 0x47, 0x64};
static const uint8_t key_r2i[32] = {
	0xf3, 0xa9, 0x03, 0x3f, 0x51, 0x28, 0x56, 0x19, 0xf0, 0x8b, 0x73, 0x15, 0xfd, 0x84, 0x9b, 0xde,
	0x21, 0x1e, 0x59, 0xe0, 0x9e, 0x67, 0x1c, 0xcb, 0x58, 0xa0, 0xbc, 0x7a, 0x1e, 0xaa, 0x53, 0xd5};
enum { INI_INDEX = 287454020, RESP_INDEX = 1432778632, MAX_RECORDS = 64 };

static struct ws_session ini, resp;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ws_crypto_init();
}

static void reset_sessions(void)
{
	ws_session_init(&ini, key_i2r, key_r2i, INI_INDEX, RESP_INDEX, true, 0);
	ws_session_init(&resp, key_r2i, key_i2r, RESP_INDEX, INI_INDEX, false, 0);
}

static struct ws_session *lookup(uint32_t index)
{
	return index == INI_INDEX ? &ini : index == RESP_INDEX ? &resp : NULL;
}

/* One received packet, in a buffer of exactly its size. */
static void raw_packet(const uint8_t *data, size_t size)
{
	uint8_t *pkt = malloc(size ? size : 1), *plain;
	struct ws_transport_hdr hdr;
	struct ws_session *s, saved;
	size_t plain_len;
	int ret;

	CHECK(pkt);
	memcpy(pkt, data, size);
	ret = ws_transport_parse(pkt, size, &hdr);
	if (ret) {
		CHECK(ret == -EINVAL);
		/* A header taken from the bytes anyway must still be refused. */
		if (size >= WS_SIZE_DATA_HEADER) {
			hdr.type = pkt[0];
			hdr.receiver_index = ws_le32(pkt + 4);
			hdr.counter = ws_le64(pkt + 8);
			memcpy(&saved, &resp, sizeof(saved));
			CHECK(ws_session_open(&resp, pkt, size, &hdr, &plain, &plain_len) != 0);
			CHECK(!memcmp(&saved, &resp, sizeof(saved)));
		}
		free(pkt);
		return;
	}
	s = lookup(hdr.receiver_index);
	if (s) {
		memcpy(&saved, s, sizeof(saved));
		ret = ws_session_open(s, pkt, size, &hdr, &plain, &plain_len);
		CHECK(ret == 0 || ret == -EBADMSG);
		if (ret)
			CHECK(!memcmp(&saved, s, sizeof(saved)));   /* nothing burnt */
		else
			CHECK(plain == pkt + 16 && plain_len == size - 32);
	}
	free(pkt);
}

/* The naive replay model: accepted counters of this input, and the head. */
struct model {
	uint64_t seen[MAX_RECORDS];
	unsigned n;
	uint64_t head;
};

static bool model_accepts(struct model *m, uint64_t c)
{
	if (c >= UINT64_MAX)
		return false;
	if (c <= m->head) {
		if (m->head - c >= WS_REPLAY_WINDOW)
			return false;
		for (unsigned i = 0; i < m->n; i++)
			if (m->seen[i] == c)
				return false;
	}
	m->seen[m->n++] = c;
	m->head = c > m->head ? c : m->head;
	return true;
}

static bool reassembly_result_ok(int ret)
{
	switch (ret) {
	case 1: case 0: case -EINVAL: case -EPROTO: case -EMSGSIZE: case -ENOSPC: case -ENOBUFS:
		return true;
	default:
		return false;
	}
}

/* A forgery of pkt with one bit flipped: refused, session unchanged. */
static void forged(const uint8_t *pkt, size_t len, size_t bit)
{
	static uint8_t bad[300];
	static struct ws_session saved;
	struct ws_transport_hdr hdr;
	uint8_t *plain;
	size_t plain_len;
	int ret;

	memcpy(bad, pkt, len);
	bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	memcpy(&saved, &resp, sizeof(saved));
	ret = ws_transport_parse(bad, len, &hdr);
	if (ret == 0)
		ret = ws_session_open(&resp, bad, len, &hdr, &plain, &plain_len);
	CHECK(ret == -EINVAL || ret == -EBADMSG || ret == -EALREADY);
	CHECK(!memcmp(&saved, &resp, sizeof(saved)));
}

static uint8_t pick_type(uint8_t b)
{
	return (uint8_t)(WS_MSG_DATA + b % 4);
}

static size_t pick_len(uint8_t type, uint8_t b)
{
	if (type == WS_MSG_KEEPALIVE || type == WS_MSG_DISCONNECT)
		return 0;
	return b;
}

/* Seal with the initiator, open with the responder; check every outcome. */
static void sealed_record(const uint8_t *rec, size_t avail, struct model *m,
			  struct ws_reassembler *ra, uint64_t now)
{
	static uint8_t pkt[300], copy[300];
	uint8_t type = pick_type(rec[0]), *plain;
	uint64_t counter = ws_le64(rec + 1);
	size_t want = pick_len(type, rec[9]), len, plain_len, frame_len;
	struct ws_transport_hdr hdr;
	const uint8_t *frame;
	bool valid, accept;
	int ret;

	if (want > avail)
		want = avail;
	memcpy(pkt + 16, rec + 10, want);
	len = ws_session_seal(&ini, type, counter, pkt, want);
	valid = counter < UINT64_MAX && (type == WS_MSG_DATA ? want >= 1 :
					 type == WS_MSG_DATA_FRAGMENT ? want >= 8 : want == 0);
	CHECK(valid == (len != 0));
	if (!len)
		return;
	CHECK(len == want + 32);
	memcpy(copy, pkt, len);
	forged(pkt, len, ((size_t)rec[9] * 8 + (rec[0] >> 2)) % (len * 8));
	CHECK(ws_transport_parse(pkt, len, &hdr) == 0);
	CHECK(hdr.type == type && hdr.counter == counter && hdr.receiver_index == RESP_INDEX);
	accept = model_accepts(m, counter);
	ret = ws_session_open(&resp, pkt, len, &hdr, &plain, &plain_len);
	CHECK(ret == (accept ? 0 : -EALREADY));
	if (ret)
		return;
	CHECK(plain_len == want && !memcmp(plain, rec + 10, want));
	CHECK(ws_session_open(&resp, copy, len, &hdr, &plain, &plain_len) == -EALREADY);
	if (type == WS_MSG_DATA_FRAGMENT) {
		ret = ws_reassembler_add(ra, pkt + 16, want, now, &frame, &frame_len);
		CHECK(reassembly_result_ok(ret));
		CHECK(ret != 1 || frame_len <= WS_MAX_FRAME_REASSEMBLY || frame == pkt + 24);
		CHECK(ws_reassembler_consistent(ra));
	}
}

static void sealed_sequence(const uint8_t *data, size_t size)
{
	struct ws_frag_budget budget;
	struct ws_reassembler ra;
	struct model m = {0};
	uint64_t now = 0;

	ws_frag_budget_init(&budget, WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&ra, &budget);
	while (size >= 10 && m.n < MAX_RECORDS) {
		size_t want = pick_len(pick_type(data[0]), data[9]);
		size_t avail = size - 10;

		sealed_record(data, avail, &m, &ra, now);
		now += (uint64_t)data[9] * WS_NSEC_PER_SEC / 4;
		want = want < avail ? want : avail;
		data += 10 + want;
		size -= 10 + want;
	}
	ws_reassembler_free(&ra);
	CHECK(atomic_load(&budget.used) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	reset_sessions();
	if (data[0] & 1)
		sealed_sequence(data + 1, size - 1);
	else
		raw_packet(data + 1, size - 1);
	return 0;
}
