/* SPDX-License-Identifier: MIT */
#include "vectors.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef WS_VECTORS_FILE
#define WS_VECTORS_FILE "tests/vectors/wiresocket-v1-vectors.json"
#endif

json_t *ws_vec_root(void)
{
	static json_t *root;
	json_error_t err;

	if (root)
		return root;
	root = json_load_file(WS_VECTORS_FILE, 0, &err);
	if (!root) {
		fprintf(stderr, "%s:%d: %s\n", WS_VECTORS_FILE, err.line, err.text);
		exit(2);
	}
	return root;
}

json_t *ws_vec_get(json_t *from, const char *path)
{
	char buf[256], *save = NULL;
	json_t *cur = from ? from : ws_vec_root();

	if (strlen(path) >= sizeof(buf))
		return NULL;
	strcpy(buf, path);
	for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	return cur;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long ws_vec_hex(json_t *from, const char *path, uint8_t *out, size_t max)
{
	json_t *v = ws_vec_get(from, path);
	const char *s;
	size_t len;

	if (!json_is_string(v)) {
		CU_FAIL_FATAL("vector field missing");
		return -1;
	}
	s = json_string_value(v);
	len = strlen(s);
	if (len % 2 || len / 2 > max) {
		CU_FAIL("vector hex has odd length or is too long");
		return -1;
	}
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			CU_FAIL("vector field is not hex");
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

uint64_t ws_vec_u64(json_t *from, const char *path)
{
	json_t *v = ws_vec_get(from, path);

	if (!json_is_integer(v)) {
		CU_FAIL("vector integer missing");
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

const char *ws_vec_str(json_t *from, const char *path)
{
	json_t *v = ws_vec_get(from, path);

	if (!json_is_string(v)) {
		CU_FAIL("vector string missing");
		return "";
	}
	return json_string_value(v);
}
