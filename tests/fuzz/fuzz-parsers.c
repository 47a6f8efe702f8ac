/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the parsers that take outside input: the inventory JSON
 * reader (a POST /v1/check body), the policy reader, and the check that runs
 * on whatever the reader accepted.  Built for libFuzzer with
 * --enable-fuzzing; in every build, tests/fuzz-mutate drives it with
 * deterministic mutations of the real fixtures.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpreg_inventory *inv = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_error err;
	char *out = NULL;

	if (cpreg_inventory_from_json((const char *)data, size, &inv, &err) == 0) {
		/* Whatever is accepted must write, and check against itself cleanly. */
		if (cpreg_inventory_to_json(inv, &out) == 0)
			free(out);
		if (cpreg_check(inv, inv, NULL, &v) == 0 && cpreg_verdict_to_json(v, &out) == 0)
			free(out);
		cpreg_verdict_unref(v);
		cpreg_inventory_unref(inv);
	}
	if (cpreg_policy_from_json((const char *)data, size, "fuzz", &p, &err) == 0)
		cpreg_policy_unref(p);
	return 0;
}
