/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verdict's layout, shared by the check that builds it (check.c), the
 * object and its trial merge and remedies (verdict.c) and its JSON form
 * (verdict-json.c).  Internal to the library.
 */
#ifndef CPREG_VERDICT_H
#define CPREG_VERDICT_H

#include <pthread.h>

#include "cpreg-internal.h"

/* The one tolerance that is not QEMU's: its pre-11.1 loader dropping a sorted-after tail. */
extern const char legacy_tail[];
extern const char oom_message[];
// = "legacy-dropped-tail";

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
	/* The VM's passport after this hop (a compatible passport check on its destination), or NULL. */
	struct cpreg_passport *passport_after;
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

extern const char oom_message[];

extern const char *const kind_names[6], *const outcome_names[5], *const result_names[3];

struct cpreg_finding *verdict_add_finding(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind);
void finding_msg(struct cpreg_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The result from the findings: fail beats unknown beats compatible. */
void verdict_recompute(struct cpreg_verdict *v);
/* Word every finding still to be worded (before the verdict is written whole). */
void verdict_fill_texts(const struct cpreg_verdict *cv);
void verdict_word_one(const struct cpreg_verdict *cv, size_t i);
/* QEMU's name of a register in its messages ("op0:3 op1:0 crn:0 crm:0 op2:0", "fw reg 0"). */
void verdict_qemu_reg_name(uint64_t id, char *buf, size_t len);
/* The reasons' stable names, by enum cpreg_reason (1 .. CPREG_REASON_COUNT - 1). */
#define CPREG_REASON_COUNT (CPREG_REASON_NOT_READABLE + 1)
extern const char *const reason_names[CPREG_REASON_COUNT];
/* The vCPU features that change what migrates (KVM hides their registers and ID fields). */
#define VM_FEATURES (1u << CPREG_FEAT_PMU_V3 | 1u << CPREG_FEAT_SVE | 1u << CPREG_FEAT_PTRAUTH_ADDRESS)
int verdict_add_missing_feature(struct cpreg_verdict *v, unsigned bit);
struct cpreg_finding *verdict_find_mut(struct cpreg_verdict *v, uint64_t id, enum cpreg_finding_kind kind);

#endif
