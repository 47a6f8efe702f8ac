/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the parsers that take outside input: the inventory JSON
 * reader (a POST /v1/check body), the policy reader, and the check that runs
 * on whatever the reader accepted.  The reader's fast path for the
 * registers array must agree with its general path on every input: the same
 * acceptance, the same inventory, the same error, or the target aborts.  The
 * verdict reader (cpreg-verdict/1) is fed the same input.  Built for libFuzzer with
 * --enable-fuzzing; in every build, tests/fuzz-mutate drives it with
 * deterministic mutations of the real fixtures.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "cpreg-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpreg_inventory *inv = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_error err;
	char *out = NULL;

	{
		struct cpreg_inventory *g = NULL;
		struct cpreg_error gerr;
		int r = cpreg_inventory_from_json((const char *)data, size, &inv, &err);
		int rg = cpreg_inventory_from_json_general((const char *)data, size, &g, &gerr);
		char *a = NULL, *b = NULL;

		if (r != rg)
			abort();
		if (r < 0 && (strcmp(err.where, gerr.where) != 0 || strcmp(err.message, gerr.message) != 0))
			abort();
		if (r == 0 && (cpreg_inventory_to_json(inv, &a) < 0 || cpreg_inventory_to_json(g, &b) < 0 || strcmp(a, b) != 0))
			abort();
		free(a);
		free(b);
		cpreg_inventory_unref(g);
		if (r < 0)
			inv = NULL;
	}
	if (inv) {
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
	/* The verdict reader: whatever it accepts writes a document that reads back to the same. */
	if (cpreg_verdict_from_json((const char *)data, size, &v, &err) == 0) {
		struct cpreg_verdict *again = NULL;
		char *a = NULL, *b = NULL;

		if (cpreg_verdict_to_json(v, &a) < 0 || cpreg_verdict_from_json(a, strlen(a), &again, &err) < 0 ||
		    cpreg_verdict_to_json(again, &b) < 0 || strcmp(a, b) != 0)
			abort();
		free(a);
		free(b);
		cpreg_verdict_unref(again);
		cpreg_verdict_unref(v);
		v = NULL;
	}
	/* The passport reader: what it accepts writes a document that reads back to the same digest and text. */
	{
		struct cpreg_passport *pp = NULL, *again = NULL;
		char *a = NULL, *b = NULL;

		if (cpreg_passport_from_json((const char *)data, size, &pp, &err) == 0) {
			if (cpreg_passport_to_json(pp, &a) < 0 || cpreg_passport_from_json(a, strlen(a), &again, &err) < 0 ||
			    cpreg_passport_to_json(again, &b) < 0 || strcmp(a, b) != 0 ||
			    strcmp(cpreg_passport_digest(pp), cpreg_passport_digest(again)) != 0)
				abort();
			free(a);
			free(b);
			cpreg_passport_unref(again);
			cpreg_passport_unref(pp);
		}
	}
	return 0;
}
