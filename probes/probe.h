/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probes/: the parts of cpregd that ask the kernel.  Every kernel access
 * goes through struct cpreg_kvm_ops, so the replay backend (a recorded real
 * inventory) can stand in for /dev/kvm in unit tests and inject failures at
 * any step.
 */
#ifndef CPREG_PROBE_H
#define CPREG_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpreg.h"

struct cpreg_kvm_ops {
	/* open(2): an fd, or a negative errno. */
	int (*open)(void *ctx, const char *path, int flags);
	/* ioctl(2): its non-negative result, or a negative errno (EINTR already retried). */
	int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
	void (*close)(void *ctx, int fd);
	/* Host facts (kernel release, CPUs' MIDR, page size, hostname) into inv. */
	int (*host_facts)(void *ctx, struct cpreg_inventory *inv);
	void *ctx;
};

/* The real kernel. */
extern const struct cpreg_kvm_ops cpreg_kvm_real_ops;

/* What vCPU a probe builds: QEMU "-cpu host" by default. */
struct cpreg_probe_opts {
	const struct cpreg_kvm_ops *ops;  /* NULL: the real kernel */
	const char *dev;                  /* NULL: /dev/kvm */
	uint32_t disable;                 /* CPREG_FEAT_* bits turned off (pmu=off, sve=off...) */
	const char *qemu;                 /* qemu-system-aarch64 to ask its version; NULL: none */
};

/*
 * A scratch VM and vCPU as QEMU builds them for "-cpu host" (BRIEF section
 * 4): never run, always closed with cpreg_scratch_close().
 */
struct cpreg_scratch {
	const struct cpreg_kvm_ops *ops;
	int kvm, vm, vcpu;
	int ipa_bits;
	uint32_t target;
	uint32_t features;   /* CPREG_FEAT_* bits the vCPU was initialised with */
	uint32_t missing;    /* wanted features this host cannot give (left out) */
	int vls_err;         /* positive errno when set_vls was refused */
};

/*
 * Create it.  want: the features to ask for (UINT32_MAX: everything the
 * host offers, as QEMU does); a wanted feature the host lacks is left out
 * and reported in s->missing.  set_vls: SVE vector lengths to write before
 * finalizing (NULL: the host's).  On failure err names the step and errno,
 * and nothing stays open.
 */
int cpreg_scratch_open(struct cpreg_scratch *s, const struct cpreg_kvm_ops *ops, const char *dev,
		       uint32_t want, uint32_t disable, const uint64_t *set_vls, struct cpreg_error *err);
void cpreg_scratch_close(struct cpreg_scratch *s);
/* KVM_GET_REG_LIST: n=0, E2BIG, allocate, fetch, re-check.  free() *ret. */
int cpreg_scratch_reg_list(struct cpreg_scratch *s, uint64_t **ret, size_t *ret_n, struct cpreg_error *err);
int cpreg_scratch_get(struct cpreg_scratch *s, uint64_t id, uint64_t *ret_value);
int cpreg_scratch_set(struct cpreg_scratch *s, uint64_t id, uint64_t value);

/* Probe the host into a new inventory. */
int cpreg_probe(const struct cpreg_probe_opts *opts, struct cpreg_inventory **ret, struct cpreg_error *err);

/* The installed QEMU's version ("7.2.19"), from `qemu --version`; free() it. */
int cpreg_qemu_version(const char *qemu, char **ret);

/* ---- the live trial (issue: let the destination kernel judge) ---- */

/*
 * Create a fresh scratch vCPU here as the destination QEMU builds it for the
 * VM ("-cpu host" less the features vm_disable turns off, with the source's
 * vector lengths), and write the source's migrated values into it in
 * ascending id order, as QEMU's write-back does.  Every register's fate is
 * recorded in the returned array (free() it); missing features and a
 * refused vector-length set are reported.  Never runs the vCPU; closes
 * everything, also on error.
 */
struct cpreg_trial {
	struct cpreg_trial_reg *regs;
	size_t n;
	uint32_t missing;   /* source features this host cannot give */
	int vls_err;        /* positive errno: the source's SVE vector lengths were refused */
	int64_t duration_ms;
	struct cpreg_inventory *after;  /* want_after: the vCPU read back after the writes (its list, migrated ids) */
};
int cpreg_trial_run(const struct cpreg_kvm_ops *ops, const char *dev, const struct cpreg_inventory *source,
		    uint32_t vm_disable, struct cpreg_trial *ret, struct cpreg_error *err);
/* The same, and with want_after the vCPU read back once every value was written (a VM's passport after the hop). */
int cpreg_trial_run_read_back(const struct cpreg_kvm_ops *ops, const char *dev, const struct cpreg_inventory *source,
			      uint32_t vm_disable, bool want_after, struct cpreg_trial *ret, struct cpreg_error *err);
void cpreg_trial_clear(struct cpreg_trial *t);

/*
 * The trial as the library's pipeline asks for it (cpreg_trial_fn, ctx a
 * struct cpreg_trial_env): run it and merge it into the verdict, or say in
 * the verdict why it could not run (then failed says it too).
 */
struct cpreg_trial_env {
	const struct cpreg_kvm_ops *ops;  /* NULL: the kernel's */
	const char *dev;                  /* NULL: /dev/kvm */
	bool read_back;                   /* keep the vCPU as read back after the writes in after */
	/* out */
	struct cpreg_inventory *after;    /* read_back and the trial ran: the caller unrefs it */
	bool ran;
	int64_t ms;
	char failed[600];                 /* why it could not run, or "" */
};
int cpreg_trial_judge(void *ctx, const struct cpreg_inventory *src, uint32_t vm_disable, struct cpreg_verdict *v);

/* ---- replay backend ---- */

struct cpreg_replay;
/* Answer the probe's operations from a recorded inventory (taken by reference). */
struct cpreg_replay *cpreg_replay_new(struct cpreg_inventory *recorded);
struct cpreg_replay *cpreg_replay_free(struct cpreg_replay *r);
/* The ops table bound to this replay. */
const struct cpreg_kvm_ops *cpreg_replay_ops(struct cpreg_replay *r);
/*
 * Fail an operation with err (positive errno): the nth ioctl (1-based, 0:
 * any), or the first one with this request (0: any); open is request
 * UINT64_MAX.  Both 0 clears.
 */
void cpreg_replay_fail(struct cpreg_replay *r, unsigned nth, unsigned long request, int err);
/* Make one register fail KVM_GET_ONE_REG or KVM_SET_ONE_REG with err. */
void cpreg_replay_fail_reg(struct cpreg_replay *r, uint64_t id, bool on_set, int err);
/*
 * Replay recorded real refusals instead of the kernel model: KVM_SET_ONE_REG
 * refuses exactly these ids (-EINVAL) and takes every other value, as the
 * kernel did in a real migration (tests/vm/migrate-expected.txt).
 */
int cpreg_replay_refuse_only(struct cpreg_replay *r, const uint64_t *ids, size_t n);
/* Operations so far, and fds still open (a leak when > 0 after a probe). */
unsigned cpreg_replay_calls(const struct cpreg_replay *r);
int cpreg_replay_open_fds(const struct cpreg_replay *r);


#endif
