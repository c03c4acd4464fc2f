/* SPDX-License-Identifier: MIT */
/*
 * Differential fuzzing of AllowedIPs: the input is a script of insert, remove,
 * lookup, remove_by_peer, walk and packet-lookup operations, run against the
 * trie and against a naive linear list; any disagreement, broken invariant or
 * leak aborts.
 *
 * Script: one opcode byte, then its operands:
 *   op & 7 = 0,1 insert  [cidr][addr][peer]    2 remove [cidr][addr]
 *            3,4 lookup  [addr] (op & 0x40: also through a built IP header)
 *            5 remove_by_peer [peer]   6 walk [peer]   7 raw packet [len][bytes]
 *   op & 0x08: IPv6, else IPv4. op & 0x10: addr is compact (3 bytes b0 b1 b2:
 *   all zero but a[b0 % n] = b1, a[n-1] ^= b2, so prefixes share long runs),
 *   else raw (4 or 16 bytes). A script that ends mid-operation stops there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/allowedips.h"
#include "core/crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MODEL_MAX = 512, N_PEERS = 8 };

static int peers[N_PEERS];

struct entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	void *peer;
};

static struct entry model[MODEL_MAX];
static int model_n;

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static unsigned alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask(uint8_t *a, int family, unsigned cidr)
{
	for (unsigned i = 0; i < alen(family); i++) {
		unsigned keep = cidr > 8 * i ? cidr - 8 * i : 0;

		a[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff00 >> keep);
	}
}

static bool take_addr(struct cursor *c, uint8_t op, int family, uint8_t a[16])
{
	uint8_t b[3];
	unsigned n = alen(family);

	memset(a, 0, 16);
	if (!(op & 0x10))
		return take(c, a, n);
	if (!take(c, b, 3))
		return false;
	a[b[0] % n] = b[1];
	a[n - 1] ^= b[2];
	return true;
}

static int model_find(int family, const uint8_t *a, uint8_t cidr)
{
	for (int i = 0; i < model_n; i++)
		if (model[i].family == family && model[i].cidr == cidr &&
		    !memcmp(model[i].addr, a, 16))
			return i;
	return -1;
}

static void *model_lookup(int family, const uint8_t *addr)
{
	int best = -1;

	for (int i = 0; i < model_n; i++) {
		uint8_t a[16];

		if (model[i].family != family)
			continue;
		memcpy(a, addr, 16);
		mask(a, family, model[i].cidr);
		if (!memcmp(a, model[i].addr, 16) && (best < 0 || model[i].cidr > model[best].cidr))
			best = i;
	}
	return best < 0 ? NULL : model[best].peer;
}

static void check(const struct ws_allowedips *t)
{
	if (ws_allowedips_check(t) != 0 || t->prefixes != (size_t)model_n)
		abort();
}

static void op_insert(struct ws_allowedips *t, struct cursor *c, uint8_t op, int family)
{
	uint8_t cidr, a[16], p;
	int i;

	if (!take(c, &cidr, 1) || !take_addr(c, op, family, a) || !take(c, &p, 1))
		return;
	cidr %= 8 * alen(family) + 1;
	mask(a, family, cidr);
	i = model_find(family, a, cidr);
	if (i < 0) {
		if (model_n == MODEL_MAX)
			return;
		i = model_n++;
		model[i].family = family;
		memcpy(model[i].addr, a, 16);
		model[i].cidr = cidr;
	}
	model[i].peer = &peers[p % N_PEERS];
	/* Host bits set in the call must not matter. */
	if (cidr < 8 * alen(family))
		a[alen(family) - 1] |= (uint8_t)(p >> 3 & 1);
	if (ws_allowedips_insert(t, family, a, cidr, &peers[p % N_PEERS]) != 0)
		abort();
	check(t);
}

static void op_remove(struct ws_allowedips *t, struct cursor *c, uint8_t op, int family)
{
	uint8_t cidr, a[16];
	int i, want;

	if (!take(c, &cidr, 1) || !take_addr(c, op, family, a))
		return;
	cidr %= 8 * alen(family) + 1;
	mask(a, family, cidr);
	i = model_find(family, a, cidr);
	want = i < 0 ? -ENOENT : 0;
	if (i >= 0)
		model[i] = model[--model_n];
	if (ws_allowedips_remove(t, family, a, cidr) != want)
		abort();
	check(t);
}

/* A minimal valid header around addr, as source (v4: dst too) and destination. */
static void packet_lookup(const struct ws_allowedips *t, int family, const uint8_t *a, void *want)
{
	uint8_t pkt[48] = { 0 };
	size_t n = family == AF_INET ? 20 : 40;

	if (family == AF_INET) {
		pkt[0] = 0x45;
		pkt[3] = 20;
		memcpy(pkt + 12, a, 4);
		memcpy(pkt + 16, a, 4);
	} else {
		pkt[0] = 0x60;
		memcpy(pkt + 8, a, 16);
		memcpy(pkt + 24, a, 16);
	}
	if (ws_allowedips_lookup_packet_src(t, pkt, n) != want ||
	    ws_allowedips_lookup_packet_dst(t, pkt, n) != want ||
	    ws_allowedips_lookup_packet_src(t, pkt, n - 1) != NULL)
		abort();
}

static void op_lookup(const struct ws_allowedips *t, struct cursor *c, uint8_t op, int family)
{
	uint8_t a[16];
	void *want;

	if (!take_addr(c, op, family, a))
		return;
	want = model_lookup(family, a);
	if (ws_allowedips_lookup(t, family, a) != want)
		abort();
	if (op & 0x40)
		packet_lookup(t, family, a, want);
}

struct walk_state {
	const void *peer;
	int n;
};

static int walk_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_state *w = ctx;
	uint8_t a[16] = { 0 };
	int i;

	memcpy(a, addr, alen(family));
	i = model_find(family, a, cidr);
	if (i < 0 || model[i].peer != w->peer)
		abort();
	w->n++;
	return 0;
}

static void op_walk(const struct ws_allowedips *t, struct cursor *c)
{
	uint8_t p;
	struct walk_state w;
	int want = 0;

	if (!take(c, &p, 1))
		return;
	w.peer = &peers[p % N_PEERS];
	w.n = 0;
	for (int i = 0; i < model_n; i++)
		want += model[i].peer == w.peer;
	if (ws_allowedips_walk_peer(t, w.peer, walk_cb, &w) != 0 || w.n != want)
		abort();
}

static void op_remove_peer(struct ws_allowedips *t, struct cursor *c)
{
	uint8_t p;
	void *peer;

	if (!take(c, &p, 1))
		return;
	peer = &peers[p % N_PEERS];
	for (int i = 0; i < model_n;)
		if (model[i].peer == peer)
			model[i] = model[--model_n];
		else
			i++;
	ws_allowedips_remove_by_peer(t, peer);
	check(t);
}

/* Arbitrary bytes as a packet: must never read past len; when the header is
 * well formed the answer is the model's. */
static void op_packet(const struct ws_allowedips *t, struct cursor *c)
{
	uint8_t len, *pkt;
	size_t n;
	void *src = NULL, *dst = NULL;

	if (!take(c, &len, 1))
		return;
	n = len < c->left ? len : c->left;
	pkt = malloc(n ? n : 1);   /* exact size, so ASan sees any overread */
	if (!pkt || !take(c, pkt, n))
		abort();
	if (n >= 20 && pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 15) * 4, tot = (size_t)pkt[2] << 8 | pkt[3];
		uint8_t s[16] = { 0 }, d[16] = { 0 };

		if (ihl >= 20 && tot >= ihl && tot <= n) {
			memcpy(s, pkt + 12, 4);
			memcpy(d, pkt + 16, 4);
			src = model_lookup(AF_INET, s);
			dst = model_lookup(AF_INET, d);
		}
	} else if (n >= 40 && pkt[0] >> 4 == 6 && 40 + ((size_t)pkt[4] << 8 | pkt[5]) <= n) {
		src = model_lookup(AF_INET6, pkt + 8);
		dst = model_lookup(AF_INET6, pkt + 24);
	}
	if (ws_allowedips_lookup_packet_src(t, pkt, n) != src ||
	    ws_allowedips_lookup_packet_dst(t, pkt, n) != dst)
		abort();
	free(pkt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ws_crypto_init() < 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_allowedips t;
	struct cursor c = { data, size };
	uint8_t op;

	ws_allowedips_init(&t);
	model_n = 0;
	while (take(&c, &op, 1)) {
		int family = op & 0x08 ? AF_INET6 : AF_INET;

		switch (op & 7) {
		case 0:
		case 1:
			op_insert(&t, &c, op, family);
			break;
		case 2:
			op_remove(&t, &c, op, family);
			break;
		case 3:
		case 4:
			op_lookup(&t, &c, op, family);
			break;
		case 5:
			op_remove_peer(&t, &c);
			break;
		case 6:
			op_walk(&t, &c);
			break;
		default:
			op_packet(&t, &c);
			break;
		}
	}
	ws_allowedips_free(&t);
	if (t.nodes != 0 || t.prefixes != 0)
		abort();
	return 0;
}
