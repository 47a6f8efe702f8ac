/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The destination's check with its live trial, where the "kernel" is a
 * replay of the destination's recorded inventory that refuses exactly the
 * registers the real kernel refused in a real migration (KVM_SET_ONE_REG,
 * QEMU's kvm_failed_reg_set trace).  So the index rules, the VM options and
 * the merge of a trial into the verdict are tested against reality without
 * the kernel model (tests/test-real.sh).
 *
 * replay-check SOURCE DEST REFUSED [PSCI X.Y|-] [DISABLE-LIST|-]
 *   REFUSED: hex ids, comma-separated, or "-"; prints cpreg-verdict/1.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "probe.h"

int main(int argc, char **argv)
{
	struct cpreg_inventory *s = NULL, *d = NULL;
	struct cpreg_vm_options vm = { 0 };
	struct cpreg_error err = { 0 };
	struct cpreg_verdict *v = NULL;
	struct cpreg_replay *rp;
	struct cpreg_trial t = { 0 };
	uint64_t ids[512];
	size_t n = 0;
	char *json = NULL, *list, *tok, *save = NULL;

	if (argc != 6) {
		fprintf(stderr, "usage: replay-check SOURCE DEST REFUSED PSCI|- DISABLE|-\n");
		return 2;
	}
	if (cpreg_inventory_load(argv[1], &s, &err) < 0 || cpreg_inventory_load(argv[2], &d, &err) < 0) {
		fprintf(stderr, "replay-check: %s: %s\n", err.where, err.message);
		return 2;
	}
	if (strcmp(argv[4], "-") != 0 && cpreg_parse_psci_version(argv[4], &vm.psci_version) < 0)
		return 2;
	if (strcmp(argv[5], "-") != 0 && cpreg_parse_disable(argv[5], &vm.disable) < 0)
		return 2;
	list = strdup(argv[3]);
	for (tok = strtok_r(list, ",", &save); tok && strcmp(tok, "-") != 0 && n < 512; tok = strtok_r(NULL, ",", &save))
		ids[n++] = strtoull(tok, NULL, 16);
	free(list);
	/* As cpregd does: the verdict for the VM, then the trial on a vCPU with the VM's options. */
	if (cpreg_check_vm(s, d, NULL, &vm, &v) < 0 || cpreg_inventory_apply_vm_options(s, &vm) < 0)
		return 2;
	{
		/* The destination's vCPU for this VM: its features less what the options turn off. */
		struct cpreg_inventory *dv = NULL;
		struct cpreg_vm_options dvm = { .disable = vm.disable, .sve_max_vq = vm.sve_max_vq };

		if (cpreg_inventory_copy(d, &dv) < 0 || cpreg_inventory_apply_vm_options(dv, &dvm) < 0)
			return 2;
		rp = cpreg_replay_new(dv);
		cpreg_inventory_unref(dv);  /* the replay holds its own reference */
	}
	cpreg_replay_refuse_only(rp, ids, n);
	if (cpreg_trial_run(cpreg_replay_ops(rp), NULL, s, vm.disable, &t, &err) < 0) {
		fprintf(stderr, "replay-check: trial: %s: %s\n", err.where, err.message);
		return 2;
	}
	{
		struct cpreg_trial_summary sum = { t.regs, t.n, t.missing, t.vls_err, t.duration_ms };

		cpreg_verdict_apply_trial(v, &sum);
	}
	cpreg_verdict_to_json(v, &json);
	fputs(json, stdout);
	free(json);
	cpreg_trial_clear(&t);
	cpreg_replay_free(rp);
	cpreg_verdict_unref(v);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return 0;
}
