/* SPDX-License-Identifier: MIT */
/* Every worked example in configs/ parses and validates with the parser wsd and wsup use. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "test.h"

static void test_examples_parse(void)
{
	DIR *d = opendir("configs");
	struct dirent *e;
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[512];
		struct ws_conf c;
		struct ws_conf_error err;

		if (len < 6 || strcmp(e->d_name + len - 5, ".conf"))
			continue;
		snprintf(path, sizeof(path), "configs/%s", e->d_name);
		memset(&c, 0, sizeof(c));
		if (ws_conf_load_file(&c, path, &err) || ws_conf_validate(&c, 0, &err)) {
			fprintf(stderr, "\n    %s\n", err.msg);
			CU_FAIL("an example config does not parse");
		}
		ws_conf_free(&c);
		n++;
	}
	closedir(d);
	CU_ASSERT(n >= 6); /* site-to-site (2), laptop + server, hub + client, demo (2) */
}

WS_SUITE(configs)
{
	WS_ADD(suite, test_examples_parse);
}
