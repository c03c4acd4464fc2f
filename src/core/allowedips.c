/* SPDX-License-Identifier: MIT */
/*
 * AllowedIPs: one path-compressed binary trie per family.
 *
 * A node holds a prefix (key masked to cidr) and either a peer or NULL. A node
 * with a NULL peer is "glue": it exists only where two subtrees diverge and
 * always has exactly two children. A child's prefix extends its parent's and
 * is longer; which child it is follows the key bit at position parent->cidr.
 * Keys are kept as two host-order 64-bit words, most significant bit first
 * (an IPv4 address fills the top half of key[0]), so matching a prefix is two
 * masked XORs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "core/allowedips.h"
#include "core/ip.h"

struct ws_aip_node {
	uint64_t key[2];
	struct ws_aip_node *bit[2];
	void *peer;
	struct ws_aip_node *parent;
	uint8_t cidr;
};

enum { IPV4_BITS = 32, IPV6_BITS = 128 };

static unsigned family_bits(int family)
{
	return family == AF_INET ? IPV4_BITS : family == AF_INET6 ? IPV6_BITS : 0;
}

static struct ws_aip_node **root_of(struct ws_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void load_key(uint64_t k[2], int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		k[0] = (uint64_t)addr[0] << 56 | (uint64_t)addr[1] << 48 |
		       (uint64_t)addr[2] << 40 | (uint64_t)addr[3] << 32;
		k[1] = 0;
	} else {
		k[0] = be64_at(addr);
		k[1] = be64_at(addr + 8);
	}
}

static void store_key(uint8_t *out, int family, const uint64_t k[2])
{
	unsigned n = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(k[i / 8] >> (56 - 8 * (i % 8)));
}

/* The n (0..64) most significant bits set. */
static uint64_t top_bits(unsigned n)
{
	return n == 0 ? 0 : ~0ULL << (64 - n);
}

static void mask_key(uint64_t k[2], unsigned cidr)
{
	k[0] &= top_bits(cidr < 64 ? cidr : 64);
	k[1] &= top_bits(cidr > 64 ? cidr - 64 : 0);
}

/* Do the first node->cidr bits of k equal the node's prefix? */
static bool prefix_match(const struct ws_aip_node *node, const uint64_t k[2])
{
	unsigned c = node->cidr;

	return (((k[0] ^ node->key[0]) & top_bits(c < 64 ? c : 64)) |
		((k[1] ^ node->key[1]) & top_bits(c > 64 ? c - 64 : 0))) == 0;
}

/* Bit i (0 = most significant) of k; i < 128. */
static unsigned bit_at(const uint64_t k[2], unsigned i)
{
	return (unsigned)(k[i / 64] >> (63 - i % 64)) & 1;
}

/* Number of leading bits a and b share (128 when equal). */
static unsigned common_bits(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
	unsigned m = a < b ? a : b;

	return m < c ? m : c;
}

static struct ws_aip_node *node_new(struct ws_allowedips *t, const uint64_t k[2], unsigned cidr,
				    void *peer, struct ws_aip_node *parent)
{
	struct ws_aip_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key[0] = k[0];
	n->key[1] = k[1];
	mask_key(n->key, cidr);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	n->parent = parent;
	t->nodes++;
	return n;
}

static void node_free(struct ws_allowedips *t, struct ws_aip_node *n)
{
	free(n);
	t->nodes--;
}

static void free_tree(struct ws_allowedips *t, struct ws_aip_node *n)
{
	if (!n)
		return;
	free_tree(t, n->bit[0]);
	free_tree(t, n->bit[1]);
	node_free(t, n);
}

void ws_allowedips_init(struct ws_allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
	t->nodes = 0;
	t->prefixes = 0;
}

void ws_allowedips_free(struct ws_allowedips *t)
{
	free_tree(t, t->root4);
	free_tree(t, t->root6);
	ws_allowedips_init(t);
}

static int check_args(int family, const uint8_t *addr, uint8_t cidr)
{
	unsigned bits = family_bits(family);

	if (!bits)
		return -EAFNOSUPPORT;
	if (!addr || cidr > bits)
		return -EINVAL;
	return 0;
}

/*
 * Place leaf (prefix k/cidr) where *slot holds node, a subtree that does not
 * contain k/cidr: either leaf contains node, or a glue node joins the two.
 */
static int splice(struct ws_allowedips *t, struct ws_aip_node **slot, struct ws_aip_node *leaf)
{
	struct ws_aip_node *node = *slot, *glue;
	unsigned common = min3(leaf->cidr, node->cidr, common_bits(leaf->key, node->key));

	if (common == leaf->cidr) {
		leaf->bit[bit_at(node->key, common)] = node;
		node->parent = leaf;
		*slot = leaf;
		return 0;
	}
	glue = node_new(t, leaf->key, common, NULL, leaf->parent);
	if (!glue)
		return -ENOMEM;
	glue->bit[bit_at(node->key, common)] = node;
	glue->bit[bit_at(leaf->key, common)] = leaf;
	node->parent = glue;
	leaf->parent = glue;
	*slot = glue;
	return 0;
}

int ws_allowedips_insert(struct ws_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *peer)
{
	struct ws_aip_node **slot, *node, *parent = NULL, *leaf;
	uint64_t k[2];
	int ret = check_args(family, addr, cidr);

	if (ret)
		return ret;
	if (!peer)
		return -EINVAL;
	load_key(k, family, addr);
	mask_key(k, cidr);
	slot = root_of(t, family);
	while ((node = *slot) && node->cidr <= cidr && prefix_match(node, k)) {
		if (node->cidr == cidr) {
			t->prefixes += !node->peer;
			node->peer = peer;
			return 0;
		}
		parent = node;
		slot = &node->bit[bit_at(k, node->cidr)];
	}
	leaf = node_new(t, k, cidr, peer, parent);
	if (!leaf)
		return -ENOMEM;
	if (!node) {
		*slot = leaf;
	} else if ((ret = splice(t, slot, leaf)) < 0) {
		node_free(t, leaf);
		return ret;
	}
	t->prefixes++;
	return 0;
}

static struct ws_aip_node **slot_of(struct ws_allowedips *t, int family, struct ws_aip_node *n)
{
	struct ws_aip_node *p = n->parent;

	return p ? &p->bit[p->bit[1] == n] : root_of(t, family);
}

/* Free n if it has no peer and fewer than two children (its child, if any,
 * takes its place). Returns n's parent when n was freed, else NULL. */
static struct ws_aip_node *prune(struct ws_allowedips *t, int family, struct ws_aip_node *n)
{
	struct ws_aip_node *child, *parent = n->parent;

	if (n->peer || (n->bit[0] && n->bit[1]))
		return NULL;
	child = n->bit[0] ? n->bit[0] : n->bit[1];
	*slot_of(t, family, n) = child;
	if (child)
		child->parent = parent;
	node_free(t, n);
	return parent;
}

static struct ws_aip_node *find_exact(struct ws_aip_node *node, const uint64_t k[2], unsigned cidr)
{
	while (node && node->cidr <= cidr && prefix_match(node, k)) {
		if (node->cidr == cidr)
			return node;
		node = node->bit[bit_at(k, node->cidr)];
	}
	return NULL;
}

int ws_allowedips_remove(struct ws_allowedips *t, int family, const uint8_t *addr, uint8_t cidr)
{
	struct ws_aip_node *node, *parent;
	uint64_t k[2];
	int ret = check_args(family, addr, cidr);

	if (ret)
		return ret;
	load_key(k, family, addr);
	mask_key(k, cidr);
	node = find_exact(*root_of(t, family), k, cidr);
	if (!node || !node->peer)
		return -ENOENT;
	node->peer = NULL;
	t->prefixes--;
	/* A leaf leaves its glue parent with one child: drop that glue too. */
	parent = prune(t, family, node);
	if (parent)
		prune(t, family, parent);
	return 0;
}

/* Post-order: children are pruned before their parent is considered. */
static void prune_peer(struct ws_allowedips *t, int family, struct ws_aip_node *n, const void *peer)
{
	if (!n)
		return;
	prune_peer(t, family, n->bit[0], peer);
	prune_peer(t, family, n->bit[1], peer);
	if (n->peer == peer) {
		n->peer = NULL;
		t->prefixes--;
	}
	prune(t, family, n);
}

void ws_allowedips_remove_by_peer(struct ws_allowedips *t, const void *peer)
{
	if (!peer)
		return;
	prune_peer(t, AF_INET, t->root4, peer);
	prune_peer(t, AF_INET6, t->root6, peer);
}

/* Hot path: no allocation, at most bits + 1 nodes visited. */
static void *lookup_key(const struct ws_aip_node *node, const uint64_t k[2], unsigned bits)
{
	void *found = NULL;

	while (node && prefix_match(node, k)) {
		if (node->peer)
			found = node->peer;
		if (node->cidr == bits)
			break;
		node = node->bit[bit_at(k, node->cidr)];
	}
	return found;
}

void *ws_allowedips_lookup(const struct ws_allowedips *t, int family, const uint8_t *addr)
{
	unsigned bits = family_bits(family);
	uint64_t k[2];

	if (!bits || !addr)
		return NULL;
	load_key(k, family, addr);
	return lookup_key(family == AF_INET ? t->root4 : t->root6, k, bits);
}

/* Address of the source (off4 12, off6 8) or destination (16, 24) of a
 * well-formed IPv4/IPv6 header (its stated length within len), or NULL. */
static const uint8_t *packet_addr(const uint8_t *p, size_t len, bool dst, int *family)
{
	if (!p || !ws_ip_packet_len(p, len))
		return NULL;
	if (ws_ip_version(p, len) == 4) {
		*family = AF_INET;
		return p + (dst ? 16 : 12);
	}
	*family = AF_INET6;
	return p + (dst ? 24 : 8);
}

void *ws_allowedips_lookup_packet_src(const struct ws_allowedips *t, const uint8_t *ip_packet,
				      size_t len)
{
	int family = 0;
	const uint8_t *a = packet_addr(ip_packet, len, false, &family);

	return a ? ws_allowedips_lookup(t, family, a) : NULL;
}

void *ws_allowedips_lookup_packet_dst(const struct ws_allowedips *t, const uint8_t *ip_packet,
				      size_t len)
{
	int family = 0;
	const uint8_t *a = packet_addr(ip_packet, len, true, &family);

	return a ? ws_allowedips_lookup(t, family, a) : NULL;
}

/* Pre-order, child 0 first: address order, shorter prefixes first. */
static int walk(const struct ws_aip_node *n, int family, const void *peer,
		ws_allowedips_walk_fn fn, void *ctx)
{
	uint8_t addr[16];
	int ret;

	if (!n)
		return 0;
	if (n->peer == peer) {
		store_key(addr, family, n->key);
		if ((ret = fn(ctx, family, addr, n->cidr)) != 0)
			return ret;
	}
	if ((ret = walk(n->bit[0], family, peer, fn, ctx)) != 0)
		return ret;
	return walk(n->bit[1], family, peer, fn, ctx);
}

int ws_allowedips_walk_peer(const struct ws_allowedips *t, const void *peer,
			    ws_allowedips_walk_fn fn, void *ctx)
{
	int ret;

	if (!peer || !fn)
		return 0;
	ret = walk(t->root4, AF_INET, peer, fn, ctx);
	return ret ? ret : walk(t->root6, AF_INET6, peer, fn, ctx);
}

struct check_counts {
	size_t nodes, prefixes;
};

static int check_node(const struct ws_aip_node *n, const struct ws_aip_node *parent,
		      unsigned bits, struct check_counts *c)
{
	uint64_t k[2];

	if (!n)
		return 0;
	k[0] = n->key[0];
	k[1] = n->key[1];
	mask_key(k, n->cidr);
	if (n->parent != parent || n->cidr > bits || k[0] != n->key[0] || k[1] != n->key[1])
		return -EINVAL;
	if (parent && (n->cidr <= parent->cidr || !prefix_match(parent, n->key) ||
		       parent->bit[bit_at(n->key, parent->cidr)] != n))
		return -EINVAL;
	if (!n->peer && !(n->bit[0] && n->bit[1]))
		return -EINVAL;
	c->nodes++;
	c->prefixes += !!n->peer;
	if (check_node(n->bit[0], n, bits, c) < 0)
		return -EINVAL;
	return check_node(n->bit[1], n, bits, c);
}

int ws_allowedips_check(const struct ws_allowedips *t)
{
	struct check_counts c = { 0, 0 };

	if (check_node(t->root4, NULL, IPV4_BITS, &c) < 0 ||
	    check_node(t->root6, NULL, IPV6_BITS, &c) < 0)
		return -EINVAL;
	return c.nodes == t->nodes && c.prefixes == t->prefixes ? 0 : -EINVAL;
}

size_t ws_allowedips_node_size(void)
{
	return sizeof(struct ws_aip_node);
}

size_t ws_allowedips_memory(const struct ws_allowedips *t)
{
	return t->nodes * sizeof(struct ws_aip_node);
}
