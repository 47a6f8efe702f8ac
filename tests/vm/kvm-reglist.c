/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An independent witness for the VM tests: counts KVM_GET_REG_LIST on a
 * vCPU built from raw ioctls, without libcpreg or probes/, so the probe's
 * register count can be checked against what the kernel itself lists.
 * Features: PSCI 0.2, PMU, SVE (finalized), pointer auth, each when the
 * kernel offers it, as QEMU's "-cpu host" (BRIEF section 4).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-abi.h"

static int ext(int kvm, int cap)
{
	int r = ioctl(kvm, CPREG_KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int main(void)
{
	struct cpreg_kvm_vcpu_init init = { 0 };
	struct cpreg_kvm_reg_list list = { .n = 0 };
	int kvm, vm, vcpu, sve = 4;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("open /dev/kvm");
		return 2;
	}
	vm = ioctl(kvm, CPREG_KVM_CREATE_VM, CPREG_KVM_VM_TYPE_ARM_IPA_SIZE(ext(kvm, 165)));
	if (vm < 0 || (vcpu = ioctl(vm, CPREG_KVM_CREATE_VCPU, 0)) < 0 ||
	    ioctl(vm, CPREG_KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		perror("scratch vCPU");
		return 2;
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
		return 2;
	}
	if (ioctl(vcpu, CPREG_KVM_GET_REG_LIST, &list) == 0 || errno != E2BIG) {
		perror("KVM_GET_REG_LIST");
		return 2;
	}
	printf("%llu\n", (unsigned long long)list.n);
	return 0;
}
