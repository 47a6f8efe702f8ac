/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcpreg: arm64 KVM cpreg inventories, their JSON form, register names,
 * QEMU's cpreg migration tolerances and the migration check.
 *
 * The only header a user of the library includes.  Objects are opaque and
 * reference counted (_ref/_unref; unref takes NULL and returns NULL).
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; out-parameters named ret_* are written only on success.  Where a
 * failure needs more than an errno, the caller passes a struct cpreg_error
 * that the library fills with the place and a message.  The library never
 * prints and never exits.
 */
#ifndef CPREG_H
#define CPREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CPREG_EXPORT __attribute__((visibility("default")))

/* What went wrong and where: a JSON path, "file:path", or a probe step. */
struct cpreg_error {
	int code;            /* negative errno */
	char where[128];
	char message[384];
};

/* ---- register ids (Linux UAPI, arch/arm64/include/uapi/asm/kvm.h) ---- */

#define CPREG_ARM64            UINT64_C(0x6000000000000000)
#define CPREG_GROUP_CORE       0x0010
#define CPREG_GROUP_DEMUX      0x0011
#define CPREG_GROUP_SYSREG     0x0013
#define CPREG_GROUP_FW         0x0014
#define CPREG_GROUP_SVE        0x0015
#define CPREG_GROUP_FW_FEAT    0x0016

#define CPREG_ID_GROUP(id)     ((unsigned)(((id) >> 16) & 0xfff))
/* Size of the register in bytes, from bits 52-55. */
#define CPREG_ID_BYTES(id)     (1u << (((id) >> 52) & 0xf))

/* A sysreg id from its encoding. */
#define CPREG_SYSREG(op0, op1, crn, crm, op2)                                \
	(CPREG_ARM64 | UINT64_C(0x0030000000000000) |                        \
	 ((uint64_t)CPREG_GROUP_SYSREG << 16) | ((uint64_t)(op0) << 14) |   \
	 ((uint64_t)(op1) << 11) | ((uint64_t)(crn) << 7) |                  \
	 ((uint64_t)(crm) << 3) | (uint64_t)(op2))

#define CPREG_MIDR_EL1          CPREG_SYSREG(3, 0, 0, 0, 0)
#define CPREG_TIMER_CNT         CPREG_SYSREG(3, 3, 14, 3, 2) /* KVM ABI swap */
#define CPREG_TIMER_CVAL        CPREG_SYSREG(3, 3, 14, 0, 2)
#define CPREG_PTIMER_CNT        CPREG_SYSREG(3, 3, 14, 0, 1)
#define CPREG_PSCI_VERSION      UINT64_C(0x6030000000140000)
#define CPREG_SVE_VLS           UINT64_C(0x606000000015ffff)

/* Is this a well-formed arm64 KVM register id (known group, sane size)? */
CPREG_EXPORT bool cpreg_id_valid(uint64_t id);
/* Does QEMU migrate this id in its cpreg list (every group but core and SVE)? */
CPREG_EXPORT bool cpreg_id_migrates(uint64_t id);
/* ID-class registers: the ID space, MIDR/REVIDR/AIDR, CTR_EL0, CLIDR_EL1, CCSIDR. */
CPREG_EXPORT bool cpreg_id_is_id_register(uint64_t id);
/* The two counters (TIMER_CNT, PTIMER_CNT): they change on every read. */
CPREG_EXPORT bool cpreg_id_is_counter(uint64_t id);
/*
 * The architectural (or KVM ABI) name of an id; a sysreg without a known
 * name gets the assembler's generic form S3_0_C2_C0_3, anything else its
 * hex id.  Returns the length that was (or would have been) written.
 */
CPREG_EXPORT int cpreg_id_name(uint64_t id, char *buf, size_t len);
/* True when cpreg_id_name() has a real name for the id (not a fallback). */
CPREG_EXPORT bool cpreg_id_has_name(uint64_t id);
/* Parse a name, the generic sysreg form or a hex id back to an id. */
CPREG_EXPORT int cpreg_id_parse(const char *text, uint64_t *ret_id);

/* ---- vCPU features (KVM_ARM_VCPU_* bit numbers) and capabilities ---- */

enum {
	CPREG_FEAT_EL1_32BIT = 1,
	CPREG_FEAT_PSCI_0_2 = 2,
	CPREG_FEAT_PMU_V3 = 3,
	CPREG_FEAT_SVE = 4,
	CPREG_FEAT_PTRAUTH_ADDRESS = 5,
	CPREG_FEAT_PTRAUTH_GENERIC = 6,
};

/* Name of a feature bit ("pmu-v3"), NULL when unknown. */
CPREG_EXPORT const char *cpreg_feature_name(unsigned bit);
/* Bit number of a feature name, negative errno when unknown. */
CPREG_EXPORT int cpreg_feature_from_name(const char *name);

/* The KVM capabilities an inventory records (KVM_CAP_* numbers). */
enum {
	CPREG_CAP_ONE_REG = 70,
	CPREG_CAP_NR_VCPUS = 9,
	CPREG_CAP_MAX_VCPUS = 66,
	CPREG_CAP_ARM_EL1_32BIT = 93,
	CPREG_CAP_ARM_PSCI_0_2 = 102,
	CPREG_CAP_ARM_PMU_V3 = 126,
	CPREG_CAP_ARM_VM_IPA_SIZE = 165,
	CPREG_CAP_ARM_SVE = 170,
	CPREG_CAP_ARM_PTRAUTH_ADDRESS = 171,
	CPREG_CAP_ARM_PTRAUTH_GENERIC = 172,
	CPREG_CAP_ARM_MTE = 205,
	CPREG_CAP_ARM_SUPPORTED_REG_MASK_RANGES = 230,
	CPREG_CAP_ARM_WRITABLE_IMP_ID_REGS = 239,
	CPREG_CAP_ARM_EL2 = 240,
};

/* Number of capabilities in the table, and the i-th one's number and name. */
CPREG_EXPORT size_t cpreg_cap_count(void);
CPREG_EXPORT int cpreg_cap_at(size_t i, const char **ret_name);
/* Number of a capability name ("ARM_SVE"), negative errno when unknown. */
CPREG_EXPORT int cpreg_cap_from_name(const char *name);

/* KVM_ARM_GET_REG_WRITABLE_MASKS: 192 masks for op0=3 op1={0,1,3} CRn=0. */
#define CPREG_WRITABLE_MASKS 192
/* Index of a sysreg id in the mask array, negative when it has none. */
CPREG_EXPORT int cpreg_writable_mask_index(uint64_t id);

/* ---- inventory ---- */

enum cpreg_value_state {
	CPREG_VALUE = 0,       /* value holds the register (<= 64 bits) */
	CPREG_WIDE = 1,        /* wider than 64 bits: listed without a value */
	CPREG_UNREADABLE = 2,  /* KVM_GET_ONE_REG failed with read_errno */
};

struct cpreg_reg {
	uint64_t id;
	uint64_t value;
	enum cpreg_value_state state;
	int read_errno;  /* positive errno when CPREG_UNREADABLE */
};

struct cpreg_inventory;

CPREG_EXPORT struct cpreg_inventory *cpreg_inventory_new(void);
CPREG_EXPORT struct cpreg_inventory *cpreg_inventory_ref(struct cpreg_inventory *inv);
CPREG_EXPORT struct cpreg_inventory *cpreg_inventory_unref(struct cpreg_inventory *inv);
/* A deep copy. */
CPREG_EXPORT int cpreg_inventory_copy(const struct cpreg_inventory *inv, struct cpreg_inventory **ret);

/*
 * Add a register; the set stays sorted and unique (-EEXIST on a duplicate,
 * -EINVAL on a malformed id, -ERANGE on a value wider than the register).
 */
CPREG_EXPORT int cpreg_inventory_add(struct cpreg_inventory *inv, const struct cpreg_reg *reg);
/* Remove a register (-ENOENT when absent). */
CPREG_EXPORT int cpreg_inventory_remove(struct cpreg_inventory *inv, uint64_t id);
/* Replace the value of a listed register of 64 bits or less (-ENOENT, -ERANGE). */
CPREG_EXPORT int cpreg_inventory_set_value(struct cpreg_inventory *inv, uint64_t id, uint64_t value);
CPREG_EXPORT size_t cpreg_inventory_count(const struct cpreg_inventory *inv);
/* The i-th register in ascending id order; NULL past the end. */
CPREG_EXPORT const struct cpreg_reg *cpreg_inventory_at(const struct cpreg_inventory *inv, size_t i);
/* Lookup by id, O(log n); NULL when absent. */
CPREG_EXPORT const struct cpreg_reg *cpreg_inventory_find(const struct cpreg_inventory *inv, uint64_t id);
/* Number of ids QEMU migrates (the migration view). */
CPREG_EXPORT size_t cpreg_inventory_migration_count(const struct cpreg_inventory *inv);
/*
 * "sha256:<64 hex>" over the migration view's ids and values, counters'
 * values left out: equal exactly when two hosts look the same to QEMU.
 */
#define CPREG_DIGEST_LEN 72
CPREG_EXPORT int cpreg_inventory_digest(const struct cpreg_inventory *inv, char *buf, size_t len);

/* Context the registers were read in.  Strings are copied; NULL clears. */
enum cpreg_text {
	CPREG_TEXT_KERNEL,       /* uname -r */
	CPREG_TEXT_HOSTNAME,
	CPREG_TEXT_QEMU_VERSION, /* "11.1.0" */
	CPREG_TEXT_PROBE_TIME,   /* RFC 3339, UTC */
	CPREG_TEXT_PROVENANCE,   /* where the data came from */
	CPREG_TEXT_MACHINE,      /* uname -m */
	_CPREG_TEXT_MAX,
};
CPREG_EXPORT int cpreg_inventory_set_text(struct cpreg_inventory *inv, enum cpreg_text what, const char *text);
CPREG_EXPORT const char *cpreg_inventory_get_text(const struct cpreg_inventory *inv, enum cpreg_text what);

enum cpreg_number {
	CPREG_NUM_API_VERSION,      /* KVM_GET_API_VERSION */
	CPREG_NUM_PREFERRED_TARGET, /* KVM_ARM_PREFERRED_TARGET */
	CPREG_NUM_PAGE_SIZE,
	CPREG_NUM_IPA_SIZE,         /* bits the scratch VM was created with */
	CPREG_NUM_PROBE_MS,         /* probe duration */
	CPREG_NUM_VCPU_FEATURES,    /* bitmask of CPREG_FEAT_* bits */
	_CPREG_NUM_MAX,
};
/* Numbers are unset (get returns -ENODATA) until set. */
CPREG_EXPORT int cpreg_inventory_set_number(struct cpreg_inventory *inv, enum cpreg_number what, int64_t v);
CPREG_EXPORT int cpreg_inventory_get_number(const struct cpreg_inventory *inv, enum cpreg_number what, int64_t *ret);

/* KVM_CHECK_EXTENSION results by capability number; -ENODATA when not recorded. */
CPREG_EXPORT int cpreg_inventory_set_cap(struct cpreg_inventory *inv, int cap, int64_t value);
CPREG_EXPORT int cpreg_inventory_get_cap(const struct cpreg_inventory *inv, int cap, int64_t *ret);

/* Writable ID-register masks (NULL clears: the kernel has none). */
CPREG_EXPORT int cpreg_inventory_set_writable_masks(struct cpreg_inventory *inv, const uint64_t masks[CPREG_WRITABLE_MASKS]);
/* The masks, or NULL when the kernel reported none. */
CPREG_EXPORT const uint64_t *cpreg_inventory_writable_masks(const struct cpreg_inventory *inv);

/* SVE vector lengths (KVM_REG_ARM64_SVE_VLS, 8 words); NULL clears. */
CPREG_EXPORT int cpreg_inventory_set_sve_vls(struct cpreg_inventory *inv, const uint64_t vls[8]);
CPREG_EXPORT const uint64_t *cpreg_inventory_sve_vls(const struct cpreg_inventory *inv);

/* MIDR_EL1 of each host CPU, in CPU order (from sysfs). */
CPREG_EXPORT int cpreg_inventory_add_cpu_midr(struct cpreg_inventory *inv, unsigned cpu, uint64_t midr);
CPREG_EXPORT size_t cpreg_inventory_cpu_count(const struct cpreg_inventory *inv);
CPREG_EXPORT int cpreg_inventory_cpu_at(const struct cpreg_inventory *inv, size_t i, unsigned *ret_cpu, uint64_t *ret_midr);

/* ---- JSON form "cpreg-inventory/1" (docs/inventory.md) ---- */

#define CPREG_INVENTORY_SCHEMA "cpreg-inventory/1"
/* Largest document the reader accepts. */
#define CPREG_JSON_MAX (16u << 20)

/* Canonical JSON (sorted, stable, newline-terminated); free() the result. */
CPREG_EXPORT int cpreg_inventory_to_json(const struct cpreg_inventory *inv, char **ret_text);
/* Strict reader; on error, err->where holds the JSON path of the first problem. */
CPREG_EXPORT int cpreg_inventory_from_json(const char *text, size_t len,
					   struct cpreg_inventory **ret_inv,
					   struct cpreg_error *err);
/* Read a file (as above, with the file name in err->where). */
CPREG_EXPORT int cpreg_inventory_load(const char *path, struct cpreg_inventory **ret_inv,
				      struct cpreg_error *err);

/* ---- tolerances: QEMU's "cpreg migration tolerances" series ---- */

enum cpreg_tol_type {
	CPREG_TOL_NOT_ON_BOTH_ENDS = 1,
	CPREG_TOL_ONLY_SRC_TEST_VALUE,
	CPREG_TOL_DIFF_IN_MASK,
	CPREG_TOL_FIELD_LT,
	CPREG_TOL_FIELD_GT,
};

struct cpreg_tolerance {
	uint64_t id;
	uint64_t mask;
	uint64_t value;
	enum cpreg_tol_type type;
};

CPREG_EXPORT const char *cpreg_tol_type_name(enum cpreg_tol_type type);
CPREG_EXPORT int cpreg_tol_type_from_name(const char *name);

struct cpreg_tolerance_set;
CPREG_EXPORT struct cpreg_tolerance_set *cpreg_tolerance_set_new(void);
CPREG_EXPORT struct cpreg_tolerance_set *cpreg_tolerance_set_ref(struct cpreg_tolerance_set *set);
CPREG_EXPORT struct cpreg_tolerance_set *cpreg_tolerance_set_unref(struct cpreg_tolerance_set *set);
/* At most one tolerance per id: a second one is -EEXIST unless replace. */
CPREG_EXPORT int cpreg_tolerance_set_add(struct cpreg_tolerance_set *set, const struct cpreg_tolerance *tol, bool replace);
CPREG_EXPORT size_t cpreg_tolerance_set_count(const struct cpreg_tolerance_set *set);
CPREG_EXPORT const struct cpreg_tolerance *cpreg_tolerance_set_at(const struct cpreg_tolerance_set *set, size_t i);
CPREG_EXPORT const struct cpreg_tolerance *cpreg_tolerance_find(const struct cpreg_tolerance_set *set, uint64_t id);
/* QEMU's matcher: true when a tolerance of this type for id allows the pair. */
CPREG_EXPORT bool cpreg_tolerance_match(const struct cpreg_tolerance_set *set, uint64_t id,
					uint64_t incoming, uint64_t local, enum cpreg_tol_type type);

/* ---- policies: which destination QEMU decides ---- */

enum cpreg_policy_kind {
	CPREG_POLICY_QEMU_LEGACY = 1, /* before 11.1: count check, no tolerances */
	CPREG_POLICY_QEMU_TOLERANT,   /* 11.1 and later: tolerances */
};

struct cpreg_policy;
/* "qemu-legacy" or "qemu-11.1". */
CPREG_EXPORT int cpreg_policy_new_builtin(const char *name, struct cpreg_policy **ret);
/* The built-in policy a destination QEMU version implies ("7.2.0" -> legacy). */
CPREG_EXPORT const char *cpreg_policy_for_qemu_version(const char *version);
/* A site policy file (docs/policy.md): a built-in base plus tolerances. */
CPREG_EXPORT int cpreg_policy_load(const char *path, struct cpreg_policy **ret, struct cpreg_error *err);
CPREG_EXPORT int cpreg_policy_from_json(const char *text, size_t len, const char *origin,
					struct cpreg_policy **ret, struct cpreg_error *err);
CPREG_EXPORT struct cpreg_policy *cpreg_policy_ref(struct cpreg_policy *p);
CPREG_EXPORT struct cpreg_policy *cpreg_policy_unref(struct cpreg_policy *p);
CPREG_EXPORT const char *cpreg_policy_name(const struct cpreg_policy *p);
CPREG_EXPORT enum cpreg_policy_kind cpreg_policy_kind(const struct cpreg_policy *p);
CPREG_EXPORT const struct cpreg_tolerance_set *cpreg_policy_tolerances(const struct cpreg_policy *p);

/* ---- the migration check ---- */

enum cpreg_finding_kind {
	CPREG_FIND_COUNT_EXCEEDED = 1,
	CPREG_FIND_ONLY_IN_SOURCE,
	CPREG_FIND_ONLY_IN_DESTINATION,
	CPREG_FIND_VALUE_DIFFERS,
	CPREG_FIND_VCPU_FEATURE,   /* the source VM has a vCPU feature this host cannot give */
};

enum cpreg_outcome {
	CPREG_OUT_OK = 1,
	CPREG_OUT_TOLERATED,
	CPREG_OUT_UNKNOWN,
	CPREG_OUT_FAIL,
};

enum cpreg_result {
	CPREG_COMPATIBLE = 0,
	CPREG_INCOMPATIBLE = 1,
	CPREG_UNDECIDED = 2, /* no failure, but some value only the destination kernel can judge */
};

struct cpreg_finding {
	uint64_t id;             /* 0 for count-exceeded */
	enum cpreg_finding_kind kind;
	enum cpreg_outcome outcome;
	bool has_source, has_destination;
	uint64_t source_value, destination_value;
	const char *tolerance;   /* tolerance type name, or NULL */
	int rule;                /* enum cpreg_kernel_rule that judged a value, 0 for none */
	char name[48];
	/*
	 * What QEMU would say, or why it is fine.  The verdict owns it; the
	 * check words each finding when it is first read (cpreg_verdict_at,
	 * _find, _to_json), not while it judges.
	 */
	const char *message;
};

struct cpreg_verdict;
CPREG_EXPORT const char *cpreg_finding_kind_name(enum cpreg_finding_kind k);

/*
 * Why a finding has its outcome, for machines: a stable name per reason
 * (cpreg_reason_name; docs/verdict.md lists them), derived from the kind
 * and the kernel model's rule.
 */
enum cpreg_reason {
	CPREG_REASON_COUNT_EXCEEDED = 1,  /* QEMU before 11.1: more registers than the destination lists */
	CPREG_REASON_UNKNOWN_REGISTER,    /* the source migrates a register the destination does not list */
	CPREG_REASON_MISSING_REGISTER,    /* the destination lists one the source does not send */
	CPREG_REASON_VALUE_ACCEPTED,      /* the destination kernel takes the source's value */
	CPREG_REASON_KERNEL_REFUSES_VALUE,/* bits the destination kernel cannot take */
	CPREG_REASON_FIELD_UNSAFE,        /* an ID field above what the destination offers */
	CPREG_REASON_FIELD_SAFE,          /* ID fields lower than the destination's: writable, safe */
	CPREG_REASON_ID_INVARIANT,        /* ID registers fixed before Linux 6.7 */
	CPREG_REASON_MIDR_DIFFERS,        /* a different CPU implementation (MIDR/REVIDR/AIDR) */
	CPREG_REASON_CACHE_GEOMETRY,      /* CLIDR/CCSIDR the destination cannot present */
	CPREG_REASON_PSCI_VERSION,        /* a PSCI version the destination does not implement */
	CPREG_REASON_FIRMWARE_LEVEL,      /* an SMCCC workaround level above the destination's */
	CPREG_REASON_FIRMWARE_SERVICES,   /* hypervisor services the destination does not offer */
	CPREG_REASON_FEATURE_MISSING,     /* a vCPU feature the destination cannot give */
	CPREG_REASON_TRIAL_DECIDES,       /* only the destination kernel can tell: its live trial */
	CPREG_REASON_NOT_READABLE,        /* one end could not read the register: not compared */
};
CPREG_EXPORT enum cpreg_reason cpreg_finding_reason(const struct cpreg_finding *f);
CPREG_EXPORT const char *cpreg_reason_name(enum cpreg_reason r);

/* What would change a failing or undecided finding (docs/verdict.md). */
enum cpreg_remedy_kind {
	CPREG_REMEDY_VM_OPTION = 1,   /* start the VM with this option on both ends */
	CPREG_REMEDY_QEMU,            /* a destination QEMU of at least min_version */
	CPREG_REMEDY_KERNEL,          /* a destination kernel of at least min_version */
	CPREG_REMEDY_SITE_POLICY,     /* a site tolerance, if the difference is known harmless */
	CPREG_REMEDY_PLACEMENT,       /* another destination: the hosts differ in what no option changes */
	CPREG_REMEDY_TRIAL,           /* ask the destination's cpregd: its live trial decides */
};
struct cpreg_remedy {
	enum cpreg_remedy_kind kind;
	char qemu[64];          /* VM_OPTION: the -cpu property, "kvm-psci-version=1.1" */
	char libvirt[160];      /* VM_OPTION: the domain XML that sets it, "" when libvirt has no element */
	char min_version[32];   /* QEMU, KERNEL */
	char text[320];         /* the same in a sentence, for people */
};
CPREG_EXPORT const char *cpreg_remedy_kind_name(enum cpreg_remedy_kind k);
/* The remedies of finding i of v (none for ok and tolerated ones); how many were written, at most max. */
CPREG_EXPORT size_t cpreg_verdict_remedies(const struct cpreg_verdict *v, size_t i, struct cpreg_remedy *out, size_t max);
CPREG_EXPORT const char *cpreg_outcome_name(enum cpreg_outcome o);
CPREG_EXPORT const char *cpreg_result_name(enum cpreg_result r);

/*
 * Check whether a VM on `source` can migrate to `destination`.  policy NULL
 * chooses by the destination's QEMU version (legacy when unknown).  The
 * verdict keeps a reference to the destination and words its findings from
 * it when they are first read: leave the destination unchanged while its
 * verdicts are read (inventories are shared read-only once built anyway).
 */
CPREG_EXPORT int cpreg_check(const struct cpreg_inventory *source,
			     const struct cpreg_inventory *destination,
			     const struct cpreg_policy *policy,
			     struct cpreg_verdict **ret);
CPREG_EXPORT struct cpreg_verdict *cpreg_verdict_ref(struct cpreg_verdict *v);
CPREG_EXPORT struct cpreg_verdict *cpreg_verdict_unref(struct cpreg_verdict *v);
CPREG_EXPORT enum cpreg_result cpreg_verdict_result(const struct cpreg_verdict *v);
CPREG_EXPORT const char *cpreg_verdict_policy(const struct cpreg_verdict *v);
/* Why the policy was chosen ("destination QEMU 7.2.0", "forced", ...). */
CPREG_EXPORT const char *cpreg_verdict_policy_reason(const struct cpreg_verdict *v);
CPREG_EXPORT size_t cpreg_verdict_count(const struct cpreg_verdict *v);
CPREG_EXPORT const struct cpreg_finding *cpreg_verdict_at(const struct cpreg_verdict *v, size_t i);
/* Finding i's outcome without wording it: for scanning a verdict for the findings to read. */
CPREG_EXPORT enum cpreg_outcome cpreg_verdict_outcome_at(const struct cpreg_verdict *v, size_t i);
/*
 * Finding i's name without its message (NULL past the end): a fleet's
 * answers list the deciding registers of thousands of pairs by name, and
 * wording their messages was a quarter of a rolling-upgrade plan.
 */
CPREG_EXPORT const char *cpreg_verdict_name_at(const struct cpreg_verdict *v, size_t i);
/* The finding for id, NULL when the id gave none. */
CPREG_EXPORT const struct cpreg_finding *cpreg_verdict_find(const struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind);
/* JSON form "cpreg-verdict/1"; free() the result. */
CPREG_EXPORT int cpreg_verdict_to_json(const struct cpreg_verdict *v, char **ret_text);
/*
 * Read a cpreg-verdict/1 document (the library's or the daemon's) into a
 * typed verdict; a malformed or inconsistent one (counts, result and
 * "compatible" against the findings) is -EINVAL naming its JSON path.
 */
/*
 * How fresh the destination's inventory was when it judged: where it came
 * from ("probe", or "state-dir" when a restart serves the persisted one not
 * yet re-probed), its age, and a warning when the destination is degraded
 * (its last probe failed), or NULL.  The daemon sets it; the verdict says it.
 */
CPREG_EXPORT int cpreg_verdict_set_destination_state(struct cpreg_verdict *v, const char *source, int64_t age_seconds,
						     const char *warning);
/* The live trial in a sentence (writes, refusals, contradictions), or why it did not run; NULL: no trial asked. */
CPREG_EXPORT const char *cpreg_verdict_trial_summary(const struct cpreg_verdict *v, char *buf, size_t len);
CPREG_EXPORT int cpreg_verdict_from_json(const char *text, size_t len, struct cpreg_verdict **ret,
					 struct cpreg_error *err);

/* ---- ID register fields ---- */

/* How Linux 6.7+ judges a field written from userspace (arm64_ftr_safe_value). */
enum cpreg_field_rule {
	CPREG_SAFE_LOWER = 1,       /* at most the host's value */
	CPREG_SAFE_HIGHER,          /* at least the host's value */
	CPREG_SAFE_HIGHER_OR_ZERO,  /* zero, or at least the host's non-zero value */
	CPREG_SAFE_EXACT,           /* the host's value or the fixed safe value */
	CPREG_SAFE_ANY,             /* KVM takes any value (CLIDR_EL1) */
};

struct cpreg_field {
	uint64_t reg;
	const char *name;      /* NULL: a 4-bit field the table does not name */
	uint8_t shift, width;
	bool is_signed;
	enum cpreg_field_rule rule;
	int64_t safe;          /* the safe value of an exact field */
	const char *feat;      /* FEAT_ name, or NULL */
	int8_t min;            /* KVM refuses values below this (-EINVAL); 0: no minimum */
	bool zero_ok;          /* ... except 0 ("not implemented") */
};

struct cpreg_field_change {
	struct cpreg_field field;
	int64_t a, b;          /* field values (sign-extended where signed) */
	bool generic;          /* not in the table: a nibble, judged lower-safe */
};

/* The known fields of an ID register (a pointer into a static table). */
CPREG_EXPORT size_t cpreg_fields_of(uint64_t id, const struct cpreg_field **ret);
CPREG_EXPORT int64_t cpreg_field_get(const struct cpreg_field *f, uint64_t value);
CPREG_EXPORT uint64_t cpreg_field_mask(const struct cpreg_field *f);
/* Is `new` safe to write on a host whose value is `cur`? */
CPREG_EXPORT bool cpreg_field_safe(const struct cpreg_field *f, int64_t new, int64_t cur);
CPREG_EXPORT const char *cpreg_field_rule_name(enum cpreg_field_rule r);
/* The fields that differ between a and b (table fields, then nibbles); count written. */
CPREG_EXPORT int cpreg_field_diff(uint64_t id, uint64_t a, uint64_t b, struct cpreg_field_change *out, size_t max);
/* "ID_AA64ISAR0_EL1.Atomic", or "ID_PFR0_EL1[19:16]" for an unnamed nibble. */
CPREG_EXPORT int cpreg_field_change_name(const struct cpreg_field_change *c, char *buf, size_t len);

/* ---- the kernel model: what a destination kernel takes (BRIEF section 5) ---- */

/* Which rule decided (a stable name each: cpreg_kernel_rule_name()). */
enum cpreg_kernel_rule {
	CPREG_RULE_ANY = 1,        /* vCPU state: KVM takes any value */
	CPREG_RULE_COUNTER,        /* a clock reading, never compared */
	CPREG_RULE_EQUAL,          /* the destination's own value */
	CPREG_RULE_INVARIANT,      /* ID registers and cache geometry before Linux 6.7 */
	CPREG_RULE_IMP_ID,         /* MIDR/REVIDR/AIDR: QEMU does not enable writing them */
	CPREG_RULE_AA32_WI,        /* AArch32 ID register on a host without AArch32 EL0: write-ignored */
	CPREG_RULE_CLIDR,          /* set_clidr(): RES0 and CTR_EL0.IDC */
	CPREG_RULE_CCSIDR,         /* set_ccsidr(): RES0 and the minimum line size */
	CPREG_RULE_OUTSIDE_MASK,   /* bits outside the writable mask differ */
	CPREG_RULE_FIELD_UNSAFE,   /* a writable field is unsafe (arm64_check_features) */
	CPREG_RULE_FIELD_SAFE,     /* every differing writable field is safe */
	CPREG_RULE_PSCI_VERSION,   /* a version the destination implements */
	CPREG_RULE_WORKAROUND,     /* SMCCC workaround level not above the destination's */
	CPREG_RULE_FW_BITMAP,      /* firmware services a subset of the destination's */
	CPREG_RULE_UNREADABLE,     /* the destination could not read it: unknown */
	CPREG_RULE_SET_HANDLER,    /* a set_id_*() handler's own rule: a field dropped, replaced, or too low */
};
CPREG_EXPORT const char *cpreg_kernel_rule_name(enum cpreg_kernel_rule r);

struct cpreg_kernel_answer {
	enum cpreg_outcome outcome;   /* CPREG_OUT_OK, _FAIL, or _UNKNOWN (only that kernel can tell) */
	enum cpreg_kernel_rule rule;
	char why[320];
};
/*
 * Would the kernel of `destination` (its inventory: the vCPU QEMU builds
 * there) take `value` for `id` with KVM_SET_ONE_REG?  -ENOENT when the
 * destination does not list the id.
 */
CPREG_EXPORT int cpreg_kernel_judge(const struct cpreg_inventory *destination, uint64_t id, uint64_t value,
				    struct cpreg_kernel_answer *ret);

/* An ID field a vCPU feature brings: KVM reads it as 0 for a vCPU without the feature. */
struct cpreg_feature_field {
	unsigned feature;   /* CPREG_FEAT_* */
	uint64_t reg;
	uint64_t mask;
};
CPREG_EXPORT size_t cpreg_feature_fields(const struct cpreg_feature_field **ret);
/* Is id a register KVM lists only for a vCPU with this feature (ZCR_EL1, the pointer-auth keys, the PMU)? */
CPREG_EXPORT bool cpreg_feature_owns(unsigned feature, uint64_t id);

/* ---- the live trial's results, merged into a verdict ---- */

enum cpreg_trial_outcome {
	CPREG_TRIAL_ACCEPTED = 1,  /* KVM_SET_ONE_REG took the source's value */
	CPREG_TRIAL_REJECTED,      /* refused with err */
	CPREG_TRIAL_UNKNOWN_ID,    /* -ENOENT: KVM here does not know the id */
};

struct cpreg_trial_reg {
	uint64_t id;
	uint64_t value;            /* the source's value that was written */
	enum cpreg_trial_outcome outcome;
	int err;                   /* positive errno when rejected */
	bool has_local;
	uint64_t local;            /* this host's value, read before the write */
};

struct cpreg_trial_summary {
	const struct cpreg_trial_reg *regs;
	size_t n;
	uint32_t missing_features; /* source vCPU features this host cannot give */
	int vls_err;               /* positive errno: the source's SVE vector lengths were refused */
	int64_t duration_ms;
};

/*
 * Let the destination kernel decide: every value finding takes the
 * trial's outcome (accepted: ok, rejected: fail); where the static rule
 * said otherwise, the disagreement is listed as a contradiction.  Index
 * findings (ids on one end only) stay as QEMU's merge decides them.
 */
CPREG_EXPORT int cpreg_verdict_apply_trial(struct cpreg_verdict *v, const struct cpreg_trial_summary *t);
/* The trial could not run (no KVM here, say): the verdict says so and stays static. */
CPREG_EXPORT int cpreg_verdict_trial_failed(struct cpreg_verdict *v, const char *why);

/*
 * ---- the VM's options (lib/vmopts.c: their one table) ----
 * What the VM itself sets, beyond the two hosts (QEMU -cpu host options).
 * psci_version: QEMU 11.1's kvm-psci-version ("1.1" -> 0x10001), 0 for none.
 */
struct cpreg_vm_options {
	uint32_t psci_version;
	uint32_t disable;      /* CPREG_FEAT_* bits the VM turns off (pmu=off, sve=off, pauth=off) */
	unsigned sve_max_vq;   /* QEMU sve-max-vq: vector lengths up to 128*N bits; 0 for all */
};

/* The vCPU features of an inventory that does not record them: what "-cpu host" had then. */
#define CPREG_DEFAULT_FEATURES (1u << CPREG_FEAT_PSCI_0_2 | 1u << CPREG_FEAT_PMU_V3)

enum cpreg_vm_option_kind {
	CPREG_VMOPT_SWITCH = 1,  /* on|off: off turns vCPU features off */
	CPREG_VMOPT_VQ,          /* a number of 128-bit quadwords, min..max */
	CPREG_VMOPT_PSCI,        /* a PSCI version X.Y */
};
/* One row of the table: an option and its spellings. */
struct cpreg_vm_option {
	const char *key;         /* the query parameter (cpregd's /v1/check) and the JSON key */
	const char *json;        /* the JSON key where it differs from key, or NULL */
	const char *qemu;        /* QEMU's -cpu host property */
	const char *libvirt;     /* the domain XML for it, "" when libvirt has none (<qemu:commandline>) */
	enum cpreg_vm_option_kind kind;
	uint32_t features;       /* SWITCH: the CPREG_FEAT_* bits off turns off */
	unsigned min, max;       /* VQ: QEMU's bounds */
};
/* The table's rows, for callers that name an option without spelling it. */
enum cpreg_vm_option_row { CPREG_VMOPT_PMU, CPREG_VMOPT_SVE, CPREG_VMOPT_PAUTH, CPREG_VMOPT_SVE_MAX_VQ, CPREG_VMOPT_PSCI_VERSION };
CPREG_EXPORT size_t cpreg_vm_option_count(void);
CPREG_EXPORT const struct cpreg_vm_option *cpreg_vm_option_at(size_t i);
/* By QEMU property name ("sve-max-vq"), or by key ("sve_max_vq"); NULL when unknown. */
CPREG_EXPORT const struct cpreg_vm_option *cpreg_vm_option_find(const char *qemu);
CPREG_EXPORT const struct cpreg_vm_option *cpreg_vm_option_by_key(const char *key);
/* The options' names for a message, comma-separated: QEMU's (qemu) or the keys. */
CPREG_EXPORT int cpreg_vm_option_names(bool qemu, char *buf, size_t len);
/*
 * Set option o from its text value ("off", "4", "1.1"): -EINVAL for a
 * value out of QEMU's bounds; err->where is the QEMU name, err->message
 * says what was expected.
 */
CPREG_EXPORT int cpreg_vm_option_set(struct cpreg_vm_options *vm, const struct cpreg_vm_option *o, const char *value,
				     struct cpreg_error *err);
/* Parse "1.1" into major<<16 | minor. */
CPREG_EXPORT int cpreg_parse_psci_version(const char *text, uint32_t *ret);
/* The QEMU -cpu argument for these options ("host,pmu=off,kvm-psci-version=1.1"). */
CPREG_EXPORT int cpreg_vm_options_qemu(const struct cpreg_vm_options *vm, char *buf, size_t len);
/* Parse that form back ("host," optional): pmu=, sve=, pauth= on|off, sve-max-vq=N, kvm-psci-version=X.Y. */
CPREG_EXPORT int cpreg_vm_options_parse(const char *text, struct cpreg_vm_options *ret, struct cpreg_error *err);
/* The same form with vCPU features only ("pmu=off,sve=off"): the features to turn off. */
CPREG_EXPORT int cpreg_vm_options_parse_disable(const char *text, uint32_t *ret, struct cpreg_error *err);
/* As cpregd's query parameters: "pmu=off&sve_max_vq=2&psci=1.1" ("" for none). */
CPREG_EXPORT int cpreg_vm_options_query(const struct cpreg_vm_options *vm, char *buf, size_t len);
/* A libvirt domain XML that starts the VM so (common_vls: the SVE lengths to list, or NULL); free() it. */
CPREG_EXPORT int cpreg_vm_options_libvirt(const struct cpreg_vm_options *vm, const uint64_t *common_vls, char **ret);
/*
 * Adjust a source inventory to the VM's options, as QEMU would migrate it:
 * a pinned PSCI version replaces PSCI_VERSION's value; a feature turned off
 * leaves the vCPU features, its registers go (KVM hides them from such a
 * vCPU) and its ID fields read 0; sve_max_vq trims the vector lengths.
 */
CPREG_EXPORT int cpreg_inventory_apply_vm_options(struct cpreg_inventory *inv, const struct cpreg_vm_options *o);

/*
 * Check a VM with these options (NULL: none): QEMU runs the same command
 * line on both ends, so the options shape both vCPUs.  The source is
 * adjusted as cpreg_inventory_apply_vm_options() says; the destination's
 * vCPU is the one its QEMU builds for "-cpu host,OPTIONS": the destination
 * host's own features minus what the options turn off (a pinned PSCI
 * version is the source's to migrate; the destination is not adjusted for
 * it).  A feature the source's vCPU has and the destination's lacks is a
 * failing vcpu-feature finding.
 */
CPREG_EXPORT int cpreg_check_vm(const struct cpreg_inventory *source, const struct cpreg_inventory *destination,
				const struct cpreg_policy *policy, const struct cpreg_vm_options *vm,
				struct cpreg_verdict **ret);

/*
 * ---- the pipeline: one call from two inventories to a verdict ----
 * The VM's options applied once (to the source, and to the destination's
 * vCPU), the static check, then the live trial merged into the verdict.
 * The library cannot reach a kernel, so the trial is the caller's: a
 * function that writes the (adjusted) source into a scratch vCPU built for
 * "-cpu host" less vm_disable and merges what the kernel said into v
 * (cpreg_verdict_apply_trial, or cpreg_verdict_trial_failed when it could
 * not run); libcpregprobe's cpreg_trial_judge is that function.  cpregd's
 * workers, cpregctl, the fleet and the tests all judge through here.
 */
typedef int (*cpreg_trial_fn)(void *ctx, const struct cpreg_inventory *source, uint32_t vm_disable,
			      struct cpreg_verdict *v);
struct cpreg_judge_args {
	const struct cpreg_inventory *source, *destination;
	const struct cpreg_policy *policy;   /* NULL: the destination's own QEMU decides */
	const struct cpreg_vm_options *vm;   /* NULL: none */
	cpreg_trial_fn trial;                /* NULL: the static check alone */
	void *trial_ctx;
	const char *no_trial;                /* trial NULL: why, said in the verdict (NULL: nothing said) */
	/*
	 * The source already is the VM's vCPU (cpreg_passport_source): the
	 * options shape the destination's vCPU only.
	 */
	bool source_is_vm;
};
/* -ENOENT: the VM pins a PSCI version and the source lists no PSCI_VERSION; -ENOMEM. */
CPREG_EXPORT int cpreg_judge(const struct cpreg_judge_args *a, struct cpreg_verdict **ret);

/*
 * ---- VM passports (lib/passport.c, docs/passport.md) ----
 * What a destination needs to judge one VM rather than its host: the VM
 * keeps the register values of the host it was born on through every hop
 * (the destination's QEMU writes the incoming values, KVM keeps what it
 * takes, the next migration sends those on); only the register list is
 * each destination's own.  A passport holds that list, the values a kernel
 * rule or a tolerance decides (cpreg_id_value_decided; other registers are
 * listed without a value: every destination takes them), the VM's options
 * and vCPU features, the digest of its birth host and its hops.
 */
#define CPREG_PASSPORT_SCHEMA "cpreg-passport/1"
/* Hops a passport keeps; the reader refuses more. */
#define CPREG_PASSPORT_MAX_HOPS 4096
/* Is id's value one a kernel rule or QEMU 11.1's tolerance table decides (what a passport carries)? */
CPREG_EXPORT bool cpreg_id_value_decided(uint64_t id);

struct cpreg_passport;
/* A VM born on host with these options (NULL: none) at time (RFC 3339, UTC; NULL: not said). */
CPREG_EXPORT int cpreg_passport_born(const struct cpreg_inventory *host, const struct cpreg_vm_options *vm,
				     const char *time, struct cpreg_passport **ret);
CPREG_EXPORT struct cpreg_passport *cpreg_passport_ref(struct cpreg_passport *p);
CPREG_EXPORT struct cpreg_passport *cpreg_passport_unref(struct cpreg_passport *p);
/* JSON form "cpreg-passport/1"; free() the result. */
CPREG_EXPORT int cpreg_passport_to_json(const struct cpreg_passport *p, char **ret_text);
/*
 * Strict reader: a wrong schema, an option the table does not know, hops
 * that do not chain (each leaves the host the one before reached) or a
 * digest that is not the content's own are -EINVAL/-EBADMSG/-EPROTONOSUPPORT
 * with err->where naming the field.
 */
CPREG_EXPORT int cpreg_passport_from_json(const char *text, size_t len, struct cpreg_passport **ret,
					  struct cpreg_error *err);
CPREG_EXPORT int cpreg_passport_load(const char *path, struct cpreg_passport **ret, struct cpreg_error *err);
/* "sha256:..." over the passport's content (docs/passport.md). */
CPREG_EXPORT const char *cpreg_passport_digest(const struct cpreg_passport *p);
/* The birth host's inventory digest, and the host the VM is on now (the last hop's, or the birth host's). */
CPREG_EXPORT const char *cpreg_passport_born_digest(const struct cpreg_passport *p);
CPREG_EXPORT const char *cpreg_passport_current_digest(const struct cpreg_passport *p);
CPREG_EXPORT size_t cpreg_passport_hop_count(const struct cpreg_passport *p);
/* Hop i's destination digest and time (NULL when not said); -ENOENT past the end. */
CPREG_EXPORT int cpreg_passport_hop_at(const struct cpreg_passport *p, size_t i, const char **ret_to,
				       const char **ret_time);
CPREG_EXPORT void cpreg_passport_options(const struct cpreg_passport *p, struct cpreg_vm_options *ret);
/* The registers: count, and the i-th id, value and whether the value is carried. */
CPREG_EXPORT size_t cpreg_passport_count(const struct cpreg_passport *p);
CPREG_EXPORT int cpreg_passport_reg_at(const struct cpreg_passport *p, size_t i, uint64_t *ret_id,
				       uint64_t *ret_value, bool *ret_carried);
/*
 * The source inventory a check of this VM against destination reads: the
 * VM's list and carried values, and for the registers it carries no value
 * of, the destination's own (what such a register holds does not decide).
 * Its digest is the passport's; judge it with cpreg_passport_options().
 */
CPREG_EXPORT int cpreg_passport_source(const struct cpreg_passport *p, const struct cpreg_inventory *destination,
				       struct cpreg_inventory **ret);
/*
 * The passport after a hop to destination (its host inventory) at time:
 * the destination's list (less what the VM's options hide); for each
 * register the VM sent, the incoming value where that kernel keeps it, the
 * destination's own where it ignores the write; for the others the
 * destination's.  after: the VM's vCPU as read back on the destination
 * after the write (the live trial's), or NULL for the kernel model's
 * answer.  The hop must be compatible: judge it first.
 */
CPREG_EXPORT int cpreg_passport_hop(const struct cpreg_passport *p, const struct cpreg_inventory *destination,
				    const struct cpreg_inventory *after, const char *time,
				    struct cpreg_passport **ret);
/*
 * Read a source document: a host inventory (*ret_inv) or a VM passport
 * (*ret_passport); exactly one is set.  Errors as the two readers say.
 */
CPREG_EXPORT int cpreg_source_from_json(const char *text, size_t len, struct cpreg_inventory **ret_inv,
					struct cpreg_passport **ret_passport, struct cpreg_error *err);
CPREG_EXPORT int cpreg_source_load(const char *path, struct cpreg_inventory **ret_inv,
				   struct cpreg_passport **ret_passport, struct cpreg_error *err);

/*
 * The VM's passport after this hop, which a destination's cpregd adds to a
 * compatible verdict of a passport (-EINVAL on a verdict that is not
 * compatible); NULL when there is none.  Written and read as the verdict's
 * "passport_after".
 */
CPREG_EXPORT int cpreg_verdict_set_passport_after(struct cpreg_verdict *v, struct cpreg_passport *p);
CPREG_EXPORT const struct cpreg_passport *cpreg_verdict_passport_after(const struct cpreg_verdict *v);

/* Contradictions between the static rule and the trial. */
CPREG_EXPORT size_t cpreg_verdict_contradictions(const struct cpreg_verdict *v);
CPREG_EXPORT bool cpreg_verdict_has_trial(const struct cpreg_verdict *v);
/*
 * How many of a verdict without a trial are values only the destination
 * kernel judges exactly (writable fields, cache geometry, undecided): its
 * cpregd's live trial should confirm them.  0 once a trial ran.
 */
CPREG_EXPORT size_t cpreg_verdict_trial_advised(const struct cpreg_verdict *v);
/* The i-th contradiction: the register, what the static rules said, what the trial saw. */
CPREG_EXPORT int cpreg_verdict_contradiction_at(const struct cpreg_verdict *v, size_t i, uint64_t *ret_id,
					       enum cpreg_outcome *ret_static, enum cpreg_outcome *ret_trial);

/* ---- fleets: migration pools and VM profiles ---- */

/* Identical hosts: one digest and one QEMU policy as a destination. */
struct cpreg_fleet_group {
	char digest[CPREG_DIGEST_LEN];
	const char *policy;                 /* "qemu-legacy" or "qemu-11.1", from its QEMU version */
	struct cpreg_inventory *inventory;  /* the first member's */
	char **members;                     /* the names the hosts were added under */
	size_t n_members;
};

struct cpreg_fleet;
CPREG_EXPORT int cpreg_fleet_new(struct cpreg_fleet **ret);
CPREG_EXPORT struct cpreg_fleet *cpreg_fleet_unref(struct cpreg_fleet *f);
/* Add a host under a name (its file, say); identical hosts share a group. */
CPREG_EXPORT int cpreg_fleet_add(struct cpreg_fleet *f, const char *name, struct cpreg_inventory *inv);
CPREG_EXPORT size_t cpreg_fleet_group_count(const struct cpreg_fleet *f);
CPREG_EXPORT const struct cpreg_fleet_group *cpreg_fleet_group_at(const struct cpreg_fleet *f, size_t i);
/*
 * Check every ordered pair of groups with the VM's options (policy NULL:
 * each destination's own QEMU decides), then find the migration pools:
 * maximal sets of groups where every ordered pair is compatible, largest
 * first.  Work grows with the number of judged states (groups that differ
 * only in values no rule decides are one), not of hosts, and runs on the
 * machine's cores.
 */
CPREG_EXPORT int cpreg_fleet_judge(struct cpreg_fleet *f, const struct cpreg_policy *policy,
				   const struct cpreg_vm_options *vm);
/*
 * The result for a VM on group `from` moving to group `to` (compatible when
 * from == to: identical hosts; undecided before cpreg_fleet_judge).  The
 * fleet keeps results, not verdicts: a thousand distinct hosts are a
 * million pairs.
 */
CPREG_EXPORT enum cpreg_result cpreg_fleet_result(const struct cpreg_fleet *f, size_t from, size_t to);
/*
 * That pair's verdict, judged again as cpreg_fleet_judge did (same policy
 * and options), for the pairs a document names; unref it.  -EINVAL when
 * from == to or the fleet was not judged.
 */
CPREG_EXPORT int cpreg_fleet_pair_verdict(const struct cpreg_fleet *f, size_t from, size_t to,
					  struct cpreg_verdict **ret);
CPREG_EXPORT size_t cpreg_fleet_pool_count(const struct cpreg_fleet *f);
/* The groups of pool k (sorted); returns how many. */
CPREG_EXPORT size_t cpreg_fleet_pool_at(const struct cpreg_fleet *f, size_t k, const size_t **ret_groups);
/* May every VM of pool a move to every host of pool b? */
CPREG_EXPORT bool cpreg_fleet_pool_moves(const struct cpreg_fleet *f, size_t a, size_t b);

/* The VM options under which the fleet's hosts look most alike. */
struct cpreg_fleet_profile {
	struct cpreg_vm_options vm;  /* features no host lacks stay on; PSCI pinned to the lowest */
	uint32_t psci_lowest;        /* the lowest PSCI version among the hosts */
	bool psci_unpinnable;        /* versions differ but some host's QEMU is older than 11.1 */
};
/* policy: the QEMU the hosts run as destinations (NULL: each host's own, from its inventory). */
CPREG_EXPORT int cpreg_fleet_profile(const struct cpreg_fleet *f, const struct cpreg_policy *policy,
				     struct cpreg_fleet_profile *ret);

#ifdef __cplusplus
}
#endif
#endif
