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

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"
#include "probe.h"

/* The trial against the destination's recorded vCPU that refuses exactly the recorded ids. */
struct refusals {
	const struct cpreg_inventory *dst;
	const uint64_t *ids;
	size_t n;
};

static int replayed_trial(void *ctx, const struct cpreg_inventory *src, uint32_t vm_disable, struct cpreg_verdict *v)
{
	const struct refusals *rf = ctx;
	struct cpreg_vm_options dvm = { .disable = vm_disable };
	struct cpreg_inventory *dv = NULL;
	struct cpreg_trial_env env = { 0 };
	struct cpreg_replay *rp;
	int r;

	/* The destination's vCPU for this VM: its features less what the options turn off. */
	if (cpreg_inventory_copy(rf->dst, &dv) < 0 || cpreg_inventory_apply_vm_options(dv, &dvm) < 0)
		return -ENOMEM;
	rp = cpreg_replay_new(dv);
	cpreg_inventory_unref(dv);  /* the replay holds its own reference */
	if (!rp)
		return -ENOMEM;
	cpreg_replay_refuse_only(rp, rf->ids, rf->n);
	env.ops = cpreg_replay_ops(rp);
	r = cpreg_trial_judge(&env, src, vm_disable, v);
	cpreg_replay_free(rp);
	if (r >= 0 && env.failed[0]) {
		fprintf(stderr, "replay-check: %s\n", env.failed);
		return -EIO;
	}
	return r;
}

int main(int argc, char **argv)
{
	struct cpreg_inventory *s = NULL, *d = NULL;
	struct cpreg_vm_options vm = { 0 };
	struct cpreg_error err = { 0 };
	struct cpreg_verdict *v = NULL;
	uint64_t ids[512];
	struct refusals rf = { .ids = ids };
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
	if (strcmp(argv[5], "-") != 0 && cpreg_vm_options_parse_disable(argv[5], &vm.disable, &err) < 0)
		return 2;
	list = strdup(argv[3]);
	for (tok = strtok_r(list, ",", &save); tok && strcmp(tok, "-") != 0 && rf.n < 512; tok = strtok_r(NULL, ",", &save))
		ids[rf.n++] = strtoull(tok, NULL, 16);
	free(list);
	rf.dst = d;
	{
		/* As cpregd does: the library's pipeline, the trial on a vCPU with the VM's options. */
		const struct cpreg_judge_args a = { .source = s, .destination = d, .vm = &vm, .trial = replayed_trial,
						    .trial_ctx = &rf };

		if (cpreg_judge(&a, &v) < 0)
			return 2;
	}
	cpreg_verdict_to_json(v, &json);
	fputs(json, stdout);
	free(json);
	cpreg_verdict_unref(v);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return 0;
}
