/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tolerance matcher against BRIEF section 2 (QEMU "cpreg migration
 * tolerances" v10), branch by branch, and the site policy file.
 */
#include "config.h"

#include <errno.h>

#include "cpreg.h"
#include "tap.h"

#define ID_A UINT64_C(0x603000000013c020)  /* ID_AA64PFR0_EL1 */
#define ID_B UINT64_C(0x603000000013c030)  /* ID_AA64ISAR0_EL1 */
#define ID_C UINT64_C(0x603000000013c031)
#define ID_D UINT64_C(0x603000000013c032)
#define ID_E UINT64_C(0x603000000013c038)
#define ID_NONE UINT64_C(0x603000000013c039)

struct m { const char *what; uint64_t id, in, local; enum cpreg_tol_type type; bool want; };

static const struct m cases[] = {
	/* NotOnBothEnds (ID_A): true whatever the values, only when asked with its type. */
	{ "NotOnBothEnds: true", ID_A, 5, 7, CPREG_TOL_NOT_ON_BOTH_ENDS, true },
	{ "stored type must equal asked type", ID_A, 5, 5, CPREG_TOL_DIFF_IN_MASK, false },
	{ "no tolerance for the id: false", ID_NONE, 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS, false },
	/* OnlySrcTestValue (ID_B, mask 0xf0, value 0x20). */
	{ "OnlySrcTestValue: masked value equal", ID_B, 0x2f, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE, true },
	{ "OnlySrcTestValue: masked value differs, diff outside mask", ID_B, 0x3f, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE, false },
	{ "OnlySrcTestValue: falls through, diff inside mask, still not a diff type", ID_B, 0x30, 0x00,
	  CPREG_TOL_ONLY_SRC_TEST_VALUE, false },
	/* DiffInMask (ID_C, mask 0xff00). */
	{ "DiffInMask: diff inside mask", ID_C, 0x1200, 0x3400, CPREG_TOL_DIFF_IN_MASK, true },
	{ "DiffInMask: equal values", ID_C, 0x1, 0x1, CPREG_TOL_DIFF_IN_MASK, true },
	{ "DiffInMask: a bit outside the mask", ID_C, 0x1201, 0x3400, CPREG_TOL_DIFF_IN_MASK, false },
	/* FieldLT (ID_D, mask 0xf0, value 0x30): field compared in place, unshifted. */
	{ "FieldLT: 0x20 < 0x30", ID_D, 0x20, 0x50, CPREG_TOL_FIELD_LT, true },
	{ "FieldLT: 0x30 not < 0x30", ID_D, 0x30, 0x50, CPREG_TOL_FIELD_LT, false },
	{ "FieldLT: unshifted, 0x2 would be < 3 but the field is 0x20", ID_D, 0x40, 0x50, CPREG_TOL_FIELD_LT, false },
	{ "FieldLT: diff outside the mask", ID_D, 0x21, 0x50, CPREG_TOL_FIELD_LT, false },
	/* FieldGT (ID_E, mask 0xf0, value 0x30). */
	{ "FieldGT: 0x40 > 0x30", ID_E, 0x40, 0x10, CPREG_TOL_FIELD_GT, true },
	{ "FieldGT: 0x30 not > 0x30", ID_E, 0x30, 0x10, CPREG_TOL_FIELD_GT, false },
	{ "FieldGT: diff outside the mask", ID_E, 0x140, 0x10, CPREG_TOL_FIELD_GT, false },
};

int main(void)
{
	struct cpreg_tolerance_set *set = cpreg_tolerance_set_new();
	const struct cpreg_tolerance tols[] = {
		{ ID_A, 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS },
		{ ID_B, 0xf0, 0x20, CPREG_TOL_ONLY_SRC_TEST_VALUE },
		{ ID_C, 0xff00, 0, CPREG_TOL_DIFF_IN_MASK },
		{ ID_D, 0xf0, 0x30, CPREG_TOL_FIELD_LT },
		{ ID_E, 0xf0, 0x30, CPREG_TOL_FIELD_GT },
	};
	struct cpreg_tolerance dup = { ID_A, 0, 0, CPREG_TOL_DIFF_IN_MASK };
	struct cpreg_policy *p = NULL;
	struct cpreg_error err = { 0 };

	for (size_t i = 0; i < sizeof(tols) / sizeof(tols[0]); i++)
		cpreg_tolerance_set_add(set, &tols[i], false);
	tap_ok(cpreg_tolerance_set_add(set, &dup, false) == -EEXIST, "a second tolerance for one id is -EEXIST");
	tap_ok(cpreg_tolerance_find(set, ID_A)->type == CPREG_TOL_NOT_ON_BOTH_ENDS, "and the first one stays");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(cpreg_tolerance_match(set, cases[i].id, cases[i].in, cases[i].local, cases[i].type) == cases[i].want,
		       "%s", cases[i].what);
	/* A type outside the five: the matcher's "anything else" branch. */
	{
		struct cpreg_tolerance odd = { ID_NONE, ~UINT64_C(0), 0, CPREG_TOL_ONLY_SRC_TEST_VALUE };

		cpreg_tolerance_set_add(set, &odd, false);
		tap_ok(!cpreg_tolerance_match(set, ID_NONE, 5, 5, CPREG_TOL_ONLY_SRC_TEST_VALUE),
		       "OnlySrcTestValue with a failed test and no diff is still false (not a diff type)");
	}
	tap_ok(cpreg_tolerance_set_add(set, &(struct cpreg_tolerance){ ID_A, 0, 0, 99 }, true) == -EINVAL,
	       "an unknown type is refused");
	cpreg_tolerance_set_unref(set);

	/* The built-in QEMU 11.1 table (BRIEF section 2). */
	tap_ok(cpreg_policy_new_builtin("qemu-11.1", &p) == 0, "qemu-11.1 exists");
	{
		const struct cpreg_tolerance_set *t = cpreg_policy_tolerances(p);
		uint64_t bmap2 = UINT64_C(0x6030000000160003);

		tap_ok(cpreg_tolerance_set_count(t) == 4, "qemu-11.1 has four tolerances");
		tap_ok(cpreg_tolerance_match(t, UINT64_C(0x603000000013c103), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS),
		       "TCR2_EL1 may be on one end only");
		tap_ok(cpreg_tolerance_match(t, UINT64_C(0x603000000013c512), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS) &&
		       cpreg_tolerance_match(t, UINT64_C(0x603000000013c513), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS),
		       "PIRE0_EL1 and PIR_EL1 too");
		tap_ok(cpreg_tolerance_match(t, bmap2, 0, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE),
		       "VENDOR_HYP_BMAP_2 = 0 may be in the source only");
		tap_ok(!cpreg_tolerance_match(t, bmap2, 1, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE),
		       "VENDOR_HYP_BMAP_2 = 1 may not");
		tap_ok(!cpreg_tolerance_match(t, UINT64_C(0x603000000013df11), 0, 0, CPREG_TOL_NOT_ON_BOTH_ENDS),
		       "the physical timer is not tolerated");
	}
	cpreg_policy_unref(p);
	tap_ok(cpreg_policy_new_builtin("qemu-legacy", &p) == 0 &&
	       cpreg_tolerance_set_count(cpreg_policy_tolerances(p)) == 0, "qemu-legacy has no tolerances");
	cpreg_policy_unref(p);
	tap_ok(cpreg_policy_new_builtin("qemu-9", &p) == -ENOENT, "unknown built-in policy is -ENOENT");
	tap_eq_str(cpreg_policy_for_qemu_version("7.2.0"), "qemu-legacy", "QEMU 7.2 -> qemu-legacy");
	tap_eq_str(cpreg_policy_for_qemu_version("11.0.50"), "qemu-legacy", "QEMU 11.0 -> qemu-legacy");
	tap_eq_str(cpreg_policy_for_qemu_version("11.1.0"), "qemu-11.1", "QEMU 11.1 -> qemu-11.1");
	tap_eq_str(cpreg_policy_for_qemu_version("12.0"), "qemu-11.1", "QEMU 12.0 -> qemu-11.1");
	tap_ok(cpreg_policy_for_qemu_version(NULL) == NULL, "unknown version -> no choice");

	/* Site policy file: adds and replaces by name or id; errors name the place. */
	{
		const char *doc = "{\"schema\": \"cpreg-policy/1\", \"name\": \"site\", \"base\": \"qemu-11.1\", "
				  "\"tolerances\": [{\"register\": \"PSCI_VERSION\", \"type\": \"FieldLT\", "
				  "\"mask\": \"0xffffffff\", \"value\": \"0x10003\"}, "
				  "{\"register\": \"0x603000000013c103\", \"type\": \"DiffInMask\", \"mask\": \"0xff\"}]}";

		p = NULL;
		tap_ok(cpreg_policy_from_json(doc, strlen(doc), "site.json", &p, &err) == 0, "a site policy loads (%s)",
		       err.message);
		tap_eq_str(cpreg_policy_name(p), "site", "with its own name");
		tap_ok(cpreg_tolerance_set_count(cpreg_policy_tolerances(p)) == 5, "one tolerance added, one replaced");
		tap_ok(cpreg_tolerance_find(cpreg_policy_tolerances(p), UINT64_C(0x603000000013c103))->type ==
		       CPREG_TOL_DIFF_IN_MASK, "TCR2_EL1 replaced by the site's DiffInMask");
		cpreg_policy_unref(p);
	}
	{
		static const struct { const char *doc, *where; } badp[] = {
			{ "{\"schema\": \"cpreg-policy/1\", \"tolerances\": [{\"register\": \"NOPE\", \"type\": \"DiffInMask\"}]}",
			  "f.json:tolerances[0].register" },
			{ "{\"schema\": \"cpreg-policy/1\", \"tolerances\": [{\"register\": \"MIDR_EL1\", \"type\": \"Maybe\"}]}",
			  "f.json:tolerances[0].type" },
			{ "{\"schema\": \"cpreg-policy/1\", \"tolerances\": [{\"register\": \"MIDR_EL1\", \"type\": \"DiffInMask\"},"
			  " {\"register\": \"0x603000000013c000\", \"type\": \"DiffInMask\"}]}", "f.json:tolerances[1].register" },
			{ "{\"schema\": \"cpreg-policy/1\", \"tolerances\": [{\"register\": \"MIDR_EL1\", \"type\": \"DiffInMask\", "
			  "\"mask\": 255}]}", "f.json:tolerances[0].mask" },
			{ "{\"schema\": \"cpreg-policy/1\", \"base\": \"qemu-3\"}", "f.json:base" },
			{ "{\"schema\": \"other\"}", "f.json:schema" },
			{ "{\"schema\": ", "f.json" },
		};
		for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++) {
			p = NULL;
			memset(&err, 0, sizeof(err));
			tap_ok(cpreg_policy_from_json(badp[i].doc, strlen(badp[i].doc), "f.json", &p, &err) < 0 && !p &&
			       strcmp(err.where, badp[i].where) == 0, "bad policy %zu names %s (got \"%s\": %s)", i,
			       badp[i].where, err.where, err.message);
		}
	}
	return tap_done();
}
