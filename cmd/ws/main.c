/* SPDX-License-Identifier: MIT */
/* ws's entry point; everything else is in the other files of cmd/ws. */
#include <time.h>

#include "ws.h"

int main(int argc, char **argv)
{
	struct ws_cli cli;
	int ret;

	ws_cli_init(&cli, stdin, stdout, stderr);
	cli.now = (uint64_t)time(NULL);
	ret = ws_cli_main(&cli, argc, argv);
	if (fflush(stdout) || ferror(stdout)) {
		fputs("ws: cannot write to standard output\n", stderr);
		return WS_EXIT_FAIL;
	}
	return ret;
}
