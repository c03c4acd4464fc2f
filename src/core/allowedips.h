/* SPDX-License-Identifier: MIT */
/*
 * Cryptokey routing (one hub serving many clients; DECISIONS 26): a table
 * from IP prefixes to peers with longest-prefix match, one path-compressed
 * binary trie per family (the idea of kernel WireGuard's allowedips.c).
 *
 * Addresses are in network byte order (the bytes of struct in_addr /
 * in6_addr); family is AF_INET or AF_INET6. Host bits past cidr are ignored.
 * A peer is an opaque, non-NULL pointer the table never dereferences.
 *
 * Concurrency contract (no locks inside): every function that changes the
 * table (insert, remove, remove_by_peer, free) must be serialised by the
 * caller and must exclude readers, e.g. by holding the write side of a
 * pthread_rwlock_t; readers (lookup*, walk_peer, count, memory) may run
 * concurrently with each other while holding its read side. Workers take the
 * read side once per batch of packets, not per packet. A peer pointer returned
 * by a lookup stays valid only while the caller keeps the peer alive (remove
 * the peer from the table under the write lock before freeing it).
 *
 * Costs: lookup is O(address bits) (at most 33 or 129 nodes visited), never
 * allocates; insert allocates at most two nodes; remove_by_peer and
 * walk_peer visit the whole trie (control path only). Recursion depth is
 * bounded by the address length (a child's cidr is always greater than its
 * parent's).
 */
#ifndef WS_ALLOWEDIPS_H
#define WS_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct ws_aip_node;

struct ws_allowedips {
	struct ws_aip_node *root4;
	struct ws_aip_node *root6;
	size_t nodes;   /* allocated nodes, both families, glue nodes included */
	size_t prefixes; /* prefixes that map to a peer */
};

/* Called once per prefix of a peer: addr has 4 (AF_INET) or 16 bytes with the
 * host bits zero. A non-zero return stops the walk and is passed back. The
 * callback must not change the table. */
typedef int (*ws_allowedips_walk_fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr);

void ws_allowedips_init(struct ws_allowedips *t);
/* Frees every node; the table is empty (and re-usable) afterwards. */
void ws_allowedips_free(struct ws_allowedips *t);

/*
 * Map family/addr/cidr to peer. An existing identical prefix is moved to the
 * new peer (WireGuard's behaviour). Returns 0, -EAFNOSUPPORT (bad family),
 * -EINVAL (cidr too long, NULL addr or peer) or -ENOMEM (table unchanged).
 */
int ws_allowedips_insert(struct ws_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 void *peer);

/* Remove exactly this prefix (whatever its peer). 0, -ENOENT, -EAFNOSUPPORT,
 * -EINVAL. Never allocates. */
int ws_allowedips_remove(struct ws_allowedips *t, int family, const uint8_t *addr, uint8_t cidr);

/* Remove every prefix that maps to peer (both families). Never allocates. */
void ws_allowedips_remove_by_peer(struct ws_allowedips *t, const void *peer);

/* Longest-prefix match; NULL when nothing covers addr or family is unknown. */
void *ws_allowedips_lookup(const struct ws_allowedips *t, int family, const uint8_t *addr);

/*
 * Look up the source (for a decrypted packet: is it from a prefix of the
 * sending peer?) or the destination (for a packet from the TUN: which peer?)
 * of an IP packet. The version nibble selects the family. NULL when len is too
 * short for the header, an IPv4 IHL is below 5 or beyond len, or the header's
 * total length (IPv4) / 40 + payload length (IPv6) exceeds len.
 */
void *ws_allowedips_lookup_packet_src(const struct ws_allowedips *t, const uint8_t *ip_packet,
				      size_t len);
void *ws_allowedips_lookup_packet_dst(const struct ws_allowedips *t, const uint8_t *ip_packet,
				      size_t len);

/* Call fn for every prefix of peer: IPv4 first, then IPv6, each in address
 * order (a shorter prefix before the longer ones it contains). Returns 0 or
 * fn's first non-zero result. */
int ws_allowedips_walk_peer(const struct ws_allowedips *t, const void *peer,
			    ws_allowedips_walk_fn fn, void *ctx);

/* Verify the trie's invariants and counters (tests and fuzzing; O(nodes)):
 * 0 or -EINVAL. */
int ws_allowedips_check(const struct ws_allowedips *t);

/* Bytes of one trie node (malloc's own overhead not included). */
size_t ws_allowedips_node_size(void);
/* Bytes held by the table's nodes (nodes * node size). */
size_t ws_allowedips_memory(const struct ws_allowedips *t);

#endif
