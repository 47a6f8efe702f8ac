/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live trial on the replay backend (its write model is described in
 * probes/replay.c), its error paths, and how its results merge into a
 * verdict.  The trial on real kernels, against real QEMU migrations, runs in tests/vm/vm-migrate.sh.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>

#include "cpreg.h"
#include "fixture.h"
#include "kvm-abi.h"
#include "probe.h"
#include "tap.h"

static const struct cpreg_trial_reg *find(const struct cpreg_trial *t, uint64_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->regs[i].id == id)
			return &t->regs[i];
	return NULL;
}

int main(void)
{
	struct cpreg_inventory *n1_612 = fixture("neoverse-n1_linux-6.12"), *n1_72 = fixture("neoverse-n1_linux-7.2");
	struct cpreg_inventory *a64fx = fixture("a64fx_linux-6.12"), *a57_612 = fixture("cortex-a57_linux-6.12");
	struct cpreg_replay *rp = cpreg_replay_new(n1_612);
	const struct cpreg_kvm_ops *ops = cpreg_replay_ops(rp);
	struct cpreg_trial t = { 0 };
	struct cpreg_error err = { 0 };
	const struct cpreg_trial_reg *x;
	size_t accepted = 0;

	/* A host's own values: everything is taken, in ascending order. */
	tap_ok(cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err) == 0, "trial of a host against itself runs (%s)", err.message);
	for (size_t i = 0; i < t.n; i++)
		accepted += t.regs[i].outcome == CPREG_TRIAL_ACCEPTED;
	tap_ok(t.n == cpreg_inventory_migration_count(n1_612) && accepted == t.n,
	       "  all %zu migrated registers written and accepted", t.n);
	{
		bool ascending = true;

		for (size_t i = 1; i < t.n; i++)
			ascending &= t.regs[i - 1].id < t.regs[i].id;
		tap_ok(ascending, "  written in ascending id order, as QEMU writes its sorted list");
	}
	tap_ok(t.missing == 0 && cpreg_replay_open_fds(rp) == 0, "  no missing feature, nothing left open");
	cpreg_trial_clear(&t);

	/*
	 * 7.2 -> 6.12, with the 6.12 host's kernel replaying what the real one
	 * refused when real QEMU 11.1 loaded a 7.2 VM there: PSCI_VERSION only
	 * (tests/vm/migrate-expected.txt, n1-72-q11 n1-612-q11).  So the merge
	 * and the static rules are held against the real kernel, not against
	 * the replay's own kernel model.
	 */
	uint64_t real_refused[] = { CPREG_PSCI_VERSION };
	struct cpreg_replay *real = cpreg_replay_new(n1_612);
	const struct cpreg_kvm_ops *real_ops = cpreg_replay_ops(real);

	cpreg_replay_refuse_only(real, real_refused, 1);
	tap_ok(cpreg_trial_run(real_ops, NULL, n1_72, 0, &t, &err) == 0, "trial of a 7.2 source on a 6.12 host runs");
	x = find(&t, CPREG_PSCI_VERSION);
	tap_ok(x && x->outcome == CPREG_TRIAL_REJECTED && x->err == EINVAL && x->has_local && x->local == 0x10001,
	       "  PSCI_VERSION 0x10003 rejected with EINVAL; this host's value 0x10001 recorded");
	x = find(&t, UINT64_C(0x6030000000160003));
	tap_ok(x && x->outcome == CPREG_TRIAL_UNKNOWN_ID, "  VENDOR_HYP_BMAP_2 unknown to KVM here (ENOENT)");
	{
		struct cpreg_verdict *v = NULL;
		struct cpreg_policy *p = NULL;
		struct cpreg_trial_summary sum = { t.regs, t.n, t.missing, t.vls_err, t.duration_ms };
		char *json = NULL;

		cpreg_policy_new_builtin("qemu-11.1", &p);
		cpreg_check(n1_72, n1_612, p, &v);
		tap_ok(cpreg_verdict_apply_trial(v, &sum) == 0 && cpreg_verdict_has_trial(v), "  merged into the verdict");
		tap_ok(cpreg_verdict_find(v, CPREG_PSCI_VERSION, CPREG_FIND_VALUE_DIFFERS)->outcome == CPREG_OUT_FAIL &&
		       strstr(cpreg_verdict_find(v, CPREG_PSCI_VERSION, CPREG_FIND_VALUE_DIFFERS)->message, "in the trial"),
		       "  PSCI_VERSION fails, by the trial");
		tap_ok(cpreg_verdict_find(v, UINT64_C(0x6030000000160003), CPREG_FIND_ONLY_IN_SOURCE)->outcome ==
		       CPREG_OUT_TOLERATED, "  VENDOR_HYP_BMAP_2 stays tolerated: the index merge decides ids on one end");
		tap_ok(cpreg_verdict_contradictions(v) == 0, "  the static rules agree with the real kernel's refusals");
		tap_ok(cpreg_verdict_to_json(v, &json) == 0 && strstr(json, "\"trial\": {\"ran\": true"),
		       "  the verdict's JSON carries the trial");
		tap_ok(cpreg_verdict_apply_trial(v, &sum) == -EINVAL, "  a second trial cannot be merged");
		free(json);
		cpreg_verdict_unref(v);

		/* The same with PSCI pinned to 1.1 (QEMU 11.1 -cpu host,kvm-psci-version=1.1). */
		{
			struct cpreg_inventory *pinned = fixture("neoverse-n1_linux-7.2");
			struct cpreg_vm_options o = { 0 };
			struct cpreg_trial t2 = { 0 };

			tap_ok(cpreg_parse_psci_version("1.1", &o.psci_version) == 0 && o.psci_version == 0x10001,
			       "kvm-psci-version=1.1 parses to 0x10001");
			cpreg_inventory_apply_vm_options(pinned, &o);
			cpreg_check(pinned, n1_612, p, &v);
			/* Real QEMU loaded it with nothing refused (migrate-expected.txt, kvm-psci-version=1.1). */
			cpreg_replay_refuse_only(real, NULL, 0);
			cpreg_trial_run(real_ops, NULL, pinned, 0, &t2, &err);
			sum = (struct cpreg_trial_summary){ t2.regs, t2.n, t2.missing, t2.vls_err, t2.duration_ms };
			cpreg_verdict_apply_trial(v, &sum);
			tap_ok(cpreg_verdict_result(v) == CPREG_COMPATIBLE,
			       "7.2 -> 6.12 with the VM pinning PSCI 1.1: compatible (measured with real QEMU: it loads)");
			cpreg_verdict_unref(v);
			cpreg_trial_clear(&t2);
			cpreg_inventory_unref(pinned);
		}
		cpreg_policy_unref(p);
	}
	cpreg_trial_clear(&t);

	/* A source VM with SVE on a host without it: a failing feature finding. */
	tap_ok(cpreg_trial_run(ops, NULL, a64fx, 0, &t, &err) == 0 && (t.missing & (1u << CPREG_FEAT_SVE)),
	       "a64fx (SVE) source on neoverse-n1: SVE reported missing");
	{
		struct cpreg_verdict *v = NULL;
		struct cpreg_trial_summary sum = { t.regs, t.n, t.missing, t.vls_err, t.duration_ms };

		cpreg_check(a64fx, n1_612, NULL, &v);
		cpreg_verdict_apply_trial(v, &sum);
		tap_ok(cpreg_verdict_result(v) == CPREG_INCOMPATIBLE && cpreg_verdict_find(v, 0, CPREG_FIND_VCPU_FEATURE) &&
		       strcmp(cpreg_verdict_find(v, 0, CPREG_FIND_VCPU_FEATURE)->name, "sve") == 0,
		       "  the verdict fails on the vcpu-feature finding \"sve\"");
		cpreg_verdict_unref(v);
	}
	cpreg_trial_clear(&t);

	/* Where the trial and the static model disagree, the trial wins and it is listed. */
	{
		struct cpreg_verdict *v = NULL;
		struct cpreg_trial_summary sum;

		cpreg_trial_run(ops, NULL, a57_612, 0, &t, &err);
		cpreg_check(a57_612, n1_612, NULL, &v);
		tap_ok(cpreg_verdict_find(v, UINT64_C(0x603000000013c030), CPREG_FIND_VALUE_DIFFERS)->outcome == CPREG_OUT_OK,
		       "a57 -> n1 on 6.12: ID_AA64ISAR0_EL1 lower than here: safe by the static 6.7+ rules");
		/*
		 * The replay answers with the kernel model, so it agrees with the
		 * static check; make its "kernel" accept an ID value the model calls
		 * a failure, and refuse one the model accepts.
		 */
		for (size_t i = 0; i < t.n; i++) {
			if (t.regs[i].id == CPREG_MIDR_EL1)
				t.regs[i].outcome = CPREG_TRIAL_ACCEPTED;
			if (t.regs[i].id == UINT64_C(0x603000000013c030)) {
				t.regs[i].outcome = CPREG_TRIAL_REJECTED;
				t.regs[i].err = E2BIG;
			}
		}
		sum = (struct cpreg_trial_summary){ t.regs, t.n, t.missing, t.vls_err, t.duration_ms };
		cpreg_verdict_apply_trial(v, &sum);
		tap_ok(cpreg_verdict_find(v, UINT64_C(0x603000000013c030), CPREG_FIND_VALUE_DIFFERS)->outcome == CPREG_OUT_FAIL,
		       "  the trial wins: refused");
		tap_ok(cpreg_verdict_find(v, CPREG_MIDR_EL1, CPREG_FIND_VALUE_DIFFERS)->outcome == CPREG_OUT_OK,
		       "  an accepted MIDR_EL1 overrides the static fail");
		{
			bool isar0 = false, midr = false;

			for (size_t i = 0; i < cpreg_verdict_contradictions(v); i++) {
				uint64_t id;
				enum cpreg_outcome st, tr;

				cpreg_verdict_contradiction_at(v, i, &id, &st, &tr);
				isar0 |= id == UINT64_C(0x603000000013c030) && st == CPREG_OUT_OK && tr == CPREG_OUT_FAIL;
				midr |= id == CPREG_MIDR_EL1 && st == CPREG_OUT_FAIL && tr == CPREG_OUT_OK;
			}
			tap_ok(isar0 && midr, "  both disagreements are listed as contradictions (%zu in all)",
			       cpreg_verdict_contradictions(v));
		}
		cpreg_verdict_unref(v);
		cpreg_trial_clear(&t);
	}

	/* Error paths: a write that fails with each errno is recorded with it. */
	{
		static const int errs[] = { EINVAL, EPERM, EBUSY, E2BIG, EFAULT };

		for (size_t k = 0; k < sizeof(errs) / sizeof(errs[0]); k++) {
			cpreg_replay_fail_reg(rp, UINT64_C(0x603000000013c020), true, errs[k]);
			cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err);
			x = find(&t, UINT64_C(0x603000000013c020));
			tap_ok(x && x->outcome == CPREG_TRIAL_REJECTED && x->err == errs[k],
			       "a write refused with %s is recorded as rejected with %s", strerrorname_np(errs[k]),
			       strerrorname_np(errs[k]));
			cpreg_trial_clear(&t);
		}
		cpreg_replay_fail_reg(rp, 0, true, 0);
	}
	/* Every kernel operation of the trial failing in turn: a named step or a recorded outcome, never a leak. */
	{
		unsigned total, bad = 0, stopped = 0;

		cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err);
		cpreg_trial_clear(&t);
		cpreg_replay_fail(rp, 0, 0, 0);
		cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err);
		total = cpreg_replay_calls(rp);
		cpreg_trial_clear(&t);
		for (unsigned i = 1; i <= total; i++) {
			int r;

			memset(&err, 0, sizeof(err));
			cpreg_replay_fail(rp, i, 0, EIO);
			r = cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err);
			if (r < 0) {
				stopped++;
				bad += !err.where[0] || t.regs != NULL;
			}
			bad += cpreg_replay_open_fds(rp) != 0;
			cpreg_trial_clear(&t);
		}
		cpreg_replay_fail(rp, 0, 0, 0);
		tap_ok(total > 500 && bad == 0, "each of the trial's %u kernel operations failing: clean (%u bad)", total, bad);
		tap_ok(stopped >= 4, "  %u of them stop the trial with a named step", stopped);
		cpreg_replay_fail(rp, 0, CPREG_KVM_CREATE_VCPU, EMFILE);
		tap_ok(cpreg_trial_run(ops, NULL, n1_612, 0, &t, &err) == -EMFILE && strcmp(err.where, "KVM_CREATE_VCPU") == 0 &&
		       cpreg_replay_open_fds(rp) == 0, "a vCPU that cannot be created: \"%s: %s\"", err.where, err.message);
		cpreg_replay_fail(rp, 0, 0, 0);
	}
	{
		struct cpreg_verdict *v = NULL;
		char *json = NULL;

		cpreg_check(n1_72, n1_612, NULL, &v);
		cpreg_verdict_trial_failed(v, "no KVM device");
		cpreg_verdict_to_json(v, &json);
		tap_ok(strstr(json, "\"trial\": {\"ran\": false, \"summary\": \"no KVM device\"}") != NULL,
		       "a trial that could not run is said in the verdict");
		free(json);
		cpreg_verdict_unref(v);
	}
	cpreg_replay_free(rp);
	cpreg_replay_free(real);
	cpreg_inventory_unref(n1_612);
	cpreg_inventory_unref(n1_72);
	cpreg_inventory_unref(a64fx);
	cpreg_inventory_unref(a57_612);
	return tap_done();
}
