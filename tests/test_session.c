/* SPDX-License-Identifier: MIT */
/* Transport sealing and opening against the "transport" vectors (spec 4.4-4.6). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/session.h"
#include "test.h"
#include "vectors.h"

enum { PKT_MAX = 2048 };

/* The two ends of the handshake vector's session. */
static void make_pair(struct ws_session *ini, struct ws_session *resp)
{
	uint8_t isend[32], irecv[32];
	uint32_t iidx = (uint32_t)ws_vec_u64(NULL, "handshake.handshake_init_fields.sender_index");
	uint32_t ridx = (uint32_t)ws_vec_u64(NULL, "handshake.handshake_resp_fields.sender_index");

	ws_vec_hex(NULL, "handshake.transport_keys.initiator_send", isend, 32);
	ws_vec_hex(NULL, "handshake.transport_keys.initiator_recv", irecv, 32);
	ws_session_init(ini, isend, irecv, iidx, ridx, true, 1000);
	ws_session_init(resp, irecv, isend, ridx, iidx, false, 2000);
}

static json_t *packets(void)
{
	json_t *arr = ws_vec_get(NULL, "transport.packets");

	CU_ASSERT_TRUE_FATAL(json_array_size(arr) > 0);
	return arr;
}

static bool from_initiator(json_t *v)
{
	return !strcmp(ws_vec_str(v, "direction"), "initiator->responder");
}

static void test_session_init(void)
{
	struct ws_session ini, resp;

	make_pair(&ini, &resp);
	CU_ASSERT_TRUE(ini.initiator);
	CU_ASSERT_FALSE(resp.initiator);
	CU_ASSERT_EQUAL(ini.local_index, resp.remote_index);
	CU_ASSERT_EQUAL(ini.remote_index, resp.local_index);
	CU_ASSERT_EQUAL(memcmp(ini.send_key, resp.recv_key, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ini.recv_key, resp.send_key, 32), 0);
	CU_ASSERT_EQUAL(ini.birth_ns, 1000);
	CU_ASSERT_EQUAL(ini.send_counter, 0);
	CU_ASSERT_EQUAL(ini.replay.head, 0);
}

/* Seal reproduces every vector packet byte for byte, in both directions. */
static void test_vectors_seal(void)
{
	json_t *v;
	size_t i;

	json_array_foreach(packets(), i, v) {
		struct ws_session ini, resp, *tx;
		uint8_t key[32], nonce[12], want_nonce[12], buf[PKT_MAX], want[PKT_MAX];
		uint64_t counter = ws_vec_u64(v, "counter");
		long plen = ws_vec_hex(v, "plaintext", buf + 16, PKT_MAX - 32);
		long wlen = ws_vec_hex(v, "packet", want, PKT_MAX);

		make_pair(&ini, &resp);
		tx = from_initiator(v) ? &ini : &resp;
		ws_vec_hex(v, "key", key, 32);
		CU_ASSERT_EQUAL(memcmp(key, tx->send_key, 32), 0);
		CU_ASSERT_EQUAL(ws_vec_u64(v, "receiver_index"), tx->remote_index);
		ws_vec_hex(v, "nonce", want_nonce, 12);
		memset(nonce, 0, 4);
		ws_put_le64(nonce + 4, counter);
		CU_ASSERT_EQUAL(memcmp(nonce, want_nonce, 12), 0);
		CU_ASSERT_EQUAL_FATAL(ws_session_seal(tx, (uint8_t)ws_vec_u64(v, "type"), counter, buf,
						      (size_t)plen),
				      (size_t)wlen);
		CU_ASSERT_EQUAL(memcmp(buf, want, (size_t)wlen), 0);
	}
}

/* Parse and open every vector packet at its receiver, then refuse the replay. */
static void test_vectors_open(void)
{
	json_t *v;
	size_t i;

	json_array_foreach(packets(), i, v) {
		struct ws_session ini, resp, *rx;
		struct ws_transport_hdr hdr;
		uint8_t pkt[PKT_MAX], copy[PKT_MAX], plain_want[PKT_MAX], *plain = NULL;
		long len = ws_vec_hex(v, "packet", pkt, PKT_MAX);
		long plen = ws_vec_hex(v, "plaintext", plain_want, PKT_MAX);
		size_t plain_len = 99;

		make_pair(&ini, &resp);
		rx = from_initiator(v) ? &resp : &ini;
		memcpy(copy, pkt, (size_t)len);
		CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkt, (size_t)len, &hdr), 0);
		CU_ASSERT_EQUAL(hdr.type, ws_vec_u64(v, "type"));
		CU_ASSERT_EQUAL(hdr.counter, ws_vec_u64(v, "counter"));
		CU_ASSERT_EQUAL(hdr.receiver_index, rx->local_index);
		CU_ASSERT_EQUAL_FATAL(ws_session_open(rx, pkt, (size_t)len, &hdr, &plain, &plain_len), 0);
		CU_ASSERT_PTR_EQUAL(plain, pkt + 16);
		CU_ASSERT_EQUAL(plain_len, (size_t)plen);
		CU_ASSERT_EQUAL(memcmp(plain, plain_want, (size_t)plen), 0);
		CU_ASSERT_EQUAL(rx->replay.head, hdr.counter);
		/* The same packet again is a replay, caught before the AEAD. */
		CU_ASSERT_EQUAL(ws_session_open(rx, copy, (size_t)len, &hdr, &plain, &plain_len),
				-EALREADY);
		if (hdr.type == WS_MSG_KEEPALIVE || hdr.type == WS_MSG_DISCONNECT)
			CU_ASSERT_EQUAL(len, WS_SIZE_KEEPALIVE);
	}
}

/* All initiator->responder vector packets on one session, in counter order. */
static void test_vectors_one_session(void)
{
	static const uint64_t order[] = {0, 1, 2, 3, 4294967296ULL};
	struct ws_session ini, resp;
	unsigned opened = 0;

	make_pair(&ini, &resp);
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		json_t *v;
		size_t i;

		json_array_foreach(packets(), i, v) {
			struct ws_transport_hdr hdr;
			uint8_t pkt[PKT_MAX], *plain;
			size_t plain_len;
			long len;

			if (!from_initiator(v) || ws_vec_u64(v, "counter") != order[k])
				continue;
			len = ws_vec_hex(v, "packet", pkt, PKT_MAX);
			CU_ASSERT_EQUAL(ws_transport_parse(pkt, (size_t)len, &hdr), 0);
			CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, (size_t)len, &hdr, &plain,
							&plain_len), 0);
			opened++;
		}
	}
	CU_ASSERT_EQUAL(opened, 5);
}

static void test_next_counter_exhaustion(void)
{
	struct ws_session s, r;
	uint64_t c = 0;

	make_pair(&s, &r);
	CU_ASSERT_EQUAL(ws_session_next_counter(&s, &c), 0);
	CU_ASSERT_EQUAL(c, 0);
	CU_ASSERT_EQUAL(ws_session_next_counter(&s, &c), 0);
	CU_ASSERT_EQUAL(c, 1);
	atomic_store(&s.send_counter, UINT64_MAX - 2);
	CU_ASSERT_EQUAL(ws_session_next_counter(&s, &c), 0);
	CU_ASSERT_EQUAL(c, UINT64_MAX - 2);
	CU_ASSERT_EQUAL(ws_session_next_counter(&s, &c), 0);
	CU_ASSERT_EQUAL(c, UINT64_MAX - 1);            /* the last usable counter */
	for (int i = 0; i < 3; i++) {
		c = 42;
		CU_ASSERT_EQUAL(ws_session_next_counter(&s, &c), -ESTALE);
		CU_ASSERT_EQUAL(c, 42);
	}
	CU_ASSERT_EQUAL(s.send_counter, UINT64_MAX);   /* saturated, never wraps */
}

/* The last counter seals and opens; 2^64-1 neither seals nor parses. */
static void test_last_counter_on_wire(void)
{
	struct ws_session ini, resp;
	struct ws_transport_hdr hdr;
	uint8_t pkt[64] = {0}, *plain;
	size_t n, plain_len;

	make_pair(&ini, &resp);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_KEEPALIVE, UINT64_MAX, pkt, 0), 0);
	n = ws_session_seal(&ini, WS_MSG_KEEPALIVE, UINT64_MAX - 1, pkt, 0);
	CU_ASSERT_EQUAL_FATAL(n, 32);
	CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkt, n, &hdr), 0);
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &hdr, &plain, &plain_len), 0);
	ws_put_le64(pkt + 8, UINT64_MAX);
	CU_ASSERT_EQUAL(ws_transport_parse(pkt, n, &hdr), -EINVAL);
}

struct counter_job {
	struct ws_session *s;
	uint64_t got[2000];
	unsigned n, stale;
};

static void *counter_worker(void *arg)
{
	struct counter_job *j = arg;

	for (int i = 0; i < 2000; i++) {
		uint64_t c;

		if (ws_session_next_counter(j->s, &c) == 0)
			j->got[j->n++] = c;
		else
			j->stale++;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Four threads race past the end: each of the last 5000 counters once, no wrap. */
static void test_next_counter_concurrent(void)
{
	static struct counter_job jobs[4];
	static uint64_t all[8000];
	struct ws_session s, r;
	pthread_t t[4];
	unsigned n = 0, stale = 0;

	make_pair(&s, &r);
	atomic_store(&s.send_counter, UINT64_MAX - 5000);
	for (int i = 0; i < 4; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].s = &s;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, counter_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		memcpy(all + n, jobs[i].got, jobs[i].n * sizeof(uint64_t));
		n += jobs[i].n;
		stale += jobs[i].stale;
	}
	CU_ASSERT_EQUAL(n, 5000);
	CU_ASSERT_EQUAL(stale, 3000);
	qsort(all, n, sizeof(all[0]), cmp_u64);
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(all[i], UINT64_MAX - 5000 + i);
	CU_ASSERT_EQUAL(s.send_counter, UINT64_MAX);
}

static void test_seal_contract(void)
{
	struct ws_session ini, resp;
	uint8_t pkt[128], zero[128] = {0};

	make_pair(&ini, &resp);
	memset(pkt, 0, sizeof(pkt));
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DATA, 0, pkt, 0), 0);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_KEEPALIVE, 0, pkt, 1), 0);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DISCONNECT, 0, pkt, 1), 0);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DATA_FRAGMENT, 0, pkt, 7), 0);
	for (unsigned t = 0; t < 256; t++)
		if (t < WS_MSG_DATA || t > WS_MSG_DATA_FRAGMENT)
			CU_ASSERT_EQUAL(ws_session_seal(&ini, (uint8_t)t, 0, pkt, 8), 0);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DATA, UINT64_MAX, pkt, 8), 0);
	CU_ASSERT_EQUAL(memcmp(pkt, zero, sizeof(pkt)), 0);   /* nothing written */
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DATA, 0, pkt, 1), 33);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DATA_FRAGMENT, 0, pkt, 8), 40);
	CU_ASSERT_EQUAL(ws_session_seal(&ini, WS_MSG_DISCONNECT, 0, pkt, 0), 32);
	CU_ASSERT_EQUAL(pkt[0], WS_MSG_DISCONNECT);
	CU_ASSERT_EQUAL(pkt[1] | pkt[2] | pkt[3], 0);
	CU_ASSERT_EQUAL(ws_le32(pkt + 4), ini.remote_index);
}

/* The size rule of DECISIONS 12, written independently. */
static bool model_valid(uint8_t type, size_t len)
{
	switch (type) {
	case 4: return len >= 33;
	case 5:
	case 6: return len == 32;
	case 7: return len >= 40;
	default: return false;
	}
}

/* Every type x length, and every reserved bit: parse agrees with the model;
 * open refuses a size that disagrees with hdr, with no state change. */
static void test_parse_malformed(void)
{
	struct ws_session ini, resp, saved;
	struct ws_transport_hdr hdr, good;
	uint8_t pkt[128], *plain;
	size_t plain_len, n;

	make_pair(&ini, &resp);
	memset(pkt, 0, sizeof(pkt));
	n = ws_session_seal(&ini, WS_MSG_DATA, 5, pkt, 60);
	CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkt, n, &good), 0);
	memcpy(&saved, &resp, sizeof(saved));
	for (unsigned t = 0; t < 256; t++) {
		for (size_t len = 0; len <= n; len++) {
			int ret;

			pkt[0] = (uint8_t)t;
			ret = ws_transport_parse(pkt, len, &hdr);
			CU_ASSERT_EQUAL(ret == 0, model_valid((uint8_t)t, len));
			if (ret == 0) {
				CU_ASSERT_EQUAL(hdr.type, t);
				CU_ASSERT_EQUAL(hdr.counter, 5);
				CU_ASSERT_EQUAL(hdr.receiver_index, resp.local_index);
			} else {
				CU_ASSERT_EQUAL(ret, -EINVAL);
				hdr = good;
				hdr.type = (uint8_t)t;
				CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, len, &hdr, &plain,
								&plain_len), -EINVAL);
			}
		}
	}
	pkt[0] = WS_MSG_DATA;
	for (int byte = 1; byte < 4; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			pkt[byte] ^= (uint8_t)(1 << bit);
			CU_ASSERT_EQUAL(ws_transport_parse(pkt, n, &hdr), -EINVAL);
			CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &good, &plain, &plain_len),
					-EINVAL);
			pkt[byte] ^= (uint8_t)(1 << bit);
		}
	}
	CU_ASSERT_EQUAL(memcmp(&saved, &resp, sizeof(saved)), 0);
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &good, &plain, &plain_len), 0);
	CU_ASSERT_EQUAL(plain_len, 60);
}

/* A hdr that does not belong to the packet, or a packet for another session. */
static void test_open_mismatch(void)
{
	struct ws_session ini, resp, saved;
	struct ws_transport_hdr hdr, bad;
	uint8_t pkt[128], copy[128], *plain;
	size_t plain_len, n;

	make_pair(&ini, &resp);
	memset(pkt, 0xab, sizeof(pkt));
	n = ws_session_seal(&ini, WS_MSG_DATA, 9, pkt, 20);
	memcpy(copy, pkt, n);
	CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkt, n, &hdr), 0);
	memcpy(&saved, &ini, sizeof(saved));
	CU_ASSERT_EQUAL(ws_session_open(&ini, pkt, n, &hdr, &plain, &plain_len), -EINVAL);
	CU_ASSERT_EQUAL(memcmp(&saved, &ini, sizeof(saved)), 0);
	memcpy(&saved, &resp, sizeof(saved));
	bad = hdr;
	bad.counter = 10;
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &bad, &plain, &plain_len), -EINVAL);
	bad = hdr;
	bad.receiver_index ^= 1;
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &bad, &plain, &plain_len), -EINVAL);
	bad = hdr;
	bad.type = WS_MSG_DATA_FRAGMENT;
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &bad, &plain, &plain_len), -EINVAL);
	CU_ASSERT_EQUAL(memcmp(&saved, &resp, sizeof(saved)), 0);
	CU_ASSERT_EQUAL(memcmp(copy, pkt, n), 0);
	/* Right index, wrong key: the tag fails. */
	memcpy(resp.recv_key, ini.recv_key, 32);
	CU_ASSERT_EQUAL(ws_session_open(&resp, pkt, n, &hdr, &plain, &plain_len), -EBADMSG);
	CU_ASSERT_EQUAL(resp.replay.head, 0);
}

/* Every bit of a vector packet flipped: refused, no counter burnt, genuine accepted after. */
static void test_bit_flips(void)
{
	json_t *v;
	size_t i;

	json_array_foreach(packets(), i, v) {
		struct ws_session ini, resp, *rx, saved;
		struct ws_transport_hdr hdr;
		uint8_t pkt[PKT_MAX], work[PKT_MAX], *plain;
		size_t plain_len;
		long len = ws_vec_hex(v, "packet", pkt, PKT_MAX);

		make_pair(&ini, &resp);
		rx = from_initiator(v) ? &resp : &ini;
		memcpy(&saved, rx, sizeof(saved));
		for (size_t bit = 0; bit < (size_t)len * 8; bit++) {
			int ret;

			memcpy(work, pkt, (size_t)len);
			work[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			ret = ws_transport_parse(work, (size_t)len, &hdr);
			if (ret == 0)
				ret = ws_session_open(rx, work, (size_t)len, &hdr, &plain, &plain_len);
			/* Counter, ciphertext, tag: the AEAD says no. Type, reserved
			 * bytes, index: malformed or not this session's. */
			CU_ASSERT_EQUAL(ret, bit >= 64 ? -EBADMSG : -EINVAL);
		}
		CU_ASSERT_EQUAL(memcmp(&saved, rx, sizeof(saved)), 0);
		CU_ASSERT_EQUAL(ws_transport_parse(pkt, (size_t)len, &hdr), 0);
		CU_ASSERT_EQUAL(ws_session_open(rx, pkt, (size_t)len, &hdr, &plain, &plain_len), 0);
	}
}

/* Two workers decrypt copies of one packet; only the first commit wins. */
static void test_split_race(void)
{
	struct ws_session ini, resp;
	struct ws_transport_hdr hdr;
	uint8_t a[64], b[64], *pa, *pb;
	size_t la, lb, n;

	make_pair(&ini, &resp);
	memcpy(a + 16, "\x01xyz", 4);
	n = ws_session_seal(&ini, WS_MSG_DATA, 77, a, 4);
	memcpy(b, a, n);
	CU_ASSERT_EQUAL_FATAL(ws_transport_parse(a, n, &hdr), 0);
	CU_ASSERT_EQUAL(ws_session_open_decrypt(&resp, a, n, &hdr, &pa, &la), 0);
	CU_ASSERT_EQUAL(ws_session_open_decrypt(&resp, b, n, &hdr, &pb, &lb), 0);
	CU_ASSERT_EQUAL(la, 4);
	CU_ASSERT_EQUAL(memcmp(pa, pb, 4), 0);
	CU_ASSERT_EQUAL(resp.replay.head, 0);            /* decrypt changes nothing */
	CU_ASSERT_EQUAL(ws_session_open_commit(&resp, hdr.counter), 0);
	CU_ASSERT_EQUAL(ws_session_open_commit(&resp, hdr.counter), -EALREADY);
	CU_ASSERT_EQUAL(resp.replay.head, 77);
}

/* Random types, lengths and delivery order within the window. */
static void test_roundtrip_random(void)
{
	static const uint8_t types[] = {WS_MSG_DATA, WS_MSG_DISCONNECT, WS_MSG_KEEPALIVE,
					WS_MSG_DATA_FRAGMENT};
	enum { N = 64, LEN_MAX = 1500 };
	static uint8_t pkts[N][LEN_MAX + 32], plains[N][LEN_MAX];
	static size_t lens[N], plens[N];
	struct ws_session ini, resp;
	uint64_t seed = 42;

	make_pair(&ini, &resp);
	for (int round = 0; round < 20; round++) {
		for (int k = 0; k < N; k++) {
			uint8_t type = types[ws_test_rand(&seed) % 4];
			uint64_t c;

			plens[k] = type == WS_MSG_DATA ? 1 + ws_test_rand(&seed) % LEN_MAX :
				   type == WS_MSG_DATA_FRAGMENT ? 8 + ws_test_rand(&seed) % (LEN_MAX - 8) : 0;
			for (size_t b = 0; b < plens[k]; b++)
				plains[k][b] = (uint8_t)ws_test_rand(&seed);
			memcpy(pkts[k] + 16, plains[k], plens[k]);
			CU_ASSERT_EQUAL_FATAL(ws_session_next_counter(&ini, &c), 0);
			lens[k] = ws_session_seal(&ini, type, c, pkts[k], plens[k]);
			CU_ASSERT_EQUAL_FATAL(lens[k], plens[k] + 32);
		}
		for (int k = N - 1; k > 0; k--) {       /* shuffle delivery */
			int j = (int)(ws_test_rand(&seed) % (uint64_t)(k + 1));
			uint8_t tmp[LEN_MAX + 32], tp[LEN_MAX];
			size_t tl = lens[k], tpl = plens[k];

			memcpy(tmp, pkts[k], sizeof(tmp));
			memcpy(tp, plains[k], sizeof(tp));
			memcpy(pkts[k], pkts[j], sizeof(tmp));
			memcpy(plains[k], plains[j], sizeof(tp));
			memcpy(pkts[j], tmp, sizeof(tmp));
			memcpy(plains[j], tp, sizeof(tp));
			lens[k] = lens[j], plens[k] = plens[j];
			lens[j] = tl, plens[j] = tpl;
		}
		for (int k = 0; k < N; k++) {
			struct ws_transport_hdr hdr;
			uint8_t *plain;
			size_t plain_len;

			CU_ASSERT_EQUAL_FATAL(ws_transport_parse(pkts[k], lens[k], &hdr), 0);
			CU_ASSERT_EQUAL_FATAL(ws_session_open(&resp, pkts[k], lens[k], &hdr, &plain,
							      &plain_len), 0);
			CU_ASSERT_EQUAL(plain_len, plens[k]);
			CU_ASSERT_EQUAL(memcmp(plain, plains[k], plens[k]), 0);
		}
	}
	CU_ASSERT_EQUAL(resp.replay.head, 20 * N - 1);
}

static void test_wipe(void)
{
	struct ws_session ini, resp;
	uint8_t zero[sizeof(struct ws_session)] = {0};

	make_pair(&ini, &resp);
	ws_session_wipe(&ini);
	CU_ASSERT_EQUAL(memcmp(&ini, zero, sizeof(ini)), 0);
}

WS_SUITE(session)
{
	WS_ADD(suite, test_session_init);
	WS_ADD(suite, test_vectors_seal);
	WS_ADD(suite, test_vectors_open);
	WS_ADD(suite, test_vectors_one_session);
	WS_ADD(suite, test_next_counter_exhaustion);
	WS_ADD(suite, test_last_counter_on_wire);
	WS_ADD(suite, test_next_counter_concurrent);
	WS_ADD(suite, test_seal_contract);
	WS_ADD(suite, test_parse_malformed);
	WS_ADD(suite, test_open_mismatch);
	WS_ADD(suite, test_bit_flips);
	WS_ADD(suite, test_split_race);
	WS_ADD(suite, test_roundtrip_random);
	WS_ADD(suite, test_wipe);
}
