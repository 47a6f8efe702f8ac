/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An independent witness for the VM tests: counts KVM_GET_REG_LIST on a
 * vCPU built from raw ioctls, without libcpreg or probes/, so the probe's
 * register count can be checked against what the kernel itself lists.
 * Features: PSCI 0.2, PMU, SVE (finalized), pointer auth, each when the
 * kernel offers it, as QEMU's "-cpu host" (BRIEF section 4).
 *
 * With --time N it is also the bare loop that make bench-vm holds cpregd's
 * probe against: N times, the same scratch VM and vCPU, KVM_GET_REG_LIST and
 * KVM_GET_ONE_REG of every register up to 64 bits, and closing it all;
 * --trial-time N adds a KVM_SET_ONE_REG of each value read, as the live
 * trial writes a source's values.  Prints each run, then the mean and the
 * fastest.
 * --serve runs one bare loop or one libcpreg probe per line asked (see
 * serve() below).
 * The timed probe also asks what an inventory records besides registers
 * (the SVE vector lengths, the capabilities, the writable masks, the API
 * version), so both sides make the same ioctls; for the capabilities it
 * reads libcpreg's table, the one thing it takes from libcpreg (the count
 * it witnesses uses none).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpreg.h"
#include "kvm-abi.h"
#include "probe.h"

static int ext(int kvm, int cap)
{
	int r = ioctl(kvm, CPREG_KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* The scratch vCPU as QEMU's -cpu host builds it; 0, or -1 with errno's message printed. */
static int scratch(int *ret_kvm, int *ret_vm, int *ret_vcpu)
{
	struct cpreg_kvm_vcpu_init init = { 0 };
	int kvm, vm, vcpu, sve = 4;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("open /dev/kvm");
		return -1;
	}
	vm = ioctl(kvm, CPREG_KVM_CREATE_VM, CPREG_KVM_VM_TYPE_ARM_IPA_SIZE(ext(kvm, 165)));
	if (vm < 0 || (vcpu = ioctl(vm, CPREG_KVM_CREATE_VCPU, 0)) < 0 ||
	    ioctl(vm, CPREG_KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		perror("scratch vCPU");
		return -1;
	}
	if (ext(kvm, 102))
		init.features[0] |= 1u << 2;
	if (ext(kvm, 126))
		init.features[0] |= 1u << 3;
	if (ext(kvm, 170))
		init.features[0] |= 1u << 4;
	if (ext(kvm, 171) && ext(kvm, 172))
		init.features[0] |= 1u << 5 | 1u << 6;
	if (ioctl(vcpu, CPREG_KVM_ARM_VCPU_INIT, &init) < 0 ||
	    ((init.features[0] & 1u << 4) && ioctl(vcpu, CPREG_KVM_ARM_VCPU_FINALIZE, &sve) < 0)) {
		perror("vCPU init");
		return -1;
	}
	*ret_kvm = kvm;
	*ret_vm = vm;
	*ret_vcpu = vcpu;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One bare probe (and with write, one bare trial), scratch VM to close; its milliseconds, or -1. */
static double bare_run(int write)
{
	struct cpreg_kvm_reg_list probe = { .n = 0 }, *list;
	double t0 = now_ms();
	int kvm, vm, vcpu;

	if (scratch(&kvm, &vm, &vcpu) < 0)
		return -1;
	if (ioctl(vcpu, CPREG_KVM_GET_REG_LIST, &probe) == 0 || errno != E2BIG)
		return -1;
	list = malloc(sizeof(*list) + probe.n * sizeof(uint64_t));
	list->n = probe.n;
	if (ioctl(vcpu, CPREG_KVM_GET_REG_LIST, list) < 0)
		return -1;
	for (uint64_t i = 0; i < list->n; i++) {
		uint64_t v = 0;
		struct cpreg_kvm_one_reg one = { .id = list->reg[i], .addr = (uintptr_t)&v };

		/* KVM_REG_SIZE (the UAPI's bits 52-55): the SVE Z/P registers are wider and not read. */
		if ((1u << ((list->reg[i] >> 52) & 0xf)) > 8)
			continue;
		if (ioctl(vcpu, CPREG_KVM_GET_ONE_REG, &one) == 0 && write)
			ioctl(vcpu, CPREG_KVM_SET_ONE_REG, &one);
	}
	if (!write) {
		/*
		 * The rest of what an inventory asks KVM, as the probe asks it: the
		 * SVE vector lengths, every capability cpregd records (its table),
		 * the writable ID-register masks, the API version.
		 */
		uint64_t vls[8], masks[192];
		struct cpreg_kvm_one_reg one = { .id = CPREG_SVE_VLS, .addr = (uintptr_t)vls };
		struct cpreg_kvm_reg_mask_range range = { .addr = (uintptr_t)masks, .range = CPREG_KVM_ARM_FEATURE_ID_RANGE };

		if (ext(kvm, 170))
			ioctl(vcpu, CPREG_KVM_GET_ONE_REG, &one);
		for (size_t i = 0; i < cpreg_cap_count(); i++)
			ext(kvm, cpreg_cap_at(i, NULL));
		if (ext(kvm, 230) & 1)
			ioctl(vm, CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS, &range);
		ioctl(kvm, CPREG_KVM_GET_API_VERSION, 0);
	}
	free(list);
	close(vcpu);
	close(vm);
	close(kvm);
	return now_ms() - t0;
}

/*
 * --serve: one run per line read, its milliseconds written back at once
 * ("bare": the bare loop; "probe": libcpreg's cpreg_probe(), its own
 * duration, as cpregd reports it).  make bench-vm asks in turn with
 * cpregd's re-probes, each after a second idle, from a shell that waits
 * for the answer: on the emulated host's one CPU nothing else then runs.
 */
static int serve(void)
{
	char line[32];

	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "bare\n") == 0) {
			printf("%.2f\n", bare_run(0));
		} else if (strcmp(line, "probe\n") == 0) {
			struct cpreg_inventory *inv = NULL;
			struct cpreg_error err = { 0 };
			int64_t own = -1;

			if (cpreg_probe(NULL, &inv, &err) == 0)
				cpreg_inventory_get_number(inv, CPREG_NUM_PROBE_MS, &own);
			printf("%lld\n", (long long)own);
			cpreg_inventory_unref(inv);
		} else {
			printf("?\n");
		}
		fflush(stdout);
	}
	return 0;
}

/* N bare runs back to back; 0, or 2 when one failed. */
static int timed_runs(int n, int write)
{
	double sum = 0, best = 1e9;

	for (int i = 0; i < n; i++) {
		double ms = bare_run(write);

		if (ms < 0)
			return 2;
		sum += ms;
		best = ms < best ? ms : best;
		printf("run %.2f\n", ms);      /* each, for a median (the first is cold: its code not yet translated) */
	}
	printf("bare %s: %d runs, mean %.2f ms, fastest %.2f ms\n", write ? "trial" : "probe", n, n ? sum / n : 0, best);
	return 0;
}

int main(int argc, char **argv)
{
	struct cpreg_kvm_reg_list list = { .n = 0 };
	int kvm, vm, vcpu;

	if (argc == 3 && strcmp(argv[1], "--time") == 0)
		return timed_runs(atoi(argv[2]), 0);
	if (argc == 3 && strcmp(argv[1], "--trial-time") == 0)
		return timed_runs(atoi(argv[2]), 1);
	if (argc == 2 && strcmp(argv[1], "--serve") == 0)
		return serve();
	if (scratch(&kvm, &vm, &vcpu) < 0)
		return 2;
	if (ioctl(vcpu, CPREG_KVM_GET_REG_LIST, &list) == 0 || errno != E2BIG) {
		perror("KVM_GET_REG_LIST");
		return 2;
	}
	printf("%llu\n", (unsigned long long)list.n);
	return 0;
}
