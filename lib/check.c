/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration check: what a destination QEMU does with an incoming cpreg
 * list (BRIEF section 1), and what the destination kernel is known to do
 * with the values (section 5), as a verdict with one finding per
 * difference.  Messages quote what QEMU itself prints where it prints
 * something.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "verdict.h"

static void later(struct cpreg_verdict *v, const struct cpreg_finding *f, enum how how)
{
	size_t i = (size_t)(f - v->f);

	/* A tolerance may take over a value finding the kernel model judged: it no longer needs the destination. */
	v->pending_judge -= (v->how[i] & HOW_MASK) == HOW_JUDGE;
	v->how[i] = (uint8_t)((v->how[i] & HOW_NAME) | how);
	v->pending_judge += how == HOW_JUDGE;
}

/* How QEMU names a register in "Could not set register ..." (target/arm/kvm.c). */

static void judge_value(struct cpreg_verdict *v, struct cpreg_finding *f, const struct cpreg_inventory *dst,
			const struct cpreg_reg *dreg)
{
	struct cpreg_kernel_answer a;

	if (cpreg_kernel_judge_outcome(dst, dreg, f->id, f->source_value, &a) < 0) {
		f->outcome = CPREG_OUT_UNKNOWN;
		later(v, f, HOW_NOT_LISTED);
		return;
	}
	f->outcome = a.outcome;
	f->rule = a.rule;
	later(v, f, HOW_JUDGE);
}


static int finish_side(struct side *side, const struct cpreg_inventory *inv)
{
	const char *t;

	cpreg_inventory_digest(inv, side->digest, sizeof(side->digest));
	side->migrated = cpreg_inventory_migration_count(inv);
	if ((t = cpreg_inventory_get_text(inv, CPREG_TEXT_HOSTNAME)) && !(side->hostname = strdup(t)))
		return -ENOMEM;
	if ((t = cpreg_inventory_get_text(inv, CPREG_TEXT_KERNEL)) && !(side->kernel = strdup(t)))
		return -ENOMEM;
	if ((t = cpreg_inventory_get_text(inv, CPREG_TEXT_QEMU_VERSION)) && !(side->qemu = strdup(t)))
		return -ENOMEM;
	return 0;
}

/* The merge's state: the verdict being built, the policy's kind and tolerances, the destination's last id. */
struct merge {
	struct cpreg_verdict *v;
	const struct cpreg_inventory *dst;
	const struct cpreg_tolerance_set *tols;
	bool legacy;
	uint64_t dst_last;
};

/* Step 1, QEMU before 11.1: cpreg_vmstate_array_len must not exceed ours. */
static int count_step(struct merge *m)
{
	struct cpreg_verdict *v = m->v;
	struct cpreg_finding *f;

	if (!m->legacy || v->src.migrated <= v->dst.migrated)
		return 0;
	f = verdict_add_finding(v, 0, CPREG_FIND_COUNT_EXCEEDED);
	if (!f)
		return -ENOMEM;
	f->outcome = CPREG_OUT_FAIL;
	f->has_source = f->has_destination = true;
	f->source_value = v->src.migrated;
	f->destination_value = v->dst.migrated;
	_Static_assert(sizeof("cpreg_vmstate_array_len") <= sizeof(f->name), "the name fits");
	memcpy(f->name, "cpreg_vmstate_array_len", sizeof("cpreg_vmstate_array_len"));
	later(v, f, HOW_COUNT);
	return 0;
}

/* An id the source sends and the destination does not list. */
static int only_in_source(struct merge *m, const struct cpreg_reg *a)
{
	struct cpreg_finding *f = verdict_add_finding(m->v, a->id, CPREG_FIND_ONLY_IN_SOURCE);

	if (!f)
		return -ENOMEM;
	f->has_source = a->state == CPREG_VALUE;
	f->source_value = a->value;
	if (m->legacy && a->id > m->dst_last) {
		f->outcome = CPREG_OUT_TOLERATED;
		f->tolerance = legacy_tail;
		later(m->v, f, HOW_LEGACY_TAIL);
	} else if (m->legacy) {
		f->outcome = CPREG_OUT_FAIL;
		later(m->v, f, HOW_LEGACY_FAIL);
	} else if (cpreg_tolerance_match(m->tols, a->id, a->value, 0, CPREG_TOL_NOT_ON_BOTH_ENDS)) {
		f->outcome = CPREG_OUT_TOLERATED;
		f->tolerance = cpreg_tol_type_name(CPREG_TOL_NOT_ON_BOTH_ENDS);
		later(m->v, f, HOW_SRC_TOL_BOTH);
	} else if (cpreg_tolerance_match(m->tols, a->id, a->value, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE)) {
		f->outcome = CPREG_OUT_TOLERATED;
		f->tolerance = cpreg_tol_type_name(CPREG_TOL_ONLY_SRC_TEST_VALUE);
		later(m->v, f, HOW_SRC_TOL_VALUE);
	} else {
		f->outcome = CPREG_OUT_FAIL;
		later(m->v, f, HOW_SRC_FAIL);
	}
	return 0;
}

/* An id the destination lists and the source does not send: it keeps its reset value. */
static int only_in_destination(struct merge *m, const struct cpreg_reg *b)
{
	struct cpreg_finding *f = verdict_add_finding(m->v, b->id, CPREG_FIND_ONLY_IN_DESTINATION);

	if (!f)
		return -ENOMEM;
	f->has_destination = b->state == CPREG_VALUE;
	f->destination_value = b->value;
	if (m->tols && cpreg_tolerance_match(m->tols, b->id, 0, b->value, CPREG_TOL_NOT_ON_BOTH_ENDS)) {
		f->outcome = CPREG_OUT_TOLERATED;
		f->tolerance = cpreg_tol_type_name(CPREG_TOL_NOT_ON_BOTH_ENDS);
		later(m->v, f, HOW_DST_TOL);
	} else {
		f->outcome = CPREG_OUT_OK;
		later(m->v, f, m->legacy ? HOW_DST_OK_LEGACY : HOW_DST_OK);
	}
	return 0;
}

/* Step 3 for an id on both ends with different values: the kernel model, then QEMU 11.1's value tolerances. */
static int value_differs(struct merge *m, const struct cpreg_reg *a, const struct cpreg_reg *b)
{
	static const enum cpreg_tol_type vt[] = { CPREG_TOL_DIFF_IN_MASK, CPREG_TOL_FIELD_LT, CPREG_TOL_FIELD_GT };
	struct cpreg_finding *f = verdict_add_finding(m->v, a->id, CPREG_FIND_VALUE_DIFFERS);

	if (!f)
		return -ENOMEM;
	f->has_source = a->state == CPREG_VALUE;
	f->has_destination = b->state == CPREG_VALUE;
	f->source_value = a->value;
	f->destination_value = b->value;
	if (!f->has_source || !f->has_destination) {
		f->outcome = CPREG_OUT_UNKNOWN;
		later(m->v, f, HOW_UNREADABLE);
		return 0;
	}
	judge_value(m->v, f, m->dst, b);
	/* QEMU 11.1 lets a value tolerance accept a difference the write would refuse. */
	for (size_t k = 0; m->tols && f->outcome != CPREG_OUT_OK && k < ARRAY_SIZE(vt); k++)
		if (cpreg_tolerance_match(m->tols, a->id, a->value, b->value, vt[k])) {
			f->outcome = CPREG_OUT_TOLERATED;
			f->tolerance = cpreg_tol_type_name(vt[k]);
			later(m->v, f, HOW_VALUE_TOL);
			break;
		}
	return 0;
}

/* Step 2, the index merge over both ascending lists; step 3, the values. */
static int merge_lists(struct merge *m, const struct cpreg_inventory *src, const struct cpreg_inventory *dst)
{
	size_t i = 0, j = 0, ns = cpreg_inventory_count(src), nd = cpreg_inventory_count(dst);
	int r = 0;

	for (size_t k = nd; k > 0; k--)
		if (cpreg_migrates(dst->regs[k - 1].id)) {
			m->dst_last = dst->regs[k - 1].id;
			break;
		}
	while (r == 0 && (i < ns || j < nd)) {
		const struct cpreg_reg *a = i < ns ? &src->regs[i] : NULL;
		const struct cpreg_reg *b = j < nd ? &dst->regs[j] : NULL;

		if (a && !cpreg_migrates(a->id))
			i++;
		else if (b && !cpreg_migrates(b->id))
			j++;
		else if (a && (!b || a->id < b->id))
			i++, r = only_in_source(m, a);
		else if (b && (!a || b->id < a->id))
			j++, r = only_in_destination(m, b);
		else if (a && b) {
			i++, j++;
			if (a->state != CPREG_VALUE || b->state != CPREG_VALUE || a->value != b->value)
				r = value_differs(m, a, b);
		}
	}
	return r;
}

/* The policy to judge by: the caller's, or the one the destination's QEMU version implies (*own, to unref). */
static int choose_policy(const struct cpreg_inventory *dst, const struct cpreg_policy **policy,
			 struct cpreg_policy **own, char *reason, size_t len)
{
	const char *q, *name;

	if (*policy) {
		cpreg_put(reason, len, 0, "chosen by the caller");
		return 0;
	}
	q = cpreg_inventory_get_text(dst, CPREG_TEXT_QEMU_VERSION);
	name = cpreg_policy_for_qemu_version(q);
	if (name)
		cpreg_put(reason, len, cpreg_put(reason, len, 0, "destination QEMU "), q);
	else
		cpreg_put(reason, len, 0, "destination QEMU version unknown: assuming before 11.1");
	if (cpreg_policy_new_builtin(name ? name : "qemu-legacy", own) < 0)
		return -ENOMEM;
	*policy = *own;
	return 0;
}

static int check_core(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
		      const struct cpreg_policy *policy, struct cpreg_verdict **ret)
{
	struct cpreg_policy *own = NULL;
	struct merge m = { .dst = dst };
	struct cpreg_verdict *v;
	char reason[160];
	int r;

	if (!src || !dst || !ret)
		return -EINVAL;
	if ((r = choose_policy(dst, &policy, &own, reason, sizeof(reason))) < 0)
		return r;
	m.legacy = cpreg_policy_kind(policy) == CPREG_POLICY_QEMU_LEGACY;
	m.tols = m.legacy ? NULL : cpreg_policy_tolerances(policy);
	v = m.v = calloc(1, sizeof(*v));
	r = -ENOMEM;
	if (v) {
		v->refcount = 1;
		pthread_mutex_init(&v->texts_lock, NULL);
		v->judged = cpreg_inventory_ref((struct cpreg_inventory *)dst);
		v->policy = strdup(cpreg_policy_name(policy));
		v->policy_reason = strdup(reason);
		if (v->policy && v->policy_reason && finish_side(&v->src, src) >= 0 && finish_side(&v->dst, dst) >= 0 &&
		    (r = count_step(&m)) >= 0)
			r = merge_lists(&m, src, dst);
	}
	cpreg_policy_unref(own);
	if (r < 0) {
		cpreg_verdict_unref(v);
		return r;
	}
	verdict_recompute(v);
	*ret = v;
	return 0;
}

/* The vCPU features that change what migrates (KVM hides their registers and ID fields). */
int cpreg_check_vm_options(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
			   const struct cpreg_vm_options *vm, struct cpreg_inventory **ret_src,
			   struct cpreg_inventory **ret_dst)
{
	struct cpreg_inventory *s = NULL, *d = NULL;
	struct cpreg_vm_options dvm = cpreg_vm_destination_options(vm);
	int r;

	if ((r = cpreg_inventory_copy(src, &s)) < 0 || (r = cpreg_inventory_copy(dst, &d)) < 0 ||
	    (r = cpreg_inventory_apply_vm_options(s, vm)) < 0 || (r = cpreg_inventory_apply_vm_options(d, &dvm)) < 0) {
		cpreg_inventory_unref(s);
		cpreg_inventory_unref(d);
		return r;
	}
	/* Hashed once here, not once per check that reads them (a fleet checks each n - 1 times each way). */
	cpreg_inventory_seal(s);
	cpreg_inventory_seal(d);
	*ret_src = s;
	*ret_dst = d;
	return 0;
}

static int cpreg_check_prepared(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
				const struct cpreg_inventory *s, const struct cpreg_inventory *d,
				const struct cpreg_policy *policy, struct cpreg_verdict **ret)
{
	struct cpreg_verdict *v = NULL;
	uint32_t missing;
	int r;

	r = check_core(s ? s : src, d ? d : dst, policy, &v);
	if (r < 0)
		return r;
	missing = cpreg_inventory_features(s ? s : src) & ~cpreg_inventory_features(d ? d : dst) & VM_FEATURES;
	for (unsigned b = 0; b < 32; b++)
		if ((missing & (1u << b)) && (r = verdict_add_missing_feature(v, b)) < 0) {
			cpreg_verdict_unref(v);
			return r;
		}
	verdict_recompute(v);
	*ret = v;
	return 0;
}

int cpreg_judge_prepared(const struct cpreg_judge_args *a, const struct cpreg_inventory *s,
			 const struct cpreg_inventory *d, struct cpreg_verdict **ret)
{
	struct cpreg_verdict *v = NULL;
	int r;

	if (!a || !a->source || !a->destination || !ret)
		return -EINVAL;
	r = cpreg_check_prepared(a->source, a->destination, s, d, a->policy, &v);
	if (r < 0)
		return r;
	if (a->trial)
		r = a->trial(a->trial_ctx, s ? s : a->source, a->vm ? a->vm->disable : 0, v);
	else if (a->no_trial)
		r = cpreg_verdict_trial_failed(v, a->no_trial);
	if (r < 0) {
		cpreg_verdict_unref(v);
		return r;
	}
	*ret = v;
	return 0;
}

int cpreg_judge(const struct cpreg_judge_args *a, struct cpreg_verdict **ret)
{
	struct cpreg_inventory *s = NULL, *d = NULL;
	int r;

	if (!a || !a->source || !a->destination || !ret)
		return -EINVAL;
	if (cpreg_vm_options_any(a->vm) && a->source_is_vm) {
		struct cpreg_vm_options dvm = cpreg_vm_destination_options(a->vm);

		if ((r = cpreg_inventory_copy(a->destination, &d)) < 0 || (r = cpreg_inventory_apply_vm_options(d, &dvm)) < 0) {
			cpreg_inventory_unref(d);
			return r;
		}
		cpreg_inventory_seal(d);
	} else if (cpreg_vm_options_any(a->vm) && (r = cpreg_check_vm_options(a->source, a->destination, a->vm, &s, &d)) < 0)
		return r;
	r = cpreg_judge_prepared(a, s, d, ret);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return r;
}

int cpreg_check_vm(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
		   const struct cpreg_policy *policy, const struct cpreg_vm_options *vm, struct cpreg_verdict **ret)
{
	const struct cpreg_judge_args a = { .source = src, .destination = dst, .policy = policy, .vm = vm };

	return cpreg_judge(&a, ret);
}

int cpreg_check(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
		const struct cpreg_policy *policy, struct cpreg_verdict **ret)
{
	return cpreg_check_vm(src, dst, policy, NULL, ret);
}

