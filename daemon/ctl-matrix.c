/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpregctl matrix: every ordered pair of a fleet (cpregctl.h).  Hosts with
 * the same digest and the same destination policy are one pool (the
 * library's fleet groups them, as for pools and profiles), and each pair
 * of pools, a pool with itself included, is judged once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpregctl.h"

/* The fleet of FILEs, grouped by digest and by the forced policy's name (or each destination's own). */
static int matrix_fleet(int argc, char **argv, const struct cpreg_policy *forced, struct cpreg_fleet **ret)
{
	struct cpreg_fleet *f = NULL;

	if (cpreg_fleet_new(&f) < 0 || (forced && cpreg_fleet_group_by_policy(f, cpreg_policy_name(forced)) < 0)) {
		cpreg_fleet_unref(f);
		return fail("out of memory");
	}
	for (int i = 0; i < argc; i++) {
		struct cpreg_inventory *inv = NULL;
		int bad = load(argv[i], &inv) != 0 || cpreg_fleet_add(f, argv[i], inv) < 0;

		cpreg_inventory_unref(inv);
		if (bad) {
			cpreg_fleet_unref(f);
			return EXIT_ERR;
		}
	}
	*ret = f;
	return 0;
}

static void pools_out(const struct cpreg_fleet *f, struct jw *w)
{
	size_t n = cpreg_fleet_group_count(f);

	if (w)
		jw_array(w, "pools");
	for (size_t k = 0; k < n; k++) {
		const struct cpreg_fleet_group *g = cpreg_fleet_group_at(f, k);

		if (w) {
			jw_object(w, NULL);
			jw_int(w, "pool", (int64_t)k);
			jw_string(w, "digest", g->digest);
			jw_string(w, "policy", g->policy);
			jw_array(w, "members");
			for (size_t m = 0; m < g->n_members; m++)
				jw_string(w, NULL, g->members[m]);
			jw_end_array(w);
			jw_end_object(w);
			continue;
		}
		printf("pool %zu (%s, %.19s…):", k, g->policy, g->digest);
		for (size_t m = 0; m < g->n_members; m++)
			printf(" %s", g->members[m]);
		printf("\n");
	}
	if (w) {
		jw_end_array(w);
		return;
	}
	printf("\n%-8s", "src\\dst");
	for (size_t k = 0; k < n; k++)
		printf(" %6zu", k);
	printf("\n");
}

/* Every ordered pair of pools: a table row per source, or the pairs array; how many are not compatible (-1: failed). */
static long pairs_out(const struct cpreg_fleet *f, const struct cpreg_policy *forced, struct jw *w)
{
	size_t n = cpreg_fleet_group_count(f);
	long bad = 0;

	if (w)
		jw_array(w, "pairs");
	for (size_t s = 0; s < n; s++) {
		if (!w)
			printf("%-8zu", s);
		for (size_t d = 0; d < n; d++) {
			const struct cpreg_judge_args a = { .source = cpreg_fleet_group_at(f, s)->inventory,
							    .destination = cpreg_fleet_group_at(f, d)->inventory, .policy = forced };
			struct cpreg_verdict *v = NULL;
			enum cpreg_result res;
			size_t nfail = 0;

			if (cpreg_judge(&a, &v) < 0)
				return fail("check failed: out of memory"), -1;
			res = cpreg_verdict_result(v);
			bad += res != CPREG_COMPATIBLE;
			for (size_t i = 0; i < cpreg_verdict_count(v); i++)
				nfail += cpreg_verdict_outcome_at(v, i) == CPREG_OUT_FAIL;
			if (w) {
				jw_object(w, NULL);
				jw_int(w, "source", (int64_t)s);
				jw_int(w, "destination", (int64_t)d);
				jw_string(w, "result", cpreg_result_name(res));
				jw_string(w, "policy", cpreg_verdict_policy(v));
				jw_int(w, "failing_registers", (int64_t)nfail);
				jw_end_object(w);
			} else {
				printf(" %6s", res == CPREG_COMPATIBLE ? "ok" : res == CPREG_UNDECIDED ? "?" : "FAIL");
			}
			cpreg_verdict_unref(v);
		}
		if (!w)
			printf("\n");
	}
	if (w)
		jw_end_array(w);
	return bad;
}

int cmd_matrix(int argc, char **argv)
{
	struct cpreg_policy *forced = NULL;
	struct cpreg_fleet *f = NULL;
	struct jw w = jw_stdout();
	size_t n;
	long bad;
	int ret;

	if (argc < 1)
		return fail("usage: cpregctl matrix FILE...");
	if (get_policy(&forced) != 0 || matrix_fleet(argc, argv, forced, &f) != 0) {
		cpreg_policy_unref(forced);
		return EXIT_ERR;
	}
	n = cpreg_fleet_group_count(f);
	if (arg.json) {
		jw_object(&w, NULL);   /* cpreg-matrix-1 (docs/schemas) */
		jw_string(&w, "schema", "cpreg-matrix/1");
	}
	pools_out(f, arg.json ? &w : NULL);
	bad = pairs_out(f, forced, arg.json ? &w : NULL);
	ret = bad < 0 ? EXIT_ERR : bad ? EXIT_NO : EXIT_OK;
	if (arg.json) {
		jw_end_object(&w);
		ret = jw_done(&w, ret);
	} else if (bad >= 0) {
		printf("\n%d host%s in %zu pool%s; %ld of %zu ordered pool pairs not compatible "
		       "(ok compatible, ? undecided without the trial, FAIL incompatible)\n",
		       argc, argc == 1 ? "" : "s", n, n == 1 ? "" : "s", bad, n * n);
	}
	cpreg_fleet_unref(f);
	cpreg_policy_unref(forced);
	return ret;
}
