/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Register names.  Sysreg names follow the Arm ARM; ids follow the KVM UAPI
 * (arch/arm64/include/uapi/asm/kvm.h), including its frozen timer quirk:
 * KVM_REG_ARM_TIMER_CNT is encoded as (3,3,14,3,2) and KVM_REG_ARM_TIMER_CVAL
 * as (3,3,14,0,2), swapped against the architecture, so the names here go
 * with what KVM means by the id, not with the raw encoding.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <strings.h>
#include <stdio.h>

#include "cpreg-internal.h"

struct sysreg_name {
	uint8_t op0, op1, crn, crm, op2;
	const char *name;
};

#define SR(op0, op1, crn, crm, op2, n) { op0, op1, crn, crm, op2, n }

/* Sorted by encoding, so lookups can bisect. */
static const struct sysreg_name sysregs[] = {
	SR(2, 0, 0, 2, 0, "MDCCINT_EL1"),
	SR(2, 0, 0, 2, 2, "MDSCR_EL1"),
	SR(2, 0, 1, 0, 4, "OSLAR_EL1"),
	SR(2, 0, 1, 1, 4, "OSLSR_EL1"),
	SR(2, 0, 1, 3, 4, "OSDLR_EL1"),
	SR(2, 0, 7, 8, 6, "DBGCLAIMSET_EL1"),
	SR(2, 0, 7, 9, 6, "DBGCLAIMCLR_EL1"),
	SR(2, 3, 0, 1, 0, "MDCCSR_EL0"),
	SR(2, 3, 0, 4, 0, "DBGDTR_EL0"),
	SR(2, 3, 0, 5, 0, "DBGDTRRX_EL0"),
	SR(2, 4, 0, 7, 0, "DBGVCR32_EL2"),
	SR(3, 0, 0, 0, 0, "MIDR_EL1"),
	SR(3, 0, 0, 0, 5, "MPIDR_EL1"),
	SR(3, 0, 0, 0, 6, "REVIDR_EL1"),
	SR(3, 0, 0, 1, 0, "ID_PFR0_EL1"),
	SR(3, 0, 0, 1, 1, "ID_PFR1_EL1"),
	SR(3, 0, 0, 1, 2, "ID_DFR0_EL1"),
	SR(3, 0, 0, 1, 3, "ID_AFR0_EL1"),
	SR(3, 0, 0, 1, 4, "ID_MMFR0_EL1"),
	SR(3, 0, 0, 1, 5, "ID_MMFR1_EL1"),
	SR(3, 0, 0, 1, 6, "ID_MMFR2_EL1"),
	SR(3, 0, 0, 1, 7, "ID_MMFR3_EL1"),
	SR(3, 0, 0, 2, 0, "ID_ISAR0_EL1"),
	SR(3, 0, 0, 2, 1, "ID_ISAR1_EL1"),
	SR(3, 0, 0, 2, 2, "ID_ISAR2_EL1"),
	SR(3, 0, 0, 2, 3, "ID_ISAR3_EL1"),
	SR(3, 0, 0, 2, 4, "ID_ISAR4_EL1"),
	SR(3, 0, 0, 2, 5, "ID_ISAR5_EL1"),
	SR(3, 0, 0, 2, 6, "ID_MMFR4_EL1"),
	SR(3, 0, 0, 2, 7, "ID_ISAR6_EL1"),
	SR(3, 0, 0, 3, 0, "MVFR0_EL1"),
	SR(3, 0, 0, 3, 1, "MVFR1_EL1"),
	SR(3, 0, 0, 3, 2, "MVFR2_EL1"),
	SR(3, 0, 0, 3, 4, "ID_PFR2_EL1"),
	SR(3, 0, 0, 3, 5, "ID_DFR1_EL1"),
	SR(3, 0, 0, 3, 6, "ID_MMFR5_EL1"),
	SR(3, 0, 0, 4, 0, "ID_AA64PFR0_EL1"),
	SR(3, 0, 0, 4, 1, "ID_AA64PFR1_EL1"),
	SR(3, 0, 0, 4, 2, "ID_AA64PFR2_EL1"),
	SR(3, 0, 0, 4, 4, "ID_AA64ZFR0_EL1"),
	SR(3, 0, 0, 4, 5, "ID_AA64SMFR0_EL1"),
	SR(3, 0, 0, 4, 7, "ID_AA64FPFR0_EL1"),
	SR(3, 0, 0, 5, 0, "ID_AA64DFR0_EL1"),
	SR(3, 0, 0, 5, 1, "ID_AA64DFR1_EL1"),
	SR(3, 0, 0, 5, 2, "ID_AA64DFR2_EL1"),
	SR(3, 0, 0, 5, 4, "ID_AA64AFR0_EL1"),
	SR(3, 0, 0, 5, 5, "ID_AA64AFR1_EL1"),
	SR(3, 0, 0, 6, 0, "ID_AA64ISAR0_EL1"),
	SR(3, 0, 0, 6, 1, "ID_AA64ISAR1_EL1"),
	SR(3, 0, 0, 6, 2, "ID_AA64ISAR2_EL1"),
	SR(3, 0, 0, 6, 3, "ID_AA64ISAR3_EL1"),
	SR(3, 0, 0, 7, 0, "ID_AA64MMFR0_EL1"),
	SR(3, 0, 0, 7, 1, "ID_AA64MMFR1_EL1"),
	SR(3, 0, 0, 7, 2, "ID_AA64MMFR2_EL1"),
	SR(3, 0, 0, 7, 3, "ID_AA64MMFR3_EL1"),
	SR(3, 0, 0, 7, 4, "ID_AA64MMFR4_EL1"),
	SR(3, 0, 1, 0, 0, "SCTLR_EL1"),
	SR(3, 0, 1, 0, 1, "ACTLR_EL1"),
	SR(3, 0, 1, 0, 2, "CPACR_EL1"),
	SR(3, 0, 1, 0, 3, "SCTLR2_EL1"),
	SR(3, 0, 1, 0, 5, "RGSR_EL1"),
	SR(3, 0, 1, 0, 6, "GCR_EL1"),
	SR(3, 0, 1, 2, 0, "ZCR_EL1"),
	SR(3, 0, 1, 2, 4, "SMPRI_EL1"),
	SR(3, 0, 1, 2, 6, "SMCR_EL1"),
	SR(3, 0, 2, 0, 0, "TTBR0_EL1"),
	SR(3, 0, 2, 0, 1, "TTBR1_EL1"),
	SR(3, 0, 2, 0, 2, "TCR_EL1"),
	SR(3, 0, 2, 0, 3, "TCR2_EL1"),
	SR(3, 0, 2, 1, 0, "APIAKEYLO_EL1"),
	SR(3, 0, 2, 1, 1, "APIAKEYHI_EL1"),
	SR(3, 0, 2, 1, 2, "APIBKEYLO_EL1"),
	SR(3, 0, 2, 1, 3, "APIBKEYHI_EL1"),
	SR(3, 0, 2, 2, 0, "APDAKEYLO_EL1"),
	SR(3, 0, 2, 2, 1, "APDAKEYHI_EL1"),
	SR(3, 0, 2, 2, 2, "APDBKEYLO_EL1"),
	SR(3, 0, 2, 2, 3, "APDBKEYHI_EL1"),
	SR(3, 0, 2, 3, 0, "APGAKEYLO_EL1"),
	SR(3, 0, 2, 3, 1, "APGAKEYHI_EL1"),
	SR(3, 0, 2, 5, 0, "GCSCR_EL1"),
	SR(3, 0, 2, 5, 1, "GCSPR_EL1"),
	SR(3, 0, 2, 5, 2, "GCSCRE0_EL1"),
	SR(3, 0, 4, 6, 0, "ICC_PMR_EL1"),
	SR(3, 0, 5, 1, 0, "AFSR0_EL1"),
	SR(3, 0, 5, 1, 1, "AFSR1_EL1"),
	SR(3, 0, 5, 2, 0, "ESR_EL1"),
	SR(3, 0, 5, 3, 0, "ERRIDR_EL1"),
	SR(3, 0, 5, 3, 1, "ERRSELR_EL1"),
	SR(3, 0, 5, 6, 0, "TFSR_EL1"),
	SR(3, 0, 5, 6, 1, "TFSRE0_EL1"),
	SR(3, 0, 6, 0, 0, "FAR_EL1"),
	SR(3, 0, 7, 4, 0, "PAR_EL1"),
	SR(3, 0, 9, 14, 1, "PMINTENSET_EL1"),
	SR(3, 0, 9, 14, 2, "PMINTENCLR_EL1"),
	SR(3, 0, 9, 14, 6, "PMMIR_EL1"),
	SR(3, 0, 10, 2, 0, "MAIR_EL1"),
	SR(3, 0, 10, 2, 2, "PIRE0_EL1"),
	SR(3, 0, 10, 2, 3, "PIR_EL1"),
	SR(3, 0, 10, 2, 4, "POR_EL1"),
	SR(3, 0, 10, 3, 0, "AMAIR_EL1"),
	SR(3, 0, 12, 0, 0, "VBAR_EL1"),
	SR(3, 0, 12, 1, 1, "DISR_EL1"),
	SR(3, 0, 13, 0, 1, "CONTEXTIDR_EL1"),
	SR(3, 0, 13, 0, 4, "TPIDR_EL1"),
	SR(3, 0, 13, 0, 5, "ACCDATA_EL1"),
	SR(3, 0, 13, 0, 7, "SCXTNUM_EL1"),
	SR(3, 0, 14, 1, 0, "CNTKCTL_EL1"),
	SR(3, 1, 0, 0, 0, "CCSIDR_EL1"),
	SR(3, 1, 0, 0, 1, "CLIDR_EL1"),
	SR(3, 1, 0, 0, 2, "CCSIDR2_EL1"),
	SR(3, 1, 0, 0, 4, "GMID_EL1"),
	SR(3, 1, 0, 0, 6, "SMIDR_EL1"),
	SR(3, 1, 0, 0, 7, "AIDR_EL1"),
	SR(3, 2, 0, 0, 0, "CSSELR_EL1"),
	SR(3, 3, 0, 0, 1, "CTR_EL0"),
	SR(3, 3, 0, 0, 7, "DCZID_EL0"),
	SR(3, 3, 2, 5, 1, "GCSPR_EL0"),
	SR(3, 3, 4, 2, 2, "SVCR"),
	SR(3, 3, 4, 4, 0, "FPCR_EL0"),
	SR(3, 3, 4, 4, 1, "FPSR_EL0"),
	SR(3, 3, 4, 4, 2, "FPMR"),
	SR(3, 3, 9, 4, 0, "PMICNTR_EL0"),
	SR(3, 3, 9, 6, 0, "PMICFILTR_EL0"),
	SR(3, 3, 9, 12, 0, "PMCR_EL0"),
	SR(3, 3, 9, 12, 1, "PMCNTENSET_EL0"),
	SR(3, 3, 9, 12, 2, "PMCNTENCLR_EL0"),
	SR(3, 3, 9, 12, 3, "PMOVSCLR_EL0"),
	SR(3, 3, 9, 12, 4, "PMSWINC_EL0"),
	SR(3, 3, 9, 12, 5, "PMSELR_EL0"),
	SR(3, 3, 9, 12, 6, "PMCEID0_EL0"),
	SR(3, 3, 9, 12, 7, "PMCEID1_EL0"),
	SR(3, 3, 9, 13, 0, "PMCCNTR_EL0"),
	SR(3, 3, 9, 13, 1, "PMXEVTYPER_EL0"),
	SR(3, 3, 9, 13, 2, "PMXEVCNTR_EL0"),
	SR(3, 3, 9, 14, 0, "PMUSERENR_EL0"),
	SR(3, 3, 9, 14, 3, "PMOVSSET_EL0"),
	SR(3, 3, 10, 2, 4, "POR_EL0"),
	SR(3, 3, 13, 0, 2, "TPIDR_EL0"),
	SR(3, 3, 13, 0, 3, "TPIDRRO_EL0"),
	SR(3, 3, 13, 0, 5, "TPIDR2_EL0"),
	SR(3, 3, 13, 0, 7, "SCXTNUM_EL0"),
	SR(3, 3, 14, 0, 0, "CNTFRQ_EL0"),
	SR(3, 3, 14, 0, 1, "CNTPCT_EL0"),     /* KVM_REG_ARM_PTIMER_CNT */
	SR(3, 3, 14, 0, 2, "CNTV_CVAL_EL0"),  /* KVM_REG_ARM_TIMER_CVAL (ABI swap) */
	SR(3, 3, 14, 2, 0, "CNTP_TVAL_EL0"),
	SR(3, 3, 14, 2, 1, "CNTP_CTL_EL0"),
	SR(3, 3, 14, 2, 2, "CNTP_CVAL_EL0"),
	SR(3, 3, 14, 3, 0, "CNTV_TVAL_EL0"),
	SR(3, 3, 14, 3, 1, "CNTV_CTL_EL0"),
	SR(3, 3, 14, 3, 2, "CNTVCT_EL0"),     /* KVM_REG_ARM_TIMER_CNT (ABI swap) */
	SR(3, 3, 14, 15, 7, "PMCCFILTR_EL0"),
	SR(3, 4, 3, 0, 0, "DACR32_EL2"),
	SR(3, 4, 5, 0, 1, "IFSR32_EL2"),
	SR(3, 4, 5, 3, 0, "FPEXC32_EL2"),
};

static uint32_t enc_key(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2)
{
	return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}

static const char *sysreg_table_name(uint64_t id)
{
	uint32_t key = id & 0xffff;
	size_t lo = 0, hi = ARRAY_SIZE(sysregs);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct sysreg_name *s = &sysregs[mid];
		uint32_t k = enc_key(s->op0, s->op1, s->crn, s->crm, s->op2);

		if (k == key)
			return s->name;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *core_name(unsigned off, char *tmp, size_t len)
{
	/* struct kvm_regs, in 32-bit words (KVM_REG_ARM_CORE_REG). */
	static const char *const spsr[] = { "SPSR_EL1", "SPSR_ABT", "SPSR_UND", "SPSR_IRQ", "SPSR_FIQ" };

	if (off < 62 && off % 2 == 0) {
		snprintf(tmp, len, "X%u", off / 2);
		return tmp;
	}
	switch (off) {
	case 62: return "SP";
	case 64: return "PC";
	case 66: return "PSTATE";
	case 68: return "SP_EL1";
	case 70: return "ELR_EL1";
	case 212: return "FPSR";
	case 213: return "FPCR";
	}
	if (off >= 72 && off <= 80 && off % 2 == 0)
		return spsr[(off - 72) / 2];
	if (off >= 84 && off < 84 + 128 && (off - 84) % 4 == 0) {
		snprintf(tmp, len, "V%u", (off - 84) / 4);
		return tmp;
	}
	return NULL;
}

static const char *const fw_names[] = {
	"PSCI_VERSION", "SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2",
	"SMCCC_ARCH_WORKAROUND_3",
};
static const char *const bmap_names[] = {
	"STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2",
};

/*
 * Unallocated encodings of the ID space that KVM still lists (it reads them
 * as zero): named so every id KVM returns has a stable name.
 */
static bool id_unallocated(struct cpreg_enc e)
{
	return e.op0 == 3 && e.op1 == 0 && e.crn == 0 && e.crm >= 1 && e.crm <= 7;
}

bool cpreg_id_valid(uint64_t id)
{
	unsigned size = (id >> 52) & 0xf;

	if ((id & UINT64_C(0xff00000000000000)) != CPREG_ARM64)
		return false;
	if (size > 8 || (id >> 28 & 0xffffff) != 0)
		return false;
	switch (CPREG_ID_GROUP(id)) {
	case CPREG_GROUP_CORE: case CPREG_GROUP_DEMUX: case CPREG_GROUP_SYSREG:
	case CPREG_GROUP_FW: case CPREG_GROUP_SVE: case CPREG_GROUP_FW_FEAT:
		return true;
	}
	return false;
}

bool cpreg_id_migrates(uint64_t id)
{
	return cpreg_migrates(id);
}

bool cpreg_id_is_counter(uint64_t id)
{
	return id == CPREG_TIMER_CNT || id == CPREG_PTIMER_CNT;
}

bool cpreg_id_is_idreg(uint64_t id)
{
	struct cpreg_enc e;

	if (CPREG_ID_GROUP(id) == CPREG_GROUP_DEMUX)
		return true;  /* CCSIDR */
	if (CPREG_ID_GROUP(id) != CPREG_GROUP_SYSREG)
		return false;
	e = cpreg_sysreg_enc(id);
	if (e.op0 != 3 || e.crn != 0)
		return false;
	if (e.op1 == 0)  /* the ID space; MPIDR is per-vCPU state, not a host property */
		return !(e.crm == 0 && e.op2 == 5);
	return (e.op1 == 1 && e.crm == 0 && (e.op2 == 1 || e.op2 == 7)) ||  /* CLIDR, AIDR */
	       (e.op1 == 3 && e.crm == 0 && e.op2 == 1);                    /* CTR_EL0 */
}

bool cpreg_id_is_id_register(uint64_t id)
{
	return cpreg_id_is_idreg(id);
}

int cpreg_writable_mask_index(uint64_t id)
{
	struct cpreg_enc e;

	if (CPREG_ID_GROUP(id) != CPREG_GROUP_SYSREG)
		return -EINVAL;
	e = cpreg_sysreg_enc(id);
	if (e.op0 != 3 || e.crn != 0 || (e.op1 != 0 && e.op1 != 1 && e.op1 != 3) || e.crm > 7)
		return -EINVAL;
	/* Documentation/virt/kvm/api.rst, KVM_ARM_GET_REG_WRITABLE_MASKS */
	return (int)(((e.op1 & 3) - (e.op1 == 3)) << 6 | (e.crm & 7) << 3 | e.op2);
}

/*
 * A sysreg's name: the table's (*n), or one of the families the table
 * leaves out (debug, PMU event counters, unallocated ID registers),
 * written into buf (their length returned), or -1 for the table or the
 * hex fallback to say it.
 */
static int sysreg_name(uint64_t id, const char **n, char *buf, size_t len, bool *ret_known)
{
	struct cpreg_enc e = cpreg_sysreg_enc(id);

	if ((id & 0xffff0000u) != 0x00130000u)
		return -1;
	*n = sysreg_table_name(id);
	if (*n)
		return -1;
	*ret_known = true;
	if (e.op0 == 2 && e.op1 == 0 && e.crn == 0 && e.op2 >= 4) {
		static const char *const dbg[] = { "DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR" };

		return snprintf(buf, len, "%s%u_EL1", dbg[e.op2 - 4], e.crm);
	}
	if (e.op0 == 3 && e.op1 == 3 && e.crn == 14 && e.crm >= 8)
		return snprintf(buf, len, "%s%u_EL0", e.crm >= 12 ? "PMEVTYPER" : "PMEVCNTR", (e.crm & 3) * 8 + e.op2);
	if (id_unallocated(e))
		return snprintf(buf, len, "ID_UNALLOCATED_%u_%u", e.crm, e.op2);
	*ret_known = false;
	return snprintf(buf, len, "S%u_%u_C%u_C%u_%u", e.op0, e.op1, e.crn, e.crm, e.op2);
}

/* The SVE slices by number, and the vector-length register; -1 for the hex fallback. */
static int sve_name(uint64_t id, char *buf, size_t len, bool *ret_known)
{
	unsigned lo = id & 0xffff;

	*ret_known = true;
	if (lo == 0xffff)
		return snprintf(buf, len, "SVE_VLS");
	if (lo < 0x400)
		return lo & 31 ? snprintf(buf, len, "Z%u[%u]", lo >> 5, lo & 31) : snprintf(buf, len, "Z%u", lo >> 5);
	if (lo < 0x600)
		return lo & 31 ? snprintf(buf, len, "P%u[%u]", (lo - 0x400) >> 5, lo & 31)
			       : snprintf(buf, len, "P%u", (lo - 0x400) >> 5);
	if (lo < 0x620)
		return lo & 31 ? snprintf(buf, len, "FFR[%u]", lo & 31) : snprintf(buf, len, "FFR");
	*ret_known = false;
	return -1;
}

/* A table's name, with snprintf's "%s" semantics but not its format parsing: names are written for every register. */
static int put_name(const char *n, char *buf, size_t len)
{
	size_t nl = strlen(n);

	if (len) {
		size_t c = nl < len ? nl : len - 1;

		memcpy(buf, n, c);
		buf[c] = '\0';
	}
	return (int)nl;
}

static int name_of(uint64_t id, char *buf, size_t len, bool *ret_known)
{
	char tmp[32];
	const char *n = NULL;
	int r = -1;

	*ret_known = false;
	if (!cpreg_id_valid(id))
		return snprintf(buf, len, "0x%016" PRIx64, id);
	switch (CPREG_ID_GROUP(id)) {
	case CPREG_GROUP_CORE:
		n = core_name(id & 0xffff, tmp, sizeof(tmp));
		break;
	case CPREG_GROUP_DEMUX:
		if ((id & 0xff00) == 0) {
			*ret_known = true;
			return snprintf(buf, len, "CCSIDR_EL1[%u]", (unsigned)(id & 0xff));
		}
		break;
	case CPREG_GROUP_SYSREG:
		r = sysreg_name(id, &n, buf, len, ret_known);
		break;
	case CPREG_GROUP_FW:
		if ((id & 0xffff) < ARRAY_SIZE(fw_names))
			n = fw_names[id & 0xffff];
		break;
	case CPREG_GROUP_FW_FEAT:
		if ((id & 0xffff) < ARRAY_SIZE(bmap_names))
			n = bmap_names[id & 0xffff];
		break;
	case CPREG_GROUP_SVE:
		r = sve_name(id, buf, len, ret_known);
		break;
	}
	if (r >= 0)
		return r;
	if (!n)
		return snprintf(buf, len, "0x%016" PRIx64, id);
	*ret_known = true;
	return put_name(n, buf, len);
}

int cpreg_id_name(uint64_t id, char *buf, size_t len)
{
	bool known;

	return name_of(id, buf, len, &known);
}

bool cpreg_id_has_name(uint64_t id)
{
	char buf[64];
	bool known;

	name_of(id, buf, sizeof(buf), &known);
	return known;
}

/* "S3_0_C2_C0_3" (the assembler's generic form), case-insensitive. */
static int parse_generic(const char *s, uint64_t *ret)
{
	unsigned op0, op1, crn, crm, op2;
	int n = -1;

	if (sscanf(s, "%*[sS]%u_%u_%*[cC]%u_%*[cC]%u_%u%n", &op0, &op1, &crn, &crm, &op2, &n) != 5 ||
	    n < 0 || s[n] != '\0')
		return -EINVAL;
	if (op0 > 3 || op1 > 7 || crn > 15 || crm > 15 || op2 > 7)
		return -ERANGE;
	*ret = CPREG_SYSREG(op0, op1, crn, crm, op2);
	return 0;
}

/* Candidate ids whose names we can generate; a parse walks them once. */
static int parse_by_name(const char *s, uint64_t *ret)
{
	char buf[64];
	bool known;
	static const uint64_t size64 = UINT64_C(0x0030000000000000);

	for (size_t i = 0; i < ARRAY_SIZE(sysregs); i++) {
		const struct sysreg_name *r = &sysregs[i];

		if (strcasecmp(s, r->name) == 0) {
			*ret = CPREG_SYSREG(r->op0, r->op1, r->crn, r->crm, r->op2);
			return 0;
		}
	}
	/* Generated names: debug, PMU event, unallocated ID, core, demux, fw, SVE. */
	for (unsigned crm = 0; crm < 16; crm++)
		for (unsigned op2 = 0; op2 < 8; op2++) {
			uint64_t ids[] = { CPREG_SYSREG(2, 0, 0, crm, op2), CPREG_SYSREG(3, 3, 14, crm, op2),
					   CPREG_SYSREG(3, 0, 0, crm, op2) };

			for (size_t k = 0; k < ARRAY_SIZE(ids); k++) {
				name_of(ids[k], buf, sizeof(buf), &known);
				if (known && strcasecmp(s, buf) == 0) {
					*ret = ids[k];
					return 0;
				}
			}
		}
	for (unsigned off = 0; off < 214; off++) {
		const char *n = core_name(off, buf, sizeof(buf));
		uint64_t size = off >= 84 && off < 212 ? UINT64_C(0x0040000000000000)
			      : off >= 212 ? UINT64_C(0x0020000000000000) : size64;

		if (n && strcasecmp(s, n) == 0) {
			*ret = CPREG_ARM64 | size | (uint64_t)CPREG_GROUP_CORE << 16 | off;
			return 0;
		}
	}
	{
		unsigned csselr;
		int n = -1;

		if (sscanf(s, "CCSIDR_EL1[%u]%n", &csselr, &n) == 1 && n > 0 && s[n] == '\0' && csselr < 256) {
			*ret = CPREG_ARM64 | UINT64_C(0x0020000000000000) | (uint64_t)CPREG_GROUP_DEMUX << 16 | csselr;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(fw_names); i++)
		if (strcasecmp(s, fw_names[i]) == 0) {
			*ret = CPREG_ARM64 | size64 | (uint64_t)CPREG_GROUP_FW << 16 | i;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(bmap_names); i++)
		if (strcasecmp(s, bmap_names[i]) == 0) {
			*ret = CPREG_ARM64 | size64 | (uint64_t)CPREG_GROUP_FW_FEAT << 16 | i;
			return 0;
		}
	if (strcasecmp(s, "SVE_VLS") == 0) {
		*ret = CPREG_SVE_VLS;
		return 0;
	}
	for (unsigned lo = 0; lo < 0x620; lo++) {
		uint64_t size = lo < 0x400 ? UINT64_C(0x0080000000000000) : UINT64_C(0x0050000000000000);
		uint64_t id = CPREG_ARM64 | size | (uint64_t)CPREG_GROUP_SVE << 16 | lo;

		name_of(id, buf, sizeof(buf), &known);
		if (known && strcasecmp(s, buf) == 0) {
			*ret = id;
			return 0;
		}
	}
	return -ENOENT;
}

int cpreg_id_parse(const char *text, uint64_t *ret_id)
{
	uint64_t id;
	int r;

	if (!text || !*text)
		return -EINVAL;
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		r = cpreg_parse_hex(text, &id);
		if (r < 0)
			return r;
		if (!cpreg_id_valid(id))
			return -EINVAL;
	} else if ((text[0] == 'S' || text[0] == 's') && isdigit((unsigned char)text[1])) {
		r = parse_generic(text, &id);
		if (r < 0)
			return r;
	} else {
		r = parse_by_name(text, &id);
		if (r < 0)
			return r;
	}
	*ret_id = id;
	return 0;
}
