/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fields of the ID registers KVM exposes: position, width, signedness, and
 * the rule by which Linux 6.7+ decides whether a value written from
 * userspace is safe (KVM_SET_ONE_REG on an ID register: bits outside the
 * writable mask must equal the host's; each writable field must pass
 * arm64_ftr_safe_value() against the host's, arch/arm64/kernel/cpufeature.c
 * and arch/arm64/kvm/sys_regs.c).  Names follow the Arm ARM; FEAT_ names
 * where the field announces one.  Registers without a table here are
 * compared nibble by nibble with the rule most fields have, "lower is safe",
 * and the live trial is the judge.
 */
#include "config.h"

#include <pthread.h>

#include <inttypes.h>
#include <stdio.h>

#include "cpreg-internal.h"

#define L CPREG_SAFE_LOWER
#define H CPREG_SAFE_HIGHER
#define HZ CPREG_SAFE_HIGHER_OR_ZERO
#define X CPREG_SAFE_EXACT
#define ANY CPREG_SAFE_ANY

#define F(reg, sh, w, sgn, rule, safe, n, feat) \
	{ CPREG_SYSREG reg, n, sh, w, sgn, rule, safe, feat, 0, false }
/* A field KVM's set_user handler also bounds below (arch/arm64/kvm/sys_regs.c). */
#define FMIN(reg, sh, w, sgn, rule, n, feat, min, zok) \
	{ CPREG_SYSREG reg, n, sh, w, sgn, rule, 0, feat, min, zok }
#define DFR0_32 (3, 0, 0, 1, 2)
#define ISAR0 (3, 0, 0, 6, 0)
#define ISAR1 (3, 0, 0, 6, 1)
#define ISAR2 (3, 0, 0, 6, 2)
#define PFR0 (3, 0, 0, 4, 0)
#define PFR1 (3, 0, 0, 4, 1)
#define ZFR0 (3, 0, 0, 4, 4)
#define DFR0 (3, 0, 0, 5, 0)
#define MMFR0 (3, 0, 0, 7, 0)
#define MMFR1 (3, 0, 0, 7, 1)
#define MMFR2 (3, 0, 0, 7, 2)
#define CTR (3, 3, 0, 0, 1)
#define CLIDR (3, 1, 0, 0, 1)

/* Grouped by register, each register's fields by shift. */
static const struct cpreg_field fields[] = {
	/* MIDR_EL1: not writable by QEMU's vCPUs at all; named so a difference reads as a CPU. */
	F((3, 0, 0, 0, 0), 0, 4, false, X, 0, "Revision", NULL),
	F((3, 0, 0, 0, 0), 4, 12, false, X, 0, "PartNum", NULL),
	F((3, 0, 0, 0, 0), 16, 4, false, X, 0, "Architecture", NULL),
	F((3, 0, 0, 0, 0), 20, 4, false, X, 0, "Variant", NULL),
	F((3, 0, 0, 0, 0), 24, 8, false, X, 0, "Implementer", NULL),
	F(PFR0, 0, 4, false, L, 0, "EL0", NULL),
	F(PFR0, 4, 4, false, L, 0, "EL1", NULL),
	F(PFR0, 8, 4, false, L, 0, "EL2", NULL),
	F(PFR0, 12, 4, false, L, 0, "EL3", NULL),
	F(PFR0, 16, 4, true, L, 0, "FP", "FEAT_FP16"),
	F(PFR0, 20, 4, true, L, 0, "AdvSIMD", "FEAT_FP16"),
	F(PFR0, 24, 4, false, L, 0, "GIC", NULL),
	F(PFR0, 28, 4, false, L, 0, "RAS", "FEAT_RAS"),
	F(PFR0, 32, 4, false, L, 0, "SVE", "FEAT_SVE"),
	F(PFR0, 36, 4, false, L, 0, "SEL2", "FEAT_SEL2"),
	F(PFR0, 40, 4, false, L, 0, "MPAM", "FEAT_MPAM"),
	F(PFR0, 44, 4, false, L, 0, "AMU", "FEAT_AMUv1"),
	F(PFR0, 48, 4, false, L, 0, "DIT", "FEAT_DIT"),
	F(PFR0, 52, 4, false, L, 0, "RME", "FEAT_RME"),
	F(PFR0, 56, 4, false, L, 0, "CSV2", "FEAT_CSV2"),
	F(PFR0, 60, 4, false, L, 0, "CSV3", "FEAT_CSV3"),
	F(PFR1, 0, 4, false, L, 0, "BT", "FEAT_BTI"),
	F(PFR1, 4, 4, false, L, 0, "SSBS", "FEAT_SSBS"),
	F(PFR1, 8, 4, false, L, 0, "MTE", "FEAT_MTE"),
	F(PFR1, 12, 4, false, L, 0, "RAS_frac", NULL),
	F(PFR1, 16, 4, false, L, 0, "MPAM_frac", NULL),
	F(PFR1, 24, 4, false, L, 0, "SME", "FEAT_SME"),
	F(PFR1, 28, 4, false, L, 0, "RNDR_trap", "FEAT_RNG_TRAP"),
	F(PFR1, 32, 4, false, L, 0, "CSV2_frac", NULL),
	F(PFR1, 36, 4, false, L, 0, "NMI", "FEAT_NMI"),
	F(ZFR0, 0, 4, false, L, 0, "SVEver", "FEAT_SVE2"),
	F(ZFR0, 4, 4, false, L, 0, "AES", "FEAT_SVE_AES"),
	F(ZFR0, 16, 4, false, L, 0, "BitPerm", "FEAT_SVE_BitPerm"),
	F(ZFR0, 20, 4, false, L, 0, "BF16", "FEAT_BF16"),
	F(ZFR0, 24, 4, false, L, 0, "B16B16", "FEAT_SVE_B16B16"),
	F(ZFR0, 32, 4, false, L, 0, "SHA3", "FEAT_SVE_SHA3"),
	F(ZFR0, 40, 4, false, L, 0, "SM4", "FEAT_SVE_SM4"),
	F(ZFR0, 44, 4, false, L, 0, "I8MM", "FEAT_I8MM"),
	F(ZFR0, 52, 4, false, L, 0, "F32MM", "FEAT_F32MM"),
	F(ZFR0, 56, 4, false, L, 0, "F64MM", "FEAT_F64MM"),
	/*
	 * The AArch32 ID registers, named as in the Arm ARM (and the kernel's
	 * arch/arm64/tools/sysreg), so that a difference reads as a field; judged
	 * lower-safe as unnamed nibbles were, which every real migration of
	 * tests/vm/migrate-expected.txt agrees with.
	 */
	F((3, 0, 0, 1, 0), 0, 4, false, L, 0, "State0", NULL),
	F((3, 0, 0, 1, 0), 4, 4, false, L, 0, "State1", NULL),
	F((3, 0, 0, 1, 0), 8, 4, false, L, 0, "State2", NULL),
	F((3, 0, 0, 1, 0), 12, 4, false, L, 0, "State3", NULL),
	F((3, 0, 0, 1, 0), 16, 4, false, L, 0, "CSV2", NULL),
	F((3, 0, 0, 1, 0), 20, 4, false, L, 0, "AMU", NULL),
	F((3, 0, 0, 1, 0), 24, 4, false, L, 0, "DIT", NULL),
	F((3, 0, 0, 1, 0), 28, 4, false, L, 0, "RAS", NULL),
	F((3, 0, 0, 1, 1), 0, 4, false, L, 0, "ProgMod", NULL),
	F((3, 0, 0, 1, 1), 4, 4, false, L, 0, "Security", NULL),
	F((3, 0, 0, 1, 1), 8, 4, false, L, 0, "MProgMod", NULL),
	F((3, 0, 0, 1, 1), 12, 4, false, L, 0, "Virtualization", NULL),
	F((3, 0, 0, 1, 1), 16, 4, false, L, 0, "GenTimer", NULL),
	F((3, 0, 0, 1, 1), 20, 4, false, L, 0, "Sec_frac", NULL),
	F((3, 0, 0, 1, 1), 24, 4, false, L, 0, "Virt_frac", NULL),
	F((3, 0, 0, 1, 1), 28, 4, false, L, 0, "GIC", NULL),
	F((3, 0, 0, 1, 4), 0, 4, false, L, 0, "VMSA", NULL),
	F((3, 0, 0, 1, 4), 4, 4, false, L, 0, "PMSA", NULL),
	F((3, 0, 0, 1, 4), 8, 4, false, L, 0, "OuterShr", NULL),
	F((3, 0, 0, 1, 4), 12, 4, false, L, 0, "ShareLvl", NULL),
	F((3, 0, 0, 1, 4), 16, 4, false, L, 0, "TCM", NULL),
	F((3, 0, 0, 1, 4), 20, 4, false, L, 0, "AuxReg", NULL),
	F((3, 0, 0, 1, 4), 24, 4, false, L, 0, "FCSE", NULL),
	F((3, 0, 0, 1, 4), 28, 4, false, L, 0, "InnerShr", NULL),
	F((3, 0, 0, 1, 5), 0, 4, false, L, 0, "L1HvdVA", NULL),
	F((3, 0, 0, 1, 5), 4, 4, false, L, 0, "L1UniVA", NULL),
	F((3, 0, 0, 1, 5), 8, 4, false, L, 0, "L1HvdSW", NULL),
	F((3, 0, 0, 1, 5), 12, 4, false, L, 0, "L1UniSW", NULL),
	F((3, 0, 0, 1, 5), 16, 4, false, L, 0, "L1Hvd", NULL),
	F((3, 0, 0, 1, 5), 20, 4, false, L, 0, "L1Uni", NULL),
	F((3, 0, 0, 1, 5), 24, 4, false, L, 0, "L1TstCln", NULL),
	F((3, 0, 0, 1, 5), 28, 4, false, L, 0, "BPred", NULL),
	F((3, 0, 0, 1, 6), 0, 4, false, L, 0, "L1HvdFG", NULL),
	F((3, 0, 0, 1, 6), 4, 4, false, L, 0, "L1HvdBG", NULL),
	F((3, 0, 0, 1, 6), 8, 4, false, L, 0, "L1HvdRng", NULL),
	F((3, 0, 0, 1, 6), 12, 4, false, L, 0, "HvdTLB", NULL),
	F((3, 0, 0, 1, 6), 16, 4, false, L, 0, "UniTLB", NULL),
	F((3, 0, 0, 1, 6), 20, 4, false, L, 0, "MemBarr", NULL),
	F((3, 0, 0, 1, 6), 24, 4, false, L, 0, "WFIStall", NULL),
	F((3, 0, 0, 1, 6), 28, 4, false, L, 0, "HWAccFlg", NULL),
	F((3, 0, 0, 1, 7), 0, 4, false, L, 0, "CMaintVA", NULL),
	F((3, 0, 0, 1, 7), 4, 4, false, L, 0, "CMaintSW", NULL),
	F((3, 0, 0, 1, 7), 8, 4, false, L, 0, "BPMaint", NULL),
	F((3, 0, 0, 1, 7), 12, 4, false, L, 0, "MaintBcst", NULL),
	F((3, 0, 0, 1, 7), 16, 4, false, L, 0, "PAN", NULL),
	F((3, 0, 0, 1, 7), 20, 4, false, L, 0, "CohWalk", NULL),
	F((3, 0, 0, 1, 7), 24, 4, false, L, 0, "CMemSz", NULL),
	F((3, 0, 0, 1, 7), 28, 4, false, L, 0, "Supersec", NULL),
	F((3, 0, 0, 2, 0), 0, 4, false, L, 0, "Swap", NULL),
	F((3, 0, 0, 2, 0), 4, 4, false, L, 0, "BitCount", NULL),
	F((3, 0, 0, 2, 0), 8, 4, false, L, 0, "BitField", NULL),
	F((3, 0, 0, 2, 0), 12, 4, false, L, 0, "CmpBranch", NULL),
	F((3, 0, 0, 2, 0), 16, 4, false, L, 0, "Coproc", NULL),
	F((3, 0, 0, 2, 0), 20, 4, false, L, 0, "Debug", NULL),
	F((3, 0, 0, 2, 0), 24, 4, false, L, 0, "Divide", NULL),
	F((3, 0, 0, 2, 1), 0, 4, false, L, 0, "Endian", NULL),
	F((3, 0, 0, 2, 1), 4, 4, false, L, 0, "Except", NULL),
	F((3, 0, 0, 2, 1), 8, 4, false, L, 0, "Except_AR", NULL),
	F((3, 0, 0, 2, 1), 12, 4, false, L, 0, "Extend", NULL),
	F((3, 0, 0, 2, 1), 16, 4, false, L, 0, "IfThen", NULL),
	F((3, 0, 0, 2, 1), 20, 4, false, L, 0, "Immediate", NULL),
	F((3, 0, 0, 2, 1), 24, 4, false, L, 0, "Interwork", NULL),
	F((3, 0, 0, 2, 1), 28, 4, false, L, 0, "Jazelle", NULL),
	F((3, 0, 0, 2, 2), 0, 4, false, L, 0, "LoadStore", NULL),
	F((3, 0, 0, 2, 2), 4, 4, false, L, 0, "MemHint", NULL),
	F((3, 0, 0, 2, 2), 8, 4, false, L, 0, "MultiAccessInt", NULL),
	F((3, 0, 0, 2, 2), 12, 4, false, L, 0, "Mult", NULL),
	F((3, 0, 0, 2, 2), 16, 4, false, L, 0, "MultS", NULL),
	F((3, 0, 0, 2, 2), 20, 4, false, L, 0, "MultU", NULL),
	F((3, 0, 0, 2, 2), 24, 4, false, L, 0, "PSR_AR", NULL),
	F((3, 0, 0, 2, 2), 28, 4, false, L, 0, "Reversal", NULL),
	F((3, 0, 0, 2, 3), 0, 4, false, L, 0, "Saturate", NULL),
	F((3, 0, 0, 2, 3), 4, 4, false, L, 0, "SIMD", NULL),
	F((3, 0, 0, 2, 3), 8, 4, false, L, 0, "SVC", NULL),
	F((3, 0, 0, 2, 3), 12, 4, false, L, 0, "SynchPrim", NULL),
	F((3, 0, 0, 2, 3), 16, 4, false, L, 0, "TabBranch", NULL),
	F((3, 0, 0, 2, 3), 20, 4, false, L, 0, "T32Copy", NULL),
	F((3, 0, 0, 2, 3), 24, 4, false, L, 0, "TrueNOP", NULL),
	F((3, 0, 0, 2, 3), 28, 4, false, L, 0, "T32EE", NULL),
	F((3, 0, 0, 2, 4), 0, 4, false, L, 0, "Unpriv", NULL),
	F((3, 0, 0, 2, 4), 4, 4, false, L, 0, "WithShifts", NULL),
	F((3, 0, 0, 2, 4), 8, 4, false, L, 0, "Writeback", NULL),
	F((3, 0, 0, 2, 4), 12, 4, false, L, 0, "SMC", NULL),
	F((3, 0, 0, 2, 4), 16, 4, false, L, 0, "Barrier", NULL),
	F((3, 0, 0, 2, 4), 20, 4, false, L, 0, "SynchPrim_frac", NULL),
	F((3, 0, 0, 2, 4), 24, 4, false, L, 0, "PSR_M", NULL),
	F((3, 0, 0, 2, 4), 28, 4, false, L, 0, "SWP_frac", NULL),
	F((3, 0, 0, 2, 5), 0, 4, false, L, 0, "SEVL", NULL),
	F((3, 0, 0, 2, 5), 4, 4, false, L, 0, "AES", NULL),
	F((3, 0, 0, 2, 5), 8, 4, false, L, 0, "SHA1", NULL),
	F((3, 0, 0, 2, 5), 12, 4, false, L, 0, "SHA2", NULL),
	F((3, 0, 0, 2, 5), 16, 4, false, L, 0, "CRC32", NULL),
	F((3, 0, 0, 2, 5), 24, 4, false, L, 0, "RDM", NULL),
	F((3, 0, 0, 2, 5), 28, 4, false, L, 0, "VCMA", NULL),
	F((3, 0, 0, 2, 6), 0, 4, false, L, 0, "SpecSEI", NULL),
	F((3, 0, 0, 2, 6), 4, 4, false, L, 0, "AC2", NULL),
	F((3, 0, 0, 2, 6), 8, 4, false, L, 0, "XNX", NULL),
	F((3, 0, 0, 2, 6), 12, 4, false, L, 0, "CnP", NULL),
	F((3, 0, 0, 2, 6), 16, 4, false, L, 0, "HPDS", NULL),
	F((3, 0, 0, 2, 6), 20, 4, false, L, 0, "LSM", NULL),
	F((3, 0, 0, 2, 6), 24, 4, false, L, 0, "CCIDX", NULL),
	F((3, 0, 0, 2, 6), 28, 4, false, L, 0, "EVT", NULL),
	F((3, 0, 0, 2, 7), 0, 4, false, L, 0, "JSCVT", NULL),
	F((3, 0, 0, 2, 7), 4, 4, false, L, 0, "DP", NULL),
	F((3, 0, 0, 2, 7), 8, 4, false, L, 0, "FHM", NULL),
	F((3, 0, 0, 2, 7), 12, 4, false, L, 0, "SB", NULL),
	F((3, 0, 0, 2, 7), 16, 4, false, L, 0, "SPECRES", NULL),
	F((3, 0, 0, 2, 7), 20, 4, false, L, 0, "BF16", NULL),
	F((3, 0, 0, 2, 7), 24, 4, false, L, 0, "I8MM", NULL),
	F((3, 0, 0, 3, 0), 0, 4, false, L, 0, "SIMDReg", NULL),
	F((3, 0, 0, 3, 0), 4, 4, false, L, 0, "FPSP", NULL),
	F((3, 0, 0, 3, 0), 8, 4, false, L, 0, "FPDP", NULL),
	F((3, 0, 0, 3, 0), 12, 4, false, L, 0, "FPTrap", NULL),
	F((3, 0, 0, 3, 0), 16, 4, false, L, 0, "FPDivide", NULL),
	F((3, 0, 0, 3, 0), 20, 4, false, L, 0, "FPSqrt", NULL),
	F((3, 0, 0, 3, 0), 24, 4, false, L, 0, "FPShVec", NULL),
	F((3, 0, 0, 3, 0), 28, 4, false, L, 0, "FPRound", NULL),
	F((3, 0, 0, 3, 1), 0, 4, false, L, 0, "FPFtZ", NULL),
	F((3, 0, 0, 3, 1), 4, 4, false, L, 0, "FPDNaN", NULL),
	F((3, 0, 0, 3, 1), 8, 4, false, L, 0, "SIMDLS", NULL),
	F((3, 0, 0, 3, 1), 12, 4, false, L, 0, "SIMDInt", NULL),
	F((3, 0, 0, 3, 1), 16, 4, false, L, 0, "SIMDSP", NULL),
	F((3, 0, 0, 3, 1), 20, 4, false, L, 0, "SIMDHP", NULL),
	F((3, 0, 0, 3, 1), 24, 4, false, L, 0, "FPHP", NULL),
	F((3, 0, 0, 3, 1), 28, 4, false, L, 0, "SIMDFMAC", NULL),
	F((3, 0, 0, 3, 2), 0, 4, false, L, 0, "SIMDMisc", NULL),
	F((3, 0, 0, 3, 2), 4, 4, false, L, 0, "FPMisc", NULL),
	F((3, 0, 0, 3, 4), 0, 4, false, L, 0, "CSV3", NULL),
	F((3, 0, 0, 3, 4), 4, 4, false, L, 0, "SSBS", NULL),
	F((3, 0, 0, 3, 4), 8, 4, false, L, 0, "RAS_frac", NULL),
	F((3, 0, 0, 3, 5), 0, 4, false, L, 0, "MTPMU", NULL),
	F((3, 0, 0, 3, 5), 4, 4, false, L, 0, "HPMN0", NULL),
	F((3, 0, 0, 3, 6), 0, 4, false, L, 0, "ETS", NULL),
	F((3, 0, 0, 3, 6), 4, 4, false, L, 0, "nTLBPA", NULL),
	/*
	 * ID_DFR0_EL1: KVM refuses CopDbg below Armv8 (6) and PerfMon between 0
	 * and PMUv3 (3) (set_id_dfr0_el1); measured: a64fx's all-zero value is
	 * refused by a neoverse-n1 host on 6.12.
	 */
	FMIN(DFR0_32, 0, 4, false, L, "CopDbg", NULL, 6, false),
	F(DFR0_32, 4, 4, false, L, 0, "CopSDbg", NULL),
	F(DFR0_32, 8, 4, false, L, 0, "MMapDbg", NULL),
	F(DFR0_32, 12, 4, false, L, 0, "CopTrc", NULL),
	F(DFR0_32, 16, 4, false, L, 0, "MMapTrc", NULL),
	F(DFR0_32, 20, 4, false, L, 0, "MProfDbg", NULL),
	FMIN(DFR0_32, 24, 4, false, L, "PerfMon", "FEAT_PMUv3", 3, true),
	F(DFR0_32, 28, 4, false, L, 0, "TraceFilt", NULL),
	/* KVM treats DebugVer and PMUVer as lower-safe (sys_regs.c, kvm_arm64_ftr_safe_value). */
	FMIN(DFR0, 0, 4, false, L, "DebugVer", "FEAT_Debugv8p2", 6, false),
	F(DFR0, 4, 4, false, L, 0, "TraceVer", NULL),
	F(DFR0, 8, 4, true, L, 0, "PMUVer", "FEAT_PMUv3"),
	F(DFR0, 12, 4, false, L, 0, "BRPs", NULL),
	F(DFR0, 16, 4, false, L, 0, "PMSS", "FEAT_PMUv3_SS"),
	F(DFR0, 20, 4, false, L, 0, "WRPs", NULL),
	F(DFR0, 28, 4, false, L, 0, "CTX_CMPs", NULL),
	F(DFR0, 32, 4, false, L, 0, "PMSVer", "FEAT_SPE"),
	F(DFR0, 36, 4, true, L, 0, "DoubleLock", "FEAT_DoubleLock"),
	F(DFR0, 40, 4, false, L, 0, "TraceFilt", "FEAT_TRF"),
	F(DFR0, 44, 4, false, L, 0, "TraceBuffer", "FEAT_TRBE"),
	F(DFR0, 48, 4, true, L, 0, "MTPMU", "FEAT_MTPMU"),
	F(DFR0, 52, 4, false, L, 0, "BRBE", "FEAT_BRBE"),
	F(DFR0, 60, 4, false, L, 0, "HPMN0", "FEAT_HPMN0"),
	F(ISAR0, 4, 4, false, L, 0, "AES", "FEAT_AES"),
	F(ISAR0, 8, 4, false, L, 0, "SHA1", "FEAT_SHA1"),
	F(ISAR0, 12, 4, false, L, 0, "SHA2", "FEAT_SHA256"),
	F(ISAR0, 16, 4, false, L, 0, "CRC32", "FEAT_CRC32"),
	F(ISAR0, 20, 4, false, L, 0, "Atomic", "FEAT_LSE"),
	F(ISAR0, 24, 4, false, L, 0, "TME", "FEAT_TME"),
	F(ISAR0, 28, 4, false, L, 0, "RDM", "FEAT_RDM"),
	F(ISAR0, 32, 4, false, L, 0, "SHA3", "FEAT_SHA3"),
	F(ISAR0, 36, 4, false, L, 0, "SM3", "FEAT_SM3"),
	F(ISAR0, 40, 4, false, L, 0, "SM4", "FEAT_SM4"),
	F(ISAR0, 44, 4, false, L, 0, "DP", "FEAT_DotProd"),
	F(ISAR0, 48, 4, false, L, 0, "FHM", "FEAT_FHM"),
	F(ISAR0, 52, 4, false, L, 0, "TS", "FEAT_FlagM"),
	F(ISAR0, 56, 4, false, L, 0, "TLB", "FEAT_TLBIOS"),
	F(ISAR0, 60, 4, false, L, 0, "RNDR", "FEAT_RNG"),
	F(ISAR1, 0, 4, false, L, 0, "DPB", "FEAT_DPB"),
	F(ISAR1, 4, 4, false, X, 0, "APA", "FEAT_PAuth"),
	F(ISAR1, 8, 4, false, X, 0, "API", "FEAT_PAuth"),
	F(ISAR1, 12, 4, false, L, 0, "JSCVT", "FEAT_JSCVT"),
	F(ISAR1, 16, 4, false, L, 0, "FCMA", "FEAT_FCMA"),
	F(ISAR1, 20, 4, false, L, 0, "LRCPC", "FEAT_LRCPC"),
	F(ISAR1, 24, 4, false, L, 0, "GPA", "FEAT_PACQARMA5"),
	F(ISAR1, 28, 4, false, L, 0, "GPI", "FEAT_PACIMP"),
	F(ISAR1, 32, 4, false, L, 0, "FRINTTS", "FEAT_FRINTTS"),
	F(ISAR1, 36, 4, false, L, 0, "SB", "FEAT_SB"),
	F(ISAR1, 40, 4, false, L, 0, "SPECRES", "FEAT_SPECRES"),
	F(ISAR1, 44, 4, false, L, 0, "BF16", "FEAT_BF16"),
	F(ISAR1, 48, 4, false, L, 0, "DGH", "FEAT_DGH"),
	F(ISAR1, 52, 4, false, L, 0, "I8MM", "FEAT_I8MM"),
	F(ISAR1, 56, 4, false, L, 0, "XS", "FEAT_XS"),
	F(ISAR1, 60, 4, false, L, 0, "LS64", "FEAT_LS64"),
	F(ISAR2, 0, 4, false, L, 0, "WFxT", "FEAT_WFxT"),
	F(ISAR2, 4, 4, false, L, 0, "RPRES", "FEAT_RPRES"),
	F(ISAR2, 8, 4, false, L, 0, "GPA3", "FEAT_PACQARMA3"),
	F(ISAR2, 12, 4, false, X, 0, "APA3", "FEAT_PACQARMA3"),
	F(ISAR2, 16, 4, false, L, 0, "MOPS", "FEAT_MOPS"),
	F(ISAR2, 20, 4, false, H, 0, "BC", "FEAT_HBC"),
	F(ISAR2, 24, 4, false, L, 0, "PAC_frac", "FEAT_CONSTPACFIELD"),
	F(ISAR2, 28, 4, false, L, 0, "CLRBHB", "FEAT_CLRBHB"),
	F(ISAR2, 48, 4, false, L, 0, "RPRFM", "FEAT_RPRFM"),
	F(ISAR2, 52, 4, false, L, 0, "CSSC", "FEAT_CSSC"),
	F(MMFR0, 0, 4, false, L, 0, "PARange", NULL),
	F(MMFR0, 4, 4, false, L, 0, "ASIDBits", NULL),
	F(MMFR0, 8, 4, false, L, 0, "BigEnd", "FEAT_MixedEnd"),
	F(MMFR0, 12, 4, false, L, 0, "SNSMem", NULL),
	F(MMFR0, 16, 4, false, L, 0, "BigEndEL0", "FEAT_MixedEndEL0"),
	F(MMFR0, 20, 4, false, L, 0, "TGran16", NULL),
	F(MMFR0, 24, 4, true, L, 0, "TGran64", NULL),
	F(MMFR0, 28, 4, true, L, 0, "TGran4", NULL),
	F(MMFR0, 32, 4, false, X, 1, "TGran16_2", NULL),
	F(MMFR0, 36, 4, false, X, 1, "TGran64_2", NULL),
	F(MMFR0, 40, 4, false, X, 1, "TGran4_2", NULL),
	F(MMFR0, 44, 4, false, L, 0, "ExS", "FEAT_ExS"),
	F(MMFR0, 56, 4, false, L, 0, "FGT", "FEAT_FGT"),
	F(MMFR0, 60, 4, false, L, 0, "ECV", "FEAT_ECV"),
	F(MMFR1, 0, 4, false, L, 0, "HAFDBS", "FEAT_HAFDBS"),
	F(MMFR1, 4, 4, false, L, 0, "VMIDBits", "FEAT_VMID16"),
	F(MMFR1, 8, 4, false, L, 0, "VH", "FEAT_VHE"),
	F(MMFR1, 12, 4, false, L, 0, "HPDS", "FEAT_HPDS"),
	F(MMFR1, 16, 4, false, L, 0, "LO", "FEAT_LOR"),
	F(MMFR1, 20, 4, false, L, 0, "PAN", "FEAT_PAN"),
	F(MMFR1, 24, 4, false, H, 0, "SpecSEI", NULL),
	F(MMFR1, 28, 4, false, L, 0, "XNX", "FEAT_XNX"),
	F(MMFR1, 32, 4, false, L, 0, "TWED", "FEAT_TWED"),
	F(MMFR1, 36, 4, false, L, 0, "ETS", "FEAT_ETS"),
	F(MMFR1, 40, 4, false, L, 0, "HCX", "FEAT_HCX"),
	F(MMFR1, 44, 4, false, L, 0, "AFP", "FEAT_AFP"),
	F(MMFR1, 48, 4, false, L, 0, "nTLBPA", "FEAT_nTLBPA"),
	F(MMFR1, 52, 4, false, L, 0, "TIDCP1", "FEAT_TIDCP1"),
	F(MMFR1, 56, 4, false, L, 0, "CMOW", "FEAT_CMOW"),
	F(MMFR1, 60, 4, false, L, 0, "ECBHB", "FEAT_ECBHB"),
	F(MMFR2, 0, 4, false, L, 0, "CnP", "FEAT_TTCNP"),
	F(MMFR2, 4, 4, false, L, 0, "UAO", "FEAT_UAO"),
	F(MMFR2, 8, 4, false, L, 0, "LSM", "FEAT_LSMAOC"),
	F(MMFR2, 12, 4, false, L, 0, "IESB", "FEAT_IESB"),
	F(MMFR2, 16, 4, false, L, 0, "VARange", "FEAT_LVA"),
	F(MMFR2, 20, 4, false, L, 0, "CCIDX", "FEAT_CCIDX"),
	F(MMFR2, 24, 4, false, L, 0, "NV", "FEAT_NV"),
	F(MMFR2, 28, 4, false, L, 0, "ST", "FEAT_TTST"),
	F(MMFR2, 32, 4, false, L, 0, "AT", "FEAT_LSE2"),
	F(MMFR2, 36, 4, false, L, 0, "IDS", "FEAT_IDST"),
	F(MMFR2, 40, 4, false, L, 0, "FWB", "FEAT_S2FWB"),
	F(MMFR2, 48, 4, false, L, 0, "TTL", "FEAT_TTL"),
	F(MMFR2, 52, 4, false, L, 0, "BBM", "FEAT_BBM"),
	F(MMFR2, 56, 4, false, L, 0, "EVT", "FEAT_EVT"),
	F(MMFR2, 60, 4, false, L, 0, "E0PD", "FEAT_E0PD"),
	/* CLIDR_EL1: KVM (6.3+) takes any value with RES0 clear, consistent with CTR_EL0.IDC. */
	/* Each field apart, so that a difference names the cache level and what it is. */
	F(CLIDR, 0, 3, false, ANY, 0, "Ctype1", NULL),
	F(CLIDR, 3, 3, false, ANY, 0, "Ctype2", NULL),
	F(CLIDR, 6, 3, false, ANY, 0, "Ctype3", NULL),
	F(CLIDR, 9, 3, false, ANY, 0, "Ctype4", NULL),
	F(CLIDR, 12, 3, false, ANY, 0, "Ctype5", NULL),
	F(CLIDR, 15, 3, false, ANY, 0, "Ctype6", NULL),
	F(CLIDR, 18, 3, false, ANY, 0, "Ctype7", NULL),
	F(CLIDR, 21, 3, false, ANY, 0, "LoUIS", NULL),
	F(CLIDR, 24, 3, false, ANY, 0, "LoC", NULL),
	F(CLIDR, 27, 3, false, ANY, 0, "LoUU", NULL),
	F(CLIDR, 30, 3, false, ANY, 0, "ICB", NULL),
	F(CLIDR, 33, 14, false, ANY, 0, "Ttype", "FEAT_MTE2"),
	F(CTR, 0, 4, false, L, 0, "IminLine", NULL),
	F(CTR, 14, 2, false, X, 2, "L1Ip", NULL),
	F(CTR, 16, 4, false, L, 0, "DminLine", NULL),
	F(CTR, 20, 4, false, HZ, 0, "ERG", NULL),
	F(CTR, 24, 4, false, HZ, 0, "CWG", NULL),
	F(CTR, 28, 1, false, L, 0, "IDC", NULL),
	F(CTR, 29, 1, false, L, 0, "DIC", "FEAT_DIC"),
	F(CTR, 31, 1, false, X, 1, "RES1", NULL),
	F(CTR, 32, 6, false, L, 0, "TminLine", "FEAT_MTE2"),
};

/*
 * The table is grouped by register (each register's fields together,
 * cpreg_fields_grouped, tested) in the order people read it, AArch64
 * before AArch32.  Lookups go through an index of the groups in register
 * order, built once.
 */
static struct field_group { uint64_t reg; uint16_t first, n; } groups[ARRAY_SIZE(fields)];
static size_t n_groups;
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;

static int group_cmp(const void *a, const void *b)
{
	const struct field_group *x = a, *y = b;

	return (x->reg > y->reg) - (x->reg < y->reg);
}

static void build_groups(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (n_groups && groups[n_groups - 1].reg == fields[i].reg) {
			groups[n_groups - 1].n++;
			continue;
		}
		groups[n_groups++] = (struct field_group){ fields[i].reg, (uint16_t)i, 1 };
	}
	qsort(groups, n_groups, sizeof(groups[0]), group_cmp);
}

size_t cpreg_fields_of(uint64_t id, const struct cpreg_field **ret)
{
	size_t lo = 0, hi;

	pthread_once(&groups_once, build_groups);
	hi = n_groups;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (groups[mid].reg < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n_groups || groups[lo].reg != id) {
		*ret = NULL;
		return 0;
	}
	*ret = &fields[groups[lo].first];
	return groups[lo].n;
}

bool cpreg_fields_grouped(void)
{
	for (size_t i = 1; i < ARRAY_SIZE(fields); i++)
		if (fields[i].reg != fields[i - 1].reg)
			for (size_t k = i + 1; k < ARRAY_SIZE(fields); k++)
				if (fields[k].reg == fields[i - 1].reg)
					return false;
	return true;
}

int64_t cpreg_field_get(const struct cpreg_field *f, uint64_t v)
{
	uint64_t raw = (v >> f->shift) & (f->width >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << f->width) - 1);

	if (f->is_signed && f->width < 64 && (raw >> (f->width - 1)))
		return (int64_t)(raw - (UINT64_C(1) << f->width));  /* two's complement of a width-bit field */
	return (int64_t)raw;
}

uint64_t cpreg_field_mask(const struct cpreg_field *f)
{
	return (f->width >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << f->width) - 1) << f->shift;
}

/* arm64_ftr_safe_value(): is the new value safe against the host's (cur)? */
bool cpreg_field_safe(const struct cpreg_field *f, int64_t new, int64_t cur)
{
	if (f->min && new < f->min && !(f->zero_ok && new == 0))
		return false;
	if (new == cur)
		return true;
	switch (f->rule) {
	case CPREG_SAFE_LOWER:
		return new < cur;
	case CPREG_SAFE_HIGHER:
		return new > cur;
	case CPREG_SAFE_HIGHER_OR_ZERO:
		return new == 0 || (cur != 0 && new > cur);
	case CPREG_SAFE_EXACT:
		return new == f->safe;
	case CPREG_SAFE_ANY:
		return true;
	}
	return false;
}

const char *cpreg_field_rule_name(enum cpreg_field_rule r)
{
	switch (r) {
	case CPREG_SAFE_LOWER: return "lower is safe";
	case CPREG_SAFE_HIGHER: return "higher is safe";
	case CPREG_SAFE_HIGHER_OR_ZERO: return "higher or zero is safe";
	case CPREG_SAFE_EXACT: return "exact";
	case CPREG_SAFE_ANY: return "any value";
	}
	return "?";
}

int cpreg_field_diff(uint64_t id, uint64_t a, uint64_t b, struct cpreg_field_change *out, size_t max)
{
	const struct cpreg_field *tab;
	size_t n = cpreg_fields_of(id, &tab), k = 0;
	uint64_t covered = 0;

	for (size_t i = 0; i < n; i++) {
		covered |= cpreg_field_mask(&tab[i]);
		if (((a ^ b) & cpreg_field_mask(&tab[i])) && k < max)
			out[k++] = (struct cpreg_field_change){ tab[i], cpreg_field_get(&tab[i], a), cpreg_field_get(&tab[i], b), false };
	}
	/* What the table does not cover: 4-bit fields, lower-safe, named by position. */
	for (unsigned sh = 0; sh < 64; sh += 4) {
		uint64_t m = UINT64_C(0xf) << sh;

		if (!((a ^ b) & m & ~covered) || k >= max)
			continue;
		out[k] = (struct cpreg_field_change){
			{ id, NULL, (uint8_t)sh, 4, false, CPREG_SAFE_LOWER, 0, NULL },
			(int64_t)((a >> sh) & 0xf), (int64_t)((b >> sh) & 0xf), true };
		k++;
	}
	return (int)k;
}

int cpreg_field_change_name(const struct cpreg_field_change *c, char *buf, size_t len)
{
	char reg[48];

	cpreg_id_name(c->field.reg, reg, sizeof(reg));
	if (c->field.name)
		return snprintf(buf, len, "%s.%s", reg, c->field.name);
	return snprintf(buf, len, "%s[%u:%u]", reg, (unsigned)(c->field.shift + c->field.width - 1),
			(unsigned)c->field.shift);
}
