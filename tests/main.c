/* SPDX-License-Identifier: MIT */
/*
 * Runs every registered suite (or those named on the command line) with the
 * CUnit basic runner. Exit status: 0 when every test ran and passed.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "test.h"

enum { MAX_SUITES = 128 };

static struct {
	const char *name;
	void (*add)(CU_pSuite);
} suites[MAX_SUITES];
static int n_suites;

void ws_test_register(const char *name, void (*add)(CU_pSuite))
{
	if (n_suites == MAX_SUITES) {
		fprintf(stderr, "too many test suites\n");
		exit(2);
	}
	suites[n_suites].name = name;
	suites[n_suites].add = add;
	n_suites++;
}

static int by_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failures, run, registered = 0;

	if (ws_crypto_init() < 0) {
		fprintf(stderr, "crypto init failed\n");
		return 2;
	}
	/* Deterministic order whatever the link order. */
	qsort(suites, (size_t)n_suites, sizeof(suites[0]), by_name);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (int i = 0; i < n_suites; i++) {
		CU_pSuite s;

		if (!wanted(suites[i].name, argc, argv))
			continue;
		s = CU_add_suite(suites[i].name, NULL, NULL);
		if (!s)
			return 2;
		suites[i].add(s);
	}
	registered = CU_get_registry()->uiNumberOfTests;
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (run == 0 || run != registered) {
		fprintf(stderr, "ran %u of %u registered tests\n", run, registered);
		return 1;
	}
	return failures ? 1 : 0;
}
