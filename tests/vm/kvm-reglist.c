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
 * --time-probe-spaced N times libcpreg's cpreg_probe() in this process,
 * each after a second idle as cpregd's re-probes come; --time-lib N times
 * each phase of the library's probe beside a bare run (for bisecting).
 * --time-threaded N runs the same bare loop in a process shaped like
 * cpregd's: on a thread of its own, beside two idle threads, with as many
 * memory mappings as the daemon holds (about a hundred); held against
 * --time, it says what the process's shape alone costs KVM's ioctls.
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
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
 * Bisecting cpregd's probe against the bare loop (--time-lib N): the
 * library's own calls (scratch VM, list, each value into an inventory,
 * capabilities, close), each phase timed, then the whole cpreg_probe().
 */
static int lib_runs(int n)
{
	for (int i = 0; i < n; i++) {
		struct cpreg_scratch sc;
		struct cpreg_error err = { 0 };
		struct cpreg_inventory *inv = cpreg_inventory_new(), *whole = NULL;
		uint64_t *ids = NULL;
		size_t nids = 0;
		double bare = bare_run(0), t0 = now_ms(), t1, t2, t3, t4, t5, t6;
		int64_t probe_ms = -1;

		if (!inv || cpreg_scratch_open(&sc, NULL, NULL, UINT32_MAX, 0, NULL, &err) < 0)
			return 2;
		t1 = now_ms();
		if (cpreg_scratch_reg_list(&sc, &ids, &nids, &err) < 0)
			return 2;
		t2 = now_ms();
		for (size_t k = 0; k < nids; k++) {
			struct cpreg_reg reg = { .id = ids[k], .state = CPREG_WIDE };

			if (CPREG_ID_BYTES(ids[k]) <= 8) {
				reg.state = cpreg_scratch_get(&sc, ids[k], &reg.value) < 0 ? CPREG_UNREADABLE : CPREG_VALUE;
				reg.read_errno = reg.state == CPREG_UNREADABLE ? EIO : 0;
			}
			cpreg_inventory_add(inv, &reg);
		}
		t3 = now_ms();
		for (size_t k = 0; k < cpreg_cap_count(); k++)
			cpreg_inventory_set_cap(inv, cpreg_cap_at(k, NULL), ext(sc.kvm, cpreg_cap_at(k, NULL)));
		t4 = now_ms();
		cpreg_scratch_close(&sc);
		t5 = now_ms();
		cpreg_probe(NULL, &whole, &err);
		t6 = now_ms();
		cpreg_inventory_get_number(whole, CPREG_NUM_PROBE_MS, &probe_ms);
		printf("bare %.2f; lib open %.2f list %.2f regs %.2f caps %.2f close %.2f total %.2f; cpreg_probe %.2f "
		       "(its own %lld)\n", bare, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0, t6 - t5,
		       (long long)probe_ms);
		free(ids);
		cpreg_inventory_unref(inv);
		cpreg_inventory_unref(whole);
	}
	return 0;
}

/* cpreg_probe() alone, each after a second idle (--time-probe-spaced N): as cpregd's re-probes come. */
static int probe_runs(int n)
{
	for (int i = 0; i < n; i++) {
		struct cpreg_inventory *inv = NULL;
		struct cpreg_error err = { 0 };
		int64_t own = -1;
		double t0;

		sleep(1);
		t0 = now_ms();
		if (cpreg_probe(NULL, &inv, &err) < 0)
			return 2;
		cpreg_inventory_get_number(inv, CPREG_NUM_PROBE_MS, &own);
		printf("probe %.2f (its own %lld)\n", now_ms() - t0, (long long)own);
		cpreg_inventory_unref(inv);
	}
	return 0;
}

struct timed {
	int n, write;
	int ret;
};

static void *timed_runs(void *arg)
{
	struct timed *t = arg;
	double sum = 0, best = 1e9;

	for (int i = 0; i < t->n; i++) {
		double ms = bare_run(t->write);

		if (ms < 0) {
			t->ret = 2;
			return NULL;
		}
		sum += ms;
		best = ms < best ? ms : best;
		printf("run %.2f\n", ms);      /* each, for a median (the first is cold: its code not yet translated) */
	}
	printf("bare %s: %d runs, mean %.2f ms, fastest %.2f ms\n", t->write ? "trial" : "probe", t->n,
	       t->n ? sum / t->n : 0, best);
	return NULL;
}

static void *idle(void *arg)
{
	pause();
	return arg;
}

int main(int argc, char **argv)
{
	struct cpreg_kvm_reg_list list = { .n = 0 };
	int kvm, vm, vcpu;

	if (argc == 3 && (strcmp(argv[1], "--time") == 0 || strcmp(argv[1], "--trial-time") == 0)) {
		struct timed t = { .n = atoi(argv[2]), .write = strcmp(argv[1], "--trial-time") == 0 };

		timed_runs(&t);
		return t.ret;
	}
	if (argc == 3 && strcmp(argv[1], "--time-lib") == 0)
		return lib_runs(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--time-probe-spaced") == 0)
		return probe_runs(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--time-threaded") == 0) {
		struct timed t = { .n = atoi(argv[2]) };
		pthread_t idlers[2], runner;

		/* Mappings that cannot merge (every other page's protection differs), as a daemon's libraries and arenas. */
		for (int i = 0; i < 64; i++) {
			char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p != MAP_FAILED) {
				p[0] = 1;
				mprotect(p + 4096, 4096, PROT_READ);
			}
		}
		for (int i = 0; i < 2; i++)
			pthread_create(&idlers[i], NULL, idle, NULL);
		pthread_create(&runner, NULL, timed_runs, &t);
		pthread_join(runner, NULL);
		fflush(stdout);
		_exit(t.ret);
	}
	if (scratch(&kvm, &vm, &vcpu) < 0)
		return 2;
	if (ioctl(vcpu, CPREG_KVM_GET_REG_LIST, &list) == 0 || errno != E2BIG) {
		perror("KVM_GET_REG_LIST");
		return 2;
	}
	printf("%llu\n", (unsigned long long)list.n);
	return 0;
}
