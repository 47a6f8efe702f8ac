/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl matrix: every ordered pair of a fleet (cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "cpregctl.h"

/*
 * Every ordered pair of a fleet.  Hosts with the same digest and the same
 * destination policy form a pool, and each pair of pools is checked once.
 */
int cmd_matrix(int argc, char **argv)
{
	struct pool {
		char digest[CPREG_DIGEST_LEN];
		const char *policy;
		struct cpreg_inventory *inv;
		const char **members;
		size_t n;
	} *pools = NULL;
	struct cpreg_policy *forced = NULL;
	size_t npools = 0, bad = 0;
	json_object *mdoc = NULL, *pairs = NULL;
	int ret = EXIT_ERR;

	if (argc < 1)
		return fail("usage: cpregctl matrix FILE...");
	if (get_policy(&forced) != 0)
		return EXIT_ERR;
	for (int i = 0; i < argc; i++) {
		struct cpreg_inventory *inv;
		char digest[CPREG_DIGEST_LEN];
		const char *pol;
		size_t k;

		if (load(argv[i], &inv) != 0)
			goto out;
		cpreg_inventory_digest(inv, digest, sizeof(digest));
		pol = forced ? cpreg_policy_name(forced)
			     : cpreg_policy_for_qemu_version(cpreg_inventory_get_text(inv, CPREG_TEXT_QEMU_VERSION));
		if (!pol)
			pol = "qemu-legacy";
		for (k = 0; k < npools; k++)
			if (strcmp(pools[k].digest, digest) == 0 && strcmp(pools[k].policy, pol) == 0)
				break;
		if (k == npools) {
			struct pool *np = realloc(pools, (npools + 1) * sizeof(*pools));

			if (!np) {
				cpreg_inventory_unref(inv);
				fail("out of memory");
				goto out;
			}
			pools = np;
			memset(&pools[k], 0, sizeof(*pools));
			memcpy(pools[k].digest, digest, sizeof(digest));
			pools[k].policy = pol;
			pools[k].inv = cpreg_inventory_ref(inv);
			npools++;
		}
		{
			const char **nm = realloc(pools[k].members, (pools[k].n + 1) * sizeof(char *));

			if (!nm) {
				cpreg_inventory_unref(inv);
				fail("out of memory");
				goto out;
			}
			pools[k].members = nm;
			pools[k].members[pools[k].n++] = argv[i];
		}
		cpreg_inventory_unref(inv);
	}
	if (arg.json) {
		/* cpreg-matrix-1 (docs/schemas), built with json-c. */
		json_object *pl = json_object_new_array();

		mdoc = json_object_new_object();
		pairs = json_object_new_array();
		for (size_t k = 0; k < npools; k++) {
			json_object *o = json_object_new_object(), *mem = json_object_new_array();

			json_object_object_add(o, "pool", json_object_new_int64((int64_t)k));
			json_object_object_add(o, "digest", json_object_new_string(pools[k].digest));
			json_object_object_add(o, "policy", json_object_new_string(pools[k].policy));
			for (size_t m = 0; m < pools[k].n; m++)
				json_object_array_add(mem, json_object_new_string(pools[k].members[m]));
			json_object_object_add(o, "members", mem);
			json_object_array_add(pl, o);
		}
		json_object_object_add(mdoc, "pools", pl);
	} else {
		for (size_t k = 0; k < npools; k++) {
			printf("pool %zu (%s, %.19s…):", k, pools[k].policy, pools[k].digest);
			for (size_t m = 0; m < pools[k].n; m++)
				printf(" %s", pools[k].members[m]);
			printf("\n");
		}
		printf("\n%-8s", "src\\dst");
		for (size_t k = 0; k < npools; k++)
			printf(" %6zu", k);
		printf("\n");
	}
	for (size_t s = 0; s < npools; s++) {
		if (!arg.json)
			printf("%-8zu", s);
		for (size_t d = 0; d < npools; d++) {
			struct cpreg_verdict *v = NULL;
			enum cpreg_result res;
			size_t nfail = 0;

			if (cpreg_check(pools[s].inv, pools[d].inv, forced, &v) < 0) {
				fail("check failed: out of memory");
				goto out;
			}
			res = cpreg_verdict_result(v);
			bad += res != CPREG_COMPATIBLE;
			for (size_t i = 0; i < cpreg_verdict_count(v); i++)
				nfail += cpreg_verdict_outcome_at(v, i) == CPREG_OUT_FAIL;
			if (arg.json) {
				json_object *o = json_object_new_object();

				json_object_object_add(o, "source", json_object_new_int64((int64_t)s));
				json_object_object_add(o, "destination", json_object_new_int64((int64_t)d));
				json_object_object_add(o, "result", json_object_new_string(cpreg_result_name(res)));
				json_object_object_add(o, "policy", json_object_new_string(cpreg_verdict_policy(v)));
				json_object_object_add(o, "failing_registers", json_object_new_int64((int64_t)nfail));
				json_object_array_add(pairs, o);
			} else
				printf(" %6s", res == CPREG_COMPATIBLE ? "ok" : res == CPREG_UNDECIDED ? "?" : "FAIL");
			cpreg_verdict_unref(v);
		}
		if (!arg.json)
			printf("\n");
	}
	if (arg.json) {
		json_object_object_add(mdoc, "pairs", pairs);
		pairs = NULL;
		puts(json_object_to_json_string_ext(mdoc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else
		printf("\n%zu host%s in %zu pool%s; %zu of %zu ordered pool pairs not compatible "
		       "(ok compatible, ? undecided without the trial, FAIL incompatible)\n",
		       (size_t)argc, argc == 1 ? "" : "s", npools, npools == 1 ? "" : "s", bad, npools * npools);
	ret = bad ? EXIT_NO : EXIT_OK;
out:
	for (size_t k = 0; k < npools; k++) {
		cpreg_inventory_unref(pools[k].inv);
		free(pools[k].members);
	}
	free(pools);
	json_object_put(pairs);
	json_object_put(mdoc);
	cpreg_policy_unref(forced);
	return ret;
}
