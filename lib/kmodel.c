/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel model: what a destination kernel does with KVM_SET_ONE_REG of
 * an incoming value (BRIEF section 5), and which registers and ID fields a
 * vCPU feature brings.  The one home of these rules: the static check
 * (check.c), the VM-options adjustment (inventory.c), the replay backend
 * (probes/replay.c) and explain's remedies read them from here.  Each rule
 * cites the kernel source (arch/arm64/kvm/sys_regs.c, hypercalls.c) or the
 * real migration that showed it (tests/vm/migrate-expected.txt).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "cpreg-internal.h"

static const char *const rule_names[] = {
	[CPREG_RULE_ANY] = "any-value",
	[CPREG_RULE_COUNTER] = "counter",
	[CPREG_RULE_EQUAL] = "equal",
	[CPREG_RULE_INVARIANT] = "invariant-before-6.7",
	[CPREG_RULE_IMP_ID] = "imp-id-not-writable",
	[CPREG_RULE_AA32_WI] = "aarch32-write-ignored",
	[CPREG_RULE_CLIDR] = "clidr",
	[CPREG_RULE_CCSIDR] = "ccsidr-line-size",
	[CPREG_RULE_OUTSIDE_MASK] = "outside-writable-mask",
	[CPREG_RULE_FIELD_UNSAFE] = "field-unsafe",
	[CPREG_RULE_FIELD_SAFE] = "field-safe",
	[CPREG_RULE_PSCI_VERSION] = "psci-version",
	[CPREG_RULE_WORKAROUND] = "workaround-level",
	[CPREG_RULE_FW_BITMAP] = "firmware-bitmap",
	[CPREG_RULE_UNREADABLE] = "unreadable",
	[CPREG_RULE_SET_HANDLER] = "set-handler",
};

const char *cpreg_kernel_rule_name(enum cpreg_kernel_rule r)
{
	return (unsigned)r < ARRAY_SIZE(rule_names) ? rule_names[r] : NULL;
}

/*
 * What KVM hides from a vCPU without a feature (sys_regs.c: the feature's
 * registers are not listed, and __kvm_read_sanitised_id_reg() clears its
 * ID fields).  Verified on real KVM: a max host probed with the feature off
 * gives the same registers, values and digest as the full probe adjusted
 * by this table (tests/vm/vm-probe.sh).
 */
static const struct cpreg_feature_field feature_fields[] = {
	{ CPREG_FEAT_PTRAUTH_ADDRESS, CPREG_SYSREG(3, 0, 0, 6, 1), UINT64_C(0xff000ff0) },  /* ISAR1: APA API GPA GPI */
	{ CPREG_FEAT_PTRAUTH_ADDRESS, CPREG_SYSREG(3, 0, 0, 6, 2), UINT64_C(0xff00) },      /* ISAR2: GPA3 APA3 */
	{ CPREG_FEAT_SVE, CPREG_SYSREG(3, 0, 0, 4, 0), UINT64_C(0xf) << 32 },               /* PFR0.SVE */
	{ CPREG_FEAT_SVE, CPREG_SYSREG(3, 0, 0, 4, 4), ~UINT64_C(0) },                      /* ZFR0 */
	{ CPREG_FEAT_PMU_V3, CPREG_SYSREG(3, 0, 0, 5, 0), UINT64_C(0xf) << 8 },             /* DFR0.PMUVer */
	{ CPREG_FEAT_PMU_V3, CPREG_SYSREG(3, 0, 0, 1, 2), UINT64_C(0xf) << 24 },            /* ID_DFR0.PerfMon */
};

size_t cpreg_feature_fields(const struct cpreg_feature_field **ret)
{
	if (ret)
		*ret = feature_fields;
	return ARRAY_SIZE(feature_fields);
}

/* Registers KVM hides from a vCPU without the feature (sys_regs.c visibility hooks). */
bool cpreg_feature_owns(unsigned feat, uint64_t id)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);

	if (feat == CPREG_FEAT_SVE)
		return CPREG_ID_GROUP(id) == CPREG_GROUP_SVE || id == CPREG_SYSREG(3, 0, 1, 2, 0);  /* ZCR_EL1 */
	if (CPREG_ID_GROUP(id) != CPREG_GROUP_SYSREG)
		return false;
	if (feat == CPREG_FEAT_PTRAUTH_ADDRESS)  /* the AP*KEY* registers */
		return e.op0 == 3 && e.op1 == 0 && e.crn == 2 && e.crm >= 1 && e.crm <= 3;
	if (feat == CPREG_FEAT_PMU_V3)  /* PMCR..PMCCFILTR, PMEVCNTR/TYPER, PMINTEN/PMMIR */
		return (e.op0 == 3 && e.op1 == 3 && e.crn == 9 && e.crm >= 12) ||
		       (e.op0 == 3 && e.op1 == 3 && e.crn == 14 && e.crm >= 8) ||
		       (e.op0 == 3 && e.op1 == 0 && e.crn == 9 && e.crm == 14);
	return false;
}

/* "Atomic 2->0, RDM 1->0" for the fields of an ID register that differ; only unsafe ones when asked. */
static int field_summary(uint64_t id, uint64_t s, uint64_t d, uint64_t mask, bool unsafe_only, char *buf, size_t len,
			 bool *ret_generic)
{
	struct cpreg_field_change ch[40];
	int n = cpreg_field_diff(id, s, d, ch, 40), listed = 0;
	size_t off = 0;

	if (buf)
		buf[0] = '\0';
	if (ret_generic)
		*ret_generic = false;
	for (int i = 0; i < n; i++) {
		uint64_t fm = cpreg_field_mask(&ch[i].field);

		if (unsafe_only && ((fm & mask) != fm || cpreg_field_safe(&ch[i].field, ch[i].a, ch[i].b)))
			continue;
		if (ch[i].generic && ret_generic)
			*ret_generic = true;
		listed++;
		if (!buf)
			continue;       /* counted, not worded */
		if (listed > 1)
			off = cpreg_put(buf, len, off, ", ");
		if (ch[i].field.name) {
			off = cpreg_put(buf, len, off, ch[i].field.name);
		} else {
			off = cpreg_put(buf, len, off, "[");
			off = cpreg_put_i64(buf, len, off, ch[i].field.shift + ch[i].field.width - 1);
			off = cpreg_put(buf, len, off, ":");
			off = cpreg_put_i64(buf, len, off, ch[i].field.shift);
			off = cpreg_put(buf, len, off, "]");
		}
		off = cpreg_put(buf, len, off, " ");
		off = cpreg_put_i64(buf, len, off, ch[i].a);
		off = cpreg_put(buf, len, off, "->");
		off = cpreg_put_i64(buf, len, off, ch[i].b);
		if (ch[i].field.feat) {
			off = cpreg_put(buf, len, off, " (");
			off = cpreg_put(buf, len, off, ch[i].field.feat);
			off = cpreg_put(buf, len, off, ")");
		}
	}
	return listed;
}

const struct cpreg_krules *cpreg_krules_for(const struct cpreg_inventory *inv, bool *exact)
{
	return cpreg_krules_for_kernel(inv ? cpreg_inventory_get_text(inv, CPREG_TEXT_KERNEL) : NULL, exact);
}

const struct cpreg_krules *cpreg_krules_for_kernel(const char *k, bool *exact)
{
	const struct cpreg_krules *best = &cpreg_krules[0];
	unsigned major = 0, minor = 0;

	*exact = false;
	if (!k || sscanf(k, "%u.%u", &major, &minor) != 2)
		return best;
	for (size_t i = 0; i < cpreg_n_krules; i++) {
		const struct cpreg_krules *r = &cpreg_krules[i];

		if (r->major > major || (r->major == major && r->minor > minor))
			break;  /* the table is in version order */
		best = r;
	}
	*exact = best->major == major && best->minor == minor;
	return best;
}

/* " (the rules of Linux X.Y, the nearest in the table: the trial answers exactly)" when not exact. */
static const char *nearest_note(const struct cpreg_krules *kr, bool exact, char *buf, size_t len)
{
	if (exact)
		return "";
	snprintf(buf, len, "; by the rules of Linux %u.%u, the nearest the model has: the destination's trial answers "
		 "exactly", kr->major, kr->minor);
	return buf;
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
 * The answer being built, and whether its words are wanted: the static
 * check needs only the outcome and the rule, and words for the findings
 * someone reads (check.c writes them on first access), so a check of two
 * similar hosts formats nothing.
 */
struct judge {
	struct cpreg_kernel_answer *ans;
	bool text;
};

static void answer(struct judge *a, enum cpreg_outcome o, enum cpreg_kernel_rule rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void answer(struct judge *a, enum cpreg_outcome o, enum cpreg_kernel_rule rule, const char *fmt, ...)
{
	va_list ap;

	a->ans->outcome = o;
	a->ans->rule = rule;
	if (!a->text)
		return;
	va_start(ap, fmt);
	vsnprintf(a->ans->why, sizeof(a->ans->why), fmt, ap);
	va_end(ap);
}

/*
 * A demuxed CCSIDR_EL1 (id & 0xff is CSSELR).  Before Linux 6.7 it is
 * invariant (demux_c15_set()).  From 6.7 KVM keeps a per-vCPU copy and
 * set_ccsidr() takes any value whose RES0 bits (63:32) are clear and whose
 * line size is at least the host's minimum for that cache kind
 * (get_min_cache_line_size(): CTR_EL0.IminLine for an instruction cache,
 * DminLine otherwise, log2 words, so +2 for log2 bytes; CCSIDR's LineSize
 * is log2 bytes - 4).  Measured with real migrations: same-CPU 6.1 ->
 * 6.12/7.2 loads; an a64fx destination (256-byte lines) refuses every
 * CCSIDR of 64-byte lines.
 */
static void judge_ccsidr(struct judge *a, const struct cpreg_inventory *dst, uint64_t id, uint64_t s,
			 bool writable)
{
	const struct cpreg_reg *ctr = cpreg_inventory_find(dst, CPREG_SYSREG(3, 3, 0, 0, 1));
	bool icache = id & 1;
	unsigned line = (unsigned)(s & 7) + 4, min;

	if (!writable)
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_INVARIANT, "the destination kernel reports no writable ID "
			      "registers (before Linux 6.7 the cache geometry is invariant)");
	if (s >> 32)
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_CCSIDR, "RES0 bits 63:32 are set");
	if (!ctr || ctr->state != CPREG_VALUE)
		return answer(a, CPREG_OUT_UNKNOWN, CPREG_RULE_CCSIDR, "cache geometry differs and the destination's "
			      "CTR_EL0 is unknown: its kernel decides");
	min = (unsigned)((ctr->value >> (icache ? 0 : 16)) & 0xf) + 2;
	if (line < min)
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_CCSIDR, "%u-byte %s cache lines are below the destination's "
			      "minimum of %u bytes (CTR_EL0.%s)", 1u << line, icache ? "instruction" : "data/unified",
			      1u << min, icache ? "IminLine" : "DminLine");
	answer(a, CPREG_OUT_OK, CPREG_RULE_CCSIDR, "cache geometry differs; KVM (6.7+) takes any CCSIDR whose line size "
	       "is at least the host's minimum (%u bytes)", 1u << min);
}

/* "Atomic" or "[11:8]": a field as the hand table names it, and its FEAT_ name or NULL, for the words. */
static const char *field_word(uint64_t id, unsigned shift, unsigned width, char *buf, size_t len)
{
	const struct cpreg_field *tab;
	size_t n = cpreg_fields_of(id, &tab);

	for (size_t i = 0; i < n; i++)
		if (tab[i].shift == shift && tab[i].name) {
			snprintf(buf, len, "%s", tab[i].name);
			return tab[i].feat;
		}
	snprintf(buf, len, "[%u:%u]", shift + width - 1, shift);
	return NULL;
}

/*
 * The destination's set_id_<register>() handler (sys_regs.c, its rules in
 * lib/kernel-rules.c) before set_id_reg() checks the write: fields it drops
 * or replaces are taken out of *s, and a minimum it refuses answers here
 * (false).  *why says what was taken out, for the words.
 */
static bool setter(struct judge *a, const struct cpreg_krules *kr, const char *note, uint64_t id, uint64_t *s,
		   uint64_t d, char *why, size_t len)
{
	size_t off = 0;
	char name[48] = "";

	why[0] = '\0';
	for (size_t i = 0; i < kr->n_adjusts; i++) {
		const struct cpreg_kadjust *k = &kr->adjusts[i];
		uint64_t fm = ((UINT64_C(1) << k->width) - 1) << k->shift;
		unsigned v = (unsigned)((*s & fm) >> k->shift), h = (unsigned)((d & fm) >> k->shift);
		const char *did = NULL;

		if (k->reg != id)
			continue;
		if (a->text)
			field_word(id, k->shift, k->width, name, sizeof(name));
		switch (k->kind) {
		case CPREG_KADJ_IGNORE_IF_HOST:
			/*
			 * Dropped when it equals the host's own value, which this kernel
			 * hides from the VM (h == 0): taken to be the source's, as on the
			 * same CPU; another CPU's MIDR_EL1 refuses the migration anyway.
			 */
			if (v == h || h)
				continue;
			*s &= ~fm;
			did = "ignored: the host's own value, which this kernel hides";
			break;
		case CPREG_KADJ_REPLACE:
			if (v != k->a)
				continue;
			*s = (*s & ~fm) | ((uint64_t)k->b << k->shift);
			did = "replaced";
			break;
		case CPREG_KADJ_MIN:
		case CPREG_KADJ_MIN_OR_ZERO:
			if (v >= k->a || (k->kind == CPREG_KADJ_MIN_OR_ZERO && !v))
				continue;
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_SET_HANDLER, "%s %u is below the %u Linux %u.%u's "
				      "set handler takes (sys_regs.c:%u)%s", name, v, k->a, kr->major, kr->minor, k->line,
				      note), false;
		case CPREG_KADJ_AT_MOST_HOST:
			if (v == h)
				continue;
			if (v > h || v > k->a)
				return answer(a, CPREG_OUT_FAIL, CPREG_RULE_SET_HANDLER, "%s %u is above the destination's "
					      "%u, which Linux %u.%u's set handler refuses (sys_regs.c:%u)%s", name, v, h,
					      kr->major, kr->minor, k->line, note), false;
			*s = (*s & ~fm) | (d & fm);
			did = "lower than the host's, which this kernel takes";
			break;
		}
		if (a->text)
			off += (size_t)snprintf(why + off, off < len ? len - off : 0, "%s%s %u (%s, sys_regs.c:%u)",
						off ? ", " : "", name, v, did, k->line);
	}
	return true;
}

/*
 * arm64_check_features() (sys_regs.c, 6.7+) with the destination kernel's
 * own tables (lib/kernel-rules.c): each field of cpufeature.c's table for
 * the register that lies wholly in the writable mask m must be its safe
 * value against the host's (kvm_arm64_ftr_safe_value()), and every other
 * bit must equal the host's (the register's set handler, setter() above,
 * has had its say).  false: the table has no fields for id.
 */
static bool check_features(struct judge *a, const struct cpreg_krules *kr, const char *note, uint64_t id, uint64_t s,
			   uint64_t d, uint64_t m)
{
	size_t off = 0;
	uint64_t checked = 0;
	char bad[200] = "", name[48];
	unsigned line = 0;
	bool any = false;

	size_t lo = 0, hi = kr->n_fields;

	/* The table is in arm64_ftr_regs[] order, which the kernel keeps sorted by encoding: the register's first field. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kr->fields[mid].reg < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < kr->n_fields && kr->fields[i].reg == id; i++) {
		const struct cpreg_kfield *f = &kr->fields[i];
		struct cpreg_field cf = { f->reg, NULL, f->shift, f->width, f->sign, f->rule, f->safe, NULL, 0, false };
		uint64_t fm = cpreg_field_mask(&cf);
		int64_t v, lim, safe;

		any = true;
		if ((fm & m) != fm)
			continue;
		checked |= fm;
		v = cpreg_field_get(&cf, s);
		lim = cpreg_field_get(&cf, d);
		if (v == lim)
			continue;
		switch (f->rule) {
		case CPREG_SAFE_EXACT: safe = f->safe; break;
		case CPREG_SAFE_HIGHER_OR_ZERO: safe = !v || !lim ? 0 : (v > lim ? v : lim); break;
		case CPREG_SAFE_HIGHER: safe = v > lim ? v : lim; break;
		default: safe = v < lim ? v : lim; break;
		}
		if (safe == v)
			continue;
		line = line ? line : f->line;
		if (a->text) {
			const char *feat = field_word(id, f->shift, f->width, name, sizeof(name));

			off += (size_t)snprintf(bad + off, off < sizeof(bad) ? sizeof(bad) - off : 0, "%s%s %" PRId64 "->%"
						PRId64 " (%s)", off ? ", " : "", name, v, lim,
						feat ? feat : cpreg_field_rule_name(f->rule));
		}
	}
	if (!any)
		return false;
	if (line)
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_FIELD_UNSAFE, "unsafe for Linux %u.%u (arch/arm64/kernel/"
			      "cpufeature.c:%u, sys_regs.c arm64_check_features()): %s%s", kr->major, kr->minor, line, bad,
			      note), true;
	if ((s ^ d) & ~checked)
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_OUTSIDE_MASK, "bits 0x%" PRIx64 " differ where Linux %u.%u "
			      "checks no writable field: they must equal the host's (sys_regs.c:%u)%s", (s ^ d) & ~checked,
			      kr->major, kr->minor, kr->check_line, note), true;
	answer(a, CPREG_OUT_OK, CPREG_RULE_FIELD_SAFE, "every differing field is safe for Linux %u.%u (its "
	       "cpufeature.c tables, sys_regs.c:%u)%s", kr->major, kr->minor, kr->check_line, note);
	return true;
}

static void judge_idreg(struct judge *a, const struct cpreg_inventory *dst, uint64_t id, uint64_t s,
			uint64_t d)
{
	const uint64_t *masks = cpreg_inventory_writable_masks(dst);
	int idx = cpreg_writable_mask_index(id);
	uint64_t m = masks && idx >= 0 ? masks[idx] : 0;
	char fl[160] = "", why[160], nb[160], pre[340];
	const struct cpreg_krules *kr;
	const char *note;
	bool generic = false, exact;

	if (is_aa32_idreg(id) && !has_aa32_el0(dst))
		/*
		 * aa32_id_visibility(): REG_RAZ | REG_USER_WI when the host has no
		 * AArch32 EL0 (since Linux 5.18, before and after 6.7; measured on
		 * a64fx destinations on 6.1 and 6.12).
		 */
		return answer(a, CPREG_OUT_OK, CPREG_RULE_AA32_WI, "the destination has no AArch32 EL0: KVM reads this "
			      "AArch32 ID register as zero and ignores writes");
	if (CPREG_ID_GROUP(id) == CPREG_GROUP_DEMUX)
		return judge_ccsidr(a, dst, id, s, masks != NULL);
	kr = cpreg_krules_for(dst, &exact);
	note = nearest_note(kr, exact, nb, sizeof(nb));
	if (!is_imp_id(id) && id != CPREG_SYSREG(3, 1, 0, 0, 1)) {
		if (!setter(a, kr, note, id, &s, d, why, sizeof(why)))
			return;
		if (s == d)
			return answer(a, CPREG_OUT_OK, CPREG_RULE_SET_HANDLER, "Linux %u.%u's set handler makes it the "
				      "destination's own value: %s%s", kr->major, kr->minor, why, note);
		if (why[0] && a->text) {
			/* What the handler did first goes with whatever judges the rest. */
			snprintf(pre, sizeof(pre), "; the set handler first: %s%s", why, note);
			note = pre;
		}
	}
	if (!masks) {
		/* Before 6.7 set_id_reg(): "you can't change it".  The fields only for the words. */
		if (a->text)
			field_summary(id, s, d, ~UINT64_C(0), false, fl, sizeof(fl), NULL);
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_INVARIANT, "the destination kernel reports no writable ID "
			      "registers (before Linux 6.7 they are invariant)%s%s%s", fl[0] ? "; fields " : "", fl, note);
	}
	if (is_imp_id(id))
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_IMP_ID, "MIDR/REVIDR/AIDR are writable only when the VMM "
			      "enables KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, which QEMU does not");
	if (id == CPREG_SYSREG(3, 1, 0, 0, 1)) {
		/*
		 * set_clidr(): RES0 bits 63:47 must be clear, and a CLIDR that implies
		 * IDC (LoC 0, or LoUIS and LoUU 0) needs CTR_EL0.IDC on the host.
		 */
		const struct cpreg_reg *ctr = cpreg_inventory_find(dst, CPREG_SYSREG(3, 3, 0, 0, 1));
		bool implies_idc = !((s >> 24) & 7) || (!((s >> 21) & 7) && !((s >> 27) & 7));
		bool host_idc = ctr && ctr->state == CPREG_VALUE && (ctr->value >> 28 & 1);

		if (s >> 47)
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_CLIDR, "RES0 bits 63:47 are set");
		if (implies_idc && !host_idc)
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_CLIDR, "the source's cache levels imply CTR_EL0.IDC, "
				      "which the destination lacks (LoC/LoUIS/LoUU)");
		return answer(a, CPREG_OUT_OK, CPREG_RULE_CLIDR, "cache levels differ; KVM takes any consistent CLIDR_EL1");
	}
	if ((s ^ d) & ~m) {
		if (a->text)
			field_summary(id, s & ~m, d & ~m, ~UINT64_C(0), false, fl, sizeof(fl), NULL);
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_OUTSIDE_MASK, "bits 0x%" PRIx64 " differ outside the "
			      "writable mask 0x%" PRIx64 "%s%s%s", (s ^ d) & ~m, m, fl[0] ? ": fields " : "", fl, note);
	}
	if (kr->check_line && check_features(a, kr, note, id, s, d, m))
		return;
	/* A register the kernel's tables do not describe: the hand table's rules. */
	if (field_summary(id, s, d, m, true, a->text ? fl : NULL, sizeof(fl), &generic) > 0)
		/* arm64_check_features(): an unsafe field is -E2BIG. */
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_FIELD_UNSAFE, "unsafe for the destination kernel (6.7+ "
			      "rules): %s%s", fl, note);
	if (a->text)
		field_summary(id, s, d, m, false, fl, sizeof(fl), &generic);
	answer(a, CPREG_OUT_OK, CPREG_RULE_FIELD_SAFE, "every differing field is safe for the destination kernel "
	       "(6.7+ rules%s): %s%s", generic ? "; unnamed fields judged lower-safe" : "", fl, note);
}

/*
 * The firmware registers, by the destination kernel's kvm_arm_set_fw_reg()
 * (arch/arm64/kvm/hypercalls.c, its rules in lib/kernel-rules.c): d is the
 * destination's own value, the level its host offers.
 */
static void judge_firmware(struct judge *a, const struct cpreg_inventory *dst, uint64_t id, uint64_t s, uint64_t d)
{
	bool exact;
	const struct cpreg_krules *kr = cpreg_krules_for(dst, &exact);
	unsigned lo = id & 0xffff;
	char nb[160];
	const char *note = nearest_note(kr, exact, nb, sizeof(nb));

	if (id == CPREG_PSCI_VERSION) {
		for (size_t i = 0; i < kr->n_psci; i++)
			if (kr->psci[i] == s)
				return answer(a, CPREG_OUT_OK, CPREG_RULE_PSCI_VERSION, "PSCI %u.%u is one Linux %u.%u takes "
					      "(hypercalls.c:%u)%s", (unsigned)(s >> 16), (unsigned)(s & 0xffff), kr->major,
					      kr->minor, kr->psci_line, note);
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_PSCI_VERSION, "Linux %u.%u does not take PSCI %u.%u from a "
			      "vCPU with PSCI 0.2 (hypercalls.c:%u; a VM that pins its version, %s, may still load)%s",
			      kr->major, kr->minor, (unsigned)(s >> 16), (unsigned)(s & 0xffff), kr->psci_line,
			      cpreg_vm_option_at(CPREG_VMOPT_PSCI_VERSION)->qemu, note);
	}
	if (CPREG_ID_GROUP(id) == CPREG_GROUP_FW_FEAT) {
		for (size_t i = 0; i < kr->n_bmaps; i++) {
			if (kr->bmaps[i].n != lo)
				continue;
			if (s & ~kr->bmaps[i].features)
				return answer(a, CPREG_OUT_FAIL, CPREG_RULE_FW_BITMAP, "bits 0x%" PRIx64 " are services "
					      "Linux %u.%u does not offer (hypercalls.c:%u)%s", s & ~kr->bmaps[i].features,
					      kr->major, kr->minor, kr->bmap_line, note);
			return answer(a, CPREG_OUT_OK, CPREG_RULE_FW_BITMAP, "firmware services Linux %u.%u offers "
				      "(hypercalls.c:%u)%s", kr->major, kr->minor, kr->bmap_line, note);
		}
		/* A bitmap this version's table lacks: what this destination offers now. */
		if (s & ~d)
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_FW_BITMAP, "bits 0x%" PRIx64 " are not offered by the "
				      "destination%s", s & ~d, note);
		return answer(a, CPREG_OUT_OK, CPREG_RULE_FW_BITMAP, "the source's firmware services are a subset of "
			      "the destination's%s", note);
	}
	if (lo == 2) {
		/* WORKAROUND_2: the incoming level mapped (NOT_AVAIL/UNKNOWN, AVAIL/NOT_REQUIRED), then compared. */
		uint64_t level = s & 0xf;

		if ((s & ~(UINT64_C(0xf) | kr->wa2_enabled)) || level > 3 ||
		    ((s & kr->wa2_enabled) && level != kr->wa2_enabled_with))
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_WORKAROUND, "0x%" PRIx64 " is no workaround state "
				      "Linux %u.%u takes (hypercalls.c:%u)%s", s, kr->major, kr->minor, kr->wa2_line, note);
		if (d < kr->wa2_map[level])
			return answer(a, CPREG_OUT_FAIL, CPREG_RULE_WORKAROUND, "level %" PRIu64 " counts as %u, above the "
				      "destination's %" PRIu64 " (hypercalls.c:%u)%s", level, kr->wa2_map[level], d,
				      kr->wa2_line, note);
		return answer(a, CPREG_OUT_OK, CPREG_RULE_WORKAROUND, "level %" PRIu64 " counts as %u, at most the "
			      "destination's %" PRIu64 " (hypercalls.c:%u)%s", level, kr->wa2_map[level], d, kr->wa2_line,
			      note);
	}
	/* WORKAROUND_1 and _3: a level, at most the host's. */
	if (s & ~UINT64_C(0xf))
		return answer(a, CPREG_OUT_FAIL, CPREG_RULE_WORKAROUND, "0x%" PRIx64 " is no workaround level "
			      "(hypercalls.c:%u)%s", s, kr->wa13_line, note);
	if (s <= d)
		return answer(a, CPREG_OUT_OK, CPREG_RULE_WORKAROUND, "workaround level %" PRIu64 " is at most the "
			      "destination's %" PRIu64 " (hypercalls.c:%u)%s", s, d, kr->wa13_line, note);
	answer(a, CPREG_OUT_FAIL, CPREG_RULE_WORKAROUND, "the destination's workaround level %" PRIu64 " is lower "
	       "(hypercalls.c:%u)%s", d, kr->wa13_line, note);
}

static int kernel_judge(const struct cpreg_inventory *dst, const struct cpreg_reg *r, uint64_t id, uint64_t s,
			struct judge *a)
{
	unsigned g = CPREG_ID_GROUP(id), lo = id & 0xffff;
	uint64_t d;

	if (!r)
		r = cpreg_inventory_find(dst, id);
	if (!r)
		return -ENOENT;
	a->ans->outcome = 0;
	a->ans->rule = 0;
	a->ans->why[0] = '\0';
	if (cpreg_id_is_counter(id)) {
		answer(a, CPREG_OUT_OK, CPREG_RULE_COUNTER, "counter: a clock reading, not a host property");
		return 0;
	}
	if (r->state != CPREG_VALUE) {
		answer(a, CPREG_OUT_UNKNOWN, CPREG_RULE_UNREADABLE, "not readable on the destination, so not compared");
		return 0;
	}
	d = r->value;
	if (cpreg_id_is_idreg(id)) {
		if (s == d)
			answer(a, CPREG_OUT_OK, CPREG_RULE_EQUAL, "equal to what the destination shows the VM's vCPU");
		else
			judge_idreg(a, dst, id, s, d);
		return 0;
	}
	if (id == CPREG_PSCI_VERSION || (g == CPREG_GROUP_FW && lo >= 1 && lo <= 3) || g == CPREG_GROUP_FW_FEAT) {
		judge_firmware(a, dst, id, s, d);
		return 0;
	}
	answer(a, CPREG_OUT_OK, CPREG_RULE_ANY, "vCPU state, not a host property: KVM takes the incoming value");
	return 0;
}

int cpreg_kernel_judge(const struct cpreg_inventory *dst, uint64_t id, uint64_t s, struct cpreg_kernel_answer *a)
{
	if (!dst || !a)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	return kernel_judge(dst, NULL, id, s, &(struct judge){ a, true });
}

int cpreg_kernel_judge_outcome(const struct cpreg_inventory *dst, const struct cpreg_reg *dreg, uint64_t id, uint64_t s,
			       struct cpreg_kernel_answer *a)
{
	if (!dst || !a || (dreg && dreg->id != id))
		return -EINVAL;
	return kernel_judge(dst, dreg, id, s, &(struct judge){ a, false });
}

/*
 * Whether a register's value is one a kernel rule above (or QEMU 11.1's
 * tolerance table) decides: the ID space and cache geometry, PSCI, the
 * workaround levels and the firmware bitmaps.  Every other migrated
 * register is vCPU state that any destination takes (kernel_judge's
 * any-value rule, and counters): a VM's passport carries only the values
 * that decide, and a hop keeps them as the destination's KVM does.
 */
bool cpreg_id_value_decided(uint64_t id)
{
	unsigned g = CPREG_ID_GROUP(id), lo = id & 0xffff;

	if (!cpreg_id_migrates(id) || cpreg_id_is_counter(id))
		return false;
	return cpreg_id_is_idreg(id) || id == CPREG_PSCI_VERSION || (g == CPREG_GROUP_FW && lo >= 1 && lo <= 3) ||
	       g == CPREG_GROUP_FW_FEAT || cpreg_builtin_11_1_lists(id);
}
