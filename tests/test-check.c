/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration check on the real fixtures.  Every expectation carries its
 * reason: BRIEF sections 1, 2, 5 and 6 (QEMU's rules, the tolerance table,
 * the kernel's write rules and the drift measured between kernels).
 */
#include "config.h"

#include <pthread.h>

#include <inttypes.h>

#include "cpreg-internal.h"
#include "fixture.h"
#include "tap.h"

#define TCR2_EL1      UINT64_C(0x603000000013c103)
#define PIRE0_EL1     UINT64_C(0x603000000013c512)
#define PIR_EL1       UINT64_C(0x603000000013c513)
#define CNTP_CTL      UINT64_C(0x603000000013df11)
#define CNTP_CVAL     UINT64_C(0x603000000013df12)
#define BMAP_2        UINT64_C(0x6030000000160003)
#define WA1           UINT64_C(0x6030000000140001)
#define WA3           UINT64_C(0x6030000000140003)
#define ID_AA64PFR0   UINT64_C(0x603000000013c020)
#define ID_AA64ISAR0  UINT64_C(0x603000000013c030)

static struct cpreg_verdict *check(const char *src, const char *dst, const char *policy)
{
	struct cpreg_inventory *s = fixture(src), *d = fixture(dst);
	struct cpreg_policy *p = NULL;
	struct cpreg_verdict *v = NULL;

	if (policy && cpreg_policy_new_builtin(policy, &p) < 0)
		exit(99);
	if (cpreg_check(s, d, p, &v) < 0) {
		printf("Bail out! check %s -> %s failed\n", src, dst);
		exit(99);
	}
	cpreg_policy_unref(p);
	cpreg_inventory_unref(s);
	cpreg_inventory_unref(d);
	return v;
}

static enum cpreg_outcome outcome(const struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind k)
{
	const struct cpreg_finding *f = cpreg_verdict_find(v, id, k);

	return f ? f->outcome : 0;
}

static const char *const policies[] = { "qemu-legacy", "qemu-11.1" };

#define TAKE_J(p) ({ char *_p = (p); (p) = NULL; _p; })

/* A thread reading every finding's words and writing the verdict, as the daemon's threads may. */
static void *read_words(void *arg)
{
	struct cpreg_verdict *v = arg;
	char *out = NULL;

	for (size_t i = 0; i < cpreg_verdict_count(v); i++)
		if (!cpreg_verdict_at(v, i)->message || !cpreg_verdict_at(v, i)->name[0])
			return NULL;
	if (cpreg_verdict_to_json(v, &out) < 0)
		return NULL;
	return out;
}

int main(void)
{
	char **names = fixture_names();
	struct cpreg_verdict *v;
	const struct cpreg_finding *f;

	/* Every fixture to itself: nothing differs, under both policies. */
	for (char **n = names; *n; n++)
		for (int p = 0; p < 2; p++) {
			v = check(*n, *n, policies[p]);
			tap_ok(cpreg_verdict_result(v) == CPREG_COMPATIBLE && cpreg_verdict_count(v) == 0,
			       "%s -> itself is compatible under %s", *n, policies[p]);
			cpreg_verdict_unref(v);
		}

	/* 6.12 -> 7.2: 7.2 hides TCR2/PIRE0/PIR (BRIEF 6); QEMU 11.1 tolerates them (BRIEF 2). */
	for (const char *const *cpu = (const char *const[]){ "neoverse-n1", "cortex-a57", NULL }; *cpu; cpu++) {
		char s[64], d[64];

		snprintf(s, sizeof(s), "%s_linux-6.12", *cpu);
		snprintf(d, sizeof(d), "%s_linux-7.2", *cpu);
		v = check(s, d, "qemu-11.1");
		tap_ok(outcome(v, TCR2_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_TOLERATED &&
		       outcome(v, PIRE0_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_TOLERATED &&
		       outcome(v, PIR_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_TOLERATED,
		       "%s 6.12 -> 7.2, qemu-11.1: TCR2_EL1, PIRE0_EL1, PIR_EL1 tolerated", *cpu);
		f = cpreg_verdict_find(v, TCR2_EL1, CPREG_FIND_ONLY_IN_SOURCE);
		tap_eq_str(f ? f->tolerance : NULL, "NotOnBothEnds", "  by NotOnBothEnds");
		tap_ok(outcome(v, BMAP_2, CPREG_FIND_ONLY_IN_DESTINATION) == CPREG_OUT_OK,
		       "  VENDOR_HYP_BMAP_2 only on the destination keeps its reset value");
		tap_ok(outcome(v, CPREG_PSCI_VERSION, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_OK,
		       "  PSCI 1.1 -> a kernel that implements 1.3 is fine");
		tap_ok(cpreg_verdict_result(v) == CPREG_COMPATIBLE, "  forward 6.12 -> 7.2 is compatible under 11.1 (%s)",
		       cpreg_result_name(cpreg_verdict_result(v)));
		cpreg_verdict_unref(v);

		v = check(s, d, "qemu-legacy");
		tap_ok(outcome(v, TCR2_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL &&
		       outcome(v, PIRE0_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL &&
		       outcome(v, PIR_EL1, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL,
		       "%s 6.12 -> 7.2, qemu-legacy: TCR2_EL1, PIRE0_EL1, PIR_EL1 fail", *cpu);
		/* 258 migrated on 6.12, 256 on 7.2: the legacy count check fails first. */
		f = cpreg_verdict_find(v, 0, CPREG_FIND_COUNT_EXCEEDED);
		tap_ok(f && f->outcome == CPREG_OUT_FAIL && strstr(f->message, "expecting positive value <="),
		       "  and the count check fails, quoting QEMU");
		tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE, "  incompatible under qemu-legacy");
		cpreg_verdict_unref(v);

		/* 7.2 -> 6.12: BMAP_2 is 0 so OnlySrcTestValue passes; PSCI 1.3 is refused (BRIEF 5). */
		v = check(d, s, "qemu-11.1");
		f = cpreg_verdict_find(v, BMAP_2, CPREG_FIND_ONLY_IN_SOURCE);
		tap_ok(f && f->outcome == CPREG_OUT_TOLERATED && strcmp(f->tolerance, "OnlySrcTestValue") == 0,
		       "%s 7.2 -> 6.12: VENDOR_HYP_BMAP_2 tolerated (value 0, OnlySrcTestValue)", *cpu);
		f = cpreg_verdict_find(v, CPREG_PSCI_VERSION, CPREG_FIND_VALUE_DIFFERS);
		tap_ok(f && f->outcome == CPREG_OUT_FAIL &&
		       strstr(f->message, "Could not set register fw reg 0 to 10003 (is 10001)"),
		       "  PSCI_VERSION fails with QEMU's own words (measured: \"fw reg 0 to 10003 (is 10001)\")");
		tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE, "  backward 7.2 -> 6.12 is incompatible");
		cpreg_verdict_unref(v);

		/* Legacy: BMAP_2 has the highest id of all, so QEMU < 11.1 silently drops it (BRIEF 1). */
		v = check(d, s, "qemu-legacy");
		f = cpreg_verdict_find(v, BMAP_2, CPREG_FIND_ONLY_IN_SOURCE);
		tap_ok(f && f->outcome == CPREG_OUT_TOLERATED && strcmp(f->tolerance, "legacy-dropped-tail") == 0,
		       "%s 7.2 -> 6.12, qemu-legacy: VENDOR_HYP_BMAP_2 dropped as the tail, reported", *cpu);
		tap_ok(!cpreg_verdict_find(v, 0, CPREG_FIND_COUNT_EXCEEDED), "  256 <= 258: no count failure");
		cpreg_verdict_unref(v);
	}

	/* 6.12 -> 6.1: 6.12 adds the physical timer and 11 CCSIDRs (BRIEF 6). */
	for (int p = 0; p < 2; p++) {
		v = check("neoverse-n1_linux-6.12", "neoverse-n1_linux-6.1", policies[p]);
		tap_ok(outcome(v, CNTP_CTL, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL &&
		       outcome(v, CNTP_CVAL, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL &&
		       outcome(v, CPREG_PTIMER_CNT, CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL,
		       "6.12 -> 6.1, %s: the physical timer ids fail (no tolerance covers them)", policies[p]);
		tap_ok(outcome(v, UINT64_C(0x602000000011000d), CPREG_FIND_ONLY_IN_SOURCE) == CPREG_OUT_FAIL,
		       "  CCSIDR_EL1[13], unknown on 6.1, fails");
		f = cpreg_verdict_find(v, 0, CPREG_FIND_COUNT_EXCEEDED);
		if (p == 0)
			tap_ok(f && f->outcome == CPREG_OUT_FAIL && f->source_value == 258 && f->destination_value == 241 &&
			       strcmp(f->name, "cpreg_vmstate_array_len") == 0 &&
			       strcmp(f->message, "Invalid value 258 expecting positive value <= 241 / Failed to load "
				      "cpu:cpreg_vmstate_array_len") == 0,
			       "  qemu-legacy: count-exceeded, 258 > 241 (333 and 316 listed, 75 core each), in QEMU's words "
			       "(BRIEF section 1, step 1)");
		else
			tap_ok(!f, "  qemu-11.1 has no count check");
		tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE, "  incompatible");
		cpreg_verdict_unref(v);
	}

	/* Different CPUs on 6.1: no writable ID registers there, so every difference fails (BRIEF 5). */
	v = check("neoverse-n1_linux-6.1", "cortex-a57_linux-6.1", "qemu-11.1");
	tap_ok(outcome(v, CPREG_MIDR_EL1, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL, "n1 -> a57 on 6.1: MIDR_EL1 fails");
	tap_ok(outcome(v, ID_AA64PFR0, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL &&
	       outcome(v, ID_AA64ISAR0, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL,
	       "  ID_AA64PFR0_EL1 and ID_AA64ISAR0_EL1 fail");
	f = cpreg_verdict_find(v, ID_AA64ISAR0, CPREG_FIND_VALUE_DIFFERS);
	tap_ok(f && strstr(f->message, "Could not set register op0:3 op1:0 crn:0 crm:6 op2:0 to 100010211120 (is 11120)"),
	       "  with QEMU's message naming the encoding");
	{
		size_t unknown = 0;

		for (size_t i = 0; i < cpreg_verdict_count(v); i++)
			unknown += cpreg_verdict_at(v, i)->outcome == CPREG_OUT_UNKNOWN;
		tap_ok(unknown == 0, "  nothing is left to the trial on 6.1 (%zu unknown)", unknown);
	}
	cpreg_verdict_unref(v);

	/* The same pair on 6.12 (BRIEF 5's example): MIDR and WORKAROUND_1/3 fail; writable fields undecided. */
	v = check("neoverse-n1_linux-6.12", "cortex-a57_linux-6.12", "qemu-11.1");
	tap_ok(outcome(v, CPREG_MIDR_EL1, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL,
	       "n1 -> a57 on 6.12: MIDR_EL1 fails (QEMU does not enable writable MIDR)");
	tap_ok(outcome(v, WA1, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL &&
	       outcome(v, WA3, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL, "  SMCCC_ARCH_WORKAROUND_1 and _3 fail");
	f = cpreg_verdict_find(v, ID_AA64ISAR0, CPREG_FIND_VALUE_DIFFERS);
	tap_ok(f && f->outcome == CPREG_OUT_FAIL && strstr(f->message, "Atomic 2->0 (FEAT_LSE)"),
	       "  ID_AA64ISAR0_EL1: only writable bits differ, but Atomic 2 > 0 is unsafe (lower is safe), and named");
	cpreg_verdict_unref(v);
	/* The other way round the ID values are lower than the host's: safe on 6.7+, invariant on 6.1. */
	v = check("cortex-a57_linux-6.12", "neoverse-n1_linux-6.12", "qemu-11.1");
	f = cpreg_verdict_find(v, ID_AA64ISAR0, CPREG_FIND_VALUE_DIFFERS);
	tap_ok(f && f->outcome == CPREG_OUT_OK && strstr(f->message, "safe"),
	       "a57 -> n1 on 6.12: ID_AA64ISAR0_EL1 lower than the destination's: safe by the 6.7+ rules");
	cpreg_verdict_unref(v);
	v = check("cortex-a57_linux-6.1", "neoverse-n1_linux-6.1", "qemu-11.1");
	tap_ok(outcome(v, ID_AA64ISAR0, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL,
	       "a57 -> n1 on 6.1: the same lower value fails (no writable ID registers before 6.7)");
	cpreg_verdict_unref(v);
	v = check("neoverse-n1_linux-6.12", "cortex-a57_linux-6.12", "qemu-11.1");
	/* AArch32 ID fields are named (Arm ARM): ID_ISAR5_EL1[27:24] is RDM, FEAT_RDM on n1, not on a57. */
	f = cpreg_verdict_find(v, UINT64_C(0x603000000013c015), CPREG_FIND_VALUE_DIFFERS);
	tap_ok(f && f->outcome == CPREG_OUT_FAIL && strstr(f->message, "RDM 1->0"),
	       "  ID_ISAR5_EL1 fails and names its field: %s", f ? f->message : "(none)");
	tap_ok(outcome(v, ID_AA64PFR0, CPREG_FIND_VALUE_DIFFERS) == CPREG_OUT_FAIL,
	       "  ID_AA64PFR0_EL1 differs outside its writable mask: fails");
	tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE, "  incompatible");
	cpreg_verdict_unref(v);

	/*
	 * The kernel rules real migrations showed (tests/vm/migrate-expected.txt,
	 * issue 14).  Same CPU, 6.1 -> 6.12: the 6.12 kernel fabricates CCSIDRs
	 * and takes any of line size at least the host's minimum; real QEMU
	 * loads the VM, so nothing is left undecided.
	 */
	for (const char *const *cpu = (const char *const[]){ "neoverse-n1", "cortex-a72", NULL }; *cpu; cpu++) {
		char s[64], d[64];
		size_t unknown = 0, ccsidr_ok = 0;

		snprintf(s, sizeof(s), "%s_linux-6.1", *cpu);
		snprintf(d, sizeof(d), "%s_linux-6.12", *cpu);
		v = check(s, d, "qemu-legacy");
		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			f = cpreg_verdict_at(v, i);
			unknown += f->outcome == CPREG_OUT_UNKNOWN;
			ccsidr_ok += ((f->id >> 16) & 0xfff) == CPREG_GROUP_DEMUX && f->outcome == CPREG_OUT_OK;
		}
		tap_ok(cpreg_verdict_result(v) == CPREG_COMPATIBLE && unknown == 0 && ccsidr_ok > 0,
		       "%s 6.1 -> 6.12: compatible, %zu differing CCSIDRs accepted, nothing undecided", *cpu, ccsidr_ok);
		cpreg_verdict_unref(v);
	}
	/* Onto a64fx (256-byte lines, CTR_EL0.DminLine 6) every 64-byte-line CCSIDR is refused. */
	v = check("neoverse-n1_linux-6.12", "a64fx_linux-6.12", "qemu-11.1");
	{
		size_t ccsidr = 0, refused = 0;

		for (size_t i = 0; i < cpreg_verdict_count(v); i++) {
			f = cpreg_verdict_at(v, i);
			if (((f->id >> 16) & 0xfff) != CPREG_GROUP_DEMUX || f->kind != CPREG_FIND_VALUE_DIFFERS)
				continue;
			ccsidr++;
			refused += f->outcome == CPREG_OUT_FAIL && strstr(f->message, "below the destination's minimum");
		}
		tap_ok(ccsidr == 14 && refused == 14, "n1 -> a64fx on 6.12: all %zu CCSIDRs refused (%zu), line size",
		       ccsidr, refused);
	}
	cpreg_verdict_unref(v);
	/* AArch32 ID registers are write-ignored on a host without AArch32 EL0, on 6.1 too. */
	v = check("neoverse-n1_linux-6.1", "a64fx_linux-6.1", "qemu-legacy");
	f = cpreg_verdict_find(v, UINT64_C(0x603000000013c008), CPREG_FIND_VALUE_DIFFERS);  /* ID_PFR0_EL1 */
	tap_ok(f && f->outcome == CPREG_OUT_OK && strstr(f->message, "no AArch32 EL0"),
	       "n1 -> a64fx on 6.1: ID_PFR0_EL1 differs but is write-ignored without AArch32 EL0");
	cpreg_verdict_unref(v);
	/*
	 * The destination QEMU builds "-cpu host" with its own features: a
	 * source without pointer auth fails on a max host on ID_AA64ISAR1_EL1
	 * (APA/GPA not writable); the VM with pauth=off on both ends does not.
	 */
	{
		struct cpreg_inventory *s = fixture("neoverse-n1_linux-6.12"), *d = fixture("max_linux-6.12");
		struct cpreg_vm_options vm = { .disable = 1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC |
							 1u << CPREG_FEAT_SVE };
		const uint64_t isar1 = UINT64_C(0x603000000013c031);

		cpreg_check(s, d, NULL, &v);
		f = cpreg_verdict_find(v, isar1, CPREG_FIND_VALUE_DIFFERS);
		tap_ok(f && f->outcome == CPREG_OUT_FAIL && strstr(f->message, "outside the writable mask"),
		       "n1 -> max on 6.12: ID_AA64ISAR1_EL1 refused (the destination's vCPU has pointer auth)");
		cpreg_verdict_unref(v);
		cpreg_check_vm(s, d, NULL, &vm, &v);
		f = cpreg_verdict_find(v, isar1, CPREG_FIND_VALUE_DIFFERS);
		tap_ok(!f || f->outcome != CPREG_OUT_FAIL, "  with pauth=off,sve=off on both ends: ID_AA64ISAR1_EL1 no longer fails");
		cpreg_verdict_unref(v);
		/* The other way, the source's features the destination cannot give. */
		cpreg_check(d, s, NULL, &v);
		tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE &&
		       cpreg_verdict_find(v, 0, CPREG_FIND_VCPU_FEATURE) != NULL,
		       "max -> n1: the source's SVE and pointer auth are vcpu-feature failures");
		cpreg_verdict_unref(v);
		cpreg_inventory_unref(s);
		cpreg_inventory_unref(d);
	}

	/* Policy by the destination's QEMU version, and the JSON verdict. */
	{
		struct cpreg_inventory *s = fixture("neoverse-n1_linux-6.12"), *d = fixture("neoverse-n1_linux-7.2");
		char *json = NULL;

		cpreg_inventory_set_text(d, CPREG_TEXT_QEMU_VERSION, "11.1.0");
		cpreg_check(s, d, NULL, &v);
		tap_eq_str(cpreg_verdict_policy(v), "qemu-11.1", "destination QEMU 11.1.0 selects qemu-11.1");
		tap_ok(cpreg_verdict_result(v) == CPREG_COMPATIBLE, "  and the pair is compatible");
		tap_ok(cpreg_verdict_to_json(v, &json) == 0 && strstr(json, "\"schema\": \"cpreg-verdict/1\"") &&
		       strstr(json, "\"result\": \"compatible\"") &&
		       strstr(json, "{\"id\": \"0x603000000013c103\", \"name\": \"TCR2_EL1\", \"kind\": \"only-in-source\", "
				    "\"outcome\": \"tolerated\", \"tolerance\": \"NotOnBothEnds\""),
		       "  the verdict's JSON names the tolerated register");
		free(json);
		cpreg_verdict_unref(v);
		cpreg_inventory_set_text(d, CPREG_TEXT_QEMU_VERSION, "10.0.2");
		cpreg_check(s, d, NULL, &v);
		tap_eq_str(cpreg_verdict_policy(v), "qemu-legacy", "destination QEMU 10.0.2 selects qemu-legacy");
		cpreg_verdict_unref(v);
		cpreg_inventory_set_text(d, CPREG_TEXT_QEMU_VERSION, NULL);
		cpreg_check(s, d, NULL, &v);
		tap_ok(strcmp(cpreg_verdict_policy(v), "qemu-legacy") == 0 &&
		       strstr(cpreg_verdict_policy_reason(v), "unknown"),
		       "unknown destination QEMU: qemu-legacy, and the reason says so");
		cpreg_verdict_unref(v);
		cpreg_inventory_unref(s);
		cpreg_inventory_unref(d);
	}
	{
		/* The VM options as written after QEMU's -cpu, both ways (QEMU's property names). */
		struct cpreg_vm_options vm = { 0 }, back = { 0 };
		struct cpreg_error err = { 0 };
		char q[128];

		tap_ok(cpreg_vm_options_parse("host,pmu=off,pauth=off,sve-max-vq=4,kvm-psci-version=1.1", &vm, &err) == 0 &&
		       vm.disable == (1u << CPREG_FEAT_PMU_V3 | 1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC) &&
		       vm.sve_max_vq == 4 && vm.psci_version == 0x10001, "vm options: -cpu host,pmu=off,pauth=off,... parse");
		cpreg_vm_options_qemu(&vm, q, sizeof(q));
		tap_ok(cpreg_vm_options_parse(q, &back, &err) == 0 && memcmp(&vm, &back, sizeof(vm)) == 0,
		       "  and what cpreg_vm_options_qemu writes (%s) parses back to the same options", q);
		tap_ok(cpreg_vm_options_parse("", &back, &err) == 0 && !back.disable && !back.psci_version,
		       "  the empty string is no options");
		tap_ok(cpreg_vm_options_parse("pmu=of", &back, &err) == -EINVAL && strstr(err.message, "pmu"),
		       "  a bad value is refused naming the option: %s", err.message);
		tap_ok(cpreg_vm_options_parse("sve=off,frobnicate=1", &back, &err) == -EINVAL && strstr(err.message, "frobnicate"),
		       "  an unknown option is refused naming it");
		tap_ok(cpreg_vm_options_parse("kvm-psci-version=1", &back, &err) == -EINVAL &&
		       cpreg_vm_options_parse("sve-max-vq=0", &back, &err) == -EINVAL &&
		       cpreg_vm_options_parse("pmu=off,,sve=off", &back, &err) == -EINVAL,
		       "  malformed versions, lengths and empty items are refused");
		/* QEMU's bound (target/arm/cpu64.c: ARM_MAX_VQ 16, vector lengths up to 2048 bits). */
		tap_ok(cpreg_vm_options_parse("sve-max-vq=16", &back, &err) == 0 && back.sve_max_vq == 16 &&
		       cpreg_vm_options_parse("sve-max-vq=17", &back, &err) == -EINVAL && strstr(err.message, "1 to 16"),
		       "  sve-max-vq takes QEMU's 1 to 16, no more: %s", err.message);
		/* One table, every spelling: the query parameters cpregd reads say the same options. */
		tap_ok(cpreg_vm_options_query(&vm, q, sizeof(q)) > 0 &&
		       strcmp(q, "pmu=off&pauth=off&sve_max_vq=4&psci=1.1") == 0, "  as cpregd's query parameters: %s", q);
		{
			struct cpreg_vm_options fromq = { 0 };
			char *save = NULL, *copy = strdup(q);
			int bad = 0;

			for (char *kv = strtok_r(copy, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
				char *eq = strchr(kv, '=');

				*eq = '\0';
				bad |= cpreg_vm_option_set(&fromq, cpreg_vm_option_by_key(kv), eq + 1, &err) < 0;
			}
			free(copy);
			tap_ok(!bad && memcmp(&fromq, &vm, sizeof(vm)) == 0, "  which read back key by key give the same options");
		}
		{
			uint32_t bits = 0;

			tap_ok(cpreg_vm_options_parse_disable("pmu=off,pauth=off", &bits, &err) == 0 &&
			       bits == (1u << CPREG_FEAT_PMU_V3 | 1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC),
			       "  --disable pmu=off,pauth=off: the PMU and both pointer-auth features (QEMU's pauth turns both)");
			tap_ok(cpreg_vm_options_parse_disable("mte=on", &bits, &err) == -EINVAL &&
			       cpreg_vm_options_parse_disable("kvm-psci-version=1.1", &bits, &err) == -EINVAL,
			       "  --disable refuses unknown options and options that are not vCPU features");
		}
		{
			char *xml = NULL;

			tap_ok(cpreg_vm_options_libvirt(&vm, NULL, &xml) == 0 && strstr(xml, "<pmu state='off'/>") &&
			       strstr(xml, "host-arm-cpu.pauth=off") && strstr(xml, "host-arm-cpu.kvm-psci-version=1.1"),
			       "  as libvirt domain XML: <pmu>, and pauth and the PSCI version through <qemu:commandline>");
			free(xml);
		}
	}
	{
		/*
		 * The typed verdict read back: for every ordered pair of fixtures
		 * under both policies, reading what the library wrote and writing it
		 * again gives the same document, and the typed result is the same.
		 */
		size_t pairs = 0, same = 0;
		char *first = NULL;

		for (char **a = names; *a; a++)
			for (char **b = names; *b; b++)
				for (int p = 0; p < 2; p++) {
					struct cpreg_verdict *back = NULL;
					struct cpreg_error err = { 0 };
					char *j1 = NULL, *j2 = NULL;

					v = check(*a, *b, policies[p]);
					pairs++;
					if (cpreg_verdict_to_json(v, &j1) == 0 &&
					    cpreg_verdict_from_json(j1, strlen(j1), &back, &err) == 0 &&
					    cpreg_verdict_to_json(back, &j2) == 0 && strcmp(j1, j2) == 0 &&
					    cpreg_verdict_result(back) == cpreg_verdict_result(v) &&
					    cpreg_verdict_count(back) == cpreg_verdict_count(v))
						same++;
					else
						tap_diag("%s -> %s (%s): %s: %s", *a, *b, policies[p], err.where, err.message);
					/* Keep one with findings of each outcome for the error cases below. */
					if (!first && cpreg_verdict_result(v) == CPREG_INCOMPATIBLE && cpreg_verdict_count(v) > 3)
						first = TAKE_J(j1);
					free(j1);
					free(j2);
					cpreg_verdict_unref(back);
					cpreg_verdict_unref(v);
				}
		tap_ok(pairs > 0 && same == pairs, "cpreg_verdict_from_json reads back all %zu verdicts (every fixture pair, "
		       "both policies) into what writes the same document (%zu did)", pairs, same);
		/* A verdict whose parts disagree, or that names what no verdict has, is refused naming where. */
		static const struct { const char *from, *to, *where; } bad[] = {
			{ "\"result\": \"incompatible\"", "\"result\": \"compatible\"", "result" },
			{ "\"compatible\": false", "\"compatible\": true", "compatible" },
			{ "\"counts\": {\"fail\": ", "\"counts\": {\"fail\": 9", "counts.fail" },
			{ "\"kind\": \"", "\"kind\": \"x", "findings[0].kind" },
			{ "\"outcome\": \"", "\"outcome\": \"x", "findings[0].outcome" },
			{ "\"schema\": \"cpreg-verdict/1\"", "\"schema\": \"cpreg-verdict/2\"", "schema" },
			{ "\"findings\": [", "\"findings\": [7, ", "findings[0]" },
			{ "\"source\": {\"digest\"", "\"source\": {\"digestx\"", "source.digest" },
		};
		for (size_t i = 0; first && i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *at = strstr(first, bad[i].from);
			struct cpreg_verdict *back = NULL;
			struct cpreg_error err = { 0 };
			char *t = NULL;

			if (at && asprintf(&t, "%.*s%s%s", (int)(at - first), first, bad[i].to, at + strlen(bad[i].from)) > 0)
				tap_ok(cpreg_verdict_from_json(t, strlen(t), &back, &err) < 0 && strcmp(err.where, bad[i].where) == 0,
				       "  a verdict with %s changed is refused at %s (%s: %s)", bad[i].from, bad[i].where,
				       err.where, err.message);
			else
				tap_ok(0, "  the test's verdict has %s", bad[i].from);
			free(t);
			cpreg_verdict_unref(back);
		}
		tap_ok(first != NULL, "  (an incompatible verdict with findings was found for the cases above)");
		free(first);
	}
	/*
	 * Findings are worded when first read, from the destination the check
	 * keeps: the words do not depend on when or by how many threads they
	 * are read, nor on the caller still holding the destination.
	 */
	{
		struct cpreg_inventory *src = fixture("max_linux-7.2"), *dst = fixture("a64fx_linux-6.1");
		struct cpreg_vm_options vm = { .disable = 1u << CPREG_FEAT_SVE };
		struct cpreg_verdict *held = NULL, *lazy = NULL;
		char *want = NULL, *got[4] = { NULL };
		pthread_t t[4];
		bool same = true;

		cpreg_check_vm(src, dst, NULL, &vm, &held);
		cpreg_verdict_to_json(held, &want);
		cpreg_check_vm(src, dst, NULL, &vm, &lazy);
		cpreg_inventory_unref(dst);
		for (int k = 0; k < 4; k++)
			pthread_create(&t[k], NULL, read_words, lazy);
		for (int k = 0; k < 4; k++) {
			pthread_join(t[k], (void **)&got[k]);
			same = same && got[k] && want && strcmp(got[k], want) == 0;
			free(got[k]);
		}
		tap_ok(cpreg_verdict_count(lazy) > 10 && same,
		       "a verdict's %zu findings read the same from four threads at once, after the destination was let go",
		       cpreg_verdict_count(lazy));
		free(want);
		cpreg_verdict_unref(held);
		cpreg_verdict_unref(lazy);
		cpreg_inventory_unref(src);
	}
	/* A finding's name read alone (what the fleet answers list) is the name its full reading gives. */
	{
		struct cpreg_inventory *src = fixture("max_linux-7.2"), *dst = fixture("a64fx_linux-6.1");
		struct cpreg_verdict *alone_v = NULL, *whole_v = NULL;
		size_t same = 0, n;

		cpreg_check(src, dst, NULL, &alone_v);
		cpreg_check(src, dst, NULL, &whole_v);
		n = cpreg_verdict_count(alone_v);
		for (size_t i = 0; i < n; i++) {
			const char *alone = cpreg_verdict_name_at(alone_v, i);
			const struct cpreg_finding *whole = cpreg_verdict_at(whole_v, i), *after = cpreg_verdict_at(alone_v, i);

			same += alone && whole && after && strcmp(alone, whole->name) == 0 && alone == after->name &&
				after->message && strcmp(after->message, whole->message) == 0;
		}
		tap_ok(n > 10 && same == n && cpreg_verdict_name_at(alone_v, n) == NULL,
		       "each of %zu findings' names read alone equals its name read whole, and its message is worded "
		       "as if the name had not been read first (%zu did)", n, same);
		cpreg_verdict_unref(alone_v);
		cpreg_verdict_unref(whole_v);
		cpreg_inventory_unref(src);
		cpreg_inventory_unref(dst);
	}
	fixture_names_free(names);
	/*
	 * The firmware rules from the kernels' own source (lib/kernel-rules.c,
	 * issue 25): kvm_arm_set_fw_reg() in arch/arm64/kvm/hypercalls.c of
	 * 6.1, 6.12 and 7.2 maps an incoming WORKAROUND_2 level, NOT_AVAIL(0)
	 * and UNKNOWN(1) to NOT_AVAIL, AVAIL(2) and NOT_REQUIRED(3) to
	 * NOT_REQUIRED, then refuses it above the host's; the ENABLED bit (0x10)
	 * goes with AVAIL only.  The expectations are that code's.
	 */
	{
		static const struct { uint64_t src, dst; enum cpreg_outcome want; const char *why; } wa2[] = {
			{ 1, 0, CPREG_OUT_OK, "UNKNOWN onto NOT_AVAIL: taken (counts as NOT_AVAIL)" },
			{ 3, 0, CPREG_OUT_FAIL, "NOT_REQUIRED onto NOT_AVAIL: refused" },
			{ 2, 0, CPREG_OUT_FAIL, "AVAIL onto NOT_AVAIL: refused (counts as NOT_REQUIRED)" },
			{ 0x12, 3, CPREG_OUT_OK, "AVAIL|ENABLED onto NOT_REQUIRED: taken" },
			{ 0x11, 3, CPREG_OUT_FAIL, "UNKNOWN|ENABLED: refused (ENABLED goes with AVAIL only)" },
			{ 0x20, 3, CPREG_OUT_FAIL, "a bit that is no level: refused" },
		};
		const uint64_t WA2 = UINT64_C(0x6030000000140002);

		for (size_t i = 0; i < sizeof(wa2) / sizeof(wa2[0]); i++) {
			struct cpreg_inventory *s = fixture("neoverse-n1_linux-6.12"), *d = fixture("neoverse-n1_linux-6.12");
			const struct cpreg_finding *fd;

			cpreg_inventory_set_value(s, WA2, wa2[i].src);
			cpreg_inventory_set_value(d, WA2, wa2[i].dst);
			cpreg_check(s, d, NULL, &v);
			fd = cpreg_verdict_find(v, WA2, CPREG_FIND_VALUE_DIFFERS);
			tap_ok(fd && fd->outcome == wa2[i].want && strstr(fd->message, "hypercalls.c:"),
			       "WORKAROUND_2 0x%" PRIx64 " -> 0x%" PRIx64 ": %s (%s)", wa2[i].src, wa2[i].dst, wa2[i].why,
			       fd ? fd->message : "no finding");
			cpreg_verdict_unref(v);
			cpreg_inventory_unref(s);
			cpreg_inventory_unref(d);
		}
	}
	/*
	 * The set_id_*() handlers from the kernels' own source (sys_regs.c,
	 * issue 25), each case from the line the table names:
	 * set_id_aa64pfr0_el1() drops MPAM when it equals the host's own (6.12
	 * and 7.2 hide it from the VM; 6.1 showed it, and its ID registers are
	 * invariant); 7.2's set_id_aa64mmfr2_el1() does the same for NV;
	 * set_id_aa64dfr0_el1() refuses DebugVer below 6 (IMP) and writes an
	 * IMP_DEF PMUVer (0xf) as 0; 6.1's set_id_aa64pfr0_el1() takes CSV2 at
	 * most the host's own (1 only when unaffected) and nothing above 1.
	 */
	{
		static const struct {
			const char *dst; uint64_t id, set, clear; enum cpreg_outcome want; const char *rule, *why;
		} sh[] = {
			{ "neoverse-n1_linux-6.12", UINT64_C(0x603000000013c020), UINT64_C(1) << 40, 0, CPREG_OUT_OK,
			  "set-handler", "ID_AA64PFR0_EL1.MPAM 1 onto 6.12: dropped as the host's own (sys_regs.c)" },
			{ "neoverse-n1_linux-7.2", UINT64_C(0x603000000013c020), UINT64_C(1) << 40, 0, CPREG_OUT_OK,
			  "set-handler", "ID_AA64PFR0_EL1.MPAM 1 onto 7.2: dropped" },
			{ "neoverse-n1_linux-6.1", UINT64_C(0x603000000013c020), UINT64_C(1) << 40, 0, CPREG_OUT_FAIL,
			  "invariant-before-6.7", "ID_AA64PFR0_EL1.MPAM 1 onto 6.1: invariant" },
			{ "neoverse-n1_linux-7.2", UINT64_C(0x603000000013c03a), UINT64_C(1) << 24, 0, CPREG_OUT_OK,
			  "set-handler", "ID_AA64MMFR2_EL1.NV 1 onto 7.2: dropped" },
			{ "neoverse-n1_linux-6.12", UINT64_C(0x603000000013c028), 0, 0xf, CPREG_OUT_FAIL,
			  "set-handler", "ID_AA64DFR0_EL1.DebugVer 0 onto 6.12: below IMP" },
			{ "neoverse-n1_linux-6.1", UINT64_C(0x603000000013c020), 0, UINT64_C(0xf) << 56, CPREG_OUT_OK,
			  "set-handler", "ID_AA64PFR0_EL1.CSV2 0 onto an unaffected 6.1 host: taken" },
			{ "cortex-a57_linux-6.1", UINT64_C(0x603000000013c020), UINT64_C(1) << 56, 0, CPREG_OUT_FAIL,
			  "set-handler", "ID_AA64PFR0_EL1.CSV2 1 onto an affected 6.1 host: refused" },
		};

		for (size_t i = 0; i < sizeof(sh) / sizeof(sh[0]); i++) {
			struct cpreg_inventory *d = fixture(sh[i].dst);
			const struct cpreg_reg *r = cpreg_inventory_find(d, sh[i].id);
			struct cpreg_kernel_answer a = { 0 };
			uint64_t val = r ? (r->value | sh[i].set) & ~sh[i].clear : 0;
			int e = r ? cpreg_kernel_judge(d, sh[i].id, val, &a) : -ENOENT;

			tap_ok(e == 0 && val != r->value && a.outcome == sh[i].want &&
			       strcmp(cpreg_kernel_rule_name(a.rule), sh[i].rule) == 0 &&
			       (a.rule != CPREG_RULE_SET_HANDLER || strstr(a.why, "sys_regs.c:")),
			       "%s (%s: %s)", sh[i].why, cpreg_kernel_rule_name(a.rule), a.why);
			cpreg_inventory_unref(d);
		}
		/* An IMP_DEF PMUVer is written as none: from 6.12 the same as PMUVer 0 (the table's "replaced"). */
		{
			struct cpreg_inventory *d = fixture("neoverse-n1_linux-6.12");
			const struct cpreg_reg *r = cpreg_inventory_find(d, UINT64_C(0x603000000013c028));
			struct cpreg_kernel_answer impdef = { 0 }, none = { 0 };

			cpreg_kernel_judge(d, r->id, r->value | (UINT64_C(0xf) << 8), &impdef);
			cpreg_kernel_judge(d, r->id, r->value & ~(UINT64_C(0xf) << 8), &none);
			tap_ok(impdef.outcome == none.outcome && strstr(impdef.why, "replaced") && !strstr(none.why, "replaced"),
			       "ID_AA64DFR0_EL1.PMUVer IMP_DEF onto 6.12 is judged as PMUVer 0 (%s / %s)", impdef.why, none.why);
			cpreg_inventory_unref(d);
		}
	}
	/* A destination kernel the table lacks: the nearest older one's rules, and the words say the trial decides. */
	{
		static const struct { const char *kernel; const char *want; } kv[] = {
			{ "6.12.117+deb13-cloud-arm64", "Linux 6.12 does not take PSCI 1.3" },
			{ "6.13.2", "nearest the model has" },
			{ "5.15.0-91-generic", "nearest the model has" },
		};

		for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
			struct cpreg_inventory *s = fixture("neoverse-n1_linux-7.2"), *d = fixture("neoverse-n1_linux-6.12");
			const struct cpreg_finding *fd;
			bool exact = false;
			const struct cpreg_krules *kr;

			cpreg_inventory_set_text(d, CPREG_TEXT_KERNEL, kv[i].kernel);
			kr = cpreg_krules_for(d, &exact);
			cpreg_check(s, d, NULL, &v);
			fd = cpreg_verdict_find(v, CPREG_PSCI_VERSION, CPREG_FIND_VALUE_DIFFERS);
			tap_ok(fd && fd->outcome == CPREG_OUT_FAIL && strstr(fd->message, kv[i].want) &&
			       exact == (i == 0) && kr->major == 6u && kr->minor == (i == 2 ? 1u : 12u) &&
			       cpreg_verdict_rules_nearest(v, NULL, NULL) == !exact && (exact || cpreg_verdict_trial_advised(v) > 0),
			       "destination kernel %s: the rules of Linux %u.%u%s (%s)", kv[i].kernel, kr->major, kr->minor,
			       exact ? "" : ", said to be the nearest, and the verdict advises the trial",
			       fd ? fd->message : "no finding");
			cpreg_verdict_unref(v);
			cpreg_inventory_unref(s);
			cpreg_inventory_unref(d);
		}
	}
	return tap_done();
}
