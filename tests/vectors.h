/* SPDX-License-Identifier: MIT */
/* Access to tests/vectors/wiresocket-v1-vectors.json (parsed with jansson). */
#ifndef WS_TEST_VECTORS_H
#define WS_TEST_VECTORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The whole document, loaded once; aborts the test run if it cannot be read. */
json_t *ws_vec_root(void);

/* Object member at a dotted path from `from` (NULL: the root), e.g. "handshake.inputs". */
json_t *ws_vec_get(json_t *from, const char *path);

/*
 * Decode the hex string at `path` below `from` into out (at most max bytes).
 * Returns the byte count, or -1 (and a CUnit failure) when it is missing,
 * not hex, or longer than max.
 */
long ws_vec_hex(json_t *from, const char *path, uint8_t *out, size_t max);

/* Integer at path (JSON number); fails the test and returns 0 when missing. */
uint64_t ws_vec_u64(json_t *from, const char *path);

/* String at path; fails the test and returns "" when missing. */
const char *ws_vec_str(json_t *from, const char *path);

#endif
