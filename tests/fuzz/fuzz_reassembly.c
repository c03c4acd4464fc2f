/* SPDX-License-Identifier: MIT */
/*
 * Reassembly: the input is a sequence of fragment plaintexts with time steps,
 * fed into two reassemblers that share one budget; after every call the
 * bounds must hold (DECISIONS 23) and at the end every byte is returned.
 *
 * Byte 0: bit 0 set gives a small shared budget (300 KiB) so that daemon-wide
 * eviction happens, else 64 MiB. Then records, each starting with a byte
 * [bit 7: which reassembler][bit 6: synthetic][bits 0-5: time step in 0.5 s]:
 *  - raw:       len (LE16), then len bytes of plaintext (cut at the input end);
 *  - synthetic: frame_id (1 byte), frag_index (LE16), frag_count (LE16),
 *               data length (LE16): a fragment built here (data bytes all
 *               one value), so that large frames and all bounds are reachable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/fragment.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum { SYNTH_MAX = 65535 + WS_SIZE_FRAGMENT_HEADER };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ws_crypto_init();
}

static bool result_ok(int ret)
{
	switch (ret) {
	case 1: case 0: case -EINVAL: case -EPROTO: case -EMSGSIZE: case -ENOSPC: case -ENOBUFS:
		return true;
	default:
		return false;
	}
}

/* Every completed frame is readable and within bounds. */
static unsigned touch(const uint8_t *frame, size_t len)
{
	unsigned sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += frame[i];
	return sum;
}

static void check_bounds(const struct ws_reassembler r[2], const struct ws_frag_budget *b)
{
	size_t used = atomic_load(&b->used);

	for (int i = 0; i < 2; i++) {
		CHECK(ws_reassembler_consistent(&r[i]));
		CHECK(r[i].bytes <= WS_MAX_REASSEMBLY_PER_SESSION);
		CHECK(r[i].partials <= WS_MAX_INCOMPLETE_FRAMES);
	}
	CHECK(used == r[0].bytes + r[1].bytes);
	CHECK(used <= b->limit);
}

/* Build one fragment plaintext from the record at *data; returns its length. */
static size_t next_fragment(const uint8_t **data, size_t *size, bool synth, uint8_t *out)
{
	size_t len;

	if (!synth) {
		if (*size < 2)
			return *size = 0;
		len = ws_le16(*data);
		*data += 2, *size -= 2;
		len = len < *size ? len : *size;
		memcpy(out, *data, len);
		*data += len, *size -= len;
		return len;
	}
	if (*size < 7)
		return *size = 0;
	len = ws_le16(*data + 5);
	ws_put_le32(out, (*data)[0]);
	memcpy(out + 4, *data + 1, 4);              /* index, count as given */
	memset(out + WS_SIZE_FRAGMENT_HEADER, (*data)[0] * 31 + (*data)[1], len);
	*data += 7, *size -= 7;
	return WS_SIZE_FRAGMENT_HEADER + len;
}

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SYNTH_MAX];
	struct ws_frag_budget budget;
	struct ws_reassembler r[2];
	uint64_t now = 1000 * WS_NSEC_PER_SEC;

	if (size < 1)
		return 0;
	ws_frag_budget_init(&budget, data[0] & 1 ? 300 * 1024 : WS_MAX_REASSEMBLY_PER_DAEMON);
	ws_reassembler_init(&r[0], &budget);
	ws_reassembler_init(&r[1], &budget);
	data++, size--;
	while (size > 0) {
		uint8_t head = data[0];
		struct ws_reassembler *ra = &r[head >> 7];
		const uint8_t *frame;
		size_t frame_len, len;
		int ret;

		data++, size--;
		len = next_fragment(&data, &size, head & 0x40, buf);
		now += (uint64_t)(head & 0x3f) * WS_NSEC_PER_SEC / 2;
		ret = ws_reassembler_add(ra, buf, len, now, &frame, &frame_len);
		CHECK(result_ok(ret));
		if (ret == 1) {
			CHECK(frame_len <= WS_MAX_FRAME_REASSEMBLY || frame == buf + 8);
			sink += touch(frame, frame_len);
		}
		check_bounds(r, &budget);
	}
	ws_reassembler_free(&r[0]);
	ws_reassembler_free(&r[1]);
	CHECK(atomic_load(&budget.used) == 0);
	CHECK(r[0].partials == 0 && r[0].bytes == 0 && r[1].bytes == 0);
	return 0;
}
