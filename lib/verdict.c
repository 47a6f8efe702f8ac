/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict object: references, the live trial merged into it, its
 * accessors, the reasons and remedies of its findings (verdict.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "verdict.h"

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
	cpreg_passport_unref(v->passport_after);
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

void verdict_recompute(struct cpreg_verdict *v)
{
	v->result = CPREG_COMPATIBLE;
	for (size_t k = 0; k < v->n; k++) {
		if (v->f[k].outcome == CPREG_OUT_FAIL)
			v->result = CPREG_INCOMPATIBLE;
		else if (v->f[k].outcome == CPREG_OUT_UNKNOWN && v->result == CPREG_COMPATIBLE)
			v->result = CPREG_UNDECIDED;
	}
}

struct cpreg_finding *verdict_find_mut(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind)
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
		if ((t->missing_features & (1u << b)) && verdict_add_missing_feature(v, b) < 0)
			return -ENOMEM;
	if (t->vls_err) {
		struct cpreg_finding *f = verdict_add_finding(v, CPREG_SVE_VLS, CPREG_FIND_VCPU_FEATURE);

		if (!f)
			return -ENOMEM;
		f->outcome = CPREG_OUT_FAIL;
		finding_msg(f, "this host refused the source VM's SVE vector lengths (%s): pin %s / sve<N> on "
		    "the VM to lengths both hosts support", strerror(t->vls_err),
		    cpreg_vm_option_at(CPREG_VMOPT_SVE_MAX_VQ)->qemu);
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
		f = verdict_find_mut(v, r->id, CPREG_FIND_VALUE_DIFFERS);
		if (!f) {
			/* Equal values need no finding, unless the kernel refuses even those. */
			if (tr == CPREG_OUT_OK)
				continue;
			f = verdict_add_finding(v, r->id, CPREG_FIND_VALUE_DIFFERS);
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
			finding_msg(f, "the destination kernel accepted the source's value in the trial");
		} else {
			char qn[64];

			verdict_qemu_reg_name(r->id, qn, sizeof(qn));
			finding_msg(f, "Could not set register %s to %" PRIx64 " (is %" PRIx64 "): the destination kernel "
			    "refused it in the trial (%s)", qn, r->value, r->has_local ? r->local : f->destination_value,
			    strerrorname_np(r->err) ? strerrorname_np(r->err) : "error");
		}
	}
	verdict_recompute(v);
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
/*
 * Whether the kernel model judged the destination by another kernel's
 * rules (its version is not in lib/kernel-rules.c): then every kernel rule
 * is the nearest older version's, and only the destination's trial is exact.
 */
bool cpreg_verdict_rules_nearest(const struct cpreg_verdict *v, unsigned *major, unsigned *minor)
{
	bool exact = true;
	const struct cpreg_krules *kr;

	if (!v || !v->dst.kernel)
		return false;
	kr = cpreg_krules_for_kernel(v->dst.kernel, &exact);
	if (major)
		*major = kr->major;
	if (minor)
		*minor = kr->minor;
	return !exact;
}

size_t cpreg_verdict_trial_advised(const struct cpreg_verdict *v)
{
	size_t n = 0;

	if (v && !v->trial && cpreg_verdict_rules_nearest(v, NULL, NULL))
		n++;

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
	verdict_word_one(v, i);
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

const char *const reason_names[] = {
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
	case CPREG_RULE_SET_HANDLER: return failed ? CPREG_REASON_FIELD_UNSAFE : CPREG_REASON_VALUE_ACCEPTED;
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
		const struct cpreg_vm_option *o = cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION);
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
			   "feature off for the VM on both ends (%s/%s/%s=off) where QEMU offers it",
			   cpreg_vm_option_at(CPREG_VMOPT_PMU)->qemu, cpreg_vm_option_at(CPREG_VMOPT_SVE)->qemu,
			   cpreg_vm_option_at(CPREG_VMOPT_PAUTH)->qemu);
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

int cpreg_verdict_set_passport_after(struct cpreg_verdict *v, struct cpreg_passport *p)
{
	if (!v)
		return -EINVAL;
	if (p && v->result != CPREG_COMPATIBLE)
		return -EINVAL;
	cpreg_passport_unref(v->passport_after);
	v->passport_after = cpreg_passport_ref(p);
	return 0;
}

const struct cpreg_passport *cpreg_verdict_passport_after(const struct cpreg_verdict *v)
{
	return v ? v->passport_after : NULL;
}
