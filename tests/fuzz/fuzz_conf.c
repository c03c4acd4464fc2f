/* SPDX-License-Identifier: MIT */
/*
 * Config parser fuzzer: arbitrary bytes into ws_conf_parse_buffer (the pure
 * parse: it opens no file, not even a PrivateKeyFile the input names). A failed
 * load must explain itself as "fuzz.conf:..." and never as a disagreement
 * between our line reader and inih; a successful load must survive
 * ws_conf_write -> ws_conf_parse_buffer as an equal model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return ws_crypto_init() < 0;
}

static void round_trip(const struct ws_conf *c)
{
	struct ws_conf back;
	struct ws_conf_error e;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f || ws_conf_write(f, c, true) != 0 || fclose(f) != 0)
		abort();
	if (ws_conf_parse_buffer(&back, "out.conf", out, len, &e) != 0) {
		fprintf(stderr, "reload failed: %s\n--- written:\n%s", e.msg, out);
		abort();
	}
	if (!ws_conf_equal(c, &back)) {
		fprintf(stderr, "reloaded model differs\n--- written:\n%s", out);
		abort();
	}
	ws_conf_free(&back);
	free(out);
}

/* "fuzz.conf:LINE: ...", and not the reader/inih disagreement message. */
static void bad_message(const char *msg)
{
	const char *rest = msg + 10;

	if (strncmp(msg, "fuzz.conf:", 10))
		goto bad;
	rest += strspn(rest, "0123456789");
	if (!strncmp(rest, ": line not understood", 21))
		goto bad;
	return;
bad:
	fprintf(stderr, "bad message: %s\n", msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_conf c;
	struct ws_conf_error e;

	if (ws_conf_parse_buffer(&c, "fuzz.conf", (const char *)data, size, &e) != 0) {
		bad_message(e.msg);
		return 0;
	}
	if (e.msg[0])
		abort();
	ws_conf_validate(&c, WS_CONF_NEED_PRIVATE_KEY, &e);
	round_trip(&c);
	ws_conf_free(&c);
	return 0;
}
