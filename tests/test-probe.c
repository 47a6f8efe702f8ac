/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe path on the replay backend (recorded real inventories), and
 * fault injection at every one of its kernel operations.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>

#include "cpreg.h"
#include "fixture.h"
#include "kvm-abi.h"
#include "probe.h"
#include "tap.h"

int main(void)
{
	char **names = fixture_names();

	/*
	 * The probe's own bookkeeping on every recorded host: it finishes and
	 * closes every descriptor it opened.  (What it reads is checked against
	 * real KVM in tests/vm/vm-probe.sh, not against the replay's own data.)
	 */
	for (char **n = names; *n; n++) {
		struct cpreg_inventory *rec = fixture(*n), *inv = NULL;
		struct cpreg_replay *rp = cpreg_replay_new(rec);
		struct cpreg_probe_opts o = { .ops = cpreg_replay_ops(rp) };
		struct cpreg_error err = { 0 };

		tap_ok(cpreg_probe(&o, &inv, &err) == 0 && cpreg_replay_open_fds(rp) == 0,
		       "%s: the probe ends and leaves no fd open (%s %s)", *n, err.where, err.message);
		cpreg_inventory_unref(inv);
		cpreg_replay_free(rp);
		cpreg_inventory_unref(rec);
	}

	/* A failure at each operation: a clear error or a recorded gap, never a crash or a leak. */
	{
		struct cpreg_inventory *rec = fixture("max_linux-7.2"), *inv = NULL;
		struct cpreg_replay *rp = cpreg_replay_new(rec);
		struct cpreg_probe_opts o = { .ops = cpreg_replay_ops(rp) };
		struct cpreg_error err;
		unsigned total, failed = 0, recorded = 0, bad = 0;

		cpreg_probe(&o, &inv, NULL);
		total = cpreg_replay_calls(rp);
		inv = cpreg_inventory_unref(inv);
		for (unsigned i = 1; i <= total; i++) {
			int r;

			memset(&err, 0, sizeof(err));
			cpreg_replay_fail(rp, i, 0, EIO);
			r = cpreg_probe(&o, &inv, &err);
			if (r < 0) {
				failed++;
				/*
				 * Every failure stops the probe with its step and errno, a
				 * failed capability query too (read as "absent" it would
				 * build a smaller vCPU and publish a wrong inventory).
				 */
				if (r != -EIO || !err.where[0] || !strstr(err.message, strerror(EIO)) || inv) {
					bad++;
					tap_diag("op %u: r=%d where=\"%s\" message=\"%s\"", i, r, err.where, err.message);
				}
			} else {
				/* A failed register read is recorded as unreadable. */
				for (size_t k = 0; k < cpreg_inventory_count(inv); k++)
					recorded += cpreg_inventory_at(inv, k)->state == CPREG_UNREADABLE;
			}
			if (cpreg_replay_open_fds(rp) != 0) {
				bad++;
				tap_diag("op %u leaks %d fds", i, cpreg_replay_open_fds(rp));
			}
			inv = cpreg_inventory_unref(inv);
		}
		tap_ok(total > 300, "max on 7.2: the probe makes %u kernel operations", total);
		tap_ok(bad == 0, "each of them failing with EIO gives a named step and errno, and no leak (%u bad)", bad);
		tap_ok(failed >= 9, "%u of them stop the probe (open, create VM/vCPU, init, finalize, lists, masks...)", failed);
		tap_ok(recorded > 300, "a failed register read is recorded as unreadable (%u times), not dropped", recorded);

		/* Particular failures and their words. */
		cpreg_replay_fail(rp, 0, ULONG_MAX, ENOENT);
		memset(&err, 0, sizeof(err));
		tap_ok(cpreg_probe(&o, &inv, &err) == -ENOENT && strstr(err.message, "no KVM device") &&
		       strcmp(err.where, "open /dev/kvm") == 0, "missing /dev/kvm: \"%s: %s\"", err.where, err.message);
		cpreg_replay_fail(rp, 0, ULONG_MAX, EACCES);
		tap_ok(cpreg_probe(&o, &inv, &err) == -EACCES && strstr(err.message, "permission denied"),
		       "no permission: \"%s\"", err.message);
		cpreg_replay_fail(rp, 0, CPREG_KVM_ARM_PREFERRED_TARGET, ENOTTY);
		tap_ok(cpreg_probe(&o, &inv, &err) == -ENOTTY && strstr(err.message, "not an arm64 KVM") &&
		       strcmp(err.where, "KVM_ARM_PREFERRED_TARGET") == 0, "a KVM that is not arm64: \"%s: %s\"",
		       err.where, err.message);
		cpreg_replay_fail(rp, 0, CPREG_KVM_CREATE_VCPU, EMFILE);
		tap_ok(cpreg_probe(&o, &inv, &err) == -EMFILE && strcmp(err.where, "KVM_CREATE_VCPU") == 0 &&
		       cpreg_replay_open_fds(rp) == 0, "KVM_CREATE_VCPU fails: named, and the VM fd is closed");
		cpreg_replay_fail(rp, 0, CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS, EINVAL);
		tap_ok(cpreg_probe(&o, &inv, &err) == -EINVAL && strcmp(err.where, "KVM_ARM_GET_REG_WRITABLE_MASKS") == 0,
		       "writable masks fail: named");
		cpreg_replay_fail(rp, 0, 0, 0);
		cpreg_replay_fail_reg(rp, CPREG_MIDR_EL1, false, EPERM);
		tap_ok(cpreg_probe(&o, &inv, &err) == 0 && cpreg_inventory_find(inv, CPREG_MIDR_EL1)->state == CPREG_UNREADABLE &&
		       cpreg_inventory_find(inv, CPREG_MIDR_EL1)->read_errno == EPERM, "an unreadable MIDR_EL1 is kept with EPERM");
		inv = cpreg_inventory_unref(inv);
		cpreg_replay_fail_reg(rp, 0, false, 0);

		/* Features: pmu=off asks for a vCPU the recording does not have, and the kernel (replay) refuses. */
		o.disable = 1u << CPREG_FEAT_PMU_V3;
		tap_ok(cpreg_probe(&o, &inv, &err) == -EINVAL && strcmp(err.where, "KVM_ARM_VCPU_INIT") == 0,
		       "a vCPU without PMU is initialised without the PMU bit (replay refuses it: not recorded)");
		o.disable = 0;
		cpreg_replay_free(rp);
		cpreg_inventory_unref(rec);
	}
	/* The real kernel: on this machine there is no arm64 KVM, and the error says why. */
	{
		struct cpreg_probe_opts o = { .dev = "/nonexistent/kvm" };
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };

		tap_ok(cpreg_probe(&o, &inv, &err) == -ENOENT && strstr(err.message, "no KVM device") && !inv,
		       "real backend, missing device: \"%s: %s\"", err.where, err.message);
#ifndef __aarch64__
		o.dev = "/dev/kvm";
		memset(&err, 0, sizeof(err));
		tap_ok(cpreg_probe(&o, &inv, &err) < 0 && !inv && err.where[0] && err.message[0],
		       "real /dev/kvm on a non-arm64 machine fails cleanly: \"%s: %s\"", err.where, err.message);
#endif
	}
	fixture_names_free(names);
	return tap_done();
}
