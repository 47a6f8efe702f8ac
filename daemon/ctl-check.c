/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpregctl: one pair of hosts offline: check, diff, explain (cpregctl.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpregctl.h"

/*
 * Load SOURCE (a host inventory or a VM passport) and DESTINATION and check
 * offline with the VM's options (the command line's, or the passport's),
 * which the check applies once.
 */
static int offline_verdict(char **argv, struct source *s, struct cpreg_inventory **d, struct cpreg_policy **p,
			   struct cpreg_verdict **v)
{
	int r;

	if (load(argv[1], d) != 0 || load_source(argv[0], *d, s) != 0 || get_policy(p) != 0)
		return EXIT_ERR;
	r = judge_source(s, *d, *p, v);
	if (r == -ENOENT)
		return fail("%s: cannot apply the VM's options (no PSCI_VERSION to pin?)", argv[0]);
	if (r < 0)
		return fail("check failed: out of memory");
	cpreg_verdict_trial_failed(*v, "offline check: no trial ran (the live trial runs in the destination's cpregd: "
			      "cpregctl check SOURCE there)");
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct source s = { 0 };
	struct cpreg_inventory *d = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	int ret = EXIT_ERR;

	if (argc < 1 || argc > 2)
		return fail("usage: cpregctl check SOURCE.json [DESTINATION.json]");
	if (argc == 1)
		return check_with_daemon(argv[0]);
	if (offline_verdict(argv, &s, &d, &p, &v) != 0)
		goto out;
	if (arg.json) {
		if (put_verdict_json(v) < 0)
			goto out;
	} else {
		print_verdict(v, host_label(s.inv, argv[0]), host_label(d, argv[1]));
	}
	ret = verdict_exit(cpreg_verdict_result(v));
out:
	cpreg_verdict_unref(v);
	cpreg_policy_unref(p);
	source_clear(&s);
	cpreg_inventory_unref(d);
	return ret;
}

/* The next register of a or b in id order: x and y the two sides (NULL where absent); false at the end. */
static bool next_pair(const struct cpreg_inventory *a, const struct cpreg_inventory *b, size_t *i, size_t *j,
		      const struct cpreg_reg **x, const struct cpreg_reg **y)
{
	*x = *i < cpreg_inventory_count(a) ? cpreg_inventory_at(a, *i) : NULL;
	*y = *j < cpreg_inventory_count(b) ? cpreg_inventory_at(b, *j) : NULL;
	if (*x && (!*y || (*x)->id < (*y)->id)) {
		*y = NULL;
		(*i)++;
	} else if (*y && (!*x || (*y)->id < (*x)->id)) {
		*x = NULL;
		(*j)++;
	} else if (*x && *y) {
		(*i)++;
		(*j)++;
	} else {
		return false;
	}
	return true;
}

/* One differing register: a row (fields under ID registers), or an element of cpreg-diff-1's array. */
static void diff_out(struct jw *w, const struct cpreg_reg *x, const struct cpreg_reg *y)
{
	uint64_t id = x ? x->id : y->id;
	char name[64], va[40], vb[40], hex[24];

	cpreg_id_name(id, name, sizeof(name));
	value_text(x, va, sizeof(va));
	value_text(y, vb, sizeof(vb));
	if (!w) {
		printf("%-28s %-22s %-22s\n", name, va, vb);
		if (x && y && x->state == CPREG_VALUE && y->state == CPREG_VALUE && cpreg_id_is_id_register(id))
			print_fields(id, x->value, y->value, "    ");
		return;
	}
	jw_object(w, NULL);
	snprintf(hex, sizeof(hex), "0x%016" PRIx64, id);
	jw_string(w, "id", hex);
	jw_string(w, "name", name);
	jw_string(w, "a", x ? va : NULL);
	jw_string(w, "b", y ? vb : NULL);
	jw_end_object(w);
}

/*
 * diff's two sides: inventories, or passports as the VM's registers (a
 * value a passport does not carry shows as the other side's, so only what
 * decides can differ).
 */
static int load_sides(char **argv, struct cpreg_inventory **a, struct cpreg_inventory **b)
{
	struct source x = { 0 }, y = { 0 };

	if (load_source(argv[1], NULL, &y) != 0)
		return EXIT_ERR;
	if (load_source(argv[0], y.passport ? NULL : y.inv, &x) != 0) {
		source_clear(&y);
		return EXIT_ERR;
	}
	if (y.passport && !x.passport) {
		source_clear(&y);
		if (load_source(argv[1], x.inv, &y) != 0) {
			source_clear(&x);
			return EXIT_ERR;
		}
	}
	*a = TAKE_PTR(x.inv);
	*b = TAKE_PTR(y.inv);
	source_clear(&x);
	source_clear(&y);
	return 0;
}

/* Side by side, by register name: the migrated registers (all with --all), counters aside. */
int cmd_diff(int argc, char **argv)
{
	struct cpreg_inventory *a = NULL, *b = NULL;
	const struct cpreg_reg *x, *y;
	size_t i = 0, j = 0, ndiff = 0;
	struct jw w = jw_stdout();
	int ret = EXIT_ERR;

	if (argc != 2)
		return fail("usage: cpregctl diff A.json B.json");
	if (load_sides(argv, &a, &b) != 0)
		goto out;
	if (arg.json) {
		/* cpreg-diff-1 (docs/schemas); the file names go through the one escaper. */
		jw_object(&w, NULL);
		jw_string(&w, "schema", "cpreg-diff/1");
		jw_string(&w, "a", argv[0]);
		jw_string(&w, "b", argv[1]);
		jw_array(&w, "differences");
	} else {
		printf("%-28s %-22s %-22s\n", "REGISTER", host_label(a, argv[0]), host_label(b, argv[1]));
	}
	while (next_pair(a, b, &i, &j, &x, &y)) {
		uint64_t id = x ? x->id : y->id;

		if (!arg.all && (!cpreg_id_migrates(id) || cpreg_id_is_counter(id)))
			continue;
		if (x && y && x->state == y->state && x->value == y->value)
			continue;
		ndiff++;
		diff_out(arg.json ? &w : NULL, x, y);
	}
	ret = ndiff ? EXIT_NO : EXIT_OK;
	if (arg.json) {
		jw_end_array(&w);
		jw_int(&w, "count", (int64_t)ndiff);
		jw_end_object(&w);
		ret = jw_done(&w, ret);
	} else {
		printf("%zu difference%s\n", ndiff, ndiff == 1 ? "" : "s");
	}
out:
	cpreg_inventory_unref(a);
	cpreg_inventory_unref(b);
	return ret;
}

/* A readable report, worst first, of why a pair is or is not compatible and what would change it. */
int cmd_explain(int argc, char **argv)
{
	static const enum cpreg_outcome order[] = { CPREG_OUT_FAIL, CPREG_OUT_UNKNOWN, CPREG_OUT_TOLERATED };
	struct source src = { 0 };
	struct cpreg_inventory *s, *d = NULL;
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;
	int ret = EXIT_ERR, k = 0;

	if (argc != 2)
		return fail("usage: cpregctl explain SOURCE.json DESTINATION.json");
	if (offline_verdict(argv, &src, &d, &p, &v) != 0)
		goto out;
	s = src.inv;
	if (arg.json) {
		/* The verdict itself: every finding with its reason and structured remedies. */
		if (put_verdict_json(v) < 0)
			goto out;
		ret = verdict_exit(cpreg_verdict_result(v));
		goto out;
	}
	{
		char *q = NULL;

		if (asprintf(&q, "Can a VM on %s (%s) migrate to %s (%s)?", host_label(s, argv[0]),
			     cpreg_inventory_get_text(s, CPREG_TEXT_KERNEL) ?: "kernel unknown", host_label(d, argv[1]),
			     cpreg_inventory_get_text(d, CPREG_TEXT_KERNEL) ?: "kernel unknown") >= 0)
			print_wrapped(q, 0, 4);
		free(q);
	}
	printf("%s: %s under %s (%s)%s\n\n",
	       cpreg_verdict_result(v) == CPREG_COMPATIBLE ? "YES" : cpreg_verdict_result(v) == CPREG_UNDECIDED ? "MAYBE" : "NO",
	       cpreg_result_name(cpreg_verdict_result(v)), cpreg_verdict_policy(v), cpreg_verdict_policy_reason(v),
	       src.vm.psci_version ? ", with the VM's PSCI version pinned" : "");
	for (size_t o = 0; o < 3; o++)
		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			const struct cpreg_finding *f = cpreg_verdict_at(v, i);
			const struct cpreg_reg *x = cpreg_inventory_find(s, f->id), *y = cpreg_inventory_find(d, f->id);
			/* The source's value as the VM's options made it: the finding's, which the check judged. */
			uint64_t xv = f->source_value;

			if (f->outcome != order[o])
				continue;
			printf("%2d. %s %s (%s)\n     ", ++k, cpreg_outcome_name(f->outcome), f->name,
			       cpreg_finding_kind_name(f->kind));
			print_wrapped(f->message, 5, 5);
			if (f->kind == CPREG_FIND_VALUE_DIFFERS && cpreg_id_is_id_register(f->id) && x && y &&
			    x->state == CPREG_VALUE && y->state == CPREG_VALUE)
				print_fields(f->id, xv, y->value, "       ");
			{
				/* The library's remedies: the same data explain --json and the daemon's verdict carry. */
				struct cpreg_remedy rem[4];
				size_t nr = cpreg_verdict_remedies(v, i, rem, 4);

				for (size_t r = 0; r < nr; r++)
					print_wrapped(rem[r].text, printf("     remedy (%s): ", cpreg_remedy_kind_name(rem[r].kind)), 7);
			}
		}
	if (k == 0)
		printf("Nothing fails: every difference is accepted by the destination or tolerated by its QEMU.\n");
	putchar('\n');
	print_wrapped("Static check only: the destination's cpregd (cpregctl check SOURCE there) adds the live trial.", 0, 0);
	ret = verdict_exit(cpreg_verdict_result(v));
out:
	cpreg_verdict_unref(v);
	cpreg_policy_unref(p);
	source_clear(&src);
	cpreg_inventory_unref(d);
	return ret;
}
