/* SPDX-License-Identifier: MIT */
/* The control socket codec on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, const char *key, const char *value)
{
	size_t *n = ctx;

	if (!*key || strchr(key, '=') || strchr(value, '\n'))
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ws_ipc_parse(buf, size, count, &n);
	free(buf);
	return 0;
}
