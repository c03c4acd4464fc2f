/* SPDX-License-Identifier: MIT */
/*
 * ws genkey, ws pubkey: keys as base64 of 32 bytes, like wg. Every buffer
 * that held a private key is wiped before return.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ws.h"

void ws_key_help_genkey(FILE *f)
{
	fprintf(f, "Usage: ws genkey > private.key\n"
		   "Print a new random, clamped X25519 private key in base64.\n"
		   "Run 'umask 077' first: a key written to a file others can read is warned about.\n");
}

void ws_key_help_pubkey(FILE *f)
{
	fprintf(f, "Usage: ws pubkey < private.key > public.key\n"
		   "Read a base64 private key on standard input and print its public key.\n");
}

static int no_args(struct ws_cli *cli, int argc, char **argv, void (*help)(FILE *))
{
	if (argc > 1 && ws_cli_is_help(argv[1]) && argc == 2) {
		help(cli->out);
		return 1;
	}
	if (argc > 1) {
		ws_cli_fail(cli, "%s: unexpected argument '%s'", argv[0], argv[1]);
		return -1;
	}
	return 0;
}

void ws_cli_warn_readable(struct ws_cli *cli)
{
	struct stat st;
	int fd = fileno(cli->out);

	if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)))
		fprintf(cli->err, "ws: warning: writing a private key to a file that group or others "
				  "can read (set 'umask 077' first)\n");
}

int ws_key_genkey(struct ws_cli *cli, int argc, char **argv)
{
	uint8_t key[WS_KEY_LEN];
	char b64[WS_KEY_B64_LEN + 1];
	int ret = no_args(cli, argc, argv, ws_key_help_genkey);

	if (ret)
		return ret < 0 ? WS_EXIT_FAIL : WS_EXIT_OK;
	if (ws_crypto_init() < 0)
		return ws_cli_fail(cli, "genkey: cannot initialise the crypto library");
	ws_cli_warn_readable(cli);
	ws_x25519_genkey(key);
	ws_key_to_base64(b64, key);
	fprintf(cli->out, "%s\n", b64);
	ws_wipe(key, sizeof(key));
	ws_wipe(b64, sizeof(b64));
	return WS_EXIT_OK;
}

/* Read at most cap - 1 bytes of f, NUL-terminate, strip trailing space.
 * -E2BIG when f holds more than that. */
static int read_key_text(FILE *f, char *buf, size_t cap)
{
	size_t n = fread(buf, 1, cap - 1, f);

	if (ferror(f))
		return -EIO;
	if (n == cap - 1 && fgetc(f) != EOF)
		return -E2BIG;
	buf[n] = '\0';
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

int ws_key_pubkey(struct ws_cli *cli, int argc, char **argv)
{
	uint8_t priv[WS_KEY_LEN], pub[WS_KEY_LEN];
	char text[WS_KEY_B64_LEN + 64], b64[WS_KEY_B64_LEN + 1];
	int ret = no_args(cli, argc, argv, ws_key_help_pubkey);

	if (ret)
		return ret < 0 ? WS_EXIT_FAIL : WS_EXIT_OK;
	if (ws_crypto_init() < 0)
		return ws_cli_fail(cli, "pubkey: cannot initialise the crypto library");
	ret = read_key_text(cli->in, text, sizeof(text));
	if (!ret)
		ret = ws_key_from_base64(priv, text);
	if (!ret && !ws_x25519_pubkey(pub, priv))
		ret = -EINVAL;
	ws_wipe(text, sizeof(text));
	ws_wipe(priv, sizeof(priv));
	if (ret)
		return ws_cli_fail(cli, "pubkey: standard input is not a base64 private key "
				   "(44 characters)");
	ws_key_to_base64(b64, pub);
	fprintf(cli->out, "%s\n", b64);
	return WS_EXIT_OK;
}
