/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the migration check on two different inventories, the
 * VM's options and a trial's outcome: everything a destination decides from
 * outside input (a POST /v1/check body and this host's own inventory).
 *
 * Input: byte 0 the VM's options (bit 0 pins PSCI 1.1, bits 1-3 turn pmu,
 * sve, pauth off, bits 4-6 sve-max-vq), byte 1 seeds the trial's outcome
 * per register, byte 2 the policy (legacy, 11.1, or the fixed site policy
 * below), then the source and the destination inventories separated by a
 * line "----".  Built for libFuzzer with --enable-fuzzing; every build runs
 * it over tests/fuzz/check/ and tests/fuzz/regressions/check/ (fuzz-replay).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A site policy with every tolerance type, so matching runs on fuzzed ids and values. */
static const char site[] =
	"{\"schema\": \"cpreg-policy/1\", \"name\": \"fuzz\", \"base\": \"qemu-11.1\", \"tolerances\": ["
	"{\"register\": \"CNTP_CTL_EL0\", \"type\": \"NotOnBothEnds\"},"
	"{\"register\": \"ID_AA64DFR0_EL1\", \"type\": \"DiffInMask\", \"mask\": \"0x0000000000000f00\"},"
	"{\"register\": \"ID_AA64PFR0_EL1\", \"type\": \"FieldLT\", \"mask\": \"0x00000000000f0000\"},"
	"{\"register\": \"ID_AA64ISAR0_EL1\", \"type\": \"FieldGT\", \"mask\": \"0x00000000000000f0\"},"
	"{\"register\": \"PSCI_VERSION\", \"type\": \"OnlySrcTestValue\", \"value\": \"0x10001\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n----\n";
	struct cpreg_inventory *src = NULL, *dst = NULL;
	struct cpreg_policy *pol = NULL;
	struct cpreg_verdict *v = NULL;
	struct cpreg_vm_options vm = { 0 };
	struct cpreg_error err;
	const char *text, *cut;
	size_t len;
	char *out = NULL;
	uint8_t seed;

	if (size < 3)
		return 0;
	vm.psci_version = data[0] & 1 ? 0x10001 : 0;
	vm.disable = (data[0] & 2 ? 1u << CPREG_FEAT_PMU_V3 : 0) | (data[0] & 4 ? 1u << CPREG_FEAT_SVE : 0) |
		     (data[0] & 8 ? 1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC : 0);
	vm.sve_max_vq = (data[0] >> 4) & 7;
	seed = data[1];
	if (data[2] % 3 == 2)
		cpreg_policy_from_json(site, sizeof(site) - 1, "fuzz", &pol, &err);
	else
		cpreg_policy_new_builtin(data[2] % 3 ? "qemu-11.1" : "qemu-legacy", &pol);
	text = (const char *)data + 3;
	len = size - 3;
	cut = memmem(text, len, sep, sizeof(sep) - 1);
	if (!cut)
		goto out;
	if (cpreg_inventory_from_json(text, (size_t)(cut - text), &src, &err) < 0 ||
	    cpreg_inventory_from_json(cut + sizeof(sep) - 1, len - (size_t)(cut - text) - (sizeof(sep) - 1), &dst, &err) < 0)
		goto out;
	if ((vm.psci_version || vm.disable || vm.sve_max_vq) && cpreg_inventory_apply_vm_options(src, &vm) < 0)
		goto out;
	if (cpreg_check_vm(src, dst, pol, &vm, &v) < 0)
		goto out;
	if (cpreg_verdict_to_json(v, &out) == 0)
		free(out);
	{
		/* A trial's outcome for every source register, from the seed: the merge of the two. */
		size_t n = cpreg_inventory_count(src);
		struct cpreg_trial_reg *t = calloc(n ? n : 1, sizeof(*t));
		uint32_t x = seed * 2654435761u + 1;

		if (t) {
			for (size_t i = 0; i < n; i++) {
				const struct cpreg_reg *r = cpreg_inventory_at(src, i);

				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				t[i].id = r->id;
				t[i].value = r->value;
				t[i].outcome = 1 + x % 3;
				t[i].err = t[i].outcome == CPREG_TRIAL_REJECTED ? 22 : t[i].outcome == CPREG_TRIAL_UNKNOWN_ID ? 2 : 0;
				t[i].has_local = x & 8;
				t[i].local = r->value ^ (x & 16 ? 0xf0 : 0);
			}
			struct cpreg_trial_summary sum = { t, n, seed & 1 ? 1u << CPREG_FEAT_SVE : 0, seed & 2 ? 22 : 0, 1 };

			if (cpreg_verdict_apply_trial(v, &sum) == 0 && cpreg_verdict_to_json(v, &out) == 0)
				free(out);
			free(t);
		}
	}
out:
	cpreg_verdict_unref(v);
	cpreg_inventory_unref(src);
	cpreg_inventory_unref(dst);
	cpreg_policy_unref(pol);
	return 0;
}
