/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The arm64 KVM ABI the probe needs, defined here so the probe builds and
 * its replay tests run on any Linux architecture: an x86 <linux/kvm.h> has
 * no arm64 structs, and this distribution's arm64 headers predate
 * KVM_ARM_GET_REG_WRITABLE_MASKS (Linux 6.7) and the newer capabilities.
 * Values from include/uapi/linux/kvm.h and arch/arm64/include/uapi/asm/kvm.h;
 * the static asserts pin the ioctl numbers to the kernel's.
 */
#ifndef CPREG_KVM_ABI_H
#define CPREG_KVM_ABI_H

#include <stdint.h>
#include <linux/ioctl.h>

#define CPREG_KVMIO 0xAE

struct cpreg_kvm_one_reg {
	uint64_t id;
	uint64_t addr;
};

struct cpreg_kvm_reg_list {
	uint64_t n;
	uint64_t reg[];
};

struct cpreg_kvm_vcpu_init {
	uint32_t target;
	uint32_t features[7];
};

/* struct reg_mask_range, Documentation/virt/kvm/api.rst 4.140 */
struct cpreg_kvm_reg_mask_range {
	uint64_t addr;
	uint32_t range;
	uint32_t reserved[13];
};

#define CPREG_KVM_GET_API_VERSION     _IO(CPREG_KVMIO, 0x00)
#define CPREG_KVM_CREATE_VM           _IO(CPREG_KVMIO, 0x01)
#define CPREG_KVM_CHECK_EXTENSION     _IO(CPREG_KVMIO, 0x03)
#define CPREG_KVM_CREATE_VCPU         _IO(CPREG_KVMIO, 0x41)
#define CPREG_KVM_GET_ONE_REG         _IOW(CPREG_KVMIO, 0xab, struct cpreg_kvm_one_reg)
#define CPREG_KVM_SET_ONE_REG         _IOW(CPREG_KVMIO, 0xac, struct cpreg_kvm_one_reg)
#define CPREG_KVM_ARM_VCPU_INIT       _IOW(CPREG_KVMIO, 0xae, struct cpreg_kvm_vcpu_init)
#define CPREG_KVM_ARM_PREFERRED_TARGET _IOR(CPREG_KVMIO, 0xaf, struct cpreg_kvm_vcpu_init)
#define CPREG_KVM_GET_REG_LIST        _IOWR(CPREG_KVMIO, 0xb0, struct cpreg_kvm_reg_list)
#define CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS _IOR(CPREG_KVMIO, 0xb6, struct cpreg_kvm_reg_mask_range)
#define CPREG_KVM_ARM_VCPU_FINALIZE   _IOW(CPREG_KVMIO, 0xc2, int)

/* The numbers the kernel's headers give, so a typo in a struct cannot hide. */
_Static_assert(CPREG_KVM_GET_ONE_REG == 0x4010aeab, "KVM_GET_ONE_REG");
_Static_assert(CPREG_KVM_SET_ONE_REG == 0x4010aeac, "KVM_SET_ONE_REG");
_Static_assert(CPREG_KVM_ARM_VCPU_INIT == 0x4020aeae, "KVM_ARM_VCPU_INIT");
_Static_assert(CPREG_KVM_ARM_PREFERRED_TARGET == 0x8020aeaf, "KVM_ARM_PREFERRED_TARGET");
_Static_assert(CPREG_KVM_GET_REG_LIST == 0xc008aeb0, "KVM_GET_REG_LIST");
_Static_assert(CPREG_KVM_ARM_VCPU_FINALIZE == 0x4004aec2, "KVM_ARM_VCPU_FINALIZE");
_Static_assert(sizeof(struct cpreg_kvm_reg_mask_range) == 64 &&
	       _IOC_SIZE(CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS) == 64, "struct reg_mask_range");

/* KVM_VM_TYPE_ARM_IPA_SIZE(bits) */
#define CPREG_KVM_VM_TYPE_ARM_IPA_SIZE(bits) ((bits) & 0xffUL)
/* KVM_ARM_VCPU_FINALIZE's argument for SVE */
#define CPREG_KVM_ARM_VCPU_SVE 4
/* KVM_ARM_FEATURE_ID_RANGE, the only range KVM_ARM_GET_REG_WRITABLE_MASKS knows */
#define CPREG_KVM_ARM_FEATURE_ID_RANGE 0

#endif
