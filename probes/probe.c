/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe: a scratch VM and vCPU built the way QEMU builds one for
 * "-cpu host" (target/arm/kvm.c, kvm_arm_create_scratch_host_vcpu), its
 * register list and values, capabilities and writable ID-register masks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cpreg-internal.h"
#include "kvm-abi.h"
#include "probe.h"

static int step_err(struct cpreg_error *err, int r, const char *step, const char *advice)
{
	return cpreg_err(err, r, step, "%s%s%s", strerror(-r), advice ? ": " : "", advice ? advice : "");
}

/* kvmtool's habit: say why /dev/kvm would not open, and what to do. */
static int open_err(struct cpreg_error *err, int r, const char *dev)
{
	char advice[256], where[160];
	struct stat st;

	snprintf(where, sizeof(where), "open %s", dev);
	switch (-r) {
	case ENOENT:
		snprintf(advice, sizeof(advice), "no KVM device: this is not a KVM host, the kvm module is not "
			 "loaded, or the firmware did not boot the kernel at EL2");
		break;
	case EACCES:
	case EPERM:
		if (stat(dev, &st) == 0) {
			struct group *g = getgrgid(st.st_gid);

			snprintf(advice, sizeof(advice), "permission denied: run as root or join the group "
				 "\"%s\" that owns %s", g ? g->gr_name : "kvm", dev);
		} else {
			snprintf(advice, sizeof(advice), "permission denied: join the kvm group");
		}
		break;
	case ENXIO:
	case ENODEV:
		snprintf(advice, sizeof(advice), "the KVM device exists but no hypervisor backs it "
			 "(virtualization disabled or in use by another hypervisor)");
		break;
	default:
		snprintf(advice, sizeof(advice), "cannot open the KVM device");
	}
	return cpreg_err(err, r, where, "%s (%s)", advice, strerror(-r));
}

/*
 * KVM_CHECK_EXTENSION answers 0 for "absent"; a negative answer is the
 * ioctl failing (EBADF, EFAULT, a kernel in trouble), which must stop the
 * probe with its step named: read as "absent" it would build a vCPU with
 * fewer features and publish a wrong inventory.
 */
static int check_ext(const struct cpreg_kvm_ops *ops, int fd, int cap, struct cpreg_error *err)
{
	int r;

	do
		r = ops->ioctl(ops->ctx, fd, CPREG_KVM_CHECK_EXTENSION, (void *)(uintptr_t)cap);
	while (r == -EINTR);
	if (r < 0) {
		const char *name = NULL;
		char where[64];

		for (size_t i = 0; i < cpreg_cap_count(); i++)
			if (cpreg_cap_at(i, &name) == cap)
				break;
			else
				name = NULL;
		snprintf(where, sizeof(where), "KVM_CHECK_EXTENSION(%s)", name ? name : "?");
		return step_err(err, r, where, "cannot ask the kernel for a capability");
	}
	return r;
}

void cpreg_scratch_close(struct cpreg_scratch *s)
{
	if (!s || !s->ops)
		return;
	if (s->vcpu >= 0)
		s->ops->close(s->ops->ctx, s->vcpu);
	if (s->vm >= 0)
		s->ops->close(s->ops->ctx, s->vm);
	if (s->kvm >= 0)
		s->ops->close(s->ops->ctx, s->kvm);
	s->vcpu = s->vm = s->kvm = -1;
}

/* The scratch VM and its vCPU, as QEMU creates them: the host's largest IPA size, vCPU 0, the preferred target. */
static int create_vm(struct cpreg_scratch *s, struct cpreg_kvm_vcpu_init *init, struct cpreg_error *err)
{
	const struct cpreg_kvm_ops *ops = s->ops;
	int r, ipa;

	/* The IPA size QEMU asks for: the host's maximum, 0 (40 bits) without the cap. */
	ipa = check_ext(ops, s->kvm, CPREG_CAP_ARM_VM_IPA_SIZE, err);
	if (ipa < 0)
		return ipa;
	s->ipa_bits = ipa;
	do
		r = ops->ioctl(ops->ctx, s->kvm, CPREG_KVM_CREATE_VM, (void *)CPREG_KVM_VM_TYPE_ARM_IPA_SIZE(ipa));
	while (r == -EINTR);
	if (r < 0)
		return step_err(err, r, "KVM_CREATE_VM", "cannot create the scratch VM");
	s->vm = r;
	r = ops->ioctl(ops->ctx, s->vm, CPREG_KVM_CREATE_VCPU, (void *)0);
	if (r < 0)
		return step_err(err, r, "KVM_CREATE_VCPU", "cannot create the scratch vCPU");
	s->vcpu = r;
	r = ops->ioctl(ops->ctx, s->vm, CPREG_KVM_ARM_PREFERRED_TARGET, init);
	if (r < 0)
		return step_err(err, r, "KVM_ARM_PREFERRED_TARGET", r == -ENOTTY || r == -EINVAL ? "not an arm64 KVM" : NULL);
	s->target = init->target;
	return 0;
}

/* What "-cpu host" turns on where the host has it: PSCI 0.2, the PMU, SVE, pointer auth (both halves). */
static int host_offers(struct cpreg_scratch *s, uint32_t *ret, struct cpreg_error *err)
{
	static const struct { int cap; uint32_t feat; } offers[] = {
		{ CPREG_CAP_ARM_PSCI_0_2, 1u << CPREG_FEAT_PSCI_0_2 },
		{ CPREG_CAP_ARM_PMU_V3, 1u << CPREG_FEAT_PMU_V3 },
		{ CPREG_CAP_ARM_SVE, 1u << CPREG_FEAT_SVE },
		{ CPREG_CAP_ARM_PTRAUTH_ADDRESS, 1u << CPREG_FEAT_PTRAUTH_ADDRESS },
		{ CPREG_CAP_ARM_PTRAUTH_GENERIC, 1u << CPREG_FEAT_PTRAUTH_GENERIC },
		{ CPREG_CAP_ARM_EL1_32BIT, 1u << CPREG_FEAT_EL1_32BIT },
	};
	uint32_t pa = 1u << CPREG_FEAT_PTRAUTH_ADDRESS | 1u << CPREG_FEAT_PTRAUTH_GENERIC, offer = 0;

	for (size_t i = 0; i < sizeof(offers) / sizeof(offers[0]); i++) {
		int r = check_ext(s->ops, s->kvm, offers[i].cap, err);

		if (r < 0)
			return r;
		if (r > 0)
			offer |= offers[i].feat;
	}
	/* Both halves or neither, as QEMU offers them. */
	if ((offer & pa) != pa)
		offer &= ~pa;
	*ret = offer;
	return 0;
}

/*
 * The vCPU's features in, then the VM's vector lengths before finalizing
 * (as QEMU writes KVM_REG_ARM64_SVE_VLS; a set this host cannot give is
 * refused here, into vls_err), then SVE finalized: the register list does
 * not exist before (api.rst, KVM_ARM_VCPU_FINALIZE).
 */
static int init_vcpu(struct cpreg_scratch *s, struct cpreg_kvm_vcpu_init *init, uint32_t asked,
		     const uint64_t *set_vls, struct cpreg_error *err)
{
	const struct cpreg_kvm_ops *ops = s->ops;
	int r, what = CPREG_KVM_ARM_VCPU_SVE;

	init->features[0] = asked;
	r = ops->ioctl(ops->ctx, s->vcpu, CPREG_KVM_ARM_VCPU_INIT, init);
	if (r < 0)
		return step_err(err, r, "KVM_ARM_VCPU_INIT", "the kernel refused the vCPU features");
	s->features = asked;
	if (!(asked & (1u << CPREG_FEAT_SVE)))
		return 0;
	if (set_vls) {
		struct cpreg_kvm_one_reg one = { .id = CPREG_SVE_VLS, .addr = (uintptr_t)set_vls };

		s->vls_err = -ops->ioctl(ops->ctx, s->vcpu, CPREG_KVM_SET_ONE_REG, &one);
	}
	r = ops->ioctl(ops->ctx, s->vcpu, CPREG_KVM_ARM_VCPU_FINALIZE, &what);
	if (r < 0)
		return step_err(err, r, "KVM_ARM_VCPU_FINALIZE(SVE)", NULL);
	return 0;
}

int cpreg_scratch_open(struct cpreg_scratch *s, const struct cpreg_kvm_ops *ops, const char *dev,
		       uint32_t want, uint32_t disable, const uint64_t *set_vls, struct cpreg_error *err)
{
	struct cpreg_kvm_vcpu_init init = { 0 };
	uint32_t offer = 0, asked;
	int r;

	memset(s, 0, sizeof(*s));
	s->ops = ops ? ops : &cpreg_kvm_real_ops;
	s->kvm = s->vm = s->vcpu = -1;
	r = s->ops->open(s->ops->ctx, dev ? dev : "/dev/kvm", O_RDWR);
	if (r < 0)
		return open_err(err, r, dev ? dev : "/dev/kvm");
	s->kvm = r;
	if ((r = create_vm(s, &init, err)) < 0 || (r = host_offers(s, &offer, err)) < 0)
		goto fail;
	if (want == UINT32_MAX) {
		asked = offer & ~(1u << CPREG_FEAT_EL1_32BIT);  /* an AArch64 guest, as "-cpu host" */
	} else {
		/* A wanted feature this host cannot give is left out and reported. */
		s->missing = want & ~offer;
		asked = want & offer;
	}
	asked &= ~cpreg_vm_disable_bits(disable);
	if ((r = init_vcpu(s, &init, asked, set_vls, err)) < 0)
		goto fail;
	return 0;
fail:
	cpreg_scratch_close(s);
	return r;
}

int cpreg_scratch_reg_list(struct cpreg_scratch *s, uint64_t **ret, size_t *ret_n, struct cpreg_error *err)
{
	struct cpreg_kvm_reg_list probe = { .n = 0 }, *list;
	uint64_t n;
	int r;

	/* Ask with n=0: the kernel says E2BIG and writes the count. */
	r = s->ops->ioctl(s->ops->ctx, s->vcpu, CPREG_KVM_GET_REG_LIST, &probe);
	if (r != -E2BIG)
		return step_err(err, r < 0 ? r : -EPROTO, "KVM_GET_REG_LIST", r < 0 ? "cannot count the registers"
				: "succeeded with n=0, expected E2BIG");
	n = probe.n;
	if (n == 0 || n > 65536)
		return cpreg_err(err, -EPROTO, "KVM_GET_REG_LIST", "implausible register count %" PRIu64, n);
	list = calloc(1, sizeof(*list) + n * sizeof(uint64_t));
	if (!list)
		return cpreg_err(err, -ENOMEM, "KVM_GET_REG_LIST", "out of memory");
	list->n = n;
	r = s->ops->ioctl(s->ops->ctx, s->vcpu, CPREG_KVM_GET_REG_LIST, list);
	if (r < 0) {
		free(list);
		return step_err(err, r, "KVM_GET_REG_LIST", r == -E2BIG ? "the count changed between the calls" : NULL);
	}
	if (list->n != n) {
		uint64_t now = list->n;

		free(list);
		return cpreg_err(err, -EPROTO, "KVM_GET_REG_LIST", "count changed from %" PRIu64 " to %" PRIu64,
				 n, now);
	}
	/* The list moves into a plain array (the header word goes). */
	memmove(list, list->reg, n * sizeof(uint64_t));
	*ret = (uint64_t *)list;
	*ret_n = n;
	return 0;
}

int cpreg_scratch_get(struct cpreg_scratch *s, uint64_t id, uint64_t *ret_value)
{
	union { uint64_t u64; uint32_t u32; uint16_t u16; uint8_t u8; } v = { 0 };
	struct cpreg_kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&v };
	int r;

	if (CPREG_ID_BYTES(id) > 8)
		return -E2BIG;
	r = s->ops->ioctl(s->ops->ctx, s->vcpu, CPREG_KVM_GET_ONE_REG, &reg);
	if (r < 0)
		return r;
	switch (CPREG_ID_BYTES(id)) {
	case 1: *ret_value = v.u8; break;
	case 2: *ret_value = v.u16; break;
	case 4: *ret_value = v.u32; break;
	default: *ret_value = v.u64; break;
	}
	return 0;
}

int cpreg_scratch_set(struct cpreg_scratch *s, uint64_t id, uint64_t value)
{
	union { uint64_t u64; uint32_t u32; uint16_t u16; uint8_t u8; } v = { 0 };
	struct cpreg_kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&v };

	switch (CPREG_ID_BYTES(id)) {
	case 1: v.u8 = value; break;
	case 2: v.u16 = value; break;
	case 4: v.u32 = value; break;
	case 8: v.u64 = value; break;
	default: return -E2BIG;
	}
	return s->ops->ioctl(s->ops->ctx, s->vcpu, CPREG_KVM_SET_ONE_REG, &reg);
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Every listed register and its value; a value that cannot be read is recorded as such, not dropped. */
static int read_registers(struct cpreg_scratch *s, const uint64_t *ids, size_t n, struct cpreg_inventory *inv,
			  struct cpreg_error *err)
{
	char where[64];
	int r;

	for (size_t i = 0; i < n; i++) {
		struct cpreg_reg reg = { .id = ids[i] };

		if (!cpreg_id_valid(ids[i])) {
			snprintf(where, sizeof(where), "KVM_GET_REG_LIST[%zu]", i);
			return cpreg_err(err, -EPROTO, where, "0x%016" PRIx64 " is not an arm64 register id", ids[i]);
		}
		if (CPREG_ID_BYTES(ids[i]) > 8) {
			reg.state = CPREG_WIDE;
		} else if ((r = cpreg_scratch_get(s, ids[i], &reg.value)) < 0) {
			reg.state = CPREG_UNREADABLE;
			reg.read_errno = -r;
		} else {
			reg.state = CPREG_VALUE;
		}
		r = cpreg_inventory_add(inv, &reg);
		if (r < 0)
			snprintf(where, sizeof(where), "KVM_GET_REG_LIST[%zu]", i);
		if (r < 0)
			return cpreg_err(err, r, where, r == -EEXIST ? "id 0x%016" PRIx64 " listed twice"
					 : "cannot record 0x%016" PRIx64, ids[i]);
	}
	return 0;
}

/* The SVE vector lengths (not migrated, but a VM needs the same set on both ends), the capabilities, the masks. */
static int read_vm_facts(struct cpreg_scratch *s, struct cpreg_inventory *inv, struct cpreg_error *err)
{
	int64_t capv = 0;
	int r;

	if (s->features & (1u << CPREG_FEAT_SVE)) {
		uint64_t vls[8] = { 0 };
		struct cpreg_kvm_one_reg one = { .id = CPREG_SVE_VLS, .addr = (uintptr_t)vls };

		r = s->ops->ioctl(s->ops->ctx, s->vcpu, CPREG_KVM_GET_ONE_REG, &one);
		if (r < 0)
			return step_err(err, r, "KVM_GET_ONE_REG(SVE_VLS)", NULL);
		cpreg_inventory_set_sve_vls(inv, vls);
	}
	/* Capabilities, on the system fd as QEMU asks them. */
	for (size_t i = 0; i < cpreg_cap_count(); i++) {
		int cap = cpreg_cap_at(i, NULL);
		int v = check_ext(s->ops, s->kvm, cap, err);

		if (v < 0)
			return v;
		cpreg_inventory_set_cap(inv, cap, v);
	}
	/* Writable ID-register masks (Linux 6.7+, advertised by cap 230 bit 0). */
	if ((cpreg_inventory_get_cap(inv, CPREG_CAP_ARM_SUPPORTED_REG_MASK_RANGES, &capv) == 0 ? capv : 0) &
	    (1 << CPREG_KVM_ARM_FEATURE_ID_RANGE)) {
		uint64_t masks[CPREG_WRITABLE_MASKS] = { 0 };
		struct cpreg_kvm_reg_mask_range range = { .addr = (uintptr_t)masks,
							  .range = CPREG_KVM_ARM_FEATURE_ID_RANGE };

		r = s->ops->ioctl(s->ops->ctx, s->vm, CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS, &range);
		if (r < 0)
			return step_err(err, r, "KVM_ARM_GET_REG_WRITABLE_MASKS", NULL);
		cpreg_inventory_set_writable_masks(inv, masks);
	}
	r = s->ops->ioctl(s->ops->ctx, s->kvm, CPREG_KVM_GET_API_VERSION, NULL);
	if (r >= 0)
		cpreg_inventory_set_number(inv, CPREG_NUM_API_VERSION, r);
	cpreg_inventory_set_number(inv, CPREG_NUM_PREFERRED_TARGET, s->target);
	cpreg_inventory_set_number(inv, CPREG_NUM_IPA_SIZE, s->ipa_bits);
	cpreg_inventory_set_number(inv, CPREG_NUM_VCPU_FEATURES, s->features);
	return 0;
}

/* What is not KVM's: the host facts (sysfs, uname), QEMU's version (a child process), when. */
static void add_host_facts(const struct cpreg_probe_opts *opts, const struct cpreg_kvm_ops *ops,
			   struct cpreg_inventory *inv, const char *when)
{
	char *ver = NULL;

	if (ops->host_facts)
		ops->host_facts(ops->ctx, inv);
	if (opts->qemu && cpreg_qemu_version(opts->qemu, &ver) == 0)
		cpreg_inventory_set_text(inv, CPREG_TEXT_QEMU_VERSION, ver);
	free(ver);
	cpreg_inventory_set_text(inv, CPREG_TEXT_PROBE_TIME, when);
}

int cpreg_probe(const struct cpreg_probe_opts *opts, struct cpreg_inventory **ret, struct cpreg_error *err)
{
	static const struct cpreg_probe_opts defaults = { 0 };
	struct cpreg_scratch s;
	struct cpreg_inventory *inv = NULL;
	struct timespec t0;
	uint64_t *ids = NULL;
	size_t n = 0;
	char when[40];
	int r;

	if (!opts)
		opts = &defaults;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpreg_utc_now(when, sizeof(when));
	r = cpreg_scratch_open(&s, opts->ops, opts->dev, UINT32_MAX, opts->disable, NULL, err);
	if (r < 0)
		return r;
	inv = cpreg_inventory_new();
	if (!inv)
		r = cpreg_err(err, -ENOMEM, "probe", "out of memory");
	if (r >= 0)
		r = cpreg_scratch_reg_list(&s, &ids, &n, err);
	if (r >= 0)
		r = read_registers(&s, ids, n, inv, err);
	if (r >= 0)
		r = read_vm_facts(&s, inv, err);
	if (r >= 0) {
		/*
		 * The probe's duration is KVM's part, scratch VM to its close (what
		 * make bench-vm holds against a bare loop of the same ioctls); the
		 * host facts and QEMU's version come after it.
		 */
		cpreg_scratch_close(&s);
		cpreg_inventory_set_number(inv, CPREG_NUM_PROBE_MS, ms_since(&t0));
		add_host_facts(opts, s.ops, inv, when);
		cpreg_inventory_seal(inv);
		*ret = TAKE_PTR(inv);
		r = 0;
	}
	free(ids);
	cpreg_inventory_unref(inv);
	cpreg_scratch_close(&s);
	return r;
}
