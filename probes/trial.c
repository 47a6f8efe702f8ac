/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live trial: QEMU's last step on a destination writes every incoming
 * value with KVM_SET_ONE_REG before the guest first runs, and any refusal
 * fails the migration (BRIEF section 1, step 3).  What the kernel accepts
 * (writable ID registers, PSCI versions, workaround levels, bitmaps, cache
 * geometry) drifts with every kernel, so the destination simply tries, on a
 * fresh scratch vCPU that never runs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpreg-internal.h"
#include "probe.h"

void cpreg_trial_clear(struct cpreg_trial *t)
{
	if (!t)
		return;
	free(t->regs);
	cpreg_inventory_unref(t->after);
	memset(t, 0, sizeof(*t));
}

/*
 * After the writes: the VM's vCPU as this kernel keeps it, read back over
 * its own register list (the migrated ids): what this host's QEMU would
 * send on at the VM's next migration.
 */
static int read_back(struct cpreg_scratch *s, struct cpreg_inventory **ret, struct cpreg_error *err)
{
	struct cpreg_inventory *inv;
	uint64_t *ids = NULL;
	size_t n = 0;
	int r;

	if ((r = cpreg_scratch_reg_list(s, &ids, &n, err)) < 0)
		return r;
	if (!(inv = cpreg_inventory_new())) {
		free(ids);
		return cpreg_err(err, -ENOMEM, "trial", "out of memory");
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct cpreg_reg reg = { .id = ids[i] };
		uint64_t v;

		if (!cpreg_id_migrates(ids[i]))
			continue;
		if (CPREG_ID_BYTES(ids[i]) > 8) {
			reg.state = CPREG_WIDE;
		} else if ((r = cpreg_scratch_get(s, ids[i], &v)) < 0) {
			reg.state = CPREG_UNREADABLE;
			reg.read_errno = -r;
		} else {
			reg.value = v;
		}
		r = cpreg_inventory_add(inv, &reg);
	}
	free(ids);
	if (r >= 0)
		r = cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, s->features);
	if (r < 0) {
		cpreg_inventory_unref(inv);
		return cpreg_err(err, r, "trial", "reading the vCPU back: %s", strerror(-r));
	}
	*ret = inv;
	return 0;
}

int cpreg_trial_run(const struct cpreg_kvm_ops *ops, const char *dev, const struct cpreg_inventory *src,
		    uint32_t vm_disable, struct cpreg_trial *ret, struct cpreg_error *err)
{
	return cpreg_trial_run_read_back(ops, dev, src, vm_disable, false, ret, err);
}

int cpreg_trial_run_read_back(const struct cpreg_kvm_ops *ops, const char *dev, const struct cpreg_inventory *src,
			      uint32_t vm_disable, bool want_after, struct cpreg_trial *ret, struct cpreg_error *err)
{
	struct cpreg_scratch s;
	struct cpreg_trial t = { 0 };
	struct timespec t0, t1;
	uint32_t had;
	int r;

	if (!src || !ret)
		return cpreg_err(err, -EINVAL, "trial", "no source inventory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The source VM's vCPU: its recorded features, or what "-cpu host" had before they were recorded. */
	had = cpreg_inventory_features(src);
	/*
	 * The destination QEMU runs the VM's command line, "-cpu host" plus its
	 * options: its vCPU has this host's features less what the options
	 * turn off, not the source's (BRIEF 5; measured: a source without
	 * pointer auth fails on a host with it, ID_AA64ISAR1_EL1).  The
	 * source's vector lengths go in where both have SVE, as QEMU writes
	 * the VM's.
	 */
	r = cpreg_scratch_open(&s, ops, dev, UINT32_MAX, vm_disable,
			       (had & (1u << CPREG_FEAT_SVE)) ? cpreg_inventory_sve_vls(src) : NULL, err);
	if (r < 0)
		return r;
	/* A feature the source VM's vCPU has and this one lacks cannot migrate. */
	s.missing = had & ~s.features & (1u << CPREG_FEAT_PMU_V3 | 1u << CPREG_FEAT_SVE | 1u << CPREG_FEAT_PTRAUTH_ADDRESS);
	t.missing = s.missing;
	t.vls_err = s.vls_err;
	t.regs = calloc(cpreg_inventory_migration_count(src) + 1, sizeof(*t.regs));
	if (!t.regs) {
		r = cpreg_err(err, -ENOMEM, "trial", "out of memory");
		goto out;
	}
	/* Ascending id order, as QEMU writes its (sorted) cpreg list. */
	for (size_t i = 0; i < cpreg_inventory_count(src); i++) {
		const struct cpreg_reg *reg = cpreg_inventory_at(src, i);
		struct cpreg_trial_reg *x = &t.regs[t.n];
		uint64_t local;

		if (!cpreg_id_migrates(reg->id) || reg->state != CPREG_VALUE)
			continue;
		x->id = reg->id;
		x->value = reg->value;
		if (cpreg_scratch_get(&s, reg->id, &local) == 0) {
			x->has_local = true;
			x->local = local;
		}
		r = cpreg_scratch_set(&s, reg->id, reg->value);
		if (r == 0) {
			x->outcome = CPREG_TRIAL_ACCEPTED;
		} else if (r == -ENOENT) {
			x->outcome = CPREG_TRIAL_UNKNOWN_ID;
		} else {
			x->outcome = CPREG_TRIAL_REJECTED;
			x->err = -r;
		}
		t.n++;
	}
	if (want_after && (r = read_back(&s, &t.after, err)) < 0)
		goto out;
	/* The reported duration includes closing the scratch VM: the trial's whole cost to the host. */
	cpreg_scratch_close(&s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t.duration_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	*ret = t;
	t.regs = NULL;
	t.after = NULL;
	r = 0;
out:
	free(t.regs);
	cpreg_inventory_unref(t.after);
	cpreg_scratch_close(&s);
	return r;
}

int cpreg_trial_judge(void *ctx, const struct cpreg_inventory *src, uint32_t vm_disable, struct cpreg_verdict *v)
{
	struct cpreg_trial_env *env = ctx;
	struct cpreg_error err = { 0 };
	struct cpreg_trial t = { 0 };
	int r;

	r = cpreg_trial_run_read_back(env->ops, env->dev, src, vm_disable, env->read_back, &t, &err);
	if (r < 0) {
		/* No KVM, a refused ioctl: the verdict says so and stays the static check's. */
		snprintf(env->failed, sizeof(env->failed), "the trial could not run: %s: %s; the verdict is the static "
			 "check alone", err.where[0] ? err.where : "trial", err.message[0] ? err.message : strerror(-r));
		return cpreg_verdict_trial_failed(v, env->failed);
	}
	{
		struct cpreg_trial_summary sum = { t.regs, t.n, t.missing, t.vls_err, t.duration_ms };

		env->ran = true;
		env->ms = t.duration_ms;
		env->after = TAKE_PTR(t.after);
		r = cpreg_verdict_apply_trial(v, &sum);
		if (r < 0)
			r = cpreg_verdict_trial_failed(v, "out of memory while merging the trial");
	}
	cpreg_trial_clear(&t);
	return r;
}
