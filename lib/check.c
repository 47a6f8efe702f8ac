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
#include <pthread.h>
#include <string.h>

#include <json.h>

#include "cpreg-internal.h"

/* The one tolerance that is not QEMU's: its pre-11.1 loader dropping a sorted-after tail. */
static const char legacy_tail[] = "legacy-dropped-tail";

struct side {
	char digest[CPREG_DIGEST_LEN];
	char *hostname, *kernel, *qemu;
	size_t migrated;
};

struct contradiction {
	uint64_t id;
	enum cpreg_outcome static_outcome, trial_outcome;
	int err;
};

struct cpreg_verdict {
	int refcount;
	char *trial_error;
	bool trial;
	int64_t trial_ms;
	size_t trial_written, trial_accepted, trial_rejected, trial_unknown;
	uint32_t trial_missing;
	int trial_vls_err;
	struct contradiction *contra;
	size_t n_contra;
	enum cpreg_result result;
	char *policy, *policy_reason;
	struct side src, dst;
	struct cpreg_finding *f;
	size_t n, cap;
	/* The destination's inventory when it judged (cpreg_verdict_set_destination_state), or none. */
	char *dst_source, *dst_warning;
	int64_t dst_age;
	/*
	 * Words are written when first read, not while judging: a check of two
	 * similar hosts has ~40 findings, and wording them (names, field lists,
	 * QEMU's sentences) was four fifths of a check that a fleet's pool
	 * judgement never reads.  how[i] says how finding i is still to be
	 * worded (enum how; HOW_NAME while its name is unwritten, HOW_DONE
	 * once worded).  Value findings are worded by judging again against
	 * `judged`, the destination as checked (the VM's options applied: the
	 * pipeline's copy); it is let go when the last of them (pending_judge)
	 * is worded.  Wording happens under texts_lock, so
	 * verdicts may be read from several threads; all_done skips it once
	 * every finding is worded.
	 */
	uint8_t *how;
	struct cpreg_inventory *judged;
	size_t pending_judge;
	int all_done;
	pthread_mutex_t texts_lock;
};

/* How a finding's message is worded, when it is first read (see fill_texts). */
enum how {
	HOW_DONE = 0,           /* worded already (or read from JSON) */
	HOW_LEGACY_TAIL, HOW_LEGACY_FAIL, HOW_SRC_TOL_BOTH, HOW_SRC_TOL_VALUE, HOW_SRC_FAIL,
	HOW_DST_TOL, HOW_DST_OK, HOW_DST_OK_LEGACY,
	HOW_UNREADABLE, HOW_JUDGE, HOW_NOT_LISTED, HOW_VALUE_TOL, HOW_COUNT,
	HOW_MASK = 0x7f,
	HOW_NAME = 0x80,        /* the name is still to be written from the id */
};

static const char oom_message[] = "(out of memory)";

static const char *const kind_names[] = {
	[CPREG_FIND_COUNT_EXCEEDED] = "count-exceeded",
	[CPREG_FIND_ONLY_IN_SOURCE] = "only-in-source",
	[CPREG_FIND_ONLY_IN_DESTINATION] = "only-in-destination",
	[CPREG_FIND_VALUE_DIFFERS] = "value-differs",
	[CPREG_FIND_VCPU_FEATURE] = "vcpu-feature",
};
static const char *const outcome_names[] = {
	[CPREG_OUT_OK] = "ok", [CPREG_OUT_TOLERATED] = "tolerated",
	[CPREG_OUT_UNKNOWN] = "unknown", [CPREG_OUT_FAIL] = "fail",
};
static const char *const result_names[] = {
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

static struct cpreg_finding *add_finding(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
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
static void msg(struct cpreg_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct cpreg_finding *f, const char *fmt, ...)
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
static void qemu_reg_name(uint64_t id, char *buf, size_t len)
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

	qemu_reg_name(f->id, text, sizeof(text));
	off = cpreg_put(text, sizeof(text), strlen(text), " to ");
	off = cpreg_put_hex(text, sizeof(text), off, f->source_value);
	off = cpreg_put(text, sizeof(text), off, " (is ");
	off = cpreg_put_hex(text, sizeof(text), off, f->destination_value);
	off = cpreg_put(text, sizeof(text), off, "): ");
	cpreg_put(text, sizeof(text), off, why);
	msg(f, "Could not set register %s", text);
}

/* Finding i's words, from how check_core judged it (its name is written already). */
static void word(struct cpreg_verdict *v, size_t i, const struct cpreg_inventory *dst)
{
	struct cpreg_finding *f = &v->f[i];
	struct cpreg_kernel_answer a;

	switch (v->how[i] & HOW_MASK) {
	case HOW_LEGACY_TAIL:
		msg(f, "sorts after the destination's last register: QEMU before 11.1 drops it silently "
		    "(a bug fixed in 11.1)");
		break;
	case HOW_LEGACY_FAIL:
		msg(f, "register in their list but not ours: fail migration "
		    "(error while loading state for instance 0x0 of device 'cpu')");
		break;
	case HOW_SRC_TOL_BOTH:
		msg(f, "in the incoming stream but unknown on the destination: tolerated (%s)", f->tolerance);
		break;
	case HOW_SRC_TOL_VALUE:
		msg(f, "in the incoming stream but unknown on the destination: tolerated, its value 0x%" PRIx64
		    " passes %s", f->source_value, f->tolerance);
		break;
	case HOW_SRC_FAIL:
		msg(f, "%s (0x%016" PRIx64 ") in the incoming stream but unknown on the destination: fail migration",
		    f->name, f->id);
		break;
	case HOW_DST_TOL:
		msg(f, "expected by the destination but not in the incoming stream: tolerated (%s)", f->tolerance);
		break;
	case HOW_DST_OK:
		msg(f, "expected by the destination but not in the incoming stream: skip it");
		break;
	case HOW_DST_OK_LEGACY:
		msg(f, "register in our list but not incoming: it keeps its reset value");
		break;
	case HOW_UNREADABLE:
		msg(f, "not readable on the %s, so not compared", f->has_source ? "destination" : "source");
		break;
	case HOW_JUDGE:
		/* The kernel model again, with words: the same destination gives the same answer. */
		if (dst && cpreg_kernel_judge(dst, f->id, f->source_value, &a) == 0) {
			if (a.outcome == CPREG_OUT_FAIL)
				write_refused(f, a.why);
			else
				msg(f, "%s", a.why);
			break;
		}
		/* fall through */
	case HOW_NOT_LISTED:
		msg(f, "not listed on the destination");
		break;
	case HOW_VALUE_TOL:
		msg(f, "value differs within what tolerance %s allows", f->tolerance);
		break;
	case HOW_COUNT:
		/* QEMU's own words: the vmstate count check, then the device that failed to load (BRIEF 1). */
		msg(f, "Invalid value %" PRIu64 " expecting positive value <= %" PRIu64 " / Failed to load "
		    "cpu:cpreg_vmstate_array_len", f->source_value, f->destination_value);
		break;
	default:
		msg(f, "%s", "");
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
static void word_one(const struct cpreg_verdict *cv, size_t i)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || !v->how || i >= v->n || __atomic_load_n(&v->how[i], __ATOMIC_ACQUIRE) == HOW_DONE)
		return;
	pthread_mutex_lock(&v->texts_lock);
	word_locked(v, i);
	pthread_mutex_unlock(&v->texts_lock);
}

/* Word every pending finding (to_json writes them all). */
static void fill_texts(const struct cpreg_verdict *cv)
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

static void recompute_result(struct cpreg_verdict *v);

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

static int check_core(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
		      const struct cpreg_policy *policy, struct cpreg_verdict **ret)
{
	struct cpreg_policy *own = NULL;
	struct cpreg_verdict *v;
	const struct cpreg_tolerance_set *tols;
	char reason[160];
	size_t i = 0, j = 0, ns = cpreg_inventory_count(src), nd = cpreg_inventory_count(dst);
	uint64_t dst_last = 0;
	bool legacy;
	int r = -ENOMEM;

	if (!src || !dst || !ret)
		return -EINVAL;
	if (!policy) {
		const char *q = cpreg_inventory_get_text(dst, CPREG_TEXT_QEMU_VERSION);
		const char *name = cpreg_policy_for_qemu_version(q);

		if (name)
			cpreg_put(reason, sizeof(reason), cpreg_put(reason, sizeof(reason), 0, "destination QEMU "), q);
		else
			cpreg_put(reason, sizeof(reason), 0, "destination QEMU version unknown: assuming before 11.1");
		r = cpreg_policy_new_builtin(name ? name : "qemu-legacy", &own);
		if (r < 0)
			return r;
		policy = own;
	} else {
		cpreg_put(reason, sizeof(reason), 0, "chosen by the caller");
	}
	legacy = cpreg_policy_kind(policy) == CPREG_POLICY_QEMU_LEGACY;
	tols = legacy ? NULL : cpreg_policy_tolerances(policy);

	v = calloc(1, sizeof(*v));
	if (!v)
		goto fail;
	v->refcount = 1;
	pthread_mutex_init(&v->texts_lock, NULL);
	v->judged = cpreg_inventory_ref((struct cpreg_inventory *)dst);
	v->policy = strdup(cpreg_policy_name(policy));
	v->policy_reason = strdup(reason);
	if (!v->policy || !v->policy_reason || finish_side(&v->src, src) < 0 || finish_side(&v->dst, dst) < 0)
		goto fail;

	/* Step 1, QEMU before 11.1: cpreg_vmstate_array_len must not exceed ours. */
	if (legacy && v->src.migrated > v->dst.migrated) {
		struct cpreg_finding *f = add_finding(v, 0, CPREG_FIND_COUNT_EXCEEDED);

		if (!f)
			goto fail;
		f->outcome = CPREG_OUT_FAIL;
		f->has_source = f->has_destination = true;
		f->source_value = v->src.migrated;
		f->destination_value = v->dst.migrated;
		_Static_assert(sizeof("cpreg_vmstate_array_len") <= sizeof(f->name), "the name fits");
		memcpy(f->name, "cpreg_vmstate_array_len", sizeof("cpreg_vmstate_array_len"));
		later(v, f, HOW_COUNT);
	}
	for (size_t k = nd; k > 0; k--)
		if (cpreg_migrates(dst->regs[k - 1].id)) {
			dst_last = dst->regs[k - 1].id;
			break;
		}

	/* Step 2, the index merge over both ascending lists; step 3, the values. */
	while (i < ns || j < nd) {
		const struct cpreg_reg *a = i < ns ? &src->regs[i] : NULL;
		const struct cpreg_reg *b = j < nd ? &dst->regs[j] : NULL;
		struct cpreg_finding *f;

		if (a && !cpreg_migrates(a->id)) { i++; continue; }
		if (b && !cpreg_migrates(b->id)) { j++; continue; }

		if (a && (!b || a->id < b->id)) {
			i++;
			f = add_finding(v, a->id, CPREG_FIND_ONLY_IN_SOURCE);
			if (!f)
				goto fail;
			f->has_source = a->state == CPREG_VALUE;
			f->source_value = a->value;
			if (legacy && a->id > dst_last) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = legacy_tail;
				later(v, f, HOW_LEGACY_TAIL);
			} else if (legacy) {
				f->outcome = CPREG_OUT_FAIL;
				later(v, f, HOW_LEGACY_FAIL);
			} else if (cpreg_tolerance_match(tols, a->id, a->value, 0, CPREG_TOL_NOT_ON_BOTH_ENDS)) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = cpreg_tol_type_name(CPREG_TOL_NOT_ON_BOTH_ENDS);
				later(v, f, HOW_SRC_TOL_BOTH);
			} else if (cpreg_tolerance_match(tols, a->id, a->value, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE)) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = cpreg_tol_type_name(CPREG_TOL_ONLY_SRC_TEST_VALUE);
				later(v, f, HOW_SRC_TOL_VALUE);
			} else {
				f->outcome = CPREG_OUT_FAIL;
				later(v, f, HOW_SRC_FAIL);
			}
			continue;
		}
		if (b && (!a || b->id < a->id)) {
			j++;
			f = add_finding(v, b->id, CPREG_FIND_ONLY_IN_DESTINATION);
			if (!f)
				goto fail;
			f->has_destination = b->state == CPREG_VALUE;
			f->destination_value = b->value;
			if (tols && cpreg_tolerance_match(tols, b->id, 0, b->value, CPREG_TOL_NOT_ON_BOTH_ENDS)) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = cpreg_tol_type_name(CPREG_TOL_NOT_ON_BOTH_ENDS);
				later(v, f, HOW_DST_TOL);
			} else {
				f->outcome = CPREG_OUT_OK;
				later(v, f, legacy ? HOW_DST_OK_LEGACY : HOW_DST_OK);
			}
			continue;
		}
		/* Same id on both ends. */
		if (!a || !b)
			break;  /* unreachable: the branches above took every other case */
		i++;
		j++;
		if (a->state == CPREG_VALUE && b->state == CPREG_VALUE && a->value == b->value)
			continue;
		f = add_finding(v, a->id, CPREG_FIND_VALUE_DIFFERS);
		if (!f)
			goto fail;
		f->has_source = a->state == CPREG_VALUE;
		f->has_destination = b->state == CPREG_VALUE;
		f->source_value = a->value;
		f->destination_value = b->value;
		if (!f->has_source || !f->has_destination) {
			f->outcome = CPREG_OUT_UNKNOWN;
			later(v, f, HOW_UNREADABLE);
			continue;
		}
		judge_value(v, f, dst, b);
		/* QEMU 11.1 lets a value tolerance accept a difference the write would refuse. */
		if (tols && f->outcome != CPREG_OUT_OK) {
			static const enum cpreg_tol_type vt[] = {
				CPREG_TOL_DIFF_IN_MASK, CPREG_TOL_FIELD_LT, CPREG_TOL_FIELD_GT,
			};

			for (size_t k = 0; k < ARRAY_SIZE(vt); k++)
				if (cpreg_tolerance_match(tols, a->id, a->value, b->value, vt[k])) {
					f->outcome = CPREG_OUT_TOLERATED;
					f->tolerance = cpreg_tol_type_name(vt[k]);
					later(v, f, HOW_VALUE_TOL);
					break;
				}
		}
	}

	recompute_result(v);
	cpreg_policy_unref(own);
	*ret = v;
	return 0;
fail:
	cpreg_policy_unref(own);
	cpreg_verdict_unref(v);
	return r < 0 ? r : -ENOMEM;
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

static int add_missing_feature(struct cpreg_verdict *v, unsigned bit)
{
	const char *name = cpreg_feature_name(bit) ? cpreg_feature_name(bit) : "?";
	struct cpreg_finding *f;

	if (has_feature_finding(v, name))
		return 0;
	f = add_finding(v, 0, CPREG_FIND_VCPU_FEATURE);
	if (!f)
		return -ENOMEM;
	f->outcome = CPREG_OUT_FAIL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	msg(f, "the source VM's vCPU has %s and the destination's \"-cpu host\" vCPU does not: its registers "
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
		if ((missing & (1u << b)) && (r = add_missing_feature(v, b)) < 0) {
			cpreg_verdict_unref(v);
			return r;
		}
	recompute_result(v);
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

struct cpreg_verdict *cpreg_verdict_ref(struct cpreg_verdict *v)
{
	if (v)
		cpreg_ref_inc(&v->refcount);
	return v;
}

struct cpreg_verdict *cpreg_verdict_unref(struct cpreg_verdict *v)
{
	if (!v || cpreg_ref_dec(&v->refcount) > 0)
		return NULL;
	free(v->dst_source);
	free(v->dst_warning);
	free(v->policy);
	free(v->policy_reason);
	for (struct side *s = &v->src; s; s = s == &v->src ? &v->dst : NULL) {
		free(s->hostname);
		free(s->kernel);
		free(s->qemu);
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].message != oom_message)
			free((char *)v->f[i].message);
	free(v->f);
	free(v->how);
	cpreg_inventory_unref(v->judged);
	pthread_mutex_destroy(&v->texts_lock);
	free(v->contra);
	free(v->trial_error);
	free(v);
	return NULL;
}

int cpreg_verdict_trial_failed(struct cpreg_verdict *v, const char *why)
{
	char *copy;

	if (!v || v->trial)
		return -EINVAL;
	copy = strdup(why ? why : "unknown error");
	if (!copy)
		return -ENOMEM;
	free(v->trial_error);
	v->trial_error = copy;
	return 0;
}

static void recompute_result(struct cpreg_verdict *v)
{
	v->result = CPREG_COMPATIBLE;
	for (size_t k = 0; k < v->n; k++) {
		if (v->f[k].outcome == CPREG_OUT_FAIL)
			v->result = CPREG_INCOMPATIBLE;
		else if (v->f[k].outcome == CPREG_OUT_UNKNOWN && v->result == CPREG_COMPATIBLE)
			v->result = CPREG_UNDECIDED;
	}
}

static struct cpreg_finding *find_mut(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->f[i].id == id && v->f[i].kind == kind)
			return &v->f[i];
	return NULL;
}

static int add_contradiction(struct cpreg_verdict *v, uint64_t id, enum cpreg_outcome st, enum cpreg_outcome tr, int err)
{
	struct contradiction *n = reallocarray(v->contra, v->n_contra + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	v->contra = n;
	v->contra[v->n_contra++] = (struct contradiction){ id, st, tr, err };
	return 0;
}

int cpreg_verdict_apply_trial(struct cpreg_verdict *v, const struct cpreg_trial_summary *t)
{
	if (!v || !t || v->trial)
		return -EINVAL;
	v->trial = true;
	v->trial_ms = t->duration_ms;
	v->trial_missing = t->missing_features;
	v->trial_vls_err = t->vls_err;
	for (unsigned b = 0; b < 32; b++)
		if ((t->missing_features & (1u << b)) && add_missing_feature(v, b) < 0)
			return -ENOMEM;
	if (t->vls_err) {
		struct cpreg_finding *f = add_finding(v, CPREG_SVE_VLS, CPREG_FIND_VCPU_FEATURE);

		if (!f)
			return -ENOMEM;
		f->outcome = CPREG_OUT_FAIL;
		msg(f, "this host refused the source VM's SVE vector lengths (%s): pin sve-max-vq / sve<N> on "
		    "the VM to lengths both hosts support", strerror(t->vls_err));
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct cpreg_trial_reg *r = &t->regs[i];
		struct cpreg_finding *f;
		enum cpreg_outcome tr;

		v->trial_written++;
		if (r->outcome == CPREG_TRIAL_UNKNOWN_ID) {
			v->trial_unknown++;
			continue;  /* only in the source: QEMU's index merge decided it */
		}
		tr = r->outcome == CPREG_TRIAL_ACCEPTED ? CPREG_OUT_OK : CPREG_OUT_FAIL;
		if (tr == CPREG_OUT_OK)
			v->trial_accepted++;
		else
			v->trial_rejected++;
		f = find_mut(v, r->id, CPREG_FIND_VALUE_DIFFERS);
		if (!f) {
			/* Equal values need no finding, unless the kernel refuses even those. */
			if (tr == CPREG_OUT_OK)
				continue;
			f = add_finding(v, r->id, CPREG_FIND_VALUE_DIFFERS);
			if (!f)
				return -ENOMEM;
			f->has_source = f->has_destination = true;
			f->source_value = r->value;
			f->destination_value = r->has_local ? r->local : r->value;
			f->outcome = CPREG_OUT_OK;  /* what the static check implied */
		}
		if (f->outcome == CPREG_OUT_TOLERATED)
			continue;  /* a tolerance accepts it whatever the kernel says */
		if (f->outcome != CPREG_OUT_UNKNOWN && f->outcome != tr &&
		    add_contradiction(v, r->id, f->outcome, tr, r->err) < 0)
			return -ENOMEM;
		if (f->outcome != tr)
			f->rule = 0;  /* the kernel decided against the model's rule */
		f->outcome = tr;
		if (tr == CPREG_OUT_OK) {
			msg(f, "the destination kernel accepted the source's value in the trial");
		} else {
			char qn[64];

			qemu_reg_name(r->id, qn, sizeof(qn));
			msg(f, "Could not set register %s to %" PRIx64 " (is %" PRIx64 "): the destination kernel "
			    "refused it in the trial (%s)", qn, r->value, r->has_local ? r->local : f->destination_value,
			    strerrorname_np(r->err) ? strerrorname_np(r->err) : "error");
		}
	}
	recompute_result(v);
	return 0;
}

size_t cpreg_verdict_contradictions(const struct cpreg_verdict *v)
{
	return v ? v->n_contra : 0;
}

int cpreg_verdict_contradiction_at(const struct cpreg_verdict *v, size_t i, uint64_t *ret_id,
				   enum cpreg_outcome *ret_static, enum cpreg_outcome *ret_trial)
{
	if (!v || i >= v->n_contra)
		return -ERANGE;
	if (ret_id)
		*ret_id = v->contra[i].id;
	if (ret_static)
		*ret_static = v->contra[i].static_outcome;
	if (ret_trial)
		*ret_trial = v->contra[i].trial_outcome;
	return 0;
}

/*
 * Values the kernel model judged by rules only the destination kernel
 * applies exactly (writable fields, cache geometry, write-ignored AArch32
 * registers) or left undecided: a live trial there confirms them.
 */
size_t cpreg_verdict_trial_advised(const struct cpreg_verdict *v)
{
	size_t n = 0;

	for (size_t i = 0; v && !v->trial && i < v->n; i++) {
		const struct cpreg_finding *f = &v->f[i];

		if (f->kind != CPREG_FIND_VALUE_DIFFERS)
			continue;
		n += f->outcome == CPREG_OUT_UNKNOWN || f->rule == CPREG_RULE_FIELD_SAFE ||
		     f->rule == CPREG_RULE_FIELD_UNSAFE || f->rule == CPREG_RULE_CCSIDR || f->rule == CPREG_RULE_CLIDR ||
		     f->rule == CPREG_RULE_AA32_WI;
	}
	return n;
}

bool cpreg_verdict_has_trial(const struct cpreg_verdict *v)
{
	return v && v->trial;
}

enum cpreg_result cpreg_verdict_result(const struct cpreg_verdict *v) { return v->result; }
const char *cpreg_verdict_policy(const struct cpreg_verdict *v) { return v->policy; }
const char *cpreg_verdict_policy_reason(const struct cpreg_verdict *v) { return v->policy_reason; }
size_t cpreg_verdict_count(const struct cpreg_verdict *v) { return v ? v->n : 0; }

const struct cpreg_finding *cpreg_verdict_at(const struct cpreg_verdict *v, size_t i)
{
	word_one(v, i);
	return v && i < v->n ? &v->f[i] : NULL;
}

enum cpreg_outcome cpreg_verdict_outcome_at(const struct cpreg_verdict *v, size_t i)
{
	return v && i < v->n ? v->f[i].outcome : CPREG_OUT_OK;
}

const char *cpreg_verdict_name_at(const struct cpreg_verdict *cv, size_t i)
{
	struct cpreg_verdict *v = (struct cpreg_verdict *)cv;

	if (!v || i >= v->n)
		return NULL;
	if (v->how && __atomic_load_n(&v->how[i], __ATOMIC_ACQUIRE) & HOW_NAME) {
		pthread_mutex_lock(&v->texts_lock);
		if (v->how[i] & HOW_NAME) {
			cpreg_id_name(v->f[i].id, v->f[i].name, sizeof(v->f[i].name));
			__atomic_store_n(&v->how[i], (uint8_t)(v->how[i] & ~HOW_NAME), __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&v->texts_lock);
	}
	return v->f[i].name;
}

const struct cpreg_finding *cpreg_verdict_find(const struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (v->f[i].id == id && v->f[i].kind == kind)
			return cpreg_verdict_at(v, i);
	return NULL;
}

static const char *const reason_names[] = {
	[CPREG_REASON_COUNT_EXCEEDED] = "count-exceeded",
	[CPREG_REASON_UNKNOWN_REGISTER] = "unknown-register",
	[CPREG_REASON_MISSING_REGISTER] = "missing-register",
	[CPREG_REASON_VALUE_ACCEPTED] = "value-accepted",
	[CPREG_REASON_KERNEL_REFUSES_VALUE] = "kernel-refuses-value",
	[CPREG_REASON_FIELD_UNSAFE] = "field-unsafe",
	[CPREG_REASON_FIELD_SAFE] = "field-safe",
	[CPREG_REASON_ID_INVARIANT] = "id-registers-invariant",
	[CPREG_REASON_MIDR_DIFFERS] = "midr-differs",
	[CPREG_REASON_CACHE_GEOMETRY] = "cache-geometry",
	[CPREG_REASON_PSCI_VERSION] = "psci-version",
	[CPREG_REASON_FIRMWARE_LEVEL] = "firmware-level",
	[CPREG_REASON_FIRMWARE_SERVICES] = "firmware-services",
	[CPREG_REASON_FEATURE_MISSING] = "feature-missing",
	[CPREG_REASON_TRIAL_DECIDES] = "trial-decides",
	[CPREG_REASON_NOT_READABLE] = "not-readable",
};

static const char *const remedy_names[] = {
	[CPREG_REMEDY_VM_OPTION] = "vm-option",
	[CPREG_REMEDY_QEMU] = "qemu",
	[CPREG_REMEDY_KERNEL] = "kernel",
	[CPREG_REMEDY_SITE_POLICY] = "site-policy",
	[CPREG_REMEDY_PLACEMENT] = "placement",
	[CPREG_REMEDY_TRIAL] = "trial",
};

const char *cpreg_reason_name(enum cpreg_reason r)
{
	return (unsigned)r < ARRAY_SIZE(reason_names) ? reason_names[r] : NULL;
}

const char *cpreg_remedy_kind_name(enum cpreg_remedy_kind k)
{
	return (unsigned)k < ARRAY_SIZE(remedy_names) ? remedy_names[k] : NULL;
}

enum cpreg_reason cpreg_finding_reason(const struct cpreg_finding *f)
{
	bool failed = f->outcome == CPREG_OUT_FAIL || f->tolerance;

	switch (f->kind) {
	case CPREG_FIND_COUNT_EXCEEDED: return CPREG_REASON_COUNT_EXCEEDED;
	case CPREG_FIND_ONLY_IN_SOURCE: return CPREG_REASON_UNKNOWN_REGISTER;
	case CPREG_FIND_ONLY_IN_DESTINATION: return CPREG_REASON_MISSING_REGISTER;
	case CPREG_FIND_VCPU_FEATURE: return CPREG_REASON_FEATURE_MISSING;
	default: break;
	}
	if (!f->has_source || !f->has_destination)
		return CPREG_REASON_NOT_READABLE;
	switch (f->rule) {
	case CPREG_RULE_EQUAL:
	case CPREG_RULE_OUTSIDE_MASK:
		return failed ? CPREG_REASON_KERNEL_REFUSES_VALUE : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_INVARIANT: return failed ? CPREG_REASON_ID_INVARIANT : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_IMP_ID: return failed ? CPREG_REASON_MIDR_DIFFERS : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_CLIDR:
	case CPREG_RULE_CCSIDR:
		return failed ? CPREG_REASON_CACHE_GEOMETRY : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_FIELD_UNSAFE: return CPREG_REASON_FIELD_UNSAFE;
	case CPREG_RULE_FIELD_SAFE: return CPREG_REASON_FIELD_SAFE;
	case CPREG_RULE_PSCI_VERSION: return failed ? CPREG_REASON_PSCI_VERSION : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_WORKAROUND: return failed ? CPREG_REASON_FIRMWARE_LEVEL : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_FW_BITMAP: return failed ? CPREG_REASON_FIRMWARE_SERVICES : CPREG_REASON_VALUE_ACCEPTED;
	case CPREG_RULE_UNREADABLE: return CPREG_REASON_TRIAL_DECIDES;
	default:
		return f->outcome == CPREG_OUT_UNKNOWN ? CPREG_REASON_TRIAL_DECIDES
			: failed ? CPREG_REASON_KERNEL_REFUSES_VALUE : CPREG_REASON_VALUE_ACCEPTED;
	}
}

static struct cpreg_remedy *remedy_add(struct cpreg_remedy *out, size_t max, size_t *n, enum cpreg_remedy_kind kind,
				       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct cpreg_remedy *remedy_add(struct cpreg_remedy *out, size_t max, size_t *n, enum cpreg_remedy_kind kind,
				       const char *fmt, ...)
{
	struct cpreg_remedy *r;
	va_list ap;

	if (*n >= max)
		return NULL;
	r = &out[(*n)++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	return r;
}

size_t cpreg_verdict_remedies(const struct cpreg_verdict *v, size_t i, struct cpreg_remedy *out, size_t max)
{
	const struct cpreg_finding *f = cpreg_verdict_at(v, i);
	const char *sk, *dk;
	struct cpreg_remedy *r;
	size_t n = 0;

	if (!f || (f->outcome != CPREG_OUT_FAIL && f->outcome != CPREG_OUT_UNKNOWN))
		return 0;
	sk = v->src.kernel ? v->src.kernel : "the source's";
	dk = v->dst.kernel ? v->dst.kernel : "unknown";
	switch (cpreg_finding_reason(f)) {
	case CPREG_REASON_COUNT_EXCEEDED:
		if ((r = remedy_add(out, max, &n, CPREG_REMEDY_QEMU, "a destination QEMU 11.1 or later has no count check "
				    "(and tolerates TCR2/PIR/VENDOR_HYP_BMAP_2)")))
			snprintf(r->min_version, sizeof(r->min_version), "11.1");
		break;
	case CPREG_REASON_FEATURE_MISSING: {
		int bit = cpreg_feature_from_name(f->name);
		const struct cpreg_vm_option *o = bit >= 0 ? cpreg_vm_option_for_feature((unsigned)bit) : NULL;

		if (o && (r = remedy_add(out, max, &n, CPREG_REMEDY_VM_OPTION, "turn %s off for the VM on both ends "
					 "(QEMU -cpu host,%s=off%s)", f->name, o->qemu,
					 *o->libvirt ? "" : "; libvirt has no element for it: <qemu:commandline>"))) {
			snprintf(r->qemu, sizeof(r->qemu), "%s=off", o->qemu);
			snprintf(r->libvirt, sizeof(r->libvirt), "%s", o->libvirt);
		}
		remedy_add(out, max, &n, CPREG_REMEDY_PLACEMENT, "place the VM on a host whose vCPU offers %s", f->name);
		break;
	}
	case CPREG_REASON_UNKNOWN_REGISTER:
		if (strcmp(v->policy, "qemu-legacy") == 0 && cpreg_builtin_11_1_lists(f->id)) {
			if ((r = remedy_add(out, max, &n, CPREG_REMEDY_QEMU, "a destination QEMU 11.1 or later tolerates %s "
					    "(its built-in tolerance table)", f->name)))
				snprintf(r->min_version, sizeof(r->min_version), "11.1");
			break;
		}
		if ((r = remedy_add(out, max, &n, CPREG_REMEDY_KERNEL, "the destination kernel %s does not list %s and the "
				    "source kernel %s does: migrate to a kernel that lists it (the source's series or newer)",
				    dk, f->name, sk)) && v->src.kernel)
			snprintf(r->min_version, sizeof(r->min_version), "%.*s", (int)strcspn(v->src.kernel, "-+ "),
				 v->src.kernel);
		remedy_add(out, max, &n, CPREG_REMEDY_SITE_POLICY, "if %s is known harmless for your VMs, a site "
			   "tolerance lets QEMU 11.1 drop it (docs/policy.md)", f->name);
		break;
	case CPREG_REASON_PSCI_VERSION: {
		const struct cpreg_vm_option *o = cpreg_vm_option_by_key("psci");
		struct cpreg_vm_options pin = { .psci_version = (uint32_t)f->destination_value };
		char kv[64];

		cpreg_vm_option_qemu_form(o, &pin, kv, sizeof(kv));
		if ((r = remedy_add(out, max, &n, CPREG_REMEDY_VM_OPTION, "pin the VM's PSCI version to what the destination "
				    "implements: QEMU 11.1 -cpu host,%s (libvirt has no element for it: <qemu:commandline>)", kv)))
			snprintf(r->qemu, sizeof(r->qemu), "%s", kv);
		break;
	}
	case CPREG_REASON_FIRMWARE_LEVEL:
		remedy_add(out, max, &n, CPREG_REMEDY_PLACEMENT, "the destination reports a lower level for this "
			   "Spectre-class workaround: place the VM on a host whose CPU and firmware are mitigated at least "
			   "as well");
		break;
	case CPREG_REASON_FIRMWARE_SERVICES:
		remedy_add(out, max, &n, CPREG_REMEDY_KERNEL, "the destination's KVM offers fewer hypervisor services: a "
			   "newer destination kernel, or hide the services from the VM on the source (the bitmaps are "
			   "writable before the VM first runs)");
		break;
	case CPREG_REASON_MIDR_DIFFERS:
		remedy_add(out, max, &n, CPREG_REMEDY_PLACEMENT, "a different CPU implementation: QEMU does not make "
			   "MIDR/REVIDR/AIDR writable (KVM_CAP_ARM_WRITABLE_IMP_ID_REGS), so migrate between hosts with the "
			   "same MIDR_EL1");
		break;
	case CPREG_REASON_ID_INVARIANT:
		if ((r = remedy_add(out, max, &n, CPREG_REMEDY_KERNEL, "the destination kernel %s (before 6.7) cannot take "
				    "other ID register or cache geometry values; a destination with Linux 6.7 or later "
				    "accepts lower feature values (its cpregd's trial tells exactly)", dk)))
			snprintf(r->min_version, sizeof(r->min_version), "6.7");
		break;
	case CPREG_REASON_CACHE_GEOMETRY:
		remedy_add(out, max, &n, CPREG_REMEDY_PLACEMENT, "the destination's caches cannot be presented as the "
			   "source's: migrate between hosts with the same cache geometry (CLIDR_EL1, minimum line size in "
			   "CTR_EL0)");
		break;
	case CPREG_REASON_KERNEL_REFUSES_VALUE:
	case CPREG_REASON_FIELD_UNSAFE:
		remedy_add(out, max, &n, CPREG_REMEDY_PLACEMENT, "the source VM sees features the destination cannot give "
			   "(or the destination's vCPU has ones the source lacks): migrate to hosts that match, or turn the "
			   "feature off for the VM on both ends (pmu/sve/pauth=off) where QEMU offers it");
		break;
	default:
		remedy_add(out, max, &n, CPREG_REMEDY_TRIAL, "ask the destination's cpregd (cpregctl check SOURCE there): "
			   "its live trial says what its kernel takes");
		break;
	}
	return n;
}

int cpreg_verdict_set_destination_state(struct cpreg_verdict *v, const char *source, int64_t age_seconds,
					const char *warning)
{
	char *s = NULL, *w = NULL;

	if (!v || !source)
		return -EINVAL;
	if (!(s = strdup(source)) || (warning && !(w = strdup(warning)))) {
		free(s);
		return -ENOMEM;
	}
	free(v->dst_source);
	free(v->dst_warning);
	v->dst_source = s;
	v->dst_warning = w;
	v->dst_age = age_seconds;
	return 0;
}

const char *cpreg_verdict_trial_summary(const struct cpreg_verdict *v, char *buf, size_t len)
{
	if (!v || !len)
		return NULL;
	if (v->trial)
		snprintf(buf, len, "%zu writes in %" PRId64 " ms: %zu accepted, %zu refused, %zu unknown to KVM here; "
			 "%zu contradiction%s with the static rules", v->trial_written, v->trial_ms, v->trial_accepted,
			 v->trial_rejected, v->trial_unknown, v->n_contra, v->n_contra == 1 ? "" : "s");
	else if (v->trial_error)
		snprintf(buf, len, "%s", v->trial_error);
	else
		return NULL;
	return buf;
}

static void put_side(struct cpreg_buf *f, const char *key, const struct side *s)
{
	cpreg_buf_printf(f, "  \"%s\": {\"digest\": \"%s\", \"hostname\": ", key, s->digest);
	cpreg_buf_json(f, s->hostname);
	cpreg_buf_lit(f, ", \"kernel\": ");
	cpreg_buf_json(f, s->kernel);
	cpreg_buf_lit(f, ", \"qemu_version\": ");
	cpreg_buf_json(f, s->qemu);
	cpreg_buf_printf(f, ", \"migrated_registers\": %zu},\n", s->migrated);
}

/* "0x" and 16 hex digits, quoted. */
static void put_hex(struct cpreg_buf *f, uint64_t v)
{
	cpreg_buf_lit(f, "\"0x");
	cpreg_buf_hex(f, v, 16);
	cpreg_buf_lit(f, "\"");
}

/*
 * Written by hand, not through a json-c tree: one finding per line (a
 * verdict of 17,000 findings stays readable and diffable), and no object
 * per key and value on the path every check takes.  What keeps it honest:
 * cpreg_verdict_from_json reads it back through json-c's strict parser,
 * test-check round-trips every fixture pair's verdict byte for byte, the
 * parsers fuzz target does the same for whatever it accepts, and
 * test-schemas validates it against docs/schemas/cpreg-verdict-1.
 */
int cpreg_verdict_to_json(const struct cpreg_verdict *v, char **ret_text)
{
	struct cpreg_buf b = { 0 }, *f = &b;
	size_t counts[ARRAY_SIZE(outcome_names)] = { 0 };

	if (!v || !ret_text)
		return -EINVAL;
	fill_texts(v);
	for (size_t i = 0; i < v->n; i++)
		counts[v->f[i].outcome]++;
	cpreg_buf_printf(f, "{\n  \"schema\": \"cpreg-verdict/1\",\n  \"result\": \"%s\",\n  \"compatible\": %s,\n",
			 cpreg_result_name(v->result), v->result == CPREG_COMPATIBLE ? "true" : "false");
	cpreg_buf_lit(f, "  \"policy\": ");
	cpreg_buf_json(f, v->policy);
	cpreg_buf_lit(f, ",\n  \"policy_reason\": ");
	cpreg_buf_json(f, v->policy_reason);
	cpreg_buf_lit(f, ",\n");
	put_side(f, "source", &v->src);
	put_side(f, "destination", &v->dst);
	if (v->dst_source) {
		cpreg_buf_lit(f, "  \"destination_state\": {\"inventory_source\": ");
		cpreg_buf_json(f, v->dst_source);
		if (v->dst_age >= 0)
			cpreg_buf_printf(f, ", \"inventory_age_seconds\": %" PRId64, v->dst_age);
		else
			cpreg_buf_lit(f, ", \"inventory_age_seconds\": null");
		cpreg_buf_lit(f, ", \"warning\": ");
		cpreg_buf_json(f, v->dst_warning);
		cpreg_buf_lit(f, "},\n");
	}
	cpreg_buf_printf(f, "  \"counts\": {\"fail\": %zu, \"unknown\": %zu, \"tolerated\": %zu, \"ok\": %zu},\n",
			 counts[CPREG_OUT_FAIL], counts[CPREG_OUT_UNKNOWN], counts[CPREG_OUT_TOLERATED], counts[CPREG_OUT_OK]);
	cpreg_buf_lit(f, "  \"findings\": [");
	for (size_t i = 0; i < v->n; i++) {
		const struct cpreg_finding *x = &v->f[i];
		struct cpreg_remedy rem[4];
		size_t nr;

		if (i)
			cpreg_buf_lit(f, ",");
		cpreg_buf_lit(f, "\n    {\"id\": ");
		if (x->kind == CPREG_FIND_COUNT_EXCEEDED || (x->kind == CPREG_FIND_VCPU_FEATURE && !x->id))
			cpreg_buf_lit(f, "null");
		else
			put_hex(f, x->id);
		cpreg_buf_lit(f, ", \"name\": ");
		cpreg_buf_json(f, x->name);
		cpreg_buf_lit(f, ", \"kind\": \"");
		cpreg_buf_str(f, cpreg_finding_kind_name(x->kind));
		cpreg_buf_lit(f, "\", \"outcome\": \"");
		cpreg_buf_str(f, cpreg_outcome_name(x->outcome));
		cpreg_buf_lit(f, "\", \"tolerance\": ");
		cpreg_buf_json(f, x->tolerance);
		cpreg_buf_lit(f, ", \"rule\": ");
		cpreg_buf_json(f, x->rule ? cpreg_kernel_rule_name(x->rule) : NULL);
		if (x->kind == CPREG_FIND_COUNT_EXCEEDED) {
			cpreg_buf_lit(f, ", \"source_count\": ");
			cpreg_buf_u64(f, x->source_value);
			cpreg_buf_lit(f, ", \"destination_count\": ");
			cpreg_buf_u64(f, x->destination_value);
		} else {
			cpreg_buf_lit(f, ", \"source_value\": ");
			if (x->has_source)
				put_hex(f, x->source_value);
			else
				cpreg_buf_lit(f, "null");
			cpreg_buf_lit(f, ", \"destination_value\": ");
			if (x->has_destination)
				put_hex(f, x->destination_value);
			else
				cpreg_buf_lit(f, "null");
		}
		cpreg_buf_lit(f, ", \"message\": ");
		cpreg_buf_json(f, x->message);
		cpreg_buf_lit(f, ", \"reason\": \"");
		cpreg_buf_str(f, cpreg_reason_name(cpreg_finding_reason(x)));
		cpreg_buf_lit(f, "\", \"remedies\": [");
		nr = cpreg_verdict_remedies(v, i, rem, ARRAY_SIZE(rem));
		for (size_t k = 0; k < nr; k++) {
			cpreg_buf_str(f, k ? ", {\"kind\": \"" : "{\"kind\": \"");
			cpreg_buf_str(f, cpreg_remedy_kind_name(rem[k].kind));
			cpreg_buf_lit(f, "\"");
			if (rem[k].kind == CPREG_REMEDY_VM_OPTION) {
				cpreg_buf_lit(f, ", \"qemu\": ");
				cpreg_buf_json(f, rem[k].qemu);
				cpreg_buf_lit(f, ", \"libvirt\": ");
				cpreg_buf_json(f, rem[k].libvirt[0] ? rem[k].libvirt : NULL);
			}
			if (rem[k].kind == CPREG_REMEDY_QEMU || rem[k].kind == CPREG_REMEDY_KERNEL) {
				cpreg_buf_lit(f, ", \"min_version\": ");
				cpreg_buf_json(f, rem[k].min_version[0] ? rem[k].min_version : NULL);
			}
			cpreg_buf_lit(f, ", \"text\": ");
			cpreg_buf_json(f, rem[k].text);
			cpreg_buf_lit(f, "}");
		}
		cpreg_buf_lit(f, "]}");
	}
	cpreg_buf_str(f, v->n ? "\n  ]" : "]");
	if (v->trial) {
		char sum[256];

		cpreg_verdict_trial_summary(v, sum, sizeof(sum));
		cpreg_buf_printf(f, ",\n  \"trial\": {\"ran\": true, \"duration_ms\": %" PRId64 ", \"written\": %zu, "
				 "\"accepted\": %zu, \"rejected\": %zu, \"unknown_to_kvm\": %zu, \"summary\": ",
				 v->trial_ms, v->trial_written, v->trial_accepted, v->trial_rejected, v->trial_unknown);
		cpreg_buf_json(f, sum);
		cpreg_buf_lit(f, ", \"contradictions\": [");
		for (size_t i = 0; i < v->n_contra; i++) {
			char name[48];

			cpreg_id_name(v->contra[i].id, name, sizeof(name));
			cpreg_buf_printf(f, "%s\n    {\"id\": \"0x%016" PRIx64 "\", \"name\": \"%s\", \"static\": \"%s\", "
					 "\"trial\": \"%s\"}", i ? "," : "", v->contra[i].id, name,
					 cpreg_outcome_name(v->contra[i].static_outcome),
					 cpreg_outcome_name(v->contra[i].trial_outcome));
		}
		cpreg_buf_str(f, v->n_contra ? "\n  ]}" : "]}");
	} else if (v->trial_error) {
		cpreg_buf_lit(f, ",\n  \"trial\": {\"ran\": false, \"summary\": ");
		cpreg_buf_json(f, v->trial_error);
		cpreg_buf_lit(f, "}");
	} else {
		cpreg_buf_lit(f, ",\n  \"trial\": null");
	}
	if (!v->trial) {
		size_t adv = cpreg_verdict_trial_advised(v);

		cpreg_buf_printf(f, ",\n  \"trial_advised\": %s", adv ? "true" : "false");
		if (adv)
			cpreg_buf_printf(f, ",\n  \"trial_advised_reason\": \"%zu value%s judged by rules only the destination "
					 "kernel applies exactly (writable ID fields, cache geometry): its cpregd's live trial "
					 "confirms them\"", adv, adv == 1 ? "" : "s");
	}
	cpreg_buf_lit(f, "\n}\n");
	return cpreg_buf_finish(f, ret_text);
}

/*
 * ---- the typed verdict, read back ----
 * cpreg-verdict/1 as cpreg_verdict_to_json writes it, from the library or
 * the daemon: every field typed and checked (the enums by their names, ids
 * and values as hex strings, the counts and "compatible" against the
 * findings), so that callers decide from the verdict, never from its bytes.
 * Writing what was read gives the same document.
 */
struct vrd {
	struct cpreg_error *err;
	char path[96];
};

static int vfail(struct vrd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vfail(struct vrd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cpreg_err(r->err, -EINVAL, r->path, "%s", msg);
}

/* obj[key] of the given type; optional: absent is fine (NULL); nullable: JSON null is fine (NULL). */
static int vget(struct vrd *r, json_object *obj, const char *prefix, const char *key, json_type t, bool optional,
		bool nullable, json_object **ret)
{
	json_object *o = NULL;

	snprintf(r->path, sizeof(r->path), "%s%s%s", prefix, *prefix ? "." : "", key);
	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, &o))
		return optional ? 0 : vfail(r, "missing");
	if (!o)
		return nullable ? 0 : vfail(r, "expected %s, got null", json_type_to_name(t));
	if (!json_object_is_type(o, t))
		return vfail(r, "expected %s, got %s", json_type_to_name(t), json_type_to_name(json_object_get_type(o)));
	*ret = o;
	return 0;
}

static int vstr(struct vrd *r, json_object *obj, const char *prefix, const char *key, bool nullable, size_t max,
		const char **ret)
{
	json_object *o;
	int e = vget(r, obj, prefix, key, json_type_string, false, nullable, &o);

	*ret = NULL;
	if (e < 0 || !o)
		return e;
	if ((size_t)json_object_get_string_len(o) > max || strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
		return vfail(r, "a string of at most %zu characters without NUL expected", max);
	*ret = json_object_get_string(o);
	return 0;
}

static int vcount(struct vrd *r, json_object *obj, const char *prefix, const char *key, uint64_t *ret)
{
	json_object *o;
	int e = vget(r, obj, prefix, key, json_type_int, false, false, &o);

	if (e < 0)
		return e;
	errno = 0;
	if (json_object_get_int64(o) < 0 || errno)
		return vfail(r, "expected a count, got %s", json_object_get_string(o));
	*ret = (uint64_t)json_object_get_int64(o);
	return 0;
}

static int vhex(struct vrd *r, json_object *obj, const char *prefix, const char *key, bool nullable, bool *has,
		uint64_t *ret)
{
	const char *s;
	int e = vstr(r, obj, prefix, key, nullable, 24, &s);

	if (has)
		*has = s != NULL;
	if (e < 0 || !s)
		return e;
	if (cpreg_parse_hex(s, ret) < 0)
		return vfail(r, "\"%s\" is not a hex string such as \"0x1f\"", s);
	return 0;
}

static int vname(struct vrd *r, const char *s, const char *const *names, size_t n, int *ret)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(s, names[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	return vfail(r, "\"%s\" is not one of the documented values", s);
}

static int vside(struct vrd *r, json_object *root, const char *key, struct side *side)
{
	json_object *o;
	const char *s;
	uint64_t n;
	int e;

	if ((e = vget(r, root, "", key, json_type_object, false, false, &o)) < 0)
		return e;
	if ((e = vstr(r, o, key, "digest", false, CPREG_DIGEST_LEN - 1, &s)) < 0)
		return e;
	snprintf(side->digest, sizeof(side->digest), "%s", s);
	if ((e = vstr(r, o, key, "hostname", true, 255, &s)) < 0 || (s && !(side->hostname = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vstr(r, o, key, "kernel", true, 255, &s)) < 0 || (s && !(side->kernel = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vstr(r, o, key, "qemu_version", true, 255, &s)) < 0 || (s && !(side->qemu = strdup(s))))
		return e < 0 ? e : -ENOMEM;
	if ((e = vcount(r, o, key, "migrated_registers", &n)) < 0)
		return e;
	side->migrated = (size_t)n;
	return 0;
}

static int vfinding(struct vrd *r, json_object *o, size_t i, struct cpreg_finding *f)
{
	char at[32];
	const char *s;
	int e, k = 0;
	bool has_id, rule_known = true;

	snprintf(at, sizeof(at), "findings[%zu]", i);
	snprintf(r->path, sizeof(r->path), "%s", at);
	if (!json_object_is_type(o, json_type_object))
		return vfail(r, "expected an object");
	if ((e = vstr(r, o, at, "kind", false, 32, &s)) < 0 || (e = vname(r, s, kind_names, ARRAY_SIZE(kind_names), &k)) < 0)
		return e;
	f->kind = k;
	if ((e = vstr(r, o, at, "outcome", false, 32, &s)) < 0 ||
	    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
		return e;
	f->outcome = k;
	if ((e = vhex(r, o, at, "id", true, &has_id, &f->id)) < 0)
		return e;
	if (!has_id && f->kind != CPREG_FIND_COUNT_EXCEEDED && f->kind != CPREG_FIND_VCPU_FEATURE)
		return vfail(r, "null only for count-exceeded and vcpu-feature findings");
	if (has_id && !cpreg_id_valid(f->id))
		return vfail(r, "0x%016" PRIx64 " is not an arm64 KVM register id", f->id);
	if ((e = vstr(r, o, at, "name", true, sizeof(f->name) - 1, &s)) < 0)
		return e;
	snprintf(f->name, sizeof(f->name), "%s", s ? s : "");
	if ((e = vstr(r, o, at, "tolerance", true, 64, &s)) < 0)
		return e;
	if (s && strcmp(s, legacy_tail) == 0)
		f->tolerance = legacy_tail;
	else if (s && (k = cpreg_tol_type_from_name(s)) > 0)
		f->tolerance = cpreg_tol_type_name(k);
	else if (s)
		return vfail(r, "\"%s\" is not a tolerance type", s);
	if ((e = vstr(r, o, at, "rule", true, 64, &s)) < 0)
		return e;
	if (s) {
		/* A rule this reader does not know (a newer writer's) reads as none: docs/verdict.md, Versions. */
		for (k = CPREG_RULE_ANY; k <= CPREG_RULE_UNREADABLE && strcmp(s, cpreg_kernel_rule_name(k)) != 0; k++)
			;
		f->rule = k <= CPREG_RULE_UNREADABLE ? k : 0;
		rule_known = f->rule != 0;
	}
	if (f->kind == CPREG_FIND_COUNT_EXCEEDED) {
		if ((e = vcount(r, o, at, "source_count", &f->source_value)) < 0 ||
		    (e = vcount(r, o, at, "destination_count", &f->destination_value)) < 0)
			return e;
		f->has_source = f->has_destination = true;
		snprintf(f->name, sizeof(f->name), "cpreg_vmstate_array_len");
	} else if ((e = vhex(r, o, at, "source_value", true, &f->has_source, &f->source_value)) < 0 ||
		   (e = vhex(r, o, at, "destination_value", true, &f->has_destination, &f->destination_value)) < 0) {
		return e;
	}
	if ((e = vstr(r, o, at, "message", false, CPREG_MESSAGE_MAX, &s)) < 0)
		return e;
	if (!(f->message = strdup(s)))
		return vfail(r, "out of memory");
	/* reason and remedies are derived: the reason must be what the finding makes it (remedies are rewritten). */
	if ((e = vstr(r, o, at, "reason", false, 64, &s)) < 0)
		return e;
	for (k = 1; k < (int)ARRAY_SIZE(reason_names) && strcmp(s, reason_names[k]) != 0; k++)
		;
	/* A reason this reader knows must be the one the finding makes; a newer one is taken as given. */
	if (k < (int)ARRAY_SIZE(reason_names) && rule_known && strcmp(s, cpreg_reason_name(cpreg_finding_reason(f))) != 0)
		return vfail(r, "\"%s\", but the finding's kind, rule and outcome make it \"%s\"", s,
			     cpreg_reason_name(cpreg_finding_reason(f)));
	return 0;
}

static int vtrial(struct vrd *r, json_object *root, struct cpreg_verdict *v)
{
	json_object *t, *o, *list;
	const char *s;
	uint64_t n;
	int e;

	if ((e = vget(r, root, "", "trial", json_type_object, false, true, &t)) < 0 || !t)
		return e;
	if ((e = vget(r, t, "trial", "ran", json_type_boolean, false, false, &o)) < 0)
		return e;
	if (!json_object_get_boolean(o)) {
		if ((e = vstr(r, t, "trial", "summary", false, 1024, &s)) < 0)
			return e;
		return (v->trial_error = strdup(s)) ? 0 : -ENOMEM;
	}
	v->trial = true;
	if ((e = vcount(r, t, "trial", "duration_ms", &n)) < 0)
		return e;
	v->trial_ms = (int64_t)n;
	if ((e = vcount(r, t, "trial", "written", &n)) < 0)
		return e;
	v->trial_written = (size_t)n;
	if ((e = vcount(r, t, "trial", "accepted", &n)) < 0)
		return e;
	v->trial_accepted = (size_t)n;
	if ((e = vcount(r, t, "trial", "rejected", &n)) < 0)
		return e;
	v->trial_rejected = (size_t)n;
	if ((e = vcount(r, t, "trial", "unknown_to_kvm", &n)) < 0)
		return e;
	v->trial_unknown = (size_t)n;
	if ((e = vget(r, t, "trial", "contradictions", json_type_array, false, false, &list)) < 0)
		return e;
	v->n_contra = json_object_array_length(list);
	if (v->n_contra > 65536)
		return vfail(r, "more than 65536 contradictions");
	if (v->n_contra && !(v->contra = calloc(v->n_contra, sizeof(*v->contra))))
		return -ENOMEM;
	for (size_t i = 0; i < v->n_contra; i++) {
		json_object *c = json_object_array_get_idx(list, i);
		char at[48];
		int k = 0;

		snprintf(at, sizeof(at), "trial.contradictions[%zu]", i);
		snprintf(r->path, sizeof(r->path), "%s", at);
		if (!json_object_is_type(c, json_type_object))
			return vfail(r, "expected an object");
		if ((e = vhex(r, c, at, "id", false, NULL, &v->contra[i].id)) < 0)
			return e;
		if ((e = vstr(r, c, at, "static", false, 32, &s)) < 0 ||
		    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
			return e;
		v->contra[i].static_outcome = k;
		if ((e = vstr(r, c, at, "trial", false, 32, &s)) < 0 ||
		    (e = vname(r, s, outcome_names, ARRAY_SIZE(outcome_names), &k)) < 0)
			return e;
		v->contra[i].trial_outcome = k;
	}
	return 0;
}

int cpreg_verdict_from_json(const char *text, size_t len, struct cpreg_verdict **ret, struct cpreg_error *err)
{
	struct vrd r = { .err = err };
	json_object *root = NULL, *o, *list;
	struct cpreg_verdict *v = NULL;
	const char *s;
	size_t counts[ARRAY_SIZE(outcome_names)] = { 0 };
	int e, k = 0;

	if (!text || !ret)
		return cpreg_err(err, -EINVAL, "", "no document");
	if ((e = cpreg_json_parse(text, len, &root, err)) < 0)
		return e;
	v = calloc(1, sizeof(*v));
	if (!v) {
		e = cpreg_err(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	v->refcount = 1;
	pthread_mutex_init(&v->texts_lock, NULL);
	if (!json_object_is_type(root, json_type_object)) {
		e = vfail(&r, "expected an object");
		goto out;
	}
	if ((e = vstr(&r, root, "", "schema", false, 64, &s)) < 0)
		goto out;
	if (strcmp(s, "cpreg-verdict/1") != 0) {
		e = cpreg_err(err, -EPROTONOSUPPORT, "schema", "unknown schema \"%s\"; this reader takes \"cpreg-verdict/1\"", s);
		goto out;
	}
	if ((e = vstr(&r, root, "", "result", false, 32, &s)) < 0 ||
	    (e = vname(&r, s, result_names, ARRAY_SIZE(result_names), &k)) < 0)
		goto out;
	v->result = k;
	if ((e = vstr(&r, root, "", "policy", false, 128, &s)) < 0 || !(v->policy = strdup(s)) ||
	    (e = vstr(&r, root, "", "policy_reason", false, 256, &s)) < 0 || !(v->policy_reason = strdup(s))) {
		e = e < 0 ? e : cpreg_err(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	if ((e = vside(&r, root, "source", &v->src)) < 0 || (e = vside(&r, root, "destination", &v->dst)) < 0)
		goto out;
	if ((e = vget(&r, root, "", "destination_state", json_type_object, true, false, &o)) < 0)
		goto out;
	if (o) {
		const char *src = NULL, *warn = NULL;
		json_object *age;

		v->dst_age = -1;
		if ((e = vstr(&r, o, "destination_state", "inventory_source", false, 32, &src)) < 0 ||
		    (e = vstr(&r, o, "destination_state", "warning", true, 1024, &warn)) < 0 ||
		    (e = vget(&r, o, "destination_state", "inventory_age_seconds", json_type_int, false, true, &age)) < 0)
			goto out;
		if (cpreg_verdict_set_destination_state(v, src, age ? json_object_get_int64(age) : -1, warn) < 0) {
			e = cpreg_err(err, -ENOMEM, "", "out of memory");
			goto out;
		}
	}
	if ((e = vget(&r, root, "", "findings", json_type_array, false, false, &list)) < 0)
		goto out;
	if (json_object_array_length(list) > 1 << 20) {
		e = vfail(&r, "more than %d findings", 1 << 20);
		goto out;
	}
	v->n = v->cap = json_object_array_length(list);
	if (v->n && !(v->f = calloc(v->n, sizeof(*v->f)))) {
		e = cpreg_err(err, -ENOMEM, "", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < v->n; i++) {
		if ((e = vfinding(&r, json_object_array_get_idx(list, i), i, &v->f[i])) < 0)
			goto out;
		counts[v->f[i].outcome]++;
	}
	if ((e = vtrial(&r, root, v)) < 0)
		goto out;
	/* What is derived must agree with what it derives from. */
	if ((e = vget(&r, root, "", "counts", json_type_object, false, false, &o)) < 0)
		goto out;
	for (k = 1; k < (int)ARRAY_SIZE(outcome_names); k++) {
		uint64_t n;

		if ((e = vcount(&r, o, "counts", outcome_names[k], &n)) < 0)
			goto out;
		if (n != counts[k]) {
			e = vfail(&r, "%" PRIu64 ", but %zu findings have that outcome", n, counts[k]);
			goto out;
		}
	}
	{
		enum cpreg_result stated = v->result;

		recompute_result(v);
		if (v->result != stated) {
			snprintf(r.path, sizeof(r.path), "result");
			e = vfail(&r, "\"%s\", but the findings make it \"%s\"", cpreg_result_name(stated),
				  cpreg_result_name(v->result));
			goto out;
		}
	}
	if ((e = vget(&r, root, "", "compatible", json_type_boolean, false, false, &o)) < 0)
		goto out;
	if (json_object_get_boolean(o) != (v->result == CPREG_COMPATIBLE)) {
		e = vfail(&r, "%s, but the result is \"%s\"", json_object_get_boolean(o) ? "true" : "false",
			  cpreg_result_name(v->result));
		goto out;
	}
	*ret = TAKE_PTR(v);
	e = 0;
out:
	cpreg_verdict_unref(v);
	json_object_put(root);
	return e;
}
