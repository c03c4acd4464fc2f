/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the protocol core (not a test): transport seal+open
 * through the library against the bare libsodium AEAD in the same run,
 * handshakes per second per core, and frame encode/decode rates. Prints a
 * Markdown table of medians over rounds.
 *   bench/core [--smoke] [--rounds N]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cookie.h"
#include "core/crypto.h"
#include "core/frame.h"
#include "core/noise.h"
#include "core/session.h"

static double budget_s = 0.5;
static int rounds = 5;
static volatile uint64_t sink;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run fn in batches until the time budget is spent; ops per second, median of rounds. */
static double measure(uint64_t (*fn)(void *ctx, uint64_t n), void *ctx)
{
	double r[32];

	for (int k = 0; k < rounds; k++) {
		uint64_t ops = 0, batch = 64;
		double start = now_s(), t;

		do {
			ops += fn(ctx, batch);
			t = now_s() - start;
			if (t < budget_s / 20)
				batch *= 2;
		} while (t < budget_s);
		r[k] = (double)ops / t;
	}
	qsort(r, (size_t)rounds, sizeof(r[0]), cmp_double);
	return r[rounds / 2];
}

struct aead_ctx {
	size_t len;
	uint8_t key[32];
	uint8_t *buf;
	struct ws_session tx, rx;
};

/* The baseline: what any ChaCha20-Poly1305 tunnel must do per packet. */
static uint64_t bare_seal_open(void *p, uint64_t n)
{
	struct aead_ctx *c = p;
	uint8_t nonce[12] = {0}, tag[16];

	for (uint64_t i = 0; i < n; i++) {
		memcpy(nonce + 4, &i, sizeof(i));
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(c->buf, tag, NULL, c->buf, c->len, NULL, 0,
								   NULL, nonce, c->key);
		if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(c->buf, NULL, c->buf, c->len, tag, NULL,
								       0, nonce, c->key))
			abort();
	}
	return n;
}

/* The library's whole per-packet path: counter, seal, parse, replay, open, commit. */
static uint64_t lib_seal_open(void *p, uint64_t n)
{
	struct aead_ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		struct ws_transport_hdr hdr;
		uint64_t counter;
		uint8_t *plain;
		size_t plain_len, len;

		if (ws_session_next_counter(&c->tx, &counter))
			abort();
		len = ws_session_seal(&c->tx, WS_MSG_DATA, counter, c->buf, c->len);
		if (ws_transport_parse(c->buf, len, &hdr) ||
		    ws_session_open(&c->rx, c->buf, len, &hdr, &plain, &plain_len))
			abort();
		sink += plain_len;
	}
	return n;
}

struct hs_ctx {
	struct ws_noise_local li, lr;
	struct ws_handshake hi, hr;
	struct ws_cookie_maker mi, mr;
	struct ws_cookie_checker cr;
	uint64_t t;
};

static struct ws_handshake *hs_lookup(void *ctx, const uint8_t pub[32])
{
	struct hs_ctx *c = ctx;

	return memcmp(pub, c->li.public_key, 32) ? NULL : &c->hr;
}

/* One full handshake: both roles, MACs included. */
static uint64_t handshake(void *p, uint64_t n)
{
	struct hs_ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		struct ws_msg_init init;
		struct ws_msg_resp resp;
		struct ws_noise_keys ki, kr;
		uint8_t e[32];

		ws_x25519_genkey(e);
		if (!ws_noise_create_init(&c->hi, &c->li, &init, e, 1, c->t += 1000))
			abort();
		ws_cookie_add_macs(&c->mi, (uint8_t *)&init, sizeof(init), 0);
		if (ws_cookie_validate(&c->cr, (uint8_t *)&init, sizeof(init), "x", 1, false, 0) == WS_COOKIE_INVALID ||
		    !ws_noise_consume_init(&c->lr, &init, c->t, hs_lookup, c))
			abort();
		ws_x25519_genkey(e);
		if (!ws_noise_create_resp(&c->hr, &c->lr, &resp, e, 2) || !ws_noise_derive_keys(&c->hr, &kr))
			abort();
		ws_cookie_add_macs(&c->mr, (uint8_t *)&resp, sizeof(resp), 0);
		if (!ws_noise_consume_resp(&c->hi, &c->li, &resp) || !ws_noise_derive_keys(&c->hi, &ki))
			abort();
		sink += ki.send[0] ^ kr.recv[0];
	}
	return n;
}

/* Initiator only: create a HandshakeInit (2 DH + 1 keygen). */
static uint64_t handshake_init_only(void *p, uint64_t n)
{
	struct hs_ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		struct ws_msg_init init;
		uint8_t e[32];

		ws_x25519_genkey(e);
		if (!ws_noise_create_init(&c->hi, &c->li, &init, e, 1, c->t += 1000))
			abort();
		ws_cookie_add_macs(&c->mi, (uint8_t *)&init, sizeof(init), 0);
	}
	return n;
}

struct frame_ctx {
	uint8_t buf[2048], payload[1420];
	size_t n_events, event_len;
};

static uint64_t frame_encode(void *p, uint64_t n)
{
	struct frame_ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		struct ws_frame_writer w;

		ws_frame_writer_init(&w, c->buf, sizeof(c->buf), 1);
		for (size_t e = 0; e < c->n_events; e++)
			ws_frame_writer_add(&w, 1, c->payload, c->event_len);
		ws_frame_writer_finish(&w, 0, 0, 0, 0);
		sink += ws_frame_writer_len(&w);
	}
	return n;
}

static uint64_t frame_decode(void *p, uint64_t n)
{
	struct frame_ctx *c = p;
	struct ws_frame_writer w;

	ws_frame_writer_init(&w, c->buf, sizeof(c->buf), 1);
	for (size_t e = 0; e < c->n_events; e++)
		ws_frame_writer_add(&w, 1, c->payload, c->event_len);
	ws_frame_writer_finish(&w, 0, 0, 0, 0);
	for (uint64_t i = 0; i < n; i++) {
		struct ws_frame_info info;
		struct ws_frame_iter it;
		struct ws_event ev;

		if (ws_frame_parse(c->buf, ws_frame_writer_len(&w), &info))
			abort();
		ws_frame_iter_init(&it, &info);
		while (ws_frame_iter_next(&it, &ev))
			sink += ev.len;
	}
	return n;
}

static void bench_aead(void)
{
	static const size_t sizes[] = {64, 512, 1420};
	static struct aead_ctx c;
	uint8_t k2[32];

	printf("| transport seal+open | bare libsodium (pkt/s) | library (pkt/s) | library/bare | overhead |\n");
	printf("|---|---|---|---|---|\n");
	ws_random(c.key, 32);
	ws_random(k2, 32);
	c.buf = calloc(1, 2048);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double bare, lib;

		c.len = sizes[i];
		ws_session_init(&c.tx, c.key, k2, 1, 2, true, 0);
		ws_session_init(&c.rx, k2, c.key, 2, 1, false, 0);
		bare = measure(bare_seal_open, &c);
		lib = measure(lib_seal_open, &c);
		printf("| %zu B | %.0f | %.0f | %.3f | %.1f%% |\n", sizes[i], bare, lib, lib / bare,
		       100.0 * (1.0 - lib / bare));
	}
	free(c.buf);
}

static void bench_handshakes(void)
{
	static struct hs_ctx c;
	uint8_t ki[32], kr[32];
	double full, init;

	ws_x25519_genkey(ki);
	ws_x25519_genkey(kr);
	if (!ws_noise_local_init(&c.li, ki) || !ws_noise_local_init(&c.lr, kr) ||
	    !ws_handshake_init(&c.hi, &c.li, c.lr.public_key) || !ws_handshake_init(&c.hr, &c.lr, c.li.public_key))
		abort();
	ws_cookie_maker_init(&c.mi, c.lr.public_key);
	ws_cookie_maker_init(&c.mr, c.li.public_key);
	ws_cookie_checker_init(&c.cr, c.lr.public_key, 0);
	c.t = 1767225600ULL * 1000000000ULL;
	full = measure(handshake, &c);
	init = measure(handshake_init_only, &c);
	printf("\n| handshakes (one core) | per second |\n|---|---|\n");
	printf("| full handshake, both roles | %.0f |\n", full);
	printf("| initiator: HandshakeInit created | %.0f |\n", init);
	printf("| responder: init consumed + resp created (derived) | %.0f |\n",
	       1.0 / (1.0 / full - 1.0 / init) / 1.0);
}

static void bench_frames(void)
{
	static struct frame_ctx c;
	static const size_t shapes[][2] = {{1, 1420}, {16, 64}};

	printf("\n| frames | encode (frames/s) | decode+iterate (frames/s) |\n|---|---|---|\n");
	for (size_t i = 0; i < 2; i++) {
		c.n_events = shapes[i][0];
		c.event_len = shapes[i][1];
		printf("| %zu event(s) of %zu B | %.0f | %.0f |\n", c.n_events, c.event_len,
		       measure(frame_encode, &c), measure(frame_decode, &c));
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			budget_s = 0.02;
			rounds = 1;
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
			if (rounds < 1 || rounds > 31)
				rounds = 5;
		}
	}
	if (ws_crypto_init())
		return 1;
	printf("# wiresocket core benchmark (median of %d rounds, %.2f s each)\n\n", rounds, budget_s);
	bench_aead();
	bench_handshakes();
	bench_frames();
	return 0;
}
