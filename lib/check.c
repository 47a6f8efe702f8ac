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

const char legacy_tail[] = "legacy-dropped-tail";
const char oom_message[] = "(out of memory)";

const char *const kind_names[] = {
	[CPREG_FIND_COUNT_EXCEEDED] = "count-exceeded",
	[CPREG_FIND_ONLY_IN_SOURCE] = "only-in-source",
	[CPREG_FIND_ONLY_IN_DESTINATION] = "only-in-destination",
	[CPREG_FIND_VALUE_DIFFERS] = "value-differs",
	[CPREG_FIND_VCPU_FEATURE] = "vcpu-feature",
};
const char *const outcome_names[] = {
	[CPREG_OUT_OK] = "ok", [CPREG_OUT_TOLERATED] = "tolerated",
	[CPREG_OUT_UNKNOWN] = "unknown", [CPREG_OUT_FAIL] = "fail",
};
const char *const result_names[] = {
	[CPREG_COMPATIBLE] = "compatible", [CPREG_INCOMPATIBLE] = "incompatible",
	[CPREG_UNDECIDED] = "undecided",
};

const char *cpreg_finding_kind_name(enum cpreg_finding_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

const char *cpreg_outcome_name(enum cpreg_outcome o)
{
	return (unsigned)o < ARRAY_SIZE(outcome_names) ? outcome_names[o] : NULL;
}

const char *cpreg_result_name(enum cpreg_result r)
{
	return (unsigned)r < ARRAY_SIZE(result_names) ? result_names[r] : NULL;
}

struct cpreg_finding *verdict_add_finding(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
{
	struct cpreg_finding *f;

	if (v->n == v->cap || !v->how) {
		size_t ncap = v->n < v->cap ? v->cap : v->cap ? v->cap * 2 : 64;
		struct cpreg_finding *n = reallocarray(v->f, ncap, sizeof(*n));
		uint8_t *h;

		if (!n)
			return NULL;
		v->f = n;
		if (!(h = realloc(v->how, ncap)))
			return NULL;
		if (!v->how)
			memset(h, HOW_DONE, v->n);   /* a verdict read from JSON: its findings are worded */
		v->how = h;
		v->cap = ncap;
	}
	v->how[v->n] = id ? HOW_NAME : HOW_DONE;
	if (id)
		v->all_done = 0;        /* a finding added after the others were read (the trial's) */
	f = &v->f[v->n++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->kind = kind;
	return f;
}

/* Word finding f now (replacing any words it had). */
void finding_msg(struct cpreg_finding *f, const char *fmt, ...)
{
	char text[CPREG_MESSAGE_MAX + 1], *copy;
	va_list ap;
	int n;

	/* Cut at the length the verdict reader takes back. */
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : n > CPREG_MESSAGE_MAX ? CPREG_MESSAGE_MAX : n;
	if ((copy = malloc((size_t)n + 1))) {
		memcpy(copy, text, (size_t)n);
		copy[n] = '\0';
	}
	if (f->message != oom_message)
		free((char *)f->message);
	f->message = copy ? copy : oom_message;
}

/* Word finding i of v later, when it is first read. */
static void later(struct cpreg_verdict *v, const struct cpreg_finding *f, enum how how)
{
	size_t i = (size_t)(f - v->f);

	/* A tolerance may take over a value finding the kernel model judged: it no longer needs the destination. */
	v->pending_judge -= (v->how[i] & HOW_MASK) == HOW_JUDGE;
	v->how[i] = (uint8_t)((v->how[i] & HOW_NAME) | how);
	v->pending_judge += how == HOW_JUDGE;
}

/* How QEMU names a register in "Could not set register ..." (target/arm/kvm.c). */
void verdict_qemu_reg_name(uint64_t id, char *buf, size_t len)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);
	size_t off = 0;

	buf[0] = '\0';
	switch (CPREG_ID_GROUP(id)) {
	case CPREG_GROUP_SYSREG:
		off = cpreg_put(buf, len, off, "op0:");
		off = cpreg_put_i64(buf, len, off, e.op0);
		off = cpreg_put(buf, len, off, " op1:");
		off = cpreg_put_i64(buf, len, off, e.op1);
		off = cpreg_put(buf, len, off, " crn:");
		off = cpreg_put_i64(buf, len, off, e.crn);
		off = cpreg_put(buf, len, off, " crm:");
		off = cpreg_put_i64(buf, len, off, e.crm);
		off = cpreg_put(buf, len, off, " op2:");
		cpreg_put_i64(buf, len, off, e.op2);
		break;
	case CPREG_GROUP_FW:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "fw reg "), (int64_t)(id & 0xffff));
		break;
	case CPREG_GROUP_FW_FEAT:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "fw feat reg "), (int64_t)(id & 0xffff));
		break;
	case CPREG_GROUP_DEMUX:
		cpreg_put_i64(buf, len, cpreg_put(buf, len, 0, "demux reg "), (int64_t)(id & 0xffff));
		break;
	default:
		snprintf(buf, len, "0x%016" PRIx64, id);
	}
}

/* QEMU's words when the kernel refuses a value (kvm_arm_cpreg_level / write_list_to_kvmstate). */
static void write_refused(struct cpreg_finding *f, const char *why)
{
	char text[CPREG_MESSAGE_MAX + 1];
	size_t off;

	verdict_qemu_reg_name(f->id, text, sizeof(text));
	off = cpreg_put(text, sizeof(text), strlen(text), " to ");
	off = cpreg_put_hex(text, sizeof(text), off, f->source_value);
	off = cpreg_put(text, sizeof(text), off, " (is ");
	off = cpreg_put_hex(text, sizeof(text), off, f->destination_value);
	off = cpreg_put(text, sizeof(text), off, "): ");
	cpreg_put(text, sizeof(text), off, why);
	finding_msg(f, "Could not set register %s", text);
}

/* Finding i's words, from how check_core judged it (its name is written already). */
static void word(struct cpreg_verdict *v, size_t i, const struct cpreg_inventory *dst)
{
	struct cpreg_finding *f = &v->f[i];
	struct cpreg_kernel_answer a;

	switch (v->how[i] & HOW_MASK) {
	case HOW_LEGACY_TAIL:
		finding_msg(f, "sorts after the destination's last register: QEMU before 11.1 drops it silently "
		    "(a bug fixed in 11.1)");
		break;
	case HOW_LEGACY_FAIL:
		finding_msg(f, "register in their list but not ours: fail migration "
		    "(error while loading state for instance 0x0 of device 'cpu')");
		break;
	case HOW_SRC_TOL_BOTH:
		finding_msg(f, "in the incoming stream but unknown on the destination: tolerated (%s)", f->tolerance);
		break;
	case HOW_SRC_TOL_VALUE:
		finding_msg(f, "in the incoming stream but unknown on the destination: tolerated, its value 0x%" PRIx64
		    " passes %s", f->source_value, f->tolerance);
		break;
	case HOW_SRC_FAIL:
		finding_msg(f, "%s (0x%016" PRIx64 ") in the incoming stream but unknown on the destination: fail migration",
		    f->name, f->id);
		break;
	case HOW_DST_TOL:
		finding_msg(f, "expected by the destination but not in the incoming stream: tolerated (%s)", f->tolerance);
		break;
	case HOW_DST_OK:
		finding_msg(f, "expected by the destination but not in the incoming stream: skip it");
		break;
	case HOW_DST_OK_LEGACY:
		finding_msg(f, "register in our list but not incoming: it keeps its reset value");
		break;
	case HOW_UNREADABLE:
		finding_msg(f, "not readable on the %s, so not compared", f->has_source ? "destination" : "source");
		break;
	case HOW_JUDGE:
		/* The kernel model again, with words: the same destination gives the same answer. */
		if (dst && cpreg_kernel_judge(dst, f->id, f->source_value, &a) == 0) {
			if (a.outcome == CPREG_OUT_FAIL)
				write_refused(f, a.why);
			else
				finding_msg(f, "%s", a.why);
			break;
		}
		/* fall through */
	case HOW_NOT_LISTED:
		finding_msg(f, "not listed on the destination");
		break;
	case HOW_VALUE_TOL:
		finding_msg(f, "value differs within what tolerance %s allows", f->tolerance);
		break;
	case HOW_COUNT:
		/* QEMU's own words: the vmstate count check, then the device that failed to load (BRIEF 1). */
		finding_msg(f, "Invalid value %" PRIu64 " expecting positive value <= %" PRIu64 " / Failed to load "
		    "cpu:cpreg_vmstate_array_len", f->source_value, f->destination_value);
		break;
	default:
		finding_msg(f, "%s", "");
	}
}

/* Word finding i if it is still pending; texts_lock held. */
static void word_locked(struct cpreg_verdict *v, size_t i)
{
	struct cpreg_finding *f = &v->f[i];
	bool judge = (v->how[i] & HOW_MASK) == HOW_JUDGE;

	if (v->how[i] == HOW_DONE)
		return;
	if (v->how[i] & HOW_NAME)
		cpreg_id_name(f->id, f->name, sizeof(f->name));
	if (!f->message)
		word(v, i, judge ? v->judged : NULL);
	__atomic_store_n(&v->how[i], HOW_DONE, __ATOMIC_RELEASE);
	if (judge && --v->pending_judge == 0) {
		/* Nothing needs the destination any more. */
		v->judged = cpreg_inventory_unref(v->judged);
	}
}

/* Word finding i (cpreg_verdict_at reads one at a time: a fleet reads only the failing ones). */
void verdict_word_one(const struct cpreg_verdict *cv, size_t i)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || !v->how || i >= v->n || __atomic_load_n(&v->how[i], __ATOMIC_ACQUIRE) == HOW_DONE)
		return;
	pthread_mutex_lock(&v->texts_lock);
	word_locked(v, i);
	pthread_mutex_unlock(&v->texts_lock);
}

/* Word every pending finding (to_json writes them all). */
void verdict_fill_texts(const struct cpreg_verdict *cv)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || !v->how || __atomic_load_n(&v->all_done, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&v->texts_lock);
	for (size_t i = 0; i < v->n; i++)
		word_locked(v, i);
	__atomic_store_n(&v->all_done, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&v->texts_lock);
}

/*
 * Statically judge a value the destination kernel will be asked to take
 * with KVM_SET_ONE_REG: the kernel model (kmodel.c) decides, and a refusal
 * is worded as QEMU words it.  What only that kernel can tell is UNKNOWN:
 * the live trial decides it.
 */
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
#define VM_FEATURES (1u << CPREG_FEAT_PMU_V3 | 1u << CPREG_FEAT_SVE | 1u << CPREG_FEAT_PTRAUTH_ADDRESS)

static bool has_feature_finding(const struct cpreg_verdict *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].kind == CPREG_FIND_VCPU_FEATURE && !v->f[i].id && strcmp(v->f[i].name, name) == 0)
			return true;
	return false;
}

int verdict_add_missing_feature(struct cpreg_verdict *v, unsigned bit)
{
	const char *name = cpreg_feature_name(bit) ? cpreg_feature_name(bit) : "?";
	struct cpreg_finding *f;

	if (has_feature_finding(v, name))
		return 0;
	f = verdict_add_finding(v, 0, CPREG_FIND_VCPU_FEATURE);
	if (!f)
		return -ENOMEM;
	f->outcome = CPREG_OUT_FAIL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	finding_msg(f, "the source VM's vCPU has %s and the destination's \"-cpu host\" vCPU does not: its registers "
	    "and ID fields cannot migrate (turn it off in the VM on both ends, or place it on a host that has it)", name);
	return 0;
}

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
	if (cpreg_vm_options_any(a->vm) && (r = cpreg_check_vm_options(a->source, a->destination, a->vm, &s, &d)) < 0)
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
