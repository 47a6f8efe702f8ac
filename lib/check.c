/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration check: what a destination QEMU does with an incoming cpreg
 * list (BRIEF section 1), and what the destination kernel is known to do
 * with the values (section 5), as a verdict with one finding per
 * difference.  Messages quote what QEMU itself prints where it prints
 * something.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "cpreg-internal.h"

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
};

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

	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 32;
		struct cpreg_finding *n = reallocarray(v->f, ncap, sizeof(*n));

		if (!n)
			return NULL;
		v->f = n;
		v->cap = ncap;
	}
	f = &v->f[v->n++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->kind = kind;
	if (id)
		cpreg_id_name(id, f->name, sizeof(f->name));
	return f;
}

static void msg(struct cpreg_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(struct cpreg_finding *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

/* How QEMU names a register in "Could not set register ..." (target/arm/kvm.c). */
static void qemu_reg_name(uint64_t id, char *buf, size_t len)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);

	switch (CPREG_ID_GROUP(id)) {
	case CPREG_GROUP_SYSREG:
		snprintf(buf, len, "op0:%u op1:%u crn:%u crm:%u op2:%u", e.op0, e.op1, e.crn, e.crm, e.op2);
		break;
	case CPREG_GROUP_FW:
		snprintf(buf, len, "fw reg %u", (unsigned)(id & 0xffff));
		break;
	case CPREG_GROUP_FW_FEAT:
		snprintf(buf, len, "fw feat reg %u", (unsigned)(id & 0xffff));
		break;
	case CPREG_GROUP_DEMUX:
		snprintf(buf, len, "demux reg %u", (unsigned)(id & 0xffff));
		break;
	default:
		snprintf(buf, len, "0x%016" PRIx64, id);
	}
}

static void write_refused(struct cpreg_finding *f, const char *why)
{
	char qn[64];

	qemu_reg_name(f->id, qn, sizeof(qn));
	msg(f, "Could not set register %s to %" PRIx64 " (is %" PRIx64 "): %s", qn,
	    f->source_value, f->destination_value, why);
}

/* "Atomic 2->0, RDM 1->0" for the fields of an ID register that differ; only unsafe ones when asked. */
static int field_summary(uint64_t id, uint64_t s, uint64_t d, uint64_t mask, bool unsafe_only, char *buf, size_t len,
			 bool *ret_generic)
{
	struct cpreg_field_change ch[40];
	int n = cpreg_field_diff(id, s, d, ch, 40), listed = 0;
	size_t off = 0;

	buf[0] = '\0';
	if (ret_generic)
		*ret_generic = false;
	for (int i = 0; i < n; i++) {
		char name[64];
		uint64_t fm = cpreg_field_mask(&ch[i].field);

		if (unsafe_only && ((fm & mask) != fm || cpreg_field_safe(&ch[i].field, ch[i].a, ch[i].b)))
			continue;
		if (ch[i].generic && ret_generic)
			*ret_generic = true;
		if (ch[i].field.name)
			snprintf(name, sizeof(name), "%s", ch[i].field.name);
		else
			snprintf(name, sizeof(name), "[%u:%u]", ch[i].field.shift + ch[i].field.width - 1, ch[i].field.shift);
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s %" PRId64 "->%" PRId64 "%s%s%s", listed ? ", " : "", name,
					ch[i].a, ch[i].b, ch[i].field.feat ? " (" : "", ch[i].field.feat ? ch[i].field.feat : "",
					ch[i].field.feat ? ")" : "");
		listed++;
	}
	return listed;
}

/* AArch32 ID registers: op0=3 op1=0 CRn=0 CRm=1..3. */
static bool is_aa32_idreg(uint64_t id)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);

	return CPREG_ID_GROUP(id) == CPREG_GROUP_SYSREG && e.op0 == 3 && e.op1 == 0 && e.crn == 0 &&
	       e.crm >= 1 && e.crm <= 3;
}

/* Does this host run AArch32 at EL0?  ID_AA64PFR0_EL1.EL0 == 1 means AArch64 only. */
static bool has_aa32_el0(const struct cpreg_inventory *inv)
{
	const struct cpreg_reg *r = cpreg_inventory_find(inv, CPREG_SYSREG(3, 0, 0, 4, 0));

	return !r || r->state != CPREG_VALUE || (r->value & 0xf) != 1;
}

static bool is_imp_id(uint64_t id)
{
	return id == CPREG_MIDR_EL1 || id == CPREG_SYSREG(3, 0, 0, 0, 6) || id == CPREG_SYSREG(3, 1, 0, 0, 7);
}

/*
 * Statically judge a value the destination kernel will be asked to take
 * with KVM_SET_ONE_REG (BRIEF section 5).  What only that kernel can tell
 * is UNKNOWN: the live trial decides it.
 */
/*
 * The destination vCPU for this VM is created with the source VM's
 * features, and KVM hides the ID fields of a feature the vCPU lacks
 * (sys_regs.c, __kvm_read_sanitised_id_reg): compare against that.
 * Measured: a neoverse-n1 (no pointer auth) source on a max host on 6.12.
 */
static uint64_t effective_dst(uint64_t id, uint64_t d, const struct cpreg_inventory *src)
{
	int64_t feat;

	if (cpreg_inventory_get_number(src, CPREG_NUM_VCPU_FEATURES, &feat) < 0)
		return d;
	if (!(feat & (1 << CPREG_FEAT_PTRAUTH_ADDRESS))) {
		if (id == CPREG_SYSREG(3, 0, 0, 6, 1))  /* ID_AA64ISAR1_EL1: APA, API, GPA, GPI */
			d &= ~UINT64_C(0xff000ff0);
		if (id == CPREG_SYSREG(3, 0, 0, 6, 2))  /* ID_AA64ISAR2_EL1: GPA3, APA3 */
			d &= ~UINT64_C(0xff00);
	}
	if (!(feat & (1 << CPREG_FEAT_SVE))) {
		if (id == CPREG_SYSREG(3, 0, 0, 4, 0))  /* ID_AA64PFR0_EL1.SVE */
			d &= ~(UINT64_C(0xf) << 32);
		if (id == CPREG_SYSREG(3, 0, 0, 4, 4))  /* ID_AA64ZFR0_EL1 */
			d = 0;
	}
	if (!(feat & (1 << CPREG_FEAT_PMU_V3)) && id == CPREG_SYSREG(3, 0, 0, 5, 0))
		d &= ~(UINT64_C(0xf) << 8);  /* ID_AA64DFR0_EL1.PMUVer */
	return d;
}

static void judge_value(struct cpreg_finding *f, const struct cpreg_inventory *src, const struct cpreg_inventory *dst)
{
	uint64_t s = f->source_value, d = effective_dst(f->id, f->destination_value, src);
	unsigned g = CPREG_ID_GROUP(f->id), lo = f->id & 0xffff;

	if (cpreg_id_is_counter(f->id)) {
		f->outcome = CPREG_OUT_OK;
		msg(f, "counter: a clock reading, not a host property");
		return;
	}
	if (cpreg_id_is_idreg(f->id) && s == d) {
		f->outcome = CPREG_OUT_OK;
		msg(f, "equal to what the destination shows a vCPU with the source VM's features");
		return;
	}
	if (cpreg_id_is_idreg(f->id)) {
		const uint64_t *masks = cpreg_inventory_writable_masks(dst);
		int idx = cpreg_writable_mask_index(f->id);
		uint64_t m = masks && idx >= 0 ? masks[idx] : 0;

		char fl[160], why[400];
		bool generic = false;

		f->outcome = CPREG_OUT_FAIL;
		if (!masks) {
			field_summary(f->id, s, d, ~UINT64_C(0), false, fl, sizeof(fl), NULL);
			snprintf(why, sizeof(why), "the destination kernel reports no writable ID registers (before Linux 6.7 "
				 "they are invariant)%s%s", fl[0] ? "; fields " : "", fl);
			write_refused(f, why);
		} else if (is_imp_id(f->id)) {
			write_refused(f, "MIDR/REVIDR/AIDR are writable only when the VMM enables "
				      "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, which QEMU does not");
		} else if (is_aa32_idreg(f->id) && !has_aa32_el0(dst)) {
			/* aa32_id_visibility(): RAZ and write-ignored without AArch32 EL0 (measured on a64fx, 6.12). */
			f->outcome = CPREG_OUT_OK;
			msg(f, "the destination has no AArch32 EL0: KVM reads this AArch32 ID register as zero and "
			    "ignores writes");
		} else if (f->id == CPREG_SYSREG(3, 1, 0, 0, 1)) {
			/*
			 * set_clidr(): RES0 bits 63:47 must be clear, and a CLIDR that implies
			 * IDC (LoC 0, or LoUIS and LoUU 0) needs CTR_EL0.IDC on the host.
			 */
			const struct cpreg_reg *ctr = cpreg_inventory_find(dst, CPREG_SYSREG(3, 3, 0, 0, 1));
			bool implies_idc = !((s >> 24) & 7) || (!((s >> 21) & 7) && !((s >> 27) & 7));
			bool host_idc = ctr && ctr->state == CPREG_VALUE && (ctr->value >> 28 & 1);

			if (s >> 47)
				write_refused(f, "RES0 bits 63:47 are set");
			else if (implies_idc && !host_idc)
				write_refused(f, "the source's cache levels imply CTR_EL0.IDC, which the destination lacks "
					      "(LoC/LoUIS/LoUU)");
			else {
				f->outcome = CPREG_OUT_OK;
				msg(f, "cache levels differ; KVM takes any consistent CLIDR_EL1");
			}
		} else if (g == CPREG_GROUP_DEMUX) {
			f->outcome = CPREG_OUT_UNKNOWN;
			msg(f, "cache geometry differs; the destination kernel's CCSIDR rules decide");
		} else if ((s ^ d) & ~m) {
			field_summary(f->id, s & ~m, d & ~m, ~UINT64_C(0), false, fl, sizeof(fl), NULL);
			snprintf(why, sizeof(why), "bits 0x%" PRIx64 " differ outside the writable mask 0x%" PRIx64 "%s%s",
				 (s ^ d) & ~m, m, fl[0] ? ": fields " : "", fl);
			write_refused(f, why);
		} else if (field_summary(f->id, s, d, m, true, fl, sizeof(fl), &generic) > 0) {
			/* arm64_check_features(): an unsafe field is -E2BIG. */
			snprintf(why, sizeof(why), "unsafe for the destination kernel (6.7+ rules): %s", fl);
			write_refused(f, why);
		} else {
			field_summary(f->id, s, d, m, false, fl, sizeof(fl), &generic);
			f->outcome = CPREG_OUT_OK;
			msg(f, "every differing field is safe for the destination kernel (6.7+ rules%s): %s",
			    generic ? "; unnamed fields judged lower-safe" : "", fl);
		}
		return;
	}
	if (f->id == CPREG_PSCI_VERSION) {
		f->outcome = s <= d ? CPREG_OUT_OK : CPREG_OUT_FAIL;
		if (s <= d)
			msg(f, "PSCI %u.%u is implemented by the destination (up to %u.%u)",
			    (unsigned)(s >> 16), (unsigned)(s & 0xffff), (unsigned)(d >> 16), (unsigned)(d & 0xffff));
		else
			write_refused(f, "the destination kernel does not implement this PSCI version "
				      "(a VM that pins it, kvm-psci-version, may still load)");
		return;
	}
	if (g == CPREG_GROUP_FW && lo >= 1 && lo <= 3) {
		f->outcome = s <= d ? CPREG_OUT_OK : CPREG_OUT_FAIL;
		if (s <= d)
			msg(f, "workaround level %" PRIu64 " is at most the destination's %" PRIu64, s, d);
		else
			write_refused(f, "the destination's workaround level is lower");
		return;
	}
	if (g == CPREG_GROUP_FW_FEAT) {
		f->outcome = s & ~d ? CPREG_OUT_FAIL : CPREG_OUT_OK;
		if (s & ~d) {
			char why[96];

			snprintf(why, sizeof(why), "bits 0x%" PRIx64 " are not offered by the destination", s & ~d);
			write_refused(f, why);
		} else {
			msg(f, "the source's firmware services are a subset of the destination's");
		}
		return;
	}
	f->outcome = CPREG_OUT_OK;
	msg(f, "vCPU state, not a host property: KVM takes the incoming value");
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

int cpreg_check(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
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
			snprintf(reason, sizeof(reason), "destination QEMU %s", q);
		else
			snprintf(reason, sizeof(reason), "destination QEMU version unknown: assuming before 11.1");
		r = cpreg_policy_new_builtin(name ? name : "qemu-legacy", &own);
		if (r < 0)
			return r;
		policy = own;
	} else {
		snprintf(reason, sizeof(reason), "chosen by the caller");
	}
	legacy = cpreg_policy_kind(policy) == CPREG_POLICY_QEMU_LEGACY;
	tols = legacy ? NULL : cpreg_policy_tolerances(policy);

	v = calloc(1, sizeof(*v));
	if (!v)
		goto fail;
	v->refcount = 1;
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
		snprintf(f->name, sizeof(f->name), "cpreg_vmstate_array_len");
		msg(f, "Invalid value %zu expecting positive value <= %zu / Failed to load cpu:cpreg_vmstate_array_len",
		    v->src.migrated, v->dst.migrated);
	}
	for (size_t k = nd; k > 0; k--)
		if (cpreg_id_migrates(cpreg_inventory_at(dst, k - 1)->id)) {
			dst_last = cpreg_inventory_at(dst, k - 1)->id;
			break;
		}

	/* Step 2, the index merge over both ascending lists; step 3, the values. */
	while (i < ns || j < nd) {
		const struct cpreg_reg *a = i < ns ? cpreg_inventory_at(src, i) : NULL;
		const struct cpreg_reg *b = j < nd ? cpreg_inventory_at(dst, j) : NULL;
		struct cpreg_finding *f;

		if (a && !cpreg_id_migrates(a->id)) { i++; continue; }
		if (b && !cpreg_id_migrates(b->id)) { j++; continue; }

		if (a && (!b || a->id < b->id)) {
			i++;
			f = add_finding(v, a->id, CPREG_FIND_ONLY_IN_SOURCE);
			if (!f)
				goto fail;
			f->has_source = a->state == CPREG_VALUE;
			f->source_value = a->value;
			if (legacy && a->id > dst_last) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = "legacy-dropped-tail";
				msg(f, "sorts after the destination's last register: QEMU before 11.1 drops it "
				    "silently (a bug fixed in 11.1)");
			} else if (legacy) {
				f->outcome = CPREG_OUT_FAIL;
				msg(f, "register in their list but not ours: fail migration "
				    "(error while loading state for instance 0x0 of device 'cpu')");
			} else if (cpreg_tolerance_match(tols, a->id, a->value, 0, CPREG_TOL_NOT_ON_BOTH_ENDS)) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = cpreg_tol_type_name(CPREG_TOL_NOT_ON_BOTH_ENDS);
				msg(f, "in the incoming stream but unknown on the destination: tolerated (%s)", f->tolerance);
			} else if (cpreg_tolerance_match(tols, a->id, a->value, 0, CPREG_TOL_ONLY_SRC_TEST_VALUE)) {
				f->outcome = CPREG_OUT_TOLERATED;
				f->tolerance = cpreg_tol_type_name(CPREG_TOL_ONLY_SRC_TEST_VALUE);
				msg(f, "in the incoming stream but unknown on the destination: tolerated, its value "
				    "0x%" PRIx64 " passes %s", a->value, f->tolerance);
			} else {
				f->outcome = CPREG_OUT_FAIL;
				msg(f, "%s (0x%016" PRIx64 ") in the incoming stream but unknown on the destination: "
				    "fail migration", f->name, a->id);
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
				msg(f, "expected by the destination but not in the incoming stream: tolerated (%s)",
				    f->tolerance);
			} else {
				f->outcome = CPREG_OUT_OK;
				msg(f, "%s", legacy ? "register in our list but not incoming: it keeps its reset value"
					 : "expected by the destination but not in the incoming stream: skip it");
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
			msg(f, "not readable on the %s, so not compared", f->has_source ? "destination" : "source");
			continue;
		}
		judge_value(f, src, dst);
		/* QEMU 11.1 lets a value tolerance accept a difference the write would refuse. */
		if (tols && f->outcome != CPREG_OUT_OK) {
			static const enum cpreg_tol_type vt[] = {
				CPREG_TOL_DIFF_IN_MASK, CPREG_TOL_FIELD_LT, CPREG_TOL_FIELD_GT,
			};

			for (size_t k = 0; k < ARRAY_SIZE(vt); k++)
				if (cpreg_tolerance_match(tols, a->id, a->value, b->value, vt[k])) {
					f->outcome = CPREG_OUT_TOLERATED;
					f->tolerance = cpreg_tol_type_name(vt[k]);
					msg(f, "value differs within what tolerance %s allows", f->tolerance);
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

struct cpreg_verdict *cpreg_verdict_ref(struct cpreg_verdict *v)
{
	if (v)
		v->refcount++;
	return v;
}

struct cpreg_verdict *cpreg_verdict_unref(struct cpreg_verdict *v)
{
	if (!v || --v->refcount > 0)
		return NULL;
	free(v->policy);
	free(v->policy_reason);
	for (struct side *s = &v->src; s; s = s == &v->src ? &v->dst : NULL) {
		free(s->hostname);
		free(s->kernel);
		free(s->qemu);
	}
	free(v->f);
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
	for (unsigned b = 0; b < 32; b++) {
		struct cpreg_finding *f;

		if (!(t->missing_features & (1u << b)))
			continue;
		f = add_finding(v, 0, CPREG_FIND_VCPU_FEATURE);
		if (!f)
			return -ENOMEM;
		f->outcome = CPREG_OUT_FAIL;
		snprintf(f->name, sizeof(f->name), "%s", cpreg_feature_name(b) ? cpreg_feature_name(b) : "?");
		msg(f, "the source VM's vCPU has %s and this host cannot give it: QEMU would refuse the VM "
		    "(turn it off in the VM, or place it on a host that has it)", f->name);
	}
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
	return v && i < v->n ? &v->f[i] : NULL;
}

const struct cpreg_finding *cpreg_verdict_find(const struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (v->f[i].id == id && v->f[i].kind == kind)
			return &v->f[i];
	return NULL;
}

static void put_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_side(FILE *f, const char *key, const struct side *s)
{
	fprintf(f, "  \"%s\": {\"digest\": \"%s\", \"hostname\": ", key, s->digest);
	put_str(f, s->hostname);
	fputs(", \"kernel\": ", f);
	put_str(f, s->kernel);
	fputs(", \"qemu_version\": ", f);
	put_str(f, s->qemu);
	fprintf(f, ", \"migrated_registers\": %zu},\n", s->migrated);
}

int cpreg_verdict_to_json(const struct cpreg_verdict *v, char **ret_text)
{
	char *buf = NULL;
	size_t len = 0, counts[ARRAY_SIZE(outcome_names)] = { 0 };
	FILE *f;

	if (!v || !ret_text)
		return -EINVAL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++)
		counts[v->f[i].outcome]++;
	fprintf(f, "{\n  \"schema\": \"cpreg-verdict/1\",\n  \"result\": \"%s\",\n  \"compatible\": %s,\n",
		cpreg_result_name(v->result), v->result == CPREG_COMPATIBLE ? "true" : "false");
	fputs("  \"policy\": ", f);
	put_str(f, v->policy);
	fputs(",\n  \"policy_reason\": ", f);
	put_str(f, v->policy_reason);
	fputs(",\n", f);
	put_side(f, "source", &v->src);
	put_side(f, "destination", &v->dst);
	fprintf(f, "  \"counts\": {\"fail\": %zu, \"unknown\": %zu, \"tolerated\": %zu, \"ok\": %zu},\n",
		counts[CPREG_OUT_FAIL], counts[CPREG_OUT_UNKNOWN], counts[CPREG_OUT_TOLERATED], counts[CPREG_OUT_OK]);
	fputs("  \"findings\": [", f);
	for (size_t i = 0; i < v->n; i++) {
		const struct cpreg_finding *x = &v->f[i];

		fprintf(f, "%s\n    {", i ? "," : "");
		if (x->kind == CPREG_FIND_COUNT_EXCEEDED || (x->kind == CPREG_FIND_VCPU_FEATURE && !x->id))
			fputs("\"id\": null", f);
		else
			fprintf(f, "\"id\": \"0x%016" PRIx64 "\"", x->id);
		fputs(", \"name\": ", f);
		put_str(f, x->name);
		fprintf(f, ", \"kind\": \"%s\", \"outcome\": \"%s\", \"tolerance\": ",
			cpreg_finding_kind_name(x->kind), cpreg_outcome_name(x->outcome));
		put_str(f, x->tolerance);
		if (x->kind == CPREG_FIND_COUNT_EXCEEDED) {
			fprintf(f, ", \"source_count\": %" PRIu64 ", \"destination_count\": %" PRIu64,
				x->source_value, x->destination_value);
		} else {
			if (x->has_source)
				fprintf(f, ", \"source_value\": \"0x%016" PRIx64 "\"", x->source_value);
			else
				fputs(", \"source_value\": null", f);
			if (x->has_destination)
				fprintf(f, ", \"destination_value\": \"0x%016" PRIx64 "\"", x->destination_value);
			else
				fputs(", \"destination_value\": null", f);
		}
		fputs(", \"message\": ", f);
		put_str(f, x->message);
		fputs("}", f);
	}
	fputs(v->n ? "\n  ]" : "]", f);
	if (v->trial) {
		fprintf(f, ",\n  \"trial\": {\"ran\": true, \"duration_ms\": %" PRId64 ", \"written\": %zu, "
			"\"accepted\": %zu, \"rejected\": %zu, \"unknown_to_kvm\": %zu, \"summary\": "
			"\"%zu writes in %" PRId64 " ms: %zu accepted, %zu refused, %zu unknown to KVM here; "
			"%zu contradiction%s with the static rules\", \"contradictions\": [",
			v->trial_ms, v->trial_written, v->trial_accepted, v->trial_rejected, v->trial_unknown,
			v->trial_written, v->trial_ms, v->trial_accepted, v->trial_rejected, v->trial_unknown,
			v->n_contra, v->n_contra == 1 ? "" : "s");
		for (size_t i = 0; i < v->n_contra; i++) {
			char name[48];

			cpreg_id_name(v->contra[i].id, name, sizeof(name));
			fprintf(f, "%s\n    {\"id\": \"0x%016" PRIx64 "\", \"name\": \"%s\", \"static\": \"%s\", "
				"\"trial\": \"%s\"}", i ? "," : "", v->contra[i].id, name,
				cpreg_outcome_name(v->contra[i].static_outcome), cpreg_outcome_name(v->contra[i].trial_outcome));
		}
		fputs(v->n_contra ? "\n  ]}" : "]}", f);
	} else if (v->trial_error) {
		fputs(",\n  \"trial\": {\"ran\": false, \"summary\": ", f);
		put_str(f, v->trial_error);
		fputs("}", f);
	} else {
		fputs(",\n  \"trial\": null", f);
	}
	fputs("\n}\n", f);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*ret_text = buf;
	return 0;
}
