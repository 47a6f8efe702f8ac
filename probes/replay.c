/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replay backend: answers the probe's KVM operations from a recorded
 * real inventory, so the whole probe path runs on any machine, and fails
 * any chosen operation on request.  It knows the ABI's shape (E2BIG on a
 * short list, -ENOENT for an unknown id) and, for KVM_SET_ONE_REG, the
 * kernel model of lib/kmodel.c applied to the recorded kernel (its writable
 * masks, CTR_EL0, PSCI version...).  Only a real kernel is the reference:
 * the emulated-host tests run the trial there and real migrations.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cpreg-internal.h"
#include "kvm-abi.h"
#include "probe.h"

enum fd_kind { FD_FREE, FD_KVM, FD_VM, FD_VCPU };

struct cpreg_replay {
	struct cpreg_inventory *rec;
	struct cpreg_kvm_ops ops;
	enum fd_kind fds[64];
	bool inited[64];
	unsigned calls;
	unsigned fail_nth;
	unsigned long fail_req;
	int fail_errno;
	uint64_t fail_reg_id;
	bool fail_reg_on_set;
	int fail_reg_errno;
	/* Recorded real refusals: when set, KVM_SET_ONE_REG refuses these ids and takes the rest. */
	bool real_refusals;
	uint64_t *refuse;
	size_t n_refuse;
	/*
	 * What the vCPU keeps of the values written to it, as KVM does: a
	 * later KVM_GET_ONE_REG reads them (the trial's read-back, a VM's
	 * passport after the hop).  A new vCPU starts from the recording.
	 */
	struct { uint64_t id, value; } *kept;
	size_t n_kept, cap_kept;
};

#define FD_BASE 1000

static int new_fd(struct cpreg_replay *r, enum fd_kind kind)
{
	for (int i = 0; i < 64; i++)
		if (r->fds[i] == FD_FREE) {
			r->fds[i] = kind;
			r->inited[i] = false;
			return FD_BASE + i;
		}
	return -EMFILE;
}

static enum fd_kind kind_of(struct cpreg_replay *r, int fd)
{
	return fd >= FD_BASE && fd < FD_BASE + 64 ? r->fds[fd - FD_BASE] : FD_FREE;
}

/* Remember a value the vCPU took. */
static int keep(struct cpreg_replay *r, uint64_t id, uint64_t value)
{
	for (size_t i = 0; i < r->n_kept; i++)
		if (r->kept[i].id == id) {
			r->kept[i].value = value;
			return 0;
		}
	if (r->n_kept == r->cap_kept) {
		size_t cap = r->cap_kept ? 2 * r->cap_kept : 64;
		void *n = realloc(r->kept, cap * sizeof(*r->kept));

		if (!n)
			return -ENOMEM;
		r->kept = n;
		r->cap_kept = cap;
	}
	r->kept[r->n_kept].id = id;
	r->kept[r->n_kept++].value = value;
	return 0;
}

static bool injected(struct cpreg_replay *r, unsigned long request)
{
	r->calls++;
	if (!r->fail_errno)
		return false;
	if (r->fail_nth && r->calls != r->fail_nth)
		return false;
	if (r->fail_req && r->fail_req != request)
		return false;
	return true;
}

static int replay_open(void *ctx, const char *path, int flags)
{
	struct cpreg_replay *r = ctx;

	if (injected(r, ULONG_MAX))
		return -r->fail_errno;
	return new_fd(r, FD_KVM);
}

static void replay_close(void *ctx, int fd)
{
	struct cpreg_replay *r = ctx;

	if (kind_of(r, fd) != FD_FREE)
		r->fds[fd - FD_BASE] = FD_FREE;
}

static uint32_t recorded_features(struct cpreg_replay *r)
{
	return cpreg_inventory_features(r->rec);
}

static int replay_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	struct cpreg_replay *r = ctx;
	enum fd_kind kind = kind_of(r, fd);
	int64_t v;

	if (kind == FD_FREE)
		return -EBADF;
	if (injected(r, request))
		return -r->fail_errno;

	switch (request) {
	case CPREG_KVM_GET_API_VERSION:
		return cpreg_inventory_get_number(r->rec, CPREG_NUM_API_VERSION, &v) == 0 ? (int)v : 12;
	case CPREG_KVM_CHECK_EXTENSION:
		return cpreg_inventory_get_cap(r->rec, (int)(uintptr_t)arg, &v) == 0 ? (int)v : 0;
	case CPREG_KVM_CREATE_VM:
		return kind == FD_KVM ? new_fd(r, FD_VM) : -ENOTTY;
	case CPREG_KVM_CREATE_VCPU:
		r->n_kept = 0;
		return kind == FD_VM ? new_fd(r, FD_VCPU) : -ENOTTY;
	case CPREG_KVM_ARM_PREFERRED_TARGET: {
		struct cpreg_kvm_vcpu_init *init = arg;

		if (kind != FD_VM)
			return -ENOTTY;
		memset(init, 0, sizeof(*init));
		init->target = cpreg_inventory_get_number(r->rec, CPREG_NUM_PREFERRED_TARGET, &v) == 0 ? (uint32_t)v : 5;
		return 0;
	}
	case CPREG_KVM_ARM_VCPU_INIT: {
		const struct cpreg_kvm_vcpu_init *init = arg;

		if (kind != FD_VCPU)
			return -ENOTTY;
		/* Only the recorded vCPU can be replayed: its register list is all we have. */
		if (init->features[0] != recorded_features(r))
			return -EINVAL;
		r->inited[fd - FD_BASE] = true;
		return 0;
	}
	case CPREG_KVM_ARM_VCPU_FINALIZE:
		return kind == FD_VCPU && r->inited[fd - FD_BASE] ? 0 : -EPERM;
	case CPREG_KVM_GET_REG_LIST: {
		struct cpreg_kvm_reg_list *list = arg;
		uint64_t n = cpreg_inventory_count(r->rec), cap = list->n;

		if (kind != FD_VCPU)
			return -ENOTTY;
		if (!r->inited[fd - FD_BASE])
			return -ENOEXEC;
		list->n = n;
		if (cap < n)
			return -E2BIG;
		for (uint64_t i = 0; i < n; i++)
			list->reg[i] = cpreg_inventory_at(r->rec, i)->id;
		return 0;
	}
	case CPREG_KVM_GET_ONE_REG:
	case CPREG_KVM_SET_ONE_REG: {
		const struct cpreg_kvm_one_reg *one = arg;
		const struct cpreg_reg *reg = cpreg_inventory_find(r->rec, one->id);
		bool set = request == CPREG_KVM_SET_ONE_REG;
		unsigned bytes = CPREG_ID_BYTES(one->id);
		uint64_t val = 0;

		if (kind != FD_VCPU)
			return -ENOTTY;
		if (!r->inited[fd - FD_BASE])
			return -ENOEXEC;
		if (!reg)
			return -ENOENT;
		if (r->fail_reg_errno && r->fail_reg_id == one->id && r->fail_reg_on_set == set)
			return -r->fail_reg_errno;
		if (one->id == CPREG_SVE_VLS) {
			const uint64_t *vls = cpreg_inventory_sve_vls(r->rec);
			uint64_t zero[8] = { 0 };

			if (set)
				return vls && memcmp(vls, (void *)(uintptr_t)one->addr, 64) == 0 ? 0 : -EPERM;
			memcpy((void *)(uintptr_t)one->addr, vls ? vls : zero, 64);
			return 0;
		}
		if (reg->state == CPREG_UNREADABLE)
			return -reg->read_errno;
		if (bytes > 8) {
			if (!set)
				memset((void *)(uintptr_t)one->addr, 0, bytes);
			return 0;
		}
		if (set) {
			struct cpreg_kernel_answer a;

			memcpy(&val, (void *)(uintptr_t)one->addr, bytes);  /* little endian */
			if (r->real_refusals) {
				for (size_t i = 0; i < r->n_refuse; i++)
					if (r->refuse[i] == one->id)
						return -EINVAL;
				return keep(r, one->id, val);
			}
			/* The recorded kernel, as the kernel model has it; arm64_check_features() says -E2BIG. */
			if (cpreg_kernel_judge(r->rec, one->id, val, &a) == 0 && a.outcome == CPREG_OUT_FAIL)
				return a.rule == CPREG_RULE_FIELD_UNSAFE ? -E2BIG : -EINVAL;
			/* Writes KVM ignores (RAZ/WI) leave the register as it was. */
			return a.rule == CPREG_RULE_AA32_WI ? 0 : keep(r, one->id, val);
		}
		val = reg->value;
		for (size_t i = 0; i < r->n_kept; i++)
			if (r->kept[i].id == one->id)
				val = r->kept[i].value;
		memcpy((void *)(uintptr_t)one->addr, &val, bytes);
		return 0;
	}
	case CPREG_KVM_ARM_GET_REG_WRITABLE_MASKS: {
		const struct cpreg_kvm_reg_mask_range *range = arg;
		const uint64_t *masks = cpreg_inventory_writable_masks(r->rec);

		if (kind != FD_VM || !masks)
			return -ENOTTY;
		if (range->range != CPREG_KVM_ARM_FEATURE_ID_RANGE)
			return -EINVAL;
		memcpy((void *)(uintptr_t)range->addr, masks, CPREG_WRITABLE_MASKS * sizeof(uint64_t));
		return 0;
	}
	}
	return -ENOTTY;
}

static int replay_host_facts(void *ctx, struct cpreg_inventory *inv)
{
	struct cpreg_replay *r = ctx;
	static const enum cpreg_text texts[] = { CPREG_TEXT_KERNEL, CPREG_TEXT_MACHINE, CPREG_TEXT_HOSTNAME,
						 CPREG_TEXT_QEMU_VERSION };
	int64_t v;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (cpreg_inventory_get_text(r->rec, texts[i]))
			cpreg_inventory_set_text(inv, texts[i], cpreg_inventory_get_text(r->rec, texts[i]));
	if (cpreg_inventory_get_number(r->rec, CPREG_NUM_PAGE_SIZE, &v) == 0)
		cpreg_inventory_set_number(inv, CPREG_NUM_PAGE_SIZE, v);
	for (size_t i = 0; i < cpreg_inventory_cpu_count(r->rec); i++) {
		unsigned cpu;
		uint64_t midr;

		cpreg_inventory_cpu_at(r->rec, i, &cpu, &midr);
		cpreg_inventory_add_cpu_midr(inv, cpu, midr);
	}
	cpreg_inventory_set_text(inv, CPREG_TEXT_PROVENANCE, "replay of a recorded inventory");
	return 0;
}

struct cpreg_replay *cpreg_replay_new(struct cpreg_inventory *recorded)
{
	struct cpreg_replay *r;

	if (!recorded)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->rec = cpreg_inventory_ref(recorded);
	r->ops = (struct cpreg_kvm_ops){
		.open = replay_open, .ioctl = replay_ioctl, .close = replay_close,
		.host_facts = replay_host_facts, .ctx = r,
	};
	return r;
}

struct cpreg_replay *cpreg_replay_free(struct cpreg_replay *r)
{
	if (r) {
		cpreg_inventory_unref(r->rec);
		free(r->refuse);
		free(r->kept);
		free(r);
	}
	return NULL;
}

const struct cpreg_kvm_ops *cpreg_replay_ops(struct cpreg_replay *r)
{
	return &r->ops;
}

void cpreg_replay_fail(struct cpreg_replay *r, unsigned nth, unsigned long request, int err)
{
	r->fail_nth = nth;
	r->fail_req = request;
	r->fail_errno = (nth || request) ? err : 0;
	r->calls = 0;
}

void cpreg_replay_fail_reg(struct cpreg_replay *r, uint64_t id, bool on_set, int err)
{
	r->fail_reg_id = id;
	r->fail_reg_on_set = on_set;
	r->fail_reg_errno = err;
}

int cpreg_replay_refuse_only(struct cpreg_replay *r, const uint64_t *ids, size_t n)
{
	uint64_t *copy = n ? malloc(n * sizeof(*copy)) : NULL;

	if (n && !copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, ids, n * sizeof(*copy));
	free(r->refuse);
	r->refuse = copy;
	r->n_refuse = n;
	r->real_refusals = true;
	return 0;
}

unsigned cpreg_replay_calls(const struct cpreg_replay *r)
{
	return r->calls;
}

int cpreg_replay_open_fds(const struct cpreg_replay *r)
{
	int n = 0;

	for (int i = 0; i < 64; i++)
		n += r->fds[i] != FD_FREE;
	return n;
}
