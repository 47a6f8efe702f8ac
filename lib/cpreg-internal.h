/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcpreg internals: object layouts and helpers shared by the lib/ sources.  Not
 * installed; the tests reach it through libcpreg-internal.la.
 */
#ifndef CPREG_INTERNAL_H
#define CPREG_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* Hand a pointer over to the caller, so a cleanup attribute does not free it. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

/*
 * Reference counts are atomic: cpregd hands one inventory or policy to
 * its worker threads, and the objects are immutable once built.
 */
static inline void cpreg_ref_inc(int *n) { __atomic_add_fetch(n, 1, __ATOMIC_RELAXED); }
static inline int cpreg_ref_dec(int *n) { return __atomic_sub_fetch(n, 1, __ATOMIC_ACQ_REL); }

#define CPREG_MAX_CAPS 24
#define CPREG_MAX_CPUS 1024

struct cpreg_inventory {
	int refcount;
	struct cpreg_reg *regs;   /* ascending id, unique */
	size_t n_regs, cap_regs;
	char *text[_CPREG_TEXT_MAX];
	int64_t num[_CPREG_NUM_MAX];
	uint32_t num_set;         /* bit per enum cpreg_number */
	int64_t caps[CPREG_MAX_CAPS]; /* indexed like the capability table */
	uint32_t caps_set;
	bool has_masks;
	uint64_t masks[CPREG_WRITABLE_MASKS];
	bool has_vls;
	uint64_t vls[8];
	struct { unsigned cpu; uint64_t midr; } *cpus;
	size_t n_cpus;
	/*
	 * The digest, kept by cpreg_inventory_seal() once an inventory is built
	 * (read, probed) and before it is shared between threads; every change
	 * to the registers drops it.  A check hashes nothing it was given.
	 */
	bool digest_ok;
	char digest[CPREG_DIGEST_LEN];
	size_t migrated;          /* kept with the digest: the registers QEMU migrates */
};

/*
 * cpreg_inventory_from_json without its fast path for the registers array:
 * the fuzz targets check that both read every input alike.
 */
int cpreg_inventory_from_json_general(const char *text, size_t len, struct cpreg_inventory **ret_inv,
				      struct cpreg_error *err);

/* Whether QEMU 11.1's built-in tolerance table names this register (no allocation: remedies ask per finding). */
bool cpreg_builtin_11_1_lists(uint64_t id);

/* The scratch vCPU's features (CPREG_FEAT_* bits) the inventory records, CPREG_DEFAULT_FEATURES when none. */
uint32_t cpreg_inventory_features(const struct cpreg_inventory *inv);

/* Compute and keep the digest (only while the inventory is not shared). */
void cpreg_inventory_seal(struct cpreg_inventory *inv);

/* Fill err (when given) and return its negative errno. */
int cpreg_err(struct cpreg_error *err, int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix err->where with "prefix:" (a file name before a JSON path). */
void cpreg_err_prefix(struct cpreg_error *err, const char *prefix);

/* cpreg_id_migrates for the library's own loops: QEMU migrates all but the core and SVE groups. */
static inline bool cpreg_migrates(uint64_t id)
{
	unsigned g = CPREG_ID_GROUP(id);

	return g != CPREG_GROUP_CORE && g != CPREG_GROUP_SVE;
}

/* Each register's fields stand together in the ID field table (cpreg_fields_of relies on it). */
bool cpreg_fields_grouped(void);

/*
 * Bounded appenders for the words of findings, which a fleet's answers
 * write by the ten thousand (snprintf was most of that): each appends at
 * off within buf[len], keeps it NUL-terminated, cuts what does not fit (as
 * snprintf would) and returns the new offset.  Hex without 0x or padding.
 */
static inline size_t cpreg_put(char *buf, size_t len, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (off + 1 >= len)
		return off;
	if (n > len - 1 - off)
		n = len - 1 - off;
	memcpy(buf + off, s, n);
	buf[off + n] = '\0';
	return off + n;
}
size_t cpreg_put_i64(char *buf, size_t len, size_t off, int64_t v);
size_t cpreg_put_hex(char *buf, size_t len, size_t off, uint64_t v);

/*
 * A growing text buffer for the JSON writers (inventory, verdict): appends
 * without stdio's per-call costs.  On out-of-memory it stops growing and
 * cpreg_buf_finish says -ENOMEM.
 */
struct cpreg_buf {
	char *p;
	size_t n, cap;
	bool failed;
};
bool cpreg_buf_grow(struct cpreg_buf *b, size_t more);
/* Room for `more` bytes and the final NUL; false once out of memory. */
static inline bool cpreg_buf_reserve(struct cpreg_buf *b, size_t more)
{
	return (!b->failed && b->cap - b->n > more) || cpreg_buf_grow(b, more);
}
static inline void cpreg_buf_add(struct cpreg_buf *b, const void *s, size_t n)
{
	if (cpreg_buf_reserve(b, n)) {
		memcpy(b->p + b->n, s, n);
		b->n += n;
	}
}
static inline void cpreg_buf_str(struct cpreg_buf *b, const char *s)
{
	cpreg_buf_add(b, s, strlen(s));
}
#define cpreg_buf_lit(b, lit) cpreg_buf_add((b), "" lit, sizeof(lit) - 1)
void cpreg_buf_printf(struct cpreg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v in lowercase hex, zero-padded to `digits` (1..16), no prefix. */
void cpreg_buf_hex(struct cpreg_buf *b, uint64_t v, unsigned digits);
void cpreg_buf_u64(struct cpreg_buf *b, uint64_t v);
void cpreg_buf_i64(struct cpreg_buf *b, int64_t v);
/*
 * s as a JSON string (quotes; \" \\ and \u00XX for control bytes), or null
 * for NULL; a byte that starts no valid UTF-8 character is written as the
 * four characters \xHH, so every document stays valid UTF-8.
 */
void cpreg_buf_json(struct cpreg_buf *b, const char *s);
/* The length of the valid UTF-8 character at s (1 for ASCII, up to 4), or 0 when none starts there. */
size_t cpreg_utf8_seq(const char *s, size_t left);
/* The text, NUL-terminated, handed to *ret; -ENOMEM if any append failed. */
int cpreg_buf_finish(struct cpreg_buf *b, char **ret);

/* ---- the VM's options (vmopts.c) ---- */
struct jw;
/* The options as the fleet documents' "vm_options" object. */
void cpreg_vm_options_json(struct jw *w, const char *key, const struct cpreg_vm_options *vm);
/* disable with every option's features complete (pointer auth goes as a pair, as QEMU's "pauth" does). */
uint32_t cpreg_vm_disable_bits(uint32_t disable);
/* The switch that turns feature bit off, or NULL. */
const struct cpreg_vm_option *cpreg_vm_option_for_feature(unsigned bit);
/* "NAME=VALUE" of one option as QEMU spells it with vm's value ("kvm-psci-version=1.1", "pmu=off"). */
int cpreg_vm_option_qemu_form(const struct cpreg_vm_option *o, const struct cpreg_vm_options *vm, char *buf, size_t len);
/* The options a destination's vCPU takes: the VM's vCPU options, not its pinned PSCI version (that migrates). */
struct cpreg_vm_options cpreg_vm_destination_options(const struct cpreg_vm_options *vm);

/* The VM's options change what is checked (any vCPU feature off, an SVE length or a PSCI version pinned). */
static inline bool cpreg_vm_options_any(const struct cpreg_vm_options *vm)
{
	return vm && (vm->psci_version || vm->disable || vm->sve_max_vq);
}
/*
 * The source with vm applied and the destination with the options a
 * destination takes (its vCPU's, not the pinned PSCI version), as the
 * pipeline judges them: copies, sealed.  For callers that judge many pairs
 * under the same options (a fleet: n copies instead of two per pair).
 */
int cpreg_check_vm_options(const struct cpreg_inventory *src, const struct cpreg_inventory *dst,
			   const struct cpreg_vm_options *vm, struct cpreg_inventory **ret_src,
			   struct cpreg_inventory **ret_dst);

/*
 * cpreg_judge on inventories the options were applied to already (s, d:
 * from cpreg_check_vm_options, both NULL for none): a fleet prepares each
 * host once and judges it n - 1 times each way.
 */
int cpreg_judge_prepared(const struct cpreg_judge_args *a, const struct cpreg_inventory *s,
			 const struct cpreg_inventory *d, struct cpreg_verdict **ret);

/*
 * Before any host is added: group hosts by digest and this policy (a
 * static string, a destination forced to it) instead of each one's own
 * QEMU's, as cpregctl matrix -p POLICY pools them.
 */
int cpreg_fleet_group_by_policy(struct cpreg_fleet *f, const char *policy);
/* How many judged states the last cpreg_fleet_judge checked pairwise (groups alike to every rule are one). */
size_t cpreg_fleet_judged_states(const struct cpreg_fleet *f);

/* The longest finding message written or read (the verdict reader refuses longer ones). */
#define CPREG_MESSAGE_MAX 383

/*
 * cpreg_kernel_judge's outcome and rule without its words (ret->why is
 * left as it was): what the static check's merge needs.  dreg: the
 * destination's register for id when the caller has it at hand (the merge
 * does), or NULL to look it up.
 */
int cpreg_kernel_judge_outcome(const struct cpreg_inventory *dst, const struct cpreg_reg *dreg, uint64_t id,
			       uint64_t value, struct cpreg_kernel_answer *ret);

/*
 * ---- The kernels' own rules (lib/kernel-rules.c, generated from their
 * source by lib/gen-kernel-rules.py; issue 25) ----
 * Per kernel version: the ID register fields arm64_check_features() checks
 * a userspace write against (cpufeature.c's tables, with the rules KVM's
 * kvm_arm64_ftr_safe_value() changes), and kvm_arm_set_fw_reg()'s rules
 * for the firmware registers.  Lines are those of the kernel's files.
 */
struct cpreg_kfield {
	uint64_t reg;
	uint8_t shift, width;
	bool sign;
	enum cpreg_field_rule rule;
	int64_t safe;              /* FTR_EXACT's safe value */
	unsigned line;
};

/*
 * What a per-register set_id_*() handler of sys_regs.c does to a userspace
 * write before set_id_reg() checks it (lib/kernel-rules.c).
 */
enum cpreg_kadj_kind {
	CPREG_KADJ_IGNORE_IF_HOST = 1, /* the field dropped when it equals the host's own (hidden from the VM) */
	CPREG_KADJ_REPLACE,            /* value a written as b */
	CPREG_KADJ_MIN,                /* below a: -EINVAL */
	CPREG_KADJ_MIN_OR_ZERO,        /* below a and not 0: -EINVAL */
	CPREG_KADJ_AT_MOST_HOST,       /* at most the host's own value and at most a (before 6.7: CSV2/CSV3) */
};

struct cpreg_kadjust {
	uint64_t reg;
	uint8_t shift, width;
	enum cpreg_kadj_kind kind;
	uint8_t a, b;
	unsigned line;             /* of sys_regs.c */
};

struct cpreg_kbitmap {
	unsigned n;                /* KVM_REG_ARM_FW_FEAT_BMAP_REG(n) */
	uint64_t features;         /* what the kernel lets a VM have */
};

struct cpreg_krules {
	unsigned major, minor;
	const char *release;       /* the source's own version, as its Makefile says */
	const struct cpreg_kfield *fields;
	size_t n_fields;
	unsigned check_line;       /* sys_regs.c's arm64_check_features(); 0: ID registers invariant */
	const struct cpreg_kadjust *adjusts;
	size_t n_adjusts;
	const uint32_t *psci;      /* the PSCI versions taken from a vCPU with PSCI 0.2 */
	size_t n_psci;
	unsigned psci_line, wa13_line;
	uint8_t wa2_map[4];        /* WORKAROUND_2: incoming level -> the level compared with the host's */
	uint64_t wa2_enabled;      /* its ENABLED bit, taken with level wa2_enabled_with only */
	unsigned wa2_enabled_with, wa2_line;
	const struct cpreg_kbitmap *bmaps;
	size_t n_bmaps;
	unsigned bmap_line;
};

extern const struct cpreg_krules cpreg_krules[];
extern const size_t cpreg_n_krules;

/*
 * The rules for an inventory's kernel (its uname -r): that version's, or
 * the nearest older one's (the oldest's, for an older kernel) with *exact
 * false: then only the destination's trial answers exactly.
 */
const struct cpreg_krules *cpreg_krules_for(const struct cpreg_inventory *inv, bool *exact);
/* The same by a uname -r ("6.12.117+deb13-cloud-arm64"); NULL or unparsable: the oldest's, not exact. */
const struct cpreg_krules *cpreg_krules_for_kernel(const char *kernel, bool *exact);
/* The verdict's destination judged by the nearest older kernel's rules: "needs a trial" (trial_advised). */
bool cpreg_verdict_rules_nearest(const struct cpreg_verdict *v, unsigned *major, unsigned *minor);

/* An errno from its name ("ENOENT"), -ENOENT when it has none: inventories name read errors. */
int cpreg_errno_from_name(const char *name);

/* Strict "0x..." hex (1..16 digits); -EINVAL when malformed. */
int cpreg_parse_hex(const char *s, uint64_t *ret);

/* The sysreg encoding fields of an id. */
struct cpreg_enc { unsigned op0, op1, crn, crm, op2; };
static inline struct cpreg_enc cpreg_sysreg_enc(uint64_t id)
{
	return (struct cpreg_enc){ (id >> 14) & 3, (id >> 11) & 7, (id >> 7) & 15, (id >> 3) & 15, id & 7 };
}

/* Registers whose value is a host property the kernel guards (BRIEF 5). */
bool cpreg_id_is_idreg(uint64_t id);

/* Index of a capability number in the table, negative when not recorded. */
int cpreg_cap_index(int cap);

/* Read a whole file of at most max bytes, NUL-terminated. */
/*
 * text (len bytes, malloc'd) that starts with the gzip magic is replaced
 * by what it holds (at most max bytes, NUL-terminated): ConfigMaps hold
 * more hosts compressed.  Anything else is left as it is.
 */
int cpreg_gunzip_maybe(char **text, size_t *len, size_t max, struct cpreg_error *err);
int cpreg_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct cpreg_error *err);

/* Strict JSON parse (json-c): bounded size and depth, no trailing data. */
struct json_object;
/* Now, UTC, RFC 3339 ("2026-12-04T16:33:16Z"): the times inventories and passports record. */
void cpreg_utc_now(char *buf, size_t len);
/* A cpreg-passport/1 already parsed (the verdict's passport_after); errors name paths inside it. */
int cpreg_passport_from_tree(struct json_object *root, struct cpreg_passport **ret, struct cpreg_error *err);
int cpreg_json_parse(const char *text, size_t len, struct json_object **ret, struct cpreg_error *err);

#endif
